/* compat_two_nodes.c: two processes talking through <p2p.h>, built against
 * the installed peergraph-compat.pc (tests/packaging/check.sh) and in the
 * build tree (the test compat-two-nodes). tests/packaging/two_nodes.sh runs
 * the two roles.
 *
 *   compat_two_nodes listen PORTFILE
 *       Alice creates the graph, listens on loopback on a port the system
 *       picks, writes that port to PORTFILE (whole, by a rename) and waits
 *       for Bob's message on a direct connection. She answers it and waits
 *       until Bob closes the connection.
 *   compat_two_nodes send PORT
 *       Bob opens the graph, connects to [::1]:PORT and waits until he has
 *       synchronized. He finds Alice by peer id with PeerGraphEnumNodes,
 *       opens a direct connection to the first address she publishes, sends
 *       the message, waits for the answer and closes everything.
 *
 * Each wait gives up after about 10 s; the exit status is 0 only if the whole
 * exchange happened. Only documented functions and the Win32 event calls.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <p2p.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static GUID two_nodes_type = {0x5c1f7e02, 0x93ab, 0x4e61, {0xb2, 0x0d, 0x7a, 0x44, 0x18, 0xc3, 0x6e, 0x95}};
static WCHAR graph_id[] = L"two-nodes";
static WCHAR creator[] = L"alice";
static char message[] = "hello alice, this is bob in another process";
static char answer[] = "hello bob";

typedef struct node {
  const char* name;
  HGRAPH graph;
  HANDLE event;
  HPEEREVENT reg;
} node;

typedef int (*event_filter)(const PEER_GRAPH_EVENT_DATA* e, const void* ctx);

static int check(const node* n, HRESULT hr, const char* what) {
  if (FAILED(hr)) fprintf(stderr, "%s: %s failed: 0x%08x\n", n->name, what, (unsigned)hr);
  return SUCCEEDED(hr);
}

static int register_events(node* n, ULONG count, PEER_GRAPH_EVENT_REGISTRATION* regs) {
  n->event = CreateEvent(NULL, FALSE, FALSE, NULL);
  if (!n->event) {
    fprintf(stderr, "%s: CreateEvent failed\n", n->name);
    return 0;
  }
  return check(n, PeerGraphRegisterEvent(n->graph, n->event, count, regs, &n->reg), "PeerGraphRegisterEvent");
}

/* Drains events until `want` accepts one, for at most ~10 s. Returns that
 * event for the caller to free, or NULL; every other event is freed here. */
static PEER_GRAPH_EVENT_DATA* wait_for(node* n, const char* what, event_filter want, const void* ctx) {
  int round;
  for (round = 0; round < 100; ++round) {
    PEER_GRAPH_EVENT_DATA* data = NULL;
    HRESULT hr;
    while ((hr = PeerGraphGetEventData(n->reg, &data)) == S_OK) {
      if (want(data, ctx)) return data;
      PeerGraphFreeData(data);
    }
    if (hr != PEER_S_NO_EVENT_DATA) {
      check(n, hr, "PeerGraphGetEventData");
      return NULL;
    }
    WaitForSingleObject(n->event, 100);
  }
  fprintf(stderr, "%s: timed out waiting for %s\n", n->name, what);
  return NULL;
}

static void close_node(node* n) {
  if (n->reg) PeerGraphUnregisterEvent(n->reg);
  if (n->graph) PeerGraphClose(n->graph);
  if (n->event) CloseHandle(n->event);
}

static int is_incoming(const PEER_GRAPH_EVENT_DATA* e, const void* ctx) {
  (void)ctx;
  return e->eventType == PEER_GRAPH_EVENT_INCOMING_DATA;
}

/* A DIRECT_CONNECTION event for the connection *ctx in any state but
 * CONNECTED (DISCONNECTED or FAILED). */
static int is_direct_closed(const PEER_GRAPH_EVENT_DATA* e, const void* ctx) {
  return e->eventType == PEER_GRAPH_EVENT_DIRECT_CONNECTION &&
         e->connectionChangeData.ullConnectionId == *(const ULONGLONG*)ctx &&
         e->connectionChangeData.status != PEER_CONNECTED;
}

