// The <p2p.h> shim, used the documented way from C++.
#include "compat/compat_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

using namespace compat_test;

namespace {

GUID whisper = {0x4d5b2f11, 0x6522, 0x433b, {0x84, 0xef, 0xa2, 0x98, 0xe6, 0x07, 0xbb, 0xbb}};
GUID other_type = {0x0badf00d, 0x0001, 0x0002, {3, 4, 5, 6, 7, 8, 9, 10}};

bool same(const GUID& a, const GUID& b) { return std::memcmp(&a, &b, sizeof a) == 0; }

std::wstring unique(const wchar_t* base) {
  static std::atomic<int> n{0};
  return std::wstring(base) + std::to_wstring(++n);
}

// Alice creates and listens on loopback, Bob opens and connects.
struct pair {
  std::wstring graph_id = unique(L"graph-");
  std::wstring alice_db = graph_id + L"-alice.db", bob_db = graph_id + L"-bob.db";
  node alice, bob;
  WORD port = free_port();
  ULONGLONG bob_to_alice = 0;

  pair() {
    std::wstring alice_id = L"alice";
    auto props = properties(graph_id.data(), alice_id.data());
    REQUIRE(PeerGraphCreate(&props, alice_db.c_str(), nullptr, &alice.graph) == S_OK);
    REQUIRE(PeerGraphOpen(graph_id.c_str(), L"bob", bob_db.c_str(), nullptr, 0, nullptr, &bob.graph) ==
            PEER_S_GRAPH_DATA_CREATED);
    REQUIRE(alice.register_all() == S_OK);
    REQUIRE(bob.register_all() == S_OK);
    REQUIRE(PeerGraphListen(alice.graph, PEER_GRAPH_SCOPE_LOOPBACK, 0, port) == S_OK);
  }

  void connect() {
    auto addr = loopback(port);
    REQUIRE(PeerGraphConnect(bob.graph, L"alice", &addr, &bob_to_alice) == S_OK);
    REQUIRE(bob_to_alice != 0);
    REQUIRE(bob.wait([&](const PEER_GRAPH_EVENT_DATA& e) {
      return e.eventType == PEER_GRAPH_EVENT_NEIGHBOR_CONNECTION &&
             e.connectionChangeData.ullConnectionId == bob_to_alice &&
             e.connectionChangeData.status == PEER_CONNECTED;
    }));
    REQUIRE(alice.wait([](const PEER_GRAPH_EVENT_DATA& e) {
      return e.eventType == PEER_GRAPH_EVENT_NEIGHBOR_CONNECTION && e.connectionChangeData.status == PEER_CONNECTED;
    }));
  }
};

// The local node as PeerGraphGetNodeInfo(h, 0) reports it.
struct local_info {
  ULONGLONG id = 0;
  PEER_ADDRESS address{};  // the first one
};
local_info local_node(HGRAPH g, bool listening = true) {
  PEER_NODE_INFO* info = nullptr;
  REQUIRE(PeerGraphGetNodeInfo(g, 0, &info) == S_OK);
  REQUIRE(info != nullptr);
  local_info out;
  out.id = info->ullNodeId;
  REQUIRE(info->cAddresses == (listening ? 1u : 0u));
  if (listening) out.address = info->pAddresses[0];
  PeerGraphFreeData(info);
  return out;
}

// A node's attribute string as another node sees it; "<null>" for NULL,
// "<unknown>" for a node it does not know.
std::wstring attributes_of(HGRAPH g, ULONGLONG node) {
  PEER_NODE_INFO* info = nullptr;
  if (PeerGraphGetNodeInfo(g, node, &info) != S_OK) return L"<unknown>";
  std::wstring out = info->pwzAttributes ? info->pwzAttributes : L"<null>";
  PeerGraphFreeData(info);
  return out;
}

// The peer ids PeerGraphEnumNodes lists, read one item at a time.
std::vector<std::wstring> enum_nodes(HGRAPH g, PCWSTR peer = nullptr) {
  HPEERENUM en = nullptr;
  REQUIRE(PeerGraphEnumNodes(g, peer, &en) == S_OK);
  ULONG total = 0;
  REQUIRE(PeerGraphGetItemCount(en, &total) == S_OK);
  std::vector<std::wstring> out;
  for (;;) {
    ULONG count = 1;
    PVOID* items = nullptr;
    REQUIRE(PeerGraphGetNextItem(en, &count, &items) == S_OK);
    if (count == 0) break;
    const auto* info = static_cast<PEER_NODE_INFO*>(items[0]);
    CHECK(info->dwSize == sizeof(PEER_NODE_INFO));
    out.emplace_back(info->pwzPeerId);
    PeerGraphFreeData(items);
  }
  REQUIRE(PeerGraphEndEnumeration(en) == S_OK);
  CHECK(out.size() == total);
  return out;
}

bool is_node_change(const PEER_GRAPH_EVENT_DATA& e, PEER_NODE_CHANGE_TYPE change, ULONGLONG node) {
  return e.eventType == PEER_GRAPH_EVENT_NODE_CHANGED && e.nodeChangeData.changeType == change &&
         e.nodeChangeData.ullNodeId == node;
}

}  // namespace

TEST_CASE("Startup and Shutdown are reference-counted and negotiate the version", "[compat][startup]") {
  PEER_VERSION_DATA v{};
  REQUIRE(PeerGraphShutdown() == PEER_E_NOT_INITIALIZED);
  HGRAPH g = nullptr;
  REQUIRE(PeerGraphOpen(L"g", L"p", L"db", nullptr, 0, nullptr, &g) == PEER_E_NOT_INITIALIZED);
  REQUIRE(PeerGraphStartup(PEER_GRAPH_VERSION, nullptr) == E_INVALIDARG);
  REQUIRE(PeerGraphStartup(MAKEWORD(0, 9), &v) == PEER_E_UNSUPPORTED_VERSION);
  REQUIRE(v.wHighestVersion == PEER_GRAPH_VERSION);

  REQUIRE(PeerGraphStartup(MAKEWORD(2, 0), &v) == S_OK);  // a later version is served with 1.0
  REQUIRE(v.wVersion == PEER_GRAPH_VERSION);
  REQUIRE(PeerGraphStartup(PEER_GRAPH_VERSION, &v) == S_OK);
  REQUIRE(PeerGraphShutdown() == S_OK);
  DWORD status = 0;
  REQUIRE(PeerGraphGetStatus(nullptr, &status) == PEER_E_INVALID_GRAPH);  // still initialized
  REQUIRE(PeerGraphShutdown() == S_OK);
  REQUIRE(PeerGraphGetStatus(nullptr, &status) == PEER_E_NOT_INITIALIZED);
  REQUIRE(PeerGraphShutdown() == PEER_E_NOT_INITIALIZED);
  HPEERENUM en = nullptr;
  PEER_NODE_INFO* info = nullptr;
  CHECK(PeerGraphEnumNodes(g, nullptr, &en) == PEER_E_NOT_INITIALIZED);
  CHECK(PeerGraphGetNodeInfo(g, 0, &info) == PEER_E_NOT_INITIALIZED);
  CHECK(PeerGraphSetNodeAttributes(g, L"a") == PEER_E_NOT_INITIALIZED);
  CHECK(PeerGraphSetPresence(g, TRUE) == PEER_E_NOT_INITIALIZED);
}

