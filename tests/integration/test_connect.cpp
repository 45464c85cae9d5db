// Neighbor connections between graph nodes in one io_context over loopback.
#include "support/graphs.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/deferred.hpp>

#include <future>
#include <thread>

using namespace pgtest;
using asio::awaitable;
using asio::use_awaitable;

namespace {

using conn_sub = pg::graph::subscription_type<pg::neighbor_connection_event>;

}  // namespace

TEST_CASE("two nodes connect and both report the neighbor connection", "[connect]") {
  const bool v6 = GENERATE(true, false);
  run([v6](asio::io_context& io) -> awaitable<void> {
    auto a = tcp_nodes(io).creator();
    auto b = tcp_nodes(io).joiner();
    auto a_events = a.subscribe<pg::neighbor_connection_event>();
    auto b_events = b.subscribe<pg::neighbor_connection_event>();
    auto b_status = b.subscribe<pg::status_changed_event>();

    const auto ep = a.listen(v6 ? loopback6() : loopback4());
    CHECK(ep.port() != 0);
    CHECK(ep.address().is_v6() == v6);
    CHECK(a.status().is_listening());
    CHECK(a.status().is_synchronized());
    CHECK_FALSE(b.status().is_synchronized());

    auto conn = co_await b.connect(ep);
    CHECK(conn.is_open());
    CHECK(conn.remote_node() == a.id());
    CHECK(conn.remote_peer_id() == "alice");
    CHECK(conn.kind() == pg::connection_kind::neighbor);
    CHECK(conn.remote_endpoint() == ep);

    auto at_b = co_await next(b_events);
    CHECK(at_b.status == pg::connection_status::connected);
    CHECK(at_b.connection.id == conn.id());
    CHECK(at_b.connection.node == a.id());
    CHECK(at_b.connection.peer_id == "alice");
    CHECK_FALSE(at_b.reason);

    auto at_a = co_await next(a_events);
    CHECK(at_a.status == pg::connection_status::connected);
    CHECK(at_a.connection.node == b.id());
    CHECK(at_a.connection.peer_id == "bob");
    CHECK(at_a.connection.id != 0);

    // The joiner is synchronized by its first neighbor and may now listen.
    auto st = co_await next(b_status);
    CHECK(st.status.has_neighbors());
    CHECK_FALSE(st.status.is_synchronized());
    auto synced = co_await next(b_status);
    CHECK(synced.status.has_neighbors());
    CHECK(synced.status.is_synchronized());
    CHECK(b.status().has_neighbors());

    REQUIRE(a.connections().size() == 1);
    CHECK(a.connections()[0].peer_id == "bob");
    CHECK(a.find_connection(at_a.connection.id).is_open());
    CHECK_FALSE(a.find_connection(12345).is_open());

    // Closing one side is seen as a disconnect on the other.
    b.close();
    auto gone = co_await next(a_events);
    CHECK(gone.status == pg::connection_status::disconnected);
    CHECK(gone.connection.node == b.id());
    CHECK(gone.reason == pg::protocol::error::peer_disconnected);
    CHECK(a.connections().empty());
    CHECK_FALSE(a.status().has_neighbors());
  });
}

