// Bad input from the network: each case ends only the offending connection,
// with a specific error, reported as a failed or disconnected neighbor event.
#include "support/raw_peer.hpp"

#include <asio/experimental/as_tuple.hpp>

#include <random>

using namespace pgtest;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

namespace {

// Accepts one connection, reads the first flight, answers with `reply`.
awaitable<void> serve_one_reply(tcp::acceptor& server, bytes reply) {
  auto sock = co_await server.async_accept(use_awaitable);
  auto auth = co_await read_frame(sock);
  auto conn = co_await read_frame(sock);
  CHECK(auth[5] == static_cast<std::uint8_t>(proto::message_type::auth_info));
  CHECK(conn[5] == static_cast<std::uint8_t>(proto::message_type::connect));
  co_await asio::async_write(sock, asio::buffer(reply), use_awaitable);
}

// The bytes come through real sockets: these tests are about what a node
// does with whatever a TCP peer sends.
struct fixture {
  explicit fixture(asio::io_context& io, pg::graph_options o = fast_options())
      : w(io),
        a(w.creator("alice", o)),
        b(w.joiner("bob", o)),
        events(a.subscribe<pg::neighbor_connection_event>()),
        ep(a.listen(loopback6())) {}

  // A well-behaved neighbor, to show that it is not disturbed.
  awaitable<void> add_good_neighbor() {
    co_await b.connect(ep);
    auto ev = co_await next(events);
    REQUIRE(ev.status == pg::connection_status::connected);
    good = ev.connection.id;
  }

  awaitable<void> expect(pg::connection_status status, std::error_code reason) {
    auto ev = co_await next(events);
    CHECK(ev.status == status);
    CHECK(ev.reason == reason);
    INFO("reason: " << ev.reason.message());
    CHECK(ev.connection.id != good);
    CHECK(a.find_connection(good).is_open());
  }

  tcp_nodes w;
  pg::graph a;
  pg::graph b;
  pg::graph::subscription_type<pg::neighbor_connection_event> events;
  pg::endpoint ep;
  pg::connection_id good = 0;
};

// Bytes a peer sends, and the reason the node must give for ending the link.
struct sample {
  const char* name;
  bytes data;
  std::error_code reason;
};

// Runs `body(f, s)` for each sample, each in its own section, on a fresh
// fixture that already has a well-behaved neighbor.
template <typename Body>
void for_each_sample(const std::vector<sample>& samples, Body body) {
  for (const auto& s : samples) {
    DYNAMIC_SECTION(s.name) {
      run([&](asio::io_context& io) -> awaitable<void> {
        fixture f(io);
        co_await f.add_good_neighbor();
        co_await body(f, s);
      });
    }
  }
}

}  // namespace

TEST_CASE("malformed first frames end the handshake with a specific error", "[bad-input]") {
  std::vector<sample> samples = {
      {"bad version", header(16, 0x11, 0x01), proto::error::bad_version},
      {"unknown type", header(16, 0x10, 0x0F), proto::error::unknown_message_type},
      {"size below header", header(4, 0x10, 0x01), proto::error::malformed_message},
      {"oversized before handshake", header(1u << 30, 0x10, 0x01), proto::error::message_too_large},
  };
  {
    bytes b;
    proto::connect c;
    c.source_node_id = 7;
    proto::encode(c, b);
    samples.push_back({"CONNECT before AUTH_INFO", b, proto::error::unexpected_message});
  }
  {
    auto hello = first_flight("test-graph", "raw", 7);
    hello[10] = 0xFF;  // graph id offset past the end
    samples.push_back({"AUTH_INFO offsets out of range", hello, proto::error::malformed_message});
  }
  samples.push_back({"wrong graph", first_flight("another-graph", "raw", 7), proto::error::wrong_graph_id});
  {
    bytes b;
    proto::encode(proto::auth_info{proto::connection_type::neighbor, "test-graph", "raw", std::string("not-alice")}, b);
    samples.push_back({"destination is another peer", b, proto::error::wrong_peer_id});
  }
  for_each_sample(samples, [](fixture& f, const sample& s) -> awaitable<void> {
    auto sock = co_await raw_connect(f.w, f.ep);
    co_await asio::async_write(sock, asio::buffer(s.data), use_awaitable);
    co_await f.expect(pg::connection_status::failed, s.reason);
    // The node hung up on the raw client.
    std::array<char, 64> sink{};
    auto [ec, n] = co_await sock.async_read_some(asio::buffer(sink), asio::experimental::as_tuple(use_awaitable));
    CHECK(ec == asio::error::eof);
  });
}

