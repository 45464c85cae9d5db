// peergraph/detail/node/responder_policy.hpp: what a node answers a valid CONNECT.
#ifndef PEERGRAPH_DETAIL_NODE_RESPONDER_POLICY_HPP
#define PEERGRAPH_DETAIL_NODE_RESPONDER_POLICY_HPP

#include <peergraph/detail/addresses.hpp>
#include <peergraph/detail/node/node_state.hpp>
#include <peergraph/protocol/handshake_messages.hpp>
#include <peergraph/protocol/presence_table.hpp>

#include <algorithm>
#include <optional>
#include <vector>

namespace peergraph::detail::node {

/// Most referrals a BUSY refusal carries ([MS-PPGRH] caps them at 10).
inline constexpr std::size_t max_referrals = 10;

/// The REFUSE code for the link `l` whose AUTH_INFO and CONNECT were valid,
/// or nothing to accept it. `accepts_direct`: the application takes direct
/// connections now.
inline std::optional<protocol::refuse_code> decide(node_state& st, const link_summary& l, const protocol::connect& req,
                                                   bool accepts_direct) {
  if (st.closed()) return protocol::refuse_code::busy;
  if (req.direct) {
    if (!accepts_direct) return protocol::refuse_code::direct_connection_disallowed;
    return std::nullopt;
  }
  if (st.has_neighbor(req.source_node_id, l.id)) return protocol::refuse_code::duplicate_connection;
  if (st.neighbor_count() >= st.options().max_neighbors) {
    ++st.stats().busy_refusals;
    return protocol::refuse_code::busy;
  }
  return std::nullopt;
}

/// Neighbors to suggest when refusing `l`: one address of each of up to ten
/// neighbors other than the requester, in random order. The address comes
/// from the neighbor's handshake, or from its presence if it started
/// listening later.
inline std::vector<endpoint> referrals(node_state& st, const link_summary& l, const protocol::presence_table& table) {
  std::vector<endpoint> out;
  st.for_each_neighbor([&](const link_summary& n) {
    if (n.id == l.id || n.remote_node == l.remote_node) return;
    if (!n.remote_addresses.empty())
      out.push_back(n.remote_addresses.front());
    else if (const auto e = table.find(n.remote_node); e && !e->addresses.empty())
      out.push_back(to_endpoint(e->addresses.front()));
  });
  std::shuffle(out.begin(), out.end(), st.rng());
  if (out.size() > max_referrals) out.resize(max_referrals);
  return out;
}

}  // namespace peergraph::detail::node

#endif  // PEERGRAPH_DETAIL_NODE_RESPONDER_POLICY_HPP
