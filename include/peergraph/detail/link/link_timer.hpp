// peergraph/detail/link/link_timer.hpp: one link's single timer and the keep-alive rules.
//
// A link has one timer for its whole life: the handshake deadline, then the
// keep-alive tick, then the close linger. Arming it again supersedes the
// previous expiry (a generation count, so a stale wake-up is ignored). What
// a keep-alive tick means is decided by keepalive(), a plain function.
#ifndef PEERGRAPH_DETAIL_LINK_LINK_TIMER_HPP
#define PEERGRAPH_DETAIL_LINK_LINK_TIMER_HPP

#include <peergraph/options.hpp>

#include <asio/basic_waitable_timer.hpp>

#include <chrono>
#include <cstdint>
#include <system_error>

namespace peergraph::detail::link {

using clock = std::chrono::steady_clock;

/// How often an established link wakes up (0: never): the keep-alive
/// interval, or the idle timeout if that is shorter or pings are off.
inline std::chrono::milliseconds keepalive_period(const graph_options& o) noexcept {
  auto tick = o.keepalive_interval.count() > 0 ? o.keepalive_interval : o.idle_timeout;
  if (o.idle_timeout.count() > 0 && o.idle_timeout < tick) tick = o.idle_timeout;
  return tick.count() > 0 ? tick : std::chrono::milliseconds(0);
}

/// What an established link does when its keep-alive tick fires.
enum class keepalive_verdict { nothing, ping, idle_timeout };

/// `last_rx` / `last_tx`: when something last arrived / was written;
/// `queued`: bytes waiting to be written (a ping would only queue behind them).
inline keepalive_verdict keepalive(const graph_options& o, clock::time_point now, clock::time_point last_rx,
                                   clock::time_point last_tx, std::size_t queued) noexcept {
  if (o.idle_timeout.count() > 0 && now - last_rx >= o.idle_timeout) return keepalive_verdict::idle_timeout;
  if (o.keepalive_interval.count() > 0 && now - last_tx >= o.keepalive_interval && queued == 0)
    return keepalive_verdict::ping;
  return keepalive_verdict::nothing;
}

template <typename Executor>
class link_timer {
 public:
  explicit link_timer(const Executor& ex) : timer_(ex) {}

  /// Runs `f()` after `d`, unless armed again or cancelled first. `f` must
  /// keep what it touches alive.
  template <typename F>
  void arm(std::chrono::milliseconds d, F&& f) {
    timer_.expires_after(d);
    timer_.async_wait([this_gen = ++gen_, gen = &gen_, f = std::forward<F>(f)](std::error_code ec) mutable {
      if (!ec && this_gen == *gen) f();
    });
  }

  /// No earlier arming fires any more.
  void cancel() noexcept {
    ++gen_;
    timer_.cancel();
  }

 private:
  asio::basic_waitable_timer<clock, asio::wait_traits<clock>, Executor> timer_;
  std::uint64_t gen_ = 0;
};

}  // namespace peergraph::detail::link

#endif  // PEERGRAPH_DETAIL_LINK_LINK_TIMER_HPP