TEST_CASE("a peer that never finishes the handshake times out", "[bad-input][timeout]") {
  run([](asio::io_context& io) -> awaitable<void> {
    fixture f(io);
    co_await f.add_good_neighbor();
    auto silent = co_await raw_connect(f.w, f.ep);
    auto half = co_await raw_connect(f.w, f.ep);
    const auto partial = header(16, 0x10, 0x01);
    co_await asio::async_write(half, asio::buffer(partial.data(), 5), use_awaitable);
    co_await f.expect(pg::connection_status::failed, proto::error::handshake_timeout);
    co_await f.expect(pg::connection_status::failed, proto::error::handshake_timeout);
  });
}

TEST_CASE("a client that leaves mid-handshake is reported", "[bad-input]") {
  run([](asio::io_context& io) -> awaitable<void> {
    fixture f(io);
    co_await f.add_good_neighbor();
    auto s = co_await raw_connect(f.w, f.ep);
    const auto partial = header(16, 0x10, 0x01);
    co_await asio::async_write(s, asio::buffer(partial.data(), 6), use_awaitable);
    s.close();
    co_await f.expect(pg::connection_status::failed, proto::error::connection_closed);
  });
}

TEST_CASE("random garbage never crashes the node", "[bad-input][fuzz]") {
  run([](asio::io_context& io) -> awaitable<void> {
    fixture f(io);
    co_await f.add_good_neighbor();
    std::mt19937 rng(20261121);
    for (int round = 0; round < 40; ++round) {
      bytes junk(8 + rng() % 200);
      for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
      if (round % 2) {  // half the rounds look like a real header first
        junk[4] = 0x10;
        junk[5] = static_cast<std::uint8_t>(1 + rng() % 14);
      }
      auto s = co_await raw_connect(f.w, f.ep);
      co_await asio::async_write(s, asio::buffer(junk), use_awaitable);
      auto ev = co_await next(f.events);
      CHECK(ev.status == pg::connection_status::failed);
      // Every ending is a protocol violation or the handshake timer.
      const bool explained = ev.reason == pg::condition::protocol_violation || ev.reason == pg::condition::timed_out;
      INFO("round " << round << ": " << ev.reason.message());
      CHECK(explained);
    }
    CHECK(f.a.find_connection(f.good).is_open());
    CHECK(f.a.connections().size() == 1);
  });
}

TEST_CASE("violations on an established link end it with a specific error", "[bad-input]") {
  std::vector<sample> samples = {
      {"bad version", header(8, 0x0F, 0x0D), proto::error::bad_version},
      {"frame over the message limit", header((1u << 24) + 1000, 0x10, 0x0D), proto::error::message_too_large},
      {"AUTH_INFO again", first_flight("test-graph", "raw", 9), proto::error::unexpected_message},
  };
  {
    auto b = header(12, 0x10, 0x0D);
    b.resize(12);
    samples.push_back({"PT2PT shorter than its header", b, proto::error::truncated_message});
  }
  {
    bytes b;
    proto::encode(proto::disconnect{}, b);
    samples.push_back({"orderly DISCONNECT", b, proto::error::peer_disconnected});
  }
  for_each_sample(samples, [](fixture& f, const sample& s) -> awaitable<void> {
    auto sock = co_await raw_neighbor(f.w, f.ep);
    auto up = co_await next(f.events);
    REQUIRE(up.status == pg::connection_status::connected);
    CHECK(up.connection.peer_id == "raw");
    CHECK(up.connection.node == 0x1234);
    co_await asio::async_write(sock, asio::buffer(s.data), use_awaitable);
    co_await f.expect(pg::connection_status::disconnected, s.reason);
  });
}

