// The <p2p.h> shim: Startup and Shutdown, bad input, graph properties.
#include "compat/compat_support.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>

using namespace compat_test;

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
  started t(L"bad-", L"me");
  auto& [s, id, me, props] = t;
  HGRAPH g = nullptr;
  // What the calls below take besides the graph (every section starts afresh).
  PEER_ADDRESS addr = loopback(1);
  ULONGLONG cid = 0;
  HPEERENUM en = nullptr;
  HPEEREVENT reg = nullptr;
  HANDLE ev = CreateEvent(nullptr, FALSE, FALSE, nullptr);
  PEER_GRAPH_EVENT_REGISTRATION r{PEER_GRAPH_EVENT_STATUS_CHANGED, nullptr};

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
  }

  SECTION("arguments of an open graph") {
    REQUIRE(PeerGraphCreate(&props, L"db2", nullptr, &g) == S_OK);

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
  }

  SECTION("an opened graph that never synchronized") {
    REQUIRE(PeerGraphOpen(id.c_str(), L"joiner", L"j.db", nullptr, 0, nullptr, &g) == PEER_S_GRAPH_DATA_CREATED);
    PEER_GRAPH_PROPERTIES* got = nullptr;
    CHECK(PeerGraphListen(g, PEER_GRAPH_SCOPE_LOOPBACK, 0, 0) == PEER_E_GRAPH_NOT_READY);
    CHECK(PeerGraphGetProperties(g, &got) == PEER_E_GRAPH_NOT_READY);
    CHECK(PeerGraphSetProperties(g, &props) == E_ACCESSDENIED);  // not the creator
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
  CloseHandle(ev);
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

TEST_CASE("a joined node's PeerGraphGetProperties reports the creator's replicated properties",
          "[compat][properties][replicated]") {
  session s;
  REQUIRE(s.started == S_OK);
  std::wstring friendly = L"Replicated \u00e9t\u00e9", comment = L"set by alice \u65e5";
  pair p([&](PEER_GRAPH_PROPERTIES& props) {
    props.pwzFriendlyName = friendly.data();
    props.pwzComment = comment.data();
    props.dwFlags = PEER_GRAPH_PROPERTY_DEFER_EXPIRATION;
    props.ulPresenceLifetime = 360;
    props.cPresenceMax = 7;
  });
  PEER_GRAPH_PROPERTIES* none = nullptr;
  CHECK(PeerGraphGetProperties(p.bob.graph, &none) == PEER_E_GRAPH_NOT_READY);  // knows the graph id only
  p.connect();
  REQUIRE(p.bob.wait(synchronized));

  const auto got = get_properties(p.bob.graph);
  REQUIRE(got);
  CHECK(got->graph_id == p.graph_id);
  CHECK(got->creator_id == L"alice");
  CHECK(got->friendly_name == friendly);
  CHECK(got->comment == comment);
  CHECK(got->flags == PEER_GRAPH_PROPERTY_DEFER_EXPIRATION);
  CHECK(got->scope == PEER_GRAPH_SCOPE_GLOBAL);
  CHECK(got->presence_lifetime == 360);
  CHECK(got->presence_max == 7);
  CHECK(got->max_record_size == 0);
}

TEST_CASE("PeerGraphSetProperties on the creator reaches a joined node", "[compat][properties][replicated]") {
  session s;
  REQUIRE(s.started == S_OK);
  pair p;
  p.connect();
  REQUIRE(p.bob.wait(synchronized));
  REQUIRE(get_properties(p.bob.graph)->friendly_name == L"<null>");

  std::wstring friendly = L"Renamed graph", comment = L"now with a comment";
  auto change = properties(p.graph_id.data(), p.alice_id.data());
  change.pwzFriendlyName = friendly.data();
  change.pwzComment = comment.data();
  change.ulPresenceLifetime = 420;
  change.cPresenceMax = 3;
  change.dwScope = PEER_GRAPH_SCOPE_LOOPBACK;  // not settable: ignored
  REQUIRE(PeerGraphSetProperties(p.alice.graph, &change) == S_OK);

  std::optional<graph_props> seen;
  REQUIRE(eventually([&] {
    seen = get_properties(p.bob.graph);
    return seen && seen->friendly_name == friendly;
  }));
  CHECK(seen->comment == comment);
  CHECK(seen->presence_lifetime == 420);
  CHECK(seen->presence_max == 3);
  CHECK(seen->creator_id == L"alice");
  CHECK(seen->scope == PEER_GRAPH_SCOPE_GLOBAL);
  CHECK(get_properties(p.alice.graph)->friendly_name == friendly);

  // NULL strings clear, and that replicates too.
  change.pwzFriendlyName = nullptr;
  change.pwzComment = nullptr;
  REQUIRE(PeerGraphSetProperties(p.alice.graph, &change) == S_OK);
  REQUIRE(eventually([&] {
    seen = get_properties(p.bob.graph);
    return seen && seen->friendly_name == L"<null>";
  }));
  CHECK(seen->comment == L"<null>");
}

TEST_CASE("PeerGraphSetProperties on a node that is not the creator is E_ACCESSDENIED",
          "[compat][properties][replicated]") {
  session s;
  REQUIRE(s.started == S_OK);
  std::wstring original = L"Alice's graph";
  pair p([&](PEER_GRAPH_PROPERTIES& props) { props.pwzFriendlyName = original.data(); });
  p.connect();
  REQUIRE(p.bob.wait(synchronized));

  std::wstring bob_id = L"bob", takeover = L"Bob's graph now";
  auto change = properties(p.graph_id.data(), bob_id.data());
  change.pwzFriendlyName = takeover.data();
  CHECK(PeerGraphSetProperties(p.bob.graph, &change) == E_ACCESSDENIED);
  change.pwzCreatorId = p.alice_id.data();  // claiming to be the creator changes nothing
  CHECK(PeerGraphSetProperties(p.bob.graph, &change) == E_ACCESSDENIED);
  CHECK(get_properties(p.bob.graph)->friendly_name == original);
  CHECK(get_properties(p.alice.graph)->friendly_name == original);
}
