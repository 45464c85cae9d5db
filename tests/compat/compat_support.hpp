// Test support for the <p2p.h> shim: sessions, graphs with a registration,
// waiting for events the documented way, and reading results back.
#ifndef PEERGRAPH_TESTS_COMPAT_SUPPORT_HPP
#define PEERGRAPH_TESTS_COMPAT_SUPPORT_HPP

#include <peergraph/config.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <optional>
#include <p2p.h>
#include <string>
#include <thread>
#include <vector>

namespace compat_test {

inline GUID whisper = {0x4d5b2f11, 0x6522, 0x433b, {0x84, 0xef, 0xa2, 0x98, 0xe6, 0x07, 0xbb, 0xbb}};
inline GUID other_type = {0x0badf00d, 0x0001, 0x0002, {3, 4, 5, 6, 7, 8, 9, 10}};

inline bool same(const GUID& a, const GUID& b) { return std::memcmp(&a, &b, sizeof a) == 0; }

/// `base` and a number new in this process: graph ids and database names
/// that no other test uses.
inline std::wstring unique(const wchar_t* base) {
  static std::atomic<int> n{0};
  return std::wstring(base) + std::to_wstring(++n);
}

/// Startup in the constructor, Shutdown in the destructor.
struct session {
  PEER_VERSION_DATA version{};
  HRESULT started = PeerGraphStartup(PEER_GRAPH_VERSION, &version);
  ~session() {
    if (SUCCEEDED(started)) PeerGraphShutdown();
  }
};

inline PEER_GRAPH_PROPERTIES properties(PWSTR graph_id, PWSTR creator) {
  PEER_GRAPH_PROPERTIES p{};
  p.dwSize = sizeof p;
  p.dwScope = PEER_GRAPH_SCOPE_GLOBAL;
  p.pwzGraphId = graph_id;
  p.pwzCreatorId = creator;
  p.ulPresenceLifetime = 300;
  p.cPresenceMax = static_cast<ULONG>(-1);
  return p;
}

/// How most tests begin: a session whose Startup succeeded, a graph id no
/// other test uses, its creator's peer id, and properties naming both.
struct started {
  explicit started(const wchar_t* graph_base, std::wstring creator_id = L"me")
      : graph_id(unique(graph_base)),
        creator(std::move(creator_id)),
        props(properties(graph_id.data(), creator.data())) {
    REQUIRE(s.started == S_OK);
  }
  session s;
  std::wstring graph_id;
  std::wstring creator;
  PEER_GRAPH_PROPERTIES props;
};

/// A TCP port that was free a moment ago (until node information gives the
/// port a port-0 listen picked).
inline WORD free_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::address_v6::loopback(), 0));
  return a.local_endpoint().port();
}

/// [::1]:port.
inline PEER_ADDRESS loopback(WORD port) {
  PEER_ADDRESS a{};
  a.dwSize = sizeof a;
  a.sin6.sin6_family = AF_INET6;
  a.sin6.sin6_port = htons(port);
  a.sin6.sin6_addr = in6addr_loopback;
  return a;
}

/// [::ffff:127.0.0.1]:port: the same host as loopback(port) for a dual-stack listener.
inline PEER_ADDRESS loopback_v4_mapped(WORD port) {
  PEER_ADDRESS a = loopback(port);
  std::memset(&a.sin6.sin6_addr, 0, sizeof a.sin6.sin6_addr);
  a.sin6.sin6_addr.s6_addr[10] = 0xff;
  a.sin6.sin6_addr.s6_addr[11] = 0xff;
  a.sin6.sin6_addr.s6_addr[12] = 127;
  a.sin6.sin6_addr.s6_addr[15] = 1;
  return a;
}

/// Polls `done` until it holds, for at most `limit`.
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

