// src/compat/node_api.cpp: EnumNodes, GetNodeInfo, SetNodeAttributes,
// SetPresence; reading an enumeration (GetItemCount, GetNextItem,
// EndEnumeration) and PeerGraphFreeData.
#include "block.hpp"
#include "convert.hpp"
#include "runtime.hpp"
#include <peergraph/compat/p2p.h>
#include <peergraph/graph.hpp>
#include <peergraph/protocol/presence.hpp>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>

using peergraph::compat::call;
using peergraph::compat::runtime;
namespace pgc = peergraph::compat;

extern "C" {

HRESULT PeerGraphEnumNodes(HGRAPH hGraph, PCWSTR pwzPeerId, HPEERENUM* phPeerEnum) {
  return call([&]() -> HRESULT {
    auto& rt = runtime::get();
    auto ge = rt.graphs.find(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    std::optional<std::string> peer;
    if (!phPeerEnum || (pwzPeerId && !(peer = pgc::id_arg(pwzPeerId)))) return E_INVALIDARG;
    auto& g = ge->graph;
    // Presence arrives by synchronization; before it the list would mislead.
    if (!g.status().is_synchronized()) return pgc::to_hr(peergraph::errc::graph_not_ready);
    auto en = std::make_shared<pgc::enumeration>();
    auto nodes = peer ? g.nodes(std::string_view(*peer)) : g.nodes();
    en->items.reserve(nodes.size());
    for (auto& n : nodes) en->items.emplace_back(std::move(n));
    *phPeerEnum = rt.enumerations.add(std::move(en));
    return S_OK;
  });
}

HRESULT PeerGraphGetNodeInfo(HGRAPH hGraph, ULONGLONG ullNodeId, PPEER_NODE_INFO* ppNodeInfo) {
  return call([&]() -> HRESULT {
    auto ge = runtime::get().graphs.find(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    if (!ppNodeInfo) return E_INVALIDARG;
    *ppNodeInfo = nullptr;
    std::error_code ec;
    const auto info = ge->graph.node_info(ullNodeId, ec);
    if (ec) return pgc::to_hr(ec);
    auto* block = pgc::make_block([&](pgc::block_writer& w) { pgc::place(w, info); });
    if (!block) return E_OUTOFMEMORY;
    *ppNodeInfo = static_cast<PEER_NODE_INFO*>(block);
    return S_OK;
  });
}

HRESULT PeerGraphSetNodeAttributes(HGRAPH hGraph, PCWSTR pwzAttributes) {
  return call([&]() -> HRESULT {
    auto ge = runtime::get().graphs.find(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    constexpr auto max_size = peergraph::protocol::max_attributes_size;
    std::string attributes;  // NULL clears
    if (pwzAttributes) {
      if (pgc::wide_length(pwzAttributes, max_size) > max_size) return E_INVALIDARG;
      auto u = pgc::to_utf8(pwzAttributes);
      if (!u) return E_INVALIDARG;
      attributes = std::move(*u);
    }
    std::error_code ec;
    ge->graph.set_node_attributes(std::move(attributes), ec);  // E_INVALIDARG above 4096 bytes of UTF-8
    return pgc::to_hr(ec);
  });
}

HRESULT PeerGraphSetPresence(HGRAPH hGraph, BOOL fPresent) {
  return call([&]() -> HRESULT {
    auto ge = runtime::get().graphs.find(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    ge->graph.set_presence(fPresent != FALSE);  // throws only for a closed graph, which has no handle
    return S_OK;
  });
}

HRESULT PeerGraphGetItemCount(HPEERENUM hPeerEnum, ULONG* pCount) {
  return call([&]() -> HRESULT {
    auto en = runtime::get().enumerations.find(hPeerEnum);
    if (!en || !pCount) return E_INVALIDARG;
    *pCount = static_cast<ULONG>(en->items.size());
    return S_OK;
  });
}

HRESULT PeerGraphGetNextItem(HPEERENUM hPeerEnum, ULONG* pCount, PVOID** pppvItems) {
  return call([&]() -> HRESULT {
    auto en = runtime::get().enumerations.find(hPeerEnum);
    if (!en || !pCount || !pppvItems) return E_INVALIDARG;
    const std::size_t n = std::min<std::size_t>(*pCount, en->items.size() - en->next);
    *pppvItems = nullptr;
    *pCount = 0;
    if (n == 0) return S_OK;
    // The array and its items in one block: one PeerGraphFreeData on the array frees all.
    auto* block = pgc::make_block([&](pgc::block_writer& w) {
      auto** array = w.take<PVOID>(n);
      for (std::size_t i = 0; i < n; ++i) {
        void* item = std::visit([&](const auto& v) -> void* { return pgc::place(w, v); }, en->items[en->next + i]);
        if (array) array[i] = item;
      }
    });
    if (!block) return E_OUTOFMEMORY;
    en->next += n;
    *pppvItems = static_cast<PVOID*>(block);
    *pCount = static_cast<ULONG>(n);
    return S_OK;
  });
}

HRESULT PeerGraphEndEnumeration(HPEERENUM hPeerEnum) {
  return call([&]() -> HRESULT { return runtime::get().enumerations.take(hPeerEnum) ? S_OK : E_INVALIDARG; });
}

VOID PeerGraphFreeData(PVOID pvData) { std::free(pvData); }

}  // extern "C"