TEST_CASE("a connection's id can be chosen before the connect completes", "[connect][id]") {
  run([](asio::io_context& io) -> awaitable<void> {
    auto a = tcp_nodes(io).creator();
    auto b = tcp_nodes(io).joiner();
    auto b_events = b.subscribe<pg::neighbor_connection_event>();
    const auto ep = a.listen(loopback6());
    pg::connect_options opts;
    opts.id = b.new_connection_id();
    CHECK(opts.id != 0);
    auto conn = co_await b.connect(ep, opts);
    CHECK(conn.id() == opts.id);
    auto ev = co_await next(b_events);
    CHECK(ev.connection.id == opts.id);
    CHECK(b.find_connection(opts.id).is_open());
    CHECK(b.new_connection_id() != opts.id);

    // An id in use is refused before anything is attempted.
    auto c = tcp_nodes(io).creator("carol");
    const auto ep_c = c.listen(loopback6());
    auto [ec, none] = co_await b.connect(ep_c, opts, asio::experimental::as_tuple(use_awaitable));
    CHECK(ec == pg::errc::invalid_argument);
    CHECK_FALSE(none);
    CHECK(b.connections().size() == 1);

    // A failed attempt is reported under the chosen id too.
    pg::connect_options to_nowhere;
    to_nowhere.id = b.new_connection_id();
    auto dead = ep_c;
    c.close();
    co_await sleep_for(20ms);
    auto [ec2, none2] = co_await b.connect(dead, to_nowhere, asio::experimental::as_tuple(use_awaitable));
    CHECK(ec2);
    auto failed = co_await next(b_events);
    CHECK(failed.status == pg::connection_status::failed);
    CHECK(failed.connection.id == to_nowhere.id);
  });
}

TEST_CASE("three nodes form a triangle", "[connect]") {
  run([](asio::io_context& io) -> awaitable<void> {
    auto a = tcp_nodes(io).creator("alice");
    auto b = tcp_nodes(io).joiner("bob");
    auto c = tcp_nodes(io).joiner("carol");
    const auto ea = a.listen(loopback6());
    co_await b.connect(ea);
    co_await synchronized(b);
    const auto eb = b.listen(loopback4());  // synchronized through a, so it may listen
    auto cb = co_await c.connect(eb);
    auto ca = co_await c.connect(ea);
    CHECK(cb.remote_peer_id() == "bob");
    CHECK(ca.remote_peer_id() == "alice");
    CHECK(a.connections().size() == 2);
    CHECK(b.connections().size() == 2);
    CHECK(c.connections().size() == 2);
  });
}

TEST_CASE("an opened graph cannot listen before it has synchronized", "[connect]") {
  run([](asio::io_context& io) -> awaitable<void> {
    auto b = tcp_nodes(io).joiner();
    std::error_code ec;
    b.listen(loopback6(), ec);
    CHECK(ec == pg::errc::graph_not_ready);
    CHECK_THROWS_AS(b.listen(loopback6()), std::system_error);
    co_return;
  });
}

TEST_CASE("a second neighbor connection to the same node fails with already_exists", "[connect]") {
  run([](asio::io_context& io) -> awaitable<void> {
    auto a = tcp_nodes(io).creator();
    auto b = tcp_nodes(io).joiner();
    const auto ea = a.listen(loopback6());
    co_await b.connect(ea);

    // Same address again: known locally, refused before any traffic, and
    // reported as a failed attempt under its id.
    auto b_early = b.subscribe<pg::neighbor_connection_event>();
    pg::connect_options again;
    again.id = b.new_connection_id();
    auto [ec1, c1] = co_await b.connect(ea, again, asio::experimental::as_tuple(use_awaitable));
    CHECK(ec1 == pg::errc::already_exists);
    CHECK_FALSE(c1.is_open());
    auto early = co_await next(b_early);
    CHECK(early.status == pg::connection_status::failed);
    CHECK(early.connection.id == again.id);
    CHECK(early.reason == pg::errc::already_exists);
    b_early.close();

    // The other direction reaches the remote, which refuses the duplicate.
    auto a_events = a.subscribe<pg::neighbor_connection_event>();
    auto b_events = b.subscribe<pg::neighbor_connection_event>();
    co_await synchronized(b);
    const auto eb = b.listen(loopback6());
    auto [ec2, c2] = co_await a.connect(eb, asio::experimental::as_tuple(use_awaitable));
    CHECK(ec2 == pg::errc::already_exists);
    CHECK(ec2 == pg::condition::refused);
    auto fa = co_await next(a_events);
    CHECK(fa.status == pg::connection_status::failed);
    CHECK(fa.reason == pg::errc::already_exists);
    auto fb = co_await next(b_events);
    CHECK(fb.status == pg::connection_status::failed);
    CHECK(fb.reason == pg::errc::already_exists);
    CHECK(a.connections().size() == 1);
    CHECK(b.connections().size() == 1);
  });
}

