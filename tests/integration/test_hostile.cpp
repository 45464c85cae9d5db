// A hostile or merely slow peer: what it sends costs the node what it has
// really sent, and a slow but steady transfer is not mistaken for silence.
#include "support/bytes.hpp"
#include "support/raw_peer.hpp"

#include <asio/experimental/as_tuple.hpp>

#include <memory>

using namespace pgtest;
using asio::awaitable;
using asio::use_awaitable;
using asio::experimental::as_tuple;

namespace {

constexpr auto bulk = pg::guid::from_fields(0x51a7e11e, 0x0001, 0x0002, {9, 8, 7, 6, 5, 4, 3, 2});

// Counts how often it gets to run on the executor, until told to stop. The
// tally is shared: the counter may outlive the test body by one turn.
struct tally {
  bool counting = true;
  int turns = 0;
};
awaitable<void> count_turns(std::shared_ptr<tally> t) {
  while (t->counting) {
    co_await asio::post(co_await asio::this_coro::executor, use_awaitable);
    ++t->turns;
  }
}

}  // namespace

TEST_CASE("a large message arriving slowly but steadily outlives the idle timeout", "[hostile][timeout]") {
  auto o = fast_options();
  o.keepalive_interval = 50ms;
  o.idle_timeout = 250ms;
  run([o](asio::io_context& io) -> awaitable<void> {
    memory_nodes w(io);
    auto a = w.creator("alice", o);
    auto data = a.subscribe<pg::incoming_data_event, pg::neighbor_connection_event>();
    const auto ep = a.listen(loopback6());
    auto sock = co_await raw_neighbor(w, ep);
    auto up = co_await next(data);
    REQUIRE(std::holds_alternative<pg::neighbor_connection_event>(up));

    // 256 KiB in 8 KiB pieces, one every 40 ms: about 1.3 s in all, five
    // idle timeouts, though never silent for longer than 40 ms.
    constexpr std::size_t size = 256 * 1024, piece = 8 * 1024;
    const auto message = pt2pt(bulk, size, 0x77);
    for (std::size_t at = 0; at < message.size(); at += piece) {
      const auto n = std::min(piece, message.size() - at);
      co_await asio::async_write(sock, asio::buffer(message.data() + at, n), use_awaitable);
      co_await sleep_for(40ms);
    }
    auto ev = co_await next(data);
    auto* msg = std::get_if<pg::incoming_data_event>(&ev);
    REQUIRE(msg);
    CHECK(msg->type == bulk);
    CHECK(msg->peer_id == "raw");
    REQUIRE(msg->data.size() == size);
    CHECK(msg->data.front() == 0x77);
    CHECK(msg->data.back() == 0x77);
    CHECK(a.find_connection(std::get<pg::neighbor_connection_event>(up).connection.id).is_open());
  });
}

TEST_CASE("a burst of small frames is handled a bounded number at a time", "[hostile]") {
  run([](asio::io_context& io) -> awaitable<void> {
    memory_nodes w(io);
    auto a = w.creator();
    auto data = a.subscribe<pg::incoming_data_event>();
    const auto ep = a.listen(loopback6());
    auto sock = co_await raw_neighbor(w, ep);

    // 5,000 well-formed ACKs (each costs the node a little work and no
    // reply), then one message, all in one write.
    bytes burst;
    for (int i = 0; i < 5000; ++i) {
      const std::size_t at = burst.size();
      burst.resize(at + 12, 0);
      put32(burst, at, 12);
      burst[at + 4] = 0x10;
      burst[at + 5] = static_cast<std::uint8_t>(proto::message_type::ack);
      burst[at + 10] = 12;  // entries offset; no entries
    }
    const auto last = pt2pt(bulk, 3, 0x01);
    burst.insert(burst.end(), last.begin(), last.end());

    // Another activity on the same executor counts how often it gets to run.
    auto t = std::make_shared<tally>();
    asio::co_spawn(io, count_turns(t), asio::detached);
    co_await asio::async_write(sock, asio::buffer(burst), use_awaitable);
    const int before = t->turns;
    auto ev = co_await next(data);
    t->counting = false;
    CHECK(ev.data.size() == 3u);
    // 64 frames a turn: about 78 turns for the burst (a handful of reads
    // would give it only a handful).
    INFO("turns while the burst was handled: " << t->turns - before);
    CHECK(t->turns - before >= 50);
  });
}

TEST_CASE("a neighbor that asks for synchronizations and never reads is bounded, then dropped", "[hostile][limits]") {
  auto o = fast_options();
  o.max_link_backlog = 128 * 1024;
  run([o](asio::io_context& io) -> awaitable<void> {
    memory_nodes w(io);
    auto a = w.creator("alice", o);
    auto b = w.joiner("bob", o);
    auto events = a.subscribe<pg::neighbor_connection_event>();
    const auto ep = a.listen(loopback6());
    co_await b.connect(ep);
    auto good = co_await next(events);
    auto sock = co_await raw_neighbor(w, ep);
    auto up = co_await next(events);
    REQUIRE(up.connection.peer_id == "raw");

    // Sixteen SOLICIT_NEW in one write: a few are answered, the rest not.
    bytes asks;
    for (int i = 0; i < 16; ++i) proto::encode(proto::solicit_new{}, asks);
    co_await asio::async_write(sock, asio::buffer(asks), use_awaitable);
    const bool counted = co_await eventually([&] { return a.stats().solicits_ignored >= 12u; });
    REQUIRE(counted);
    CHECK(a.stats().solicits_answered <= 6u);  // four for the raw peer, one for Bob, maybe his repeat

    // Alice's own updates flood to both neighbors. The raw peer reads
    // nothing: once the network's buffer (256 KiB) and its queue limit are
    // full, its link ends; Bob's stays.
    for (int i = 0; i < 200; ++i) {
      a.set_node_attributes(std::string(4000, static_cast<char>('a' + i % 26)));
      co_await sleep_for(1ms);
      if (a.connections().size() == 1u) break;
    }
    auto gone = co_await next(events);
    CHECK(gone.connection.id == up.connection.id);
    CHECK(gone.status == pg::connection_status::disconnected);
    CHECK(gone.reason == proto::error::backlog_exceeded);
    CHECK(gone.reason == pg::condition::limit_reached);
    CHECK(gone.reason != pg::condition::protocol_violation);
    CHECK(a.find_connection(good.connection.id).is_open());
    const auto expected = a.local_node().attributes;
    const bool bob_sees = co_await eventually([&] {
      auto at_b = b.nodes(std::string_view("alice"));
      return !at_b.empty() && at_b.front().attributes == expected;
    });
    CHECK(bob_sees);
  });
}

