// benchmarks/presence.cpp: the `presence` scenario: how fast presence
// converges in a graph of N nodes (50 and 200; --quick: 20), and how many
// FLOOD messages one presence update costs. peergraph only: there is no
// baseline.
//
// Each repetition builds a fresh graph of N nodes in this process, on this
// thread, over loopback: n0 creates the graph, n1..n(N-1) open it. The shape
// is random (a seed per repetition): a random spanning tree (node i joins
// through node j, j drawn uniformly below i) plus N/2 further links between
// random pairs, no duplicates. Graph options: maintenance off
// (auto_connect false) and no practical neighbor limit, so that the graph
// keeps exactly that shape and its link count is known; the presence
// lifetime is the default (300 s), so nothing is re-published during a run.
//
//   converge_s  Every node starts joining at the same moment t0: node i
//               connects to its tree parent as soon as the parent listens;
//               once synchronized (its first SYNC_END) it listens itself,
//               which lets its own children connect. Each further link is
//               connected as soon as both of its ends listen. converge_s is
//               the time from t0 until every node's nodes() lists all N
//               nodes (itself included), each with its listen address.
//               Since an opened node may listen only after synchronizing,
//               the figure contains the tree's depth in connect + sync
//               steps as well as the flooding. Median over repetitions.
//   flood_msgs_per_link
//               After convergence, once every link is up and no FLOOD has
//               been sent for 100 ms: one node changes its attributes
//               (set_node_attributes); the run waits until every node's
//               node_info() shows the new attributes and then until nothing
//               has been flooded for 100 ms. The FLOOD frames sent by all
//               nodes in that window (graph_stats::floods_sent deltas),
//               divided by the number of neighbor links. Five updates per
//               repetition (--quick: two), each from a node drawn at random,
//               one after the other; the repetition's figure is their mean,
//               the reported figure the median over repetitions. The
//               origin sends the new version on each of its links and every
//               other node forwards it once, on each of its links but the
//               one it first came on (docs/presence.md), so an update costs
//               exactly 2 links - (N - 1) FLOODs if each node takes it once
//               (checked: graph_stats::floods_useful); the figure tells
//               whether the engine does that, the shape decides the value
//               (about 1.33 with N/2 extra links).
//
// Repetitions: --reps for 50 nodes, at most 3 for 200 nodes; 1 with --quick.
// Between repetitions every graph is closed and the run waits until the
// process's open file descriptors are back to where they were.
#include "common.hpp"

#include <sys/resource.h>

#include <filesystem>
#include <random>
#include <set>
#include <utility>

