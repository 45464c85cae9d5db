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
// - room: the table holds at most `max_entries` entries (tombstones included)
//   weighing at most `max_bytes`. Each entry is charged to its source, the
//   link it was first learned from. When a new entry does not fit, the oldest
//   tombstones go first; then, if the newcomer's source is not the heaviest
//   one, entries of the heaviest source go (those closest to expiry first).
//   A source that is already the heaviest gets its newcomer rejected (not
//   stored, not forwarded). So one link that floods made-up nodes can take
//   the room it finds free, never the room of what other links brought, and
//   a node announcing itself on its own link always gets in.
//
// Cost: an entry is found in O(1); a rejection is O(log s) for s sources;
// victims are picked by a scan that serves a batch of evictions (a 16th of
// the table), so making room is amortized O(1) per entry.
#ifndef PEERGRAPH_PROTOCOL_PRESENCE_TABLE_HPP
#define PEERGRAPH_PROTOCOL_PRESENCE_TABLE_HPP

#include <peergraph/protocol/presence.hpp>
#include <peergraph/protocol/presence_store.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace peergraph::protocol {

/// Where a presence entry came from.
struct presence_origin {
  /// The link it arrived on (any number that identifies the link).
  std::uint64_t link = 0;
  /// The entry is the remote node's own, on its link to this node.
  bool from_node = false;
};

class presence_table {
 public:
  using time_point = std::chrono::milliseconds;

  struct limits {
    std::size_t max_entries = 10'000;
    /// How long a tombstone (deleted or expired entry) is kept.
    std::chrono::milliseconds tombstone_hold{300'000};
    /// Longest lifetime accepted from the wire; longer ones are cut to this.
    std::chrono::milliseconds max_lifetime{3'600'000};
    /// Most bytes the entries take (each: about 40 bytes, plus its strings
    /// and 18 bytes per address).
    std::size_t max_bytes = 4 * 1024 * 1024;
    /// A synchronization answer carries the tombstones younger than this,
    /// at most max_sync_tombstones of them (the newest): enough to stop a
    /// copy still travelling, without sending a new link the whole history
    /// of churn.
    std::chrono::milliseconds sync_tombstone_window{10'000};
    std::size_t max_sync_tombstones = 64;
  };

  /// Where an entry came from.
  using origin = presence_origin;

  /// What apply() did with an entry.
  enum class result {
    added,      ///< a node not present before is now present
    updated,    ///< a newer version of a present node
    removed,    ///< a present node withdrew its presence (deleted entry)
    tombstone,  ///< a newer deleted entry for a node not present (kept, forwarded)
    stale,      ///< not newer than what is stored: ignored, not forwarded
    rejected,   ///< a live entry without lifetime, or node id 0
    /// No room: the table is full and the entry's source already holds the
    /// largest share of it.
    no_room,
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
    /// Entries dropped to make room that were present (not tombstones).
    std::vector<presence_entry> evicted;
    /// True when the entry must be forwarded to the other neighbors.
    bool forward() const noexcept {
      return what == result::added || what == result::updated || what == result::removed || what == result::tombstone;
    }
  };

  presence_table() = default;
  explicit presence_table(limits l) : limits_(l) {}

  void set_limits(limits l) noexcept { limits_ = l; }
  const limits& get_limits() const noexcept { return limits_; }

  /// Takes in an entry received at `now` from `from`.
  outcome apply(const presence_entry& e, time_point now, origin from = {}) {
    if (!epoch_) epoch_ = now;
    outcome out;
    if ((!e.deleted && e.lifetime_ms == 0) || e.node_id == 0) {
      out.what = result::rejected;
      return out;
    }
    slot* s = store_.find(e.node_id);
    if (!s) {
      if (!make_room(slot::weight_of(e), true, from, 0, out)) {
        out.what = result::no_room;
        return out;
      }
      s = &store_.insert(e.node_id);
      s->source = from.link;
      s->from_node = from.from_node;
      store(*s, e, now, true);
      if (!e.deleted) ++live_;
      out.what = e.deleted ? result::tombstone : result::added;
      return out;
    }
    if (e.version <= s->version) return out;  // stale
    if (const auto known = s->peer(); !known.empty() && known != e.peer_id) {
      out.what = result::wrong_creator;
      return out;
    }
    if (const auto w = slot::weight_of(e); w > s->weight()) {
      if (!make_room(w - s->weight(), false, from, e.node_id, out)) {
        out.what = result::no_room;
        return out;
      }
      s = store_.find(e.node_id);  // making room may have moved it
    }
    if (from.from_node && !s->from_node) {
      // The node itself vouches for the entry from now on: charge it there.
      charge(*s, false);
      s->source = from.link;
      s->from_node = true;
      charge(*s, true);
    }
    const bool was_live = !s->deleted;
    if (was_live) out.previous = s->entry(0);
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
    if (store_.size() == 0 || stamp(now) < earliest_) return gone;
    std::uint32_t next = never;
    for (std::size_t i = 0; i < store_.capacity(); ++i) {
      auto& s = store_.at(i);
      if (s.node == 0 || s.expires > stamp(now)) {
        if (s.node != 0) next = std::min(next, s.expires);
        continue;
      }
      if (s.deleted) {
        erase_at(i);
        --i;  // erase_at shifted a later entry into this slot
        continue;
      }
      auto e = s.entry(0);
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
    const slot* s = store_.find(node);
    if (!s || s->deleted) return std::nullopt;
    return s->entry(0);
  }

  /// A copy of every entry (tombstones included when `with_tombstones`), with
  /// `lifetime_ms` set to what remains at `now`: what a node sends to sync a
  /// neighbor.
  std::vector<presence_entry> snapshot(time_point now, bool with_tombstones) const {
    std::vector<presence_entry> out;
    out.reserve(with_tombstones ? store_.size() : live_);
    for (std::size_t i = 0; i < store_.capacity(); ++i)
      if (const auto& s = store_.at(i); s.node != 0 && (with_tombstones || !s.deleted))
        out.push_back(s.entry(remaining(s, now)));
    return out;
  }

  /// What a synchronization answer carries at `now`: every present entry,
  /// then the recent tombstones (limits::sync_tombstone_window and
  /// max_sync_tombstones), newest first.
  std::vector<std::uint64_t> sync_ids(time_point now) const {
    std::vector<std::uint64_t> out;
    out.reserve(live_);
    std::vector<std::pair<std::uint32_t, std::uint64_t>> recent;  // (expires, node)
    // A tombstone's expiry is its deletion time plus the hold.
    const auto window = std::min(limits_.sync_tombstone_window, limits_.tombstone_hold);
    const std::int64_t young_after = now.count() - window.count() + limits_.tombstone_hold.count();
    for (std::size_t i = 0; i < store_.capacity(); ++i) {
      const auto& s = store_.at(i);
      if (s.node == 0) continue;
      if (!s.deleted)
        out.push_back(s.node);
      else if (time_of(s.expires) > young_after)
        recent.emplace_back(s.expires, s.node);
    }
    const auto keep = std::min(recent.size(), limits_.max_sync_tombstones);
    std::partial_sort(recent.begin(), recent.begin() + static_cast<std::ptrdiff_t>(keep), recent.end(),
                      [](const auto& a, const auto& b) { return a.first > b.first; });
    for (std::size_t i = 0; i < keep; ++i) out.push_back(recent[i].second);
    return out;
  }

  /// The entry for `node` as it should be forwarded at `now` (remaining lifetime).
  std::optional<presence_entry> for_forwarding(std::uint64_t node, time_point now) const {
    const slot* s = store_.find(node);
    if (!s) return std::nullopt;
    return s->entry(remaining(*s, now));
  }

  /// Present entries whose node id is below `node`.
  std::size_t count_live_below(std::uint64_t node) const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < store_.capacity(); ++i)
      if (const auto& s = store_.at(i); s.node != 0 && !s.deleted && s.node < node) ++n;
    return n;
  }

