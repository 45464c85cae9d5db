// benchmarks/idle_memory.cpp: the `idle_memory` scenario: user-space memory
// of idle neighbor connections, measured with glibc's mallinfo2() (bytes in
// use: uordblks + hblkhd, over all arenas).
//
// peergraph: 1,000 pairs of nodes in one process (--quick: 100), each pair
// joined by one neighbor link (a node takes one neighbor link per remote
// node, and the many-pairs design needs no node with 1,000 neighbors). The
// baseline is taken with all 2,000 graph objects created and one of each
// pair listening; then every pair connects, the run waits until both ends
// of every link are established and idles 100 ms; the growth divided by the
// number of connection ends (2 per link) is `bytes_per_conn`. Nothing
// subscribes to events, no handle to a connection is kept.
//
// asio: the same count of TCP connections, each end a socket plus a
// coroutine parked in async_read_some on a buffer the size of peergraph's
// default graph_options::read_buffer_size (1 KiB): an idle framed reader.
//
// Kernel socket buffers are not user-space memory and are not counted.
// ZeroMQ is not measured here.
#include "common.hpp"

#include <malloc.h>
#include <memory>

namespace bench {
namespace {

std::size_t heap_in_use() {
  const auto m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

int pair_count(const context& ctx) { return ctx.cfg.quick ? 100 : 1000; }

awaitable<double> pg_bytes_per_end(asio::io_context& io, int n) {
  std::vector<pg::graph> acceptors;
  std::vector<pg::graph> joiners;
  std::vector<pg::endpoint> where;
  acceptors.reserve(static_cast<std::size_t>(n));
  joiners.reserve(static_cast<std::size_t>(n));
  where.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    acceptors.push_back(pg::graph::create(io, {.graph_id = "bench", .creator_id = fmt::format("a-{}", i)}));
    joiners.push_back(pg::graph::open(io, "bench", fmt::format("j-{}", i)));
    where.push_back(acceptors.back().listen(loopback()));
  }
  co_await sleep_for(std::chrono::milliseconds(50));
  const auto before = heap_in_use();

  for (int i = 0; i < n; ++i) {
    const auto ep = where[static_cast<std::size_t>(i)];
    co_await joiners[static_cast<std::size_t>(i)].connect(ep);
  }
  // Both ends of every link established.
  const auto deadline = clock_type::now() + std::chrono::seconds(30);
  for (;;) {
    bool all = true;
    for (const auto& a : acceptors)
      if (a.connections().size() != 1) all = false;
    if (all) break;
    if (clock_type::now() > deadline) throw std::runtime_error("idle_memory: links not established in 30 s");
    co_await sleep_for(std::chrono::milliseconds(10));
  }
  co_await sleep_for(std::chrono::milliseconds(100));
  const auto after = heap_in_use();

  for (auto& g : joiners) g.close();
  for (auto& g : acceptors) g.close();
  co_await sleep_for(std::chrono::milliseconds(50));
  co_return (static_cast<double>(after) - static_cast<double>(before)) / (2.0 * n);
}

struct raw_end {
  explicit raw_end(asio::io_context& io) : socket(io), buffer(pg::graph_options{}.read_buffer_size) {}
  tcp::socket socket;
  std::vector<std::uint8_t> buffer;
};

awaitable<void> park_reader(raw_end& e) {
  for (;;) {
    auto space = asio::buffer(e.buffer);
    auto [ec, n] = co_await e.socket.async_read_some(space, nothrow);
    if (ec) co_return;
  }
}

awaitable<double> raw_bytes_per_end(asio::io_context& io, int n) {
  tcp::acceptor acceptor(io);
  const tcp::endpoint any(asio::ip::make_address("::1"), 0);
  acceptor.open(any.protocol());
  acceptor.bind(any);
  acceptor.listen(asio::socket_base::max_listen_connections);
  const auto where = acceptor.local_endpoint();
  std::vector<std::unique_ptr<raw_end>> ends;
  ends.reserve(2 * static_cast<std::size_t>(n));
  std::vector<done_flag> readers(2 * static_cast<std::size_t>(n));
  co_await sleep_for(std::chrono::milliseconds(50));
  const auto before = heap_in_use();

  for (int i = 0; i < n; ++i) {
    auto client = std::make_unique<raw_end>(io);
    auto server = std::make_unique<raw_end>(io);
    co_await client->socket.async_connect(where, asio::use_awaitable);
    co_await acceptor.async_accept(server->socket, asio::use_awaitable);
    client->socket.set_option(tcp::no_delay(true));
    server->socket.set_option(tcp::no_delay(true));
    ends.push_back(std::move(client));
    ends.push_back(std::move(server));
  }
  for (std::size_t i = 0; i < ends.size(); ++i) asio::co_spawn(io, park_reader(*ends[i]), mark_done{&readers[i]});
  co_await sleep_for(std::chrono::milliseconds(100));
  const auto after = heap_in_use();

  for (auto& e : ends) e->socket.close();
  for (auto& r : readers) co_await wait_done(r);
  co_return (static_cast<double>(after) - static_cast<double>(before)) / (2.0 * n);
}

}  // namespace

awaitable<void> run_idle_memory(context& ctx) {
  if (!ctx.wants("idle_memory")) co_return;
  const int n = pair_count(ctx);
  // Memory figures vary less than timings: three repetitions at most.
  const int reps = std::min(ctx.reps(), 3);
  std::vector<double> pg, raw;
  for (int r = 0; r < reps; ++r) {
    if (ctx.runs(peergraph_system)) {
      const double b = co_await pg_bytes_per_end(ctx.io, n);
      pg.push_back(b);
    }
    if (ctx.runs(asio_system)) {
      const double b = co_await raw_bytes_per_end(ctx.io, n);
      raw.push_back(b);
    }
  }
  if (!pg.empty()) ctx.add("idle_memory", peergraph_system, 0, "bytes_per_conn", median(pg));
  if (!raw.empty()) ctx.add("idle_memory", asio_system, 0, "bytes_per_conn", median(raw));
}

}  // namespace bench
