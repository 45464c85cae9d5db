// bench_stream: throughput and round-trip latency of peergraph direct
// connections over loopback, next to a plain Asio TCP baseline that uses the
// same framing.
//
//   bench_stream [--quick] [--json FILE] [--reps N] [--seconds S]
//                [--scenario stream|pingpong] [--system peergraph|peergraph-owned|asio] [--size BYTES]
//
// Scenarios (both ends in one process, one io_context, one thread):
//
//   stream    one-way messages of 64 B, 1 KiB, 64 KiB and 1 MiB; messages/s
//             and payload bytes/s counted at the receiver.
//             peergraph: one `co_await conn.send(type, asio::buffer(payload))`
//             per message (the copying send); the receiver takes one
//             incoming_data_event per `co_await sub.receive()`. For 64 KiB
//             and 1 MiB the owned-vector send is measured as well
//             ("peergraph-owned"), with the payload vectors the receiver got
//             handed back to the sender, so neither end allocates or copies.
//             asio: the same 28-byte PT2PT header framing on a tcp::socket
//             with TCP_NODELAY. The sender appends framed messages to a
//             buffer that is written whenever the previous write has
//             finished (coalescing); it returns to the event loop after each
//             64 KiB appended and waits above the same 4 MiB / 1 MiB
//             high / low water marks peergraph uses. The receiver reads into
//             a 256 KiB buffer, splits frames and copies each payload into a
//             fresh vector (larger frames are read straight into theirs).
//
//   pingpong  64 B and 64 KiB: one message out, the echo back; p50 and p99
//             of the round trip. peergraph echoes with graph.send() on the
//             connection the data came from; asio echoes on its socket.
//
// Every figure is the median of --reps repetitions (default 5). A stream
// repetition lasts about --seconds (default 0.5 s; the message count is
// calibrated per system and size); a ping-pong repetition is a fixed number
// of round trips after a short warm-up. --quick runs one short repetition of
// everything (a smoke test).
//
// Output: a table on stdout; with --json FILE, one JSON object per line and
// figure: {"scenario", "system", "size", "metric", "value"}.
#include <peergraph/peergraph.hpp>

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace pg = peergraph;
using asio::awaitable;
using asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using bytes = std::vector<std::uint8_t>;

