// peergraph/protocol/presence_table.hpp: the presence list of one node.
//
// Sans-I/O: no clock is read here; every call that depends on time takes
// `now` (any monotonic millisecond count), so the rules are tested with plain
// numbers. The node engine (detail/node/presence_engine.hpp) feeds it what
// arrives in FLOOD messages and floods on what apply() says.
//
// Rules:
// - an entry is identified by its node id and ordered by its version; an
//   entry whose version is not above the stored one is stale and ignored
//   (this is what stops a flood from circulating: each node forwards a given
//   version once);
// - a live entry expires at `now + lifetime`; on expiry, and when a deleted
//   entry arrives, it becomes a tombstone that keeps its version for
//   `tombstone_hold`, so a stale copy still travelling cannot bring the node
//   back; only a higher version can;
// - the table holds at most `max_entries` entries (tombstones included); when
//   full, the oldest tombstone makes room, and if there is none a new node is
//   rejected (not stored, not forwarded).
//
// Storage: every node keeps an entry for every other node of the graph, so a
// graph of N nodes holds N² entries in all; entries are kept compact. The
// fixed part is a 32-byte slot of an open-addressing table (node ids are
// random, so they are their own hash), the strings and addresses one heap
// block beside it; an entry is turned back into a presence_entry only when
// it is read.
#ifndef PEERGRAPH_PROTOCOL_PRESENCE_TABLE_HPP
#define PEERGRAPH_PROTOCOL_PRESENCE_TABLE_HPP

#include <peergraph/protocol/presence.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace peergraph::protocol {

class presence_table {
 public:
  using time_point = std::chrono::milliseconds;

  struct limits {
    std::size_t max_entries = 10'000;
    /// How long a tombstone (deleted or expired entry) is kept.
    std::chrono::milliseconds tombstone_hold{300'000};
    /// Longest lifetime accepted from the wire; longer ones are cut to this.
    std::chrono::milliseconds max_lifetime{3'600'000};
  };

  /// What apply() did with an entry.
  enum class result {
    added,      ///< a node not present before is now present
    updated,    ///< a newer version of a present node
    removed,    ///< a present node withdrew its presence (deleted entry)
    tombstone,  ///< a newer deleted entry for a node not present (kept, forwarded)
    stale,      ///< not newer than what is stored: ignored, not forwarded
    rejected,   ///< the table is full, or a live entry without lifetime
    /// Names another peer id (the record's creator) than the stored entry of
    /// that node: an update must keep its Creator ID ([MS-PPGRH] 3.1.7.8).
    wrong_creator,
  };

  struct outcome {
    result what = result::stale;
    /// For `updated`: the addresses, attributes or peer id differ.
    bool content_changed = false;
    /// For `updated` and `removed`: the entry as it was.
    std::optional<presence_entry> previous;
    /// True when the entry must be forwarded to the other neighbors.
    bool forward() const noexcept {
      return what == result::added || what == result::updated || what == result::removed || what == result::tombstone;
    }
  };

  presence_table() = default;
  explicit presence_table(limits l) : limits_(l) {}

  void set_limits(limits l) noexcept { limits_ = l; }
  const limits& get_limits() const noexcept { return limits_; }

  /// Takes in an entry received at `now`.
  outcome apply(const presence_entry& e, time_point now) {
    if (!epoch_) epoch_ = now;
    outcome out;
    if ((!e.deleted && e.lifetime_ms == 0) || e.node_id == 0) {
      out.what = result::rejected;
      return out;
    }
    slot* s = lookup(e.node_id);
    if (!s) {
      if (count_ >= limits_.max_entries && !evict_tombstone()) {
        out.what = result::rejected;
        return out;
      }
      s = &insert(e.node_id);
      store(*s, e, now);
      if (!e.deleted) ++live_;
      out.what = e.deleted ? result::tombstone : result::added;
      return out;
    }
    if (e.version <= s->version) return out;  // stale
    if (const auto known = peer_of(*s); !known.empty() && known != e.peer_id) {
      out.what = result::wrong_creator;
      return out;
    }
    const bool was_live = !s->deleted;
    if (was_live) out.previous = entry_of(*s, 0);
    if (e.deleted)
      out.what = was_live ? result::removed : result::tombstone;
    else if (was_live) {
      out.what = result::updated;
      out.content_changed = out.previous->addresses != e.addresses || out.previous->attributes != e.attributes ||
                            out.previous->peer_id != e.peer_id;
    } else
      out.what = result::added;
    if (was_live && e.deleted) --live_;
    if (!was_live && !e.deleted) ++live_;
    store(*s, e, now);
    return out;
  }