/// Drains `reg` until `pred` accepts an event (freeing every event), waiting
/// on `ev` between drains. False after `limit`.
inline bool wait_for(HANDLE ev, HPEEREVENT reg, const std::function<bool(const PEER_GRAPH_EVENT_DATA&)>& pred,
                     std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    PEER_GRAPH_EVENT_DATA* data = nullptr;
    HRESULT hr;
    while ((hr = PeerGraphGetEventData(reg, &data)) == S_OK) {
      const bool hit = pred(*data);
      PeerGraphFreeData(data);
      if (hit) return true;
    }
    if (hr != PEER_S_NO_EVENT_DATA) return false;
    using std::chrono::duration_cast, std::chrono::milliseconds, std::chrono::steady_clock;
    const auto left = duration_cast<milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0) return false;
    WaitForSingleObject(ev, static_cast<DWORD>(left.count()));
  }
}

/// A graph with one registration for every event the shim reports.
struct node {
  HGRAPH graph = nullptr;
  HANDLE event = CreateEvent(nullptr, FALSE, FALSE, nullptr);
  HPEEREVENT reg = nullptr;

  HRESULT register_all() {
    PEER_GRAPH_EVENT_REGISTRATION r[] = {
        {PEER_GRAPH_EVENT_STATUS_CHANGED, nullptr},    {PEER_GRAPH_EVENT_NEIGHBOR_CONNECTION, nullptr},
        {PEER_GRAPH_EVENT_DIRECT_CONNECTION, nullptr}, {PEER_GRAPH_EVENT_INCOMING_DATA, nullptr},
        {PEER_GRAPH_EVENT_NODE_CHANGED, nullptr},      {PEER_GRAPH_EVENT_CONNECTION_REQUIRED, nullptr}};
    return PeerGraphRegisterEvent(graph, event, 6, r, &reg);
  }
  bool wait(const std::function<bool(const PEER_GRAPH_EVENT_DATA&)>& pred,
            std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
    return wait_for(event, reg, pred, limit);
  }
  ~node() {
    if (reg) PeerGraphUnregisterEvent(reg);
    if (graph) PeerGraphClose(graph);
    CloseHandle(event);
  }
};

/// A STATUS_CHANGED event that says the graph has synchronized.
inline bool synchronized(const PEER_GRAPH_EVENT_DATA& e) {
  return e.eventType == PEER_GRAPH_EVENT_STATUS_CHANGED && (e.dwStatus & PEER_GRAPH_STATUS_SYNCHRONIZED) != 0;
}

/// A connection event of `type` for the connection `id`, in any status.
inline bool about_connection(const PEER_GRAPH_EVENT_DATA& e, PEER_GRAPH_EVENT_TYPE type, ULONGLONG id) {
  return e.eventType == type && e.connectionChangeData.ullConnectionId == id;
}

inline bool is_node_change(const PEER_GRAPH_EVENT_DATA& e, PEER_NODE_CHANGE_TYPE change, ULONGLONG node) {
  return e.eventType == PEER_GRAPH_EVENT_NODE_CHANGED && e.nodeChangeData.changeType == change &&
         e.nodeChangeData.ullNodeId == node;
}

/// Alice creates and listens, Bob opens; both register for everything.
/// `adjust` may change Alice's properties before the create, `scope` her listen.
struct pair {
  std::wstring graph_id = unique(L"graph-");
  std::wstring alice_db = graph_id + L"-alice.db", bob_db = graph_id + L"-bob.db";
  std::wstring alice_id = L"alice";
  node alice, bob;
  WORD port = free_port();
  ULONGLONG bob_to_alice = 0;

  explicit pair(const std::function<void(PEER_GRAPH_PROPERTIES&)>& adjust = {},
                DWORD scope = PEER_GRAPH_SCOPE_LOOPBACK) {
    auto props = properties(graph_id.data(), alice_id.data());
    if (adjust) adjust(props);
    REQUIRE(PeerGraphCreate(&props, alice_db.c_str(), nullptr, &alice.graph) == S_OK);
    REQUIRE(PeerGraphOpen(graph_id.c_str(), L"bob", bob_db.c_str(), nullptr, 0, nullptr, &bob.graph) ==
            PEER_S_GRAPH_DATA_CREATED);
    REQUIRE(alice.register_all() == S_OK);
    REQUIRE(bob.register_all() == S_OK);
    REQUIRE(PeerGraphListen(alice.graph, scope, 0, port) == S_OK);
  }