namespace {

// Completion token that reports errors as values instead of throwing.
constexpr auto nothrow = asio::experimental::as_tuple(asio::use_awaitable);

constexpr auto stream_type = pg::guid::from_fields(0x6c0b51e2, 0x2f4d, 0x4a8e, {0x91, 0x3a, 0x5e, 0x07, 0, 0, 0, 1});
constexpr auto ping_type = pg::guid::from_fields(0x6c0b51e2, 0x2f4d, 0x4a8e, {0x91, 0x3a, 0x5e, 0x07, 0, 0, 0, 2});

constexpr std::size_t KiB = 1024;
constexpr std::size_t MiB = 1024 * 1024;

// Sender-side bounds of the baseline, the same as peergraph's defaults
// (graph_options::send_high_water / send_low_water).
constexpr std::size_t high_water = 4 * MiB;
constexpr std::size_t low_water = 1 * MiB;
// The baseline sender returns to the event loop after appending this much.
constexpr std::size_t yield_bytes = 64 * KiB;

struct config {
  bool quick = false;
  int reps = 5;
  double seconds = 0.5;
  std::string json;
  // Filters, for profiling one figure: empty / 0 means all.
  std::string scenario;
  std::string system;
  std::size_t size = 0;
};

struct figure {
  std::string scenario;
  std::string system;
  std::size_t size;
  std::string metric;
  double value;
};

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Nearest-rank percentile of sorted samples.
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

std::string size_name(std::size_t n) {
  if (n >= MiB && n % MiB == 0) return fmt::format("{} MiB", n / MiB);
  if (n >= KiB && n % KiB == 0) return fmt::format("{} KiB", n / KiB);
  return fmt::format("{} B", n);
}

// Payloads carry their sequence number in the first 8 bytes; receivers check
// size and order, which costs the same in both systems.
bytes make_payload(std::size_t size) {
  bytes b(size);
  for (std::size_t i = 0; i < size; ++i) b[i] = static_cast<std::uint8_t>(i * 131 + 7);
  return b;
}

void stamp(bytes& payload, std::uint64_t seq) { std::memcpy(payload.data(), &seq, sizeof seq); }

void verify(const bytes& payload, std::uint64_t seq, std::size_t size) {
  std::uint64_t got = ~seq;
  if (payload.size() == size && size >= sizeof got) std::memcpy(&got, payload.data(), sizeof got);
  if (payload.size() != size || got != seq)
    throw std::runtime_error(fmt::format("bad message: expected #{} of {} bytes, got #{} of {} bytes", seq, size, got,
                                         payload.size()));
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

// Ends the program: a coroutine that is still running may refer to the
// frame the error leaves, so there is no unwinding past it.
[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "bench_stream: %s\n", what);
  std::fflush(stdout);
  std::_Exit(1);
}

awaitable<void> wait_done(done_flag& flag) {
  while (!flag.done) co_await asio::post(asio::use_awaitable);
  if (flag.error) std::rethrow_exception(flag.error);
}

// ------------------------------------------------------------------ the Asio baseline

// Storage for the baseline's socket buffers, starting one cache line into a
// page. On some CPUs (seen on AMD EPYC under KVM) the kernel copies to and
// from user memory much more slowly for some placements of the user buffer
// relative to the page offsets of the socket's own buffers, such as the 16
// bytes past a page that large heap blocks get. A fixed placement keeps that
// effect out of the baseline.
template <typename T>
struct placed_allocator {
  using value_type = T;
  static constexpr std::align_val_t page{4096};
  static constexpr std::size_t offset = 64;
  placed_allocator() = default;
  template <typename U>
  placed_allocator(const placed_allocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    auto* block = static_cast<std::uint8_t*>(::operator new(n * sizeof(T) + offset, page));
    return reinterpret_cast<T*>(block + offset);
  }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(reinterpret_cast<std::uint8_t*>(p) - offset, page); }
  friend bool operator==(const placed_allocator&, const placed_allocator&) noexcept { return true; }
};
using io_buffer = std::vector<std::uint8_t, placed_allocator<std::uint8_t>>;

// The PT2PT framing: a 28-byte header (total size including the header,
// little endian; version 0x10; type 0x0D; data offset 28; the type GUID)
// followed by the payload.
namespace wire {
constexpr std::size_t header_size = 28;
constexpr std::size_t max_payload = 16 * MiB;
constexpr std::uint8_t version = 0x10;
constexpr std::uint8_t pt2pt = 0x0D;

void append_frame(io_buffer& out, const pg::guid::bytes_type& type, const bytes& payload) {
  const auto total = static_cast<std::uint32_t>(header_size + payload.size());
  std::array<std::uint8_t, header_size> h{};
  for (int i = 0; i < 4; ++i) h[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(total >> (8 * i));
  h[4] = version;
  h[5] = pt2pt;
  h[8] = static_cast<std::uint8_t>(header_size);
  std::copy(type.begin(), type.end(), h.begin() + 12);
  out.insert(out.end(), h.begin(), h.end());
  out.insert(out.end(), payload.begin(), payload.end());
}

// Total frame size from a complete header; throws on a malformed one.
std::size_t frame_size(const std::uint8_t* h) {
  const std::size_t total = std::size_t{h[0]} | std::size_t{h[1]} << 8 | std::size_t{h[2]} << 16 |
                            std::size_t{h[3]} << 24;
  const std::size_t offset = std::size_t{h[8]} | std::size_t{h[9]} << 8;
  if (h[4] != version || h[5] != pt2pt || offset != header_size || total < header_size ||
      total > header_size + max_payload)
    throw std::runtime_error("baseline: malformed frame header");
  return total;
}
}  // namespace wire

// Splits a socket's byte stream into frames and hands each payload, copied
// into its own vector, to a sink.
class frame_reader {
 public:
  static constexpr std::size_t capacity = 256 * KiB;

