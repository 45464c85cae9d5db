// peergraph/detail/node/presence_engine.hpp: presence publishing, flooding and synchronization, free of I/O.
//
// Keeps the presence table (protocol/presence_table.hpp) and this node's own
// presence. Every input takes `now` (steady milliseconds) and appends what
// must be sent or reported to `actions`; see docs/presence.md for the rules.
#ifndef PEERGRAPH_DETAIL_NODE_PRESENCE_ENGINE_HPP
#define PEERGRAPH_DETAIL_NODE_PRESENCE_ENGINE_HPP

#include <peergraph/detail/addresses.hpp>
#include <peergraph/detail/node/actions.hpp>
#include <peergraph/detail/node/node_state.hpp>
#include <peergraph/events.hpp>
#include <peergraph/protocol/presence.hpp>
#include <peergraph/protocol/presence_table.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace peergraph::detail::node {

using ms = std::chrono::milliseconds;

/// Floods `f` to every established neighbor except `except` (0: none).
inline void flood(node_state& st, const protocol::flood& f, connection_id except, actions& out) {
  std::size_t targets = 0;
  st.for_each_neighbor([&](const link_summary& l) { targets += l.id != except; });
  if (targets == 0) return;
  st.stats().floods_sent += targets;
  out.send_to_neighbors(except, [&](std::vector<std::uint8_t>& b) { protocol::encode(f, b); });
}

class presence_engine {
 public:
  explicit presence_engine(const node_state& st) { update_limits(st); }

  const protocol::presence_table& table() const noexcept { return table_; }
  const std::string& attributes() const noexcept { return attributes_; }
  bool published() const noexcept { return published_; }

  /// The lifetime of a presence record under the graph's properties.
  static ms lifetime(const node_state& st) noexcept {
    return ms(std::max<std::uint64_t>(st.properties().presence_lifetime_s, 1) * 1000);
  }

  void update_limits(const node_state& st) {
    protocol::presence_table::limits l;
    l.max_entries = std::max<std::size_t>(st.options().max_presence_entries, 1);
    l.max_bytes = st.options().max_presence_bytes;
    // A tombstone outlives every copy of the entry still in flight.
    l.tombstone_hold = lifetime(st);
    l.max_lifetime = std::max(lifetime(st), ms(3'600'000));
    table_.set_limits(l);
  }

  // ------------------------------------------------------------ the local node

  void set_attributes(std::string attrs) { attributes_ = std::move(attrs); }
  void force(bool present) noexcept { forced_ = present; }

  /// Publishes, re-publishes or withdraws this node's presence as the
  /// policy, its addresses and its attributes require. `periodic`:
  /// re-publish even if nothing changed (the lifetime refresh).
  void refresh(node_state& st, ms now, bool periodic, actions& out) {
    if (st.closed()) return;
    if (should_publish(st)) {
      auto addrs = st.presence_addresses(protocol::max_presence_addresses);
      if (published_ && !periodic && addrs == published_addresses_ && attributes_ == published_attributes_) return;
      ++version_;
      published_ = true;
      published_addresses_ = std::move(addrs);
      published_attributes_ = attributes_;
      last_publish_ = now;
      flood(st, protocol::flood{false, own_entry(st, false)}, 0, out);
    } else if (published_) {
      withdraw(st, out);
    }
  }

  /// Floods the withdrawal of this node's presence, if it is published.
  void withdraw(node_state& st, actions& out) {
    if (!published_) return;
    ++version_;
    published_ = false;
    flood(st, protocol::flood{false, own_entry(st, true)}, 0, out);
  }

  /// The properties changed (a newer graph information record).
  void properties_changed(node_state& st, bool lifetime_changed, bool max_changed, ms now, actions& out) {
    update_limits(st);
    if (lifetime_changed || max_changed) refresh(st, now, lifetime_changed && published_, out);
  }

  // ------------------------------------------------------------ the wire

