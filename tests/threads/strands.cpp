// strands: the whole engine on a multi-threaded io_context, for
// ThreadSanitizer (script/test with TSAN=1, a CI stage).
//
// Four graphs, each on its own strand of one io_context run by four
// threads, over TCP on loopback: they join, flood presence updates, wait for
// each other, then each streams 2,000 numbered messages over a direct
// connection to the next one in a ring while it receives from the previous
// one, and closes. Every handler of a graph runs on its strand while the
// others' run on other threads at the same time; TSan reports any access
// that is not ordered. Exits 0 when every message arrived in order.
#include <peergraph/peergraph.hpp>

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <fmt/core.h>

#include <array>
#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace pg = peergraph;
using asio::awaitable;
using asio::use_awaitable;
using asio::experimental::as_tuple;
using namespace std::chrono_literals;

namespace {

constexpr int nodes = 4;
constexpr std::uint32_t messages = 2000;
constexpr auto ring_type = pg::guid::from_fields(0x7e4d0001, 1, 1, {1, 1, 2, 3, 5, 8, 13, 21});

std::string name(int i) { return fmt::format("node-{}", i); }

struct shared {
  std::promise<pg::endpoint> entry;
  std::shared_future<pg::endpoint> entry_known = entry.get_future().share();
  std::atomic<int> finished{0};  // nodes that have received everything
};

awaitable<void> pause(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(use_awaitable);
}

struct tally {
  std::uint32_t in_order = 0;
  bool done = false;
};

// Receives the previous node's stream, counting what arrives in order.
awaitable<void> take(pg::subscription<pg::incoming_data_event>& in, std::shared_ptr<tally> t) {
  std::uint32_t in_order = 0;
  while (in_order < messages) {
    auto [ec, ev] = co_await in.receive(as_tuple(use_awaitable));
    if (ec) break;
    if (ev.type != ring_type || ev.data.size() != 1024) break;
    std::uint32_t seq = 0;
    for (int b = 0; b < 4; ++b) seq = (seq << 8) | ev.data[b];
    if (seq != in_order + 1) break;
    ++in_order;
  }
  t->in_order = in_order;
  t->done = true;
}

awaitable<void> give(pg::graph& g, int i) {
  const auto next = name((i + 1) % nodes);
  const auto peer = co_await g.wait_node(next, {.with_addresses = true});
  auto conn = co_await g.open_direct(next, peer.addresses.front());
  for (std::uint32_t seq = 1; seq <= messages; ++seq) {
    std::vector<std::uint8_t> payload(1024, static_cast<std::uint8_t>(i));
    for (int b = 0; b < 4; ++b) payload[b] = static_cast<std::uint8_t>(seq >> (24 - 8 * b));
    co_await conn.send(ring_type, std::move(payload));
  }
  co_await conn.flush();
}

// One node's life, all on its strand. Returns the messages received in order.
awaitable<std::uint32_t> live(int i, std::shared_ptr<shared> s) {
  const auto ex = co_await asio::this_coro::executor;
  pg::graph_options o;
  o.keepalive_interval = 200ms;
  o.maintenance_interval = 200ms;
  auto g = i == 0 ? pg::graph::create(ex, {.graph_id = "strands", .creator_id = name(0)}, o)
                  : pg::graph::open(ex, "strands", name(i), o);
  auto in = g.subscribe<pg::incoming_data_event>();
  auto directs = g.subscribe<pg::direct_connection_event>();
  const pg::endpoint any{asio::ip::make_address("::1"), 0};
  if (i == 0) {
    s->entry.set_value(g.listen(any));
  } else {
    // The entry point is known before any other node starts.
    co_await g.connect(s->entry_known.get());
    co_await g.wait_synchronized();
    g.listen(any);
  }
  for (int round = 0; round < 20; ++round) {
    g.set_node_attributes(fmt::format("round={}", round));
    co_await pause(5ms);
  }
  co_await g.wait_nodes(nodes, {.with_addresses = true});
  // Receive while sending: the subscription's bound makes a sender wait
  // for its receiver, so the ring needs both at once.
  auto t = std::make_shared<tally>();
  asio::co_spawn(ex, take(in, t), asio::detached);
  co_await give(g, i);
  while (!t->done) co_await pause(10ms);
  // Stay until every node has its stream, then leave.
  ++s->finished;
  while (s->finished < nodes) co_await pause(10ms);
  // Everyone closes at once, so a DISCONNECT may meet a socket its peer
  // has already closed: async_close then reports that write's error, as
  // documented. Not a failure here.
  auto [closed] = co_await g.async_close(as_tuple(use_awaitable));
  (void)closed;
  co_return t->in_order;
}

}  // namespace

int main() {
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back([&io] { io.run(); });

  auto s = std::make_shared<shared>();
  std::vector<std::future<std::uint32_t>> results;
  results.push_back(asio::co_spawn(asio::make_strand(io), live(0, s), asio::use_future));
  s->entry_known.wait();
  for (int i = 1; i < nodes; ++i)
    results.push_back(asio::co_spawn(asio::make_strand(io), live(i, s), asio::use_future));

  int status = 0;
  for (int i = 0; i < nodes; ++i) {
    try {
      const auto got = results[i].get();
      fmt::print("{} received {} of {} messages in order\n", name(i), got, messages);
      if (got != messages) status = 1;
    } catch (const std::exception& e) {
      fmt::print("{} failed: {}\n", name(i), e.what());
      status = 1;
    }
  }
  work.reset();
  for (auto& t : threads) t.join();
  return status;
}