  frame_reader() : buf_(capacity) {}

  // Delivers exactly `count` frames to `sink`, reading as needed. Bytes
  // beyond the last frame stay buffered for the next call.
  template <typename Sink>
  awaitable<void> read(tcp::socket& s, std::uint64_t count, Sink& sink) {
    std::uint64_t delivered = 0;
    while (delivered < count) {
      while (delivered < count && end_ - beg_ >= wire::header_size) {
        const auto total = wire::frame_size(buf_.data() + beg_);
        if (end_ - beg_ < total) break;
        const auto* p = buf_.data() + beg_ + wire::header_size;
        bytes payload(p, p + (total - wire::header_size));
        sink(std::move(payload));
        beg_ += total;
        ++delivered;
      }
      if (delivered == count) break;
      if (beg_ == end_) beg_ = end_ = 0;
      if (end_ - beg_ >= wire::header_size) {
        const auto total = wire::frame_size(buf_.data() + beg_);
        if (total > capacity) {
          // Larger than the buffer: read the rest straight into the payload.
          bytes payload(total - wire::header_size);
          const auto have = end_ - beg_ - wire::header_size;
          std::memcpy(payload.data(), buf_.data() + beg_ + wire::header_size, have);
          beg_ = end_ = 0;
          auto rest = asio::buffer(payload.data() + have, payload.size() - have);
          co_await asio::async_read(s, rest, asio::use_awaitable);
          sink(std::move(payload));
          ++delivered;
          continue;
        }
        if (total > capacity - beg_) compact();
      } else if (capacity - beg_ < wire::header_size) {
        compact();
      }
      auto space = asio::buffer(buf_.data() + end_, capacity - end_);
      end_ += co_await s.async_read_some(space, asio::use_awaitable);
    }
  }

 private:
  void compact() {
    std::memmove(buf_.data(), buf_.data() + beg_, end_ - beg_);
    end_ -= beg_;
    beg_ = 0;
  }

  io_buffer buf_;
  std::size_t beg_ = 0;
  std::size_t end_ = 0;
};

// The baseline's sending side: frames are appended to `pending_`, which is
// written as a whole whenever no write is under way.
class coalescing_writer {
 public:
  explicit coalescing_writer(tcp::socket& s) : sock_(s), wake_(s.get_executor()) {}

  void append(const pg::guid::bytes_type& type, const bytes& payload) {
    wire::append_frame(pending_, type, payload);
    kick();
  }

  // Bytes appended and not yet written.
  std::size_t queued() const noexcept { return pending_.size() + (busy_ ? writing_.size() : 0); }

  // Waits until at most `limit` bytes are queued.
  awaitable<void> wait_below(std::size_t limit) {
    while (queued() > limit && !error_) {
      wake_.expires_at(asio::steady_timer::time_point::max());
      co_await wake_.async_wait(nothrow);
    }
    if (error_) throw std::system_error(error_, "baseline write");
  }

 private:
  struct on_written {
    coalescing_writer* w;
    void operator()(std::error_code ec, std::size_t) const { w->written(ec); }
  };

  void kick() {
    if (busy_ || pending_.empty() || error_) return;
    busy_ = true;
    pending_.swap(writing_);
    asio::async_write(sock_, asio::buffer(writing_), on_written{this});
  }

  void written(std::error_code ec) {
    busy_ = false;
    writing_.clear();
    if (ec) error_ = ec;
    kick();
    wake_.cancel();
  }

