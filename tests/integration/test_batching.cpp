// Bursts: try_send queued many times before the sender yields, waiting for
// room with wait_writable, and receive_some taking many events per wake-up.
#include "support/raw_peer.hpp"

#include <asio/bind_cancellation_slot.hpp>
#include <asio/experimental/as_tuple.hpp>

#include <array>
#include <cstring>
#include <vector>

using namespace pgtest;
using asio::awaitable;
using asio::use_awaitable;
using asio::experimental::as_tuple;

namespace {

constexpr auto seq_type =
    pg::guid::from_fields(0x5e9c1a20, 0x0b1d, 0x4c55, {0x9a, 0x10, 0x3e, 0x44, 0x21, 0x6f, 0x70, 0x01});

std::array<std::uint8_t, 8> number(std::uint64_t i) {
  std::array<std::uint8_t, 8> b{};
  std::memcpy(b.data(), &i, sizeof i);
  return b;
}

std::uint64_t number_of(const pg::incoming_data_event& d) {
  std::uint64_t i = ~std::uint64_t{0};
  if (d.data.size() == sizeof i) std::memcpy(&i, d.data.data(), sizeof i);
  return i;
}

// The pair's own subscription at alice must not take the numbered
// messages: nothing reads it, and a full subscription stops the link.
pg::subscribe_options not_numbered() {
  pg::subscribe_options o;
  o.data_types = {pg::guid::from_fields(0x1, 0x2, 0x3, {4, 5, 6, 7, 8, 9, 10, 11})};
  return o;
}

// Fills the queue of a connection whose peer has stopped reading until
// try_send refuses even after the writes under way have had time to land.
template <typename Connection>
awaitable<std::uint64_t> fill_until_stuck(Connection& conn, const std::vector<std::uint8_t>& chunk) {
  std::uint64_t queued = 0;
  for (int quiet = 0; quiet < 3;) {
    if (!conn.try_send(seq_type, std::vector<std::uint8_t>(chunk))) {
      ++queued;
      quiet = 0;
      continue;
    }
    ++quiet;
    co_await sleep_for(10ms);
  }
  co_return queued;
}

using data_only = pg::basic_subscription<asio::any_io_executor, pg::incoming_data_event>;

// Takes `count` numbered messages with receive_some, checking their order.
awaitable<std::size_t> take_numbered(data_only& sub, std::uint64_t count, std::size_t batch) {
  std::vector<pg::incoming_data_event> out(batch);
  std::uint64_t next = 0;
  std::size_t wakeups = 0;
  while (next < count) {
    const auto n = co_await sub.receive_some(std::span(out));
    ++wakeups;
    REQUIRE(n >= 1);
    REQUIRE(n <= batch);
    for (std::size_t i = 0; i < n; ++i) REQUIRE(number_of(out[i]) == next++);
  }
  co_return wakeups;
}

}  // namespace

TEST_CASE("a burst of try_send leaves in order, and receive_some takes it in batches", "[data][try_send][batch]") {
  run([](asio::io_context& io) -> awaitable<void> {
    direct_pair<memory_nodes> p(io, not_numbered());
    co_await p.open();
    auto data = p.a.template subscribe<pg::incoming_data_event>();

    // Queued without a single suspension: nothing may be lost or reordered.
    constexpr std::uint64_t count = 3000;
    for (std::uint64_t i = 0; i < count; ++i) {
      const auto b = number(i);
      REQUIRE_FALSE(p.conn.try_send(seq_type, asio::buffer(b)));
    }
    CHECK(p.conn.queued_bytes() > 0);
    const auto wakeups = co_await take_numbered(data, count, 256);
    // One wake-up per batch: far fewer than one per message.
    CHECK(wakeups < count / 4);
  });
}

TEST_CASE("the graph's try_send names the connection by id", "[data][try_send]") {
  run([](asio::io_context& io) -> awaitable<void> {
    direct_pair<memory_nodes> p(io, not_numbered());
    co_await p.open();
    auto data = p.a.template subscribe<pg::incoming_data_event>();
    const auto b = number(0);
    CHECK_FALSE(p.b.try_send(p.conn.id(), seq_type, asio::buffer(b)));
    CHECK(p.b.try_send(p.conn.id() + 1000, seq_type, asio::buffer(b)) == pg::errc::connection_not_found);
    const auto ev = co_await data.receive();
    CHECK(number_of(ev) == 0);
    CHECK(ev.connection != 0);
  });
}