TEST_CASE("a CONNECT without the update flag on a live link is refused, the link stays", "[bad-input]") {
  run([](asio::io_context& io) -> awaitable<void> {
    fixture f(io);
    auto sock = co_await raw_neighbor(f.w, f.ep);
    auto up = co_await next(f.events);
    bytes again;
    proto::connect c;
    c.source_node_id = 0x1234;
    proto::encode(c, again);
    co_await asio::async_write(sock, asio::buffer(again), use_awaitable);
    // The node's SOLICIT_NEW (sent on every new neighbor link) may come first.
    auto reply = co_await read_frame(sock);
    while (reply[5] == static_cast<std::uint8_t>(proto::message_type::solicit_new)) reply = co_await read_frame(sock);
    proto::refuse r;
    REQUIRE_FALSE(proto::decode(reply, r));
    CHECK(r.code == proto::refuse_code::already_connected);
    CHECK(f.a.find_connection(up.connection.id).is_open());
  });
}

TEST_CASE("a neighbor that goes silent is dropped by the keep-alive timer", "[bad-input][timeout]") {
  auto o = fast_options();
  o.keepalive_interval = 50ms;
  o.idle_timeout = 250ms;
  run([o](asio::io_context& io) -> awaitable<void> {
    fixture f(io, o);
    co_await f.add_good_neighbor();
    auto sock = co_await raw_neighbor(f.w, f.ep);
    auto up = co_await next(f.events);
    // The raw peer never reads nor answers; peergraph's own pings keep the
    // good neighbor alive meanwhile.
    co_await f.expect(pg::connection_status::disconnected, proto::error::keepalive_timeout);
    co_await sleep_for(300ms);
    CHECK(f.a.find_connection(f.good).is_open());
    CHECK(f.b.connections().size() == 1);
  });
}

TEST_CASE("the connecting side rejects bad replies", "[bad-input]") {
  struct sample {
    const char* name;
    std::function<bytes(std::uint64_t)> reply;  // given the connecting node's id
    std::error_code expected;
  };
  std::vector<sample> samples = {
      {"garbage", [](std::uint64_t) { return header(8, 0x22, 0x03); }, proto::error::bad_version},
      {"WELCOME from the node itself",
       [](std::uint64_t self) {
         bytes b;
         proto::encode(proto::welcome{self, 0, {}, "alice", ""}, b);
         return b;
       },
       pg::errc::connect_self},
      {"REFUSE busy",
       [](std::uint64_t) {
         bytes b;
         proto::encode(proto::refuse{proto::refuse_code::busy, {pg::detail::to_wire(pgtest::loopback6())}}, b);
         return b;
       },
       pg::errc::connection_refused},
      {"WELCOME with node id 0",
       [](std::uint64_t) {
         bytes b;
         proto::encode(proto::welcome{0, 0, {}, "alice", ""}, b);
         return b;
       },
       proto::error::malformed_message},
      {"PT2PT before WELCOME",
       [](std::uint64_t) {
         bytes b;
         proto::encode_pt2pt_header(pg::guid{}, 0, b);
         return b;
       },
       proto::error::unexpected_message},
  };
  for (auto& s : samples) {
    DYNAMIC_SECTION(s.name) {
      run([&s](asio::io_context& io) -> awaitable<void> {
        tcp::acceptor server(io, loopback6());
        tcp_nodes w(io);
        auto b = w.joiner();
        auto events = b.subscribe<pg::neighbor_connection_event>();
        const auto node = b.id();
        asio::co_spawn(io, serve_one_reply(server, s.reply(node)), asio::detached);
        auto [ec, c] = co_await b.connect(server.local_endpoint(), asio::experimental::as_tuple(use_awaitable));
        CHECK(ec == s.expected);
        auto ev = co_await next(events);
        CHECK(ev.status == pg::connection_status::failed);
        CHECK(ev.reason == s.expected);
      });
    }
  }
}
