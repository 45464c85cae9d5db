// peergraph/detail/link/receive_budget.hpp: the memory a graph lets large messages in transit take.
//
// Each link's frame reader takes from it as a large payload's storage grows
// and gives back when the message is delivered or the link ends. The links
// of a graph run on its executor, but a link's last reference can be a
// sender's completion on another thread, so its reader may give back from
// there: hence the atomic count.
#ifndef PEERGRAPH_DETAIL_LINK_RECEIVE_BUDGET_HPP
#define PEERGRAPH_DETAIL_LINK_RECEIVE_BUDGET_HPP

#include <atomic>
#include <cstddef>

namespace peergraph::detail::link {

class receive_budget {
 public:
  explicit receive_budget(std::size_t limit) noexcept : limit_(limit) {}

  /// Takes `n` bytes if that keeps the total within the limit.
  bool take(std::size_t n) noexcept {
    auto used = used_.load(std::memory_order_relaxed);
    do {
      if (used > limit_ || n > limit_ - used) return false;
    } while (!used_.compare_exchange_weak(used, used + n, std::memory_order_relaxed));
    return true;
  }
  /// Takes `n` bytes whatever the total: for memory already spent.
  void force(std::size_t n) noexcept { used_.fetch_add(n, std::memory_order_relaxed); }
  void give(std::size_t n) noexcept { used_.fetch_sub(n, std::memory_order_relaxed); }

  std::size_t used() const noexcept { return used_.load(std::memory_order_relaxed); }
  std::size_t limit() const noexcept { return limit_; }

 private:
  const std::size_t limit_;
  std::atomic<std::size_t> used_{0};
};

}  // namespace peergraph::detail::link

#endif  // PEERGRAPH_DETAIL_LINK_RECEIVE_BUDGET_HPP
