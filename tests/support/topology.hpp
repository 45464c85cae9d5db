// Test support for graphs of many nodes in one process: shapes (chain, star,
// random), building them over the in-memory transport, and what to ask of
// them (does every node see every other, how many FLOODs went out).
#ifndef PEERGRAPH_TESTS_SUPPORT_TOPOLOGY_HPP
#define PEERGRAPH_TESTS_SUPPORT_TOPOLOGY_HPP

#include "support/graphs.hpp"

#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace pgtest {

using edge = std::pair<int, int>;
// Nothing here needs a real socket: every node is on an in-memory network.
using graph = memory_nodes::graph_type;
using node_sub = graph::subscription_type<pg::node_changed_event>;

/// Options for topology tests: fast_options() (maintenance off, no practical
/// neighbor limit), so the graph keeps the shape the test gives it.
inline pg::graph_options fixed_options() { return fast_options(); }

inline pg::graph_properties props(std::uint32_t lifetime_s = 300) {
  pg::graph_properties p;
  p.graph_id = "test-graph";
  p.creator_id = "n0";
  p.friendly_name = "presence tests";
  p.presence_lifetime_s = lifetime_s;
  return p;
}

/// A graph of nodes "n0".."n<N-1>": n0 creates, the others open. Node i > 0
/// joins through the first edge (i, j) with j < i, waits for its
/// synchronization and listens; the remaining edges are connected after.
struct network {
  explicit network(asio::io_context& io) : w(io) {}
  memory_nodes w;
  std::vector<graph> nodes;
  std::vector<pg::endpoint> eps;
  std::vector<edge> links;
};

inline asio::awaitable<void> build(network& net, int n, std::vector<edge> edges, pg::graph_properties p,
                                   pg::graph_options o) {
  net.nodes.push_back(net.w.create(p, o));
  net.eps.push_back(net.nodes[0].listen(loopback4()));
  std::vector<bool> joined(static_cast<std::size_t>(n), false);
  joined[0] = true;
  for (int i = 1; i < n; ++i) {
    net.nodes.push_back(net.w.open(p.graph_id, "n" + std::to_string(i), o));
    net.eps.emplace_back();
  }
  std::vector<edge> later;
  for (auto [a, b] : edges) {
    if (a < b) std::swap(a, b);
    auto ua = static_cast<std::size_t>(a);
    if (!joined[ua]) {
      auto& g = net.nodes[ua];
      co_await g.connect(net.eps[static_cast<std::size_t>(b)]);
      const bool synced = co_await eventually([&g] { return g.status().is_synchronized(); });
      REQUIRE(synced);
      net.eps[ua] = g.listen(loopback4());
      joined[ua] = true;
    } else {
      later.emplace_back(a, b);
    }
    net.links.emplace_back(a, b);
  }
  for (auto [a, b] : later)
    co_await net.nodes[static_cast<std::size_t>(a)].connect(net.eps[static_cast<std::size_t>(b)]);
}

inline std::vector<edge> chain(int n) {
  std::vector<edge> e;
  for (int i = 1; i < n; ++i) e.emplace_back(i, i - 1);
  return e;
}
inline std::vector<edge> star(int n) {
  std::vector<edge> e;
  for (int i = 1; i < n; ++i) e.emplace_back(i, 0);
  return e;
}
/// A random tree plus `extra` random further links, no duplicates.
inline std::vector<edge> random_graph(int n, int extra, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<edge> e;
  std::set<edge> have;
  for (int i = 1; i < n; ++i) {
    const int j = static_cast<int>(rng() % static_cast<unsigned>(i));
    e.emplace_back(i, j);
    have.emplace(i, j);
  }
  for (int k = 0; k < extra * 20 && extra > 0; ++k) {
    int a = static_cast<int>(rng() % static_cast<unsigned>(n)), b = static_cast<int>(rng() % static_cast<unsigned>(n));
    if (a == b) continue;
    if (a < b) std::swap(a, b);
    if (!have.emplace(a, b).second) continue;
    e.emplace_back(a, b);
    if (--extra == 0) break;
  }
  return e;
}

// Every node lists every node, each with its listen address.
inline bool all_see_all(const network& net) {
  for (const auto& g : net.nodes) {
    const auto v = g.nodes();
    if (v.size() != net.nodes.size()) return false;
    for (const auto& n : v)
      if (n.addresses.empty()) return false;
  }
  return true;
}

inline std::uint64_t total_floods(const network& net) {
  std::uint64_t s = 0;
  for (const auto& g : net.nodes) s += g.stats().floods_sent;
  return s;
}

}  // namespace pgtest

#endif  // PEERGRAPH_TESTS_SUPPORT_TOPOLOGY_HPP
