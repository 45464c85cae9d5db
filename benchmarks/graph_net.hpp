// benchmarks/graph_net.hpp: building a graph of N nodes in this process and
// measuring its presence, for the `presence` (TCP) and `scale` (in-memory
// transport) scenarios.
//
// The shape is random (a seed per repetition): a random spanning tree (node
// i joins through node j, j drawn uniformly below i) plus N/2 further links
// between random pairs, no duplicates. Maintenance is off and the neighbor
// limit out of reach, so that the graph keeps exactly that shape and its
// link count is known. Every node starts joining at the same moment t0:
// node i connects to its tree parent as soon as the parent listens; once
// synchronized (its first SYNC_END) it listens itself, which lets its own
// children connect. Each further link is connected as soon as both of its
// ends listen. The repetition then waits until every node's nodes() lists
// all N nodes, each with its listen address, and measures presence updates
// one after the other (see one_rep()).
#ifndef PEERGRAPH_BENCHMARKS_GRAPH_NET_HPP
#define PEERGRAPH_BENCHMARKS_GRAPH_NET_HPP

#include "common.hpp"

#include <functional>
#include <map>
#include <random>
#include <set>
#include <utility>

namespace bench::net {

using edge = std::pair<int, int>;  // (connecting node, listening node), first > second

struct shape {
  std::vector<int> parent;  // parent[i]: the node i joins through (parent[0] unused)
  std::vector<edge> extra;  // further links
  int depth = 0;            // of the tree, in links from n0
  std::size_t links() const { return parent.size() - 1 + extra.size(); }
};

inline shape random_shape(int n, unsigned seed) {
  std::mt19937 rng(seed);
  shape s;
  s.parent.assign(static_cast<std::size_t>(n), 0);
  std::vector<int> depth(static_cast<std::size_t>(n), 0);
  std::set<edge> have;
  for (int i = 1; i < n; ++i) {
    const int j = static_cast<int>(rng() % static_cast<unsigned>(i));
    s.parent[static_cast<std::size_t>(i)] = j;
    depth[static_cast<std::size_t>(i)] = depth[static_cast<std::size_t>(j)] + 1;
    s.depth = std::max(s.depth, depth[static_cast<std::size_t>(i)]);
    have.emplace(i, j);
  }
  const auto want = static_cast<std::size_t>(n / 2);
  while (s.extra.size() < want) {
    int a = static_cast<int>(rng() % static_cast<unsigned>(n));
    int b = static_cast<int>(rng() % static_cast<unsigned>(n));
    if (a == b) continue;
    if (a < b) std::swap(a, b);
    if (have.emplace(a, b).second) s.extra.emplace_back(a, b);
  }
  return s;
}

/// How a repetition makes its nodes: node i's graph (i = 0 creates) and
/// the endpoint it listens on.
template <typename Graph>
struct recipe {
  std::function<Graph(int)> make;
  std::function<pg::endpoint(int)> listen_at;
  /// How often convergence and updates are polled: every node is looked at
  /// each time, so a large graph is polled less often.
  std::chrono::milliseconds poll{2};
};

// The nodes of one repetition. listening[i] turns true once node i listens
// at eps[i]; ready[i] (a timer that never expires) is cancelled then, which
// wakes whoever waits to connect to node i.
template <typename Graph>
struct network {
  std::vector<Graph> nodes;
  std::vector<pg::endpoint> eps;
  std::vector<bool> listening;
  std::vector<asio::steady_timer> ready;
  clock_type::time_point last_listen{};
};

template <typename Graph>
awaitable<void> wait_listening(network<Graph>& net, int i) {
  const auto k = static_cast<std::size_t>(i);
  while (!net.listening[k]) co_await net.ready[k].async_wait(nothrow);
}

template <typename Graph>
void mark_listening(network<Graph>& net, int i, pg::endpoint ep) {
  const auto k = static_cast<std::size_t>(i);
  net.eps[k] = ep;
  net.listening[k] = true;
  net.ready[k].cancel();
  net.last_listen = clock_type::now();
}

template <typename Graph>
awaitable<void> connect_to(network<Graph>& net, int from, int to) {
  co_await wait_listening(net, to);
  const auto ep = net.eps[static_cast<std::size_t>(to)];
  auto [ec, conn] = co_await net.nodes[static_cast<std::size_t>(from)].connect(ep, nothrow);
  if (ec) throw std::runtime_error(fmt::format("n{} -> n{}: {}", from, to, ec.message()));
}

// Node i > 0: joins through its parent, waits for its first synchronization
// and listens.
template <typename Graph>
awaitable<void> join(network<Graph>& net, const recipe<Graph>& how, int i, int parent) {
  auto& g = net.nodes[static_cast<std::size_t>(i)];
  auto status = g.template subscribe<pg::status_changed_event>();
  co_await connect_to(net, i, parent);
  while (!g.status().is_synchronized()) co_await status.receive();
  mark_listening(net, i, g.listen(how.listen_at(i)));
}

template <typename Graph>
awaitable<void> extra_link(network<Graph>& net, int a, int b) {
  co_await wait_listening(net, a);  // a has joined
  co_await connect_to(net, a, b);
}

// Every node lists all N nodes, each with an address. `done[i]`: node i's
// view was complete already (no node leaves during the run, so it stays so).
template <typename Graph>
bool all_see_all(const network<Graph>& net, std::vector<bool>& done) {
  const auto n = net.nodes.size();
  bool all = true;
  for (std::size_t i = 0; i < n; ++i) {
    if (done[i]) continue;
    const auto& g = net.nodes[i];
    bool ok = g.stats().known_nodes == n - 1;  // cheap first
    if (ok) {
      const auto v = g.nodes();
      ok =
          v.size() == n && std::all_of(v.begin(), v.end(), [](const pg::node_info& x) { return !x.addresses.empty(); });
    }
    done[i] = ok;
    all = all && ok;
    if (!ok) break;  // the rest is looked at next time
  }
  return all;
}

template <typename Graph, typename F>
std::uint64_t sum(const network<Graph>& net, F&& f) {
  std::uint64_t s = 0;
  for (const auto& g : net.nodes) s += f(g.stats());
  return s;
}

// Waits until no node has sent a FLOOD or a sync record for `quiet`.
template <typename Graph>
awaitable<void> settle(const network<Graph>& net, std::chrono::milliseconds quiet, std::chrono::seconds limit) {
  const auto deadline = clock_type::now() + limit;
  auto sent = [&net] { return sum(net, [](const pg::graph_stats& s) { return s.floods_sent + s.sync_records_sent; }); };
  auto last = sent();
  for (;;) {
    co_await sleep_for(quiet);
    const auto now = sent();
    if (now == last) co_return;
    if (clock_type::now() > deadline) throw std::runtime_error("floods did not stop in time");
    last = now;
  }
}

template <typename Graph>
bool update_seen(const network<Graph>& net, pg::node_id target, const std::string& value) {
  for (const auto& g : net.nodes) {
    std::error_code ec;
    const auto info = g.node_info(target, ec);
    if (ec || info.attributes != value) return false;
  }
  return true;
}

// What a repetition that does not converge has to say about itself.
template <typename Graph>
void describe_stuck(const network<Graph>& net, const std::vector<bool>& done, const std::vector<done_flag>& flags) {
  std::size_t joins_left = 0, not_listening = 0, shown = 0;
  for (const auto& f : flags) joins_left += !f.done;
  for (bool b : net.listening) not_listening += !b;
  fmt::print(stderr, "peergraph-bench: not converged: {} joins or links unfinished, {} nodes not listening\n",
             joins_left, not_listening);
  std::map<pg::node_id, int> ids;
  for (const auto& g : net.nodes) ++ids[g.id()];
  for (const auto& [id, count] : ids)
    if (count > 1) fmt::print(stderr, "  node id {:016x} is shared by {} nodes\n", id, count);
  // The nodes the first unfinished node does not know.
  for (std::size_t i = 0; i < net.nodes.size(); ++i) {
    if (done[i]) continue;
    std::set<pg::node_id> known;
    for (const auto& x : net.nodes[i].nodes()) known.insert(x.id);
    for (std::size_t k = 0; k < net.nodes.size(); ++k) {
      if (known.count(net.nodes[k].id())) continue;
      const auto st = net.nodes[k].stats();
      fmt::print(stderr, "  n{} does not know n{} (id {:016x}): its status {:#x}, {} connections, {} floods sent\n", i,
                 k, net.nodes[k].id(), net.nodes[k].status().bits(), net.nodes[k].connections().size(), st.floods_sent);
    }
    break;
  }
  for (std::size_t i = 0; i < net.nodes.size() && shown < 3; ++i) {
    if (done[i]) continue;
    const auto& g = net.nodes[i];
    const auto st = g.stats();
    const auto listed = g.nodes();
    const auto without = std::count_if(listed.begin(), listed.end(), [](const auto& x) { return x.addresses.empty(); });
    fmt::print(stderr,
               "  n{}: status {:#x}, {} connections, knows {} nodes, lists {} ({} without an address), {} syncs, "
               "{} solicits\n",
               i, g.status().bits(), g.connections().size(), st.known_nodes, listed.size(), without, st.syncs_completed,
               st.solicits_sent);
    ++shown;
  }
}

struct rep_result {
  double converge_s = 0;         ///< from t0 until every node sees every node
  double after_last_join_s = 0;  ///< from the last node's listen until then
  double floods_per_link = 0;    ///< mean over the updates
  double reach_ms = 0;           ///< mean time for an update to reach every node
  std::uint64_t build_floods = 0, build_sync_records = 0;
  std::size_t links = 0;
  int depth = 0;
};

/// One repetition: builds the graph, waits for convergence, makes `updates`
/// presence updates one at a time (a node drawn at random changes its
/// attributes; the run waits until every node's node_info() shows them and
/// nothing has been flooded for 100 ms, then counts the FLOOD frames sent).
/// `co_await measure(net)` runs once the graph has converged; the graphs
/// are closed when this returns.
template <typename Graph, typename Measure>
awaitable<rep_result> one_rep(asio::io_context& io, const recipe<Graph>& how, int n, unsigned seed, int updates,
                              Measure&& measure, std::chrono::seconds limit) {
  const auto sh = random_shape(n, seed);
  rep_result res;
  res.links = sh.links();
  res.depth = sh.depth;
  network<Graph> net;
  const auto un = static_cast<std::size_t>(n);
  net.nodes.reserve(un);
  net.ready.reserve(un);
  net.eps.resize(un);
  net.listening.assign(un, false);
  for (int i = 0; i < n; ++i) net.nodes.push_back(how.make(i));
  for (int i = 0; i < n; ++i) net.ready.emplace_back(io, clock_type::time_point::max());
  co_await sleep_for(std::chrono::milliseconds(20));

  std::vector<done_flag> flags(un + sh.extra.size());
  const auto t0 = clock_type::now();
  mark_listening(net, 0, net.nodes[0].listen(how.listen_at(0)));
  flags[0].done = true;
  for (int i = 1; i < n; ++i)
    asio::co_spawn(io, join(net, how, i, sh.parent[static_cast<std::size_t>(i)]),
                   mark_done{&flags[static_cast<std::size_t>(i)]});
  for (std::size_t k = 0; k < sh.extra.size(); ++k)
    asio::co_spawn(io, extra_link(net, sh.extra[k].first, sh.extra[k].second), mark_done{&flags[un + k]});

  std::vector<bool> done(un, false);
  const auto deadline = t0 + limit;
  while (!all_see_all(net, done)) {
    for (const auto& f : flags)
      if (f.done && f.error) std::rethrow_exception(f.error);
    if (clock_type::now() > deadline) {
      describe_stuck(net, done, flags);
      throw std::runtime_error(fmt::format("{} nodes not converged in time", n));
    }
    co_await sleep_for(how.poll);
  }
  const auto converged = clock_type::now();
  res.converge_s = seconds_since(t0);
  res.after_last_join_s = std::chrono::duration<double>(converged - net.last_listen).count();
  res.build_floods = sum(net, [](const pg::graph_stats& s) { return s.floods_sent; });
  res.build_sync_records = sum(net, [](const pg::graph_stats& s) { return s.sync_records_sent; });
  for (auto& f : flags) co_await wait_done(f);
  std::size_t ends = 0;
  for (const auto& g : net.nodes) ends += g.connections().size();
  if (ends != 2 * res.links)
    throw std::runtime_error(fmt::format("{} connection ends, expected {}", ends, 2 * res.links));
  co_await measure(net);

  co_await settle(net, std::chrono::milliseconds(100), limit);
  std::mt19937 rng(seed * 7919U + 1);
  for (int u = 0; u < updates; ++u) {
    auto& g = net.nodes[rng() % un];
    const auto value = fmt::format("update-{}", u);
    const auto floods0 = sum(net, [](const pg::graph_stats& s) { return s.floods_sent; });
    const auto useful0 = sum(net, [](const pg::graph_stats& s) { return s.floods_useful; });
    const auto u0 = clock_type::now();
    g.set_node_attributes(value);
    while (!update_seen(net, g.id(), value)) {
      if (clock_type::now() - u0 > limit) throw std::runtime_error("an update did not reach every node in time");
      co_await sleep_for(how.poll);
    }
    res.reach_ms += seconds_since(u0) * 1e3 / std::max(updates, 1);
    co_await settle(net, std::chrono::milliseconds(100), limit);
    const auto sent = sum(net, [](const pg::graph_stats& s) { return s.floods_sent; }) - floods0;
    const auto useful = sum(net, [](const pg::graph_stats& s) { return s.floods_useful; }) - useful0;
    if (useful != un - 1)
      fmt::print(stderr, "peergraph-bench: an update was taken {} times by {} other nodes\n", useful, n - 1);
    res.floods_per_link += static_cast<double>(sent) / static_cast<double>(res.links) / std::max(updates, 1);
  }
  for (auto& g : net.nodes) g.close();
  net.ready.clear();
  net.nodes.clear();
  co_return res;
}

}  // namespace bench::net

#endif  // PEERGRAPH_BENCHMARKS_GRAPH_NET_HPP
