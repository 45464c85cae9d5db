// Test support: the nodes of the test graph, over loopback TCP or over the
// in-memory transport, and waiting for what they report.
//
// A test that does not need real sockets makes its nodes from
// memory_nodes: deterministic, no descriptors, no kernel buffers. One that
// exercises the socket path itself (TCP connect errors, raw bytes from a
// socket, bulk transfers through the kernel) uses tcp_nodes.
#ifndef PEERGRAPH_TESTS_SUPPORT_GRAPHS_HPP
#define PEERGRAPH_TESTS_SUPPORT_GRAPHS_HPP

#include "support/co_test.hpp"
#include <peergraph/memory_transport.hpp>

#include <string>
#include <utility>
#include <variant>

namespace pgtest {

using mem_graph = pg::basic_graph<asio::any_io_executor, pg::memory_transport>;

/// The id of the graph the tests' nodes belong to.
inline const std::string test_graph_id = "test-graph";

/// Properties of a graph "test-graph" created by `creator`.
inline pg::graph_properties test_properties(std::string creator = "alice") {
  pg::graph_properties p;
  p.graph_id = test_graph_id;
  p.creator_id = std::move(creator);
  return p;
}

/// Nodes of "test-graph" over loopback TCP.
struct tcp_nodes {
  using graph_type = pg::graph;
  explicit tcp_nodes(asio::io_context& ctx) : io(ctx) {}

  graph_type creator(std::string peer = "alice", pg::graph_options o = fast_options()) {
    return graph_type::create(io, test_properties(std::move(peer)), std::move(o));
  }
  graph_type create(pg::graph_properties props, pg::graph_options o = fast_options()) {
    return graph_type::create(io, std::move(props), std::move(o));
  }
  graph_type joiner(std::string peer = "bob", pg::graph_options o = fast_options()) {
    return open(test_graph_id, std::move(peer), std::move(o));
  }
  graph_type open(std::string graph_id, std::string peer, pg::graph_options o = fast_options()) {
    return graph_type::open(io, std::move(graph_id), std::move(peer), std::move(o));
  }

  asio::io_context& io;
};

/// Nodes of "test-graph" on one in-memory network.
struct memory_nodes {
  using graph_type = mem_graph;
  explicit memory_nodes(asio::io_context& ctx) : io(ctx) {}

  graph_type creator(std::string peer = "alice", pg::graph_options o = fast_options()) {
    return create(test_properties(std::move(peer)), std::move(o));
  }
  graph_type create(pg::graph_properties props, pg::graph_options o = fast_options()) {
    return graph_type::create(io.get_executor(), std::move(props), std::move(o), net.transport());
  }
  graph_type joiner(std::string peer = "bob", pg::graph_options o = fast_options()) {
    return open(test_graph_id, std::move(peer), std::move(o));
  }
  graph_type open(std::string graph_id, std::string peer, pg::graph_options o = fast_options()) {
    return graph_type::open(io.get_executor(), std::move(graph_id), std::move(peer), std::move(o), net.transport());
  }

  asio::io_context& io;
  pg::memory_network net;
};

/// Alice, who created the graph and listens, and Bob, who joined it: after
/// open(), Bob has a direct connection to Alice (`conn`) and Alice's
/// subscription `at_a` has reported it. What most data tests start from.
template <typename Nodes>
struct direct_pair {
  using graph_type = typename Nodes::graph_type;
  using subscription_type =
      typename graph_type::template subscription_type<pg::direct_connection_event, pg::incoming_data_event>;

  explicit direct_pair(asio::io_context& io, pg::subscribe_options at_alice = {},
                       pg::graph_options alice = fast_options(), pg::graph_options bob = fast_options())
      : w(io),
        a(w.creator("alice", std::move(alice))),
        b(w.joiner("bob", std::move(bob))),
        at_a(a.template subscribe<pg::direct_connection_event, pg::incoming_data_event>(std::move(at_alice))),
        ep(a.listen(loopback6())) {}

  asio::awaitable<void> open() {
    conn = co_await b.open_direct("alice", ep);
    auto ev = co_await next(at_a);
    REQUIRE(std::holds_alternative<pg::direct_connection_event>(ev));
  }

  Nodes w;
  graph_type a, b;
  subscription_type at_a;
  pg::endpoint ep;
  typename graph_type::connection_type conn;
};

/// Polls `pred` until it holds; false after `limit`.
template <typename Pred>
asio::awaitable<bool> eventually(Pred pred, std::chrono::milliseconds limit = 5'000ms) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) co_return false;
    co_await sleep_for(2ms);
  }
  co_return true;
}

/// Waits until an opened graph has synchronized with a neighbor (SYNC_END
/// received), which a node needs before it may listen; fails the test after
/// `limit`.
template <typename Graph>
asio::awaitable<void> synchronized(const Graph& g, std::chrono::milliseconds limit = 5'000ms) {
  const bool done = co_await eventually([&g] { return g.status().is_synchronized(); }, limit);
  REQUIRE(done);
}

}  // namespace pgtest

#endif  // PEERGRAPH_TESTS_SUPPORT_GRAPHS_HPP
