// benchmarks/presence.cpp: the `presence` scenario: how fast presence
// converges in a graph of N nodes (50 and 200; --quick: 20), and how many
// FLOOD messages one presence update costs. peergraph only: there is no
// baseline.
//
// Each repetition builds a fresh graph of N nodes in this process, on this
// thread, over loopback: n0 creates the graph, n1..n(N-1) open it, in the
// random shape of graph_net.hpp (a random tree plus N/2 links), maintenance
// off; the presence lifetime is the default (300 s), so nothing is
// re-published during a run.
//
//   converge_s  Every node starts joining at the same moment t0 (see
//               graph_net.hpp). converge_s is the time from t0 until every
//               node's nodes() lists all N nodes (itself included), each
//               with its listen address.
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
#include "graph_net.hpp"

#include <filesystem>
#include <sys/resource.h>

namespace bench {
namespace {

pg::graph_options bench_options() {
  pg::graph_options o;
  o.auto_connect = false;
  o.max_neighbors = 100'000;
  return o;
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

awaitable<net::rep_result> one_rep(asio::io_context& io, int n, unsigned seed, int updates) {
  const auto fds_before = open_fds();
  net::recipe<pg::graph> how;
  how.make = [&io](int i) {
    if (i == 0) {
      pg::graph_properties props;
      props.graph_id = "bench-presence";
      props.creator_id = "n0";
      return pg::graph::create(io, props, bench_options());
    }
    return pg::graph::open(io, "bench-presence", fmt::format("n{}", i), bench_options());
  };
  how.listen_at = [](int) { return loopback(); };
  auto nothing = [](net::network<pg::graph>&) -> awaitable<void> { co_return; };
  const auto res = co_await net::one_rep(io, how, n, seed, updates, nothing, std::chrono::seconds(60));
  fmt::print(stderr,
             "peergraph-bench: presence: {} nodes, {} links, tree depth {}: all see all after {:.3f} s "
             "({:.3f} s after the last join; {} FLOODs, {} sync records); "
             "an update reached all in {:.1f} ms (mean), {:.2f} FLOODs per link\n",
             n, res.links, res.depth, res.converge_s, res.after_last_join_s, res.build_floods, res.build_sync_records,
             res.reach_ms, res.floods_per_link);
  // Wait until the sockets are gone.
  const auto close_deadline = clock_type::now() + std::chrono::seconds(10);
  while (open_fds() > fds_before && clock_type::now() < close_deadline)
    co_await sleep_for(std::chrono::milliseconds(20));
  if (open_fds() > fds_before)
    fmt::print(stderr, "peergraph-bench: presence: {} descriptors still open 10 s after closing\n",
               open_fds() - fds_before);
  co_return res;
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