  tcp::socket& sock_;
  asio::steady_timer wake_;
  io_buffer pending_;
  io_buffer writing_;
  bool busy_ = false;
  std::error_code error_;
};

// Keeps the last payload, so the allocation of every payload is observable.
struct keep_last {
  bytes last;
  void operator()(bytes&& p) { last = std::move(p); }
};

// Checks order and size of a stream of payloads.
struct check_stream {
  std::uint64_t next = 0;
  std::size_t size = 0;
  bytes last;
  void operator()(bytes&& p) {
    verify(p, next++, size);
    last = std::move(p);
  }
};

struct raw_pair {
  explicit raw_pair(asio::io_context& io) : acceptor(io), client(io), server(io), writer(client) {}
  tcp::acceptor acceptor;
  tcp::socket client;  // sends the stream, sends pings
  tcp::socket server;  // receives the stream, echoes
  frame_reader client_reader;
  frame_reader server_reader;
  coalescing_writer writer;
};

awaitable<void> raw_connect(raw_pair& p) {
  const tcp::endpoint any(asio::ip::make_address("::1"), 0);
  p.acceptor.open(any.protocol());
  p.acceptor.bind(any);
  p.acceptor.listen();
  const auto ep = p.acceptor.local_endpoint();
  co_await p.client.async_connect(ep, asio::use_awaitable);
  co_await p.acceptor.async_accept(p.server, asio::use_awaitable);
  p.client.set_option(tcp::no_delay(true));
  p.server.set_option(tcp::no_delay(true));
}

awaitable<void> raw_stream_send(coalescing_writer& w, bytes& payload, std::uint64_t count) {
  const auto type = stream_type.to_windows_bytes();
  std::size_t since_yield = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    stamp(payload, i);
    w.append(type, payload);
    since_yield += payload.size() + wire::header_size;
    if (w.queued() > high_water) {
      co_await w.wait_below(low_water);
      since_yield = 0;
    } else if (since_yield >= yield_bytes) {
      co_await asio::post(asio::use_awaitable);
      since_yield = 0;
    }
  }
}

// One stream repetition; returns the seconds from the first send to the
// last message received.
awaitable<double> raw_stream_once(raw_pair& p, std::size_t size, std::uint64_t count) {
  auto payload = make_payload(size);
  check_stream sink;
  sink.size = size;
  done_flag sender;
  const auto t0 = clock_type::now();
  asio::co_spawn(p.client.get_executor(), raw_stream_send(p.writer, payload, count), mark_done{&sender});
  try {
    co_await p.server_reader.read(p.server, count, sink);
  } catch (const std::exception& e) {
    fail(e.what());
  }
  const double secs = seconds_since(t0);
  co_await wait_done(sender);
  co_return secs;
}

awaitable<void> raw_echo(raw_pair& p, std::uint64_t count) {
  const auto type = ping_type.to_windows_bytes();
  keep_last in;
  io_buffer out;
  for (std::uint64_t i = 0; i < count; ++i) {
    co_await p.server_reader.read(p.server, 1, in);
    out.clear();
    wire::append_frame(out, type, in.last);
    auto b = asio::buffer(out);
    co_await asio::async_write(p.server, b, asio::use_awaitable);
  }
}

awaitable<void> raw_pingpong_once(raw_pair& p, std::size_t size, int warmup, int iters, std::vector<double>& rtt_us) {
  const auto type = ping_type.to_windows_bytes();
  auto payload = make_payload(size);
  done_flag echo;
  const auto total = static_cast<std::uint64_t>(warmup + iters);
  asio::co_spawn(p.server.get_executor(), raw_echo(p, total), mark_done{&echo});
  keep_last in;
  io_buffer out;
  try {
    for (std::uint64_t i = 0; i < total; ++i) {
      stamp(payload, i);
      const auto t0 = clock_type::now();
      out.clear();
      wire::append_frame(out, type, payload);
      auto b = asio::buffer(out);
      co_await asio::async_write(p.client, b, asio::use_awaitable);
      co_await p.client_reader.read(p.client, 1, in);
      const double us = seconds_since(t0) * 1e6;
      verify(in.last, i, size);
      if (i >= static_cast<std::uint64_t>(warmup)) rtt_us.push_back(us);
    }
  } catch (const std::exception& e) {
    fail(e.what());
  }
  co_await wait_done(echo);
}

