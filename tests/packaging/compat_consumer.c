/* Ported code as it is written for Windows: #include <p2p.h>, built against
 * the installed peergraph-compat.pc, as C and as C++. */
#include <p2p.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  PEER_VERSION_DATA version;
  PEER_GRAPH_PROPERTIES props;
  WCHAR graph_id[] = L"packaging", creator[] = L"consumer";
  HGRAPH graph = NULL;
  DWORD status = 0;
  if (FAILED(PeerGraphStartup(PEER_GRAPH_VERSION, &version))) return 1;
  memset(&props, 0, sizeof props);
  props.dwSize = sizeof props;
  props.pwzGraphId = graph_id;
  props.pwzCreatorId = creator;
  props.ulPresenceLifetime = 300;
  if (FAILED(PeerGraphCreate(&props, L"packaging.db", NULL, &graph))) return 2;
  if (FAILED(PeerGraphListen(graph, PEER_GRAPH_SCOPE_LOOPBACK, 0, 0))) return 3;
  if (FAILED(PeerGraphGetStatus(graph, &status)) || !(status & PEER_GRAPH_STATUS_LISTENING)) return 4;
  PeerGraphClose(graph);
  PeerGraphShutdown();
  puts("p2p.h consumer: ok");
  return 0;
}
