// src/compat/data_api.cpp: OpenDirectConnection, SendData,
// CloseDirectConnection, EnumConnections.
#include "block.hpp"
#include "convert.hpp"
#include "runtime.hpp"
#include <peergraph/compat/p2p.h>
#include <peergraph/graph.hpp>

#include <cstdint>
#include <memory>
#include <system_error>
#include <utility>
#include <vector>

using peergraph::compat::call;
using peergraph::compat::runtime;
namespace pgc = peergraph::compat;

extern "C" {

HRESULT PeerGraphOpenDirectConnection(HGRAPH hGraph, PCWSTR pwzPeerId, PPEER_ADDRESS pAddress,
                                      ULONGLONG* pullConnectionId) {
  return call([&]() -> HRESULT {
    auto ge = runtime::get().graphs.find(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    const auto peer = pgc::id_arg(pwzPeerId);
    const auto ep = pgc::from_peer_address(pAddress);
    if (!peer || !ep || !pullConnectionId) return E_INVALIDARG;
    auto& g = ge->graph;
    peergraph::connect_options opts;
    opts.id = g.new_connection_id();
    *pullConnectionId = opts.id;
    // The outcome reaches the application as DIRECT_CONNECTION events only.
    g.open_direct(*peer, *ep, std::move(opts), [](std::error_code, peergraph::graph::connection_type) {});
    return S_OK;
  });
}

HRESULT PeerGraphSendData(HGRAPH hGraph, ULONGLONG ullConnectionId, const GUID* pType, ULONG cbData, PVOID pvData) {
  return call([&]() -> HRESULT {
    auto ge = runtime::get().graphs.find(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    // A message above the maximum would be refused by the core's send, whose
    // completion the shim does not wait for; it is refused here instead.
    if (!pType || (cbData > 0 && !pvData) || cbData > ge->graph.options().max_message_size) return E_INVALIDARG;
    auto c = ge->graph.find_connection(ullConnectionId);
    if (!c.is_open()) return PEER_E_CONNECTION_NOT_FOUND;
    const auto* bytes = static_cast<const std::uint8_t*>(pvData);
    std::vector<std::uint8_t> payload(bytes, bytes + cbData);
    // Queued before send() returns (the documented "handed to the network
    // layer"); the completion only says when the queue has room again.
    c.send(pgc::from_win(*pType), std::move(payload), [](std::error_code) {});
    return S_OK;
  });
}

HRESULT PeerGraphCloseDirectConnection(HGRAPH hGraph, ULONGLONG ullConnectionId) {
  return call([&]() -> HRESULT {
    auto ge = runtime::get().graphs.find(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    auto& g = ge->graph;
    const auto c = g.find_connection(ullConnectionId);
    if (!c.is_open() || c.kind() != peergraph::connection_kind::direct) return PEER_E_CONNECTION_NOT_FOUND;
    g.close_direct(ullConnectionId, [](std::error_code) {});
    return S_OK;
  });
}

HRESULT PeerGraphEnumConnections(HGRAPH hGraph, DWORD dwFlags, HPEERENUM* phPeerEnum) {
  return call([&]() -> HRESULT {
    auto& rt = runtime::get();
    auto ge = rt.graphs.find(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    constexpr DWORD both = PEER_CONNECTION_NEIGHBOR | PEER_CONNECTION_DIRECT;
    if (!phPeerEnum || dwFlags == 0 || (dwFlags & ~both)) return E_INVALIDARG;
    auto en = std::make_shared<pgc::enumeration>();
    for (auto& c : ge->graph.connections()) {
      const DWORD flag =
          c.kind == peergraph::connection_kind::direct ? PEER_CONNECTION_DIRECT : PEER_CONNECTION_NEIGHBOR;
      if (dwFlags & flag) en->items.emplace_back(std::move(c));
    }
    *phPeerEnum = rt.enumerations.add(std::move(en));
    return S_OK;
  });
}

}  // extern "C"
