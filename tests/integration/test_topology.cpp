// Graphs of several to hundreds of nodes: every node learns every other,
// flooding costs what its rule says, maintenance keeps nodes connected.
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

TEST_CASE("every node learns every other through presence", "[presence]") {
  struct shape {
    const char* name;
    int n;
    std::vector<edge> edges;
  };
  const std::vector<shape> shapes = {
      {"chain of 3", 3, chain(3)},
      {"chain of 12", 12, chain(12)},
      {"star of 12", 12, star(12)},
      {"random 30", 30, random_graph(30, 15, 1)},
      {"random 50", 50, random_graph(50, 30, 2)},
  };
  for (const auto& s : shapes) {
    DYNAMIC_SECTION(s.name) {
      run(
          [&s](asio::io_context& io) -> awaitable<void> {
            network net(io);
            co_await build(net, s.n, s.edges, props(), fixed_options());
            const bool converged = co_await eventually([&] { return all_see_all(net); });
            REQUIRE(converged);
            // Each view is complete and right: ids, peer ids, listen addresses.
            const auto far = static_cast<std::size_t>(s.n - 1);
            auto info = net.nodes[0].node_info(net.nodes[far].id());
            CHECK(info.peer_id == "n" + std::to_string(s.n - 1));
            REQUIRE(info.addresses.size() == 1);
            CHECK(info.addresses[0] == net.eps[far]);
            auto mine = net.nodes[far].node_info(0);
            CHECK(mine.id == net.nodes[far].id());
            CHECK(mine.addresses == net.nodes[far].local_endpoints());
            auto by_peer = net.nodes[far].nodes("n0");
            REQUIRE(by_peer.size() == 1);
            CHECK(by_peer[0].id == net.nodes[0].id());
            CHECK(net.nodes[far].nodes("nobody").empty());
            // Nobody opened a connection it was not told to.
            std::size_t links = 0;
            for (const auto& g : net.nodes) links += g.connections().size();
            CHECK(links == 2 * net.links.size());
          },
          30'000ms);
    }
  }
}

TEST_CASE("losing the last neighbor raises connection required; maintenance reconnects", "[presence][maintenance]") {
  run([](asio::io_context& io) -> awaitable<void> {
    auto o = fast_options();
    o.auto_connect = true;
    o.target_neighbors = 2;
    o.maintenance_interval = 50ms;
    network net(io);
    co_await build(net, 4, star(4), props(), o);
    // Maintenance turns the star into a mesh where everyone has two neighbors.
    const bool meshed = co_await eventually([&] {
      return std::all_of(net.nodes.begin(), net.nodes.end(), [](const auto& g) { return g.connections().size() >= 2; });
    });
    CHECK(meshed);
    std::uint64_t auto_connects = 0;
    for (const auto& g : net.nodes) auto_connects += g.stats().auto_connects;
    CHECK(auto_connects >= 1);

    // A lone pair: when the other leaves, the remaining node needs a connection.
    auto x = net.w.create({.graph_id = "other", .creator_id = "x"}, fixed_options());
    auto y = net.w.open("other", "y", fixed_options());
    auto required = y.subscribe<pg::connection_required_event>();
    co_await y.connect(x.listen(loopback6()));
    x.close();
    co_await next(required);
    CHECK_FALSE(y.status().has_neighbors());
  });
}

TEST_CASE("a node at its neighbor maximum refuses BUSY and refers the joiner to a neighbor",
          "[presence][maintenance]") {
  run([](asio::io_context& io) -> awaitable<void> {
    memory_nodes w(io);
    auto full = fixed_options();
    full.max_neighbors = 1;
    auto a = w.create(props(), full);
    const auto ea = a.listen(loopback6());
    auto b = w.open("test-graph", "bob", fixed_options());
    co_await b.connect(ea);
    const bool synced = co_await eventually([&] { return b.status().is_synchronized(); });
    REQUIRE(synced);
    const auto eb = b.listen(loopback6());

    auto joiner_opts = fast_options();
    joiner_opts.auto_connect = true;
    joiner_opts.target_neighbors = 1;  // only the referral, no top-up
    auto c = w.open("test-graph", "carol", joiner_opts);
    auto c_events = c.subscribe<pg::neighbor_connection_event>();
    auto [ec, conn] = co_await c.connect(ea, asio::experimental::as_tuple(use_awaitable));
    CHECK(ec == pg::errc::connection_refused);
    auto failed = co_await next(c_events);
    CHECK(failed.status == pg::connection_status::failed);
    // The referral: carol ends up as bob's neighbor.
    auto referred = co_await next(c_events);
    CHECK(referred.status == pg::connection_status::connected);
    CHECK(referred.connection.node == b.id());
    CHECK(referred.connection.address == eb);
    CHECK(c.stats().referrals_followed == 1);
    CHECK(a.stats().busy_refusals == 1);
    CHECK(a.connections().size() == 1);
    const bool sees = co_await eventually([&] { return c.nodes().size() == 3; });
    CHECK(sees);
  });
}

TEST_CASE("floods stay within two crossings of each link per update", "[presence][scale]") {
  run(
      [](asio::io_context& io) -> awaitable<void> {
        network net(io);
        co_await build(net, 30, random_graph(30, 20, 5), props(), fixed_options());
        const bool converged = co_await eventually([&] { return all_see_all(net); });
        REQUIRE(converged);
        co_await sleep_for(50ms);
        const auto before = total_floods(net);
        std::uint64_t useful_before = 0;
        for (const auto& g : net.nodes) useful_before += g.stats().floods_useful;
        // Five updates from different nodes.
        for (int k = 0; k < 5; ++k)
          net.nodes[static_cast<std::size_t>(k * 6)].set_node_attributes("v" + std::to_string(k));
        const bool spread = co_await eventually([&] {
          for (const auto& g : net.nodes)
            for (int k = 0; k < 5; ++k) {
              std::error_code ec;
              auto info = g.node_info(net.nodes[static_cast<std::size_t>(k * 6)].id(), ec);
              if (ec || info.attributes != "v" + std::to_string(k)) return false;
            }
          return true;
        });
        REQUIRE(spread);
        co_await sleep_for(100ms);
        const auto sent = total_floods(net) - before;
        std::uint64_t useful = 0;
        for (const auto& g : net.nodes) useful += g.stats().floods_useful;
        useful -= useful_before;
        const auto links = net.links.size();
        INFO("floods " << sent << " for 5 updates over " << links << " links");
        CHECK(sent <= 5 * 2 * links);
        CHECK(sent >= 5 * (net.nodes.size() - 1));    // it did reach everyone
        CHECK(useful == 5 * (net.nodes.size() - 1));  // each node took each update once
      },
      30'000ms);
}

TEST_CASE("a 300-node graph in one process: convergence, flood counts, a late joiner", "[presence][scale]") {
  static constexpr int n = 300;
  run(
      [](asio::io_context& io) -> awaitable<void> {
        network net(io);
        co_await build(net, n, random_graph(n, n / 2, 11), props(), fixed_options());
        const bool converged = co_await eventually([&] { return all_see_all(net); }, 60'000ms);
        REQUIRE(converged);
        const auto links = net.links.size();

        // One update from one node: every node takes it exactly once, so it
        // costs 2 links - (N - 1) FLOODs (docs/presence.md).
        // Nothing flooded for 100 ms: the build is over.
        for (auto last = total_floods(net);;) {
          co_await sleep_for(100ms);
          if (total_floods(net) == last) break;
          last = total_floods(net);
        }
        const auto before = total_floods(net);
        std::uint64_t useful_before = 0;
        for (const auto& g : net.nodes) useful_before += g.stats().floods_useful;
        net.nodes[n / 2].set_node_attributes("changed");
        const auto target = net.nodes[n / 2].id();
        const bool spread = co_await eventually(
            [&] {
              for (const auto& g : net.nodes) {
                std::error_code ec;
                if (g.node_info(target, ec).attributes != "changed") return false;
              }
              return true;
            },
            60'000ms);
        REQUIRE(spread);
        co_await sleep_for(200ms);
        std::uint64_t useful = 0;
        for (const auto& g : net.nodes) useful += g.stats().floods_useful;
        CHECK(useful - useful_before == static_cast<std::uint64_t>(n - 1));
        CHECK(total_floods(net) - before == 2 * links - (n - 1));

        // A new node joins the converged graph.
        auto late = net.w.open("test-graph", "late", fixed_options());
        co_await late.connect(net.eps[7]);
        const auto late_id = late.id();
        const bool joined = co_await eventually(
            [&] {
              if (late.nodes().size() != static_cast<std::size_t>(n + 1)) return false;
              for (const auto& g : net.nodes) {
                std::error_code ec;
                g.node_info(late_id, ec);
                if (ec) return false;
              }
              return true;
            },
            60'000ms);
        CHECK(joined);
      },
      120'000ms);
}