namespace {

awaitable<void> dial(pg::graph& g, pg::endpoint ep, std::error_code& result, int& done) {
  auto [ec, c] = co_await g.connect(ep, asio::experimental::as_tuple(use_awaitable));
  result = ec;
  ++done;
}

}  // namespace

TEST_CASE("two nodes that dial each other at once end with exactly one link", "[connect]") {
  run(
      [](asio::io_context& io) -> awaitable<void> {
        // The interleaving differs from round to round; whatever it is, one
        // link must remain, and the same one on both sides.
        for (int round = 0; round < 20; ++round) {
          auto a = tcp_nodes(io).creator("alice");
          auto b = tcp_nodes(io).creator("bob");
          const auto ea = a.listen(loopback6());
          const auto eb = b.listen(loopback6());
          std::error_code ab, ba;
          int done = 0;
          asio::co_spawn(io, dial(a, eb, ab, done), asio::detached);
          asio::co_spawn(io, dial(b, ea, ba, done), asio::detached);
          for (int i = 0; i < 500 && done < 2; ++i) co_await sleep_for(2ms);
          REQUIRE(done == 2);
          CHECK((!ab || !ba));  // at least one connect succeeded
          if (ab) CHECK(ab == pg::errc::already_exists);
          if (ba) CHECK(ba == pg::errc::already_exists);
          // Let the loser's link close on both ends.
          for (int i = 0; i < 500; ++i) {
            if (a.connections(pg::connection_kind::neighbor).size() == 1 &&
                b.connections(pg::connection_kind::neighbor).size() == 1)
              break;
            co_await sleep_for(2ms);
          }
          const auto at_a = a.connections(pg::connection_kind::neighbor);
          const auto at_b = b.connections(pg::connection_kind::neighbor);
          REQUIRE(at_a.size() == 1);
          REQUIRE(at_b.size() == 1);
          CHECK(at_a[0].node == b.id());
          CHECK(at_b[0].node == a.id());
          a.close();
          b.close();
        }
      },
      30'000ms);
}

TEST_CASE("connecting to one's own node fails with connect_self", "[connect]") {
  run([](asio::io_context& io) -> awaitable<void> {
    auto a = tcp_nodes(io).creator();
    auto events = a.subscribe<pg::neighbor_connection_event>();
    const auto ea = a.listen(loopback6());
    auto [ec, c] = co_await a.connect(ea, asio::experimental::as_tuple(use_awaitable));
    CHECK(ec == pg::errc::connect_self);
    CHECK(pg::to_hresult(ec) == static_cast<std::int32_t>(0x80630106u));
    // Both halves of the attempt belong to this node and both report it.
    auto e1 = co_await next(events);
    auto e2 = co_await next(events);
    CHECK(e1.status == pg::connection_status::failed);
    CHECK(e2.status == pg::connection_status::failed);
    CHECK(e1.reason == pg::errc::connect_self);
    CHECK(e2.reason == pg::errc::connect_self);
    CHECK(a.connections().empty());
  });
}

TEST_CASE("a node of another graph is not accepted", "[connect]") {
  run([](asio::io_context& io) -> awaitable<void> {
    auto a = tcp_nodes(io).creator();
    auto stranger = pg::graph::open(io, "other-graph", "mallory", fast_options());
    auto a_events = a.subscribe<pg::neighbor_connection_event>();
    const auto ea = a.listen(loopback6());
    auto [ec, c] = co_await stranger.connect(ea, asio::experimental::as_tuple(use_awaitable));
    // [MS-PPGRH] 3.1.5.1.1: the responder ends the connection without a
    // reason. No peer was expected, so only the graph can differ.
    CHECK(ec == pg::protocol::error::wrong_graph_id);
    CHECK(ec == pg::condition::refused);
    CHECK(ec != pg::condition::protocol_violation);
    CHECK_THAT(ec.message(), Catch::Contains("another graph"));
    auto ev = co_await next(a_events);
    CHECK(ev.status == pg::connection_status::failed);
    CHECK(ev.reason == pg::protocol::error::wrong_graph_id);
    CHECK(ev.reason == pg::condition::refused);
  });
}

TEST_CASE("the expected peer id is enforced", "[connect]") {
  run([](asio::io_context& io) -> awaitable<void> {
    auto a = tcp_nodes(io).creator();
    auto b = tcp_nodes(io).joiner();
    auto a_events = a.subscribe<pg::neighbor_connection_event>();
    const auto ea = a.listen(loopback6());

    pg::connect_options wrong;
    wrong.peer_id = "not-alice";
    auto [ec, c] = co_await b.connect(ea, wrong, asio::experimental::as_tuple(use_awaitable));
    // Another graph or another peer: the initiator cannot tell, and says so.
    CHECK(ec == pg::errc::connection_not_authenticated);
    CHECK(ec == pg::condition::refused);
    CHECK_THAT(ec.message(), Catch::Contains("another graph"));
    CHECK_THAT(ec.message(), Catch::Contains("not the expected peer"));
    auto ev = co_await next(a_events);
    CHECK(ev.status == pg::connection_status::failed);
    CHECK(ev.reason == pg::protocol::error::wrong_peer_id);

    pg::connect_options right;
    right.peer_id = "alice";
    auto ok = co_await b.connect(ea, right);
    CHECK(ok.remote_peer_id() == "alice");

    pg::connect_options bad;
    bad.peer_id = std::string();
    auto [ec2, c2] = co_await b.connect(ea, bad, asio::experimental::as_tuple(use_awaitable));
    CHECK(ec2 == pg::errc::invalid_argument);
  });
}

TEST_CASE("connect to a port nobody listens on fails", "[connect]") {
  run([](asio::io_context& io) -> awaitable<void> {
    // Find a free port, then close it again.
    asio::ip::tcp::acceptor probe(io, loopback6());
    const auto dead = probe.local_endpoint();
    probe.close();
    auto b = tcp_nodes(io).joiner();
    auto events = b.subscribe<pg::neighbor_connection_event>();
    auto [ec, c] = co_await b.connect(dead, asio::experimental::as_tuple(use_awaitable));
    CHECK(ec == asio::error::connection_refused);
    CHECK(ec == pg::condition::refused);
    CHECK(pg::to_hresult(ec) == static_cast<std::int32_t>(0x8063010Bu));
    auto ev = co_await next(events);
    CHECK(ev.status == pg::connection_status::failed);
    CHECK(ev.reason == ec);

    const pg::endpoint no_port(asio::ip::make_address("::1"), 0);
    auto [ec2, c2] = co_await b.connect(no_port, asio::experimental::as_tuple(use_awaitable));
    CHECK(ec2 == pg::errc::invalid_address);
  });
}

TEST_CASE("connect times out against a node that never answers", "[connect][timeout]") {
  run([](asio::io_context& io) -> awaitable<void> {
    asio::ip::tcp::acceptor silent(io, loopback6());
    asio::ip::tcp::socket held(io);
    silent.async_accept(held, [](std::error_code) {});
    auto b = tcp_nodes(io).joiner();
    pg::connect_options o;
    o.timeout = 200ms;
    const auto start = std::chrono::steady_clock::now();
    auto [ec, c] = co_await b.connect(silent.local_endpoint(), o, asio::experimental::as_tuple(use_awaitable));
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(ec == pg::errc::timeout);
    CHECK(ec == pg::condition::timed_out);
    CHECK(took >= 150ms);
    CHECK(took < 3s);
  });
}

TEST_CASE("connect can be cancelled", "[connect][cancel]") {
  run([](asio::io_context& io) -> awaitable<void> {
    asio::ip::tcp::acceptor silent(io, loopback6());
    asio::ip::tcp::socket held(io);
    silent.async_accept(held, [](std::error_code) {});
    auto b = tcp_nodes(io).joiner();
    auto events = b.subscribe<pg::neighbor_connection_event>();
    asio::cancellation_signal signal;
    std::error_code result;
    call_counter counter;
    b.connect(silent.local_endpoint(),
              asio::bind_cancellation_slot(signal.slot(), [&](std::error_code ec, pg::connection) {
                ++counter.calls;
                result = ec;
              }));
    co_await sleep_for(50ms);
    CHECK(counter.calls == 0);
    signal.emit(asio::cancellation_type::terminal);
    auto ev = co_await next(events);
    CHECK(ev.status == pg::connection_status::failed);
    CHECK(ev.reason == asio::error::operation_aborted);
    co_await sleep_for(10ms);
    counter.check_once();
    CHECK(result == asio::error::operation_aborted);
  });
}

TEST_CASE("closing the graph aborts operations in flight and ends subscriptions", "[connect][close]") {
  run([](asio::io_context& io) -> awaitable<void> {
    asio::ip::tcp::acceptor silent(io, loopback6());
    asio::ip::tcp::socket held(io);
    silent.async_accept(held, [](std::error_code) {});
    auto a = tcp_nodes(io).creator();
    auto b = tcp_nodes(io).joiner();
    const auto ea = a.listen(loopback6());
    co_await b.connect(ea);
    co_await synchronized(b);
    auto a_events = a.subscribe<pg::neighbor_connection_event>();
    auto b_events = b.subscribe<pg::neighbor_connection_event, pg::status_changed_event>();

    call_counter counter;
    std::error_code pending_result;
    b.connect(silent.local_endpoint(), [&](std::error_code ec, pg::connection) {
      ++counter.calls;
      pending_result = ec;
    });
    co_await sleep_for(20ms);
    b.close();
    CHECK_FALSE(b.is_open());

    // The pending connect ends, the neighbor sees the disconnect.
    auto gone = co_await next(a_events);
    CHECK(gone.status == pg::connection_status::disconnected);
    CHECK(gone.reason == pg::protocol::error::peer_disconnected);
    counter.check_once();
    CHECK(pending_result == asio::error::operation_aborted);

    // b's subscription gets its final events, then eof.
    int disconnects = 0, failures = 0, statuses = 0;
    for (;;) {
      auto [ec, ev] = co_await b_events.receive(asio::experimental::as_tuple(use_awaitable));
      if (ec) {
        CHECK(ec == asio::error::eof);
        break;
      }
      if (auto* n = std::get_if<pg::neighbor_connection_event>(&ev)) {
        if (n->status == pg::connection_status::disconnected) ++disconnects;
        if (n->status == pg::connection_status::failed) ++failures;
      } else {
        ++statuses;
        CHECK_FALSE(std::get<pg::status_changed_event>(ev).status.has_neighbors());
      }
    }
    CHECK(disconnects == 1);
    CHECK(failures == 1);
    CHECK(statuses == 1);

    // Operations on a closed graph fail at once.
    auto [ec, c] = co_await b.connect(ea, asio::experimental::as_tuple(use_awaitable));
    CHECK(ec == pg::errc::invalid_graph);
    std::error_code lec;
    b.listen(loopback6(), lec);
    CHECK(lec == pg::errc::invalid_graph);
    auto late = b.subscribe<pg::neighbor_connection_event>();
    auto [lec2, lev] = co_await late.receive(asio::experimental::as_tuple(use_awaitable));
    CHECK(lec2 == asio::error::eof);
  });
}

TEST_CASE("completion tokens: callback, future, deferred", "[connect][tokens]") {
  asio::io_context io;
  auto a = tcp_nodes(io).creator();
  auto b = tcp_nodes(io).joiner();
  const auto ea = a.listen(loopback6());

  call_counter counter;
  pg::connection via_callback;
  b.connect(ea, [&](std::error_code ec, pg::connection c) {
    ++counter.calls;
    CHECK_FALSE(ec);
    via_callback = c;
  });
  // Never completed inside the initiating function.
  CHECK(counter.calls == 0);
  run_until(io, [&] { return counter.calls > 0; });
  counter.check_once();
  CHECK(via_callback.remote_peer_id() == "alice");

  auto c = tcp_nodes(io).joiner("carol");
  auto deferred_op = c.connect(ea, asio::experimental::deferred);
  int deferred_calls = 0;
  io.restart();
  std::move(deferred_op)([&](std::error_code ec, pg::connection conn) {
    ++deferred_calls;
    CHECK_FALSE(ec);
    CHECK(conn.remote_node() == a.id());
  });
  run_until(io, [&] { return deferred_calls > 0; });
  CHECK(deferred_calls == 1);

  auto d = tcp_nodes(io).joiner("dave");
  io.restart();
  auto work = asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });
  auto fut = asio::post(io, asio::use_future([&] { return d.connect(ea, asio::use_future); })).get();
  auto conn = fut.get();
  CHECK(conn.remote_peer_id() == "alice");
  asio::post(io, [&] {
    a.close();
    b.close();
    c.close();
    d.close();
    work.reset();
  });
  runner.join();
}

