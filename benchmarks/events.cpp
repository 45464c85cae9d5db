// benchmarks/events.cpp: the `events` scenario: how many events per second
// an application receives through a subscription.
//
// The public API produces events only from the network, so the source is a
// direct connection on which one node sends 8-byte messages (just the
// sequence number) as fast as it can; the other node takes the
// incoming_data_events with `co_await subscription.receive()` and, after
// each, the ones already queued with try_receive(), checking their order.
// peergraph-try: the sender uses try_send and the receiver receive_some,
// one wake-up per batch of up to 256 events. With payloads this small the figure is
// dominated by the per-event costs: framing, routing to the subscription, queueing, waking the receiving coroutine.
// asio and zeromq do the same with 8-byte messages (frames parsed by the reader, messages taken with zmq_msg_recv): the
// rate at which each hands single messages to an application.
#include "common.hpp"
#include "direct_link.hpp"
#include "raw_asio.hpp"
#include "zeromq.hpp"

namespace bench {

awaitable<void> run_events(context& ctx) {
  if (!ctx.wants("events")) co_return;
  constexpr std::size_t size = 8;
  direct_link link(ctx.io);
  co_await open_link(link);
  raw::socket_pair raw(ctx.io);
  co_await raw::open_pair(raw);
  zeromq::stream_link zmq;

  const bool run_pg = ctx.runs(peergraph_system);
  const bool run_try = ctx.runs(peergraph_try_system);
  const bool run_raw = ctx.runs(asio_system);
  const bool run_zmq = ctx.runs(zeromq_system);
  const double target = ctx.cfg.seconds;
  const std::uint64_t calib = ctx.cfg.quick ? 20'000 : 100'000;
  std::uint64_t n_pg = calib, n_try = calib, n_raw = calib, n_zmq = calib;
  if (!ctx.cfg.quick) {
    if (run_pg) {
      const double s = co_await pg_stream_once(link.conn, link.alice_data, size, calib, send_mode::awaited);
      n_pg = scaled_count(calib, s, target);
    }
    if (run_try) {
      const double s = co_await pg_stream_once(link.conn, link.alice_data, size, calib, send_mode::try_send);
      n_try = scaled_count(calib, s, target);
    }
    if (run_raw) {
      const double s = co_await raw::stream_once(raw, size, calib);
      n_raw = scaled_count(calib, s, target);
    }
    if (run_zmq) n_zmq = scaled_count(calib, zmq.once(size, calib), target);
  }
  std::vector<double> r_pg, r_try, r_raw, r_zmq;
  for (int r = 0; r < ctx.reps(); ++r) {
    if (run_pg) {
      const double s = co_await pg_stream_once(link.conn, link.alice_data, size, n_pg, send_mode::awaited);
      r_pg.push_back(static_cast<double>(n_pg) / s);
    }
    if (run_try) {
      const double s = co_await pg_stream_once(link.conn, link.alice_data, size, n_try, send_mode::try_send);
      r_try.push_back(static_cast<double>(n_try) / s);
    }
    if (run_raw) {
      const double s = co_await raw::stream_once(raw, size, n_raw);
      r_raw.push_back(static_cast<double>(n_raw) / s);
    }
    if (run_zmq) r_zmq.push_back(static_cast<double>(n_zmq) / zmq.once(size, n_zmq));
  }
  if (run_pg) ctx.add("events", peergraph_system, 0, "events_per_s", median(r_pg));
  if (run_try) ctx.add("events", peergraph_try_system, 0, "events_per_s", median(r_try));
  if (run_raw) ctx.add("events", asio_system, 0, "events_per_s", median(r_raw));
  if (run_zmq) ctx.add("events", zeromq_system, 0, "events_per_s", median(r_zmq));
  co_await close_link(link);
}

}  // namespace bench
