// Waiting for the graph: wait_synchronized, wait_node, wait_nodes, with
// their timeouts, cancellation and the graph closing under them.
#include "support/co_test.hpp"
#include "support/graphs.hpp"

#include <asio/experimental/as_tuple.hpp>

#include <optional>
#include <string>
#include <vector>

using namespace pgtest;
using asio::awaitable;
using asio::use_awaitable;
using asio::experimental::as_tuple;

TEST_CASE("joining without an event loop: connect, wait_synchronized, wait_node", "[wait]") {
  run([](asio::io_context& io) -> awaitable<void> {
    memory_nodes w(io);
    auto a = w.creator();
    // A created graph is synchronized: the wait completes at once.
    co_await a.wait_synchronized();
    const auto ep = a.listen(loopback6());

    auto b = w.joiner();
    CHECK_FALSE(b.status().is_synchronized());
    co_await b.connect(ep);
    co_await b.wait_synchronized();
    CHECK(b.status().is_synchronized());
    // Synchronized, Bob can listen at once.
    const auto b_ep = b.listen(loopback6());
    CHECK(b_ep.port() != 0);

    // Alice is listed on Bob's side; the wait gives her node.
    auto alice = co_await b.wait_node("alice");
    CHECK(alice.peer_id == "alice");
    CHECK(alice.id == a.id());
    // Bob is known at Alice's once his presence has flooded.
    auto bob = co_await a.wait_node("bob");
    CHECK(bob.id == b.id());
    CHECK(bob.peer_id == "bob");
  });
}

TEST_CASE("wait_node and wait_nodes complete when the node arrives, not before", "[wait]") {
  run([](asio::io_context& io) -> awaitable<void> {
    memory_nodes w(io);
    auto a = w.creator();
    const auto ep = a.listen(loopback6());

    std::optional<pg::node_info> carol;
    std::optional<std::vector<pg::node_info>> three;
    std::error_code carol_ec, three_ec;
    a.wait_node("carol", [&](std::error_code ec, pg::node_info n) {
      carol_ec = ec;
      carol = std::move(n);
    });
    a.wait_nodes(3, [&](std::error_code ec, std::vector<pg::node_info> all) {
      three_ec = ec;
      three = std::move(all);
    });
    // A second node of peer "alice": waiting for "alice" finds it, never
    // the waiting node itself.
    auto other_alice = w.joiner("alice");
    co_await other_alice.connect(ep);
    co_await other_alice.wait_synchronized();
    auto twin = co_await a.wait_node("alice");
    CHECK(twin.id == other_alice.id());
    auto b = w.joiner("bob");
    co_await b.connect(ep);
    co_await b.wait_synchronized();
    co_await sleep_for(30ms);
    CHECK_FALSE(carol);
    REQUIRE(three);  // alice, the second alice and bob
    CHECK_FALSE(three_ec);
    CHECK(three->size() >= 3u);

    auto c = w.joiner("carol");
    co_await c.connect(ep);
    const bool arrived = co_await eventually([&] { return carol.has_value(); });
    REQUIRE(arrived);
    CHECK_FALSE(carol_ec);
    CHECK(carol->peer_id == "carol");
    CHECK(carol->id == c.id());
  });
}

TEST_CASE("with_addresses waits until the node can be reached", "[wait]") {
  run([](asio::io_context& io) -> awaitable<void> {
    memory_nodes w(io);
    auto a = w.creator();
    const auto ep = a.listen(loopback6());
    pg::wait_options reachable;
    reachable.with_addresses = true;
    std::optional<pg::node_info> bob_reachable;
    std::optional<std::vector<pg::node_info>> two_reachable;
    a.wait_node("bob", reachable, [&](std::error_code ec, pg::node_info n) {
      CHECK_FALSE(ec);
      bob_reachable = std::move(n);
    });
    a.wait_nodes(2, reachable, [&](std::error_code ec, std::vector<pg::node_info> all) {
      CHECK_FALSE(ec);
      two_reachable = std::move(all);
    });

    // Bob publishes at his first neighbor connection, before he listens.
    auto b = w.joiner();
    co_await b.connect(ep);
    co_await b.wait_synchronized();
    auto listed = co_await a.wait_node("bob");
    CHECK(listed.addresses.empty());
    auto both = co_await a.wait_nodes(2);
    CHECK(both.size() == 2u);
    co_await sleep_for(20ms);
    CHECK_FALSE(bob_reachable);
    CHECK_FALSE(two_reachable);

    const auto b_ep = b.listen(loopback6());
    const bool arrived = co_await eventually([&] { return bob_reachable && two_reachable; });
    REQUIRE(arrived);
    REQUIRE(bob_reachable->addresses.size() == 1u);
    CHECK(bob_reachable->addresses.front() == b_ep);
    CHECK(two_reachable->size() == 2u);
    for (const auto& n : *two_reachable) CHECK_FALSE(n.addresses.empty());
  });
}

