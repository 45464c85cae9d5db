// benchmarks/compile/asio_echo.cpp: the baseline of the compile-time figure.
// A plain Asio coroutine program of the quickstart's size: a TCP echo server
// and a client that sends one line and prints the echo, with fmt, on one
// io_context. Compiled, not run, by benchmarks/compile_time.py.
#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <fmt/core.h>

#include <string>

asio::awaitable<void> echo(asio::ip::tcp::socket s) {
  char buf[1024];
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), asio::experimental::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    co_await asio::async_write(s, asio::buffer(buf, n), asio::use_awaitable);
  }
}

asio::awaitable<void> serve(asio::ip::tcp::acceptor& acc) {
  for (;;) {
    auto s = co_await acc.async_accept(asio::use_awaitable);
    asio::co_spawn(acc.get_executor(), echo(std::move(s)), asio::detached);
  }
}

asio::awaitable<void> client(asio::ip::tcp::endpoint ep, asio::ip::tcp::acceptor& acc) {
  asio::ip::tcp::socket s(co_await asio::this_coro::executor);
  co_await s.async_connect(ep, asio::use_awaitable);
  const std::string hello = "hello, echo\n";
  co_await asio::async_write(s, asio::buffer(hello), asio::use_awaitable);
  std::string line;
  co_await asio::async_read_until(s, asio::dynamic_buffer(line), '\n', asio::use_awaitable);
  fmt::print("echoed: {}", line);
  acc.close();
}

int main() {
  asio::io_context io;
  asio::ip::tcp::acceptor acc(io, {asio::ip::make_address("::1"), 0});
  auto rethrow = [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  };
  asio::co_spawn(io, serve(acc), [](std::exception_ptr) {});
  asio::co_spawn(io, client(acc.local_endpoint(), acc), rethrow);
  io.run();
}
