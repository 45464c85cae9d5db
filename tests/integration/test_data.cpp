// Direct connections and data: open, accept, refuse, send, flush, close.
#include "support/raw_peer.hpp"

#include <asio/experimental/as_tuple.hpp>

#include <algorithm>
#include <cstring>
#include <map>
#include <random>

using namespace pgtest;
using asio::awaitable;
using asio::use_awaitable;
using asio::experimental::as_tuple;
using asio::ip::tcp;

namespace {

constexpr auto chat =
    pg::guid::from_fields(0x4d5b2f11, 0x6522, 0x433b, {0x84, 0xef, 0xa2, 0x98, 0xe6, 0x07, 0xbb, 0xbb});
constexpr auto bulk = pg::guid::from_fields(0x0badf00d, 0x0001, 0x0002, {3, 4, 5, 6, 7, 8, 9, 10});

template <typename Graph>
using direct_sub = typename Graph::template subscription_type<pg::direct_connection_event, pg::incoming_data_event>;

// Deterministic payload for message `index`: receivers recompute it.
bytes payload_for(std::uint64_t index, std::size_t size) {
  bytes b(size);
  std::uint64_t x = index * 0x9E3779B97F4A7C15ull + 1;
  for (std::size_t i = 0; i < size; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(b.data() + i, &x, std::min<std::size_t>(8, size - i));
  }
  return b;
}

template <typename Variant>
pg::incoming_data_event take_data(Variant&& v) {
  REQUIRE(std::holds_alternative<pg::incoming_data_event>(v));
  return std::get<pg::incoming_data_event>(std::move(v));
}

}  // namespace

TEST_CASE("a direct connection is opened, carries data both ways and is closed", "[data][direct]") {
  run([](asio::io_context& io) -> awaitable<void> {
    memory_nodes w(io);
    auto a = w.creator();
    auto b = w.joiner();
    auto at_a = a.subscribe<pg::direct_connection_event, pg::incoming_data_event>();
    auto at_b = b.subscribe<pg::direct_connection_event, pg::incoming_data_event>();
    const auto ep = a.listen(loopback6());

    auto conn = co_await b.open_direct("alice", ep);
    CHECK(conn.kind() == pg::connection_kind::direct);
    CHECK(conn.remote_peer_id() == "alice");
    CHECK(conn.remote_node() == a.id());
    // A direct connection is not a neighbor.
    CHECK_FALSE(b.status().has_neighbors());
    CHECK(b.connections(pg::connection_kind::neighbor).empty());
    REQUIRE(b.connections(pg::connection_kind::direct).size() == 1);

    auto opened_b = std::get<pg::direct_connection_event>(co_await next(at_b));
    CHECK(opened_b.status == pg::connection_status::connected);
    CHECK(opened_b.connection.id == conn.id());
    auto opened_a = std::get<pg::direct_connection_event>(co_await next(at_a));
    CHECK(opened_a.status == pg::connection_status::connected);
    CHECK(opened_a.connection.peer_id == "bob");
    CHECK(opened_a.connection.kind == pg::connection_kind::direct);

    const std::string hello = "hello, alice";
    co_await conn.send(chat, asio::buffer(hello));
    auto got = take_data(co_await next(at_a));
    CHECK(got.connection == opened_a.connection.id);
    // The event names its sender, so the receiver need not track connections.
    CHECK(got.peer_id == "bob");
    CHECK(got.node == b.id());
    CHECK(got.type == chat);
    CHECK(std::string(got.data.begin(), got.data.end()) == hello);

    // The reply goes through the graph by connection id, as PeerGraphSendData does.
    bytes reply{'h', 'i'};
    co_await a.send(opened_a.connection.id, chat, std::move(reply));
    auto back = take_data(co_await next(at_b));
    CHECK(back.connection == conn.id());
    CHECK(back.peer_id == "alice");
    CHECK(back.node == a.id());
    CHECK(back.data == bytes{'h', 'i'});

    // Empty payloads are messages too.
    co_await conn.send(bulk, asio::const_buffer());
    auto empty = take_data(co_await next(at_a));
    CHECK(empty.type == bulk);
    CHECK(empty.data.empty());

    co_await conn.close();
    CHECK_FALSE(conn.is_open());
    auto closed_b = std::get<pg::direct_connection_event>(co_await next(at_b));
    CHECK(closed_b.status == pg::connection_status::disconnected);
    CHECK_FALSE(closed_b.reason);
    auto closed_a = std::get<pg::direct_connection_event>(co_await next(at_a));
    CHECK(closed_a.status == pg::connection_status::disconnected);
    CHECK(closed_a.reason == proto::error::peer_disconnected);

    // Everything on a closed connection reports it.
    auto [ec1] = co_await conn.send(chat, asio::buffer(hello), as_tuple(use_awaitable));
    CHECK(ec1 == pg::errc::connection_not_found);
    auto [ec2] = co_await conn.close(as_tuple(use_awaitable));
    CHECK(ec2 == pg::errc::connection_not_found);
    auto [ec3] = co_await conn.flush(as_tuple(use_awaitable));
    CHECK(ec3 == pg::errc::connection_not_found);
  });
}

