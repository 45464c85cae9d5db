// chat: a short conversation over direct connections.
//
// Three nodes join one graph on loopback. Alice listens; Bob and Carol join
// through her, find her node by peer id, open a direct connection to it and
// talk; Alice answers each on the connection the message came on, by
// connection id, as PeerGraphSendData does. Every node prints what it
// receives; each message names its sender.
#include <peergraph/peergraph.hpp>

#include <asio.hpp>
#include <fmt/core.h>

#include <string>

namespace pg = peergraph;
using asio::awaitable;

namespace {

constexpr auto chat_type =
    pg::guid::from_fields(0x4d5b2f11, 0x6522, 0x433b, {0x84, 0xef, 0xa2, 0x98, 0xe6, 0x07, 0xbb, 0xbb});

std::string text_of(const pg::incoming_data_event& ev) { return {ev.data.begin(), ev.data.end()}; }

using inbox = pg::subscription<pg::direct_connection_event, pg::incoming_data_event>;

// Alice answers every message. Subscribing to both kinds is what makes her
// accept direct connections (as documented for Windows).
awaitable<void> alice_loop(pg::graph& alice, inbox& events, int expected_lines) {
  for (int lines = 0; lines < expected_lines;) {
    auto ev = co_await events.receive();
    auto* msg = std::get_if<pg::incoming_data_event>(&ev);
    if (!msg) continue;  // a direct connection opened or closed
    fmt::print("[alice] {} says: {}\n", msg->peer_id, text_of(*msg));
    ++lines;
    const std::string answer = "noted, " + msg->peer_id;
    co_await alice.send(msg->connection, chat_type, asio::buffer(answer));
  }
}

// A guest: joins through Alice, finds her node, opens a direct connection to
// it, says its lines and prints the answers.
awaitable<void> guest(pg::graph& me, pg::endpoint entry, std::vector<std::string> lines) {
  auto events = me.subscribe<pg::direct_connection_event, pg::incoming_data_event>();
  co_await me.connect(entry);
  co_await me.wait_synchronized();
  const pg::node_info alice = co_await me.wait_node("alice", {.with_addresses = true});
  auto conn = co_await me.open_direct("alice", alice.addresses.front());
  for (const auto& line : lines) {
    co_await conn.send(chat_type, asio::buffer(line));
    for (;;) {
      auto ev = co_await events.receive();
      if (auto* d = std::get_if<pg::incoming_data_event>(&ev)) {
        fmt::print("[{}] alice answers: {}\n", me.peer_id(), text_of(*d));
        break;
      }
    }
  }
  co_await conn.close();
  co_await me.async_close();
}

awaitable<void> conversation(asio::io_context& io) {
  auto alice = pg::graph::create(io, {.graph_id = "lobby", .creator_id = "alice"});
  inbox events = alice.subscribe<pg::direct_connection_event, pg::incoming_data_event>();
  auto bob = pg::graph::open(io, "lobby", "bob");
  auto carol = pg::graph::open(io, "lobby", "carol");
  const auto where = alice.listen({asio::ip::make_address("::1"), 0});

  std::vector<std::string> bob_lines{"hi alice", "the build is green"};
  std::vector<std::string> carol_lines{"hello from carol", "lunch at noon?", "bye"};
  // A guest's failure ends the program with it.
  auto done = std::make_shared<int>(0);
  auto finished = [done](std::exception_ptr e) {
    ++*done;
    if (e) std::rethrow_exception(e);
  };
  asio::co_spawn(io, guest(bob, where, std::move(bob_lines)), finished);
  asio::co_spawn(io, guest(carol, where, std::move(carol_lines)), finished);
  co_await alice_loop(alice, events, 5);

  asio::steady_timer wait(io);
  while (*done < 2) {
    wait.expires_after(std::chrono::milliseconds(5));
    co_await wait.async_wait(asio::use_awaitable);
  }
}

}  // namespace

int main() {
  asio::io_context io;
  std::exception_ptr failure;
  asio::co_spawn(io, conversation(io), [&](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) std::rethrow_exception(failure);
}