TEST_CASE("the last Shutdown releases graphs, registrations and enumerations", "[compat][startup]") {
  HGRAPH g = nullptr;
  HPEEREVENT reg = nullptr;
  HPEERENUM en = nullptr;
  HANDLE ev = CreateEvent(nullptr, FALSE, FALSE, nullptr);
  {
    session s;
    REQUIRE(s.started == S_OK);
    std::wstring id = unique(L"released-"), me = L"me";
    auto props = properties(id.data(), me.data());
    REQUIRE(PeerGraphCreate(&props, L"released.db", nullptr, &g) == S_OK);
    PEER_GRAPH_EVENT_REGISTRATION r{PEER_GRAPH_EVENT_STATUS_CHANGED, nullptr};
    REQUIRE(PeerGraphRegisterEvent(g, ev, 1, &r, &reg) == S_OK);
    REQUIRE(PeerGraphEnumConnections(g, PEER_CONNECTION_NEIGHBOR, &en) == S_OK);
  }
  session again;
  DWORD status = 0;
  ULONG count = 0;
  PEER_GRAPH_EVENT_DATA* data = nullptr;
  CHECK(PeerGraphGetStatus(g, &status) == PEER_E_INVALID_GRAPH);
  CHECK(PeerGraphGetEventData(reg, &data) == PEER_E_EVENT_HANDLE_NOT_FOUND);
  CHECK(PeerGraphGetItemCount(en, &count) == E_INVALIDARG);
  CloseHandle(ev);
}

