// The in-memory transport on its own: streams and listeners, no graph.
#include "support/memory_rig.hpp"
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

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace memtest;

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
  // Each address counts its own ports.
  auto elsewhere = t.listen(ex, {asio::ip::make_address("10.0.0.7"), 0}, ec);
  CHECK_FALSE(ec);
  CHECK(elsewhere.local_endpoint(ec).port() == 49152);
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
