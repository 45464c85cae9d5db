// The <p2p.h> shim: connecting, connection ids, direct connections and data.
#include "compat/compat_support.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace compat_test;

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
  // More than the maximum message size is refused at once, not dropped later.
  std::vector<char> huge(16u * 1024 * 1024 + 1);
  CHECK(PeerGraphSendData(p.alice.graph, alice_neighbor, &other_type, static_cast<ULONG>(huge.size()), huge.data()) ==
        E_INVALIDARG);
  REQUIRE(PeerGraphSendData(p.alice.graph, alice_neighbor, &other_type, 0, nullptr) == S_OK);
  REQUIRE(p.bob.wait([&](const PEER_GRAPH_EVENT_DATA& e) {
    return e.eventType == PEER_GRAPH_EVENT_INCOMING_DATA && e.incomingData.ullConnectionId == p.bob_to_alice &&
           same(e.incomingData.type, other_type) && e.incomingData.data.cbData == 0;
  }));

  // A neighbor connection is not a direct one.
  CHECK(PeerGraphCloseDirectConnection(p.bob.graph, p.bob_to_alice) == PEER_E_CONNECTION_NOT_FOUND);
  REQUIRE(PeerGraphCloseDirectConnection(p.bob.graph, direct) == S_OK);
  REQUIRE(p.alice.wait([&](const PEER_GRAPH_EVENT_DATA& e) {
    return about_connection(e, PEER_GRAPH_EVENT_DIRECT_CONNECTION, alice_direct) &&
           e.connectionChangeData.status == PEER_DISCONNECTED;
  }));
  CHECK(PeerGraphSendData(p.bob.graph, direct, &whisper, 0, nullptr) == PEER_E_CONNECTION_NOT_FOUND);
}

TEST_CASE("a failed connect is reported by event under the returned id", "[compat][connect]") {
  session s;
  REQUIRE(s.started == S_OK);
  std::wstring id = unique(L"fail-");
  node n;
  REQUIRE(PeerGraphOpen(id.c_str(), L"lonely", L"f.db", nullptr, 0, nullptr, &n.graph) == PEER_S_GRAPH_DATA_CREATED);
  REQUIRE(n.register_all() == S_OK);
  auto addr = loopback(free_port());                                    // nobody listens there
  REQUIRE(PeerGraphConnect(n.graph, nullptr, &addr, nullptr) == S_OK);  // a NULL id pointer is fine
  ULONGLONG cid = 0;
  auto addr2 = loopback(free_port());
  REQUIRE(PeerGraphConnect(n.graph, nullptr, &addr2, &cid) == S_OK);
  REQUIRE(n.wait([&](const PEER_GRAPH_EVENT_DATA& e) {
    return about_connection(e, PEER_GRAPH_EVENT_NEIGHBOR_CONNECTION, cid) &&
           e.connectionChangeData.status == PEER_CONNECTION_FAILED &&
           FAILED(e.connectionChangeData.hrConnectionFailedReason);
  }));
  REQUIRE(PeerGraphClose(n.graph) == S_OK);
  n.graph = nullptr;
  REQUIRE(PeerGraphDelete(id.c_str(), L"lonely", L"f.db") == S_OK);
}

