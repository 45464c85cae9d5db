// whisper: three nodes written against the documented Peer Graphing API
// (<p2p.h>), built on Linux with peergraph_compat.
//
// Alice creates a graph and listens; Bob and Carol open it and connect to
// her. Carol then looks Alice up by peer id among her connections, opens a
// direct connection to that address and whispers; Alice answers on the same
// connection. Each node waits on its Win32 event and drains its events.
//
//   whisper [port]      Alice listens on loopback at `port` (default 31400)
//
// Once node enumeration is available, Carol finds Alice with
// PeerGraphEnumNodes(hGraph, L"alice", ...) and Alice listens on port 0 and
// reads her port back with PeerGraphGetNodeInfo(hGraph, 0, ...).
#include <p2p.h>

#include <arpa/inet.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cwchar>
#include <initializer_list>

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
  PEER_GRAPH_EVENT_REGISTRATION regs[] = {{PEER_GRAPH_EVENT_NEIGHBOR_CONNECTION, nullptr},
                                          {PEER_GRAPH_EVENT_DIRECT_CONNECTION, nullptr},
                                          {PEER_GRAPH_EVENT_INCOMING_DATA, &whisper_type}};
  n.event = CreateEvent(nullptr, FALSE, FALSE, nullptr);
  return check(PeerGraphRegisterEvent(n.graph, n.event, 3, regs, &n.reg), "PeerGraphRegisterEvent");
}

// Waits (at most ~5 s) for an event of `type`; the caller frees it.
PEER_GRAPH_EVENT_DATA* wait_for(node& n, PEER_GRAPH_EVENT_TYPE type) {
  for (int round = 0; round < 50; ++round) {
    PEER_GRAPH_EVENT_DATA* data = nullptr;
    while (PeerGraphGetEventData(n.reg, &data) == S_OK) {
      if (data->eventType == type) return data;
      PeerGraphFreeData(data);
    }
    WaitForSingleObject(n.event, 100);
  }
  std::fprintf(stderr, "%ls: no event of type %d\n", n.name, static_cast<int>(type));
  return nullptr;
}

bool connect_to(node& n, WORD port) {
  PEER_ADDRESS addr{};
  addr.dwSize = sizeof addr;
  addr.sin6.sin6_family = AF_INET6;
  addr.sin6.sin6_port = htons(port);
  addr.sin6.sin6_addr = in6addr_loopback;
  ULONGLONG id = 0;
  if (!check(PeerGraphConnect(n.graph, L"alice", &addr, &id), "PeerGraphConnect")) return false;
  auto* ev = wait_for(n, PEER_GRAPH_EVENT_NEIGHBOR_CONNECTION);
  const bool ok = ev && ev->connectionChangeData.ullConnectionId == id && ev->connectionChangeData.status == PEER_CONNECTED;
  PeerGraphFreeData(ev);
  std::printf("%ls: neighbor connection to alice %s\n", n.name, ok ? "up" : "failed");
  return ok;
}

bool say(node& n, ULONGLONG connection, const char* text) {
  return check(PeerGraphSendData(n.graph, connection, &whisper_type, static_cast<ULONG>(std::strlen(text) + 1),
                                 const_cast<char*>(text)),
               "PeerGraphSendData");
}

int run(WORD port) {
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
  if (!check(PeerGraphCreate(&props, L"alice.db", nullptr, &alice.graph), "PeerGraphCreate")) return 1;
  if (!register_events(alice)) return 1;
  if (!check(PeerGraphListen(alice.graph, PEER_GRAPH_SCOPE_LOOPBACK, 0, port), "PeerGraphListen")) return 1;

  for (node* n : {&bob, &carol}) {
    if (!check(PeerGraphOpen(graph_id, n->name, n == &bob ? L"bob.db" : L"carol.db", nullptr, 0, nullptr, &n->graph),
               "PeerGraphOpen"))
      return 1;
    if (!register_events(*n) || !connect_to(*n, port)) return 1;
  }

  // Carol finds Alice by peer id among her connections.
  HPEERENUM en = nullptr;
  if (!check(PeerGraphEnumConnections(carol.graph, PEER_CONNECTION_NEIGHBOR, &en), "PeerGraphEnumConnections")) return 1;
  ULONG count = 0;
  PeerGraphGetItemCount(en, &count);
  PVOID* items = nullptr;
  PEER_ADDRESS alice_address{};
  bool found = false;
  if (SUCCEEDED(PeerGraphGetNextItem(en, &count, &items))) {
    for (ULONG i = 0; i < count; ++i) {
      auto* info = static_cast<PEER_CONNECTION_INFO*>(items[i]);
      if (std::wcscmp(info->pwzPeerId, L"alice") == 0) {
        alice_address = info->address;
        found = true;
      }
    }
    PeerGraphFreeData(items);
  }
  PeerGraphEndEnumeration(en);
  if (!found) return std::fprintf(stderr, "carol: alice not found\n"), 1;

  ULONGLONG direct = 0;
  if (!check(PeerGraphOpenDirectConnection(carol.graph, L"alice", &alice_address, &direct),
             "PeerGraphOpenDirectConnection"))
    return 1;
  auto* ev = wait_for(carol, PEER_GRAPH_EVENT_DIRECT_CONNECTION);
  const bool up = ev && ev->connectionChangeData.status == PEER_CONNECTED;
  PeerGraphFreeData(ev);
  if (!up || !say(carol, direct, "psst, alice: bob has the cake")) return 1;

  ev = wait_for(alice, PEER_GRAPH_EVENT_INCOMING_DATA);
  if (!ev) return 1;
  std::printf("alice hears: %s\n", reinterpret_cast<const char*>(ev->incomingData.data.pbData));
  const ULONGLONG back = ev->incomingData.ullConnectionId;
  PeerGraphFreeData(ev);
  if (!say(alice, back, "thanks, carol")) return 1;
  ev = wait_for(carol, PEER_GRAPH_EVENT_INCOMING_DATA);
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

int main(int argc, char** argv) {
  const WORD port = static_cast<WORD>(argc > 1 ? std::atoi(argv[1]) : 31400);
  PEER_VERSION_DATA version;
  if (!check(PeerGraphStartup(PEER_GRAPH_VERSION, &version), "PeerGraphStartup")) return 1;
  const int rc = run(port);
  PeerGraphShutdown();
  return rc;
}
