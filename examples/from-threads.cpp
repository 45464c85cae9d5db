// from-threads: using graphs from threads that are not their executor.
//
// A graph's member functions run on the graph's executor (graph.hpp,
// "Thread safety"), as with any Asio I/O object. Here two threads run one
// io_context, each graph lives on a strand of it, and main() -- a third
// thread -- drives both with two patterns:
//
//   on(executor, fn)                          a plain call (create, listen,
//                                             subscribe, nodes, close) runs
//                                             on the executor; main waits
//                                             for its result.
//   co_spawn(executor, op, asio::use_future)  an operation that waits on the
//                                             network runs as a coroutine on
//                                             the executor; main waits on
//                                             the future.
//
// Passing asio::use_future straight to a graph's operation from main would
// start it on the wrong thread; spawning the coroutine on the executor is
// what makes the call safe. Destroying a graph also touches its state, so
// it happens on the executor too.
#include <peergraph/peergraph.hpp>

#include <asio.hpp>
#include <fmt/core.h>

#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace pg = peergraph;
using asio::awaitable;

namespace {

constexpr auto note_type =
    pg::guid::from_fields(0x1f0c6a0e, 0x52d1, 0x4a77, {0x9c, 0x2b, 0x33, 0x8e, 0x06, 0x5a, 0xd1, 0x4f});

using inbox = pg::subscription<pg::incoming_data_event, pg::direct_connection_event>;

// Runs fn on ex and gives its result to the calling thread (which must not
// be one of ex's own threads: it blocks until fn has run).
template <typename Executor, typename Fn>
auto on(const Executor& ex, Fn fn) {
  return asio::post(ex, asio::use_future(std::move(fn))).get();
}

// On Alice's strand: the first message, and who sent it.
awaitable<std::string> first_message(inbox& in) {
  for (;;) {
    auto ev = co_await in.receive();
    if (auto* msg = std::get_if<pg::incoming_data_event>(&ev))
      co_return fmt::format("{} says: {}", msg->peer_id, std::string(msg->data.begin(), msg->data.end()));
  }
}

// On Bob's strand: join through Alice, find her, write to her directly.
awaitable<std::size_t> join_and_write(pg::graph& bob, pg::endpoint entry) {
  co_await bob.connect(entry);
  co_await bob.wait_synchronized();
  const pg::node_info alice = co_await bob.wait_node("alice", {.with_addresses = true});
  auto link = co_await bob.open_direct("alice", alice.addresses.front());
  const std::string note = "written from another thread";
  co_await link.send(note_type, asio::buffer(note));
  co_return note.size();
}

awaitable<void> leave(pg::graph& g) { co_await g.async_close(); }

}  // namespace

int main() {
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) threads.emplace_back([&io] { io.run(); });

  const auto alice_ex = asio::make_strand(io);
  const auto bob_ex = asio::make_strand(io);
  std::optional<pg::graph> alice, bob;
  std::optional<inbox> in;

  const pg::endpoint entry = on(alice_ex, [&] {
    alice.emplace(pg::graph::create(alice_ex, {.graph_id = "threads", .creator_id = "alice"}));
    in.emplace(alice->subscribe<pg::incoming_data_event, pg::direct_connection_event>());
    return alice->listen({asio::ip::make_address("::1"), 0});
  });
  std::future<std::string> heard = asio::co_spawn(alice_ex, first_message(*in), asio::use_future);

  on(bob_ex, [&] { bob.emplace(pg::graph::open(bob_ex, "threads", "bob")); });
  const std::size_t written = asio::co_spawn(bob_ex, join_and_write(*bob, entry), asio::use_future).get();
  fmt::print("bob wrote {} bytes\n", written);
  fmt::print("alice heard: {}\n", heard.get());
  fmt::print("bob knows {} nodes\n", on(bob_ex, [&] { return bob->nodes().size(); }));

  asio::co_spawn(bob_ex, leave(*bob), asio::use_future).get();
  on(bob_ex, [&] { bob.reset(); });
  on(alice_ex, [&] {
    in.reset();
    alice.reset();  // the destructor closes the graph
  });

  work.reset();
  for (auto& t : threads) t.join();
}
