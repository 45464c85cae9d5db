// Test support for the <p2p.h> shim: waiting for events the documented way.
#ifndef PEERGRAPH_TESTS_COMPAT_SUPPORT_HPP
#define PEERGRAPH_TESTS_COMPAT_SUPPORT_HPP

#include <peergraph/config.hpp>

#include <p2p.h>

#include <arpa/inet.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <chrono>
#include <cstring>
#include <functional>
#include <vector>

namespace compat_test {

/// Startup in the constructor, Shutdown in the destructor.
struct session {
  PEER_VERSION_DATA version{};
  HRESULT started = PeerGraphStartup(PEER_GRAPH_VERSION, &version);
  ~session() {
    if (SUCCEEDED(started)) PeerGraphShutdown();
  }
};

/// A TCP port that was free a moment ago (until node information gives the
/// port a port-0 listen picked).
inline WORD free_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::address_v6::loopback(), 0));
  return a.local_endpoint().port();
}

inline PEER_ADDRESS loopback(WORD port) {
  PEER_ADDRESS a{};
  a.dwSize = sizeof a;
  a.sin6.sin6_family = AF_INET6;
  a.sin6.sin6_port = htons(port);
  a.sin6.sin6_addr = in6addr_loopback;
  return a;
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
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
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
    PEER_GRAPH_EVENT_REGISTRATION r[] = {{PEER_GRAPH_EVENT_STATUS_CHANGED, nullptr},
                                         {PEER_GRAPH_EVENT_NEIGHBOR_CONNECTION, nullptr},
                                         {PEER_GRAPH_EVENT_DIRECT_CONNECTION, nullptr},
                                         {PEER_GRAPH_EVENT_INCOMING_DATA, nullptr},
                                         {PEER_GRAPH_EVENT_NODE_CHANGED, nullptr},
                                         {PEER_GRAPH_EVENT_CONNECTION_REQUIRED, nullptr}};
    return PeerGraphRegisterEvent(graph, event, 6, r, &reg);
  }
  bool wait(const std::function<bool(const PEER_GRAPH_EVENT_DATA&)>& pred) { return wait_for(event, reg, pred); }
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

}  // namespace compat_test

#endif  // PEERGRAPH_TESTS_COMPAT_SUPPORT_HPP
