// benchmarks/stream.cpp: the `stream` and `pingpong` scenarios.
//
//   stream    one-way messages of 64 B, 1 KiB, 64 KiB and 1 MiB on one
//             connection; messages/s and payload bytes/s counted at the
//             receiver, from the first send to the last message received.
//             peergraph: a direct connection, one `co_await conn.send(type,
//             asio::buffer(payload))` per message (the copying send); the
//             receiver awaits `sub.receive()` and then takes the events
//             already queued with try_receive().
//             peergraph-try: try_send per message, wait_writable only when
//             the queue is above its high-water mark; the receiver takes
//             batches of up to 256 events with receive_some().
//             peergraph-owned (64 KiB and 1 MiB): a fresh vector per
//             message, handed over with `co_await conn.send(type, std::move(v))`.
//             asio: raw_asio.hpp's coalescing writer and frame reader.
//             asio-bytes (one figure, shown at 64 KiB): an unframed byte
//             stream between two Asio sockets, 256 KiB writes and reads:
//             what the loopback line carries, the ceiling of every system.
//             zeromq: PUSH / PULL, one zmq_send per message (zeromq.hpp).
//
//   pingpong  64 B and 64 KiB: one message out, the echo back; p50 and p99
//             of the round trip. peergraph echoes with graph.send() on the
//             connection the data came from; asio echoes on its socket;
//             zeromq is REQ / REP.
#include "common.hpp"
#include "direct_link.hpp"
#include "raw_asio.hpp"
#include "zeromq.hpp"

#include <array>