TEST_CASE("every function refuses bad input with its documented code", "[compat][bad-input]") {
  session s;
  REQUIRE(s.started == S_OK);
  std::wstring id = unique(L"bad-"), me = L"me";
  auto props = properties(id.data(), me.data());
  HGRAPH g = nullptr;

  SECTION("create and open") {
    REQUIRE(PeerGraphCreate(nullptr, L"db", nullptr, &g) == E_INVALIDARG);
    REQUIRE(PeerGraphCreate(&props, L"db", nullptr, nullptr) == E_INVALIDARG);
    REQUIRE(PeerGraphCreate(&props, nullptr, nullptr, &g) == E_INVALIDARG);
    REQUIRE(PeerGraphCreate(&props, L"dir/db", nullptr, &g) == E_INVALIDARG);
    auto bad = props;
    bad.dwSize = 0;
    REQUIRE(PeerGraphCreate(&bad, L"db", nullptr, &g) == E_INVALIDARG);
    bad = props;
    bad.pwzGraphId = nullptr;
    REQUIRE(PeerGraphCreate(&bad, L"db", nullptr, &g) == E_INVALIDARG);
    bad = props;
    bad.pwzCreatorId = nullptr;
    REQUIRE(PeerGraphCreate(&bad, L"db", nullptr, &g) == E_INVALIDARG);
    bad = props;
    bad.dwScope = 5;
    REQUIRE(PeerGraphCreate(&bad, L"db", nullptr, &g) == E_INVALIDARG);
    std::wstring long_id(256, L'x');
    bad = props;
    bad.pwzGraphId = long_id.data();
    REQUIRE(PeerGraphCreate(&bad, L"db", nullptr, &g) == E_INVALIDARG);
    PEER_SECURITY_INTERFACE sec{};
    sec.dwSize = sizeof sec;
    REQUIRE(PeerGraphCreate(&props, L"db", &sec, &g) == E_INVALIDARG);

    REQUIRE(PeerGraphCreate(&props, L"db", nullptr, &g) == S_OK);
    HGRAPH g2 = nullptr;
    REQUIRE(PeerGraphCreate(&props, L"db", nullptr, &g2) == PEER_E_DUPLICATE_GRAPH);
    REQUIRE(PeerGraphDelete(id.c_str(), L"me", L"db") == E_ACCESSDENIED);  // still open
    REQUIRE(PeerGraphClose(g) == S_OK);
    REQUIRE(PeerGraphClose(g) == PEER_E_INVALID_GRAPH);
    REQUIRE(PeerGraphOpen(id.c_str(), L"me", L"db", nullptr, 0, nullptr, &g2) == S_OK);  // the database exists
    DWORD status = 0;
    REQUIRE(PeerGraphGetStatus(g2, &status) == S_OK);
    REQUIRE((status & PEER_GRAPH_STATUS_SYNCHRONIZED) != 0);
    REQUIRE(PeerGraphClose(g2) == S_OK);
    REQUIRE(PeerGraphDelete(id.c_str(), L"me", L"db") == S_OK);
    REQUIRE(PeerGraphCreate(&props, L"db", nullptr, &g) == S_OK);  // deleted, so creatable again
    REQUIRE(PeerGraphClose(g) == S_OK);
    REQUIRE(PeerGraphDelete(id.c_str(), L"me", L"db") == S_OK);

    REQUIRE(PeerGraphOpen(nullptr, L"p", L"db", nullptr, 0, nullptr, &g) == E_INVALIDARG);
    REQUIRE(PeerGraphOpen(L"g", nullptr, L"db", nullptr, 0, nullptr, &g) == E_INVALIDARG);
    REQUIRE(PeerGraphOpen(L"g", L"p", nullptr, nullptr, 0, nullptr, &g) == E_INVALIDARG);
    REQUIRE(PeerGraphOpen(L"g", L"p", L"db", nullptr, 0, nullptr, nullptr) == E_INVALIDARG);
    REQUIRE(PeerGraphOpen(L"g", L"p", L"db", nullptr, 1, nullptr, &g) == E_INVALIDARG);
    REQUIRE(PeerGraphOpen(L"g", L"p", L"db", nullptr, 0, &whisper, &g) == E_INVALIDARG);
    REQUIRE(PeerGraphOpen(L"", L"p", L"db", nullptr, 0, nullptr, &g) == E_INVALIDARG);
    REQUIRE(PeerGraphDelete(nullptr, L"p", L"db") == E_INVALIDARG);
  }

  SECTION("graph handles") {
    const auto not_a_graph = reinterpret_cast<HGRAPH>(static_cast<std::uintptr_t>(0x1234));
    DWORD status = 0;
    PEER_GRAPH_PROPERTIES* got = nullptr;
    PEER_ADDRESS addr = loopback(1);
    ULONGLONG cid = 0;
    HPEERENUM en = nullptr;
    HPEEREVENT reg = nullptr;
    HANDLE ev = CreateEvent(nullptr, FALSE, FALSE, nullptr);
    PEER_GRAPH_EVENT_REGISTRATION r{PEER_GRAPH_EVENT_STATUS_CHANGED, nullptr};
    for (HGRAPH h : {HGRAPH{nullptr}, not_a_graph}) {
      CHECK(PeerGraphListen(h, PEER_GRAPH_SCOPE_LOOPBACK, 0, 0) == PEER_E_INVALID_GRAPH);
      CHECK(PeerGraphConnect(h, nullptr, &addr, &cid) == PEER_E_INVALID_GRAPH);
      CHECK(PeerGraphClose(h) == PEER_E_INVALID_GRAPH);
      CHECK(PeerGraphGetStatus(h, &status) == PEER_E_INVALID_GRAPH);
      CHECK(PeerGraphGetProperties(h, &got) == PEER_E_INVALID_GRAPH);
      CHECK(PeerGraphSetProperties(h, &props) == PEER_E_INVALID_GRAPH);
      CHECK(PeerGraphRegisterEvent(h, ev, 1, &r, &reg) == PEER_E_INVALID_GRAPH);
      CHECK(PeerGraphOpenDirectConnection(h, L"p", &addr, &cid) == PEER_E_INVALID_GRAPH);
      CHECK(PeerGraphSendData(h, 1, &whisper, 0, nullptr) == PEER_E_INVALID_GRAPH);
      CHECK(PeerGraphCloseDirectConnection(h, 1) == PEER_E_INVALID_GRAPH);
      CHECK(PeerGraphEnumConnections(h, PEER_CONNECTION_NEIGHBOR, &en) == PEER_E_INVALID_GRAPH);
      PEER_NODE_INFO* info = nullptr;
      CHECK(PeerGraphEnumNodes(h, nullptr, &en) == PEER_E_INVALID_GRAPH);
      CHECK(PeerGraphGetNodeInfo(h, 0, &info) == PEER_E_INVALID_GRAPH);
      CHECK(PeerGraphSetNodeAttributes(h, L"a") == PEER_E_INVALID_GRAPH);
      CHECK(PeerGraphSetPresence(h, TRUE) == PEER_E_INVALID_GRAPH);
    }
    CloseHandle(ev);
  }

  SECTION("arguments of an open graph") {
    REQUIRE(PeerGraphCreate(&props, L"db2", nullptr, &g) == S_OK);
    PEER_ADDRESS addr = loopback(1);
    ULONGLONG cid = 0;
    HPEERENUM en = nullptr;
    HPEEREVENT reg = nullptr;
    HANDLE ev = CreateEvent(nullptr, FALSE, FALSE, nullptr);
    PEER_GRAPH_EVENT_REGISTRATION r{PEER_GRAPH_EVENT_STATUS_CHANGED, nullptr};

    CHECK(PeerGraphGetStatus(g, nullptr) == E_INVALIDARG);
    CHECK(PeerGraphGetProperties(g, nullptr) == E_INVALIDARG);
    CHECK(PeerGraphSetProperties(g, nullptr) == E_INVALIDARG);
    CHECK(PeerGraphListen(g, 9, 0, 0) == E_INVALIDARG);
    CHECK(PeerGraphListen(g, PEER_GRAPH_SCOPE_LINKLOCAL, 0, 0) == E_INVALIDARG);
    CHECK(PeerGraphConnect(g, nullptr, nullptr, &cid) == E_INVALIDARG);
    auto bad_addr = addr;
    bad_addr.dwSize = 0;
    CHECK(PeerGraphConnect(g, nullptr, &bad_addr, &cid) == E_INVALIDARG);
    bad_addr = loopback(0);
    CHECK(PeerGraphConnect(g, nullptr, &bad_addr, &cid) == E_INVALIDARG);
    CHECK(PeerGraphConnect(g, L"", &addr, &cid) == E_INVALIDARG);
    CHECK(PeerGraphOpenDirectConnection(g, nullptr, &addr, &cid) == E_INVALIDARG);
    CHECK(PeerGraphOpenDirectConnection(g, L"p", nullptr, &cid) == E_INVALIDARG);
    CHECK(PeerGraphOpenDirectConnection(g, L"p", &addr, nullptr) == E_INVALIDARG);
    CHECK(PeerGraphSendData(g, 1, nullptr, 0, nullptr) == E_INVALIDARG);
    CHECK(PeerGraphSendData(g, 1, &whisper, 4, nullptr) == E_INVALIDARG);
    CHECK(PeerGraphSendData(g, 12345, &whisper, 0, nullptr) == PEER_E_CONNECTION_NOT_FOUND);
    CHECK(PeerGraphCloseDirectConnection(g, 12345) == PEER_E_CONNECTION_NOT_FOUND);
    CHECK(PeerGraphEnumConnections(g, 0, &en) == E_INVALIDARG);
    CHECK(PeerGraphEnumConnections(g, 4, &en) == E_INVALIDARG);
    CHECK(PeerGraphEnumConnections(g, PEER_CONNECTION_DIRECT, nullptr) == E_INVALIDARG);
    CHECK(PeerGraphRegisterEvent(g, nullptr, 1, &r, &reg) == E_INVALIDARG);
    CHECK(PeerGraphRegisterEvent(g, ev, 0, &r, &reg) == E_INVALIDARG);
    CHECK(PeerGraphRegisterEvent(g, ev, 1, nullptr, &reg) == E_INVALIDARG);
    CHECK(PeerGraphRegisterEvent(g, ev, 1, &r, nullptr) == E_INVALIDARG);
    PEER_GRAPH_EVENT_REGISTRATION bad_type{static_cast<PEER_GRAPH_EVENT_TYPE>(42), nullptr};
    CHECK(PeerGraphRegisterEvent(g, ev, 1, &bad_type, &reg) == E_INVALIDARG);

    PEER_GRAPH_EVENT_DATA* data = nullptr;
    CHECK(PeerGraphGetEventData(nullptr, &data) == E_INVALIDARG);
    CHECK(PeerGraphUnregisterEvent(nullptr) == E_INVALIDARG);
    REQUIRE(PeerGraphRegisterEvent(g, ev, 1, &r, &reg) == S_OK);
    CHECK(PeerGraphGetEventData(reg, nullptr) == E_INVALIDARG);
    CHECK(PeerGraphGetEventData(g, &data) == PEER_E_EVENT_HANDLE_NOT_FOUND);  // a graph is no registration
    CHECK(PeerGraphUnregisterEvent(reg) == S_OK);
    CHECK(PeerGraphUnregisterEvent(reg) == PEER_E_EVENT_HANDLE_NOT_FOUND);
    CHECK(PeerGraphGetEventData(reg, &data) == PEER_E_EVENT_HANDLE_NOT_FOUND);

    ULONG count = 0;
    PVOID* items = nullptr;
    CHECK(PeerGraphGetItemCount(nullptr, &count) == E_INVALIDARG);
    CHECK(PeerGraphGetNextItem(nullptr, &count, &items) == E_INVALIDARG);
    CHECK(PeerGraphEndEnumeration(nullptr) == E_INVALIDARG);
    CHECK(PeerGraphEndEnumeration(g) == E_INVALIDARG);
    REQUIRE(PeerGraphEnumConnections(g, PEER_CONNECTION_NEIGHBOR | PEER_CONNECTION_DIRECT, &en) == S_OK);
    CHECK(PeerGraphGetItemCount(en, nullptr) == E_INVALIDARG);
    CHECK(PeerGraphGetNextItem(en, nullptr, &items) == E_INVALIDARG);
    CHECK(PeerGraphGetNextItem(en, &count, nullptr) == E_INVALIDARG);
    CHECK(PeerGraphGetItemCount(en, &count) == S_OK);
    CHECK(count == 0);
    count = 10;
    CHECK(PeerGraphGetNextItem(en, &count, &items) == S_OK);
    CHECK(count == 0);
    CHECK(items == nullptr);
    CHECK(PeerGraphEndEnumeration(en) == S_OK);
    CHECK(PeerGraphEndEnumeration(en) == E_INVALIDARG);

    PEER_NODE_INFO* info = nullptr;
    CHECK(PeerGraphEnumNodes(g, nullptr, nullptr) == E_INVALIDARG);
    CHECK(PeerGraphEnumNodes(g, L"", &en) == E_INVALIDARG);
    const std::wstring long_peer(256, L'p');
    CHECK(PeerGraphEnumNodes(g, long_peer.c_str(), &en) == E_INVALIDARG);
    CHECK(PeerGraphGetNodeInfo(g, 0, nullptr) == E_INVALIDARG);
    CHECK(PeerGraphGetNodeInfo(g, 12345, &info) == PEER_E_NODE_NOT_FOUND);
    CHECK(info == nullptr);
    const std::wstring too_long(4097, L'a'), too_many_bytes(2100, L'\u00e9'), fits(2048, L'\u00e9');
    const wchar_t not_text[] = {L'a', static_cast<wchar_t>(0xD800), 0};
    CHECK(PeerGraphSetNodeAttributes(g, too_long.c_str()) == E_INVALIDARG);
    CHECK(PeerGraphSetNodeAttributes(g, too_many_bytes.c_str()) == E_INVALIDARG);  // 4200 bytes of UTF-8
    CHECK(PeerGraphSetNodeAttributes(g, not_text) == E_INVALIDARG);
    CHECK(PeerGraphSetNodeAttributes(g, fits.c_str()) == S_OK);  // 4096 bytes
    CHECK(attributes_of(g, 0) == fits);
    CHECK(PeerGraphSetNodeAttributes(g, nullptr) == S_OK);
    CHECK(attributes_of(g, 0) == L"<null>");
    CHECK(PeerGraphSetPresence(g, 7) == S_OK);  // any non-zero BOOL is TRUE

    CHECK(PeerGraphListen(g, PEER_GRAPH_SCOPE_LOOPBACK, 0, 0) == S_OK);
    CHECK(PeerGraphListen(g, PEER_GRAPH_SCOPE_LOOPBACK, 0, 0) == PEER_E_ALREADY_LISTENING);
    CHECK(PeerGraphClose(g) == S_OK);
    CHECK(PeerGraphGetNodeInfo(g, 0, &info) == PEER_E_INVALID_GRAPH);
    CHECK(PeerGraphDelete(id.c_str(), L"me", L"db2") == S_OK);
    CloseHandle(ev);
  }

  SECTION("an opened graph that never synchronized") {
    REQUIRE(PeerGraphOpen(id.c_str(), L"joiner", L"j.db", nullptr, 0, nullptr, &g) == PEER_S_GRAPH_DATA_CREATED);
    PEER_GRAPH_PROPERTIES* got = nullptr;
    CHECK(PeerGraphListen(g, PEER_GRAPH_SCOPE_LOOPBACK, 0, 0) == PEER_E_GRAPH_NOT_READY);
    CHECK(PeerGraphGetProperties(g, &got) == PEER_E_GRAPH_NOT_READY);
    CHECK(PeerGraphSetProperties(g, &props) == E_ACCESSDENIED);  // not the creator
    HPEERENUM en = nullptr;
    CHECK(PeerGraphEnumNodes(g, nullptr, &en) == PEER_E_GRAPH_NOT_READY);
    PEER_NODE_INFO* info = nullptr;
    REQUIRE(PeerGraphGetNodeInfo(g, 0, &info) == S_OK);  // the local node is always known
    CHECK(info->dwSize == sizeof(PEER_NODE_INFO));
    CHECK(info->ullNodeId != 0);
    CHECK(std::wstring(info->pwzPeerId) == L"joiner");
    CHECK(info->cAddresses == 0);
    CHECK(info->pAddresses == nullptr);
    CHECK(info->pwzAttributes == nullptr);
    const ULONGLONG self = info->ullNodeId;
    PeerGraphFreeData(info);
    REQUIRE(PeerGraphGetNodeInfo(g, self, &info) == S_OK);  // its own id names it too
    CHECK(info->ullNodeId == self);
    PeerGraphFreeData(info);
    CHECK(PeerGraphSetNodeAttributes(g, L"x") == S_OK);
    CHECK(PeerGraphSetPresence(g, FALSE) == S_OK);
    CHECK(PeerGraphClose(g) == S_OK);
    CHECK(PeerGraphDelete(id.c_str(), L"joiner", L"j.db") == S_OK);
  }
}

