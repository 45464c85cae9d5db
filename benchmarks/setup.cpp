// benchmarks/setup.cpp: the `connect` and `open_direct` scenarios: how long
// it takes until a new link can be used. Each figure is the median over
// repetitions of the p50 of --quick ? 20 : 200 setups.
//
//   connect      peergraph: from calling graph.connect(endpoint) on a new
//                node (graph::open, not yet synchronized) until the connect
//                has completed and the listening node has reported the
//                neighbor_connection_event `connected`. The new node is
//                closed and its disconnect seen before the next setup.
//   open_direct  peergraph: from calling open_direct(peer, endpoint) on a
//                node until the accepting node (subscribed to direct
//                connection and incoming data events) has reported the
//                direct_connection_event `connected`. The direct connection
//                is closed and its end seen before the next setup.
//   asio         (both scenarios) a new tcp::socket: connect, accept,
//                TCP_NODELAY on both ends, one 64-byte framed message to the
//                accepting end and its echo back.
//   zeromq       (connect only) a new REQ socket connecting to a REP socket
//                and making one round trip of 64 bytes.
#include "common.hpp"
#include "raw_asio.hpp"
#include "zeromq.hpp"

namespace bench {
namespace {

int setups(const context& ctx) { return ctx.cfg.quick ? 20 : 200; }

// The raw baseline: TCP connect plus one small round trip.
awaitable<double> raw_setup_us(tcp::acceptor& acceptor, const tcp::endpoint& where, std::uint64_t seq) {
  auto ex = co_await asio::this_coro::executor;
  tcp::socket client(ex);
  tcp::socket server(ex);
  auto payload = make_payload(64);
  stamp(payload, seq);
  raw::io_buffer frame;
  raw::wire::append_frame(frame, ping_type.to_windows_bytes(), payload);
  raw::io_buffer in(frame.size());
  const auto t0 = clock_type::now();
  co_await client.async_connect(where, asio::use_awaitable);
  co_await acceptor.async_accept(server, asio::use_awaitable);
  client.set_option(tcp::no_delay(true));
  server.set_option(tcp::no_delay(true));
  auto out = asio::buffer(frame);
  co_await asio::async_write(client, out, asio::use_awaitable);
  auto at_server = asio::buffer(in);
  co_await asio::async_read(server, at_server, asio::use_awaitable);
  co_await asio::async_write(server, at_server, asio::use_awaitable);
  auto at_client = asio::buffer(in);
  co_await asio::async_read(client, at_client, asio::use_awaitable);
  const double us = seconds_since(t0) * 1e6;
  verify(in.data() + raw::wire::header_size, in.size() - raw::wire::header_size, seq, 64);
  co_return us;
}

struct raw_listener {
  explicit raw_listener(asio::io_context& io) : acceptor(io) {
    const tcp::endpoint any(asio::ip::make_address("::1"), 0);
    acceptor.open(any.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(any);
    acceptor.listen();
    where = acceptor.local_endpoint();
  }
  tcp::acceptor acceptor;
  tcp::endpoint where;
};

using neighbor_sub = pg::graph::subscription_type<pg::neighbor_connection_event>;
using direct_sub = pg::graph::subscription_type<pg::direct_connection_event>;

template <typename Sub>
awaitable<void> wait_for(Sub& sub, pg::connection_status status) {
  for (;;) {
    auto ev = co_await sub.receive();
    if (ev.status == status) co_return;
    if (ev.status == pg::connection_status::failed) throw std::runtime_error("setup: a connection failed");
  }
}

awaitable<double> pg_connect_us(asio::io_context& io, neighbor_sub& events, pg::endpoint where, int n) {
  auto joiner = pg::graph::open(io, "bench", fmt::format("joiner-{}", n));
  const auto t0 = clock_type::now();
  auto conn = co_await joiner.connect(where);
  co_await wait_for(events, pg::connection_status::connected);
  const double us = seconds_since(t0) * 1e6;
  joiner.close();
  co_await wait_for(events, pg::connection_status::disconnected);
  co_return us;
}

awaitable<double> pg_open_direct_us(pg::graph& bob, direct_sub& events, pg::endpoint where) {
  const std::string alice_id = "alice";
  const auto t0 = clock_type::now();
  auto conn = co_await bob.open_direct(alice_id, where);
  co_await wait_for(events, pg::connection_status::connected);
  const double us = seconds_since(t0) * 1e6;
  co_await conn.close(nothrow);
  co_await wait_for(events, pg::connection_status::disconnected);
  co_return us;
}

}  // namespace

awaitable<void> run_connect(context& ctx) {
  if (!ctx.wants("connect")) co_return;
  auto alice = pg::graph::create(ctx.io, {.graph_id = "bench", .creator_id = "alice"});
  auto events = alice.subscribe<pg::neighbor_connection_event>();
  const auto where = alice.listen(loopback());
  raw_listener raw(ctx.io);
  zeromq::echo_server zmq;

  const int n = setups(ctx);
  std::vector<double> pg_p50, raw_p50, zmq_p50;
  int joiner = 0;
  // Warm-up: a few setups of each kind, not counted.
  for (int i = 0; i < 5; ++i) {
    const int id = joiner++;
    co_await pg_connect_us(ctx.io, events, where, id);
    co_await raw_setup_us(raw.acceptor, raw.where, 0);
  }
  for (int r = 0; r < ctx.reps(); ++r) {
    std::vector<double> t_pg, t_raw, t_zmq;
    for (int i = 0; i < n; ++i) {
      if (ctx.runs(peergraph_system)) {
        const int id = joiner++;
        const double us = co_await pg_connect_us(ctx.io, events, where, id);
        t_pg.push_back(us);
      }
      if (ctx.runs(asio_system)) {
        const double us = co_await raw_setup_us(raw.acceptor, raw.where, static_cast<std::uint64_t>(i));
        t_raw.push_back(us);
      }
      if (ctx.runs(zeromq_system)) t_zmq.push_back(zeromq::connect_round_trip_us(zmq));
    }
    if (!t_pg.empty()) pg_p50.push_back(percentile(t_pg, 50));
    if (!t_raw.empty()) raw_p50.push_back(percentile(t_raw, 50));
    if (!t_zmq.empty()) zmq_p50.push_back(percentile(t_zmq, 50));
  }
  if (!pg_p50.empty()) ctx.add("connect", peergraph_system, 0, "setup_p50_us", median(pg_p50));
  if (!raw_p50.empty()) ctx.add("connect", asio_system, 0, "setup_p50_us", median(raw_p50));
  if (!zmq_p50.empty()) ctx.add("connect", zeromq_system, 0, "setup_p50_us", median(zmq_p50));
  alice.close();
}

awaitable<void> run_open_direct(context& ctx) {
  if (!ctx.wants("open_direct")) co_return;
  auto alice = pg::graph::create(ctx.io, {.graph_id = "bench", .creator_id = "alice"});
  auto bob = pg::graph::open(ctx.io, "bench", "bob");
  auto events = alice.subscribe<pg::direct_connection_event>();
  auto data = alice.subscribe<pg::incoming_data_event>();  // a node accepts direct connections only with both
  const auto where = alice.listen(loopback());
  raw_listener raw(ctx.io);

  const int n = setups(ctx);
  std::vector<double> pg_p50, raw_p50;
  for (int i = 0; i < 5; ++i) {
    co_await pg_open_direct_us(bob, events, where);
    co_await raw_setup_us(raw.acceptor, raw.where, 0);
  }
  for (int r = 0; r < ctx.reps(); ++r) {
    std::vector<double> t_pg, t_raw;
    for (int i = 0; i < n; ++i) {
      if (ctx.runs(peergraph_system)) {
        const double us = co_await pg_open_direct_us(bob, events, where);
        t_pg.push_back(us);
      }
      if (ctx.runs(asio_system)) {
        const double us = co_await raw_setup_us(raw.acceptor, raw.where, static_cast<std::uint64_t>(i));
        t_raw.push_back(us);
      }
    }
    if (!t_pg.empty()) pg_p50.push_back(percentile(t_pg, 50));
    if (!t_raw.empty()) raw_p50.push_back(percentile(t_raw, 50));
  }
  if (!pg_p50.empty()) ctx.add("open_direct", peergraph_system, 0, "setup_p50_us", median(pg_p50));
  if (!raw_p50.empty()) ctx.add("open_direct", asio_system, 0, "setup_p50_us", median(raw_p50));
  alice.close();
  bob.close();
}

}  // namespace bench