TEST_CASE("waits time out, are cancelled, end with the graph, check their arguments", "[wait]") {
  run([](asio::io_context& io) -> awaitable<void> {
    memory_nodes w(io);
    auto a = w.creator();
    auto b = w.joiner();

    // A timeout.
    pg::wait_options quick;
    quick.timeout = 50ms;
    const auto start = std::chrono::steady_clock::now();
    auto [ec1, n1] = co_await a.wait_node("nobody", quick, as_tuple(use_awaitable));
    CHECK(ec1 == pg::errc::timeout);
    CHECK(ec1 == pg::condition::timed_out);
    CHECK(std::chrono::steady_clock::now() - start >= 45ms);
    auto [ec2] = co_await b.wait_synchronized(quick, as_tuple(use_awaitable));
    CHECK(ec2 == pg::errc::timeout);

    // Per-operation cancellation.
    asio::cancellation_signal signal;
    std::optional<std::error_code> cancelled;
    a.wait_nodes(10, asio::bind_cancellation_slot(
                         signal.slot(), [&](std::error_code ec, std::vector<pg::node_info>) { cancelled = ec; }));
    co_await sleep_for(5ms);
    CHECK_FALSE(cancelled);
    signal.emit(asio::cancellation_type::terminal);
    co_await sleep_for(5ms);
    REQUIRE(cancelled);
    CHECK(*cancelled == asio::error::operation_aborted);

    // A bad peer id.
    auto [ec3, n3] = co_await a.wait_node("", as_tuple(use_awaitable));
    CHECK(ec3 == pg::errc::invalid_argument);

    // Closing the graph ends every wait, before its subscriptions end.
    auto events = b.subscribe<pg::status_changed_event>();
    std::vector<std::string> order;
    b.wait_synchronized([&](std::error_code ec) {
      CHECK(ec == asio::error::operation_aborted);
      order.push_back("wait");
    });
    b.wait_node("alice", [&](std::error_code ec, pg::node_info) {
      CHECK(ec == asio::error::operation_aborted);
      order.push_back("wait");
    });
    asio::co_spawn(
        io,
        [&events, &order]() -> awaitable<void> {
          for (;;) {
            auto [ec, ev] = co_await events.receive(as_tuple(use_awaitable));
            if (ec) break;
          }
          order.push_back("eof");
        },
        asio::detached);
    co_await sleep_for(5ms);
    b.close();
    co_await sleep_for(20ms);
    CHECK(order == std::vector<std::string>{"wait", "wait", "eof"});
    // On a closed graph a wait fails at once.
    auto [ec4] = co_await b.wait_synchronized(as_tuple(use_awaitable));
    CHECK(ec4 == pg::errc::invalid_graph);
  });
}

TEST_CASE("the shorter names: subscription<...> and the default-token waits", "[wait]") {
  // pg::subscription<E...> is the subscription type of pg::graph.
  STATIC_REQUIRE(
      std::is_same_v<pg::subscription<pg::incoming_data_event>, pg::graph::subscription_type<pg::incoming_data_event>>);
  run([](asio::io_context& io) -> awaitable<void> {
    auto g = pg::graph::create(io, test_properties("solo"), fast_options());
    pg::subscription<pg::incoming_data_event, pg::direct_connection_event> sub =
        g.subscribe<pg::incoming_data_event, pg::direct_connection_event>();
    CHECK(g.accepts_direct_connections());
    co_await g.wait_synchronized();
    g.listen(loopback6());  // a node publishes its presence once it listens
    auto self = co_await g.wait_nodes(1);
    REQUIRE(self.size() == 1u);
    CHECK(self.front().id == g.id());
  });
}
