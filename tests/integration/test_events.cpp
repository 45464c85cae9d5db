// The typed event channel: types, variants, filters, ordering, backpressure.
#include "support/raw_peer.hpp"

#include <asio/experimental/as_tuple.hpp>

#include <set>

using namespace pgtest;
using asio::awaitable;
using asio::use_awaitable;

namespace {

// None of these needs a real socket: the nodes and the raw peers use the
// in-memory transport.
using nodes = memory_nodes;

constexpr auto type_x = pg::guid::from_fields(0x11111111, 0x2222, 0x3333, {1, 2, 3, 4, 5, 6, 7, 8});
constexpr auto type_y = pg::guid::from_fields(0x99999999, 0x8888, 0x7777, {8, 7, 6, 5, 4, 3, 2, 1});

}  // namespace

TEST_CASE("listen reports a status change", "[events]") {
  run([](asio::io_context& io) -> awaitable<void> {
    nodes w(io);
    auto a = w.creator();
    auto status = a.subscribe<pg::status_changed_event>();
    CHECK(status.size() == 0);
    a.listen(loopback6());
    auto ev = co_await next(status);
    CHECK(ev.status.is_listening());
    CHECK(ev.status.is_synchronized());
    CHECK_FALSE(ev.status.has_neighbors());
    CHECK(ev.status == a.status());
  });
}

TEST_CASE("a variant subscription keeps the order the graph reported", "[events]") {
  run([](asio::io_context& io) -> awaitable<void> {
    nodes w(io);
    auto a = w.creator();
    auto b = w.joiner("bob");
    auto both = b.subscribe<pg::status_changed_event, pg::neighbor_connection_event>();
    const auto ep = a.listen(loopback6());
    co_await b.connect(ep);
    auto first = co_await next(both);
    auto second = co_await next(both);
    // The link is reported before the status it causes.
    REQUIRE(std::holds_alternative<pg::neighbor_connection_event>(first));
    REQUIRE(std::holds_alternative<pg::status_changed_event>(second));
    CHECK(std::get<pg::status_changed_event>(second).status.has_neighbors());
    // Then the synchronization that the link brings.
    auto third = co_await next(both);
    REQUIRE(std::holds_alternative<pg::status_changed_event>(third));
    CHECK(std::get<pg::status_changed_event>(third).status.is_synchronized());
    CHECK_FALSE(both.try_receive());
  });
}

TEST_CASE("incoming data can be filtered by data type", "[events]") {
  run([](asio::io_context& io) -> awaitable<void> {
    nodes w(io);
    auto a = w.creator();
    pg::subscribe_options only_x;
    only_x.data_types = {type_x};
    auto xs = a.subscribe<pg::incoming_data_event>(only_x);
    auto all = a.subscribe<pg::incoming_data_event>();
    const auto ep = a.listen(loopback6());
    auto sock = co_await raw_neighbor(w, ep);
    bytes stream;
    for (int i = 0; i < 6; ++i) {
      const auto m = pt2pt(i % 2 ? type_y : type_x, 10 + i, static_cast<std::uint8_t>(i));
      stream.insert(stream.end(), m.begin(), m.end());
    }
    co_await asio::async_write(sock, asio::buffer(stream), use_awaitable);
    for (int i = 0; i < 6; ++i) {
      auto ev = co_await next(all);
      CHECK(ev.type == (i % 2 ? type_y : type_x));
      CHECK(ev.data.size() == static_cast<std::size_t>(10 + i));
      CHECK(ev.data == bytes(10 + i, static_cast<std::uint8_t>(i)));
    }
    for (int i = 0; i < 6; i += 2) {
      auto ev = co_await next(xs);
      CHECK(ev.type == type_x);
      CHECK(ev.data.size() == static_cast<std::size_t>(10 + i));
    }
    CHECK(xs.size() == 0);
  });
}

TEST_CASE("a slow subscriber loses nothing and its queue stays bounded", "[events][backpressure]") {
  run([](asio::io_context& io) -> awaitable<void> {
    nodes w(io);
    auto a = w.creator();
    pg::subscribe_options small;
    small.max_events = 2;
    auto events = a.subscribe<pg::neighbor_connection_event>(small);
    const auto ep = a.listen(loopback6());
    std::vector<nodes::graph_type> joiners;
    std::set<pg::node_id> expected;
    for (int i = 0; i < 10; ++i) {
      joiners.push_back(w.joiner("peer" + std::to_string(i)));
      expected.insert(joiners.back().id());
      co_await joiners.back().connect(ep);
      CHECK(events.size() <= 2);
    }
    co_await sleep_for(50ms);
    CHECK(events.size() == 2);
    std::set<pg::node_id> seen;
    for (int i = 0; i < 10; ++i) {
      auto ev = co_await next(events);
      CHECK(ev.status == pg::connection_status::connected);
      seen.insert(ev.connection.node);
      CHECK(events.size() <= 2);
    }
    CHECK(seen == expected);
  });
}

