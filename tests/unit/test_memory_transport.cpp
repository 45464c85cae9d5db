// The in-memory transport on its own: streams, listeners and faults, no graph.
#include <peergraph/memory_transport.hpp>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/bind_executor.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
#include <asio/write.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace pg = peergraph;

namespace {

using exec = asio::any_io_executor;
using stream = pg::memory_stream<exec>;
using listener = pg::memory_listener<exec>;
using bytes = std::vector<std::uint8_t>;

const auto v6 = asio::ip::make_address("::1");

/// Runs every handler that is ready, and those they make ready, without blocking.
void settle(asio::io_context& io) {
  io.restart();
  io.poll();
}

/// What one completion reported, and how often it was called.
struct result {
  int calls = 0;
  std::error_code ec;
  std::size_t n = 0;
};
auto capture(result& r) {
  return [&r](std::error_code ec, std::size_t n = 0) {
    ++r.calls;
    r.ec = ec;
    r.n = n;
  };
}

bytes pattern(std::size_t n, std::uint8_t seed = 0) {
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

}  // namespace

TEST_CASE("bytes arrive in order and reads take what is there", "[memory]") {
  asio::io_context io;
  rig r(io);
  const auto a = pattern(100, 0), b = pattern(50, 100);
  result w1, w2;
  r.client.async_write_some(asio::buffer(a), capture(w1));
  r.client.async_write_some(asio::buffer(b), capture(w2));
  settle(io);
  CHECK(w1.n == 100);
  CHECK(w2.n == 50);

  bytes got(1000);
  result rd;
  r.server->async_read_some(asio::buffer(got), capture(rd));
  settle(io);
  REQUIRE(rd.calls == 1);
  CHECK_FALSE(rd.ec);
  REQUIRE(rd.n == 150);  // both writes, no more
  got.resize(150);
  CHECK(got == pattern(150));
  CHECK(r.net.counters().bytes == 150);
}

TEST_CASE("a full pipe takes a partial write, then the writer waits until the reader drains", "[memory]") {
  asio::io_context io;
  rig r(io, 1024);
  const auto data = pattern(3000);
  result w;
  r.client.async_write_some(asio::buffer(data), capture(w));
  settle(io);
  CHECK(w.n == 1024);  // what fit

  result w2;
  r.client.async_write_some(asio::buffer(data.data() + 1024, 2000 - 1024), capture(w2));
  settle(io);
  CHECK(w2.calls == 0);  // the pipe is full

  bytes got(512);
  result rd;
  r.server->async_read_some(asio::buffer(got), capture(rd));
  settle(io);
  CHECK(rd.n == 512);
  REQUIRE(w2.calls == 1);
  CHECK(w2.n == 512);  // exactly the room the read made

  // asio::async_write completes once a reader has drained everything.
  result all;
  asio::async_write(r.client, asio::buffer(data.data() + 1536, data.size() - 1536), capture(all));
  bytes rest(data.size() - 512);
  result rd_all;
  asio::async_read(*r.server, asio::buffer(rest), capture(rd_all));
  settle(io);
  CHECK(all.n == data.size() - 1536);
  CHECK(rd_all.n == rest.size());
  CHECK(rest == bytes(data.begin() + 512, data.end()));
}

TEST_CASE("after the peer closes, reads drain the pipe and then give eof; writes give broken_pipe", "[memory]") {
  asio::io_context io;
  rig r(io);
  const std::string msg = "last words";
  result w;
  r.client.async_write_some(asio::buffer(msg), capture(w));
  settle(io);
  std::error_code ec;
  r.client.close(ec);
  CHECK_FALSE(r.client.is_open());

  std::string got(64, '\0');
  result rd;
  r.server->async_read_some(asio::buffer(got), capture(rd));
  settle(io);
  CHECK_FALSE(rd.ec);
  CHECK(got.substr(0, rd.n) == msg);
  result rd2;
  r.server->async_read_some(asio::buffer(got), capture(rd2));
  result wr;
  r.server->async_write_some(asio::buffer(msg), capture(wr));
  settle(io);
  CHECK(rd2.ec == asio::error::eof);
  CHECK(wr.ec == asio::error::broken_pipe);

  // The closed end itself reports bad_descriptor.
  result own;
  r.client.async_read_some(asio::buffer(got), capture(own));
  settle(io);
  CHECK(own.ec == asio::error::bad_descriptor);
  r.client.remote_endpoint(ec);
  CHECK(ec == asio::error::bad_descriptor);
}

TEST_CASE("a waiting read or write completes with operation_aborted when its stream is closed", "[memory]") {
  asio::io_context io;
  rig r(io, 16);
  bytes buf(16);
  result rd;
  r.server->async_read_some(asio::buffer(buf), capture(rd));
  const auto data = pattern(32);
  result w1, w2;
  r.server->async_write_some(asio::buffer(data), capture(w1));  // fills the pipe
  r.server->async_write_some(asio::buffer(data), capture(w2));  // waits
  settle(io);
  CHECK(rd.calls == 0);
  CHECK(w1.n == 16);
  CHECK(w2.calls == 0);

  std::error_code ec;
  r.server->close(ec);
  settle(io);
  CHECK(rd.ec == asio::error::operation_aborted);
  CHECK(w2.ec == asio::error::operation_aborted);
  CHECK(w2.n == 0);
  // The other end still reads what was written before the close, then eof.
  result c1, c2;
  r.client.async_read_some(asio::buffer(buf), capture(c1));
  settle(io);
  r.client.async_read_some(asio::buffer(buf), capture(c2));
  settle(io);
  CHECK(c1.n == 16);
  CHECK(c2.ec == asio::error::eof);
}

TEST_CASE("cancellation through the handler's slot aborts a waiting read, write or accept", "[memory]") {
  const auto type =
      GENERATE(asio::cancellation_type::terminal, asio::cancellation_type::partial, asio::cancellation_type::total);
  asio::io_context io;
  rig r(io, 8);
  asio::cancellation_signal sig_read, sig_write, sig_accept;
  bytes buf(8);
  result rd, wr;
  r.server->async_read_some(asio::buffer(buf), asio::bind_cancellation_slot(sig_read.slot(), capture(rd)));
  const auto data = pattern(8);
  result fill;
  r.server->async_write_some(asio::buffer(data), capture(fill));
  r.server->async_write_some(asio::buffer(data), asio::bind_cancellation_slot(sig_write.slot(), capture(wr)));
  result acc;
  r.lst->async_accept(asio::bind_cancellation_slot(sig_accept.slot(), [&](std::error_code ec, stream) {
    ++acc.calls;
    acc.ec = ec;
  }));
  settle(io);
  CHECK(rd.calls + wr.calls + acc.calls == 0);

  sig_read.emit(type);
  sig_write.emit(type);
  sig_accept.emit(type);
  CHECK(rd.calls + wr.calls + acc.calls == 0);  // posted, not called inside emit()
  settle(io);
  CHECK(rd.ec == asio::error::operation_aborted);
  CHECK(wr.ec == asio::error::operation_aborted);
  CHECK(acc.ec == asio::error::operation_aborted);

  // The streams still work, and a late signal does nothing.
  sig_read.emit(type);
  result c;
  r.client.async_read_some(asio::buffer(buf), capture(c));
  settle(io);
  CHECK(c.n == 8);
  CHECK(rd.calls == 1);
}

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

TEST_CASE("port 0 takes ports from a counter; a bound address and port gives address_in_use", "[memory]") {
  asio::io_context io;
  pg::memory_network net;
  const exec ex = io.get_executor();
  auto t = net.transport();
  std::error_code ec;
  auto l1 = t.listen(ex, {v6, 0}, ec);
  auto l2 = t.listen(ex, {v6, 0}, ec);
  CHECK(l1.local_endpoint(ec).port() == 49152);
  CHECK(l2.local_endpoint(ec).port() == 49153);

  auto dup = t.listen(ex, {v6, 49152}, ec);
  CHECK(ec == asio::error::address_in_use);
  CHECK_FALSE(dup.is_open());
  auto wild = t.listen(ex, {asio::ip::address_v6::any(), 49153}, ec);
  CHECK(ec == asio::error::address_in_use);  // :: covers ::1
  auto other = t.listen(ex, {asio::ip::make_address("127.0.0.1"), 49152}, ec);
  CHECK_FALSE(ec);  // another address, the same port
  auto v4_wild = t.listen(ex, {asio::ip::address_v4::any(), 49152}, ec);
  CHECK(ec == asio::error::address_in_use);  // 0.0.0.0 covers 127.0.0.1
  CHECK(net.counters().open_listeners == 3);
  l1.close(ec);
  auto again = t.listen(ex, {v6, 49152}, ec);
  CHECK_FALSE(ec);  // free once closed
}

TEST_CASE("a wildcard listener accepts connects to any address; endpoints are as TCP reports them", "[memory]") {
  asio::io_context io;
  rig r(io, pg::memory_network::default_pipe_capacity, {asio::ip::address_v6::any(), 5000});
  std::error_code ec;
  const pg::endpoint dialled{asio::ip::make_address("10.1.2.3"), 5000};
  auto c = r.net.transport().make_stream(exec(io.get_executor()));
  result cr;
  c.async_connect(dialled, capture(cr));
  std::optional<stream> s;
  r.lst->async_accept([&](std::error_code, stream st) { s.emplace(std::move(st)); });
  settle(io);
  REQUIRE_FALSE(cr.ec);
  REQUIRE(s);
  CHECK(c.remote_endpoint(ec) == dialled);
  CHECK(s->local_endpoint(ec) == dialled);
  const auto synthetic = c.local_endpoint(ec);
  CHECK(s->remote_endpoint(ec) == synthetic);
  CHECK(synthetic.address() == dialled.address());
  CHECK(synthetic.port() != 5000);
  // The first rig link's client has another synthetic endpoint.
  CHECK(r.client.local_endpoint(ec) != synthetic);
  CHECK(r.server->remote_endpoint(ec) == r.client.local_endpoint(ec));
}

TEST_CASE("handlers never run inside their initiating function", "[memory]") {
  asio::io_context io;
  rig r(io);
  bool called = false;
  auto flag = [&called](auto&&...) { called = true; };
  bytes buf(4);
  const auto data = pattern(4);

  auto check_posted = [&](auto&& start) {
    called = false;
    start();
    CHECK_FALSE(called);  // not inline
    settle(io);
    CHECK(called);
  };
  check_posted([&] { r.client.async_write_some(asio::buffer(data), flag); });  // room: completes at once
  check_posted([&] { r.server->async_read_some(asio::buffer(buf), flag); });   // data there
  check_posted([&] { r.server->async_read_some(asio::mutable_buffer(), flag); });
  check_posted([&] { r.client.async_connect(r.ep, flag); });  // already connected
  auto c = r.net.transport().make_stream(exec(io.get_executor()));
  check_posted([&] { c.async_connect(r.ep, flag); });
  check_posted([&] { r.lst->async_accept(flag); });  // backlog not empty
  check_posted([&] { c.async_read_some(asio::buffer(buf), flag); });
  // Also when a peer's operation completes a waiting one.
  r.server->async_read_some(asio::buffer(buf), flag);
  called = false;
  settle(io);
  CHECK_FALSE(called);
  r.client.async_write_some(asio::buffer(data), [](auto&&...) {});
  CHECK_FALSE(called);
  settle(io);
  CHECK(called);
}

TEST_CASE("completion tokens: awaitable, future, deferred, as_tuple, strand-bound", "[memory]") {
  asio::io_context io;
  rig r(io);
  const auto data = pattern(64);

  auto fut = r.client.async_write_some(asio::buffer(data), asio::use_future);
  settle(io);
  CHECK(fut.get() == 64);

  bytes half(32);
  auto deferred_read = asio::async_read(*r.server, asio::buffer(half), asio::experimental::deferred);
  result d;
  std::move(deferred_read)(capture(d));
  settle(io);
  CHECK(d.n == 32);

  std::size_t got = 0;
  std::error_code eof_ec;
  auto body = [](stream& s, std::size_t& n, std::error_code& ec) -> asio::awaitable<void> {
    bytes buf(64);
    n = co_await s.async_read_some(asio::buffer(buf));  // default token: use_awaitable
    constexpr auto as_tuple = asio::experimental::as_tuple(asio::use_awaitable);
    auto [e, m] = co_await s.async_read_some(asio::buffer(buf), as_tuple);
    ec = e;
    (void)m;
  };
  bool done = false;
  asio::co_spawn(io, body(*r.server, got, eof_ec), [&](std::exception_ptr e) {
    CHECK_FALSE(e);
    done = true;
  });
  settle(io);
  CHECK(got == 32);
  std::error_code ec;
  r.client.close(ec);
  settle(io);
  CHECK(done);
  CHECK(eof_ec == asio::error::eof);

  // A handler bound to a strand runs on it.
  auto strand = asio::make_strand(io);
  bool on_strand = false;
  bytes one(1);
  r.server->async_read_some(asio::buffer(one), asio::bind_executor(strand, [&](std::error_code, std::size_t) {
                              on_strand = strand.running_in_this_thread();
                            }));
  settle(io);
  CHECK(on_strand);
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

TEST_CASE("a handler still waiting when its io_context is destroyed is destroyed, not called", "[memory]") {
  auto io = std::make_unique<asio::io_context>();
  auto r = std::make_unique<rig>(*io);
  const auto net = r->net;
  auto token = std::make_shared<int>(0);
  bool called = false;
  bytes buf(4);
  r->server->async_read_some(asio::buffer(buf), [token, &called](std::error_code, std::size_t) { called = true; });
  r->lst->async_accept([token, &called](std::error_code, stream) { called = true; });
  settle(*io);
  CHECK(token.use_count() == 3);  // both wait
  io.reset();
  CHECK(token.use_count() == 1);
  CHECK_FALSE(called);
  r.reset();  // closing afterwards finds nothing to complete
  CHECK(net.counters().open_links == 0);
  CHECK(net.counters().open_listeners == 0);
}

TEST_CASE("the two ends of a link may run on different threads", "[memory]") {
  pg::memory_network net(4096);
  asio::io_context io1, io2;
  std::error_code ec;
  auto lst = net.transport().listen(exec(io2.get_executor()), {v6, 0}, ec);
  auto client = net.transport().make_stream(exec(io1.get_executor()));
  const auto data = pattern(1 << 20);
  bytes got(data.size());
  std::optional<stream> server;
  result w, r;
  std::error_code connected, accepted;  // Catch's assertions are for this thread only
  // Started here, continued by each context's own thread; small pipes make
  // the two threads hand the link back and forth hundreds of times.
  client.async_connect(lst.local_endpoint(ec), [&](std::error_code e) {
    connected = e;
    asio::async_write(client, asio::buffer(data), capture(w));
  });
  lst.async_accept([&](std::error_code e, stream s) {
    accepted = e;
    server.emplace(std::move(s));
    asio::async_read(*server, asio::buffer(got), capture(r));
  });
  std::thread t1([&] { io1.run(); });
  std::thread t2([&] { io2.run(); });
  t1.join();
  t2.join();
  CHECK_FALSE(connected);
  CHECK_FALSE(accepted);
  CHECK(w.n == data.size());
  CHECK(r.n == data.size());
  CHECK(got == data);
  client.close(ec);
  server.reset();
  lst.close(ec);
  const auto c = net.counters();
  CHECK(c.open_links == 0);
  CHECK(c.operations == c.completions);
}
