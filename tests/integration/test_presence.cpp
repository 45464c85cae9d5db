// Presence: synchronization, node events, expiry, properties and policy,
// and malformed graph-level frames; every node on an in-memory network.
#include "support/raw_peer.hpp"
#include "support/topology.hpp"

#include <asio/experimental/as_tuple.hpp>

#include <chrono>
#include <set>
#include <string>
#include <vector>

using namespace pgtest;
using asio::awaitable;
using asio::use_awaitable;

TEST_CASE("a joining node synchronizes first, then may listen", "[presence][sync]") {
  run([](asio::io_context& io) -> awaitable<void> {
    memory_nodes w(io);
    auto p = props(2);
    p.comment = "hello";
    p.presence_max = -1;
    auto a = w.create(p, fixed_options());
    // A created graph may listen at once.
    const auto ea = a.listen(loopback6());
    auto b = w.open("test-graph", "bob", fixed_options());
    auto b_status = b.subscribe<pg::status_changed_event>();
    // An opened graph that never synchronized may not.
    std::error_code ec;
    b.listen(loopback6(), ec);
    CHECK(ec == pg::errc::graph_not_ready);
    CHECK_THROWS_AS(b.listen(loopback6()), std::system_error);
    CHECK(b.properties().comment.empty());

    co_await b.connect(ea);
    auto first = co_await next(b_status);
    CHECK(first.status.has_neighbors());
    auto second = co_await next(b_status);
    CHECK(second.status.is_synchronized());
    CHECK(second.status.has_neighbors());
    CHECK(b.status().is_synchronized());
    // The graph's properties came with the synchronization.
    CHECK(b.properties().comment == "hello");
    CHECK(b.properties().friendly_name == "presence tests");
    CHECK(b.properties().presence_lifetime_s == 2);
    CHECK(b.properties().creator_id == "n0");
    // Presence of the creator arrived with it too.
    REQUIRE(b.nodes().size() == 2);
    CHECK(b.stats().syncs_completed == 1);

    const auto eb = b.listen(loopback6(), ec);
    CHECK_FALSE(ec);
    auto third = co_await next(b_status);
    CHECK(third.status.is_listening());
    // The new listen address reaches the other node.
    const bool seen = co_await eventually([&] {
      std::error_code e;
      auto info = a.node_info(b.id(), e);
      return !e && info.addresses == std::vector<pg::endpoint>{eb};
    });
    CHECK(seen);
  });
}

TEST_CASE("the creator changes the graph's properties and every node follows", "[presence][properties]") {
  run([](asio::io_context& io) -> awaitable<void> {
    network net(io);
    auto p = props();
    p.flags = 0x2;
    co_await build(net, 3, chain(3), p, fixed_options());
    auto& creator = net.nodes[0];
    auto& far = net.nodes[2];
    CHECK(far.properties().flags == 0x2);
    auto changed = creator.properties();
    changed.friendly_name = "renamed";
    changed.comment = "a new comment";
    changed.presence_max = 7;
    changed.graph_id = "ignored";
    changed.flags = 0;
    creator.set_properties(changed);
    CHECK(creator.properties().friendly_name == "renamed");
    CHECK(creator.properties().graph_id == "test-graph");
    const bool followed = co_await eventually([&] {
      const auto& q = far.properties();
      return q.friendly_name == "renamed" && q.comment == "a new comment" && q.presence_max == 7;
    });
    CHECK(followed);
    CHECK(far.properties().flags == 0x2);  // not a mutable property
    CHECK(net.nodes[1].properties().friendly_name == "renamed");

    // Only the creator may, and only with valid values.
    std::error_code ec;
    far.set_properties(changed, ec);
    CHECK(ec == pg::errc::access_denied);
    changed.comment = std::string(512, 'c');
    creator.set_properties(changed, ec);
    CHECK(ec == pg::errc::invalid_argument);
    changed.comment.clear();
    changed.presence_lifetime_s = 0;
    creator.set_properties(changed, ec);
    CHECK(ec == pg::errc::invalid_argument);
    creator.close();
    creator.set_properties(changed, ec);
    CHECK(ec == pg::errc::invalid_graph);
  });
}

