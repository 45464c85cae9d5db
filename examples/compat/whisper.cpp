// whisper: three nodes written against the documented Peer Graphing API
// (<p2p.h>), built on Linux with peergraph_compat.
//
// Alice creates a graph and listens on a port the system picks; she reads it
// back with PeerGraphGetNodeInfo(hGraph, 0, ...). Bob opens the graph,
// connects to her, waits until he has synchronized (only then may a joining
// node listen) and listens too. Carol connects to Bob alone. She then finds
// Alice by peer id with PeerGraphEnumNodes, opens a direct connection to the
// first address Alice publishes and whispers; Alice answers on the same
// connection. Each node waits on its Win32 event and drains its events.
//
//   compat-whisper
#include <arpa/inet.h>
#include <cstdio>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <p2p.h>

namespace {

GUID whisper_type = {0x4d5b2f11, 0x6522, 0x433b, {0x84, 0xef, 0xa2, 0x98, 0xe6, 0x07, 0xbb, 0xbb}};

struct node {
  const wchar_t* name;
  HGRAPH graph = nullptr;
  HANDLE event = nullptr;
  HPEEREVENT reg = nullptr;
};

bool check(HRESULT hr, const char* what) {
  if (FAILED(hr)) std::fprintf(stderr, "%s failed: 0x%08x\n", what, static_cast<unsigned>(hr));
  return SUCCEEDED(hr);
}

bool register_events(node& n) {
  PEER_GRAPH_EVENT_REGISTRATION regs[] = {{PEER_GRAPH_EVENT_STATUS_CHANGED, nullptr},
                                          {PEER_GRAPH_EVENT_NEIGHBOR_CONNECTION, nullptr},
                                          {PEER_GRAPH_EVENT_DIRECT_CONNECTION, nullptr},
                                          {PEER_GRAPH_EVENT_INCOMING_DATA, &whisper_type}};
  n.event = CreateEvent(nullptr, FALSE, FALSE, nullptr);
  return check(PeerGraphRegisterEvent(n.graph, n.event, 4, regs, &n.reg), "PeerGraphRegisterEvent");
}

// Drains events until `wanted` accepts one (at most ~5 s). Returns that
// event for the caller to free, or NULL; every other event is freed here.
PEER_GRAPH_EVENT_DATA* wait_for(node& n, const char* what,
                                const std::function<bool(const PEER_GRAPH_EVENT_DATA&)>& wanted) {
  for (int round = 0; round < 50; ++round) {
    PEER_GRAPH_EVENT_DATA* data = nullptr;
    while (PeerGraphGetEventData(n.reg, &data) == S_OK) {
      if (wanted(*data)) return data;
      PeerGraphFreeData(data);
    }
    WaitForSingleObject(n.event, 100);
  }
  std::fprintf(stderr, "%ls: no %s\n", n.name, what);
  return nullptr;
}

bool is_type(const PEER_GRAPH_EVENT_DATA& e, PEER_GRAPH_EVENT_TYPE type) { return e.eventType == type; }

// Listens on loopback, port 0, and returns the address the node listens on.
bool listen(node& n, PEER_ADDRESS& out) {
  if (!check(PeerGraphListen(n.graph, PEER_GRAPH_SCOPE_LOOPBACK, 0, 0), "PeerGraphListen")) return false;
  PEER_NODE_INFO* self = nullptr;
  if (!check(PeerGraphGetNodeInfo(n.graph, 0, &self), "PeerGraphGetNodeInfo")) return false;
  const bool ok = self->cAddresses > 0;
  if (ok) {
    out = self->pAddresses[0];
    std::printf("%ls: node %016llx listens on port %u\n", n.name, static_cast<unsigned long long>(self->ullNodeId),
                static_cast<unsigned>(ntohs(out.sin6.sin6_port)));
  }
  PeerGraphFreeData(self);
  return ok;
}

// Opens the graph, connects to `peer` at `address` and waits until the node
// has synchronized.
bool join(node& n, PCWSTR graph_id, PCWSTR db, PCWSTR peer, PEER_ADDRESS address) {
  if (!check(PeerGraphOpen(graph_id, n.name, db, nullptr, 0, nullptr, &n.graph), "PeerGraphOpen") ||
      !register_events(n))
    return false;
  ULONGLONG id = 0;
  if (!check(PeerGraphConnect(n.graph, peer, &address, &id), "PeerGraphConnect")) return false;
  bool failed = false;
  auto* ev = wait_for(n, "synchronization", [&](const PEER_GRAPH_EVENT_DATA& e) {
    if (e.eventType == PEER_GRAPH_EVENT_NEIGHBOR_CONNECTION && e.connectionChangeData.ullConnectionId == id &&
        e.connectionChangeData.status == PEER_CONNECTION_FAILED) {
      failed = true;
      return true;
    }
    return e.eventType == PEER_GRAPH_EVENT_STATUS_CHANGED && (e.dwStatus & PEER_GRAPH_STATUS_SYNCHRONIZED) != 0;
  });
  PeerGraphFreeData(ev);
  std::printf("%ls: connected to %ls, %s\n", n.name, peer, ev && !failed ? "synchronized" : "failed");
  return ev && !failed;
}

// Finds the node of `peer` among those the graph knows, as PEER_NODE_INFO
// items, and copies its first address.
bool find_node(node& n, PCWSTR peer, PEER_ADDRESS& out) {
  HPEERENUM en = nullptr;
  if (!check(PeerGraphEnumNodes(n.graph, peer, &en), "PeerGraphEnumNodes")) return false;
  ULONG count = 0;
  PeerGraphGetItemCount(en, &count);
  bool found = false;
  if (count > 0) {
    count = 1;  // the first match is enough
    PEER_NODE_INFO** nodes = nullptr;
    if (SUCCEEDED(PeerGraphGetNextItem(en, &count, reinterpret_cast<PVOID**>(&nodes))) && count > 0) {
      if (nodes[0]->cAddresses > 0) {
        out = nodes[0]->pAddresses[0];
        found = true;
      }
      PeerGraphFreeData(nodes);
    }
  }
  PeerGraphEndEnumeration(en);
  std::printf("%ls: %ls %s\n", n.name, peer, found ? "found by peer id" : "not found");
  return found;
}

bool say(node& n, ULONGLONG connection, const char* text) {
  return check(PeerGraphSendData(n.graph, connection, &whisper_type, static_cast<ULONG>(std::strlen(text) + 1),
                                 const_cast<char*>(text)),
               "PeerGraphSendData");
}

int run() {
  node alice{L"alice"}, bob{L"bob"}, carol{L"carol"};
  WCHAR graph_id[] = L"whisper-example", creator[] = L"alice", friendly[] = L"Whisper example";
  PEER_GRAPH_PROPERTIES props{};
  props.dwSize = sizeof props;
  props.dwScope = PEER_GRAPH_SCOPE_LOOPBACK;
  props.pwzGraphId = graph_id;
  props.pwzCreatorId = creator;
  props.pwzFriendlyName = friendly;
  props.ulPresenceLifetime = 300;
  props.cPresenceMax = static_cast<ULONG>(-1);

  PeerGraphDelete(graph_id, creator, L"alice.db");  // as GraphChat does: start from a fresh database
  PEER_ADDRESS alice_address{}, bob_address{};
  if (!check(PeerGraphCreate(&props, L"alice.db", nullptr, &alice.graph), "PeerGraphCreate") ||
      !register_events(alice) || !listen(alice, alice_address))
    return 1;
  if (!join(bob, graph_id, L"bob.db", L"alice", alice_address) || !listen(bob, bob_address)) return 1;
  if (!join(carol, graph_id, L"carol.db", L"bob", bob_address)) return 1;

  PEER_ADDRESS target{};
  if (!find_node(carol, L"alice", target)) return 1;
  ULONGLONG direct = 0;
  if (!check(PeerGraphOpenDirectConnection(carol.graph, L"alice", &target, &direct), "PeerGraphOpenDirectConnection"))
    return 1;
  auto* ev = wait_for(carol, "direct connection", [&](const PEER_GRAPH_EVENT_DATA& e) {
    return e.eventType == PEER_GRAPH_EVENT_DIRECT_CONNECTION && e.connectionChangeData.ullConnectionId == direct;
  });
  const bool up = ev && ev->connectionChangeData.status == PEER_CONNECTED;
  PeerGraphFreeData(ev);
  if (!up || !say(carol, direct, "psst, alice: bob has the cake")) return 1;

  auto incoming = [](const PEER_GRAPH_EVENT_DATA& e) { return is_type(e, PEER_GRAPH_EVENT_INCOMING_DATA); };
  ev = wait_for(alice, "whisper", incoming);
  if (!ev) return 1;
  std::printf("alice hears: %s\n", reinterpret_cast<const char*>(ev->incomingData.data.pbData));
  const ULONGLONG back = ev->incomingData.ullConnectionId;
  PeerGraphFreeData(ev);
  if (!say(alice, back, "thanks, carol")) return 1;
  ev = wait_for(carol, "answer", incoming);
  if (!ev) return 1;
  std::printf("carol hears: %s\n", reinterpret_cast<const char*>(ev->incomingData.data.pbData));
  PeerGraphFreeData(ev);
  PeerGraphCloseDirectConnection(carol.graph, direct);

  for (node* n : {&carol, &bob, &alice}) {
    PeerGraphUnregisterEvent(n->reg);
    CloseHandle(n->event);
    PeerGraphClose(n->graph);
  }
  return 0;
}

}  // namespace

int main() {
  PEER_VERSION_DATA version;
  if (!check(PeerGraphStartup(PEER_GRAPH_VERSION, &version), "PeerGraphStartup")) return 1;
  const int rc = run();
  PeerGraphShutdown();
  return rc;
}
