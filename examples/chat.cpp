// chat: a short conversation over direct connections.
//
// Three nodes join one graph on loopback. Alice listens; Bob and Carol each
// open a direct connection to her and talk; Alice answers each on the
// connection the message came on, by connection id, as PeerGraphSendData
// does. Every node prints what it receives.
#include <peergraph/peergraph.hpp>

#include <asio.hpp>
#include <fmt/core.h>

#include <map>
#include <string>

namespace pg = peergraph;
using asio::awaitable;

namespace {

constexpr auto chat_type =
    pg::guid::from_fields(0x4d5b2f11, 0x6522, 0x433b, {0x84, 0xef, 0xa2, 0x98, 0xe6, 0x07, 0xbb, 0xbb});

std::string text_of(const pg::incoming_data_event& ev) { return {ev.data.begin(), ev.data.end()}; }

// Alice: greets whoever connects and answers every message.
awaitable<void> alice_loop(pg::graph& alice, int expected_lines) {
  auto events = alice.subscribe<pg::direct_connection_event, pg::incoming_data_event>();
  std::map<pg::connection_id, std::string> who;
  for (int lines = 0; lines < expected_lines;) {
    auto ev = co_await events.receive();
    if (auto* d = std::get_if<pg::direct_connection_event>(&ev)) {
      if (d->status == pg::connection_status::connected) who[d->connection.id] = d->connection.peer_id;
      continue;
    }
    auto& msg = std::get<pg::incoming_data_event>(ev);
    fmt::print("[alice] {} says: {}\n", who[msg.connection], text_of(msg));
    ++lines;
    const std::string answer = "noted, " + who[msg.connection];
    co_await alice.send(msg.connection, chat_type, asio::buffer(answer));
  }
}

// A guest: opens a direct connection, says its lines, prints the answers.
awaitable<void> guest(pg::graph& me, pg::endpoint alice_at, std::vector<std::string> lines) {
  auto events = me.subscribe<pg::direct_connection_event, pg::incoming_data_event>();
  auto conn = co_await me.open_direct("alice", alice_at);
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
}

awaitable<void> conversation(asio::io_context& io) {
  auto alice = pg::graph::create(io, {.graph_id = "lobby", .creator_id = "alice"});
  auto bob = pg::graph::open(io, "lobby", "bob");
  auto carol = pg::graph::open(io, "lobby", "carol");
  const auto where = alice.listen({asio::ip::make_address("::1"), 0});

  std::vector<std::string> bob_lines{"hi alice", "the build is green"};
  std::vector<std::string> carol_lines{"hello from carol", "lunch at noon?", "bye"};
  auto done = std::make_shared<int>(0);
  asio::co_spawn(io, guest(bob, where, std::move(bob_lines)), [done](std::exception_ptr) { ++*done; });
  asio::co_spawn(io, guest(carol, where, std::move(carol_lines)), [done](std::exception_ptr) { ++*done; });
  co_await alice_loop(alice, 5);

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