TEST_CASE("node events: connected, updated, disconnected", "[presence][events]") {
  run([](asio::io_context& io) -> awaitable<void> {
    network net(io);
    co_await build(net, 3, chain(3), props(), fixed_options());
    const bool converged = co_await eventually([&] { return all_see_all(net); });
    REQUIRE(converged);
    auto& far = net.nodes[0];
    auto events = far.subscribe<pg::node_changed_event>();

    // A fourth node joins at the other end of the chain.
    auto d = net.w.open("test-graph", "dave", fixed_options());
    co_await d.connect(net.eps[2]);
    auto joined = co_await next(events);
    CHECK(joined.change == pg::node_change::connected);
    CHECK(joined.node.id == d.id());
    CHECK(joined.node.peer_id == "dave");
    CHECK(joined.node.addresses.empty());  // not listening yet

    // Listening and attributes are updates.
    const bool synced = co_await eventually([&] { return d.status().is_synchronized(); });
    REQUIRE(synced);
    const auto ed = d.listen(loopback4());
    auto listened = co_await next(events);
    CHECK(listened.change == pg::node_change::updated);
    CHECK(listened.node.addresses == std::vector<pg::endpoint>{ed});
    d.set_node_attributes("status=away");
    auto attrs = co_await next(events);
    CHECK(attrs.change == pg::node_change::updated);
    CHECK(attrs.node.attributes == "status=away");
    CHECK(far.node_info(d.id()).attributes == "status=away");
    CHECK(d.local_node().attributes == "status=away");

    std::error_code ec;
    d.set_node_attributes(std::string(5000, 'x'), ec);
    CHECK(ec == pg::errc::invalid_argument);
    d.set_node_attributes(std::string("a\0b", 3), ec);
    CHECK(ec == pg::errc::invalid_argument);

    // Leaving is seen at once (well inside the 300 s lifetime).
    const auto start = std::chrono::steady_clock::now();
    d.close();
    auto left = co_await next(events, 2'000ms);
    CHECK(left.change == pg::node_change::disconnected);
    CHECK(left.node.id == d.id());
    CHECK(left.node.peer_id == "dave");
    CHECK(std::chrono::steady_clock::now() - start < 1'000ms);
    CHECK(far.nodes().size() == 3);
    far.node_info(d.id(), ec);
    CHECK(ec == pg::errc::node_not_found);
    CHECK_THROWS_AS(far.node_info(d.id()), std::system_error);
    CHECK_FALSE(events.try_receive());
  });
}

TEST_CASE("presence is refreshed while alive and expires after a split; the graph heals", "[presence][expiry]") {
  run(
      [](asio::io_context& io) -> awaitable<void> {
        network net(io);
        co_await build(net, 4, chain(4), props(1), fixed_options());
        const bool converged = co_await eventually([&] { return all_see_all(net); });
        REQUIRE(converged);
        // Three lifetimes later every node is still there: presence is re-published.
        co_await sleep_for(3'000ms);
        CHECK(all_see_all(net));

        // Split the chain between n1 and n2: each half loses the other when its presence expires.
        auto events = net.nodes[0].subscribe<pg::node_changed_event>();
        auto link = net.nodes[2].connections();
        REQUIRE(link.size() == 2);
        for (const auto& c : link)
          if (c.node == net.nodes[1].id()) co_await net.nodes[2].find_connection(c.id).close();
        const auto split = std::chrono::steady_clock::now();
        const bool expired = co_await eventually(
            [&] { return net.nodes[0].nodes().size() == 2 && net.nodes[3].nodes().size() == 2; }, 4'000ms);
        REQUIRE(expired);
        const auto took = std::chrono::steady_clock::now() - split;
        // Not at once: the last refresh each side received still had to run out.
        CHECK(took >= 200ms);
        std::set<pg::node_id> gone;
        for (int i = 0; i < 2; ++i) {
          auto ev = co_await next(events);
          CHECK(ev.change == pg::node_change::disconnected);
          gone.insert(ev.node.id);
        }
        CHECK(gone == std::set<pg::node_id>{net.nodes[2].id(), net.nodes[3].id()});

        // Heal: one new link and both halves see everyone again.
        co_await net.nodes[3].connect(net.eps[0]);
        const bool healed = co_await eventually([&] { return all_see_all(net); });
        CHECK(healed);
      },
      20'000ms);
}

TEST_CASE("the seed example: enumerate a non-neighbor, open a direct connection, talk", "[presence][direct]") {
  run([](asio::io_context& io) -> awaitable<void> {
    network net(io);
    co_await build(net, 4, chain(4), props(), fixed_options());
    auto& alice = net.nodes[0];
    auto& zed = net.nodes[3];
    auto direct = alice.subscribe<pg::direct_connection_event, pg::incoming_data_event>();
    const bool found = co_await eventually([&] { return !zed.nodes("n0").empty(); });
    REQUIRE(found);
    auto who = zed.nodes("n0");
    REQUIRE(who.size() == 1);
    REQUIRE_FALSE(who[0].addresses.empty());
    for (const auto& c : zed.connections()) CHECK(c.node != who[0].id);  // not a neighbor
    auto conn = co_await zed.open_direct(who[0].peer_id, who[0].addresses.front());
    CHECK(conn.remote_node() == alice.id());
    const auto type = *pg::guid::parse("{0c3c2b8f-3c4e-4f39-9d0b-6a1f5e3f2a11}");
    const std::string text = "hello from n3";
    co_await conn.send(type, asio::buffer(text));
    auto ev1 = co_await next(direct);
    REQUIRE(std::holds_alternative<pg::direct_connection_event>(ev1));
    auto ev2 = co_await next(direct);
    REQUIRE(std::holds_alternative<pg::incoming_data_event>(ev2));
    const auto& data = std::get<pg::incoming_data_event>(ev2).data;
    CHECK(std::string(data.begin(), data.end()) == text);
  });
}

TEST_CASE("presence policy: presence_max 0 publishes nobody unless forced", "[presence][policy]") {
  run([](asio::io_context& io) -> awaitable<void> {
    auto p = props();
    p.presence_max = 0;
    network net(io);
    co_await build(net, 3, chain(3), p, fixed_options());
    co_await sleep_for(100ms);
    for (const auto& g : net.nodes) CHECK(g.nodes().empty());
    net.nodes[2].set_presence(true);
    const bool seen = co_await eventually([&] { return net.nodes[0].nodes().size() == 1; });
    CHECK(seen);
    CHECK(net.nodes[0].nodes()[0].id == net.nodes[2].id());
    net.nodes[2].set_presence(false);
    const bool withdrawn = co_await eventually([&] { return net.nodes[0].nodes().empty(); });
    CHECK(withdrawn);
  });
}

TEST_CASE("presence policy: presence_max N keeps the N smallest node ids", "[presence][policy]") {
  run([](asio::io_context& io) -> awaitable<void> {
    auto p = props();
    p.presence_max = 2;
    network net(io);
    co_await build(net, 5, star(5), p, fixed_options());
    std::vector<pg::node_id> ids;
    for (const auto& g : net.nodes) ids.push_back(g.id());
    std::sort(ids.begin(), ids.end());
    const bool settled = co_await eventually([&] {
      for (const auto& g : net.nodes) {
        auto v = g.nodes();
        if (v.size() != 2 || v[0].id != ids[0] || v[1].id != ids[1]) return false;
      }
      return true;
    });
    CHECK(settled);
  });
}

TEST_CASE("malformed graph-level frames end only that link", "[presence][bad-input]") {
  run([](asio::io_context& io) -> awaitable<void> {
    memory_nodes w(io);
    auto a = w.create(props(), fixed_options());
    const auto ea = a.listen(loopback6());
    auto events = a.subscribe<pg::neighbor_connection_event>();
    auto b = w.open("test-graph", "bob", fixed_options());
    co_await b.connect(ea);
    auto good = co_await next(events);
    REQUIRE(good.status == pg::connection_status::connected);

    // A raw neighbor: handshake by hand, then a FLOOD whose address count
    // runs past the frame.
    auto s = co_await raw_neighbor(w, ea, 0x4242);
    auto up = co_await next(events);
    REQUIRE(up.status == pg::connection_status::connected);
    proto::presence_entry e;
    e.node_id = 77;
    e.peer_id = "ghost";
    e.version = 1;
    e.lifetime_ms = 1000;
    std::vector<std::uint8_t> bad;
    proto::encode(proto::flood{false, e}, bad);
    bad[8 + 4 + 16 + 20] = 250;  // address count
    co_await asio::async_write(s, asio::buffer(bad), use_awaitable);
    auto down = co_await next(events);
    CHECK(down.status == pg::connection_status::disconnected);
    CHECK(down.reason == proto::error::malformed_message);
    CHECK(a.find_connection(good.connection.id).is_open());
    std::error_code ec;
    a.node_info(77, ec);
    CHECK(ec == pg::errc::node_not_found);
  });
}

TEST_CASE("a closed graph lists no nodes", "[presence][close]") {
  run([](asio::io_context& io) -> awaitable<void> {
    network net(io);
    co_await build(net, 3, chain(3), props(), fixed_options());
    const bool all = co_await eventually([&] { return all_see_all(net); });
    REQUIRE(all);
    REQUIRE(net.nodes[1].nodes().size() == 3u);
    net.nodes[1].close();
    CHECK(net.nodes[1].nodes().empty());
    CHECK(net.nodes[1].nodes(std::string_view("n0")).empty());
  });
}
