// benchmarks/multicore.cpp: the `multicore` scenario: two direct links
// streaming at once, and how the aggregate scales from one thread to two.
//
// Two pairs of nodes, each pair joined by a direct connection, stream 1 KiB
// messages (try_send, received with receive_some) at the same time:
//   size 1: both pairs on one io_context, run by one thread;
//   size 2: each pair on an io_context of its own, each run by its own thread.
// `msgs_per_s` is the total over both links, from the start of both streams
// to the end of the later one; `scaling` (size 2 only) is the two-thread
// figure over the one-thread one. On two cores the two-thread figure also
// shares them with the kernel's loopback work.
#include "common.hpp"
#include "direct_link.hpp"

#include <array>
#include <memory>
#include <thread>

namespace bench {
namespace {

constexpr std::size_t message_size = 1 * KiB;

// Runs `io` until every flag in `flags` is set.
void run_until(asio::io_context& io, const std::vector<done_flag*>& flags) {
  const auto all = [&flags] {
    return std::all_of(flags.begin(), flags.end(), [](const done_flag* f) { return f->done; });
  };
  io.restart();
  while (!all() && io.run_one() > 0) {
  }
  for (const auto* f : flags)
    if (f->error) std::rethrow_exception(f->error);
}

awaitable<void> stream_on(direct_link& l, std::uint64_t count) {
  co_await pg_stream_once(l.conn, l.alice_data, message_size, count, send_mode::try_send);
}

// The seconds two simultaneous streams of `count` messages take with
// `threads` threads (1 or 2).
double measure(int threads, std::uint64_t count) {
  std::array<std::unique_ptr<asio::io_context>, 2> io{std::make_unique<asio::io_context>(1),
                                                      threads == 2 ? std::make_unique<asio::io_context>(1) : nullptr};
  auto& io_b = threads == 2 ? *io[1] : *io[0];
  direct_link a(*io[0]), b(io_b);
  done_flag open_a, open_b;
  asio::co_spawn(*io[0], open_link(a), mark_done{&open_a});
  asio::co_spawn(io_b, open_link(b), mark_done{&open_b});
  if (threads == 2) {
    run_until(*io[0], {&open_a});
    run_until(*io[1], {&open_b});
  } else {
    run_until(*io[0], {&open_a, &open_b});
  }

  done_flag run_a, run_b;
  const auto t0 = clock_type::now();
  asio::co_spawn(*io[0], stream_on(a, count), mark_done{&run_a});
  asio::co_spawn(io_b, stream_on(b, count), mark_done{&run_b});
  if (threads == 2) {
    std::exception_ptr second;
    std::thread t([&] {
      try {
        run_until(*io[1], {&run_b});
      } catch (...) {
        second = std::current_exception();
      }
    });
    run_until(*io[0], {&run_a});
    t.join();
    if (second) std::rethrow_exception(second);
  } else {
    run_until(*io[0], {&run_a, &run_b});
  }
  const double secs = seconds_since(t0);

  done_flag close_a, close_b;
  asio::co_spawn(*io[0], close_link(a), mark_done{&close_a});
  asio::co_spawn(io_b, close_link(b), mark_done{&close_b});
  for (auto& ctx : io)
    if (ctx) {
      ctx->restart();
      ctx->run_for(std::chrono::milliseconds(500));
    }
  return secs;
}

}  // namespace

awaitable<void> run_multicore(context& ctx) {
  if (!ctx.wants("multicore") || !ctx.runs(peergraph_try_system)) co_return;
  const std::uint64_t count = ctx.cfg.quick ? 20'000 : 400'000;
  std::array<std::vector<double>, 2> rates;
  for (int r = 0; r < ctx.reps(); ++r)
    for (int threads = 1; threads <= 2; ++threads)
      rates[static_cast<std::size_t>(threads - 1)].push_back(2.0 * static_cast<double>(count) /
                                                             measure(threads, count));
  const double one = median(rates[0]), two = median(rates[1]);
  ctx.add("multicore", peergraph_try_system, 1, "msgs_per_s", one);
  ctx.add("multicore", peergraph_try_system, 2, "msgs_per_s", two);
  ctx.add("multicore", peergraph_try_system, 2, "scaling", one > 0 ? two / one : 0);
}

}  // namespace bench
