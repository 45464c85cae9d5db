// peergraph/detail/node/request_allowance.hpp: how often each link may ask for an expensive answer.
//
// A SOLICIT_NEW costs its sender 12 bytes and the node an encoding of its
// whole database, so a neighbor that repeats it could make the node work and
// queue without end. Each link gets a token bucket: `burst` answers at once
// (a legitimate sync asks once per link, [MS-PPGRH] 3.1.5.2.5), one more
// every `refill`. Requests beyond it are not answered.
#ifndef PEERGRAPH_DETAIL_NODE_REQUEST_ALLOWANCE_HPP
#define PEERGRAPH_DETAIL_NODE_REQUEST_ALLOWANCE_HPP

#include <peergraph/types.hpp>

#include <algorithm>
#include <chrono>
#include <unordered_map>

namespace peergraph::detail::node {

class request_allowance {
 public:
  using ms = std::chrono::milliseconds;

  static constexpr int burst = 4;
  static constexpr ms refill{10'000};

  /// True if link `id` may have one more answer at time `now` (and counts it).
  bool allow(connection_id id, ms now) {
    auto [it, fresh] = links_.try_emplace(id, bucket{burst, now});
    auto& b = it->second;
    if (!fresh && now > b.since) {
      const auto earned = static_cast<int>((now - b.since) / refill);
      if (earned > 0) {
        b.tokens = std::min(burst, b.tokens + earned);
        b.since += refill * earned;
      }
    }
    if (b.tokens == burst) b.since = now;  // a full bucket does not save up time
    if (b.tokens == 0) return false;
    --b.tokens;
    return true;
  }

  /// Link `id` has ended.
  void forget(connection_id id) { links_.erase(id); }

  std::size_t tracked() const noexcept { return links_.size(); }

 private:
  struct bucket {
    int tokens;
    ms since;  // tokens are earned from here on
  };
  std::unordered_map<connection_id, bucket> links_;
};

}  // namespace peergraph::detail::node

#endif  // PEERGRAPH_DETAIL_NODE_REQUEST_ALLOWANCE_HPP
