// src/compat/block.hpp: what the API hands out, each in one allocation.
//
// Event data with its payload, properties with their strings, node
// information with its addresses, an item array with its items: each is one
// malloc'd block, released by one PeerGraphFreeData on the returned pointer.
// A block is laid out by running the same placement twice: once to measure,
// once to write, so that sizes and positions cannot disagree.
#ifndef PEERGRAPH_SRC_COMPAT_BLOCK_HPP
#define PEERGRAPH_SRC_COMPAT_BLOCK_HPP

#include "convert.hpp"
#include <peergraph/compat/p2p.h>
#include <peergraph/options.hpp>
#include <peergraph/types.hpp>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>
#include <variant>
#include <vector>

namespace peergraph::compat {

/// Places objects one after another in a block; without a block it only measures.
class block_writer {
 public:
  block_writer() = default;
  explicit block_writer(unsigned char* base) noexcept : base_(base) {}

  /// True while measuring: the pointers returned are null, nothing may be written.
  bool measuring() const noexcept { return base_ == nullptr; }
  std::size_t size() const noexcept { return size_; }

  /// Room for `n` objects of type T (zeroed); null while measuring.
  template <typename T>
  T* take(std::size_t n = 1) noexcept {
    size_ = (size_ + alignof(T) - 1) / alignof(T) * alignof(T);
    T* p = base_ ? reinterpret_cast<T*>(base_ + size_) : nullptr;
    size_ += n * sizeof(T);
    return p;
  }

  /// A NUL-terminated copy of `s`.
  PWSTR wide(const std::wstring& s) noexcept {
    auto* p = take<wchar_t>(s.size() + 1);
    if (p) std::memcpy(p, s.c_str(), (s.size() + 1) * sizeof(wchar_t));
    return p;
  }

 private:
  unsigned char* base_ = nullptr;
  std::size_t size_ = 0;
};

/// Runs `place(block_writer&)` to measure, allocates, then runs it again to
/// write. Returns the block (what the first take() gave), or null when out of memory.
template <typename Place>
void* make_block(Place&& place) {
  block_writer measure;
  place(measure);
  auto* base = static_cast<unsigned char*>(std::calloc(1, measure.size() ? measure.size() : 1));
  if (!base) return nullptr;
  block_writer write(base);
  place(write);
  return base;
}

inline PEER_CONNECTION_INFO* place(block_writer& w, const connection_info& c) {
  auto* info = w.take<PEER_CONNECTION_INFO>();
  auto* peer = w.wide(from_utf8(c.peer_id));
  if (w.measuring()) return nullptr;
  info->dwSize = sizeof(PEER_CONNECTION_INFO);
  info->dwFlags = c.kind == connection_kind::direct ? PEER_CONNECTION_DIRECT : PEER_CONNECTION_NEIGHBOR;
  info->ullConnectionId = c.id;
  info->ullNodeId = c.node;
  info->pwzPeerId = peer;
  info->address = to_peer_address(c.address);
  return info;
}

/// Also what PeerGraphGetNodeInfo returns. An empty attribute string is a
/// NULL pwzAttributes, as for a node that never set any.
inline PEER_NODE_INFO* place(block_writer& w, const node_info& n) {
  auto* info = w.take<PEER_NODE_INFO>();
  auto* addresses = n.addresses.empty() ? nullptr : w.take<PEER_ADDRESS>(n.addresses.size());
  auto* peer = w.wide(from_utf8(n.peer_id));
  auto* attributes = n.attributes.empty() ? nullptr : w.wide(from_utf8(n.attributes));
  if (w.measuring()) return nullptr;
  info->dwSize = sizeof(PEER_NODE_INFO);
  info->ullNodeId = n.id;
  info->pwzPeerId = peer;
  info->cAddresses = static_cast<ULONG>(n.addresses.size());
  info->pAddresses = addresses;
  for (std::size_t i = 0; i < n.addresses.size(); ++i) addresses[i] = to_peer_address(n.addresses[i]);
  info->pwzAttributes = attributes;
  return info;
}

/// Empty strings are NULL pointers, as for properties that were never set.
inline PEER_GRAPH_PROPERTIES* place(block_writer& w, const graph_properties& p) {
  auto* out = w.take<PEER_GRAPH_PROPERTIES>();
  auto optional_text = [&](const std::string& s) { return s.empty() ? nullptr : w.wide(from_utf8(s)); };
  auto* graph_id = w.wide(from_utf8(p.graph_id));
  auto* creator = optional_text(p.creator_id);
  auto* friendly = optional_text(p.friendly_name);
  auto* comment = optional_text(p.comment);
  if (w.measuring()) return nullptr;
  out->dwSize = sizeof(PEER_GRAPH_PROPERTIES);
  out->dwFlags = p.flags;
  out->dwScope = static_cast<DWORD>(p.scope);
  out->dwMaxRecordSize = p.max_record_size;
  out->pwzGraphId = graph_id;
  out->pwzCreatorId = creator;
  out->pwzFriendlyName = friendly;
  out->pwzComment = comment;
  out->ulPresenceLifetime = p.presence_lifetime_s;
  out->cPresenceMax = static_cast<ULONG>(p.presence_max);
  return out;
}

/// An HPEERENUM: a snapshot of connections or nodes, read in order.
struct enumeration {
  std::vector<std::variant<connection_info, node_info>> items;
  std::size_t next = 0;
};

}  // namespace peergraph::compat

#endif  // PEERGRAPH_SRC_COMPAT_BLOCK_HPP