TEST_CASE("Win32 events: auto- and manual-reset, timeouts, pollable descriptor", "[compat][win32]") {
  HANDLE a = CreateEvent(nullptr, FALSE, FALSE, nullptr);
  HANDLE m = CreateEvent(nullptr, TRUE, TRUE, nullptr);
  REQUIRE(a);
  REQUIRE(m);
  CHECK(CreateEvent(nullptr, FALSE, FALSE, L"named") == nullptr);
  CHECK(WaitForSingleObject(a, 0) == WAIT_TIMEOUT);
  CHECK(WaitForSingleObject(a, 20) == WAIT_TIMEOUT);
  CHECK(SetEvent(a));
  CHECK(SetEvent(a));
  CHECK(WaitForSingleObject(a, INFINITE) == WAIT_OBJECT_0);
  CHECK(WaitForSingleObject(a, 0) == WAIT_TIMEOUT);  // auto-reset: one wait takes it
  CHECK(WaitForSingleObject(m, 0) == WAIT_OBJECT_0);  // initially set
  CHECK(WaitForSingleObject(m, 0) == WAIT_OBJECT_0);  // manual: stays set
  CHECK(ResetEvent(m));
  CHECK(WaitForSingleObject(m, 0) == WAIT_TIMEOUT);
  CHECK(PeerCompatEventFd(a) >= 0);
  CHECK(PeerCompatEventFd(nullptr) == -1);

  std::thread setter([a] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    SetEvent(a);
  });
  CHECK(WaitForSingleObject(a, 5000) == WAIT_OBJECT_0);
  setter.join();

  CHECK(CloseHandle(a));
  CHECK_FALSE(CloseHandle(a));
  CHECK_FALSE(SetEvent(a));
  CHECK(WaitForSingleObject(a, 0) == WAIT_FAILED);
  CHECK(CloseHandle(m));
}

TEST_CASE("events are signalled and drained until PEER_S_NO_EVENT_DATA", "[compat][events]") {
  session s;
  REQUIRE(s.started == S_OK);
  std::wstring id = unique(L"events-"), me = L"me";
  auto props = properties(id.data(), me.data());
  node n;
  REQUIRE(PeerGraphCreate(&props, L"events.db", nullptr, &n.graph) == S_OK);
  PEER_GRAPH_EVENT_REGISTRATION r[] = {{PEER_GRAPH_EVENT_STATUS_CHANGED, nullptr},
                                       {PEER_GRAPH_EVENT_NODE_CHANGED, nullptr},  // never for the local node
                                       {PEER_GRAPH_EVENT_RECORD_CHANGED, &other_type}};
  REQUIRE(PeerGraphRegisterEvent(n.graph, n.event, 3, r, &n.reg) == S_OK);

  PEER_GRAPH_EVENT_DATA* data = nullptr;
  REQUIRE(PeerGraphGetEventData(n.reg, &data) == PEER_S_NO_EVENT_DATA);
  REQUIRE(data == nullptr);
  REQUIRE(WaitForSingleObject(n.event, 0) == WAIT_TIMEOUT);

  REQUIRE(PeerGraphListen(n.graph, PEER_GRAPH_SCOPE_LOOPBACK, 0, 0) == S_OK);
  REQUIRE(WaitForSingleObject(n.event, 5000) == WAIT_OBJECT_0);
  REQUIRE(PeerGraphGetEventData(n.reg, &data) == S_OK);
  REQUIRE(data != nullptr);
  CHECK(data->eventType == PEER_GRAPH_EVENT_STATUS_CHANGED);
  CHECK((data->dwStatus & PEER_GRAPH_STATUS_LISTENING) != 0);
  CHECK((data->dwStatus & PEER_GRAPH_STATUS_SYNCHRONIZED) != 0);
  PeerGraphFreeData(data);
  REQUIRE(PeerGraphGetEventData(n.reg, &data) == PEER_S_NO_EVENT_DATA);

  DWORD status = 0;
  REQUIRE(PeerGraphGetStatus(n.graph, &status) == S_OK);
  CHECK(status == (PEER_GRAPH_STATUS_LISTENING | PEER_GRAPH_STATUS_SYNCHRONIZED));

  // Closing the graph reports the final status; the registration can still be drained.
  REQUIRE(PeerGraphClose(n.graph) == S_OK);
  REQUIRE(wait_for(n.event, n.reg, [](const PEER_GRAPH_EVENT_DATA& e) {
    return e.eventType == PEER_GRAPH_EVENT_STATUS_CHANGED && (e.dwStatus & PEER_GRAPH_STATUS_LISTENING) == 0;
  }));
  n.graph = nullptr;
  REQUIRE(PeerGraphDelete(id.c_str(), L"me", L"events.db") == S_OK);
}

