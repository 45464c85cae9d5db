// Test support: run a coroutine test body on a fresh io_context, with a
// deadline so that a hang fails the test instead of stalling the suite.
#ifndef PEERGRAPH_TESTS_CO_TEST_HPP
#define PEERGRAPH_TESTS_CO_TEST_HPP

#include <peergraph/peergraph.hpp>

#include <asio.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <span>
#include <vector>

namespace pgtest {

using namespace std::chrono_literals;
namespace pg = peergraph;

/// Runs `body(io)` to completion, then lets the io_context finish its
/// remaining work (graceful closes). Fails if either takes longer than `limit`.
template <typename Body>
void run(Body&& body, std::chrono::milliseconds limit = 10'000ms) {
  asio::io_context io;
  std::exception_ptr error;
  bool done = false;
  asio::co_spawn(io, body(io), [&](std::exception_ptr e) {
    error = e;
    done = true;
  });
  const auto start = std::chrono::steady_clock::now();
  io.run_for(limit);
  const bool drained = io.stopped();
  INFO("test body finished: "
       << done << ", io_context drained: " << drained << " after "
       << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count()
       << " ms");
  REQUIRE(done);
  if (error) std::rethrow_exception(error);
  REQUIRE(drained);
}

/// Runs handlers until `pred()` holds; fails after `limit`.
template <typename Pred>
void run_until(asio::io_context& io, Pred pred, std::chrono::milliseconds limit = 5'000ms) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  io.restart();
  while (!pred() && std::chrono::steady_clock::now() < deadline) io.run_one_for(10ms);
  REQUIRE(pred());
}

/// Sleeps inside a coroutine.
inline asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

/// Receives one event, failing the test if none arrives within `limit`.
template <typename Subscription>
asio::awaitable<typename Subscription::value_type> next(Subscription& sub, std::chrono::milliseconds limit = 5'000ms) {
  asio::steady_timer timer(co_await asio::this_coro::executor, limit);
  auto received = std::make_shared<bool>(false);
  Subscription* target = &sub;
  timer.async_wait([received, target](std::error_code ec) {
    if (!ec && !*received) target->close();  // ends the wait with eof if the event never comes
  });
  auto ev = co_await sub.receive();
  *received = true;
  timer.cancel();
  co_return ev;
}

/// Loopback endpoints with port 0.
inline pg::endpoint loopback6() { return {asio::ip::make_address("::1"), 0}; }
inline pg::endpoint loopback4() { return {asio::ip::make_address("127.0.0.1"), 0}; }

/// Options with short timers so that timeout tests stay fast. Graph
/// maintenance is off and the neighbor limit out of reach: tests that count
/// connections and events exactly must not see links the graph opens by
/// itself or BUSY refusals (tests of maintenance set these themselves).
inline pg::graph_options fast_options() {
  pg::graph_options o;
  o.handshake_timeout = 300ms;
  o.connect_timeout = 2'000ms;
  o.auto_connect = false;
  o.max_neighbors = 1000;
  return o;
}

/// fast_options() with a 64 KiB / 16 KiB send queue, so that a stalled
/// peer makes sends wait after a few messages.
inline pg::graph_options small_queue_options() {
  auto o = fast_options();
  o.send_high_water = 64 * 1024;
  o.send_low_water = 16 * 1024;
  return o;
}

/// Counts invocations of a completion handler: a test fails when a handler
/// runs zero times or more than once.
struct call_counter {
  int calls = 0;
  void check_once() const { CHECK(calls == 1); }
};

}  // namespace pgtest

#endif  // PEERGRAPH_TESTS_CO_TEST_HPP
