// peergraph/detail/wait_condition.hpp: what basic_graph's wait_* operations wait for.
//
// A waiter completes internally with the nodes that satisfied it; each
// public operation hands its own completion signature the part it promises.
#ifndef PEERGRAPH_DETAIL_WAIT_CONDITION_HPP
#define PEERGRAPH_DETAIL_WAIT_CONDITION_HPP

#include <peergraph/config.hpp>
#include <peergraph/types.hpp>

#include <cstddef>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace peergraph::detail {

struct wait_condition {
  enum kind_type { synchronized, peer, count } kind = synchronized;
  std::string peer_id;          ///< for `peer`: a node of this peer other than the local one
  std::size_t nodes = 0;        ///< for `count`: at least this many nodes listed
  bool with_addresses = false;  ///< for `peer` and `count`: only nodes that publish an address
};

/// wait_synchronized(): `void(std::error_code)`.
struct wait_first_none {
  template <typename Handler>
  void operator()(Handler&& h, std::error_code ec, std::vector<node_info>) const {
    std::move(h)(ec);
  }
};

/// wait_node(): `void(std::error_code, node_info)`, the first node found.
struct wait_first_node {
  template <typename Handler>
  void operator()(Handler&& h, std::error_code ec, std::vector<node_info> found) const {
    std::move(h)(ec, found.empty() ? node_info{} : std::move(found.front()));
  }
};

}  // namespace peergraph::detail

#endif  // PEERGRAPH_DETAIL_WAIT_CONDITION_HPP