TEST_CASE("a node without direct-connection subscriptions refuses, and says why", "[data][direct]") {
  run([](asio::io_context& io) -> awaitable<void> {
    memory_nodes w(io);
    auto a = w.creator();
    auto b = w.joiner();
    auto b_events = b.subscribe<pg::direct_connection_event>();
    const auto ep = a.listen(loopback6());

    // No subscription at all, then one for direct connections but not data.
    CHECK_FALSE(a.accepts_direct_connections());
    auto [ec1, c1] = co_await b.open_direct("alice", ep, as_tuple(use_awaitable));
    // REFUSE code DIRECT_CONNECTION_DISALLOWED has its own error.
    CHECK(ec1 == proto::error::direct_connection_disallowed);
    CHECK(ec1 == pg::condition::refused);
    CHECK(ec1 != pg::condition::protocol_violation);
    CHECK(pg::to_hresult(ec1) == pg::to_hresult(pg::errc::connection_refused));
    auto failed = co_await next(b_events);
    CHECK(failed.status == pg::connection_status::failed);
    CHECK(failed.reason == proto::error::direct_connection_disallowed);

    auto only_direct = a.subscribe<pg::direct_connection_event>();
    CHECK_FALSE(a.accepts_direct_connections());
    auto [ec2, c2] = co_await b.open_direct("alice", ep, as_tuple(use_awaitable));
    CHECK(ec2 == proto::error::direct_connection_disallowed);
    auto refused_at_a = co_await next(only_direct);
    CHECK(refused_at_a.status == pg::connection_status::failed);
    CHECK(refused_at_a.reason == proto::error::direct_connection_disallowed);

    auto data = a.subscribe<pg::incoming_data_event>();
    CHECK(a.accepts_direct_connections());
    auto ok = co_await b.open_direct("alice", ep);
    CHECK(ok.is_open());
  });
}

TEST_CASE("direct_policy::never refuses direct connections whatever the subscriptions", "[data][direct]") {
  run([](asio::io_context& io) -> awaitable<void> {
    memory_nodes w(io);
    auto o = fast_options();
    o.direct_connections = pg::direct_policy::never;
    auto a = w.creator("alice", o);
    auto subs = a.subscribe<pg::direct_connection_event, pg::incoming_data_event>();
    CHECK_FALSE(a.accepts_direct_connections());
    const auto ep = a.listen(loopback6());
    auto b = w.joiner();
    auto [ec, c] = co_await b.open_direct("alice", ep, as_tuple(use_awaitable));
    CHECK(ec == proto::error::direct_connection_disallowed);
    CHECK_FALSE(c.is_open());
    // Neighbor connections are not affected.
    auto n = co_await b.connect(ep);
    CHECK(n.is_open());
  });
}

