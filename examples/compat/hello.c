/* hello.c: the documented Peer Graphing API from C11.
 *
 * Alice creates a graph and listens on loopback on a port the system picks,
 * which she reads back with PeerGraphGetNodeInfo(alice, 0, ...). Bob opens
 * the graph, connects to that address, and once the NEIGHBOR_CONNECTION
 * event confirms the connection id that PeerGraphConnect returned, sends one
 * message on it. Alice prints what arrives.
 *
 *   compat-hello
 */
#include <arpa/inet.h>
#include <p2p.h>
#include <stdio.h>
#include <string.h>

static GUID hello_type = {0x9a0b3c51, 0x2f1e, 0x4d7a, {0x81, 0x3c, 0x5e, 0x60, 0x12, 0x77, 0xa4, 0x0d}};

/* Waits (at most ~5 s) for an event of `type`; the caller frees it. */
static PEER_GRAPH_EVENT_DATA* wait_for(HANDLE event, HPEEREVENT reg, PEER_GRAPH_EVENT_TYPE type) {
  int round;
  for (round = 0; round < 50; ++round) {
    PEER_GRAPH_EVENT_DATA* data = NULL;
    while (PeerGraphGetEventData(reg, &data) == S_OK) {
      if (data->eventType == type) return data;
      PeerGraphFreeData(data);
    }
    WaitForSingleObject(event, 100);
  }
  return NULL;
}

int main(void) {
  PEER_VERSION_DATA version;
  PEER_NODE_INFO* self = NULL;
  PEER_GRAPH_PROPERTIES props;
  PEER_GRAPH_EVENT_REGISTRATION regs[2];
  PEER_ADDRESS addr;
  PEER_GRAPH_EVENT_DATA* ev;
  WCHAR graph_id[] = L"hello-example", creator[] = L"alice";
  HGRAPH alice = NULL, bob = NULL;
  HANDLE alice_event = CreateEvent(NULL, FALSE, FALSE, NULL), bob_event = CreateEvent(NULL, FALSE, FALSE, NULL);
  HPEEREVENT alice_reg = NULL, bob_reg = NULL;
  ULONGLONG connection = 0;
  char text[] = "hello from bob";
  int rc = 1;

  if (FAILED(PeerGraphStartup(PEER_GRAPH_VERSION, &version))) return 1;
  memset(&props, 0, sizeof props);
  props.dwSize = sizeof props;
  props.dwScope = PEER_GRAPH_SCOPE_LOOPBACK;
  props.pwzGraphId = graph_id;
  props.pwzCreatorId = creator;
  props.ulPresenceLifetime = 300;
  props.cPresenceMax = (ULONG)-1;
  regs[0].eventType = PEER_GRAPH_EVENT_NEIGHBOR_CONNECTION;
  regs[0].pType = NULL;
  regs[1].eventType = PEER_GRAPH_EVENT_INCOMING_DATA;
  regs[1].pType = &hello_type;

  PeerGraphDelete(graph_id, creator, L"hello-alice.db");
  if (FAILED(PeerGraphCreate(&props, L"hello-alice.db", NULL, &alice)) ||
      FAILED(PeerGraphRegisterEvent(alice, alice_event, 2, regs, &alice_reg)) ||
      FAILED(PeerGraphListen(alice, PEER_GRAPH_SCOPE_LOOPBACK, 0, 0)) || FAILED(PeerGraphGetNodeInfo(alice, 0, &self)))
    goto done;
  if (self->cAddresses == 0) {
    PeerGraphFreeData(self);
    goto done;
  }
  addr = self->pAddresses[0];
  printf("alice listens on port %u\n", (unsigned)ntohs(addr.sin6.sin6_port));
  PeerGraphFreeData(self);
  if (FAILED(PeerGraphOpen(graph_id, L"bob", L"hello-bob.db", NULL, 0, NULL, &bob)) ||
      FAILED(PeerGraphRegisterEvent(bob, bob_event, 2, regs, &bob_reg)))
    goto done;

  if (FAILED(PeerGraphConnect(bob, NULL, &addr, &connection))) goto done;
  ev = wait_for(bob_event, bob_reg, PEER_GRAPH_EVENT_NEIGHBOR_CONNECTION);
  if (!ev || ev->connectionChangeData.status != PEER_CONNECTED ||
      ev->connectionChangeData.ullConnectionId != connection) {
    fprintf(stderr, "bob: no connection\n");
    PeerGraphFreeData(ev);
    goto done;
  }
  PeerGraphFreeData(ev);

  if (FAILED(PeerGraphSendData(bob, connection, &hello_type, sizeof text, text))) goto done;
  ev = wait_for(alice_event, alice_reg, PEER_GRAPH_EVENT_INCOMING_DATA);
  if (!ev) goto done;
  printf("alice hears: %s\n", (const char*)ev->incomingData.data.pbData);
  PeerGraphFreeData(ev);
  rc = 0;

done:
  if (rc) fprintf(stderr, "hello: failed\n");
  if (bob_reg) PeerGraphUnregisterEvent(bob_reg);
  if (alice_reg) PeerGraphUnregisterEvent(alice_reg);
  if (bob) PeerGraphClose(bob);
  if (alice) PeerGraphClose(alice);
  PeerGraphShutdown();
  CloseHandle(alice_event);
  CloseHandle(bob_event);
  return rc;
}