  /// Bob connects to `addr` (Alice's loopback address by default) and both see the link.
  void connect(std::optional<PEER_ADDRESS> addr = std::nullopt) {
    auto to = addr.value_or(loopback(port));
    REQUIRE(PeerGraphConnect(bob.graph, L"alice", &to, &bob_to_alice) == S_OK);
    REQUIRE(bob_to_alice != 0);
    REQUIRE(bob.wait([&](const PEER_GRAPH_EVENT_DATA& e) {
      return about_connection(e, PEER_GRAPH_EVENT_NEIGHBOR_CONNECTION, bob_to_alice) &&
             e.connectionChangeData.status == PEER_CONNECTED;
    }));
    REQUIRE(alice.wait([](const PEER_GRAPH_EVENT_DATA& e) {
      return e.eventType == PEER_GRAPH_EVENT_NEIGHBOR_CONNECTION && e.connectionChangeData.status == PEER_CONNECTED;
    }));
  }
};

/// The ids PeerGraphEnumConnections lists for `flags`, in its order.
inline std::vector<ULONGLONG> connection_ids(HGRAPH g, DWORD flags) {
  HPEERENUM en = nullptr;
  REQUIRE(PeerGraphEnumConnections(g, flags, &en) == S_OK);
  ULONG count = 0;
  REQUIRE(PeerGraphGetItemCount(en, &count) == S_OK);
  PVOID* items = nullptr;
  REQUIRE(PeerGraphGetNextItem(en, &count, &items) == S_OK);
  std::vector<ULONGLONG> out;
  for (ULONG i = 0; i < count; ++i) out.push_back(static_cast<PEER_CONNECTION_INFO*>(items[i])->ullConnectionId);
  PeerGraphFreeData(items);
  REQUIRE(PeerGraphEndEnumeration(en) == S_OK);
  return out;
}

/// PeerGraphGetProperties, copied out of its block; nullopt if it failed.
/// A NULL string reads as "<null>".
struct graph_props {
  DWORD flags = 0, scope = 0, max_record_size = 0;
  std::wstring graph_id, creator_id, friendly_name, comment;
  ULONG presence_lifetime = 0, presence_max = 0;
};
inline std::optional<graph_props> get_properties(HGRAPH g) {
  PEER_GRAPH_PROPERTIES* p = nullptr;
  if (PeerGraphGetProperties(g, &p) != S_OK) return std::nullopt;
  auto text = [](PCWSTR s) { return s ? std::wstring(s) : std::wstring(L"<null>"); };
  graph_props out;
  CHECK(p->dwSize == sizeof(PEER_GRAPH_PROPERTIES));
  out.flags = p->dwFlags;
  out.scope = p->dwScope;
  out.max_record_size = p->dwMaxRecordSize;
  out.graph_id = text(p->pwzGraphId);
  out.creator_id = text(p->pwzCreatorId);
  out.friendly_name = text(p->pwzFriendlyName);
  out.comment = text(p->pwzComment);
  out.presence_lifetime = p->ulPresenceLifetime;
  out.presence_max = p->cPresenceMax;
  PeerGraphFreeData(p);
  return out;
}

/// The local node as PeerGraphGetNodeInfo(h, 0) reports it.
struct local_info {
  ULONGLONG id = 0;
  PEER_ADDRESS address{};  // the first one
};
inline local_info local_node(HGRAPH g, bool listening = true) {
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

/// A node's attribute string as another node sees it; "<null>" for NULL,
/// "<unknown>" for a node it does not know.
inline std::wstring attributes_of(HGRAPH g, ULONGLONG node) {
  PEER_NODE_INFO* info = nullptr;
  if (PeerGraphGetNodeInfo(g, node, &info) != S_OK) return L"<unknown>";
  std::wstring out = info->pwzAttributes ? info->pwzAttributes : L"<null>";
  PeerGraphFreeData(info);
  return out;
}

/// The peer ids PeerGraphEnumNodes lists, read one item at a time.
inline std::vector<std::wstring> enum_nodes(HGRAPH g, PCWSTR peer = nullptr) {
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

}  // namespace compat_test

#endif  // PEERGRAPH_TESTS_COMPAT_SUPPORT_HPP