// ------------------------------------------------------------------ peergraph

using data_sub = pg::graph::subscription_type<pg::incoming_data_event>;

// Payload vectors handed back by the receiver for the owned-vector send.
struct vector_pool {
  std::vector<bytes> free;
  bytes take(std::size_t size) {
    if (!free.empty() && free.back().size() == size) {
      bytes v = std::move(free.back());
      free.pop_back();
      return v;
    }
    return bytes(size);
  }
  void give(bytes&& v) {
    if (free.size() < 64) free.push_back(std::move(v));
  }
};

awaitable<void> pg_stream_send(pg::connection conn, bytes& payload, std::uint64_t count) {
  for (std::uint64_t i = 0; i < count; ++i) {
    stamp(payload, i);
    auto buf = asio::buffer(payload);
    co_await conn.send(stream_type, buf);
  }
}

awaitable<void> pg_stream_send_owned(pg::connection conn, vector_pool& pool, std::size_t size, std::uint64_t count) {
  for (std::uint64_t i = 0; i < count; ++i) {
    auto v = pool.take(size);
    stamp(v, i);
    co_await conn.send(stream_type, std::move(v));
  }
}

awaitable<void> pg_stream_receive(data_sub& sub, std::size_t size, std::uint64_t count, vector_pool* pool) {
  for (std::uint64_t i = 0; i < count; ++i) {
    auto ev = co_await sub.receive();
    verify(ev.data, i, size);
    if (pool) pool->give(std::move(ev.data));
  }
}

awaitable<double> pg_stream_once(pg::connection& conn, data_sub& sub, std::size_t size, std::uint64_t count,
                                 bool owned) {
  auto payload = make_payload(size);
  vector_pool pool;
  done_flag sender;
  auto ex = conn.get_executor();
  const auto t0 = clock_type::now();
  if (owned)
    asio::co_spawn(ex, pg_stream_send_owned(conn, pool, size, count), mark_done{&sender});
  else
    asio::co_spawn(ex, pg_stream_send(conn, payload, count), mark_done{&sender});
  try {
    co_await pg_stream_receive(sub, size, count, owned ? &pool : nullptr);
  } catch (const std::exception& e) {
    fail(e.what());
  }
  const double secs = seconds_since(t0);
  co_await wait_done(sender);
  co_return secs;
}

// Echoes `count` messages back on the connection each came from.
awaitable<void> pg_echo(pg::graph& g, data_sub& sub, std::uint64_t count) {
  for (std::uint64_t i = 0; i < count; ++i) {
    auto ev = co_await sub.receive();
    auto buf = asio::buffer(ev.data);
    co_await g.send(ev.connection, ping_type, buf);
  }
}

awaitable<void> pg_pingpong_once(pg::graph& echo_graph, data_sub& echo_sub, pg::connection& conn, data_sub& replies,
                                 std::size_t size, int warmup, int iters, std::vector<double>& rtt_us) {
  auto payload = make_payload(size);
  done_flag echo;
  const auto total = static_cast<std::uint64_t>(warmup + iters);
  asio::co_spawn(conn.get_executor(), pg_echo(echo_graph, echo_sub, total), mark_done{&echo});
  try {
    for (std::uint64_t i = 0; i < total; ++i) {
      stamp(payload, i);
      const auto t0 = clock_type::now();
      auto buf = asio::buffer(payload);
      co_await conn.send(ping_type, buf);
      auto ev = co_await replies.receive();
      const double us = seconds_since(t0) * 1e6;
      verify(ev.data, i, size);
      if (i >= static_cast<std::uint64_t>(warmup)) rtt_us.push_back(us);
    }
  } catch (const std::exception& e) {
    fail(e.what());
  }
  co_await wait_done(echo);
}

// ------------------------------------------------------------------ driver

