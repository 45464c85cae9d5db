// The forms of sending: a buffer sequence as one message, and try_send,
// which never waits.
#include "support/raw_peer.hpp"

#include <asio/experimental/as_tuple.hpp>

#include <array>
#include <string>
#include <vector>

using namespace pgtest;
using asio::awaitable;
using asio::use_awaitable;
using asio::experimental::as_tuple;

namespace {

constexpr auto chat =
    pg::guid::from_fields(0x4d5b2f11, 0x6522, 0x433b, {0x84, 0xef, 0xa2, 0x98, 0xe6, 0x07, 0xbb, 0xbb});

std::string text_of(const pg::incoming_data_event& d) { return std::string(d.data.begin(), d.data.end()); }

template <typename Subscription>
awaitable<pg::incoming_data_event> next_data(Subscription& sub) {
  auto ev = co_await next(sub);
  REQUIRE(std::holds_alternative<pg::incoming_data_event>(ev));
  co_return std::get<pg::incoming_data_event>(std::move(ev));
}

}  // namespace

TEST_CASE("a buffer sequence goes out as one message", "[data][gather]") {
  run([](asio::io_context& io) -> awaitable<void> {
    direct_pair<memory_nodes> p(io);
    co_await p.open();
    auto& [w, a, b, at_a, ep, conn] = p;

    const std::string head = "HEAD:", body = "the body", tail(5000, 'z');
    const std::array<asio::const_buffer, 3> parts{asio::buffer(head), asio::buffer(body), asio::buffer(tail)};
    co_await conn.send(chat, parts);
    const auto joined = co_await next_data(at_a);
    CHECK(text_of(joined) == head + body + tail);

    // A vector of buffers, some empty, through the graph by connection id.
    std::vector<asio::const_buffer> pieces{asio::const_buffer(), asio::buffer(body), asio::const_buffer()};
    co_await b.send(conn.id(), chat, pieces);
    const auto by_id = co_await next_data(at_a);
    CHECK(text_of(by_id) == body);

    // An empty sequence is an empty message.
    const std::vector<asio::const_buffer> none;
    co_await conn.send(chat, none);
    const auto empty = co_await next_data(at_a);
    CHECK(empty.data.empty());

    // The size limit counts the whole sequence.
    auto o = fast_options();
    CHECK(o.max_message_size > 2u);
    std::vector<std::uint8_t> big(o.max_message_size / 2 + 1, 1);
    const std::array<asio::const_buffer, 2> twice{asio::buffer(big), asio::buffer(big)};
    auto [ec] = co_await conn.send(chat, twice, as_tuple(use_awaitable));
    CHECK(ec == pg::errc::max_message_size_exceeded);
    CHECK(conn.try_send(chat, twice) == pg::errc::max_message_size_exceeded);
  });
}

TEST_CASE("try_send queues without waiting, and refuses when the queue is full", "[data][try_send]") {
  const auto o = small_queue_options();
  run([o](asio::io_context& io) -> awaitable<void> {
    direct_pair<memory_nodes> p(io, {}, fast_options(), o);
    co_await p.open();
    auto& [w, a, b, at_a, ep, conn] = p;

    const std::string hello = "hello";
    const std::array<asio::const_buffer, 2> parts{asio::buffer(hello), asio::buffer(hello)};
    CHECK_FALSE(conn.try_send(chat, parts));
    const auto twice_hello = co_await next_data(at_a);
    CHECK(text_of(twice_hello) == "hellohello");

    // Nothing leaves: the queue fills past the high-water mark, and from
    // then on try_send queues nothing.
    w.net.stall();
    std::vector<std::uint8_t> chunk(16 * 1024, 2);
    int queued = 0;
    std::error_code refused;
    while (!refused && queued < 100) {
      refused = conn.try_send(chat, asio::buffer(chunk));
      if (!refused) ++queued;
    }
    CHECK(refused == asio::error::would_block);
    CHECK(queued >= 4);
    CHECK(queued < 100);
    const auto held = conn.queued_bytes();
    CHECK(held <= o.send_high_water + chunk.size() + 64);
    CHECK(conn.try_send(chat, asio::buffer(chunk)) == asio::error::would_block);
    CHECK(conn.queued_bytes() == held);

    // Once the peer reads again everything queued arrives, and try_send works.
    w.net.resume();
    for (int i = 0; i < queued; ++i) {
      const auto got = co_await next_data(at_a);
      CHECK(got.data.size() == chunk.size());
    }
    co_await conn.flush();
    CHECK_FALSE(conn.try_send(chat, asio::buffer(hello)));
    const auto after = co_await next_data(at_a);
    CHECK(text_of(after) == hello);

    // An empty handle and a closed connection.
    pg::basic_connection<asio::any_io_executor, pg::memory_transport> none;
    CHECK(none.try_send(chat, asio::buffer(hello)) == pg::errc::connection_not_found);
    co_await conn.close();
    CHECK(conn.try_send(chat, asio::buffer(hello)) == pg::errc::connection_not_found);
  });
}