TEST_CASE("a direct connection is refused unless the remote registered for it", "[compat][direct]") {
  started t(L"refuse-", L"alice");
  auto& [s, graph_id, alice, props] = t;
  node a, b;
  REQUIRE(PeerGraphCreate(&props, L"ra.db", nullptr, &a.graph) == S_OK);
  PEER_GRAPH_EVENT_REGISTRATION status_only{PEER_GRAPH_EVENT_STATUS_CHANGED, nullptr};
  REQUIRE(PeerGraphRegisterEvent(a.graph, a.event, 1, &status_only, &a.reg) == S_OK);
  const WORD port = free_port();
  REQUIRE(PeerGraphListen(a.graph, PEER_GRAPH_SCOPE_LOOPBACK, 0, port) == S_OK);
  REQUIRE(PeerGraphOpen(graph_id.c_str(), L"bob", L"rb.db", nullptr, 0, nullptr, &b.graph) ==
          PEER_S_GRAPH_DATA_CREATED);
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

TEST_CASE("the id a connect returns is the id in its events from the first event on", "[compat][connect][ids]") {
  session s;
  REQUIRE(s.started == S_OK);
  pair p;
  auto addr = loopback(p.port);
  ULONGLONG neighbor = 0;
  REQUIRE(PeerGraphConnect(p.bob.graph, L"alice", &addr, &neighbor) == S_OK);
  REQUIRE(neighbor != 0);
  // The first connection event Bob sees is this attempt's, under the id he holds.
  std::optional<PEER_EVENT_CONNECTION_CHANGE_DATA> first;
  REQUIRE(p.bob.wait([&](const PEER_GRAPH_EVENT_DATA& e) {
    if (e.eventType != PEER_GRAPH_EVENT_NEIGHBOR_CONNECTION) return false;
    first = e.connectionChangeData;
    return true;
  }));
  CHECK(first->ullConnectionId == neighbor);
  CHECK(first->status == PEER_CONNECTED);
  CHECK(first->hrConnectionFailedReason == S_OK);
  CHECK(connection_ids(p.bob.graph, PEER_CONNECTION_NEIGHBOR) == std::vector<ULONGLONG>{neighbor});
  int ping = 7;
  REQUIRE(PeerGraphSendData(p.bob.graph, neighbor, &whisper, sizeof ping, &ping) == S_OK);
  REQUIRE(p.alice.wait([&](const PEER_GRAPH_EVENT_DATA& e) {
    return e.eventType == PEER_GRAPH_EVENT_INCOMING_DATA && e.incomingData.data.cbData == sizeof ping;
  }));

  // The same for a direct connection.
  ULONGLONG direct = 0;
  REQUIRE(PeerGraphOpenDirectConnection(p.bob.graph, L"alice", &addr, &direct) == S_OK);
  REQUIRE(direct != 0);
  CHECK(direct != neighbor);
  first.reset();
  REQUIRE(p.bob.wait([&](const PEER_GRAPH_EVENT_DATA& e) {
    if (e.eventType != PEER_GRAPH_EVENT_DIRECT_CONNECTION) return false;
    first = e.connectionChangeData;
    return true;
  }));
  CHECK(first->ullConnectionId == direct);
  CHECK(first->status == PEER_CONNECTED);
  CHECK(connection_ids(p.bob.graph, PEER_CONNECTION_DIRECT) == std::vector<ULONGLONG>{direct});
}

TEST_CASE("a connect that fails at once is reported by one failed event under the id it returned",
          "[compat][connect][ids]") {
  session s;
  REQUIRE(s.started == S_OK);
  // Drains `n` for a moment and counts the events about connection `id`.
  auto later_events = [](node& n, ULONGLONG id) {
    int count = 0;
    n.wait(
        [&](const PEER_GRAPH_EVENT_DATA& e) {
          if (about_connection(e, PEER_GRAPH_EVENT_NEIGHBOR_CONNECTION, id)) ++count;
          return false;
        },
        std::chrono::milliseconds(300));
    return count;
  };

  SECTION("a dead address") {
    std::wstring id = unique(L"dead-");
    node n;
    REQUIRE(PeerGraphOpen(id.c_str(), L"lonely", L"dead.db", nullptr, 0, nullptr, &n.graph) ==
            PEER_S_GRAPH_DATA_CREATED);
    REQUIRE(n.register_all() == S_OK);
    auto addr = loopback(free_port());  // nobody listens there
    ULONGLONG cid = 0;
    REQUIRE(PeerGraphConnect(n.graph, nullptr, &addr, &cid) == S_OK);
    REQUIRE(cid != 0);
    std::optional<PEER_EVENT_CONNECTION_CHANGE_DATA> first;
    REQUIRE(n.wait([&](const PEER_GRAPH_EVENT_DATA& e) {
      if (e.eventType != PEER_GRAPH_EVENT_NEIGHBOR_CONNECTION) return false;
      first = e.connectionChangeData;
      return true;
    }));
    CHECK(first->ullConnectionId == cid);
    CHECK(first->status == PEER_CONNECTION_FAILED);
    CHECK(first->hrConnectionFailedReason == PEER_E_CONNECTION_REFUSED);
    CHECK(later_events(n, cid) == 0);
    REQUIRE(PeerGraphClose(n.graph) == S_OK);
    n.graph = nullptr;
    REQUIRE(PeerGraphDelete(id.c_str(), L"lonely", L"dead.db") == S_OK);
  }

  SECTION("already a neighbor, by another address form") {
    // Alice listens on [::] (dual stack); Bob reaches her as 127.0.0.1 first.
    pair p({}, PEER_GRAPH_SCOPE_GLOBAL);
    p.connect(loopback_v4_mapped(p.port));
    auto same_node = loopback(p.port);
    ULONGLONG again = 0;
    REQUIRE(PeerGraphConnect(p.bob.graph, L"alice", &same_node, &again) == S_OK);
    REQUIRE(again != 0);
    CHECK(again != p.bob_to_alice);
    std::optional<PEER_EVENT_CONNECTION_CHANGE_DATA> first;
    REQUIRE(p.bob.wait([&](const PEER_GRAPH_EVENT_DATA& e) {
      if (!about_connection(e, PEER_GRAPH_EVENT_NEIGHBOR_CONNECTION, again)) return false;
      first = e.connectionChangeData;
      return true;
    }));
    CHECK(first->status == PEER_CONNECTION_FAILED);
    CHECK(first->hrConnectionFailedReason == PEER_E_ALREADY_EXISTS);
    CHECK(later_events(p.bob, again) == 0);
    CHECK(connection_ids(p.bob.graph, PEER_CONNECTION_NEIGHBOR) == std::vector<ULONGLONG>{p.bob_to_alice});
  }
}
