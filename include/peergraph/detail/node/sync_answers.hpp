// peergraph/detail/node/sync_answers.hpp: synchronization answers, produced as the link drains.
//
// An answer to SOLICIT_NEW is every record the node holds. Built whole it
// would cost a copy of the database per request, queued at once. Instead an
// answer is a list of the node ids the table held when asked (8 bytes
// each) and a position in it: each step encodes the next records, as they
// are then, up to `chunk_bytes`, and the link asks for the next step once
// what it queued has mostly been written. A record deleted meanwhile is sent
// as its tombstone, or skipped once forgotten; one changed meanwhile is sent
// as it is now (its flood went to the link as well). A link has at most one
// answer in progress.
#ifndef PEERGRAPH_DETAIL_NODE_SYNC_ANSWERS_HPP
#define PEERGRAPH_DETAIL_NODE_SYNC_ANSWERS_HPP

#include <peergraph/types.hpp>

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

namespace peergraph::detail::node {

class sync_answers {
 public:
  /// Bytes of records encoded in one step.
  static constexpr std::size_t chunk_bytes = 64 * 1024;

  bool active(connection_id link) const { return jobs_.count(link) != 0; }

  /// Starts an answer for `link` over the records of `nodes`.
  void start(connection_id link, std::vector<std::uint64_t> nodes) { jobs_[link] = job{std::move(nodes), 0}; }

  /// Encodes the next records of `link`'s answer into `bytes` with
  /// `append(node, bytes)`, until `chunk_bytes` more bytes are there or the
  /// list is over. True when the answer is complete (and forgotten).
  template <typename Append>
  bool step(connection_id link, std::vector<std::uint8_t>& bytes, Append&& append) {
    const auto it = jobs_.find(link);
    if (it == jobs_.end()) return true;
    auto& j = it->second;
    const auto start = bytes.size();
    while (j.next < j.nodes.size() && bytes.size() - start < chunk_bytes) append(j.nodes[j.next++], bytes);
    if (j.next < j.nodes.size()) return false;
    jobs_.erase(it);
    return true;
  }

  /// Link `link` has ended.
  void forget(connection_id link) { jobs_.erase(link); }

 private:
  struct job {
    std::vector<std::uint64_t> nodes;
    std::size_t next = 0;
  };
  std::unordered_map<connection_id, job> jobs_;
};

}  // namespace peergraph::detail::node

#endif  // PEERGRAPH_DETAIL_NODE_SYNC_ANSWERS_HPP