TEST_CASE("wait_writable resumes a refused sender once the queue drains", "[data][try_send]") {
  const auto o = small_queue_options();
  run([o](asio::io_context& io) -> awaitable<void> {
    direct_pair<memory_nodes> p(io, not_numbered(), fast_options(), o);
    co_await p.open();
    auto data = p.a.template subscribe<pg::incoming_data_event>();

    // With room, the wait completes at once.
    co_await p.conn.wait_writable();

    p.w.net.stall();
    std::vector<std::uint8_t> chunk(8 * 1024, 7);
    const auto queued = co_await fill_until_stuck(p.conn, chunk);
    CHECK(p.conn.queued_bytes() > o.send_high_water);

    // Nothing drains while stalled: the wait is still pending.
    bool woke = false;
    std::error_code woke_ec;
    p.conn.wait_writable([&](std::error_code ec) {
      woke = true;
      woke_ec = ec;
    });
    co_await sleep_for(20ms);
    CHECK_FALSE(woke);

    p.w.net.resume();
    std::uint64_t got = 0;
    while (got < queued) {
      const auto ev = co_await data.receive();
      REQUIRE(ev.data.size() == chunk.size());
      ++got;
    }
    const bool drained = co_await eventually([&] { return woke; });
    CHECK(drained);
    CHECK_FALSE(woke_ec);
    CHECK(p.conn.queued_bytes() <= o.send_low_water);
    const auto b = number(1);
    CHECK_FALSE(p.conn.try_send(seq_type, asio::buffer(b)));

    // A cancelled wait ends with operation_aborted.
    p.w.net.stall();
    const auto more = co_await fill_until_stuck(p.conn, chunk);
    CHECK(more > 0);
    asio::cancellation_signal signal;
    std::error_code cancelled;
    p.conn.wait_writable(asio::bind_cancellation_slot(signal.slot(), [&](std::error_code ec) { cancelled = ec; }));
    co_await sleep_for(5ms);
    signal.emit(asio::cancellation_type::total);
    co_await sleep_for(5ms);
    CHECK(cancelled == asio::error::operation_aborted);
    p.w.net.resume();
  });
}

TEST_CASE("receive_some: limits, the end of a subscription, misuse and cancellation", "[events][batch]") {
  run([](asio::io_context& io) -> awaitable<void> {
    direct_pair<memory_nodes> p(io, not_numbered());
    co_await p.open();
    auto data = p.a.template subscribe<pg::incoming_data_event>();
    for (std::uint64_t i = 0; i < 10; ++i) {
      const auto b = number(i);
      REQUIRE_FALSE(p.conn.try_send(seq_type, asio::buffer(b)));
    }
    co_await p.conn.flush();
    const bool all_in = co_await eventually([&] { return data.size() == 10; });
    REQUIRE(all_in);

    // Never more than the storage holds; an empty span takes nothing.
    std::vector<pg::incoming_data_event> out(4);
    const auto n0 = co_await data.receive_some(std::span(out).first(0));
    CHECK(n0 == 0);
    const auto n4 = co_await data.receive_some(std::span(out));
    CHECK(n4 == 4);
    CHECK(number_of(out[0]) == 0);
    CHECK(number_of(out[3]) == 3);
    std::vector<pg::incoming_data_event> rest(16);
    const auto n6 = co_await data.receive_some(std::span(rest));
    CHECK(n6 == 6);
    CHECK(number_of(rest[5]) == 9);

    // A second receive while a batch receive waits is refused.
    std::error_code batch_ec, single_ec;
    std::size_t batch_n = 99;
    asio::cancellation_signal signal;
    data.receive_some(std::span(out),
                      asio::bind_cancellation_slot(signal.slot(), [&](std::error_code ec, std::size_t n) {
                        batch_ec = ec;
                        batch_n = n;
                      }));
    data.receive([&](std::error_code ec, pg::incoming_data_event) { single_ec = ec; });
    co_await sleep_for(5ms);
    CHECK(single_ec == asio::error::already_started);
    signal.emit(asio::cancellation_type::total);
    co_await sleep_for(5ms);
    CHECK(batch_ec == asio::error::operation_aborted);
    CHECK(batch_n == 0);

    // Closed and empty: eof.
    data.close();
    auto [ec, n] = co_await data.receive_some(std::span(out), as_tuple(use_awaitable));
    CHECK(ec == asio::error::eof);
    CHECK(n == 0);
  });
}
