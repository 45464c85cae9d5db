// The <p2p.h> shim: node enumeration, node information, attributes and presence.
#include "compat/compat_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <vector>

using namespace compat_test;

TEST_CASE("a listen on port 0 is read back with PeerGraphGetNodeInfo(h, 0)", "[compat][nodes]") {
  started t(L"port0-", L"me");
  auto& [s, id, me, props] = t;
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
  started t(L"presence-", L"me");
  auto& [s, id, me, props] = t;
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

// Alice creates; Bob joins through Alice and, once synchronized, listens;
// Carol joins through Bob only, finds Alice by peer id and whispers to her
// over a direct connection. Graph maintenance (the core's default) may also
// connect Carol to Alice; nothing here depends on it.
TEST_CASE("a chain of three graphs: enumerate, find by peer id, connect directly", "[compat][nodes][chain]") {
  started t(L"chain-", L"alice");
  auto& [s, graph_id, alice_id, props] = t;
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