TEST_CASE("properties are copied out in one block and the mutable ones can be set", "[compat][properties]") {
  session s;
  REQUIRE(s.started == S_OK);
  std::wstring id = unique(L"props-"), me = L"me", friendly = L"Sample Graph", comment = L"\u00e9t\u00e9 \u65e5";
  auto props = properties(id.data(), me.data());
  props.pwzFriendlyName = friendly.data();
  props.dwScope = PEER_GRAPH_SCOPE_LOOPBACK;
  HGRAPH g = nullptr;
  REQUIRE(PeerGraphCreate(&props, L"props.db", nullptr, &g) == S_OK);
  PEER_GRAPH_PROPERTIES* got = nullptr;
  REQUIRE(PeerGraphGetProperties(g, &got) == S_OK);
  CHECK(got->dwSize == sizeof(PEER_GRAPH_PROPERTIES));
  CHECK(std::wstring(got->pwzGraphId) == id);
  CHECK(std::wstring(got->pwzCreatorId) == L"me");
  CHECK(std::wstring(got->pwzFriendlyName) == friendly);
  CHECK(got->pwzComment == nullptr);
  CHECK(got->dwScope == PEER_GRAPH_SCOPE_LOOPBACK);
  CHECK(got->cPresenceMax == static_cast<ULONG>(-1));
  PeerGraphFreeData(got);

  props.pwzComment = comment.data();
  props.ulPresenceLifetime = 600;
  props.dwScope = PEER_GRAPH_SCOPE_GLOBAL;  // not settable: ignored
  REQUIRE(PeerGraphSetProperties(g, &props) == S_OK);
  REQUIRE(PeerGraphGetProperties(g, &got) == S_OK);
  CHECK(std::wstring(got->pwzComment) == comment);
  CHECK(got->ulPresenceLifetime == 600);
  CHECK(got->dwScope == PEER_GRAPH_SCOPE_LOOPBACK);
  PeerGraphFreeData(got);
  PeerGraphFreeData(nullptr);
  REQUIRE(PeerGraphClose(g) == S_OK);
  REQUIRE(PeerGraphDelete(id.c_str(), L"me", L"props.db") == S_OK);
}

TEST_CASE("two graphs connect, open a direct connection and exchange data", "[compat][data]") {
  session s;
  REQUIRE(s.started == S_OK);
  pair p;
  p.connect();

  auto addr = loopback(p.port);
  ULONGLONG again = 0;
  CHECK(PeerGraphConnect(p.bob.graph, nullptr, &addr, &again) == PEER_E_ALREADY_EXISTS);
  DWORD status = 0;
  REQUIRE(PeerGraphGetStatus(p.bob.graph, &status) == S_OK);
  CHECK((status & PEER_GRAPH_STATUS_HAS_CONNECTIONS) != 0);
  CHECK((status & PEER_GRAPH_STATUS_SYNCHRONIZED) != 0);

  ULONGLONG direct = 0;
  REQUIRE(PeerGraphOpenDirectConnection(p.bob.graph, L"alice", &addr, &direct) == S_OK);
  REQUIRE(p.bob.wait([&](const PEER_GRAPH_EVENT_DATA& e) {
    return e.eventType == PEER_GRAPH_EVENT_DIRECT_CONNECTION && e.connectionChangeData.ullConnectionId == direct &&
           e.connectionChangeData.status == PEER_CONNECTED;
  }));
  ULONGLONG alice_direct = 0;
  REQUIRE(p.alice.wait([&](const PEER_GRAPH_EVENT_DATA& e) {
    if (e.eventType != PEER_GRAPH_EVENT_DIRECT_CONNECTION || e.connectionChangeData.status != PEER_CONNECTED)
      return false;
    alice_direct = e.connectionChangeData.ullConnectionId;
    return true;
  }));

  const char hello[] = "hello, alice";
  REQUIRE(PeerGraphSendData(p.bob.graph, direct, &whisper, sizeof hello, const_cast<char*>(hello)) == S_OK);
  REQUIRE(p.alice.wait([&](const PEER_GRAPH_EVENT_DATA& e) {
    return e.eventType == PEER_GRAPH_EVENT_INCOMING_DATA && e.incomingData.ullConnectionId == alice_direct &&
           same(e.incomingData.type, whisper) && e.incomingData.data.cbData == sizeof hello &&
           std::memcmp(e.incomingData.data.pbData, hello, sizeof hello) == 0;
  }));
  // An empty message on the neighbor connection, the other way.
  HPEERENUM en = nullptr;
  REQUIRE(PeerGraphEnumConnections(p.alice.graph, PEER_CONNECTION_NEIGHBOR | PEER_CONNECTION_DIRECT, &en) == S_OK);
  ULONG count = 0;
  REQUIRE(PeerGraphGetItemCount(en, &count) == S_OK);
  REQUIRE(count == 2);
  count = 1;
  PVOID* items = nullptr;
  REQUIRE(PeerGraphGetNextItem(en, &count, &items) == S_OK);
  REQUIRE(count == 1);
  auto* first = static_cast<PEER_CONNECTION_INFO*>(items[0]);
  CHECK(first->dwSize == sizeof(PEER_CONNECTION_INFO));
  CHECK(std::wstring(first->pwzPeerId) == L"bob");
  CHECK(first->address.sin6.sin6_family == AF_INET6);
  PeerGraphFreeData(items);
  count = 5;
  REQUIRE(PeerGraphGetNextItem(en, &count, &items) == S_OK);
  REQUIRE(count == 1);
  auto* second = static_cast<PEER_CONNECTION_INFO*>(items[0]);
  CHECK(std::wstring(second->pwzPeerId) == L"bob");
  PeerGraphFreeData(items);
  count = 5;
  REQUIRE(PeerGraphGetNextItem(en, &count, &items) == S_OK);
  CHECK(count == 0);
  REQUIRE(PeerGraphEndEnumeration(en) == S_OK);

  REQUIRE(PeerGraphEnumConnections(p.alice.graph, PEER_CONNECTION_NEIGHBOR, &en) == S_OK);
  count = 1;
  REQUIRE(PeerGraphGetNextItem(en, &count, &items) == S_OK);
  REQUIRE(count == 1);
  const ULONGLONG alice_neighbor = static_cast<PEER_CONNECTION_INFO*>(items[0])->ullConnectionId;
  CHECK(static_cast<PEER_CONNECTION_INFO*>(items[0])->dwFlags == PEER_CONNECTION_NEIGHBOR);
  PeerGraphFreeData(items);
  REQUIRE(PeerGraphEndEnumeration(en) == S_OK);
  REQUIRE(PeerGraphSendData(p.alice.graph, alice_neighbor, &other_type, 0, nullptr) == S_OK);
  REQUIRE(p.bob.wait([&](const PEER_GRAPH_EVENT_DATA& e) {
    return e.eventType == PEER_GRAPH_EVENT_INCOMING_DATA && e.incomingData.ullConnectionId == p.bob_to_alice &&
           same(e.incomingData.type, other_type) && e.incomingData.data.cbData == 0;
  }));

  // A neighbor connection is not a direct one.
  CHECK(PeerGraphCloseDirectConnection(p.bob.graph, p.bob_to_alice) == PEER_E_CONNECTION_NOT_FOUND);
  REQUIRE(PeerGraphCloseDirectConnection(p.bob.graph, direct) == S_OK);
  REQUIRE(p.alice.wait([&](const PEER_GRAPH_EVENT_DATA& e) {
    return e.eventType == PEER_GRAPH_EVENT_DIRECT_CONNECTION && e.connectionChangeData.ullConnectionId == alice_direct &&
           e.connectionChangeData.status == PEER_DISCONNECTED;
  }));
  CHECK(PeerGraphSendData(p.bob.graph, direct, &whisper, 0, nullptr) == PEER_E_CONNECTION_NOT_FOUND);
}

