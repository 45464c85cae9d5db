// peergraph/detail/node/link_summary.hpp: what a node knows about one of its links.
//
// Each link (detail/link/connection_impl.hpp) keeps one and registers it with
// its node (node_state); the node's policies read it. Unit tests of those
// policies build summaries by hand, with no link behind them.
#ifndef PEERGRAPH_DETAIL_NODE_LINK_SUMMARY_HPP
#define PEERGRAPH_DETAIL_NODE_LINK_SUMMARY_HPP

#include <peergraph/types.hpp>

#include <string>
#include <vector>

namespace peergraph::detail::node {

struct link_summary {
  connection_id id = 0;
  connection_kind kind = connection_kind::neighbor;
  bool initiator = false;
  /// The handshake is over and the link carries traffic.
  bool established = false;
  node_id remote_node = 0;                 ///< 0 until the handshake says
  std::string remote_peer;                 ///< empty until the handshake says
  endpoint remote_ep;                      ///< the transport's remote endpoint
  endpoint local_ep;                       ///< the transport's local endpoint, once connected
  endpoint dialed;                         ///< initiator: the address it connected to
  std::vector<endpoint> remote_addresses;  ///< where the remote says it listens

  bool is_neighbor() const noexcept { return established && kind == connection_kind::neighbor; }
  connection_info info() const { return connection_info{id, kind, remote_node, remote_peer, remote_ep}; }
};

}  // namespace peergraph::detail::node

#endif  // PEERGRAPH_DETAIL_NODE_LINK_SUMMARY_HPP
