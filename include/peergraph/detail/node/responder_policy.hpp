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

/// With every neighbor slot taken, the neighbor link to give up for `l`,
/// if any. One source address must not hold all the slots: when some
/// source holds at least two links more than `l`'s does, one of its links
/// goes (one it accepted rather than dialled, if it has one). Links from a
/// single address (nodes on one host) are never evicted for each other.
inline std::optional<connection_id> make_room(const node_state& st, const link_summary& l) {
  std::vector<std::pair<asio::ip::address, std::size_t>> per_source;
  auto count_of = [&](const asio::ip::address& a) -> std::size_t& {
    for (auto& [addr, n] : per_source)
      if (addr == a) return n;
    return per_source.emplace_back(a, 0).second;
  };
  st.for_each_neighbor([&](const link_summary& n) { ++count_of(n.remote_ep.address()); });
  const std::size_t mine = count_of(l.remote_ep.address());
  const auto most = std::max_element(per_source.begin(), per_source.end(),
                                     [](const auto& x, const auto& y) { return x.second < y.second; });
  if (most == per_source.end() || most->second < mine + 2) return std::nullopt;
  std::optional<connection_id> victim;
  bool victim_accepted = false;
  st.for_each_neighbor([&](const link_summary& n) {
    if (n.remote_ep.address() != most->first) return;
    if (!victim || (!victim_accepted && !n.initiator)) {
      victim = n.id;
      victim_accepted = !n.initiator;
    }
  });
  return victim;
}

/// What a node answers a valid CONNECT: a REFUSE code or nothing (accept),
/// and a neighbor link to end first to make room for it.
struct decision {
  std::optional<protocol::refuse_code> refuse;
  std::optional<connection_id> evict;
};

/// The answer for the link `l` whose AUTH_INFO and CONNECT were valid.
/// `accepts_direct`: the application takes direct connections now.
inline decision decide(node_state& st, const link_summary& l, const protocol::connect& req, bool accepts_direct) {
  if (st.closed()) return {protocol::refuse_code::busy, {}};
  if (req.direct) {
    if (!accepts_direct) return {protocol::refuse_code::direct_connection_disallowed, {}};
    std::size_t total = 0, same_source = 0;
    st.for_each_link([&](const link_summary& d) {
      if (d.id == l.id || !d.established || d.kind != connection_kind::direct || d.initiator) return;
      ++total;
      same_source += d.remote_ep.address() == l.remote_ep.address();
    });
    if (total >= st.options().max_direct_connections || same_source >= st.options().max_direct_connections_per_source) {
      ++st.stats().direct_refusals;
      return {protocol::refuse_code::busy, {}};
    }
    return {};
  }
  if (st.has_neighbor(req.source_node_id, l.id)) return {protocol::refuse_code::duplicate_connection, {}};
  if (st.neighbor_count() >= st.options().max_neighbors) {
    if (auto victim = make_room(st, l)) {
      ++st.stats().neighbors_evicted;
      return {{}, victim};
    }
    ++st.stats().busy_refusals;
    return {protocol::refuse_code::busy, {}};
  }
  return {};
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
