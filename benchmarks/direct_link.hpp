// benchmarks/direct_link.hpp: two peergraph nodes in one io_context joined
// by a direct connection, with the subscriptions the scenarios read.
#ifndef PEERGRAPH_BENCHMARKS_DIRECT_LINK_HPP
#define PEERGRAPH_BENCHMARKS_DIRECT_LINK_HPP

#include "common.hpp"

namespace bench {

using data_sub = pg::graph::subscription_type<pg::incoming_data_event>;

// alice accepts a direct connection from bob; `conn` is bob's end.
struct direct_link {
  explicit direct_link(asio::io_context& io, pg::graph_options opts = {})
      : alice(pg::graph::create(io, {.graph_id = "bench", .creator_id = "alice"}, opts)),
        bob(pg::graph::open(io, "bench", "bob", opts)),
        alice_control(alice.subscribe<pg::direct_connection_event>()),
        alice_data(alice.subscribe<pg::incoming_data_event>()),
        bob_data(bob.subscribe<pg::incoming_data_event>()) {}

  pg::graph alice;
  pg::graph bob;
  pg::graph::subscription_type<pg::direct_connection_event> alice_control;
  data_sub alice_data;  // what bob sends
  data_sub bob_data;    // what alice sends back
  pg::connection conn;  // bob's end
};

inline awaitable<void> open_link(direct_link& l) {
  const auto where = l.alice.listen(loopback());
  const std::string alice_id = "alice";
  l.conn = co_await l.bob.open_direct(alice_id, where);
  auto opened = co_await l.alice_control.receive();
  if (opened.status != pg::connection_status::connected) throw std::runtime_error("direct connection not accepted");
}

inline awaitable<void> close_link(direct_link& l) {
  co_await l.conn.close(nothrow);
  l.alice.close();
  l.bob.close();
}

// How a stream repetition sends: one `co_await send` per message (copying
// or taking vectors over), or try_send with wait_writable when the queue is
// full, received with receive_some.
enum class send_mode { awaited, owned, try_send };

// One stream repetition on `conn`, received from `sub` (stream.cpp): `count`
// messages of `size` bytes; returns the seconds from the first send to the
// last message received.
awaitable<double> pg_stream_once(pg::connection& conn, data_sub& sub, std::size_t size, std::uint64_t count,
                                 send_mode mode);

}  // namespace bench

#endif  // PEERGRAPH_BENCHMARKS_DIRECT_LINK_HPP