TEST_CASE("a full subscription stops the node reading the link that feeds it", "[events][backpressure]") {
  run([](asio::io_context& io) -> awaitable<void> {
    nodes w(io);
    auto a = w.creator();
    pg::subscribe_options small;
    small.max_events = 4;
    small.max_bytes = 1 << 20;
    auto data = a.subscribe<pg::incoming_data_event>(small);
    const auto ep = a.listen(loopback6());
    auto sock = co_await raw_neighbor(w, ep);

    // 64 MiB in 64 KiB messages: far more than the subscription plus the
    // socket buffers hold.
    constexpr int count = 1024;
    const auto one = pt2pt(type_x, 64 * 1024, 0x5A);
    bool written = false;
    std::size_t sent = 0;
    auto writer = [&]() -> awaitable<void> {
      for (int i = 0; i < count; ++i) {
        co_await asio::async_write(sock, asio::buffer(one), use_awaitable);
        sent += one.size();
      }
      written = true;
    };
    asio::co_spawn(io, writer(), asio::detached);
    co_await sleep_for(300ms);
    CHECK_FALSE(written);
    CHECK(data.size() <= 4);
    CHECK(data.size() >= 1);
    INFO("sent before the reader resumed: " << sent);
    CHECK(sent < 32u * 1024 * 1024);

    // Draining the subscription lets everything through, in order, intact.
    for (int i = 0; i < count; ++i) {
      auto ev = co_await next(data);
      REQUIRE(ev.data.size() == 64 * 1024);
      CHECK(ev.data.front() == 0x5A);
      CHECK(ev.data.back() == 0x5A);
      CHECK(data.size() <= 4);
    }
    CHECK(written);
  });
}

TEST_CASE("closing a subscription ends its receive and frees the producers", "[events]") {
  run([](asio::io_context& io) -> awaitable<void> {
    nodes w(io);
    auto a = w.creator();
    pg::subscribe_options one;
    one.max_events = 1;
    auto blocked = a.subscribe<pg::incoming_data_event>(one);
    auto watcher = a.subscribe<pg::incoming_data_event>();
    const auto ep = a.listen(loopback6());
    auto sock = co_await raw_neighbor(w, ep);
    bytes two = pt2pt(type_x, 1, 1);
    const auto second = pt2pt(type_x, 1, 2);
    two.insert(two.end(), second.begin(), second.end());
    co_await asio::async_write(sock, asio::buffer(two), use_awaitable);
    auto first = co_await next(watcher);
    CHECK(first.data[0] == 1);
    co_await sleep_for(50ms);
    CHECK(watcher.size() == 0);  // the second event waits for `blocked`
    blocked.close();
    auto then = co_await next(watcher);
    CHECK(then.data[0] == 2);
    // The closed subscription still hands out what it had, then eof.
    auto queued = blocked.try_receive();
    REQUIRE(queued);
    CHECK(queued->data[0] == 1);
    auto [ec, ev] = co_await blocked.receive(asio::experimental::as_tuple(use_awaitable));
    CHECK(ec == asio::error::eof);
  });
}

TEST_CASE("a receive can be cancelled without losing the next event", "[events][cancel]") {
  run([](asio::io_context& io) -> awaitable<void> {
    nodes w(io);
    auto a = w.creator();
    auto status = a.subscribe<pg::status_changed_event>();
    asio::cancellation_signal signal;
    std::error_code result;
    int calls = 0;
    status.receive(asio::bind_cancellation_slot(signal.slot(), [&](std::error_code ec, pg::status_changed_event) {
      ++calls;
      result = ec;
    }));
    co_await sleep_for(5ms);
    signal.emit(asio::cancellation_type::total);
    co_await sleep_for(5ms);
    CHECK(calls == 1);
    CHECK(result == asio::error::operation_aborted);
    a.listen(loopback6());
    auto ev = co_await next(status);
    CHECK(ev.status.is_listening());
  });
}

TEST_CASE("two receives at once on one subscription: the second is refused", "[events]") {
  run([](asio::io_context& io) -> awaitable<void> {
    nodes w(io);
    auto a = w.creator();
    auto status = a.subscribe<pg::status_changed_event>();
    std::error_code first_ec, second_ec;
    int calls = 0;
    status.receive([&](std::error_code ec, pg::status_changed_event) {
      ++calls;
      first_ec = ec;
    });
    status.receive([&](std::error_code ec, pg::status_changed_event) {
      ++calls;
      second_ec = ec;
    });
    co_await sleep_for(5ms);
    CHECK(second_ec == asio::error::already_started);
    a.listen(loopback6());
    co_await sleep_for(5ms);
    CHECK(calls == 2);
    CHECK_FALSE(first_ec);
  });
}

TEST_CASE("a subscription chosen at run time yields the kinds of its mask, in order", "[events][mask]") {
  run([](asio::io_context& io) -> awaitable<void> {
    nodes w(io);
    auto a = w.creator();
    auto b = w.joiner("bob");
    const auto kinds =
        pg::event_mask::of<pg::status_changed_event>() | pg::event_mask::of<pg::neighbor_connection_event>();
    auto dynamic = b.subscribe(kinds);
    auto typed = b.subscribe<pg::status_changed_event, pg::neighbor_connection_event>();
    auto data_only = b.subscribe(pg::event_mask::of<pg::incoming_data_event>());
    const auto ep = a.listen(loopback6());
    co_await b.connect(ep);
    // The same events as the compile-time subscription, in the same order.
    for (int i = 0; i < 3; ++i) {
      pg::any_event got = co_await next(dynamic);
      auto want = co_await next(typed);
      CHECK(got.index() == (want.index() == 0 ? pg::event_index<pg::status_changed_event>
                                              : pg::event_index<pg::neighbor_connection_event>));
      CHECK(kinds.contains(got));
    }
    CHECK_FALSE(dynamic.try_receive());
    CHECK_FALSE(data_only.try_receive());
    CHECK_THROWS_AS(b.subscribe(pg::event_mask{}), std::system_error);
  });
}