TEST_CASE("a registration filters incoming data by type", "[compat][events][filter]") {
  session s;
  REQUIRE(s.started == S_OK);
  pair p;
  p.connect();
  HANDLE ev = CreateEvent(nullptr, TRUE, FALSE, nullptr);  // manual-reset this time
  GUID wanted = whisper;
  PEER_GRAPH_EVENT_REGISTRATION r{PEER_GRAPH_EVENT_INCOMING_DATA, &wanted};
  HPEEREVENT only_whisper = nullptr;
  REQUIRE(PeerGraphRegisterEvent(p.bob.graph, ev, 1, &r, &only_whisper) == S_OK);

  HPEERENUM en = nullptr;
  REQUIRE(PeerGraphEnumConnections(p.alice.graph, PEER_CONNECTION_NEIGHBOR, &en) == S_OK);
  ULONG count = 1;
  PVOID* items = nullptr;
  REQUIRE(PeerGraphGetNextItem(en, &count, &items) == S_OK);
  const ULONGLONG id = static_cast<PEER_CONNECTION_INFO*>(items[0])->ullConnectionId;
  PeerGraphFreeData(items);
  PeerGraphEndEnumeration(en);

  int one = 1, two = 2;
  REQUIRE(PeerGraphSendData(p.alice.graph, id, &other_type, sizeof one, &one) == S_OK);
  REQUIRE(PeerGraphSendData(p.alice.graph, id, &whisper, sizeof two, &two) == S_OK);
  // The unfiltered registration sees both, in order.
  int seen = 0;
  REQUIRE(p.bob.wait([&](const PEER_GRAPH_EVENT_DATA& e) {
    if (e.eventType == PEER_GRAPH_EVENT_INCOMING_DATA) ++seen;
    return seen == 2;
  }));
  // The filtered one only the whisper.
  REQUIRE(WaitForSingleObject(ev, 5000) == WAIT_OBJECT_0);
  ResetEvent(ev);
  PEER_GRAPH_EVENT_DATA* data = nullptr;
  REQUIRE(PeerGraphGetEventData(only_whisper, &data) == S_OK);
  CHECK(data->eventType == PEER_GRAPH_EVENT_INCOMING_DATA);
  CHECK(same(data->incomingData.type, whisper));
  CHECK(*reinterpret_cast<int*>(data->incomingData.data.pbData) == 2);
  PeerGraphFreeData(data);
  CHECK(PeerGraphGetEventData(only_whisper, &data) == PEER_S_NO_EVENT_DATA);
  REQUIRE(PeerGraphUnregisterEvent(only_whisper) == S_OK);
  CloseHandle(ev);
}

TEST_CASE("a failed connect is reported by event under the returned id", "[compat][connect]") {
  session s;
  REQUIRE(s.started == S_OK);
  std::wstring id = unique(L"fail-");
  node n;
  REQUIRE(PeerGraphOpen(id.c_str(), L"lonely", L"f.db", nullptr, 0, nullptr, &n.graph) == PEER_S_GRAPH_DATA_CREATED);
  REQUIRE(n.register_all() == S_OK);
  auto addr = loopback(free_port());  // nobody listens there
  REQUIRE(PeerGraphConnect(n.graph, nullptr, &addr, nullptr) == S_OK);  // a NULL id pointer is fine
  ULONGLONG cid = 0;
  auto addr2 = loopback(free_port());
  REQUIRE(PeerGraphConnect(n.graph, nullptr, &addr2, &cid) == S_OK);
  REQUIRE(n.wait([&](const PEER_GRAPH_EVENT_DATA& e) {
    return e.eventType == PEER_GRAPH_EVENT_NEIGHBOR_CONNECTION && e.connectionChangeData.ullConnectionId == cid &&
           e.connectionChangeData.status == PEER_CONNECTION_FAILED && FAILED(e.connectionChangeData.hrConnectionFailedReason);
  }));
  REQUIRE(PeerGraphClose(n.graph) == S_OK);
  n.graph = nullptr;
  REQUIRE(PeerGraphDelete(id.c_str(), L"lonely", L"f.db") == S_OK);
}

TEST_CASE("a direct connection is refused unless the remote registered for it", "[compat][direct]") {
  session s;
  REQUIRE(s.started == S_OK);
  std::wstring graph_id = unique(L"refuse-"), alice = L"alice";
  auto props = properties(graph_id.data(), alice.data());
  node a, b;
  REQUIRE(PeerGraphCreate(&props, L"ra.db", nullptr, &a.graph) == S_OK);
  PEER_GRAPH_EVENT_REGISTRATION status_only{PEER_GRAPH_EVENT_STATUS_CHANGED, nullptr};
  REQUIRE(PeerGraphRegisterEvent(a.graph, a.event, 1, &status_only, &a.reg) == S_OK);
  const WORD port = free_port();
  REQUIRE(PeerGraphListen(a.graph, PEER_GRAPH_SCOPE_LOOPBACK, 0, port) == S_OK);
  REQUIRE(PeerGraphOpen(graph_id.c_str(), L"bob", L"rb.db", nullptr, 0, nullptr, &b.graph) == PEER_S_GRAPH_DATA_CREATED);
  REQUIRE(b.register_all() == S_OK);
  auto addr = loopback(port);
  ULONGLONG direct = 0;
  REQUIRE(PeerGraphOpenDirectConnection(b.graph, L"alice", &addr, &direct) == S_OK);
  REQUIRE(b.wait([&](const PEER_GRAPH_EVENT_DATA& e) {
    return e.eventType == PEER_GRAPH_EVENT_DIRECT_CONNECTION && e.connectionChangeData.ullConnectionId == direct &&
           e.connectionChangeData.status == PEER_CONNECTION_FAILED &&
           e.connectionChangeData.hrConnectionFailedReason == PEER_E_CONNECTION_REFUSED;
  }));
}

