// ODR check, first translation unit: see odr_main.cpp.
#include <peergraph/peergraph.hpp>

#include <asio/io_context.hpp>

#include <cstdint>
#include <system_error>

std::uint64_t odr_a() {
  asio::io_context io;
  auto g = peergraph::graph::create(io, {.graph_id = "odr", .creator_id = "a"});
  auto events = g.subscribe<peergraph::status_changed_event, peergraph::neighbor_connection_event>();
  std::error_code ec;
  g.listen(peergraph::endpoint(asio::ip::address_v6::loopback(), 0), ec);
  const auto id = g.id();
  g.close();
  io.run();
  return id;
}
