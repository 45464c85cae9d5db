// benchmarks/stream.cpp: the `stream` and `pingpong` scenarios.
//
//   stream    one-way messages of 64 B, 1 KiB, 64 KiB and 1 MiB on one
//             connection; messages/s and payload bytes/s counted at the
//             receiver, from the first send to the last message received.
//             peergraph: a direct connection, one `co_await conn.send(type,
//             asio::buffer(payload))` per message (the copying send); the
//             receiver awaits `sub.receive()` and then takes the events
//             already queued with try_receive(). For 64 KiB and 1 MiB the owned-vector send is
//             shown too ("peergraph-owned", table only), with the vectors
//             the receiver got handed back to the sender.
//             asio: raw_asio.hpp's coalescing writer and frame reader.
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

// One `co_await receive()` per wake-up, then whatever is already queued
// through try_receive(): the way a throughput-minded application reads a
// subscription (each awaited receive is one executor handler).
awaitable<void> pg_stream_receive(data_sub& sub, std::size_t size, std::uint64_t count, vector_pool* pool) {
  std::uint64_t i = 0;
  while (i < count) {
    auto ev = co_await sub.receive();
    verify(ev.data, i++, size);
    if (pool) pool->give(std::move(ev.data));
    while (i < count) {
      auto more = sub.try_receive();
      if (!more) break;
      verify(more->data, i++, size);
      if (pool) pool->give(std::move(more->data));
    }
  }
}

}  // namespace

// One peergraph stream repetition (also used by the events scenario);
// returns the seconds from the first send to the last message received.
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

awaitable<void> run_stream(context& ctx) {
  direct_link link(ctx.io);
  co_await open_link(link);
  raw::socket_pair raw(ctx.io);
  co_await raw::open_pair(raw);
  zeromq::stream_link zmq;

  const bool run_pg = ctx.runs(peergraph_system);
  const bool run_owned = ctx.runs("peergraph-owned");
  const bool run_raw = ctx.runs(asio_system);
  const bool run_zmq = ctx.runs(zeromq_system);
  const double target = ctx.cfg.seconds;

  const std::array<std::size_t, 4> sizes{64, 1 * KiB, 64 * KiB, 1 * MiB};
  for (const auto size : sizes) {
    if (!ctx.wants("stream", size)) continue;
    const bool pg_owned = run_owned && size >= 64 * KiB;
    const auto calib = calibration_count(size, ctx.cfg.quick);
    std::uint64_t n_pg = calib, n_owned = calib, n_raw = calib, n_zmq = calib;
    std::vector<double> r_pg, r_owned, r_raw, r_zmq;
    if (!ctx.cfg.quick) {
      // Calibration doubles as warm-up.
      if (run_pg) {
        const double s = co_await pg_stream_once(link.conn, link.alice_data, size, calib, false);
        n_pg = scaled_count(calib, s, target);
      }
      if (pg_owned) {
        const double s = co_await pg_stream_once(link.conn, link.alice_data, size, calib, true);
        n_owned = scaled_count(calib, s, target);
      }
      if (run_raw) {
        const double s = co_await raw::stream_once(raw, size, calib);
        n_raw = scaled_count(calib, s, target);
      }
      if (run_zmq) n_zmq = scaled_count(calib, zmq.once(size, calib), target);
    }
    // Repetitions alternate between the systems, so drift affects all alike.
    for (int r = 0; r < ctx.reps(); ++r) {
      if (run_pg) {
        const double s = co_await pg_stream_once(link.conn, link.alice_data, size, n_pg, false);
        r_pg.push_back(static_cast<double>(n_pg) / s);
      }
      if (pg_owned) {
        const double s = co_await pg_stream_once(link.conn, link.alice_data, size, n_owned, true);
        r_owned.push_back(static_cast<double>(n_owned) / s);
      }
      if (run_raw) {
        const double s = co_await raw::stream_once(raw, size, n_raw);
        r_raw.push_back(static_cast<double>(n_raw) / s);
      }
      if (run_zmq) {
        const double s = zmq.once(size, n_zmq);
        r_zmq.push_back(static_cast<double>(n_zmq) / s);
      }
    }
    if (run_pg) add_stream(ctx, peergraph_system, size, r_pg);
    if (pg_owned) add_stream(ctx, "peergraph-owned", size, r_owned);
    if (run_raw) add_stream(ctx, asio_system, size, r_raw);
    if (run_zmq) add_stream(ctx, zeromq_system, size, r_zmq);
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