  /// Calls `f(const presence_entry&)` for every present entry; the entry is
  /// made for the call and does not outlive it.
  template <typename F>
  void for_each_live(F&& f) const {
    for (std::size_t i = 0; i < store_.capacity(); ++i)
      if (const auto& s = store_.at(i); s.node != 0 && !s.deleted) f(s.entry(0));
  }

  /// Present nodes.
  std::size_t live() const noexcept { return live_; }
  /// Entries held, tombstones included.
  std::size_t size() const noexcept { return store_.size(); }
  /// What the entries weigh (limits::max_bytes).
  std::size_t bytes() const noexcept { return bytes_; }
  /// What the entries learned from `link` weigh.
  std::size_t bytes_from(std::uint64_t link) const {
    const auto it = by_source_.find(link);
    return it == by_source_.end() ? 0 : it->second;
  }

  void clear() noexcept {
    store_.clear();
    live_ = bytes_ = 0;
    by_source_.clear();
    heaviest_.clear();
    tomb_victims_.clear();
    source_victims_.clear();
    earliest_ = never;
  }

 private:
  using slot = detail::presence_slot;

  // Expiry times are stored as milliseconds, 32 bits wide, counted from the
  // `now` of the first apply() (about 49 days of range).
  static constexpr std::uint32_t never = std::numeric_limits<std::uint32_t>::max();

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