  /// Turns live entries whose lifetime is over into tombstones and forgets
  /// tombstones whose hold is over. Returns the entries that stopped being
  /// present, as they were. Costs nothing until the earliest expiry is due.
  std::vector<presence_entry> expire(time_point now) {
    std::vector<presence_entry> gone;
    if (count_ == 0 || stamp(now) < earliest_) return gone;
    std::uint32_t next = never;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      auto& s = slots_[i];
      if (s.node == 0 || s.expires > stamp(now)) {
        if (s.node != 0) next = std::min(next, s.expires);
        continue;
      }
      if (s.deleted) {
        erase_at(i);
        --i;  // erase_at shifted a later entry into this slot
        continue;
      }
      auto e = entry_of(s, 0);
      gone.push_back(e);
      // The tombstone keeps who it was (a record on the wire always names
      // its peer), not where it listened or what it said.
      e.deleted = true;
      e.addresses.clear();
      e.attributes.clear();
      store(s, e, now);
      next = std::min(next, s.expires);
      --live_;
    }
    earliest_ = next;
    return gone;
  }

  /// The present entry for `node`.
  std::optional<presence_entry> find(std::uint64_t node) const {
    const slot* s = lookup(node);
    if (!s || s->deleted) return std::nullopt;
    return entry_of(*s, 0);
  }

  /// A copy of every entry (tombstones included when `with_tombstones`), with
  /// `lifetime_ms` set to what remains at `now`: what a node sends to sync a
  /// neighbor.
  std::vector<presence_entry> snapshot(time_point now, bool with_tombstones) const {
    std::vector<presence_entry> out;
    out.reserve(with_tombstones ? count_ : live_);
    for (const auto& s : slots_)
      if (s.node != 0 && (with_tombstones || !s.deleted)) out.push_back(entry_of(s, remaining(s, now)));
    return out;
  }

  /// The entry for `node` as it should be forwarded at `now` (remaining lifetime).
  std::optional<presence_entry> for_forwarding(std::uint64_t node, time_point now) const {
    const slot* s = lookup(node);
    if (!s) return std::nullopt;
    return entry_of(*s, remaining(*s, now));
  }

  /// Present entries whose node id is below `node`.
  std::size_t count_live_below(std::uint64_t node) const {
    std::size_t n = 0;
    for (const auto& s : slots_)
      if (s.node != 0 && !s.deleted && s.node < node) ++n;
    return n;
  }

  /// Calls `f(const presence_entry&)` for every present entry; the entry is
  /// made for the call and does not outlive it.
  template <typename F>
  void for_each_live(F&& f) const {
    for (const auto& s : slots_)
      if (s.node != 0 && !s.deleted) f(entry_of(s, 0));
  }

  /// Present nodes.
  std::size_t live() const noexcept { return live_; }
  /// Entries held, tombstones included.
  std::size_t size() const noexcept { return count_; }

  void clear() noexcept {
    slots_.clear();
    count_ = live_ = 0;
    earliest_ = never;
  }

 private:
  // Expiry times are stored as milliseconds, 32 bits wide, counted from the
  // `now` of the first apply() (about 49 days of range).
  static constexpr std::uint32_t never = std::numeric_limits<std::uint32_t>::max();

  struct slot {
    std::uint64_t node = 0;                ///< 0: free
    std::unique_ptr<std::uint8_t[]> data;  ///< peer id, attributes, addresses (wire form, 18 bytes each)
    std::uint32_t expires = 0;
    std::uint32_t version = 0;
    std::uint16_t peer_len = 0;
    std::uint16_t attr_len = 0;
    std::uint8_t addr_count = 0;
    bool deleted = false;
  };
  static constexpr std::size_t address_bytes = 18;

  std::uint32_t stamp(time_point t) const {
    const auto d = (t - epoch_.value_or(t)).count();
    return static_cast<std::uint32_t>(std::clamp<std::int64_t>(d, 0, never - 1));
  }
  std::int64_t time_of(std::uint32_t s) const { return (epoch_ ? epoch_->count() : 0) + s; }

  std::uint32_t remaining(const slot& s, time_point now) const {
    const auto left = time_of(s.expires) - now.count();
    if (left <= 0) return s.deleted ? 0 : 1;
    return static_cast<std::uint32_t>(std::min<std::int64_t>(left, UINT32_MAX));
  }