TEST_CASE("the API may be called from several threads at once", "[compat][threads]") {
  session s;
  REQUIRE(s.started == S_OK);
  pair p;
  p.connect();
  constexpr int senders = 3, per_sender = 200;
  std::atomic<int> received{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < senders; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < per_sender; ++i) {
        int v = t * 1000 + i;
        if (PeerGraphSendData(p.bob.graph, p.bob_to_alice, &whisper, sizeof v, &v) != S_OK) failed = true;
        if (i % 50 == 0) {
          HPEERENUM en = nullptr;
          if (PeerGraphEnumConnections(p.bob.graph, PEER_CONNECTION_NEIGHBOR, &en) != S_OK) failed = true;
          ULONG n = 8;
          PVOID* items = nullptr;
          if (PeerGraphGetNextItem(en, &n, &items) != S_OK || n != 1) failed = true;
          PeerGraphFreeData(items);
          PeerGraphEndEnumeration(en);
        }
      }
    });
  // Two threads drain Alice's registration; Win32 auto-reset wakes one at a time.
  auto drain = [&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (received < senders * per_sender && std::chrono::steady_clock::now() < deadline) {
      PEER_GRAPH_EVENT_DATA* data = nullptr;
      HRESULT hr;
      while ((hr = PeerGraphGetEventData(p.alice.reg, &data)) == S_OK) {
        if (data->eventType == PEER_GRAPH_EVENT_INCOMING_DATA) ++received;
        PeerGraphFreeData(data);
      }
      if (hr != PEER_S_NO_EVENT_DATA) failed = true;
      WaitForSingleObject(p.alice.event, 20);
    }
  };
  std::thread d1(drain), d2(drain);
  for (auto& t : threads) t.join();
  d1.join();
  d2.join();
  CHECK_FALSE(failed);
  CHECK(received == senders * per_sender);
}

TEST_CASE("a listen on port 0 is read back with PeerGraphGetNodeInfo(h, 0)", "[compat][nodes]") {
  session s;
  REQUIRE(s.started == S_OK);
  std::wstring id = unique(L"port0-"), me = L"me";
  auto props = properties(id.data(), me.data());
  HGRAPH g = nullptr;
  REQUIRE(PeerGraphCreate(&props, L"port0.db", nullptr, &g) == S_OK);
  REQUIRE(PeerGraphListen(g, PEER_GRAPH_SCOPE_LOOPBACK, 0, 0) == S_OK);
  const auto self = local_node(g);
  CHECK(self.id != 0);
  CHECK(self.address.dwSize == sizeof(PEER_ADDRESS));
  CHECK(self.address.sin6.sin6_family == AF_INET6);
  CHECK(IN6_IS_ADDR_LOOPBACK(&self.address.sin6.sin6_addr));
  CHECK(ntohs(self.address.sin6.sin6_port) != 0);
  // A created graph publishes its presence: it lists itself, with the same address.
  HPEERENUM en = nullptr;
  REQUIRE(PeerGraphEnumNodes(g, L"me", &en) == S_OK);
  ULONG count = 4;
  PVOID* items = nullptr;
  REQUIRE(PeerGraphGetNextItem(en, &count, &items) == S_OK);
  REQUIRE(count == 1);
  const auto* info = static_cast<PEER_NODE_INFO*>(items[0]);
  CHECK(info->ullNodeId == self.id);
  REQUIRE(info->cAddresses == 1);
  CHECK(std::memcmp(&info->pAddresses[0], &self.address, sizeof(PEER_ADDRESS)) == 0);
  PeerGraphFreeData(items);
  REQUIRE(PeerGraphEndEnumeration(en) == S_OK);
  CHECK(enum_nodes(g, L"someone-else").empty());
  REQUIRE(PeerGraphClose(g) == S_OK);
  REQUIRE(PeerGraphDelete(id.c_str(), L"me", L"port0.db") == S_OK);
}

TEST_CASE("PeerGraphSetPresence publishes a node the graph's policy leaves out", "[compat][nodes][presence]") {
  session s;
  REQUIRE(s.started == S_OK);
  std::wstring id = unique(L"presence-"), me = L"me";
  auto props = properties(id.data(), me.data());
  props.cPresenceMax = 0;  // no automatic presence
  HGRAPH g = nullptr;
  REQUIRE(PeerGraphCreate(&props, L"presence.db", nullptr, &g) == S_OK);
  REQUIRE(PeerGraphListen(g, PEER_GRAPH_SCOPE_LOOPBACK, 0, 0) == S_OK);
  CHECK(enum_nodes(g).empty());
  REQUIRE(PeerGraphSetPresence(g, TRUE) == S_OK);
  CHECK(enum_nodes(g) == std::vector<std::wstring>{L"me"});
  REQUIRE(PeerGraphSetPresence(g, FALSE) == S_OK);
  CHECK(enum_nodes(g).empty());
  CHECK(local_node(g).id != 0);  // unpublished, still known locally, with its address
  REQUIRE(PeerGraphClose(g) == S_OK);
  REQUIRE(PeerGraphDelete(id.c_str(), L"me", L"presence.db") == S_OK);
}

