// Creates a graph and prints its node id: enough to show that peergraph's
// headers and dependencies are found and link.
#include <peergraph/peergraph.hpp>

#include <asio/io_context.hpp>
#include <fmt/core.h>

int main() {
  asio::io_context io;
  auto g = peergraph::graph::create(io, {.graph_id = "g", .creator_id = "p"});
  fmt::print("consumer: graph {} node {:016x}\n", g.graph_id(), g.id());
  return 0;
}
