/* The <p2p.h> shim from C11: structure layouts (c_layout.h, at compile time)
 * and a two-graph scenario written the documented way. */
#define _POSIX_C_SOURCE 200809L
#include "c_layout.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static int failures = 0;
#define EXPECT(cond)                                                     \
  do {                                                                   \
    if (!(cond)) {                                                       \
      fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                        \
    }                                                                    \
  } while (0)

static const GUID chat_type = {0x4d5b2f11, 0x6522, 0x433b, {0x84, 0xef, 0xa2, 0x98, 0xe6, 0x07, 0x57, 0xb0}};

/* Waits for an event of `type` (and, if `status` is non-zero, that connection
 * status), draining and freeing everything else; the event comes back in
 * *out for the caller to free. */
static int wait_event(HANDLE ev, HPEEREVENT reg, PEER_GRAPH_EVENT_TYPE type, int status, PEER_GRAPH_EVENT_DATA** out) {
  int rounds;
  for (rounds = 0; rounds < 100; ++rounds) {
    PEER_GRAPH_EVENT_DATA* data = NULL;
    HRESULT hr;
    while ((hr = PeerGraphGetEventData(reg, &data)) == S_OK) {
      if (data->eventType == type && (status == 0 || (int)data->connectionChangeData.status == status)) {
        *out = data;
        return 1;
      }
      PeerGraphFreeData(data);
    }
    if (hr != PEER_S_NO_EVENT_DATA) return 0;
    WaitForSingleObject(ev, 100);
  }
  return 0;
}

/* Drains until both the NODE_CHANGED (connected) event for `peer` and a
 * STATUS_CHANGED event with the synchronized flag have arrived; the node's id
 * goes to *node. */
static int wait_node_and_sync(HANDLE ev, HPEEREVENT reg, PCWSTR peer, ULONGLONG* node) {
  int rounds, synced = 0, seen = 0;
  for (rounds = 0; rounds < 100 && !(synced && seen); ++rounds) {
    PEER_GRAPH_EVENT_DATA* data = NULL;
    while (PeerGraphGetEventData(reg, &data) == S_OK) {
      if (data->eventType == PEER_GRAPH_EVENT_STATUS_CHANGED && (data->dwStatus & PEER_GRAPH_STATUS_SYNCHRONIZED))
        synced = 1;
      if (data->eventType == PEER_GRAPH_EVENT_NODE_CHANGED &&
          data->nodeChangeData.changeType == PEER_NODE_CHANGE_CONNECTED &&
          wcscmp(data->nodeChangeData.pwzPeerId, peer) == 0) {
        seen = 1;
        *node = data->nodeChangeData.ullNodeId;
      }
      PeerGraphFreeData(data);
    }
    if (!(synced && seen)) WaitForSingleObject(ev, 100);
  }
  return synced && seen;
}

