// peergraph/detail/tick_timer.hpp: the periodic tick that drives a node's timers (presence, maintenance).
//
// The owner (graph_impl) says how often it wants to run (tick_period()),
// what a tick does (on_tick()) and whether it is still open (is_open()). The
// period can change with the graph's properties; follow() re-arms then.
#ifndef PEERGRAPH_DETAIL_TICK_TIMER_HPP
#define PEERGRAPH_DETAIL_TICK_TIMER_HPP

#include <asio/basic_waitable_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <system_error>

namespace peergraph::detail {

template <typename Executor>
class tick_timer {
 public:
  explicit tick_timer(const Executor& ex) : timer_(ex) {}

  /// Starts ticking, once; later calls do nothing.
  template <typename Owner>
  void start(const std::shared_ptr<Owner>& owner) {
    if (running_ || !owner->is_open()) return;
    running_ = true;
    arm(owner);
  }

  /// The owner's period may have changed: re-arm if it has.
  template <typename Owner>
  void follow(const std::shared_ptr<Owner>& owner) {
    if (running_ && owner->is_open() && owner->tick_period() != period_) arm(owner);
  }

  void cancel() { timer_.cancel(); }

 private:
  template <typename Owner>
  void arm(const std::shared_ptr<Owner>& owner) {
    period_ = owner->tick_period();
    timer_.expires_after(period_);
    // The owner holds this timer: keeping the owner alive keeps `this`.
    timer_.async_wait([this, owner, gen = ++gen_](std::error_code ec) {
      if (ec || !owner->is_open() || gen != gen_) return;
      owner->on_tick();
      arm(owner);
    });
  }

  asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, Executor> timer_;
  std::chrono::milliseconds period_{};
  std::uint64_t gen_ = 0;
  bool running_ = false;
};

}  // namespace peergraph::detail

#endif  // PEERGRAPH_DETAIL_TICK_TIMER_HPP