  // `fresh`: a slot just inserted, not charged yet.
  void store(slot& s, const presence_entry& e, time_point now, bool fresh = false) {
    if (!fresh) charge(s, false);
    s.set_content(e);
    charge(s, true);
    s.version = e.version;
    s.deleted = e.deleted;
    const auto life =
        e.deleted ? limits_.tombstone_hold : std::min(std::chrono::milliseconds(e.lifetime_ms), limits_.max_lifetime);
    s.expires = stamp(now + life);
    earliest_ = std::min(earliest_, s.expires);
  }

  void erase_at(std::size_t i) {
    charge(store_.at(i), false);
    store_.erase_at(i);
  }

  // ------------------------------------------------------------ room

  // Adds (or takes back) what `s` weighs to the table and to its source.
  void charge(const slot& s, bool add) {
    const auto w = s.weight();
    auto& per = by_source_[s.source];
    heaviest_.erase({per, s.source});
    per = add ? per + w : per - w;
    bytes_ = add ? bytes_ + w : bytes_ - w;
    if (per == 0)
      by_source_.erase(s.source);
    else
      heaviest_.insert({per, s.source});
  }

  bool full(std::size_t need, bool adds) const noexcept {
    return (adds && store_.size() + 1 > limits_.max_entries) || bytes_ + need > limits_.max_bytes;
  }

  // Frees room for `need` more bytes (and one more entry when `adds`),
  // keeping `keep`. False when the rules say the newcomer does not get in.
  bool make_room(std::size_t need, bool adds, origin from, std::uint64_t keep, outcome& out) {
    if (need > limits_.max_bytes) return false;
    while (full(need, adds)) {
      if (store_.size() > live_ && evict_tombstone(keep)) continue;
      if (heaviest_.empty()) return false;
      const auto heaviest = heaviest_.rbegin()->second;
      if (heaviest == from.link && !from.from_node) return false;
      if (!evict_from(heaviest, keep, out)) return false;
    }
    return true;
  }

  std::size_t batch() const noexcept { return std::max<std::size_t>(16, store_.size() / 16); }

  // Keeps in `victims` the node ids of the `batch()` candidates that expire
  // first, the first to go at the back.
  template <typename Pred>
  void pick(std::vector<std::pair<std::uint32_t, std::uint64_t>>& victims, Pred&& candidate) const {
    victims.clear();
    for (std::size_t i = 0; i < store_.capacity(); ++i)
      if (const auto& s = store_.at(i); s.node != 0 && candidate(s)) victims.emplace_back(s.expires, s.node);
    const auto k = std::min(batch(), victims.size());
    std::nth_element(victims.begin(), victims.begin() + static_cast<std::ptrdiff_t>(k), victims.end());
    victims.resize(k);
    std::sort(victims.begin(), victims.end(), std::greater<>{});
  }

  bool evict_tombstone(std::uint64_t keep) {
    auto candidate = [&](const slot& s) { return s.deleted && s.node != keep; };
    for (int round = 0; round < 2; ++round) {
      while (!tomb_victims_.empty()) {
        const auto node = tomb_victims_.back().second;
        tomb_victims_.pop_back();
        if (const slot* s = store_.find(node); s && candidate(*s)) {
          erase_at(store_.index_of(*s));
          return true;
        }
      }
      if (round == 0) pick(tomb_victims_, candidate);
    }
    return false;
  }

  bool evict_from(std::uint64_t source, std::uint64_t keep, outcome& out) {
    auto candidate = [&](const slot& s) { return s.source == source && !s.from_node && s.node != keep; };
    if (source_victims_of_ != source) source_victims_.clear();
    source_victims_of_ = source;
    for (int round = 0; round < 2; ++round) {
      while (!source_victims_.empty()) {
        const auto node = source_victims_.back().second;
        source_victims_.pop_back();
        if (const slot* s = store_.find(node); s && candidate(*s)) {
          if (!s->deleted) {
            out.evicted.push_back(s->entry(0));
            --live_;
          }
          erase_at(store_.index_of(*s));
          return true;
        }
      }
      if (round == 0) pick(source_victims_, candidate);
    }
    return false;
  }

  limits limits_;
  detail::presence_store store_;
  std::size_t live_ = 0;
  std::size_t bytes_ = 0;
  std::map<std::uint64_t, std::size_t> by_source_;            // source -> weight
  std::set<std::pair<std::size_t, std::uint64_t>> heaviest_;  // (weight, source)
  std::vector<std::pair<std::uint32_t, std::uint64_t>> tomb_victims_;
  std::vector<std::pair<std::uint32_t, std::uint64_t>> source_victims_;
  std::uint64_t source_victims_of_ = 0;
  std::optional<time_point> epoch_;
  std::uint32_t earliest_ = never;
};

}  // namespace peergraph::protocol

#endif  // PEERGRAPH_PROTOCOL_PRESENCE_TABLE_HPP
