// benchmarks/scale.cpp: the `scale` scenario: graphs of 1,000 and 2,000
// nodes, and of 5,000 and 10,000 with `--scenario scale` (--quick: 200), in
// this process, on this thread, over the in-memory transport
// (memory_transport.hpp), so that no socket or descriptor limit stands in
// the way. peergraph only: there is no baseline.
//
// The graph is built as in the `presence` scenario (graph_net.hpp: a random
// tree plus N/2 links, everyone starting to join at once, maintenance off),
// node i listening at its own address 10.x.y.z:4000. Options that differ
// from the defaults: no practical neighbor limit, a presence table with room
// for every node, connect, handshake and idle timeouts of 10 minutes (one
// thread plays every host, so while thousands of nodes join a handshake
// waits behind millions of messages), and a presence lifetime of 3,600 s, so
// that no presence is re-published while the graph is being built (a
// 10,000-node build keeps one thread busy for minutes; a refresh would
// flood every record again).
// One repetition per size.
//
//   converge_s      from the moment the last node listens (the last join)
//                   until every node's nodes() lists all N nodes, each with
//                   its address
//   build_s         from the start until then
//   flood_msgs_per_link
//                   FLOOD frames per neighbor link for one presence update,
//                   the mean of three updates (--quick: one), as in `presence`
//   heap_bytes_per_node
//                   heap in use once the graph has converged (and, in a full
//                   run, after an 11 s pause, so that every link's keep-alive
//                   tick has returned its spare write buffers), minus the
//                   heap in use before the nodes were made, divided by N
//                   (glibc's mallinfo2: uordblks + hblkhd)
//   rss_bytes_per_node
//                   the same with the process's resident set size, once the
//                   allocator has given back the memory it holds free
//                   (malloc_trim)
#include "graph_net.hpp"

#include <fstream>
#include <malloc.h>

namespace bench {
namespace {

using mem_graph = pg::basic_graph<asio::any_io_executor, pg::memory_transport>;

std::size_t heap_in_use() {
  const auto m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

std::size_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * 4096;
}

pg::endpoint address_of(int i) {
  const auto k = static_cast<unsigned>(i + 1);
  const asio::ip::address_v4::bytes_type b{10, static_cast<std::uint8_t>(k >> 16), static_cast<std::uint8_t>(k >> 8),
                                           static_cast<std::uint8_t>(k)};
  return pg::endpoint(asio::ip::address_v4(b), 4000);
}

pg::graph_options scale_options(int n) {
  pg::graph_options o;
  o.auto_connect = false;
  o.max_neighbors = 100'000;
  o.max_presence_entries = static_cast<std::size_t>(n) + 100;
  // One thread plays every host: while 10,000 nodes join, a handshake's
  // bytes wait behind millions of others, longer than a real host's
  // timeouts allow. The timers are stretched, not switched off.
  o.connect_timeout = std::chrono::minutes(10);
  o.handshake_timeout = std::chrono::minutes(10);
  o.idle_timeout = std::chrono::minutes(10);
  return o;
}

struct sizes_result {
  net::rep_result rep;
  double heap_per_node = 0;
  double rss_per_node = 0;
};

awaitable<sizes_result> one_size(context& ctx, int n) {
  pg::memory_network network;
  net::recipe<mem_graph> how;
  how.make = [&](int i) {
    if (i == 0) {
      pg::graph_properties props;
      props.graph_id = "bench-scale";
      props.creator_id = "n0";
      props.presence_lifetime_s = 3600;
      return mem_graph::create(ctx.io.get_executor(), props, scale_options(n), network.transport());
    }
    return mem_graph::open(ctx.io.get_executor(), "bench-scale", fmt::format("n{}", i), scale_options(n),
                           network.transport());
  };
  how.listen_at = address_of;
  how.poll = std::chrono::milliseconds(std::max(2, n / 100));
  sizes_result out;
  malloc_trim(0);
  const auto heap0 = heap_in_use();
  const auto rss0 = rss_bytes();
  std::size_t heap1 = 0, rss1 = 0;
  const bool pause = !ctx.cfg.quick;
  auto measure = [&heap1, &rss1, pause](net::network<mem_graph>&) -> awaitable<void> {
    if (pause) co_await sleep_for(std::chrono::seconds(11));
    heap1 = heap_in_use();
    // Memory the allocator holds free goes back to the system first: the
    // resident figure is then what the nodes occupy, fragmentation included.
    malloc_trim(0);
    rss1 = rss_bytes();
  };
  const auto res = co_await net::one_rep(ctx.io, how, n, static_cast<unsigned>(n) * 31U + 7U, ctx.cfg.quick ? 1 : 3,
                                         measure, std::chrono::seconds(n < 5000 ? 60 : 1800));
  out.rep = res;
  out.heap_per_node = static_cast<double>(heap1 - std::min(heap1, heap0)) / n;
  out.rss_per_node = static_cast<double>(rss1 - std::min(rss1, rss0)) / n;
  const auto c = network.counters();
  fmt::print(
      stderr,
      "peergraph-bench: scale: {} nodes, {} links, tree depth {}: all see all {:.3f} s after the start, "
      "{:.3f} s after the last join; {} FLOODs and {} sync records to build; an update reached all in "
      "{:.1f} ms, {:.2f} FLOODs per link; heap {:.0f} B and RSS {:.0f} B per node; {} links made, {} MB carried\n",
      n, res.links, res.depth, res.converge_s, res.after_last_join_s, res.build_floods, res.build_sync_records,
      res.reach_ms, res.floods_per_link, out.heap_per_node, out.rss_per_node, c.links_made, c.bytes / 1'000'000);
  co_return out;
}

}  // namespace

awaitable<void> run_scale(context& ctx) {
  if (!ctx.wants("scale") || !ctx.runs(peergraph_system)) co_return;
  // 5,000 and 10,000 nodes take about 2 and 8 minutes and 4 and 14 GB:
  // only when this scenario is asked for by name.
  const bool by_name = ctx.cfg.scenario == "scale";
  const std::vector<int> sizes = ctx.cfg.quick ? std::vector<int>{200}
                                 : by_name     ? std::vector<int>{1000, 2000, 5000, 10000}
                                               : std::vector<int>{1000, 2000};
  for (const int n : sizes) {
    const auto size = static_cast<std::size_t>(n);
    if (!ctx.wants("scale", size)) continue;
    const auto r = co_await one_size(ctx, n);
    ctx.add("scale", peergraph_system, size, "converge_s", r.rep.after_last_join_s);
    ctx.add("scale", peergraph_system, size, "build_s", r.rep.converge_s);
    ctx.add("scale", peergraph_system, size, "flood_msgs_per_link", r.rep.floods_per_link);
    ctx.add("scale", peergraph_system, size, "heap_bytes_per_node", r.heap_per_node);
    ctx.add("scale", peergraph_system, size, "rss_bytes_per_node", r.rss_per_node);
  }
}

}  // namespace bench