TEST_CASE("open_direct errors: self, wrong peer, dead address, timeout, cancel", "[data][direct]") {
  run([](asio::io_context& io) -> awaitable<void> {
    tcp_nodes w(io);
    auto a = w.creator();
    auto subs = a.subscribe<pg::direct_connection_event, pg::incoming_data_event>();
    const auto ep = a.listen(loopback6());
    auto b = w.joiner();

    auto [ec1, c1] = co_await a.open_direct("alice", ep, as_tuple(use_awaitable));
    CHECK(ec1 == pg::errc::connect_self);

    auto [ec2, c2] = co_await b.open_direct("carol", ep, as_tuple(use_awaitable));
    CHECK(ec2 == pg::errc::connection_not_authenticated);

    auto [ec3, c3] = co_await b.open_direct("", ep, as_tuple(use_awaitable));
    CHECK(ec3 == pg::errc::invalid_argument);

    tcp::acceptor probe(io, loopback6());
    const auto dead = probe.local_endpoint();
    probe.close();
    auto [ec4, c4] = co_await b.open_direct("alice", dead, as_tuple(use_awaitable));
    CHECK(ec4 == pg::condition::refused);

    tcp::acceptor silent(io, loopback6());
    tcp::socket held(io);
    silent.async_accept(held, [](std::error_code) {});
    pg::connect_options quick;
    quick.timeout = 100ms;
    auto [ec5, c5] = co_await b.open_direct("alice", silent.local_endpoint(), quick, as_tuple(use_awaitable));
    CHECK(ec5 == pg::errc::timeout);

    tcp::socket held2(io);
    silent.async_accept(held2, [](std::error_code) {});
    asio::cancellation_signal signal;
    std::error_code cancelled;
    b.open_direct(
        "alice", silent.local_endpoint(),
        asio::bind_cancellation_slot(signal.slot(), [&](std::error_code ec, pg::connection) { cancelled = ec; }));
    co_await sleep_for(20ms);
    signal.emit(asio::cancellation_type::terminal);
    co_await sleep_for(20ms);
    CHECK(cancelled == asio::error::operation_aborted);
  });
}

TEST_CASE("unknown connection ids", "[data]") {
  run([](asio::io_context& io) -> awaitable<void> {
    memory_nodes w(io);
    auto a = w.creator();
    auto b = w.joiner();
    const auto ep = a.listen(loopback6());
    auto neighbor = co_await b.connect(ep);
    const std::string text = "x";
    auto [ec1] = co_await b.send(0x1234, chat, asio::buffer(text), as_tuple(use_awaitable));
    CHECK(ec1 == pg::errc::connection_not_found);
    auto [ec2] = co_await b.close_direct(0x1234, as_tuple(use_awaitable));
    CHECK(ec2 == pg::errc::connection_not_found);
    // A neighbor connection is not closed through close_direct.
    auto [ec3] = co_await b.close_direct(neighbor.id(), as_tuple(use_awaitable));
    CHECK(ec3 == pg::errc::connection_not_found);
    CHECK(neighbor.is_open());
    memory_nodes::graph_type::connection_type empty;
    auto [ec4] = co_await empty.send(chat, asio::buffer(text), as_tuple(use_awaitable));
    CHECK(ec4 == pg::errc::connection_not_found);
  });
}

