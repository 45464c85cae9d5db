// The in-memory transport's faults and counters, on streams without a graph:
// resets, stalls, byte budgets, failed operations, refused connects, and
// runs that repeat exactly.
#include "support/memory_rig.hpp"
#include <peergraph/memory_transport.hpp>

#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <optional>
#include <string>
#include <vector>

using namespace memtest;

TEST_CASE("a reset link fails pending and later operations on both ends with connection_reset", "[memory]") {
  asio::io_context io;
  rig r(io);
  bytes buf(8);
  result a, b;
  r.client.async_read_some(asio::buffer(buf), capture(a));
  r.server->async_read_some(asio::buffer(buf), capture(b));
  settle(io);
  REQUIRE(r.net.links(r.ep).size() == 1);
  CHECK(r.net.reset(r.ep) == 1);
  CHECK(r.net.reset(r.ep) == 0);  // already reset
  settle(io);
  CHECK(a.ec == asio::error::connection_reset);
  CHECK(b.ec == asio::error::connection_reset);
  result w;
  r.client.async_write_some(asio::buffer(buf), capture(w));
  settle(io);
  CHECK(w.ec == asio::error::connection_reset);
  CHECK(r.net.counters().resets == 1);
  // Reset, but both ends are still owned: the link counts as open until closed.
  CHECK(r.net.counters().open_links == 1);
  std::error_code ec;
  r.client.close(ec);
  r.server->close(ec);
  CHECK(r.net.counters().open_links == 0);
}

TEST_CASE("a link is found by either end's endpoint, a wildcard pattern included", "[memory]") {
  asio::io_context io;
  rig r(io);
  std::error_code ec;
  const auto client_ep = r.client.local_endpoint(ec);
  REQUIRE(r.net.links().size() == 1);
  const auto link = r.net.links().front();
  CHECK(link.accepting_endpoint() == r.ep);
  CHECK(link.connecting_endpoint() == client_ep);
  CHECK(r.net.links(client_ep).size() == 1);
  CHECK(r.net.links({asio::ip::address_v6::any(), r.ep.port()}).size() == 1);
  CHECK(r.net.links({asio::ip::make_address("::2"), r.ep.port()}).empty());
  link.reset();
  CHECK(link.is_reset());
}

TEST_CASE("a stalled link carries nothing until resumed; a stalled network likewise", "[memory]") {
  const bool whole_network = GENERATE(false, true);
  asio::io_context io;
  rig r(io, 64);
  auto link = r.net.links().front();
  if (whole_network)
    r.net.stall();
  else
    link.stall();
  const auto data = pattern(100);
  result w1, w2;
  r.client.async_write_some(asio::buffer(data), capture(w1));
  r.client.async_write_some(asio::buffer(data.data() + 64, 36), capture(w2));
  bytes got(100);
  result rd;
  r.server->async_read_some(asio::buffer(got), capture(rd));
  settle(io);
  CHECK(w1.n == 64);     // the pipe fills
  CHECK(w2.calls == 0);  // then writes wait
  CHECK(rd.calls == 0);  // and nothing is delivered

  if (whole_network)
    r.net.resume();
  else
    link.resume();
  settle(io);
  CHECK(rd.n == 64);
  CHECK(w2.n == 36);
  CHECK_FALSE(link.is_stalled());
}

TEST_CASE("a byte budget lets a link carry that many bytes, then resets it", "[memory]") {
  asio::io_context io;
  rig r(io);
  auto link = r.net.links().front();
  link.limit_bytes(10);
  const auto data = pattern(16);
  result w1;
  r.client.async_write_some(asio::buffer(data), capture(w1));
  settle(io);
  CHECK(w1.n == 10);
  bytes got(16);
  result rd;
  r.server->async_read_some(asio::buffer(got), capture(rd));
  settle(io);
  CHECK(rd.n == 10);  // the bytes within the budget arrive

  result w2, rd2;
  r.server->async_read_some(asio::buffer(got), capture(rd2));
  r.server->async_write_some(asio::buffer(data), capture(w2));  // either direction spends it
  settle(io);
  CHECK(w2.ec == asio::error::connection_reset);
  CHECK(rd2.ec == asio::error::connection_reset);
  CHECK(link.is_reset());
  CHECK(link.bytes_carried() == 10);
}