TEST_CASE("idle connections cannot hold the handshake slots: the oldest make room", "[hostile][limits]") {
  auto o = fast_options();
  o.handshake_timeout = 10'000ms;  // the limit, not the timer, must do it
  o.max_pending_handshakes = 20;
  o.max_pending_handshakes_per_source = 8;
  run([o](asio::io_context& io) -> awaitable<void> {
    memory_nodes w(io);
    auto a = w.creator("alice", o);
    auto events = a.subscribe<pg::neighbor_connection_event>();
    const auto ep = a.listen(loopback6());
    // 50 connections that never say a word, all from one address.
    std::vector<raw_stream<memory_nodes>::type> idle;
    for (int i = 0; i < 50; ++i) idle.push_back(co_await raw_connect(w, ep));
    const bool shed = co_await eventually([&] { return a.stats().handshakes_evicted >= 42u; });
    REQUIRE(shed);
    CHECK(a.stats().handshakes_evicted == 42u);  // 8 are left
    // A legitimate peer from the same address still gets in, at once.
    auto b = w.joiner("bob", o);
    const auto start = std::chrono::steady_clock::now();
    co_await b.connect(ep);
    CHECK(std::chrono::steady_clock::now() - start < 1s);
    // The evicted connections were closed without an event each.
    auto ev = co_await next(events);
    CHECK(ev.status == pg::connection_status::connected);
    CHECK(ev.connection.peer_id == "bob");
    // An evicted connection sees its stream end.
    bytes one(1);
    auto [ec, n] = co_await idle.front().async_read_some(asio::buffer(one), as_tuple(use_awaitable));
    CHECK(ec == asio::error::eof);
  });
}

namespace {

// A neighbor handshake from a TCP socket bound to `source` (any 127.x.y.z
// address is loopback on Linux, so one host can play several sources).
awaitable<asio::ip::tcp::socket> raw_neighbor_from(const char* source, pg::endpoint ep, std::uint64_t node) {
  asio::ip::tcp::socket s(co_await asio::this_coro::executor);
  s.open(asio::ip::tcp::v4());
  s.bind({asio::ip::make_address(source), 0});
  co_await s.async_connect(ep, use_awaitable);
  const auto hello = first_flight(test_graph_id, "raw", node);
  co_await asio::async_write(s, asio::buffer(hello), use_awaitable);
  auto reply = co_await read_frame(s);
  REQUIRE(reply[5] == static_cast<std::uint8_t>(proto::message_type::welcome));
  co_return s;
}

}  // namespace

TEST_CASE("one address cannot hold every neighbor slot", "[hostile][limits]") {
  auto o = fast_options();
  o.max_neighbors = 4;
  run([o](asio::io_context& io) -> awaitable<void> {
    tcp_nodes w(io);
    auto a = w.creator("alice", o);
    auto events = a.subscribe<pg::neighbor_connection_event>();
    const auto ep = a.listen({asio::ip::make_address("127.0.0.1"), 0});
    // Every slot taken from 127.0.0.2.
    std::vector<asio::ip::tcp::socket> squatters;
    for (std::uint64_t i = 0; i < 4; ++i) {
      squatters.push_back(co_await raw_neighbor_from("127.0.0.2", ep, 0x5000 + i));
      auto up = co_await next(events);
      REQUIRE(up.status == pg::connection_status::connected);
    }
    // A node from 127.0.0.1 still gets in: a squatter's link makes room.
    auto b = w.joiner("bob", o);
    co_await b.connect(ep);
    std::vector<pg::neighbor_connection_event> seen;
    for (int i = 0; i < 2; ++i) seen.push_back(co_await next(events));
    const auto evicted = std::find_if(seen.begin(), seen.end(),
                                      [](const auto& e) { return e.status == pg::connection_status::disconnected; });
    REQUIRE(evicted != seen.end());
    CHECK(evicted->connection.peer_id == "raw");
    CHECK(evicted->reason == proto::error::neighbor_evicted);
    CHECK(evicted->reason == pg::condition::limit_reached);
    CHECK(a.stats().neighbors_evicted == 1u);
    CHECK(a.connections().size() == 4u);
    // Another squatter from the crowded address is refused BUSY, as before.
    asio::ip::tcp::socket late(io);
    late.open(asio::ip::tcp::v4());
    late.bind({asio::ip::make_address("127.0.0.2"), 0});
    co_await late.async_connect(ep, use_awaitable);
    const auto hello = first_flight(test_graph_id, "raw", 0x6000);
    co_await asio::async_write(late, asio::buffer(hello), use_awaitable);
    auto reply = co_await read_frame(late);
    proto::refuse r;
    REQUIRE_FALSE(proto::decode(reply, r));
    CHECK(r.code == proto::refuse_code::busy);
  });
}