TEST_CASE("invalid ids are rejected when a graph is made", "[connect]") {
  asio::io_context io;
  CHECK_THROWS_AS(pg::graph::create(io, {.graph_id = "", .creator_id = "x"}), std::system_error);
  CHECK_THROWS_AS(pg::graph::create(io, {.graph_id = "g", .creator_id = std::string(256, 'x')}), std::system_error);
  CHECK_THROWS_AS(pg::graph::open(io, "g", std::string("a\0b", 3)), std::system_error);
  auto g = pg::graph::open(io, "g", std::string(255, 'x'));
  CHECK(g.id() != 0);
  auto h = pg::graph::open(io, "g", std::string(255, 'x'));
  CHECK(h.id() != g.id());
}

namespace {

// A transport that wraps TCP and counts what the engine asks of it: enough
// to show that another transport plugs in without touching the engine.
struct counting_transport : pg::tcp_transport {
  struct counters {
    int connects = 0;
    int accepts = 0;
  };
  std::shared_ptr<counters> count = std::make_shared<counters>();

  template <typename Executor, typename Handler>
  void async_connect(stream<Executor>& s, const endpoint_type& ep, Handler&& handler) const {
    ++count->connects;
    pg::tcp_transport::async_connect(s, ep, std::forward<Handler>(handler));
  }
  template <typename Executor>
  void prepare_accepted(stream<Executor>& s) const {
    ++count->accepts;
    pg::tcp_transport::prepare_accepted(s);
  }
};

}  // namespace

TEST_CASE("another transport plugs in through the template parameter", "[connect][transport]") {
  run([](asio::io_context& io) -> awaitable<void> {
    using counted_graph = pg::basic_graph<asio::any_io_executor, counting_transport>;
    counting_transport t;
    auto a =
        counted_graph::create(io.get_executor(), {.graph_id = "test-graph", .creator_id = "alice"}, fast_options(), t);
    auto b = counted_graph::open(io.get_executor(), "test-graph", "bob", fast_options(), t);
    const auto ep = a.listen(loopback6());
    auto conn = co_await b.connect(ep);
    CHECK(conn.remote_peer_id() == "alice");
    CHECK(t.count->connects == 1);
    CHECK(t.count->accepts == 1);
  });
}