/* The DIRECT_CONNECTION event that ends the attempt *ctx (CONNECTED or FAILED). */
static int is_direct_result(const PEER_GRAPH_EVENT_DATA* e, const void* ctx) {
  return e->eventType == PEER_GRAPH_EVENT_DIRECT_CONNECTION &&
         e->connectionChangeData.ullConnectionId == *(const ULONGLONG*)ctx;
}

/* SYNCHRONIZED in a STATUS_CHANGED event, or the failure of the neighbor
 * connection *ctx. */
static int is_synchronized_or_failed(const PEER_GRAPH_EVENT_DATA* e, const void* ctx) {
  if (e->eventType == PEER_GRAPH_EVENT_NEIGHBOR_CONNECTION)
    return e->connectionChangeData.ullConnectionId == *(const ULONGLONG*)ctx &&
           e->connectionChangeData.status == PEER_CONNECTION_FAILED;
  return e->eventType == PEER_GRAPH_EVENT_STATUS_CHANGED && (e->dwStatus & PEER_GRAPH_STATUS_SYNCHRONIZED) != 0;
}

static int is_node_changed(const PEER_GRAPH_EVENT_DATA* e, const void* ctx) {
  (void)ctx;
  return e->eventType == PEER_GRAPH_EVENT_NODE_CHANGED;
}

static int write_port(const char* path, unsigned port) {
  char tmp[4096];
  FILE* f;
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) return 0;
  f = fopen(tmp, "w");
  if (!f) return 0;
  if (fprintf(f, "%u\n", port) < 0) {
    fclose(f);
    return 0;
  }
  if (fclose(f) != 0) return 0;
  return rename(tmp, path) == 0;
}

static int run_listen(const char* portfile) {
  node alice = {"alice", NULL, NULL, NULL};
  PEER_GRAPH_PROPERTIES props;
  PEER_GRAPH_EVENT_REGISTRATION regs[2];
  PEER_NODE_INFO* self = NULL;
  PEER_GRAPH_EVENT_DATA* ev;
  ULONGLONG direct;
  unsigned port;
  int rc = 1;

  memset(&props, 0, sizeof props);
  props.dwSize = sizeof props;
  props.dwScope = PEER_GRAPH_SCOPE_LOOPBACK;
  props.pwzGraphId = graph_id;
  props.pwzCreatorId = creator;
  props.ulPresenceLifetime = 300;
  props.cPresenceMax = (ULONG)-1; /* publish presence, so that Bob finds Alice by peer id */
  /* Direct connections are accepted only by a registration that takes both. */
  regs[0].eventType = PEER_GRAPH_EVENT_DIRECT_CONNECTION;
  regs[0].pType = NULL;
  regs[1].eventType = PEER_GRAPH_EVENT_INCOMING_DATA;
  regs[1].pType = &two_nodes_type;

  if (!check(&alice, PeerGraphCreate(&props, L"two-nodes-alice.db", NULL, &alice.graph), "PeerGraphCreate") ||
      !register_events(&alice, 2, regs) ||
      !check(&alice, PeerGraphListen(alice.graph, PEER_GRAPH_SCOPE_LOOPBACK, 0, 0), "PeerGraphListen") ||
      !check(&alice, PeerGraphGetNodeInfo(alice.graph, 0, &self), "PeerGraphGetNodeInfo"))
    goto done;
  if (self->cAddresses == 0) {
    fprintf(stderr, "alice: PeerGraphGetNodeInfo gives no address\n");
    PeerGraphFreeData(self);
    goto done;
  }
  port = ntohs(self->pAddresses[0].sin6.sin6_port);
  PeerGraphFreeData(self);
  if (!write_port(portfile, port)) {
    fprintf(stderr, "alice: cannot write %s\n", portfile);
    goto done;
  }
  printf("alice: listening on port %u\n", port);
  fflush(stdout);

  ev = wait_for(&alice, "the message", is_incoming, NULL);
  if (!ev) goto done;
  if (ev->incomingData.data.cbData != sizeof message ||
      memcmp(ev->incomingData.data.pbData, message, sizeof message) != 0 ||
      memcmp(&ev->incomingData.type, &two_nodes_type, sizeof two_nodes_type) != 0) {
    fprintf(stderr, "alice: unexpected data (%lu bytes)\n", (unsigned long)ev->incomingData.data.cbData);
    PeerGraphFreeData(ev);
    goto done;
  }
  direct = ev->incomingData.ullConnectionId;
  printf("alice hears: %s\n", (const char*)ev->incomingData.data.pbData);
  fflush(stdout);
  PeerGraphFreeData(ev);
  if (!check(&alice, PeerGraphSendData(alice.graph, direct, &two_nodes_type, sizeof answer, answer),
             "PeerGraphSendData"))
    goto done;
  /* Stay until Bob has the answer and closes the connection. */
  ev = wait_for(&alice, "the direct connection to close", is_direct_closed, &direct);
  if (!ev) goto done;
  PeerGraphFreeData(ev);
  printf("alice: direct connection closed\n");
  rc = 0;

done:
  close_node(&alice);
  return rc;
}

