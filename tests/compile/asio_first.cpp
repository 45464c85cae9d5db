// Asio included before peergraph, as applications often do: the program
// must build whatever the order of the includes (the Meson dependency and
// peergraph.pc carry Asio's coroutine definitions; see config.hpp).
// The order of these two includes is the point of the test.
// clang-format off
#include <asio.hpp>
#include <peergraph/peergraph.hpp>
// clang-format on

namespace pg = peergraph;

asio::awaitable<void> join(pg::graph& g, pg::endpoint ep) {
  auto link = co_await g.connect(ep);
  (void)link;
}

int main() {
  asio::io_context io;
  auto g = pg::graph::open(io, "g", "p");
  asio::co_spawn(io, join(g, {asio::ip::make_address("::1"), 1}), asio::detached);
  g.close();
  io.run();
}