// Alice creates; Bob joins through Alice and, once synchronized, listens;
// Carol joins through Bob only, finds Alice by peer id and whispers to her
// over a direct connection. Graph maintenance (the core's default) may also
// connect Carol to Alice; nothing here depends on it.
TEST_CASE("a chain of three graphs: enumerate, find by peer id, connect directly", "[compat][nodes][chain]") {
  session s;
  REQUIRE(s.started == S_OK);
  std::wstring graph_id = unique(L"chain-"), alice_id = L"alice";
  auto props = properties(graph_id.data(), alice_id.data());
  node a, b, c;
  REQUIRE(PeerGraphCreate(&props, L"chain-a.db", nullptr, &a.graph) == S_OK);
  REQUIRE(a.register_all() == S_OK);
  // A second registration on Alice, for node changes only.
  HANDLE node_event = CreateEvent(nullptr, FALSE, FALSE, nullptr);
  HPEEREVENT node_reg = nullptr;
  PEER_GRAPH_EVENT_REGISTRATION node_changes{PEER_GRAPH_EVENT_NODE_CHANGED, nullptr};
  REQUIRE(PeerGraphRegisterEvent(a.graph, node_event, 1, &node_changes, &node_reg) == S_OK);
  REQUIRE(PeerGraphListen(a.graph, PEER_GRAPH_SCOPE_LOOPBACK, 0, 0) == S_OK);
  const auto alice = local_node(a.graph);

  REQUIRE(PeerGraphOpen(graph_id.c_str(), L"bob", L"chain-b.db", nullptr, 0, nullptr, &b.graph) ==
          PEER_S_GRAPH_DATA_CREATED);
  REQUIRE(b.register_all() == S_OK);
  CHECK(PeerGraphListen(b.graph, PEER_GRAPH_SCOPE_LOOPBACK, 0, 0) == PEER_E_GRAPH_NOT_READY);
  auto to_alice = alice.address;
  REQUIRE(PeerGraphConnect(b.graph, L"alice", &to_alice, nullptr) == S_OK);
  REQUIRE(b.wait(synchronized));
  REQUIRE(PeerGraphListen(b.graph, PEER_GRAPH_SCOPE_LOOPBACK, 0, 0) == S_OK);
  const auto bob = local_node(b.graph);

  REQUIRE(PeerGraphOpen(graph_id.c_str(), L"carol", L"chain-c.db", nullptr, 0, nullptr, &c.graph) ==
          PEER_S_GRAPH_DATA_CREATED);
  REQUIRE(c.register_all() == S_OK);
  auto to_bob = bob.address;
  REQUIRE(PeerGraphConnect(c.graph, L"bob", &to_bob, nullptr) == S_OK);
  REQUIRE(c.wait(synchronized));
  const auto carol = local_node(c.graph, false);  // not listening

  // Carol finds Alice by peer id, as the documented direct-connection example does.
  HPEERENUM en = nullptr;
  REQUIRE(PeerGraphEnumNodes(c.graph, L"alice", &en) == S_OK);
  ULONG count = 0;
  REQUIRE(PeerGraphGetItemCount(en, &count) == S_OK);
  REQUIRE(count == 1);
  PEER_NODE_INFO** found = nullptr;
  REQUIRE(PeerGraphGetNextItem(en, &count, reinterpret_cast<PVOID**>(&found)) == S_OK);
  REQUIRE(count == 1);
  CHECK(found[0]->dwSize == sizeof(PEER_NODE_INFO));
  CHECK(found[0]->ullNodeId == alice.id);
  CHECK(std::wstring(found[0]->pwzPeerId) == L"alice");
  CHECK(found[0]->pwzAttributes == nullptr);
  REQUIRE(found[0]->cAddresses >= 1);
  CHECK(found[0]->pAddresses[0].sin6.sin6_port == alice.address.sin6.sin6_port);
  PEER_ADDRESS target = found[0]->pAddresses[0];
  PeerGraphFreeData(found);
  REQUIRE(PeerGraphEndEnumeration(en) == S_OK);

  auto everyone = enum_nodes(c.graph);
  std::sort(everyone.begin(), everyone.end());
  CHECK(everyone == std::vector<std::wstring>{L"alice", L"bob", L"carol"});

  ULONGLONG direct = 0;
  REQUIRE(PeerGraphOpenDirectConnection(c.graph, L"alice", &target, &direct) == S_OK);
  REQUIRE(c.wait([&](const PEER_GRAPH_EVENT_DATA& e) {
    return e.eventType == PEER_GRAPH_EVENT_DIRECT_CONNECTION && e.connectionChangeData.ullConnectionId == direct &&
           e.connectionChangeData.status == PEER_CONNECTED;
  }));
  const char text[] = "psst, alice";
  REQUIRE(PeerGraphSendData(c.graph, direct, &whisper, sizeof text, const_cast<char*>(text)) == S_OK);
  REQUIRE(a.wait([&](const PEER_GRAPH_EVENT_DATA& e) {
    return e.eventType == PEER_GRAPH_EVENT_INCOMING_DATA && e.incomingData.data.cbData == sizeof text &&
           std::memcmp(e.incomingData.data.pbData, text, sizeof text) == 0;
  }));

  // Alice saw both nodes arrive, with their ids and peer ids.
  std::map<std::wstring, ULONGLONG> arrived;
  REQUIRE(wait_for(node_event, node_reg, [&](const PEER_GRAPH_EVENT_DATA& e) {
    if (e.eventType == PEER_GRAPH_EVENT_NODE_CHANGED && e.nodeChangeData.changeType == PEER_NODE_CHANGE_CONNECTED) {
      CHECK(e.nodeChangeData.dwSize == sizeof(PEER_EVENT_NODE_CHANGE_DATA));
      arrived[e.nodeChangeData.pwzPeerId] = e.nodeChangeData.ullNodeId;
    }
    return arrived.size() == 2;
  }));
  CHECK(arrived[L"bob"] == bob.id);
  CHECK(arrived[L"carol"] == carol.id);

  // Bob's attributes reach Alice: an UPDATED event, then GetNodeInfo shows them.
  REQUIRE(PeerGraphSetNodeAttributes(b.graph, L"role=relay") == S_OK);
  CHECK(attributes_of(b.graph, 0) == L"role=relay");
  REQUIRE(wait_for(node_event, node_reg, [&](const PEER_GRAPH_EVENT_DATA& e) {
    return is_node_change(e, PEER_NODE_CHANGE_UPDATED, bob.id) && attributes_of(a.graph, bob.id) == L"role=relay";
  }));
  PEER_NODE_INFO* info = nullptr;
  REQUIRE(PeerGraphGetNodeInfo(a.graph, bob.id, &info) == S_OK);
  CHECK(std::wstring(info->pwzPeerId) == L"bob");
  REQUIRE(info->cAddresses >= 1);
  CHECK(info->pAddresses[0].sin6.sin6_port == bob.address.sin6.sin6_port);
  PeerGraphFreeData(info);
  REQUIRE(PeerGraphSetNodeAttributes(b.graph, nullptr) == S_OK);
  REQUIRE(wait_for(node_event, node_reg, [&](const PEER_GRAPH_EVENT_DATA& e) {
    return is_node_change(e, PEER_NODE_CHANGE_UPDATED, bob.id) && attributes_of(a.graph, bob.id) == L"<null>";
  }));

  // Carol leaves: Alice sees her go and no longer knows her.
  REQUIRE(PeerGraphClose(c.graph) == S_OK);
  c.graph = nullptr;
  REQUIRE(wait_for(node_event, node_reg, [&](const PEER_GRAPH_EVENT_DATA& e) {
    return is_node_change(e, PEER_NODE_CHANGE_DISCONNECTED, carol.id) &&
           std::wstring(e.nodeChangeData.pwzPeerId) == L"carol";
  }));
  CHECK(PeerGraphGetNodeInfo(a.graph, carol.id, &info) == PEER_E_NODE_NOT_FOUND);
  REQUIRE(PeerGraphUnregisterEvent(node_reg) == S_OK);
  CloseHandle(node_event);
}

TEST_CASE("a node that loses its last neighbor is told a connection is required", "[compat][events][required]") {
  session s;
  REQUIRE(s.started == S_OK);
  pair p;
  p.connect();
  ULONGLONG alice_id = 0;
  REQUIRE(p.bob.wait([&](const PEER_GRAPH_EVENT_DATA& e) {
    if (e.eventType != PEER_GRAPH_EVENT_NODE_CHANGED || e.nodeChangeData.changeType != PEER_NODE_CHANGE_CONNECTED)
      return false;
    CHECK(std::wstring(e.nodeChangeData.pwzPeerId) == L"alice");
    alice_id = e.nodeChangeData.ullNodeId;
    return true;
  }));
  REQUIRE(PeerGraphClose(p.alice.graph) == S_OK);
  p.alice.graph = nullptr;
  bool gone = false, required = false;
  REQUIRE(p.bob.wait([&](const PEER_GRAPH_EVENT_DATA& e) {
    gone = gone || is_node_change(e, PEER_NODE_CHANGE_DISCONNECTED, alice_id);
    required = required || e.eventType == PEER_GRAPH_EVENT_CONNECTION_REQUIRED;
    return gone && required;
  }));
}