/* Finds Alice by peer id, exactly as ported code does, and opens a direct
 * connection to the first address she publishes. Returns 1 when done, 0 when
 * the graph does not know an address of hers yet, -1 on failure. */
static int open_direct_to_alice(node* bob, ULONGLONG* direct) {
  HPEERENUM en = NULL;
  PEER_NODE_INFO** nodes = NULL;
  ULONG count = 0;
  int result = 0;
  if (!check(bob, PeerGraphEnumNodes(bob->graph, L"alice", &en), "PeerGraphEnumNodes")) return -1;
  if (!check(bob, PeerGraphGetItemCount(en, &count), "PeerGraphGetItemCount")) {
    PeerGraphEndEnumeration(en);
    return -1;
  }
  if (count > 0) {
    if (!check(bob, PeerGraphGetNextItem(en, &count, (PVOID**)&nodes), "PeerGraphGetNextItem")) {
      result = -1;
    } else {
      if (count > 0 && nodes[0]->cAddresses > 0)
        result = check(bob, PeerGraphOpenDirectConnection(bob->graph, L"alice", &nodes[0]->pAddresses[0], direct),
                       "PeerGraphOpenDirectConnection")
                     ? 1
                     : -1;
      PeerGraphFreeData(nodes);
    }
  }
  PeerGraphEndEnumeration(en);
  return result;
}