namespace bench {
namespace {

using edge = std::pair<int, int>;  // (connecting node, listening node), first > second

struct shape {
  std::vector<int> parent;  // parent[i]: the node i joins through (parent[0] unused)
  std::vector<edge> extra;  // further links
  int depth = 0;            // of the tree, in links from n0
};

shape random_shape(int n, unsigned seed) {
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

pg::graph_options bench_options() {
  pg::graph_options o;
  o.auto_connect = false;
  o.max_neighbors = 100'000;
  return o;
}

// The nodes of one repetition. listening[i] turns true once node i listens
// at eps[i]; ready[i] (a timer that never expires) is cancelled then, which
// wakes whoever waits to connect to node i.
struct network {
  std::vector<pg::graph> nodes;
  std::vector<pg::endpoint> eps;
  std::vector<bool> listening;
  std::vector<asio::steady_timer> ready;
};

awaitable<void> wait_listening(network& net, int i) {
  const auto k = static_cast<std::size_t>(i);
  while (!net.listening[k]) co_await net.ready[k].async_wait(nothrow);
}

void mark_listening(network& net, int i, pg::endpoint ep) {
  const auto k = static_cast<std::size_t>(i);
  net.eps[k] = ep;
  net.listening[k] = true;
  net.ready[k].cancel();
}

awaitable<void> connect_to(network& net, int from, int to) {
  co_await wait_listening(net, to);
  const auto ep = net.eps[static_cast<std::size_t>(to)];
  auto [ec, conn] = co_await net.nodes[static_cast<std::size_t>(from)].connect(ep, nothrow);
  if (ec) throw std::runtime_error(fmt::format("presence: n{} -> n{}: {}", from, to, ec.message()));
}

// Node i > 0: joins through its parent, waits for its first synchronization
// and listens.
awaitable<void> join(network& net, int i, int parent) {
  auto& g = net.nodes[static_cast<std::size_t>(i)];
  auto status = g.subscribe<pg::status_changed_event>();
  co_await connect_to(net, i, parent);
  while (!g.status().is_synchronized()) co_await status.receive();
  const auto ep = g.listen(loopback());
  mark_listening(net, i, ep);
}

awaitable<void> extra_link(network& net, int a, int b) {
  co_await wait_listening(net, a);  // a has joined
  co_await connect_to(net, a, b);
}

// Every node lists all N nodes, each with an address. `done[i]`: node i's
// view was complete already (no node leaves during the run, so it stays so).
bool all_see_all(const network& net, std::vector<bool>& done) {
  const auto n = net.nodes.size();
  bool all = true;
  for (std::size_t i = 0; i < n; ++i) {
    if (done[i]) continue;
    const auto& g = net.nodes[i];
    bool ok = g.stats().known_nodes == n - 1;  // cheap first
    if (ok) {
      const auto v = g.nodes();
      ok = v.size() == n && std::all_of(v.begin(), v.end(), [](const pg::node_info& x) { return !x.addresses.empty(); });
    }
    done[i] = ok;
    all = all && ok;
  }
  return all;
}

std::uint64_t total_floods(const network& net) {
  std::uint64_t s = 0;
  for (const auto& g : net.nodes) s += g.stats().floods_sent;
  return s;
}

std::uint64_t total_useful(const network& net) {
  std::uint64_t s = 0;
  for (const auto& g : net.nodes) s += g.stats().floods_useful;
  return s;
}

std::size_t total_connection_ends(const network& net) {
  std::size_t s = 0;
  for (const auto& g : net.nodes) s += g.connections().size();
  return s;
}

// Waits until no node has sent a FLOOD or a sync record for `quiet`.
awaitable<void> settle(const network& net, std::chrono::milliseconds quiet) {
  const auto deadline = clock_type::now() + std::chrono::seconds(10);
  auto sent = [&net] {
    std::uint64_t s = 0;
    for (const auto& g : net.nodes) s += g.stats().floods_sent + g.stats().sync_records_sent;
    return s;
  };
  auto last = sent();
  for (;;) {
    co_await sleep_for(quiet);
    const auto now = sent();
    if (now == last) co_return;
    if (clock_type::now() > deadline) throw std::runtime_error("presence: floods did not stop within 10 s");
    last = now;
  }
}

bool update_seen(const network& net, pg::node_id target, const std::string& value) {
  for (const auto& g : net.nodes) {
    std::error_code ec;
    const auto info = g.node_info(target, ec);
    if (ec || info.attributes != value) return false;
  }
  return true;
}

std::size_t open_fds() {
  std::error_code ec;
  std::size_t n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++n;
  return n;
}

// A graph of 200 nodes needs about 3 descriptors a node.
void raise_fd_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0) return;
  const rlim_t want = r.rlim_max == RLIM_INFINITY ? 20'000 : std::min<rlim_t>(r.rlim_max, 20'000);
  if (r.rlim_cur < want) {
    r.rlim_cur = want;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

struct rep_result {
  double converge_s;
  double floods_per_link;
};

awaitable<rep_result> one_rep(asio::io_context& io, int n, unsigned seed, int updates) {
  const auto sh = random_shape(n, seed);
  const auto links = static_cast<std::size_t>(n - 1) + sh.extra.size();
  const auto fds_before = open_fds();

  network net;
  const auto un = static_cast<std::size_t>(n);
  net.nodes.reserve(un);
  net.ready.reserve(un);
  net.eps.resize(un);
  net.listening.assign(un, false);
  pg::graph_properties props;
  props.graph_id = "bench-presence";
  props.creator_id = "n0";
  net.nodes.push_back(pg::graph::create(io, props, bench_options()));
  for (int i = 1; i < n; ++i) net.nodes.push_back(pg::graph::open(io, "bench-presence", fmt::format("n{}", i), bench_options()));
  for (int i = 0; i < n; ++i) net.ready.emplace_back(io, clock_type::time_point::max());
  co_await sleep_for(std::chrono::milliseconds(20));

  // Everything starts at once.
  std::vector<done_flag> flags(un + sh.extra.size());
  const auto t0 = clock_type::now();
  mark_listening(net, 0, net.nodes[0].listen(loopback()));
  flags[0].done = true;
  for (int i = 1; i < n; ++i)
    asio::co_spawn(io, join(net, i, sh.parent[static_cast<std::size_t>(i)]), mark_done{&flags[static_cast<std::size_t>(i)]});
  for (std::size_t k = 0; k < sh.extra.size(); ++k)
    asio::co_spawn(io, extra_link(net, sh.extra[k].first, sh.extra[k].second), mark_done{&flags[un + k]});

  std::vector<bool> done(un, false);
  const auto deadline = t0 + std::chrono::seconds(60);
  double all_listening_s = 0;
  while (!all_see_all(net, done)) {
    if (all_listening_s == 0 && std::all_of(net.listening.begin(), net.listening.end(), [](bool b) { return b; }))
      all_listening_s = seconds_since(t0);
    for (const auto& f : flags)
      if (f.done && f.error) std::rethrow_exception(f.error);
    if (clock_type::now() > deadline) throw std::runtime_error(fmt::format("presence: {} nodes not converged in 60 s", n));
    co_await sleep_for(std::chrono::milliseconds(2));
  }
  const double converge_s = seconds_since(t0);
  if (all_listening_s == 0) all_listening_s = converge_s;
  std::uint64_t build_floods = 0, build_sync = 0;
  for (const auto& g : net.nodes) {
    build_floods += g.stats().floods_sent;
    build_sync += g.stats().sync_records_sent;
  }
  for (auto& f : flags) co_await wait_done(f);
  if (total_connection_ends(net) != 2 * links)
    throw std::runtime_error(fmt::format("presence: {} connection ends, expected {}", total_connection_ends(net), 2 * links));

  // Presence updates, one at a time.
  co_await settle(net, std::chrono::milliseconds(100));
  std::mt19937 rng(seed * 7919U + 1);
  std::vector<double> per_link;
  double reach_ms = 0;
  for (int u = 0; u < updates; ++u) {
    auto& g = net.nodes[rng() % un];
    const auto value = fmt::format("update-{}", u);
    const auto floods0 = total_floods(net);
    const auto useful0 = total_useful(net);
    const auto u0 = clock_type::now();
    g.set_node_attributes(value);
    while (!update_seen(net, g.id(), value)) {
      if (seconds_since(u0) > 10) throw std::runtime_error("presence: an update did not reach every node in 10 s");
      co_await sleep_for(std::chrono::milliseconds(1));
    }
    reach_ms += seconds_since(u0) * 1e3;
    co_await settle(net, std::chrono::milliseconds(100));
    const auto sent = total_floods(net) - floods0;
    const auto useful = total_useful(net) - useful0;
    if (useful != un - 1)
      fmt::print(stderr, "peergraph-bench: presence: an update was taken {} times by {} other nodes\n", useful, n - 1);
    per_link.push_back(static_cast<double>(sent) / static_cast<double>(links));
  }
  double mean = 0;
  for (double x : per_link) mean += x;
  mean /= static_cast<double>(per_link.size());
  fmt::print(stderr,
             "peergraph-bench: presence: {} nodes, {} links, tree depth {}: all listening after {:.3f} s, "
             "all see all after {:.3f} s ({} FLOODs, {} sync records); "
             "an update reached all in {:.1f} ms (mean), {:.2f} FLOODs per link\n",
             n, links, sh.depth, all_listening_s, converge_s, build_floods, build_sync, reach_ms / updates, mean);

  // Close everything and wait until the sockets are gone.
  for (auto& g : net.nodes) g.close();
  net.ready.clear();
  net.nodes.clear();
  const auto close_deadline = clock_type::now() + std::chrono::seconds(10);
  while (open_fds() > fds_before && clock_type::now() < close_deadline) co_await sleep_for(std::chrono::milliseconds(20));
  if (open_fds() > fds_before)
    fmt::print(stderr, "peergraph-bench: presence: {} descriptors still open 10 s after closing\n", open_fds() - fds_before);
  co_return rep_result{converge_s, mean};
}

}  // namespace

awaitable<void> run_presence(context& ctx) {
  if (!ctx.wants("presence") || !ctx.runs(peergraph_system)) co_return;
  raise_fd_limit();
  {
    // The io_context's reactor opens its own descriptors with the first
    // socket; have them open before a repetition counts descriptors.
    tcp::socket s(ctx.io);
  }
  const std::vector<int> sizes = ctx.cfg.quick ? std::vector<int>{20} : std::vector<int>{50, 200};
  for (const int n : sizes) {
    if (!ctx.wants("presence", static_cast<std::size_t>(n))) continue;
    const int reps = n >= 200 ? std::min(ctx.reps(), 3) : ctx.reps();
    const int updates = ctx.cfg.quick ? 2 : 5;
    std::vector<double> converge, floods;
    for (int r = 0; r < reps; ++r) {
      const auto seed = static_cast<unsigned>(1000 * n + r + 1);
      const auto res = co_await one_rep(ctx.io, n, seed, updates);
      converge.push_back(res.converge_s);
      floods.push_back(res.floods_per_link);
    }
    ctx.add("presence", peergraph_system, static_cast<std::size_t>(n), "converge_s", median(converge));
    ctx.add("presence", peergraph_system, static_cast<std::size_t>(n), "flood_msgs_per_link", median(floods));
  }
}

}  // namespace bench
