// benchmarks/common.hpp: what every scenario of peergraph-bench shares:
// the run configuration, the figures it produces, timing and statistics,
// payloads that carry a sequence number, and coroutine plumbing.
//
// A scenario is one function `asio::awaitable<void> f(bench::context&)`
// that measures peergraph and its baselines and appends figures to
// `context::out`; main.cpp lists them. Adding a scenario is one more file
// with one such function and one line in that list.
#ifndef PEERGRAPH_BENCHMARKS_COMMON_HPP
#define PEERGRAPH_BENCHMARKS_COMMON_HPP

#include <peergraph/peergraph.hpp>

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

namespace pg = peergraph;
using asio::awaitable;
using asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using bytes = std::vector<std::uint8_t>;

inline constexpr std::size_t KiB = 1024;
inline constexpr std::size_t MiB = 1024 * 1024;

// Completion token that reports errors as values instead of throwing.
inline constexpr auto nothrow = asio::experimental::as_tuple(asio::use_awaitable);

// Data types of the benchmark's messages.
inline constexpr auto stream_type =
    pg::guid::from_fields(0x6c0b51e2, 0x2f4d, 0x4a8e, {0x91, 0x3a, 0x5e, 0x07, 0, 0, 0, 1});
inline constexpr auto ping_type =
    pg::guid::from_fields(0x6c0b51e2, 0x2f4d, 0x4a8e, {0x91, 0x3a, 0x5e, 0x07, 0, 0, 0, 2});

// The systems, as they appear in the JSON output.
inline constexpr const char* peergraph_system = "peergraph";
inline constexpr const char* peergraph_try_system = "peergraph-try";
inline constexpr const char* peergraph_owned_system = "peergraph-owned";
inline constexpr const char* asio_system = "asio";
inline constexpr const char* asio_bytes_system = "asio-bytes";
inline constexpr const char* zeromq_system = "zeromq";

struct config {
  bool quick = false;
  int reps = 5;
  double seconds = 0.5;
  std::string json;
  // Filters, for profiling one figure: empty / 0 means all.
  std::string scenario;
  std::string system;
  std::size_t size = 0;
  // stream: messages per repetition, instead of a calibrated count.
  std::uint64_t count = 0;
};

// One measured figure. Scenario, system and metric follow the JSON schema
// of docs/benchmarks.md; figures whose system is not one of the three
// (variants of peergraph) are shown in the table but not written as JSON.
struct figure {
  std::string scenario;
  std::string system;
  std::size_t size;
  std::string metric;
  double value;
};

// What a scenario gets: its own io_context (one thread runs it), the
// configuration and where its figures go.
struct context {
  asio::io_context& io;
  const config& cfg;
  std::vector<figure>& out;

  int reps() const noexcept { return cfg.quick ? 1 : cfg.reps; }
  bool runs(const char* system) const { return cfg.system.empty() || cfg.system == system; }
  bool wants(const char* scenario, std::size_t size = 0) const {
    return (cfg.scenario.empty() || cfg.scenario == scenario) && (cfg.size == 0 || size == 0 || cfg.size == size);
  }
  void add(const char* scenario, const char* system, std::size_t size, const char* metric, double value) {
    out.push_back({scenario, system, size, metric, value});
  }
};

inline double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Nearest-rank percentile; sorts `v`.
inline double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  rank = std::clamp<std::size_t>(rank, 1, v.size());
  return v[rank - 1];
}

inline std::string size_name(std::size_t n) {
  if (n >= MiB && n % MiB == 0) return fmt::format("{} MiB", n / MiB);
  if (n >= KiB && n % KiB == 0) return fmt::format("{} KiB", n / KiB);
  return fmt::format("{} B", n);
}

// Payloads carry their sequence number in the first 8 bytes; receivers check
// size and order, which costs the same in every system.
inline bytes make_payload(std::size_t size) {
  bytes b(size);
  for (std::size_t i = 0; i < size; ++i) b[i] = static_cast<std::uint8_t>(i * 131 + 7);
  return b;
}

inline void stamp(std::uint8_t* payload, std::uint64_t seq) { std::memcpy(payload, &seq, sizeof seq); }
inline void stamp(bytes& payload, std::uint64_t seq) { stamp(payload.data(), seq); }

inline void verify(const std::uint8_t* data, std::size_t got_size, std::uint64_t seq, std::size_t size) {
  std::uint64_t got = ~seq;
  if (got_size == size && size >= sizeof got) std::memcpy(&got, data, sizeof got);
  if (got_size != size || got != seq)
    throw std::runtime_error(
        fmt::format("bad message: expected #{} of {} bytes, got #{} of {} bytes", seq, size, got, got_size));
}
inline void verify(const bytes& payload, std::uint64_t seq, std::size_t size) {
  verify(payload.data(), payload.size(), seq, size);
}
inline void verify(const pg::payload& payload, std::uint64_t seq, std::size_t size) {
  verify(payload.data(), payload.size(), seq, size);
}

// Ends the program: a coroutine that is still running may refer to the
// frame the error leaves, so there is no unwinding past it.
[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "peergraph-bench: %s\n", what);
  std::fflush(stdout);
  std::_Exit(1);
}

// Records how a spawned coroutine ended.
struct done_flag {
  bool done = false;
  std::exception_ptr error;
};
struct mark_done {
  done_flag* flag;
  void operator()(std::exception_ptr e) const {
    flag->done = true;
    flag->error = e;
  }
};

inline awaitable<void> wait_done(done_flag& flag) {
  while (!flag.done) co_await asio::post(asio::use_awaitable);
  if (flag.error) std::rethrow_exception(flag.error);
}

inline awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(nothrow);
}

// Messages for a calibration run: about 8 MiB (2 MiB with --quick).
inline std::uint64_t calibration_count(std::size_t size, bool quick) {
  const std::uint64_t by_bytes = (quick ? 2 : 8) * MiB / std::max<std::size_t>(size, 1);
  return std::clamp<std::uint64_t>(by_bytes, 16, 20'000);
}

// Messages for a repetition of about `seconds`, from a calibration run.
inline std::uint64_t scaled_count(std::uint64_t calib_count, double calib_secs, double seconds) {
  const double rate = static_cast<double>(calib_count) / std::max(calib_secs, 1e-6);
  return std::clamp<std::uint64_t>(static_cast<std::uint64_t>(rate * seconds), 16, 200'000'000);
}

inline pg::endpoint loopback() { return pg::endpoint(asio::ip::make_address("::1"), 0); }

// ------------------------------------------------------------------ scenarios

awaitable<void> run_stream(context& ctx);       // stream.cpp
awaitable<void> run_pingpong(context& ctx);     // stream.cpp
awaitable<void> run_connect(context& ctx);      // setup.cpp
awaitable<void> run_open_direct(context& ctx);  // setup.cpp
awaitable<void> run_events(context& ctx);       // events.cpp
awaitable<void> run_idle_memory(context& ctx);  // idle_memory.cpp
awaitable<void> run_presence(context& ctx);     // presence.cpp
awaitable<void> run_scale(context& ctx);        // scale.cpp
awaitable<void> run_multicore(context& ctx);    // multicore.cpp

}  // namespace bench

#endif  // PEERGRAPH_BENCHMARKS_COMMON_HPP
