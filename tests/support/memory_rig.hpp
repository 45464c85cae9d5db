// Test support for the in-memory transport: a connected pair of streams, and
// small helpers to start operations and run what they make ready.
#ifndef PEERGRAPH_TESTS_MEMORY_RIG_HPP
#define PEERGRAPH_TESTS_MEMORY_RIG_HPP

#include <peergraph/memory_transport.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <cstdint>
#include <numeric>
#include <optional>
#include <system_error>
#include <vector>

namespace memtest {

namespace pg = peergraph;

using exec = asio::any_io_executor;
using stream = pg::memory_stream<exec>;
using listener = pg::memory_listener<exec>;
using bytes = std::vector<std::uint8_t>;

inline const auto v6 = asio::ip::make_address("::1");

/// Runs every handler that is ready, and those they make ready, without blocking.
inline void settle(asio::io_context& io) {
  io.restart();
  io.poll();
}

/// What one completion reported, and how often it was called.
struct result {
  int calls = 0;
  std::error_code ec;
  std::size_t n = 0;
};
inline auto capture(result& r) {
  return [&r](std::error_code ec, std::size_t n = 0) {
    ++r.calls;
    r.ec = ec;
    r.n = n;
  };
}

inline bytes pattern(std::size_t n, std::uint8_t seed = 0) {
  bytes b(n);
  std::iota(b.begin(), b.end(), seed);
  return b;
}

/// A listener and a connected pair of streams on `net`.
struct rig {
  explicit rig(asio::io_context& io, std::size_t capacity = pg::memory_network::default_pipe_capacity,
               pg::endpoint at = {v6, 0})
      : net(capacity), client(net.transport().make_stream(exec(io.get_executor()))) {
    std::error_code ec;
    lst.emplace(net.transport().listen(exec(io.get_executor()), at, ec));
    REQUIRE_FALSE(ec);
    ep = lst->local_endpoint(ec);
    result c, a;
    net.transport().async_connect(client, ep, capture(c));
    lst->async_accept([&](std::error_code e, stream s) {
      ++a.calls;
      a.ec = e;
      server.emplace(std::move(s));
    });
    settle(io);
    REQUIRE(c.calls == 1);
    REQUIRE(a.calls == 1);
    REQUIRE_FALSE(c.ec);
    REQUIRE_FALSE(a.ec);
  }

  pg::memory_network net;
  std::optional<listener> lst;
  pg::endpoint ep;
  stream client;
  std::optional<stream> server;
};

}  // namespace memtest

#endif  // PEERGRAPH_TESTS_MEMORY_RIG_HPP
