// peergraph/detail/node/maintenance.hpp: keeping a node at its neighbor target, free of I/O.
//
// Decides which nodes known from presence to dial when the node has fewer
// neighbors than graph_options::target_neighbors, and follows the referrals
// of a BUSY refusal (at most max_referral_hops in a row). It only appends
// dials to `actions`; graph_impl starts them and reports back through
// dial_done().
#ifndef PEERGRAPH_DETAIL_NODE_MAINTENANCE_HPP
#define PEERGRAPH_DETAIL_NODE_MAINTENANCE_HPP

#include <peergraph/detail/addresses.hpp>
#include <peergraph/detail/node/actions.hpp>
#include <peergraph/detail/node/node_state.hpp>
#include <peergraph/protocol/handshake_messages.hpp>
#include <peergraph/protocol/presence_table.hpp>

#include <algorithm>
#include <chrono>
#include <random>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace peergraph::detail::node {

class maintenance {
 public:
  using ms = std::chrono::milliseconds;

  /// True when the periodic check is due at `now`.
  bool due(const node_state& st, ms now) const noexcept { return now - last_ >= st.options().maintenance_interval; }

  /// Tops the neighbor count up to the target with nodes known from presence.
  void maintain(node_state& st, const protocol::presence_table& table, ms now, actions& out) {
    last_ = now;
    if (st.closed() || !st.options().auto_connect) return;
    const auto have = st.neighbor_count() + pending_;
    const auto target = st.options().target_neighbors;
    if (have >= target) return;
    // for_each_live() lends each entry for the call only: keep copies.
    std::vector<protocol::presence_entry> candidates;
    table.for_each_live([&](const protocol::presence_entry& e) {
      if (e.addresses.empty() || st.has_neighbor(e.node_id) || dialing_.count(e.node_id)) return;
      if (st.is_neighbor_address(to_endpoint(e.addresses.front()))) return;
      candidates.push_back(e);
    });
    std::shuffle(candidates.begin(), candidates.end(), st.rng());
    const auto want = std::min(target - have, candidates.size());
    for (std::size_t i = 0; i < want; ++i) {
      const auto& e = candidates[i];
      dialing_.insert(e.node_id);
      dial(st, to_endpoint(e.addresses.front()), e.peer_id, e.node_id, 0, out);
    }
  }

  /// A neighbor link that never got established has ended; if it was refused
  /// BUSY with referrals, follow one of them.
  void on_refused(node_state& st, connection_id id, const protocol::refuse& r, const std::vector<endpoint>& mine,
                  actions& out) {
    const auto it = hops_.find(id);
    const std::size_t done = it == hops_.end() ? 0 : it->second;
    if (st.closed() || !st.options().auto_connect || r.code != protocol::refuse_code::busy || r.referrals.empty() ||
        done >= st.options().max_referral_hops)
      return;
    std::vector<endpoint> usable;
    for (const auto& a : r.referrals) {
      const auto ep = to_endpoint(a);
      if (!st.is_neighbor_address(ep) && std::find(mine.begin(), mine.end(), ep) == mine.end()) usable.push_back(ep);
    }
    if (usable.empty()) return;
    const auto ep = usable[std::uniform_int_distribution<std::size_t>(0, usable.size() - 1)(st.rng())];
    ++st.stats().referrals_followed;
    dial(st, ep, std::nullopt, 0, done + 1, out);
  }

  /// A dial this piece asked for has completed, either way.
  void dial_done(connection_id id, node_id node) {
    if (pending_ > 0) --pending_;
    dialing_.erase(node);
    hops_.erase(id);
  }

  std::size_t pending() const noexcept { return pending_; }

 private:
  void dial(node_state& st, const endpoint& ep, std::optional<std::string> peer, node_id node, std::size_t hops,
            actions& out) {
    ++st.stats().auto_connects;
    ++pending_;
    actions::dial d{ep, std::move(peer), node, hops, st.new_connection_id()};
    if (hops > 0) hops_[d.id] = hops;
    out.start_dial(std::move(d));
  }

  ms last_{};
  std::size_t pending_ = 0;
  std::unordered_set<node_id> dialing_;
  std::unordered_map<connection_id, std::size_t> hops_;
};

}  // namespace peergraph::detail::node

#endif  // PEERGRAPH_DETAIL_NODE_MAINTENANCE_HPP
