// peergraph/protocol/presence_store.hpp: compact storage for the presence table.
//
// Every node keeps an entry for every other node of the graph, so a graph of
// N nodes holds N² entries in all; entries are kept compact. The fixed part
// is a 40-byte slot of an open-addressing table (node ids are random, so they
// are their own hash), the strings and addresses one heap block beside it;
// an entry is turned back into a presence_entry only when it is read. The
// rules (versions, creators, expiry, room) are in presence_table.hpp.
#ifndef PEERGRAPH_PROTOCOL_PRESENCE_STORE_HPP
#define PEERGRAPH_PROTOCOL_PRESENCE_STORE_HPP

#include <peergraph/protocol/header.hpp>
#include <peergraph/protocol/presence.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

namespace peergraph::protocol::detail {

struct presence_slot {
  std::uint64_t node = 0;                ///< 0: free
  std::unique_ptr<std::uint8_t[]> data;  ///< peer id, attributes, addresses (wire form, 18 bytes each)
  std::uint64_t source = 0;              ///< the link the entry was first learned from
  std::uint32_t expires = 0;
  std::uint32_t version = 0;
  std::uint16_t peer_len = 0;
  std::uint16_t attr_len = 0;
  std::uint8_t addr_count = 0;
  bool deleted = false;
  /// Learned from the node itself, on a link to it: never evicted for room.
  bool from_node = false;

  static constexpr std::size_t address_bytes = 18;

  /// What the entry costs the table: its slot and its heap block.
  std::size_t weight() const noexcept {
    return sizeof(presence_slot) + peer_len + attr_len + std::size_t{addr_count} * address_bytes;
  }
  /// The weight an entry would have once stored.
  static std::size_t weight_of(const presence_entry& e) noexcept {
    return sizeof(presence_slot) + std::min(e.peer_id.size(), max_string_size) +
           std::min(e.attributes.size(), max_attributes_size) +
           std::min(e.addresses.size(), max_presence_addresses) * address_bytes;
  }

  std::string_view peer() const noexcept {
    return data ? std::string_view(reinterpret_cast<const char*>(data.get()), peer_len) : std::string_view{};
  }

  /// Copies the content of `e` (not its version, expiry or flags).
  void set_content(const presence_entry& e) {
    const auto addrs = std::min<std::size_t>(e.addresses.size(), max_presence_addresses);
    const auto peer = std::min<std::size_t>(e.peer_id.size(), max_string_size);
    const auto attrs = std::min<std::size_t>(e.attributes.size(), max_attributes_size);
    const auto need = peer + attrs + addrs * address_bytes;
    data = need ? std::make_unique_for_overwrite<std::uint8_t[]>(need) : nullptr;
    if (need) {
      auto* p = data.get();
      std::memcpy(p, e.peer_id.data(), peer);
      std::memcpy(p + peer, e.attributes.data(), attrs);
      for (std::size_t i = 0; i < addrs; ++i) {
        auto* a = p + peer + attrs + i * address_bytes;
        std::memcpy(a, e.addresses[i].ip.data(), 16);
        a[16] = static_cast<std::uint8_t>(e.addresses[i].port >> 8);
        a[17] = static_cast<std::uint8_t>(e.addresses[i].port);
      }
    }
    peer_len = static_cast<std::uint16_t>(peer);
    attr_len = static_cast<std::uint16_t>(attrs);
    addr_count = static_cast<std::uint8_t>(addrs);
  }

  presence_entry entry(std::uint32_t lifetime_ms) const {
    presence_entry e;
    e.node_id = node;
    e.version = version;
    e.deleted = deleted;
    e.lifetime_ms = lifetime_ms;
    const auto* p = data.get();
    if (!p) return e;
    e.peer_id.assign(reinterpret_cast<const char*>(p), peer_len);
    e.attributes.assign(reinterpret_cast<const char*>(p + peer_len), attr_len);
    e.addresses.resize(addr_count);
    for (std::size_t i = 0; i < addr_count; ++i) {
      const auto* a = p + peer_len + attr_len + i * address_bytes;
      std::memcpy(e.addresses[i].ip.data(), a, 16);
      e.addresses[i].port = static_cast<std::uint16_t>((a[16] << 8) | a[17]);
    }
    return e;
  }
};

/// An open-addressing hash table of presence slots keyed by node id.
class presence_store {
 public:
  std::size_t size() const noexcept { return count_; }
  std::size_t capacity() const noexcept { return slots_.size(); }
  presence_slot& at(std::size_t i) noexcept { return slots_[i]; }
  const presence_slot& at(std::size_t i) const noexcept { return slots_[i]; }

  const presence_slot* find(std::uint64_t node) const {
    if (slots_.empty()) return nullptr;
    for (std::size_t i = home(node);; i = (i + 1) & mask()) {
      if (slots_[i].node == node) return &slots_[i];
      if (slots_[i].node == 0) return nullptr;
    }
  }
  presence_slot* find(std::uint64_t node) { return const_cast<presence_slot*>(std::as_const(*this).find(node)); }
  std::size_t index_of(const presence_slot& s) const noexcept { return static_cast<std::size_t>(&s - slots_.data()); }

  /// A new, empty slot for `node` (not present).
  presence_slot& insert(std::uint64_t node) {
    // At most 7/8 full: with random keys a probe then stays short.
    if ((count_ + 1) * 8 > slots_.size() * 7) grow();
    std::size_t i = home(node);
    while (slots_[i].node != 0) i = (i + 1) & mask();
    slots_[i].node = node;
    ++count_;
    return slots_[i];
  }

  /// Frees slot `i`. Backward-shift deletion: later entries of the same probe
  /// run move up, so lookups never need markers for erased slots; the slot at
  /// `i` may then hold another entry (a scan must look at `i` again).
  void erase_at(std::size_t i) {
    slots_[i] = presence_slot{};
    --count_;
    for (std::size_t j = (i + 1) & mask(); slots_[j].node != 0; j = (j + 1) & mask()) {
      const auto h = home(slots_[j].node);
      // Move j into the hole unless its home lies cyclically in (i, j].
      if (((j - h) & mask()) >= ((j - i) & mask())) {
        slots_[i] = std::move(slots_[j]);
        slots_[j] = presence_slot{};
        i = j;
      }
    }
  }

  void clear() noexcept {
    slots_.clear();
    count_ = 0;
  }

 private:
  std::size_t mask() const noexcept { return slots_.size() - 1; }
  std::size_t home(std::uint64_t node) const noexcept { return static_cast<std::size_t>(node ^ (node >> 29)) & mask(); }

  void grow() {
    std::vector<presence_slot> old(std::max<std::size_t>(16, slots_.size() * 2));
    old.swap(slots_);
    for (auto& s : old) {
      if (s.node == 0) continue;
      std::size_t i = home(s.node);
      while (slots_[i].node != 0) i = (i + 1) & mask();
      slots_[i] = std::move(s);
    }
  }

  std::vector<presence_slot> slots_;
  std::size_t count_ = 0;
};

}  // namespace peergraph::protocol::detail

#endif  // PEERGRAPH_PROTOCOL_PRESENCE_STORE_HPP
