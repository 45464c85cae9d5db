// peergraph/protocol/presence_table.hpp: the presence list of one node.
//
// Sans-I/O: no clock is read here; every call that depends on time takes
// `now` (any monotonic millisecond count), so the rules are tested with plain
// numbers. The node engine (detail/node/presence_engine.hpp) feeds it what arrives in FLOOD
// messages and floods on what apply() says.
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
#ifndef PEERGRAPH_PROTOCOL_PRESENCE_TABLE_HPP
#define PEERGRAPH_PROTOCOL_PRESENCE_TABLE_HPP

#include <peergraph/protocol/presence.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <unordered_map>
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
  };

  struct outcome {
    result what = result::stale;
    /// For `updated`: the addresses, attributes or peer id differ.
    bool content_changed = false;
    /// For `updated` and `removed`: the entry as it was.
    std::optional<presence_entry> previous;
    /// True when the entry must be forwarded to the other neighbors.
    bool forward() const noexcept {
      return what == result::added || what == result::updated || what == result::removed ||
             what == result::tombstone;
    }
  };

  presence_table() = default;
  explicit presence_table(limits l) : limits_(l) {}

  void set_limits(limits l) noexcept { limits_ = l; }
  const limits& get_limits() const noexcept { return limits_; }

  /// Takes in an entry received at `now`.
  outcome apply(const presence_entry& e, time_point now) {
    outcome out;
    if (!e.deleted && e.lifetime_ms == 0) {
      out.what = result::rejected;
      return out;
    }
    auto it = records_.find(e.node_id);
    if (it == records_.end()) {
      if (records_.size() >= limits_.max_entries && !evict_tombstone()) {
        out.what = result::rejected;
        return out;
      }
      records_.emplace(e.node_id, record{e, expiry(e, now)});
      if (!e.deleted) ++live_;
      out.what = e.deleted ? result::tombstone : result::added;
      return out;
    }
    auto& r = it->second;
    if (e.version <= r.entry.version) return out;  // stale
    const bool was_live = !r.entry.deleted;
    if (was_live) out.previous = r.entry;
    if (e.deleted)
      out.what = was_live ? result::removed : result::tombstone;
    else if (was_live) {
      out.what = result::updated;
      out.content_changed = r.entry.addresses != e.addresses || r.entry.attributes != e.attributes ||
                            r.entry.peer_id != e.peer_id;
    } else
      out.what = result::added;
    if (was_live && e.deleted) --live_;
    if (!was_live && !e.deleted) ++live_;
    r.entry = e;
    r.expires = expiry(e, now);
    return out;
  }

  /// Turns live entries whose lifetime is over into tombstones and forgets
  /// tombstones whose hold is over. Returns the entries that stopped being
  /// present, as they were.
  std::vector<presence_entry> expire(time_point now) {
    std::vector<presence_entry> gone;
    for (auto it = records_.begin(); it != records_.end();) {
      auto& r = it->second;
      if (r.expires > now) {
        ++it;
        continue;
      }
      if (r.entry.deleted) {
        it = records_.erase(it);
        continue;
      }
      gone.push_back(r.entry);
      r.entry.deleted = true;
      r.entry.attributes.clear();
      r.entry.addresses.clear();
      r.expires = now + limits_.tombstone_hold;
      --live_;
      ++it;
    }
    return gone;
  }

  /// The present entry for `node`, or nullptr.
  const presence_entry* find(std::uint64_t node) const {
    auto it = records_.find(node);
    return it == records_.end() || it->second.entry.deleted ? nullptr : &it->second.entry;
  }

  /// A copy of every entry (tombstones included when `with_tombstones`), with
  /// `lifetime_ms` set to what remains at `now`: what a node sends to sync a
  /// neighbor.
  std::vector<presence_entry> snapshot(time_point now, bool with_tombstones) const {
    std::vector<presence_entry> out;
    out.reserve(records_.size());
    for (const auto& [id, r] : records_) {
      if (r.entry.deleted && !with_tombstones) continue;
      out.push_back(r.entry);
      out.back().lifetime_ms = remaining(r, now);
    }
    return out;
  }

  /// The entry for `node` as it should be forwarded at `now` (remaining lifetime).
  std::optional<presence_entry> for_forwarding(std::uint64_t node, time_point now) const {
    auto it = records_.find(node);
    if (it == records_.end()) return std::nullopt;
    auto e = it->second.entry;
    e.lifetime_ms = remaining(it->second, now);
    return e;
  }

  /// Present entries whose node id is below `node`.
  std::size_t count_live_below(std::uint64_t node) const {
    std::size_t n = 0;
    for (const auto& [id, r] : records_)
      if (!r.entry.deleted && id < node) ++n;
    return n;
  }

  template <typename F>
  void for_each_live(F&& f) const {
    for (const auto& [id, r] : records_)
      if (!r.entry.deleted) f(r.entry);
  }

  /// Present nodes.
  std::size_t live() const noexcept { return live_; }
  /// Entries held, tombstones included.
  std::size_t size() const noexcept { return records_.size(); }

  void clear() noexcept {
    records_.clear();
    live_ = 0;
  }

 private:
  struct record {
    presence_entry entry;
    time_point expires;
  };

  time_point expiry(const presence_entry& e, time_point now) const {
    if (e.deleted) return now + limits_.tombstone_hold;
    return now + std::min(std::chrono::milliseconds(e.lifetime_ms), limits_.max_lifetime);
  }

  static std::uint32_t remaining(const record& r, time_point now) {
    const auto left = (r.expires - now).count();
    if (left <= 0) return r.entry.deleted ? 0 : 1;
    return static_cast<std::uint32_t>(std::min<std::int64_t>(left, UINT32_MAX));
  }

  bool evict_tombstone() {
    auto victim = records_.end();
    for (auto it = records_.begin(); it != records_.end(); ++it)
      if (it->second.entry.deleted && (victim == records_.end() || it->second.expires < victim->second.expires))
        victim = it;
    if (victim == records_.end()) return false;
    records_.erase(victim);
    return true;
  }

  limits limits_;
  std::unordered_map<std::uint64_t, record> records_;
  std::size_t live_ = 0;
};

}  // namespace peergraph::protocol

#endif // PEERGRAPH_PROTOCOL_PRESENCE_TABLE_HPP