  /// A presence record arrived from link `from` (in a flood, or in answer
  /// to this node's solicit when `sync`).
  void on_record(node_state& st, connection_id from, const protocol::presence_entry& e, bool sync, ms now,
                 actions& out) {
    if (sync)
      ++st.stats().sync_records_received;
    else
      ++st.stats().floods_received;
    if (e.node_id == st.id()) return;  // this node's own record, come back
    const auto* link = st.find_link(from);
    auto r = table_.apply(e, now, {from, link && link->remote_node == e.node_id});
    using res = protocol::presence_table::result;
    // Nodes dropped to make room are gone for this node: say so.
    for (auto& gone : r.evicted) {
      ++st.stats().presence_evicted;
      out.emit(node_changed_event{node_change::disconnected, to_info(gone)});
    }
    if (r.what == res::rejected || r.what == res::no_room) {
      ++st.stats().presence_rejected;
      return;
    }
    if (r.what == res::wrong_creator) {
      ++st.stats().records_refused;
      return;
    }
    if (!r.forward()) return;
    if (!sync) ++st.stats().floods_useful;
    if (auto fwd = table_.for_forwarding(e.node_id, now)) flood(st, protocol::flood{false, std::move(*fwd)}, from, out);
    switch (r.what) {
      case res::added:
        out.emit(node_changed_event{node_change::connected, to_info(e)});
        break;
      case res::updated:
        if (r.content_changed) out.emit(node_changed_event{node_change::updated, to_info(e)});
        break;
      case res::removed:
        out.emit(node_changed_event{node_change::disconnected, to_info(*r.previous)});
        break;
      default:
        break;
    }
    if (st.properties().presence_max > 0 && (r.what == res::added || r.what == res::removed))
      refresh(st, now, false, out);
  }

  /// The presence part of a synchronization for a neighbor is this node's
  /// own record (append_own_sync), then every present record and the
  /// recent tombstones, one at a time (append_sync_record) over sync_order().
  void append_own_sync(node_state& st, std::vector<std::uint8_t>& bytes) const {
    if (version_ == 0) return;
    protocol::encode(protocol::flood{true, own_entry(st, !published_)}, bytes);
    ++st.stats().sync_records_sent;
  }
  std::vector<std::uint64_t> sync_order(ms now) const { return table_.sync_ids(now); }
  /// Appends the record of `node` as it is at `now`, if it is still held.
  void append_sync_record(node_state& st, std::uint64_t node, ms now, std::vector<std::uint8_t>& bytes) const {
    auto e = table_.for_forwarding(node, now);
    if (!e) return;
    protocol::encode(protocol::flood{true, std::move(*e)}, bytes);
    ++st.stats().sync_records_sent;
  }

  // ------------------------------------------------------------ time

  /// Expires records and refreshes this node's presence when due.
  void tick(node_state& st, ms now, actions& out) {
    auto gone = table_.expire(now);
    for (auto& e : gone) out.emit(node_changed_event{node_change::disconnected, to_info(e)});
    if (published_ && now - last_publish_ >= lifetime(st) / 2)
      refresh(st, now, true, out);
    else if (st.properties().presence_max > 0 || !gone.empty())
      refresh(st, now, false, out);
  }

  // ------------------------------------------------------------ queries

  /// The nodes known through presence (the local one included while it
  /// publishes), by node id; only those of `peer` if given.
  std::vector<node_info> nodes(const node_state& st, std::optional<std::string_view> peer) const {
    std::vector<node_info> out;
    auto take = [&](const protocol::presence_entry& e) {
      if (!peer || e.peer_id == *peer) out.push_back(to_info(e));
    };
    if (st.closed()) return out;
    if (published_) take(own_entry(st, false));
    table_.for_each_live(take);
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return out;
  }

  static node_info to_info(const protocol::presence_entry& e) {
    return node_info{e.node_id, e.peer_id, to_endpoints(e.addresses), e.attributes};
  }

 private:
  bool should_publish(const node_state& st) const {
    const auto max = st.properties().presence_max;
    if (forced_ || max < 0) return true;
    if (max == 0) return false;
    return table_.count_live_below(st.id()) < static_cast<std::size_t>(max);
  }

  protocol::presence_entry own_entry(const node_state& st, bool deleted) const {
    protocol::presence_entry e;
    e.node_id = st.id();
    e.peer_id = st.peer_id();
    e.version = version_;
    e.deleted = deleted;
    e.lifetime_ms = static_cast<std::uint32_t>(lifetime(st).count());
    if (!deleted) {
      e.addresses = to_wire(published_addresses_);
      e.attributes = attributes_;
    }
    return e;
  }

  protocol::presence_table table_;
  std::uint32_t version_ = 0;
  bool published_ = false;
  bool forced_ = false;
  std::string attributes_;
  std::string published_attributes_;
  std::vector<endpoint> published_addresses_;
  ms last_publish_{};
};

}  // namespace peergraph::detail::node

#endif  // PEERGRAPH_DETAIL_NODE_PRESENCE_ENGINE_HPP
