// Closing a graph: close() completes what waits at once; async_close()
// lets the connections write what is queued, then DISCONNECT.
#include "support/raw_peer.hpp"

#include <asio/experimental/as_tuple.hpp>

#include <algorithm>
#include <optional>

using namespace pgtest;
using asio::awaitable;
using asio::use_awaitable;
using asio::experimental::as_tuple;

namespace {

constexpr auto bulk = pg::guid::from_fields(0x0badf00d, 0x0001, 0x0002, {3, 4, 5, 6, 7, 8, 9, 10});

}  // namespace

TEST_CASE("closing the graph completes waiting sends and flushes at once, before its subscriptions end",
          "[data][close]") {
  const auto o = small_queue_options();
  run([o](asio::io_context& io) -> awaitable<void> {
    direct_pair<memory_nodes> p(io, {}, fast_options(), o);
    co_await p.open();
    auto& [w, a, b, at_a, ep, conn] = p;
    auto watch = b.subscribe<pg::direct_connection_event>();
    w.net.stall();  // nothing leaves: Bob's queue only grows

    // 16 KiB sends against a 64 KiB high-water mark, more than the network's
    // buffer (256 KiB) and the queue hold: the later ones wait.
    constexpr std::size_t count = 40;
    std::vector<std::string> order;
    std::vector<std::error_code> sent;
    for (std::size_t i = 0; i < count; ++i) {
      bytes m(16 * 1024, static_cast<std::uint8_t>(i));
      conn.send(bulk, std::move(m), [&](std::error_code ec) {
        sent.push_back(ec);
        order.push_back("send");
      });
    }
    std::optional<std::error_code> flushed;
    conn.flush([&](std::error_code ec) {
      flushed = ec;
      order.push_back("flush");
    });
    auto drain = [](decltype(watch)& sub, std::vector<std::string>* log) -> awaitable<void> {
      for (;;) {
        auto [ec, ev] = co_await sub.receive(as_tuple(use_awaitable));
        if (ec) break;
      }
      log->push_back("eof");
    };
    asio::co_spawn(io, drain(watch, &order), asio::detached);
    co_await sleep_for(20ms);
    const auto done_before = sent.size();
    REQUIRE(done_before < count);  // some sends do wait
    CHECK_FALSE(flushed);

    b.close();
    // Much sooner than the close linger (2 s): close() completes them itself.
    co_await sleep_for(100ms);
    REQUIRE(sent.size() == count);
    for (std::size_t i = done_before; i < sent.size(); ++i) CHECK(sent[i] == asio::error::operation_aborted);
    REQUIRE(flushed);
    CHECK(*flushed == asio::error::operation_aborted);
    // ...and before the subscriptions end, as documented.
    REQUIRE(!order.empty());
    CHECK(order.back() == "eof");
    CHECK(std::count(order.begin(), order.end(), "eof") == 1);
    w.net.resume();
  });
}

TEST_CASE("async_close writes what was queued and DISCONNECT, then completes", "[close]") {
  run([](asio::io_context& io) -> awaitable<void> {
    direct_pair<memory_nodes> p(io);
    co_await p.open();
    auto& [w, a, b, at_a, ep, conn] = p;
    auto at_b = b.subscribe<pg::direct_connection_event>();
    // More than one write's worth, all queued before the close.
    for (int i = 0; i < 20; ++i) {
      bytes m(32 * 1024, static_cast<std::uint8_t>(i));
      conn.send(bulk, std::move(m), [](std::error_code ec) { CHECK_FALSE(ec); });
    }
    CHECK(conn.queued_bytes() > 0u);
    auto [ec] = co_await b.async_close(as_tuple(use_awaitable));
    CHECK_FALSE(ec);
    CHECK_FALSE(b.is_open());
    CHECK(b.nodes().empty());
    // Bob's own subscription reported the disconnect and ended with the close.
    std::error_code end;
    int reported = 0;
    for (;;) {
      auto [rec, ev] = co_await at_b.receive(as_tuple(use_awaitable));
      if (rec) {
        end = rec;
        break;
      }
      ++reported;
      CHECK(ev.status == pg::connection_status::disconnected);
    }
    CHECK(end == asio::error::eof);
    CHECK(reported == 1);

    // Alice has every message, in order, then the orderly disconnect.
    for (int i = 0; i < 20; ++i) {
      auto got = co_await next(at_a);
      REQUIRE(std::holds_alternative<pg::incoming_data_event>(got));
      const auto& d = std::get<pg::incoming_data_event>(got);
      CHECK(d.data.size() == 32u * 1024);
      CHECK(d.data.front() == static_cast<std::uint8_t>(i));
    }
    auto bye = co_await next(at_a);
    REQUIRE(std::holds_alternative<pg::direct_connection_event>(bye));
    CHECK(std::get<pg::direct_connection_event>(bye).status == pg::connection_status::disconnected);
    CHECK(std::get<pg::direct_connection_event>(bye).reason == proto::error::peer_disconnected);
  });
}

TEST_CASE("async_close gives a peer that reads nothing only the linger, and says data was dropped", "[close]") {
  run([](asio::io_context& io) -> awaitable<void> {
    direct_pair<memory_nodes> p(io);
    co_await p.open();
    auto& [w, a, b, at_a, ep, conn] = p;
    w.net.stall();
    for (int i = 0; i < 8; ++i) {
      bytes m(64 * 1024, 1);
      conn.send(bulk, std::move(m), [](std::error_code) {});
    }
    const auto start = std::chrono::steady_clock::now();
    auto [ec] = co_await b.async_close(100ms, as_tuple(use_awaitable));
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(ec == pg::errc::timeout);
    CHECK(took >= 90ms);
    CHECK(took < 1'500ms);  // the 100 ms given, not close_linger or more
    CHECK_FALSE(b.is_open());
    w.net.resume();
  });
}

TEST_CASE("async_close: nothing to wait for, already closed, cancelled", "[close]") {
  run([](asio::io_context& io) -> awaitable<void> {
    memory_nodes w(io);
    auto lone = w.creator("carol");
    auto [ec1] = co_await lone.async_close(as_tuple(use_awaitable));
    CHECK_FALSE(ec1);
    CHECK_FALSE(lone.is_open());
    auto [ec2] = co_await lone.async_close(as_tuple(use_awaitable));
    CHECK_FALSE(ec2);

    direct_pair<memory_nodes> p(io);
    co_await p.open();
    p.w.net.stall();
    bytes m(256 * 1024, 7);
    co_await p.conn.send(bulk, std::move(m));
    asio::cancellation_signal signal;
    std::optional<std::error_code> result;
    p.b.async_close(1'000ms, asio::bind_cancellation_slot(signal.slot(), [&](std::error_code ec) { result = ec; }));
    CHECK_FALSE(p.b.is_open());  // closed at once; only the wait goes on
    co_await sleep_for(20ms);
    CHECK_FALSE(result);
    signal.emit(asio::cancellation_type::terminal);
    co_await sleep_for(5ms);
    REQUIRE(result);
    CHECK(*result == asio::error::operation_aborted);
    p.w.net.resume();
  });
}