namespace bench {
namespace {

awaitable<void> pg_stream_send(pg::connection conn, bytes& payload, std::uint64_t count) {
  for (std::uint64_t i = 0; i < count; ++i) {
    stamp(payload, i);
    auto buf = asio::buffer(payload);
    co_await conn.send(stream_type, buf);
  }
}

// try_send until the queue is above its high-water mark, then wait for room:
// the sender suspends once per few megabytes, not once per message.
awaitable<void> pg_stream_try_send(pg::connection conn, bytes& payload, std::uint64_t count) {
  for (std::uint64_t i = 0; i < count; ++i) {
    stamp(payload, i);
    for (;;) {
      const auto ec = conn.try_send(stream_type, asio::buffer(payload));
      if (!ec) break;
      if (ec != asio::error::would_block) throw std::system_error(ec);
      co_await conn.wait_writable();
    }
  }
}

// A fresh vector per message, as a producer that builds each message in a
// vector of its own and hands it over; its allocation and fill are part of
// the figure.
awaitable<void> pg_stream_send_owned(pg::connection conn, std::size_t size, std::uint64_t count) {
  for (std::uint64_t i = 0; i < count; ++i) {
    bytes v(size);
    stamp(v, i);
    co_await conn.send(stream_type, std::move(v));
  }
}

// One `co_await receive()` per wake-up, then whatever is already queued
// through try_receive(): the way a throughput-minded application reads a
// subscription (each awaited receive is one executor handler).
awaitable<void> pg_stream_receive(data_sub& sub, std::size_t size, std::uint64_t count) {
  std::uint64_t i = 0;
  while (i < count) {
    auto ev = co_await sub.receive();
    verify(ev.data, i++, size);
    while (i < count) {
      auto more = sub.try_receive();
      if (!more) break;
      verify(more->data, i++, size);
    }
  }
}

// One receive_some per wake-up, into storage kept across repetitions' batches.
awaitable<void> pg_stream_receive_batch(data_sub& sub, std::size_t size, std::uint64_t count) {
  std::vector<pg::incoming_data_event> batch(256);
  std::uint64_t i = 0;
  while (i < count) {
    const auto n = co_await sub.receive_some(std::span(batch));
    for (std::size_t k = 0; k < n; ++k) verify(batch[k].data, i++, size);
  }
}

}  // namespace

// One peergraph stream repetition (also used by the events scenario);
// returns the seconds from the first send to the last message received.
awaitable<double> pg_stream_once(pg::connection& conn, data_sub& sub, std::size_t size, std::uint64_t count,
                                 send_mode mode) {
  const bool owned = mode == send_mode::owned;
  auto payload = make_payload(size);
  done_flag sender;
  auto ex = conn.get_executor();
  const auto t0 = clock_type::now();
  if (owned)
    asio::co_spawn(ex, pg_stream_send_owned(conn, size, count), mark_done{&sender});
  else if (mode == send_mode::try_send)
    asio::co_spawn(ex, pg_stream_try_send(conn, payload, count), mark_done{&sender});
  else
    asio::co_spawn(ex, pg_stream_send(conn, payload, count), mark_done{&sender});
  try {
    if (mode == send_mode::try_send)
      co_await pg_stream_receive_batch(sub, size, count);
    else
      co_await pg_stream_receive(sub, size, count);
  } catch (const std::exception& e) {
    fail(e.what());
  }
  const double secs = seconds_since(t0);
  co_await wait_done(sender);
  co_return secs;
}

namespace {

// Echoes `count` messages back on the connection each came from.
awaitable<void> pg_echo(pg::graph& g, data_sub& sub, std::uint64_t count) {
  for (std::uint64_t i = 0; i < count; ++i) {
    auto ev = co_await sub.receive();
    auto buf = asio::buffer(ev.data);
    co_await g.send(ev.connection, ping_type, buf);
  }
}

awaitable<void> pg_pingpong_once(direct_link& l, std::size_t size, int warmup, int iters, std::vector<double>& rtt_us) {
  auto payload = make_payload(size);
  done_flag echo;
  const auto total = static_cast<std::uint64_t>(warmup + iters);
  asio::co_spawn(l.conn.get_executor(), pg_echo(l.alice, l.alice_data, total), mark_done{&echo});
  try {
    for (std::uint64_t i = 0; i < total; ++i) {
      stamp(payload, i);
      const auto t0 = clock_type::now();
      auto buf = asio::buffer(payload);
      co_await l.conn.send(ping_type, buf);
      auto ev = co_await l.bob_data.receive();
      const double us = seconds_since(t0) * 1e6;
      verify(ev.data, i, size);
      if (i >= static_cast<std::uint64_t>(warmup)) rtt_us.push_back(us);
    }
  } catch (const std::exception& e) {
    fail(e.what());
  }
  co_await wait_done(echo);
}

void add_stream(context& ctx, const char* system, std::size_t size, const std::vector<double>& msgs_per_s) {
  const double m = median(msgs_per_s);
  ctx.add("stream", system, size, "msgs_per_s", m);
  ctx.add("stream", system, size, "bytes_per_s", m * static_cast<double>(size));
}

}  // namespace

namespace {

// The systems of the stream scenario, in the order each repetition runs them.
enum class stream_system { pg, pg_try, pg_owned, raw, raw_bytes, zmq };
constexpr std::array<stream_system, 6> stream_systems{stream_system::pg,        stream_system::pg_try,
                                                      stream_system::pg_owned,  stream_system::raw,
                                                      stream_system::raw_bytes, stream_system::zmq};

const char* name_of(stream_system s) {
  switch (s) {
    case stream_system::pg:
      return peergraph_system;
    case stream_system::pg_try:
      return peergraph_try_system;
    case stream_system::pg_owned:
      return peergraph_owned_system;
    case stream_system::raw:
      return asio_system;
    case stream_system::raw_bytes:
      return asio_bytes_system;
    case stream_system::zmq:
      return zeromq_system;
  }
  return "";
}

struct stream_rig {
  direct_link& link;
  raw::socket_pair& raw;
  zeromq::stream_link& zmq;
};

// One repetition of `count` messages of `size` bytes; the seconds it took.
awaitable<double> stream_once(stream_rig& rig, stream_system s, std::size_t size, std::uint64_t count) {
  switch (s) {
    case stream_system::pg:
      co_return co_await pg_stream_once(rig.link.conn, rig.link.alice_data, size, count, send_mode::awaited);
    case stream_system::pg_try:
      co_return co_await pg_stream_once(rig.link.conn, rig.link.alice_data, size, count, send_mode::try_send);
    case stream_system::pg_owned:
      co_return co_await pg_stream_once(rig.link.conn, rig.link.alice_data, size, count, send_mode::owned);
    case stream_system::raw:
      co_return co_await raw::stream_once(rig.raw, size, count);
    case stream_system::raw_bytes:
      co_return co_await raw::bytes_once(rig.raw, size * count);
    case stream_system::zmq:
      co_return rig.zmq.once(size, count);
  }
  co_return 0.0;
}

bool applies(stream_system s, std::size_t size) {
  // Owned vectors matter for large payloads; the unframed byte stream is
  // one line (its figure does not depend on a message size), measured at 64 KiB.
  if (s == stream_system::pg_owned) return size >= 64 * KiB;
  if (s == stream_system::raw_bytes) return size == 64 * KiB;
  return true;
}

}  // namespace

awaitable<void> run_stream(context& ctx) {
  direct_link link(ctx.io);
  co_await open_link(link);
  raw::socket_pair raw(ctx.io);
  co_await raw::open_pair(raw);
  zeromq::stream_link zmq;
  stream_rig rig{link, raw, zmq};
  const double target = ctx.cfg.seconds;

  const std::array<std::size_t, 4> sizes{64, 1 * KiB, 64 * KiB, 1 * MiB};
  for (const auto size : sizes) {
    if (!ctx.wants("stream", size)) continue;
    std::vector<stream_system> run;
    for (const auto s : stream_systems)
      if (ctx.runs(name_of(s)) && applies(s, size)) run.push_back(s);
    const auto calib = ctx.cfg.count ? ctx.cfg.count : calibration_count(size, ctx.cfg.quick);
    std::vector<std::uint64_t> counts(run.size(), calib);
    std::vector<std::vector<double>> rates(run.size());
    if (!ctx.cfg.quick && !ctx.cfg.count)
      for (std::size_t k = 0; k < run.size(); ++k) {
        // Calibration doubles as warm-up.
        const double secs = co_await stream_once(rig, run[k], size, calib);
        counts[k] = scaled_count(calib, secs, target);
      }
    // Repetitions alternate between the systems, so drift affects all alike.
    for (int r = 0; r < ctx.reps(); ++r)
      for (std::size_t k = 0; k < run.size(); ++k) {
        const double secs = co_await stream_once(rig, run[k], size, counts[k]);
        rates[k].push_back(static_cast<double>(counts[k]) / secs);
      }
    for (std::size_t k = 0; k < run.size(); ++k) add_stream(ctx, name_of(run[k]), size, rates[k]);
  }

  co_await close_link(link);
}

awaitable<void> run_pingpong(context& ctx) {
  direct_link link(ctx.io);
  co_await open_link(link);
  raw::socket_pair raw(ctx.io);
  co_await raw::open_pair(raw);
  zeromq::request_link zmq;

  const bool run_pg = ctx.runs(peergraph_system);
  const bool run_raw = ctx.runs(asio_system);
  const bool run_zmq = ctx.runs(zeromq_system);

  const std::array<std::size_t, 2> sizes{64, 64 * KiB};
  for (const auto size : sizes) {
    if (!ctx.wants("pingpong", size)) continue;
    const int warmup = ctx.cfg.quick ? 20 : 200;
    const int iters = ctx.cfg.quick ? 200 : (size <= KiB ? 5000 : 2000);
    std::vector<double> pg50, pg99, raw50, raw99, zmq50, zmq99;
    for (int r = 0; r < ctx.reps(); ++r) {
      std::vector<double> rtt;
      if (run_pg) {
        co_await pg_pingpong_once(link, size, warmup, iters, rtt);
        pg50.push_back(percentile(rtt, 50));
        pg99.push_back(percentile(rtt, 99));
        rtt.clear();
      }
      if (run_raw) {
        co_await raw::pingpong_once(raw, size, warmup, iters, rtt);
        raw50.push_back(percentile(rtt, 50));
        raw99.push_back(percentile(rtt, 99));
        rtt.clear();
      }
      if (run_zmq) {
        zmq.once(size, warmup, iters, rtt);
        zmq50.push_back(percentile(rtt, 50));
        zmq99.push_back(percentile(rtt, 99));
      }
    }
    const auto add = [&ctx, size](const char* system, const std::vector<double>& p50, const std::vector<double>& p99) {
      ctx.add("pingpong", system, size, "rtt_p50_us", median(p50));
      ctx.add("pingpong", system, size, "rtt_p99_us", median(p99));
    };
    if (run_pg) add(peergraph_system, pg50, pg99);
    if (run_raw) add(asio_system, raw50, raw99);
    if (run_zmq) add(zeromq_system, zmq50, zmq99);
  }

  co_await close_link(link);
}

}  // namespace bench