TEST_CASE("limit_new_links gives links made afterwards a budget", "[memory]") {
  asio::io_context io;
  pg::memory_network net;
  net.limit_new_links(4);
  std::error_code ec;
  auto lst = net.transport().listen(exec(io.get_executor()), {v6, 0}, ec);
  auto c = net.transport().make_stream(exec(io.get_executor()));
  result cr;
  c.async_connect(lst.local_endpoint(ec), capture(cr));
  settle(io);
  REQUIRE_FALSE(cr.ec);
  result w1, w2;
  c.async_write_some(asio::buffer("abcdefgh", 8), capture(w1));
  settle(io);
  c.async_write_some(asio::buffer("abcdefgh", 8), capture(w2));
  settle(io);
  CHECK(w1.n == 4);
  CHECK(w2.ec == asio::error::connection_reset);
}

TEST_CASE("the n-th operation fails with the chosen error and its link is reset", "[memory]") {
  asio::io_context io;
  rig r(io);
  const auto done = r.net.counters().operations;
  CHECK(done == 2);  // the connect and the accept
  // Operations done + 0 (the write) succeeds, done + 1 (a read) fails.
  r.net.fail_operation(done + 1, asio::error::timed_out);
  bytes buf(8);
  result w, rd, peer;
  r.client.async_write_some(asio::buffer(buf), capture(w));
  r.server->async_read_some(asio::buffer(buf), capture(rd));
  r.client.async_read_some(asio::buffer(buf), capture(peer));
  settle(io);
  CHECK_FALSE(w.ec);
  CHECK(rd.ec == asio::error::timed_out);
  CHECK(peer.ec == asio::error::connection_reset);
  CHECK(r.net.counters().operations == done + 3);
}

TEST_CASE("a failed connect reaches no listener; a failed accept takes no connection", "[memory]") {
  asio::io_context io;
  pg::memory_network net;
  const exec ex = io.get_executor();
  std::error_code ec;
  auto lst = net.transport().listen(ex, {v6, 0}, ec);
  const auto ep = lst.local_endpoint(ec);
  auto c = net.transport().make_stream(ex);
  net.fail_operation(0);  // the connect
  result cr;
  c.async_connect(ep, capture(cr));
  settle(io);
  CHECK(cr.ec == asio::error::connection_reset);
  CHECK(net.counters().links_made == 0);

  net.fail_operation(2);  // the second accept
  result cr2;
  c.async_connect(ep, capture(cr2));  // 1: succeeds, waits in the backlog
  result a1, a2;
  std::optional<stream> s;
  lst.async_accept([&](std::error_code e, stream) {  // 2: fails
    ++a1.calls;
    a1.ec = e;
  });
  lst.async_accept([&](std::error_code e, stream st) {  // 3: takes the connection
    ++a2.calls;
    a2.ec = e;
    s.emplace(std::move(st));
  });
  settle(io);
  CHECK_FALSE(cr2.ec);
  CHECK(a1.ec == asio::error::connection_reset);
  CHECK_FALSE(a2.ec);
  REQUIRE(s);
  CHECK(s->is_open());
  CHECK(lst.is_open());
}

TEST_CASE("connects are refused without a listener and where the network refuses them", "[memory]") {
  asio::io_context io;
  pg::memory_network net;
  const exec ex = io.get_executor();
  auto c = net.transport().make_stream(ex);
  result r1;
  c.async_connect({v6, 4000}, capture(r1));
  settle(io);
  CHECK(r1.ec == asio::error::connection_refused);

  std::error_code ec;
  auto lst = net.transport().listen(ex, {v6, 4000}, ec);
  REQUIRE_FALSE(ec);
  net.refuse({v6, 4000});
  result r2;
  c.async_connect({v6, 4000}, capture(r2));
  settle(io);
  CHECK(r2.ec == asio::error::connection_refused);
  net.allow({v6, 4000});
  result r3;
  c.async_connect({v6, 4000}, capture(r3));
  settle(io);
  CHECK_FALSE(r3.ec);
  result r4;
  c.async_connect({v6, 4000}, capture(r4));
  settle(io);
  CHECK(r4.ec == asio::error::already_connected);
}