std::uint64_t calibration_count(std::size_t size, bool quick) {
  const std::uint64_t by_bytes = (quick ? 2 : 8) * MiB / size;
  return std::clamp<std::uint64_t>(by_bytes, 16, 20'000);
}

// Messages for a repetition of about `seconds`, from a calibration run.
std::uint64_t scaled_count(std::uint64_t calib_count, double calib_secs, double seconds) {
  const double rate = static_cast<double>(calib_count) / std::max(calib_secs, 1e-6);
  return std::clamp<std::uint64_t>(static_cast<std::uint64_t>(rate * seconds), 16, 200'000'000);
}

void add_stream(std::vector<figure>& out, const std::string& system, std::size_t size,
                const std::vector<double>& msgs_per_s) {
  const double m = median(msgs_per_s);
  out.push_back({"stream", system, size, "msgs_per_s", m});
  out.push_back({"stream", system, size, "bytes_per_s", m * static_cast<double>(size)});
}

void add_pingpong(std::vector<figure>& out, const std::string& system, std::size_t size,
                  const std::vector<double>& p50, const std::vector<double>& p99) {
  out.push_back({"pingpong", system, size, "rtt_p50_us", median(p50)});
  out.push_back({"pingpong", system, size, "rtt_p99_us", median(p99)});
}

awaitable<void> run_all(asio::io_context& io, const config& cfg, std::vector<figure>& out) {
  // peergraph: alice accepts a direct connection from bob.
  pg::graph_options opts;
  auto alice = pg::graph::create(io, {.graph_id = "bench", .creator_id = "alice"}, opts);
  auto bob = pg::graph::open(io, "bench", "bob", opts);
  auto alice_control = alice.subscribe<pg::direct_connection_event>();
  auto alice_data = alice.subscribe<pg::incoming_data_event>();
  auto bob_data = bob.subscribe<pg::incoming_data_event>();
  const pg::endpoint listen_on(asio::ip::make_address("::1"), 0);
  const auto where = alice.listen(listen_on);
  const std::string alice_id = "alice";
  auto conn = co_await bob.open_direct(alice_id, where);
  auto opened = co_await alice_control.receive();
  if (opened.status != pg::connection_status::connected) throw std::runtime_error("direct connection not accepted");

  raw_pair raw(io);
  co_await raw_connect(raw);

  const int reps = cfg.quick ? 1 : cfg.reps;
  const double target = cfg.seconds;
  const bool run_pg = cfg.system.empty() || cfg.system == "peergraph";
  const bool run_raw = cfg.system.empty() || cfg.system == "asio";
  const bool run_owned = cfg.system.empty() || cfg.system == "peergraph-owned";
  const auto wanted = [&cfg](const char* scenario, std::size_t size) {
    return (cfg.scenario.empty() || cfg.scenario == scenario) && (cfg.size == 0 || cfg.size == size);
  };

  // ---------------------------------------------------------------- stream
  const std::array<std::size_t, 4> stream_sizes{64, 1 * KiB, 64 * KiB, 1 * MiB};
  for (const auto size : stream_sizes) {
    if (!wanted("stream", size)) continue;
    const bool pg_copy = run_pg;
    const bool pg_owned = run_owned && size >= 64 * KiB;
    const auto calib = calibration_count(size, cfg.quick);
    std::uint64_t n_pg = calib, n_owned = calib, n_raw = calib;
    std::vector<double> r_pg, r_owned, r_raw;
    if (!cfg.quick) {
      // Calibration doubles as warm-up.
      if (pg_copy) {
        const double s_pg = co_await pg_stream_once(conn, alice_data, size, calib, false);
        n_pg = scaled_count(calib, s_pg, target);
      }
      if (pg_owned) {
        const double s_owned = co_await pg_stream_once(conn, alice_data, size, calib, true);
        n_owned = scaled_count(calib, s_owned, target);
      }
      if (run_raw) {
        const double s_raw = co_await raw_stream_once(raw, size, calib);
        n_raw = scaled_count(calib, s_raw, target);
      }
    }
    // Repetitions alternate between the systems, so drift affects all alike.
    for (int r = 0; r < reps; ++r) {
      if (pg_copy) {
        const double s_pg = co_await pg_stream_once(conn, alice_data, size, n_pg, false);
        r_pg.push_back(static_cast<double>(n_pg) / s_pg);
      }
      if (pg_owned) {
        const double s_owned = co_await pg_stream_once(conn, alice_data, size, n_owned, true);
        r_owned.push_back(static_cast<double>(n_owned) / s_owned);
      }
      if (run_raw) {
        const double s_raw = co_await raw_stream_once(raw, size, n_raw);
        r_raw.push_back(static_cast<double>(n_raw) / s_raw);
      }
    }
    if (pg_copy) add_stream(out, "peergraph", size, r_pg);
    if (pg_owned) add_stream(out, "peergraph-owned", size, r_owned);
    if (run_raw) add_stream(out, "asio", size, r_raw);
  }

  // ---------------------------------------------------------------- ping-pong
  const std::array<std::size_t, 2> ping_sizes{64, 64 * KiB};
  for (const auto size : ping_sizes) {
    if (!wanted("pingpong", size)) continue;
    const int warmup = cfg.quick ? 20 : 200;
    const int iters = cfg.quick ? 200 : (size <= KiB ? 5000 : 2000);
    std::vector<double> pg50, pg99, raw50, raw99;
    for (int r = 0; r < reps; ++r) {
      std::vector<double> rtt;
      if (run_pg) {
        co_await pg_pingpong_once(alice, alice_data, conn, bob_data, size, warmup, iters, rtt);
        std::sort(rtt.begin(), rtt.end());
        pg50.push_back(percentile(rtt, 50));
        pg99.push_back(percentile(rtt, 99));
        rtt.clear();
      }
      if (run_raw) {
        co_await raw_pingpong_once(raw, size, warmup, iters, rtt);
        std::sort(rtt.begin(), rtt.end());
        raw50.push_back(percentile(rtt, 50));
        raw99.push_back(percentile(rtt, 99));
      }
    }
    if (run_pg) add_pingpong(out, "peergraph", size, pg50, pg99);
    if (run_raw) add_pingpong(out, "asio", size, raw50, raw99);
  }

  co_await conn.close();
  alice.close();
  bob.close();
  raw.client.close();
  raw.server.close();
  raw.acceptor.close();
}

// ------------------------------------------------------------------ output

const figure* find(const std::vector<figure>& all, const std::string& scenario, const std::string& system,
                   std::size_t size, const std::string& metric) {
  for (const auto& f : all)
    if (f.scenario == scenario && f.system == system && f.size == size && f.metric == metric) return &f;
  return nullptr;
}

std::string format_value(const std::string& metric, double v) {
  if (metric == "msgs_per_s") {
    if (v >= 1e6) return fmt::format("{:.2f} M/s", v / 1e6);
    return fmt::format("{:.1f} k/s", v / 1e3);
  }
  if (metric == "bytes_per_s") return fmt::format("{:.1f} MiB/s", v / static_cast<double>(MiB));
  return fmt::format("{:.1f} us", v);
}

void print_table(const std::vector<figure>& all) {
  struct row {
    std::string label, scenario, system;
  };
  const std::array<row, 3> rows{{{"stream", "stream", "peergraph"},
                                 {"stream (owned send)", "stream", "peergraph-owned"},
                                 {"pingpong", "pingpong", "peergraph"}}};
  const std::array<std::pair<const char*, const char*>, 4> metrics{
      {{"msgs_per_s", "msgs/s"}, {"bytes_per_s", "bytes/s"}, {"rtt_p50_us", "RTT p50"}, {"rtt_p99_us", "RTT p99"}}};
  fmt::print("{:<20} {:>8} {:<8} {:>14} {:>14} {:>7}\n", "scenario", "size", "metric", "peergraph", "asio", "ratio");
  fmt::print("{}\n", std::string(76, '-'));
  for (const auto& r : rows) {
    // Sizes measured for this row's system, or (for the main rows) only for asio.
    std::vector<std::size_t> sizes;
    for (const auto& f : all)
      if (f.scenario == r.scenario && (f.system == r.system || (f.system == "asio" && r.system == "peergraph")) &&
          std::find(sizes.begin(), sizes.end(), f.size) == sizes.end())
        sizes.push_back(f.size);
    std::sort(sizes.begin(), sizes.end());
    for (const auto size : sizes)
      for (const auto& [metric, label] : metrics) {
        const auto* p = find(all, r.scenario, r.system, size, metric);
        const auto* a = find(all, r.scenario, "asio", size, metric);
        if (!p && !a) continue;
        const std::string ratio = p && a && a->value > 0 ? fmt::format("{:.2f}", p->value / a->value) : "-";
        fmt::print("{:<20} {:>8} {:<8} {:>14} {:>14} {:>7}\n", r.label, size_name(size), label,
                   p ? format_value(metric, p->value) : "-", a ? format_value(metric, a->value) : "-", ratio);
      }
  }
  fmt::print("ratio: peergraph / asio (throughput: higher is better; latency: lower is better)\n");
}

bool write_json(const std::string& path, const std::vector<figure>& all) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return false;
  for (const auto& x : all)
    fmt::print(f, "{{\"scenario\":\"{}\",\"system\":\"{}\",\"size\":{},\"metric\":\"{}\",\"value\":{}}}\n", x.scenario,
               x.system, x.size, x.metric, x.value);
  return std::fclose(f) == 0;
}