static int run_send(const char* port_text) {
  node bob = {"bob", NULL, NULL, NULL};
  PEER_GRAPH_EVENT_REGISTRATION regs[5];
  PEER_ADDRESS addr;
  PEER_GRAPH_EVENT_DATA* ev;
  ULONGLONG neighbor = 0, direct = 0;
  char* end = NULL;
  unsigned long port = strtoul(port_text, &end, 10);
  int attempt, opened = 0, rc = 1;

  if (!*port_text || *end || port == 0 || port > 65535) {
    fprintf(stderr, "bob: bad port '%s'\n", port_text);
    return 2;
  }
  regs[0].eventType = PEER_GRAPH_EVENT_STATUS_CHANGED;
  regs[1].eventType = PEER_GRAPH_EVENT_NEIGHBOR_CONNECTION;
  regs[2].eventType = PEER_GRAPH_EVENT_DIRECT_CONNECTION;
  regs[3].eventType = PEER_GRAPH_EVENT_INCOMING_DATA;
  regs[4].eventType = PEER_GRAPH_EVENT_NODE_CHANGED;
  regs[0].pType = regs[1].pType = regs[2].pType = regs[4].pType = NULL;
  regs[3].pType = &two_nodes_type;

  memset(&addr, 0, sizeof addr);
  addr.dwSize = sizeof addr;
  addr.sin6.sin6_family = AF_INET6;
  addr.sin6.sin6_addr = in6addr_loopback;
  addr.sin6.sin6_port = htons((unsigned short)port);

  if (!check(&bob, PeerGraphOpen(graph_id, L"bob", L"two-nodes-bob.db", NULL, 0, NULL, &bob.graph), "PeerGraphOpen") ||
      !register_events(&bob, 5, regs) ||
      !check(&bob, PeerGraphConnect(bob.graph, L"alice", &addr, &neighbor), "PeerGraphConnect"))
    goto done;
  ev = wait_for(&bob, "synchronization", is_synchronized_or_failed, &neighbor);
  if (!ev) goto done;
  if (ev->eventType != PEER_GRAPH_EVENT_STATUS_CHANGED) {
    fprintf(stderr, "bob: connection to [::1]:%lu failed: 0x%08x\n", port,
            (unsigned)ev->connectionChangeData.hrConnectionFailedReason);
    PeerGraphFreeData(ev);
    goto done;
  }
  PeerGraphFreeData(ev);
  printf("bob: connected to [::1]:%lu and synchronized\n", port);

  /* Alice's presence carries an address once she has a neighbor; it may
   * reach Bob just after his synchronization, as a NODE_CHANGED event. */
  for (attempt = 0; attempt < 20 && !opened; ++attempt) {
    opened = open_direct_to_alice(&bob, &direct);
    if (opened < 0) goto done;
    if (!opened) {
      ev = wait_for(&bob, "Alice's presence", is_node_changed, NULL);
      if (!ev) break;
      PeerGraphFreeData(ev);
    }
  }
  if (!opened) {
    fprintf(stderr, "bob: PeerGraphEnumNodes finds no address of alice\n");
    goto done;
  }
  ev = wait_for(&bob, "the direct connection", is_direct_result, &direct);
  if (!ev) goto done;
  if (ev->connectionChangeData.status != PEER_CONNECTED) {
    fprintf(stderr, "bob: direct connection failed: 0x%08x\n",
            (unsigned)ev->connectionChangeData.hrConnectionFailedReason);
    PeerGraphFreeData(ev);
    goto done;
  }
  PeerGraphFreeData(ev);
  printf("bob: direct connection to alice\n");

  if (!check(&bob, PeerGraphSendData(bob.graph, direct, &two_nodes_type, sizeof message, message), "PeerGraphSendData"))
    goto done;
  ev = wait_for(&bob, "the answer", is_incoming, NULL);
  if (!ev) goto done;
  if (ev->incomingData.ullConnectionId != direct || ev->incomingData.data.cbData != sizeof answer ||
      memcmp(ev->incomingData.data.pbData, answer, sizeof answer) != 0) {
    fprintf(stderr, "bob: unexpected answer\n");
    PeerGraphFreeData(ev);
    goto done;
  }
  printf("bob hears: %s\n", (const char*)ev->incomingData.data.pbData);
  PeerGraphFreeData(ev);
  if (!check(&bob, PeerGraphCloseDirectConnection(bob.graph, direct), "PeerGraphCloseDirectConnection")) goto done;
  rc = 0;

done:
  close_node(&bob);
  return rc;
}

int main(int argc, char** argv) {
  PEER_VERSION_DATA version;
  int rc;
  if (argc != 3 || (strcmp(argv[1], "listen") != 0 && strcmp(argv[1], "send") != 0)) {
    fprintf(stderr, "usage: %s listen PORTFILE | send PORT\n", argv[0]);
    return 2;
  }
  if (FAILED(PeerGraphStartup(PEER_GRAPH_VERSION, &version))) {
    fprintf(stderr, "PeerGraphStartup failed\n");
    return 1;
  }
  rc = strcmp(argv[1], "listen") == 0 ? run_listen(argv[2]) : run_send(argv[2]);
  if (FAILED(PeerGraphShutdown())) {
    fprintf(stderr, "PeerGraphShutdown failed\n");
    rc = 1;
  }
  if (rc) fprintf(stderr, "compat_two_nodes %s: failed\n", argv[1]);
  return rc;
}