namespace {

// A fixed script: two links, small pipes, a stall, a reset, a close. Every
// completion appends one line to the trace.
std::vector<std::string> scripted_run() {
  asio::io_context io;
  std::vector<std::string> trace;
  const auto data = pattern(250);
  bytes in1(250), in2(250), small(7);
  rig r(io, 100);
  auto note = [&trace](std::string what) {
    return [&trace, what](std::error_code ec, std::size_t n = 0) {
      trace.push_back(what + " " + ec.message() + " " + std::to_string(n));
    };
  };
  auto c2 = r.net.transport().make_stream(exec(io.get_executor()));
  c2.async_connect(r.ep, note("connect2"));
  std::optional<stream> s2;
  r.lst->async_accept([&](std::error_code ec, stream s) {
    trace.push_back("accept2 " + ec.message());
    s2.emplace(std::move(s));
  });
  settle(io);
  asio::async_write(r.client, asio::buffer(data), note("write1"));
  asio::async_write(*s2, asio::buffer(data), note("write2"));
  r.server->async_read_some(asio::buffer(small), note("read1-small"));
  asio::async_read(c2, asio::buffer(in2, 120), note("read2"));
  r.net.links().back().stall();
  settle(io);
  asio::async_read(*r.server, asio::buffer(in1, 243), note("read1-rest"));
  settle(io);
  r.net.links().back().resume();
  settle(io);
  std::error_code ec;
  r.net.reset(r.client.local_endpoint(ec));
  r.client.async_write_some(asio::buffer(data), note("write1-after-reset"));
  r.server->async_read_some(asio::buffer(small), note("read1-after-reset"));
  settle(io);
  c2.close(ec);
  s2->async_read_some(asio::buffer(small), note("read2-after-close"));
  settle(io);
  const auto c = r.net.counters();
  trace.push_back(
      fmt::format("operations {} completions {} bytes {} resets {}", c.operations, c.completions, c.bytes, c.resets));
  return trace;
}

}  // namespace

TEST_CASE("the same program gives the same completions", "[memory]") {
  const auto first = scripted_run();
  const auto second = scripted_run();
  REQUIRE(first.size() == 11);
  CHECK(first.back() == "operations 21 completions 21 bytes 470 resets 1");
  CHECK(first == second);
}

TEST_CASE("counters return to zero open objects, and every started operation completes once", "[memory]") {
  pg::memory_network net(32);
  {
    asio::io_context io;
    const exec ex = io.get_executor();
    std::error_code ec;
    auto lst = net.transport().listen(ex, {v6, 0}, ec);
    std::vector<stream> clients;
    std::vector<stream> servers;
    for (int i = 0; i < 3; ++i) {
      clients.push_back(net.transport().make_stream(ex));
      clients.back().async_connect(lst.local_endpoint(ec), [](std::error_code) {});
      lst.async_accept([&](std::error_code, stream s) { servers.push_back(std::move(s)); });
    }
    auto unaccepted = net.transport().make_stream(ex);  // stays in the backlog
    unaccepted.async_connect(lst.local_endpoint(ec), [](std::error_code) {});
    settle(io);
    const auto data = pattern(100);
    for (auto& c : clients) asio::async_write(c, asio::buffer(data), [](std::error_code, std::size_t) {});
    bytes sink(10);
    servers[0].async_read_some(asio::buffer(sink), [](std::error_code, std::size_t) {});
    settle(io);
    const auto mid = net.counters();
    CHECK(mid.open_links == 4);
    CHECK(mid.open_listeners == 1);
    CHECK(mid.operations > mid.completions);  // writes wait on full pipes
    lst.close(ec);                            // resets the unaccepted connection
    clients.clear();
    servers.clear();
    unaccepted.close(ec);
    settle(io);
  }
  const auto end = net.counters();
  CHECK(end.open_links == 0);
  CHECK(end.open_listeners == 0);
  CHECK(end.operations == end.completions);
  CHECK(end.links_made == 4);
}