void usage(std::FILE* to) {
  fmt::print(to,
             "usage: bench_stream [--quick] [--json FILE] [--reps N] [--seconds S]\n"
             "  --quick      one short repetition of everything (smoke test)\n"
             "  --json FILE  also write one JSON object per figure and line to FILE\n"
             "  --reps N     repetitions per figure, the median is reported (default 5)\n"
             "  --seconds S  length of one stream repetition (default 0.5)\n"
             "  --scenario stream|pingpong, --system peergraph|peergraph-owned|asio, --size BYTES\n"
             "               run only the matching figures (for profiling)\n");
}

}  // namespace

int main(int argc, char** argv) {
  config cfg;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--quick") {
      cfg.quick = true;
    } else if (arg == "--json" && has_value) {
      cfg.json = argv[++i];
    } else if (arg == "--reps" && has_value) {
      cfg.reps = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--seconds" && has_value) {
      cfg.seconds = std::max(0.01, std::atof(argv[++i]));
    } else if (arg == "--scenario" && has_value) {
      cfg.scenario = argv[++i];
    } else if (arg == "--system" && has_value) {
      cfg.system = argv[++i];
    } else if (arg == "--size" && has_value) {
      cfg.size = static_cast<std::size_t>(std::strtoull(argv[++i], nullptr, 10));
    } else if (arg == "--help" || arg == "-h") {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return 2;
    }
  }

  std::vector<figure> results;
  std::exception_ptr failure;
  bool finished = false;
  {
    asio::io_context io(1);
    asio::co_spawn(io, run_all(io, cfg, results), [&](std::exception_ptr e) {
      failure = e;
      finished = true;
      // After a failure, coroutines still under way may refer to what is gone.
      if (e) io.stop();
    });
    io.run();
  }
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_stream: %s\n", e.what());
      return 1;
    }
  }
  if (!finished) {
    std::fprintf(stderr, "bench_stream: the benchmark did not finish\n");
    return 1;
  }
  print_table(results);
  if (!cfg.json.empty() && !write_json(cfg.json, results)) {
    std::fprintf(stderr, "bench_stream: cannot write %s\n", cfg.json.c_str());
    return 1;
  }
  return 0;
}