TEST_CASE("neighbor connections carry data too, both ways", "[data]") {
  run([](asio::io_context& io) -> awaitable<void> {
    memory_nodes w(io);
    auto a = w.creator();
    auto b = w.joiner();
    auto at_a = a.subscribe<pg::incoming_data_event>();
    auto at_b = b.subscribe<pg::incoming_data_event>();
    const auto ep = a.listen(loopback4());
    auto link = co_await b.connect(ep);
    const std::string ping = "ping";
    co_await link.send(chat, asio::buffer(ping));
    auto got = co_await next(at_a);
    CHECK(std::string(got.data.begin(), got.data.end()) == "ping");
    const std::string pong = "pong";
    co_await a.send(got.connection, chat, asio::buffer(pong));
    auto back = co_await next(at_b);
    CHECK(back.connection == link.id());
    CHECK(std::string(back.data.begin(), back.data.end()) == "pong");
  });
}

TEST_CASE("100,000 messages of random sizes arrive complete and in order", "[data][bulk]") {
  run(
      [](asio::io_context& io) -> awaitable<void> {
        direct_pair<tcp_nodes> p(io);
        co_await p.open();
        auto& [w, a, b, at_a, ep, conn] = p;

        // Mostly small, some medium, a few up to 1 MiB, and both extremes.
        constexpr std::uint64_t count = 100'000;
        std::mt19937_64 rng(42);
        std::vector<std::uint32_t> sizes(count);
        for (auto& s : sizes) {
          const auto pick = rng() % 1000;
          s = pick < 900 ? rng() % 257 : pick < 995 ? rng() % (16 * 1024 + 1) : rng() % (1024 * 1024 + 1);
        }
        sizes[10] = 0;
        sizes[11] = 1024 * 1024;
        sizes[count - 1] = 1024 * 1024;

        auto sender = [](pg::connection c, const std::vector<std::uint32_t>* sz) -> awaitable<void> {
          for (std::uint64_t i = 0; i < sz->size(); ++i) {
            auto p = payload_for(i, (*sz)[i]);
            if (i % 2)
              co_await c.send(bulk, std::move(p));
            else
              co_await c.send(bulk, asio::buffer(p));
          }
          co_await c.flush();
        };
        asio::co_spawn(io, sender(conn, &sizes), asio::detached);

        std::uint64_t bytes_total = 0;
        for (std::uint64_t i = 0; i < count; ++i) {
          auto ev = take_data(co_await next(at_a));
          REQUIRE(ev.data.size() == sizes[i]);
          if (ev.data != payload_for(i, sizes[i])) FAIL("payload " << i << " differs");
          bytes_total += ev.data.size();
        }
        INFO("bytes: " << bytes_total);
        CHECK(bytes_total > 0);
      },
      120'000ms);
}

TEST_CASE("concurrent senders on one connection keep their own order", "[data]") {
  run([](asio::io_context& io) -> awaitable<void> {
    direct_pair<memory_nodes> p(io);
    co_await p.open();
    auto& [w, a, b, at_a, ep, conn] = p;

    constexpr int senders = 4, each = 3000;
    auto sender = [](memory_nodes::graph_type::connection_type c, int who) -> awaitable<void> {
      for (int i = 0; i < each; ++i) {
        bytes m(8 + (i * 37 + who * 11) % 3000, static_cast<std::uint8_t>(who));
        m[0] = static_cast<std::uint8_t>(who);
        std::memcpy(m.data() + 4, &i, 4);
        co_await c.send(chat, std::move(m));
      }
    };
    for (int w = 0; w < senders; ++w) asio::co_spawn(io, sender(conn, w), asio::detached);

    std::map<int, int> next_seq;
    for (int n = 0; n < senders * each; ++n) {
      auto ev = take_data(co_await next(at_a));
      const int who = ev.data[0];
      int seq = 0;
      std::memcpy(&seq, ev.data.data() + 4, 4);
      REQUIRE(seq == next_seq[who]);
      ++next_seq[who];
      REQUIRE(ev.data.size() == static_cast<std::size_t>(8 + (seq * 37 + who * 11) % 3000));
      CHECK(ev.data.back() == (ev.data.size() > 8 ? who : ev.data.back()));
    }
    for (int w = 0; w < senders; ++w) CHECK(next_seq[w] == each);
  });
}

TEST_CASE("a receiver that stops reading suspends the sender; memory stays bounded", "[data][backpressure]") {
  auto o = fast_options();
  o.send_high_water = 1 << 20;
  o.send_low_water = 256 * 1024;
  run([o](asio::io_context& io) -> awaitable<void> {
    pg::subscribe_options small;
    small.max_events = 4;
    direct_pair<memory_nodes> p(io, small, o, o);
    co_await p.open();
    auto& [w, a, b, at_a, ep, conn] = p;

    constexpr int count = 2000;  // 128 MiB in all, far beyond every buffer on the way
    constexpr std::size_t size = 64 * 1024;
    int completed = 0;
    std::size_t peak_queued = 0;
    auto sender = [](memory_nodes::graph_type::connection_type c, int* done, std::size_t* peak) -> awaitable<void> {
      for (int i = 0; i < count; ++i) {
        bytes m(size, static_cast<std::uint8_t>(i));
        co_await c.send(bulk, std::move(m));
        *peak = std::max(*peak, c.queued_bytes());
        ++*done;
      }
    };
    asio::co_spawn(io, sender(conn, &completed, &peak_queued), asio::detached);
    co_await sleep_for(300ms);
    const int stalled_at = completed;
    co_await sleep_for(100ms);
    INFO("sends completed while the receiver was stalled: " << stalled_at);
    CHECK(completed == stalled_at);  // the sender is suspended
    CHECK(completed < count);
    CHECK(conn.queued_bytes() <= o.send_high_water + size);
    CHECK(at_a.size() <= 4);

    for (int i = 0; i < count; ++i) {
      auto ev = take_data(co_await next(at_a));
      REQUIRE(ev.data.size() == size);
      REQUIRE(ev.data[0] == static_cast<std::uint8_t>(i));
      CHECK(at_a.size() <= 4);
    }
    CHECK(completed == count);
    CHECK(peak_queued <= o.send_high_water + size);
  });
}

TEST_CASE("a stalled or busy connection does not hold up another one", "[data][fairness]") {
  run([](asio::io_context& io) -> awaitable<void> {
    memory_nodes w(io);
    auto a = w.creator();
    auto b = w.joiner("bob");
    auto c = w.joiner("carol");
    pg::subscribe_options one;
    one.max_events = 1;
    one.data_types = {bulk};
    auto bulk_events = a.subscribe<pg::incoming_data_event>(one);  // never read until the end
    auto direct_events = a.subscribe<pg::direct_connection_event>();
    pg::subscribe_options chats;
    chats.data_types = {chat};
    auto chat_events = a.subscribe<pg::incoming_data_event>(chats);
    const auto ep = a.listen(loopback6());
    auto heavy = co_await b.open_direct("alice", ep);
    auto light = co_await c.open_direct("alice", ep);

    auto pour = [](memory_nodes::graph_type::connection_type conn) -> awaitable<void> {
      for (int i = 0; i < 8; ++i) {
        bytes m(16 * 1024 * 1024, 1);
        co_await conn.send(bulk, std::move(m));
      }
    };
    asio::co_spawn(io, pour(heavy), asio::detached);
    for (int i = 0; i < 200; ++i) {
      const std::string text = "small " + std::to_string(i);
      co_await light.send(chat, asio::buffer(text));
      auto ev = co_await next(chat_events, 2'000ms);
      CHECK(std::string(ev.data.begin(), ev.data.end()) == text);
    }
    CHECK(bulk_events.size() <= 1);
    // Drain the heavy one to finish cleanly.
    for (int i = 0; i < 8; ++i) {
      auto ev = co_await next(bulk_events);
      CHECK(ev.data.size() == 16u * 1024 * 1024);
    }
    (void)direct_events;
  });
}

TEST_CASE("oversized messages are refused when sent and when received", "[data][limits]") {
  auto small = fast_options();
  small.max_message_size = 1024;
  auto big = fast_options();
  big.max_message_size = 4096;
  run([small, big](asio::io_context& io) -> awaitable<void> {
    direct_pair<memory_nodes> p(io, {}, small, big);
    auto at_b = p.b.subscribe<pg::direct_connection_event>();
    co_await p.open();
    auto& [w, a, b, at_a, ep, conn] = p;
    (void)co_await next(at_b);

    // Sending: above the sender's own limit, nothing is queued.
    bytes too_big(4097, 1);
    auto [ec1] = co_await conn.send(bulk, asio::buffer(too_big), as_tuple(use_awaitable));
    CHECK(ec1 == pg::errc::max_message_size_exceeded);
    CHECK(conn.queued_bytes() == 0);
    CHECK(conn.is_open());

    // Receiving: within the sender's limit, above the receiver's: the
    // receiver drops the connection before reading the payload.
    bytes over(2048, 2);
    co_await conn.send(bulk, asio::buffer(over));
    auto ended = std::get<pg::direct_connection_event>(co_await next(at_a));
    CHECK(ended.status == pg::connection_status::disconnected);
    CHECK(ended.reason == proto::error::message_too_large);
    auto seen = co_await next(at_b);
    CHECK(seen.status == pg::connection_status::disconnected);
  });
}

TEST_CASE("when the peer dies mid-transfer every waiting send fails and nothing hangs", "[data][failure]") {
  auto o = fast_options();
  o.send_high_water = 256 * 1024;
  o.send_low_water = 64 * 1024;
  run([o](asio::io_context& io) -> awaitable<void> {
    tcp_nodes w(io);
    auto a = w.creator("alice", o);
    auto events = a.subscribe<pg::neighbor_connection_event>();
    const auto ep = a.listen(loopback6());

    // A raw neighbor that completes the handshake, then never reads.
    auto raw = co_await raw_neighbor(w, ep, 77);
    auto up = co_await next(events);
    REQUIRE(up.status == pg::connection_status::connected);

    std::vector<std::error_code> results;
    auto sender = [](pg::connection conn, std::vector<std::error_code>* out) -> awaitable<void> {
      for (;;) {
        bytes m(64 * 1024, 3);
        auto [ec] = co_await conn.send(bulk, std::move(m), as_tuple(use_awaitable));
        out->push_back(ec);
        if (ec) co_return;
      }
    };
    auto link = a.find_connection(up.connection.id);
    for (int i = 0; i < 3; ++i) asio::co_spawn(io, sender(link, &results), asio::detached);
    co_await sleep_for(200ms);
    const auto before = results.size();
    CHECK(link.queued_bytes() > o.send_high_water);  // the senders are waiting

    // The peer dies: reset, not an orderly close.
    raw.set_option(asio::socket_base::linger(true, 0));
    raw.close();
    auto down = co_await next(events);
    CHECK(down.status == pg::connection_status::disconnected);
    CHECK(down.reason);
    co_await sleep_for(50ms);
    // Each of the three senders got exactly one failure, and it was the last
    // thing it saw.
    int failures = 0;
    for (std::size_t i = before; i < results.size(); ++i)
      if (results[i]) ++failures;
    CHECK(failures == 3);
    CHECK_FALSE(link.is_open());
  });
}

TEST_CASE("flush waits until everything is written", "[data]") {
  run([](asio::io_context& io) -> awaitable<void> {
    direct_pair<memory_nodes> p(io);
    co_await p.open();
    auto& [w, a, b, at_a, ep, conn] = p;
    for (int i = 0; i < 10; ++i) {
      bytes m(100'000, static_cast<std::uint8_t>(i));
      co_await conn.send(bulk, std::move(m));
    }
    co_await conn.flush();
    CHECK(conn.queued_bytes() == 0);
    for (int i = 0; i < 10; ++i) {
      auto ev = take_data(co_await next(at_a));
      CHECK(ev.data[0] == i);
    }
  });
}