int main(void) {
  PEER_VERSION_DATA version;
  PEER_GRAPH_PROPERTIES props;
  PEER_GRAPH_EVENT_REGISTRATION regs[4];
  PEER_NODE_INFO *info = NULL, **nodes = NULL;
  ULONGLONG alice_node = 0, seen_node = 0;
  PEER_GRAPH_EVENT_DATA* data = NULL;
  PEER_ADDRESS addr;
  HGRAPH alice = NULL, bob = NULL;
  HANDLE alice_event, bob_event;
  HPEEREVENT alice_reg = NULL, bob_reg = NULL;
  HPEERENUM en = NULL;
  ULONGLONG connection = 0, alice_side = 0;
  ULONG count = 0;
  PVOID* items = NULL;
  DWORD status = 0;
  const char text[] = "hello from C";
  WORD port = 0;
  WCHAR graph_id[] = L"c-graph", creator[] = L"alice";

  EXPECT(PeerGraphCreate(NULL, L"db", NULL, &alice) == PEER_E_NOT_INITIALIZED);
  EXPECT(PeerGraphStartup(PEER_GRAPH_VERSION, &version) == S_OK);
  EXPECT(version.wVersion == PEER_GRAPH_VERSION);

  memset(&props, 0, sizeof props);
  props.dwSize = sizeof props;
  props.dwScope = PEER_GRAPH_SCOPE_GLOBAL;
  props.pwzGraphId = graph_id;
  props.pwzCreatorId = creator;
  props.ulPresenceLifetime = 300;
  props.cPresenceMax = (ULONG)-1;
  PeerGraphDelete(graph_id, creator, L"c-alice.db");
  EXPECT(PeerGraphCreate(&props, L"c-alice.db", NULL, &alice) == S_OK);
  EXPECT(PeerGraphOpen(graph_id, L"bob", L"c-bob.db", NULL, 0, NULL, &bob) == PEER_S_GRAPH_DATA_CREATED);

  alice_event = CreateEvent(NULL, FALSE, FALSE, NULL);
  bob_event = CreateEvent(NULL, FALSE, FALSE, NULL);
  regs[0].eventType = PEER_GRAPH_EVENT_NEIGHBOR_CONNECTION;
  regs[0].pType = NULL;
  regs[1].eventType = PEER_GRAPH_EVENT_INCOMING_DATA;
  regs[1].pType = (GUID*)&chat_type;
  regs[2].eventType = PEER_GRAPH_EVENT_STATUS_CHANGED;
  regs[2].pType = NULL;
  regs[3].eventType = PEER_GRAPH_EVENT_NODE_CHANGED;
  regs[3].pType = NULL;
  EXPECT(PeerGraphRegisterEvent(alice, alice_event, 4, regs, &alice_reg) == S_OK);
  EXPECT(PeerGraphRegisterEvent(bob, bob_event, 4, regs, &bob_reg) == S_OK);
  EXPECT(PeerGraphListen(alice, PEER_GRAPH_SCOPE_LOOPBACK, 0, 0) == S_OK);
  /* Port 0: the node's information gives the port the system picked. */
  EXPECT(PeerGraphGetNodeInfo(alice, 0, NULL) == E_INVALIDARG);
  EXPECT(PeerGraphGetNodeInfo(alice, 0, &info) == S_OK);
  if (info) {
    EXPECT(info->dwSize == sizeof(PEER_NODE_INFO));
    EXPECT(wcscmp(info->pwzPeerId, L"alice") == 0);
    EXPECT(info->cAddresses == 1);
    if (info->cAddresses == 1) port = ntohs(info->pAddresses[0].sin6.sin6_port);
    alice_node = info->ullNodeId;
  }
  PeerGraphFreeData(info);
  info = NULL;
  EXPECT(port != 0);
  EXPECT(PeerGraphEnumNodes(bob, NULL, &en) == PEER_E_GRAPH_NOT_READY);

  memset(&addr, 0, sizeof addr);
  addr.dwSize = sizeof addr;
  addr.sin6.sin6_family = AF_INET6;
  addr.sin6.sin6_port = htons(port);
  addr.sin6.sin6_addr = in6addr_loopback;
  EXPECT(PeerGraphConnect(bob, L"alice", &addr, &connection) == S_OK);
  EXPECT(wait_event(bob_event, bob_reg, PEER_GRAPH_EVENT_NEIGHBOR_CONNECTION, PEER_CONNECTED, &data));
  if (data) EXPECT(data->connectionChangeData.ullConnectionId == connection);
  PeerGraphFreeData(data);
  data = NULL;
  EXPECT(wait_event(alice_event, alice_reg, PEER_GRAPH_EVENT_NEIGHBOR_CONNECTION, PEER_CONNECTED, &data));
  if (data) alice_side = data->connectionChangeData.ullConnectionId;
  PeerGraphFreeData(data);
  data = NULL;

  EXPECT(PeerGraphGetStatus(bob, &status) == S_OK);
  EXPECT((status & PEER_GRAPH_STATUS_HAS_CONNECTIONS) != 0);

  /* Bob learns Alice's node by synchronizing, then finds her by peer id. */
  EXPECT(wait_node_and_sync(bob_event, bob_reg, L"alice", &seen_node));
  EXPECT(seen_node == alice_node);
  EXPECT(PeerGraphEnumNodes(bob, L"alice", &en) == S_OK);
  EXPECT(PeerGraphGetItemCount(en, &count) == S_OK && count == 1);
  EXPECT(PeerGraphGetNextItem(en, &count, (PVOID**)&nodes) == S_OK && count == 1);
  if (count == 1) {
    EXPECT(nodes[0]->ullNodeId == alice_node);
    EXPECT(nodes[0]->cAddresses == 1 && ntohs(nodes[0]->pAddresses[0].sin6.sin6_port) == port);
  }
  PeerGraphFreeData(nodes);
  EXPECT(PeerGraphEndEnumeration(en) == S_OK);
  EXPECT(PeerGraphSetNodeAttributes(alice, L"status=here") == S_OK);
  EXPECT(PeerGraphSetPresence(alice, TRUE) == S_OK);
  EXPECT(PeerGraphGetNodeInfo(bob, 42, &info) == PEER_E_NODE_NOT_FOUND);

  EXPECT(PeerGraphEnumConnections(alice, PEER_CONNECTION_NEIGHBOR, &en) == S_OK);
  EXPECT(PeerGraphGetItemCount(en, &count) == S_OK && count == 1);
  count = 4;
  EXPECT(PeerGraphGetNextItem(en, &count, &items) == S_OK && count == 1);
  if (count == 1) {
    PEER_CONNECTION_INFO* info = (PEER_CONNECTION_INFO*)items[0];
    EXPECT(info->ullConnectionId == alice_side);
    EXPECT(wcscmp(info->pwzPeerId, L"bob") == 0);
  }
  PeerGraphFreeData(items);
  EXPECT(PeerGraphEndEnumeration(en) == S_OK);

  EXPECT(PeerGraphSendData(alice, alice_side, &chat_type, sizeof text, (PVOID)text) == S_OK);
  EXPECT(wait_event(bob_event, bob_reg, PEER_GRAPH_EVENT_INCOMING_DATA, 0, &data));
  if (data) {
    EXPECT(data->incomingData.ullConnectionId == connection);
    EXPECT(data->incomingData.data.cbData == sizeof text);
    EXPECT(memcmp(data->incomingData.data.pbData, text, sizeof text) == 0);
  }
  PeerGraphFreeData(data);

  EXPECT(PeerGraphUnregisterEvent(alice_reg) == S_OK);
  EXPECT(PeerGraphUnregisterEvent(bob_reg) == S_OK);
  EXPECT(PeerGraphClose(bob) == S_OK);
  EXPECT(PeerGraphClose(alice) == S_OK);
  EXPECT(PeerGraphDelete(graph_id, creator, L"c-alice.db") == S_OK);
  EXPECT(PeerGraphShutdown() == S_OK);
  EXPECT(CloseHandle(alice_event) && CloseHandle(bob_event));
  if (failures) return 1;
  puts("compat-c: ok");
  return 0;
}