  void store(slot& s, const presence_entry& e, time_point now) {
    const auto addrs = std::min<std::size_t>(e.addresses.size(), max_presence_addresses);
    const auto peer = std::min<std::size_t>(e.peer_id.size(), max_string_size);
    const auto attrs = std::min<std::size_t>(e.attributes.size(), max_attributes_size);
    const auto need = peer + attrs + addrs * address_bytes;
    s.data = need ? std::make_unique_for_overwrite<std::uint8_t[]>(need) : nullptr;
    auto* p = s.data.get();
    if (need) {
      std::memcpy(p, e.peer_id.data(), peer);
      std::memcpy(p + peer, e.attributes.data(), attrs);
      for (std::size_t i = 0; i < addrs; ++i) {
        auto* a = p + peer + attrs + i * address_bytes;
        std::memcpy(a, e.addresses[i].ip.data(), 16);
        a[16] = static_cast<std::uint8_t>(e.addresses[i].port >> 8);
        a[17] = static_cast<std::uint8_t>(e.addresses[i].port);
      }
    }
    s.peer_len = static_cast<std::uint16_t>(peer);
    s.attr_len = static_cast<std::uint16_t>(attrs);
    s.addr_count = static_cast<std::uint8_t>(addrs);
    s.version = e.version;
    s.deleted = e.deleted;
    const auto life =
        e.deleted ? limits_.tombstone_hold : std::min(std::chrono::milliseconds(e.lifetime_ms), limits_.max_lifetime);
    s.expires = stamp(now + life);
    earliest_ = std::min(earliest_, s.expires);
  }

  static std::string_view peer_of(const slot& s) noexcept {
    return s.data ? std::string_view(reinterpret_cast<const char*>(s.data.get()), s.peer_len) : std::string_view{};
  }

  presence_entry entry_of(const slot& s, std::uint32_t lifetime_ms) const {
    presence_entry e;
    e.node_id = s.node;
    e.version = s.version;
    e.deleted = s.deleted;
    e.lifetime_ms = lifetime_ms;
    const auto* p = s.data.get();
    if (!p) return e;
    e.peer_id.assign(reinterpret_cast<const char*>(p), s.peer_len);
    e.attributes.assign(reinterpret_cast<const char*>(p + s.peer_len), s.attr_len);
    e.addresses.resize(s.addr_count);
    for (std::size_t i = 0; i < s.addr_count; ++i) {
      const auto* a = p + s.peer_len + s.attr_len + i * address_bytes;
      std::memcpy(e.addresses[i].ip.data(), a, 16);
      e.addresses[i].port = static_cast<std::uint16_t>((a[16] << 8) | a[17]);
    }
    return e;
  }

  // ------------------------------------------------------------ the open-addressing table

  std::size_t mask() const noexcept { return slots_.size() - 1; }
  std::size_t home(std::uint64_t node) const noexcept { return static_cast<std::size_t>(node ^ (node >> 29)) & mask(); }

  const slot* lookup(std::uint64_t node) const {
    if (slots_.empty()) return nullptr;
    for (std::size_t i = home(node);; i = (i + 1) & mask()) {
      if (slots_[i].node == node) return &slots_[i];
      if (slots_[i].node == 0) return nullptr;
    }
  }
  slot* lookup(std::uint64_t node) { return const_cast<slot*>(std::as_const(*this).lookup(node)); }

  // At most 7/8 full: with random keys a probe then stays short.
  slot& insert(std::uint64_t node) {
    if ((count_ + 1) * 8 > slots_.size() * 7) grow();
    std::size_t i = home(node);
    while (slots_[i].node != 0) i = (i + 1) & mask();
    slots_[i].node = node;
    ++count_;
    return slots_[i];
  }

  void grow() {
    std::vector<slot> old(std::max<std::size_t>(16, slots_.size() * 2));
    old.swap(slots_);
    for (auto& s : old) {
      if (s.node == 0) continue;
      std::size_t i = home(s.node);
      while (slots_[i].node != 0) i = (i + 1) & mask();
      slots_[i] = std::move(s);
    }
  }

  // Backward-shift deletion: later entries of the same probe run move up,
  // so lookups never need markers for erased slots.
  void erase_at(std::size_t i) {
    slots_[i] = slot{};
    --count_;
    for (std::size_t j = (i + 1) & mask(); slots_[j].node != 0; j = (j + 1) & mask()) {
      const auto h = home(slots_[j].node);
      // Move j into the hole unless its home lies cyclically in (i, j].
      if (((j - h) & mask()) >= ((j - i) & mask())) {
        slots_[i] = std::move(slots_[j]);
        slots_[j] = slot{};
        i = j;
      }
    }
  }

  bool evict_tombstone() {
    std::size_t victim = slots_.size();
    for (std::size_t i = 0; i < slots_.size(); ++i)
      if (slots_[i].node != 0 && slots_[i].deleted &&
          (victim == slots_.size() || slots_[i].expires < slots_[victim].expires))
        victim = i;
    if (victim == slots_.size()) return false;
    erase_at(victim);
    return true;
  }

  limits limits_;
  std::vector<slot> slots_;
  std::size_t count_ = 0;
  std::size_t live_ = 0;
  std::optional<time_point> epoch_;
  std::uint32_t earliest_ = never;
};

}  // namespace peergraph::protocol

#endif  // PEERGRAPH_PROTOCOL_PRESENCE_TABLE_HPP
