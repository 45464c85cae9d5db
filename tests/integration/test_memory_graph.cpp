// Graphs over the in-memory transport: a whole scenario without sockets, then
// the same scenario with each of its transport operations failed in turn.
#include "support/graphs.hpp"

#include <asio/experimental/as_tuple.hpp>

#include <future>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <variant>
#include <vector>

using namespace pgtest;
using asio::awaitable;
using asio::use_awaitable;
using asio::experimental::as_tuple;

namespace {

constexpr auto chat =
    pg::guid::from_fields(0x6d656d6f, 0x7279, 0x4772, {0x61, 0x70, 0x68, 0x54, 0x65, 0x73, 0x74, 0x31});
constexpr auto tok = as_tuple(use_awaitable);

// Short timers: a failed step ends in milliseconds, not seconds.
pg::graph_options memory_options() {
  auto o = fast_options();
  o.handshake_timeout = 200ms;
  o.connect_timeout = 500ms;
  o.close_linger = 100ms;
  return o;
}

const pg::endpoint listen_at{asio::ip::make_address("::1"), 0};

// Alice creates the test graph on `net`; Bob (or another peer) opens it.
mem_graph alice_on(asio::io_context& io, pg::memory_network& net, pg::graph_options o = memory_options()) {
  return mem_graph::create(io, test_properties("alice"), std::move(o), net.transport());
}
mem_graph joiner_on(asio::io_context& io, pg::memory_network& net, const char* peer = "bob",
                    pg::graph_options o = memory_options()) {
  return mem_graph::open(io, test_graph_id, peer, std::move(o), net.transport());
}

/// How far the scenario got, and every error it met on the way.
struct report {
  bool connected = false;
  bool synchronized = false;
  bool direct = false;
  bool data_at_a = false;
  bool data_at_b = false;
  bool closed = false;
  std::vector<std::error_code> errors;

  bool succeeded() const { return closed && errors.empty(); }
};

std::string text(std::span<const std::uint8_t> v) { return std::string(v.begin(), v.end()); }

// Waits for the next event of `sub`. The error is the subscription's, or the
// reason a connection event reports that the link failed or ended.
template <typename Subscription>
awaitable<std::error_code> next_event(Subscription& sub, typename Subscription::value_type& out) {
  auto [ec, ev] = co_await sub.receive(tok);
  if (ec) co_return ec;
  out = std::move(ev);
  co_return std::error_code{};
}

std::error_code ended(const pg::direct_connection_event& e) {
  if (e.status == pg::connection_status::connected) return {};
  return e.reason ? e.reason : std::error_code(pg::errc::connection_failed);
}

// Alice creates the graph and listens, Bob opens it, connects as a neighbor
// and waits until he is synchronized, opens a direct connection, they send
// each other a message, and Bob closes the direct connection. Each step
// stops the scenario on error, recording it; the graphs close on the way out.
awaitable<void> scenario(asio::io_context& io, pg::memory_network net, report& rep) {
  const auto opts = memory_options();
  auto a = alice_on(io, net, opts);
  auto b = joiner_on(io, net, "bob", opts);
  auto at_a = a.subscribe<pg::direct_connection_event, pg::incoming_data_event>();
  auto at_b = b.subscribe<pg::direct_connection_event, pg::incoming_data_event>();
  auto b_status = b.subscribe<pg::status_changed_event, pg::neighbor_connection_event>();
  const auto ep = a.listen(listen_at);

  auto [cec, neighbor] = co_await b.connect(ep, tok);
  if (cec) co_return rep.errors.push_back(cec);
  rep.connected = true;

  // Synchronized once SYNC_END has arrived; wait for the status event rather
  // than poll with a timer, so that a run is the same every time.
  while (!b.status().is_synchronized()) {
    decltype(b_status)::value_type ev;
    if (auto ec = co_await next_event(b_status, ev)) co_return rep.errors.push_back(ec);
    if (auto* n = std::get_if<pg::neighbor_connection_event>(&ev); n && n->status != pg::connection_status::connected)
      co_return rep.errors.push_back(n->reason ? n->reason : std::error_code(pg::errc::connection_failed));
  }
  rep.synchronized = true;

  const std::string alice = "alice";  // named: no temporary inside co_await (docs/style.md)
  auto [dec, direct] = co_await b.open_direct(alice, ep, tok);
  if (dec) co_return rep.errors.push_back(dec);
  rep.direct = true;

  const std::string ping = "ping from bob";
  auto [sec] = co_await direct.send(chat, asio::buffer(ping), tok);
  if (sec) co_return rep.errors.push_back(sec);

  // Alice: the direct connection, then Bob's message.
  decltype(at_a)::value_type ev_a;
  if (auto ec = co_await next_event(at_a, ev_a)) co_return rep.errors.push_back(ec);
  const auto opened = std::get<pg::direct_connection_event>(ev_a);
  if (auto ec = ended(opened)) co_return rep.errors.push_back(ec);
  if (auto ec = co_await next_event(at_a, ev_a)) co_return rep.errors.push_back(ec);
  if (auto* e = std::get_if<pg::direct_connection_event>(&ev_a)) co_return rep.errors.push_back(ended(*e));
  rep.data_at_a = text(std::get<pg::incoming_data_event>(ev_a).data) == ping;

  const std::string pong = "pong from alice";
  auto [rec] = co_await a.send(opened.connection.id, chat, asio::buffer(pong), tok);
  if (rec) co_return rep.errors.push_back(rec);

  // Bob: his own connection event, then Alice's answer.
  decltype(at_b)::value_type ev_b;
  if (auto ec = co_await next_event(at_b, ev_b)) co_return rep.errors.push_back(ec);
  if (auto ec = ended(std::get<pg::direct_connection_event>(ev_b))) co_return rep.errors.push_back(ec);
  if (auto ec = co_await next_event(at_b, ev_b)) co_return rep.errors.push_back(ec);
  if (auto* e = std::get_if<pg::direct_connection_event>(&ev_b)) co_return rep.errors.push_back(ended(*e));
  rep.data_at_b = text(std::get<pg::incoming_data_event>(ev_b).data) == pong;

  auto [clec] = co_await direct.close(tok);
  if (clec) co_return rep.errors.push_back(clec);
  // Alice sees it end.
  if (auto ec = co_await next_event(at_a, ev_a)) co_return rep.errors.push_back(ec);
  const auto* gone = std::get_if<pg::direct_connection_event>(&ev_a);
  rep.closed = gone && gone->status == pg::connection_status::disconnected;
}

/// Runs the scenario to the end on a fresh io_context: fails the test if it
/// or the io_context's remaining work hangs.
report run_scenario(const pg::memory_network& net) {
  report rep;
  run([&](asio::io_context& io) { return scenario(io, net, rep); }, 3'000ms);
  return rep;
}

/// What every run must leave behind, whatever failed.
void check_clean(const pg::memory_network& net, const report& rep) {
  const auto c = net.counters();
  CHECK(c.open_links == 0);
  CHECK(c.open_listeners == 0);
  CHECK(c.completions == c.operations);  // every handler ran, once
  static const std::set<std::string> known{"asio.system", "asio.misc", "peergraph", "peergraph.protocol"};
  for (const auto& ec : rep.errors) {
    INFO(ec.category().name() << ": " << ec.message());
    CHECK(ec);
    CHECK(known.count(ec.category().name()) == 1);
    CHECK_FALSE(ec.message().empty());
  }
}

awaitable<void> reset_is_reported(asio::io_context& io, pg::memory_network net) {
  auto a = alice_on(io, net);
  auto b = joiner_on(io, net);
  auto at_a = a.subscribe<pg::neighbor_connection_event>();
  auto at_b = b.subscribe<pg::neighbor_connection_event>();
  const auto ep = a.listen(listen_at);
  auto conn = co_await b.connect(ep);
  const auto up_a = co_await next(at_a);
  const auto up_b = co_await next(at_b);
  CHECK(up_a.status == pg::connection_status::connected);
  CHECK(up_b.status == pg::connection_status::connected);

  CHECK(net.reset(ep) == 1);
  const auto ea = co_await next(at_a);
  const auto eb = co_await next(at_b);
  CHECK(ea.status == pg::connection_status::disconnected);
  CHECK(eb.status == pg::connection_status::disconnected);
  CHECK(ea.reason == asio::error::connection_reset);
  CHECK(eb.reason == asio::error::connection_reset);
  CHECK_FALSE(conn.is_open());
}

awaitable<void> stall_holds_sends(asio::io_context& io, pg::memory_network net) {
  auto opts = memory_options();
  opts.send_high_water = 128 * 1024;
  opts.send_low_water = 32 * 1024;
  auto a = alice_on(io, net, opts);
  auto b = joiner_on(io, net, "bob", opts);
  auto at_a = a.subscribe<pg::direct_connection_event, pg::incoming_data_event>();
  const auto ep = a.listen(listen_at);
  const std::string alice = "alice";
  auto direct = co_await b.open_direct(alice, ep);
  const auto opened = co_await next(at_a);
  CHECK(std::holds_alternative<pg::direct_connection_event>(opened));
  REQUIRE(net.links(ep).size() == 1);
  const auto link = net.links(ep).front();
  link.stall();
  const auto handshake_bytes = link.bytes_carried();

  constexpr int messages = 16;
  const std::vector<std::uint8_t> chunk(64 * 1024, 7);
  int sent = 0;
  std::error_code send_error;
  for (int i = 0; i < messages; ++i)
    direct.send(chat, asio::buffer(chunk), [&](std::error_code ec) {
      ++sent;
      if (ec) send_error = ec;
    });
  for (int i = 0; i < 100; ++i) co_await asio::post(io, use_awaitable);
  // The pipe is full and the rest of the queue is above the high-water mark.
  CHECK(link.bytes_carried() - handshake_bytes == net.pipe_capacity());
  CHECK(sent < messages);
  CHECK(direct.queued_bytes() > opts.send_high_water);

  link.resume();
  for (int i = 0; i < messages; ++i) {
    const auto ev = co_await next(at_a);
    REQUIRE(std::holds_alternative<pg::incoming_data_event>(ev));
    CHECK(std::get<pg::incoming_data_event>(ev).data.size() == chunk.size());
  }
  CHECK(sent == messages);
  CHECK_FALSE(send_error);
}

awaitable<void> refused_connect(asio::io_context& io, pg::memory_network net) {
  auto a = alice_on(io, net);
  auto b = joiner_on(io, net);
  const auto ep = a.listen(listen_at);
  net.refuse(ep);
  auto [ec, conn] = co_await b.connect(ep, tok);
  CHECK(ec == asio::error::connection_refused);
  net.allow(ep);
  auto [ec2, conn2] = co_await b.connect(ep, tok);
  CHECK_FALSE(ec2);
}

// Two graphs, each on its own io_context and thread, sharing one network.
// Catch's assertions belong to the main thread, so the coroutines only
// record what happened.
struct thread_log {
  std::vector<std::error_code> errors;
  std::string received;
};

awaitable<void> alice_thread(asio::io_context& io, pg::memory_network net, std::promise<pg::endpoint>& listening,
                             thread_log& log) {
  auto a = alice_on(io, net);
  auto at_a = a.subscribe<pg::direct_connection_event, pg::incoming_data_event>();
  listening.set_value(a.listen(listen_at));
  decltype(at_a)::value_type ev;
  if (auto ec = co_await next_event(at_a, ev)) co_return log.errors.push_back(ec);
  const auto id = std::get<pg::direct_connection_event>(ev).connection.id;
  if (auto ec = co_await next_event(at_a, ev)) co_return log.errors.push_back(ec);
  if (auto* d = std::get_if<pg::incoming_data_event>(&ev)) log.received = text(d->data);
  const std::string reply = "reply from alice's thread";
  auto [sec] = co_await a.send(id, chat, asio::buffer(reply), tok);
  if (sec) co_return log.errors.push_back(sec);
  // Bob closes; then Alice's graph closes with the coroutine, and her thread ends.
  if (auto ec = co_await next_event(at_a, ev)) co_return log.errors.push_back(ec);
}

awaitable<void> bob_thread(asio::io_context& io, pg::memory_network net, pg::endpoint ep, thread_log& log) {
  auto b = joiner_on(io, net);
  auto at_b = b.subscribe<pg::direct_connection_event, pg::incoming_data_event>();
  const std::string alice = "alice";
  auto [dec, direct] = co_await b.open_direct(alice, ep, tok);
  if (dec) co_return log.errors.push_back(dec);
  const std::string hello = "hello from bob's thread";
  auto [sec] = co_await direct.send(chat, asio::buffer(hello), tok);
  if (sec) co_return log.errors.push_back(sec);
  decltype(at_b)::value_type ev;
  for (int i = 0; i < 2; ++i) {  // his connection event, then the reply
    if (auto ec = co_await next_event(at_b, ev)) co_return log.errors.push_back(ec);
    if (auto* d = std::get_if<pg::incoming_data_event>(&ev)) log.received = text(d->data);
  }
  auto [cec] = co_await direct.close(tok);
  if (cec) log.errors.push_back(cec);
}

}  // namespace

TEST_CASE("two graphs connect, synchronize and exchange data over the memory transport", "[memory][graph]") {
  pg::memory_network net;
  const auto rep = run_scenario(net);
  CHECK(rep.connected);
  CHECK(rep.synchronized);
  CHECK(rep.direct);
  CHECK(rep.data_at_a);
  CHECK(rep.data_at_b);
  CHECK(rep.closed);
  CHECK(rep.errors.empty());
  check_clean(net, rep);
  const auto c = net.counters();
  CHECK(c.links_made == 2);  // the neighbor link and the direct one
  CHECK(c.resets == 0);
}

TEST_CASE("a clean memory run is the same every time", "[memory][graph]") {
  pg::memory_network first, second;
  run_scenario(first);
  run_scenario(second);
  const auto c1 = first.counters(), c2 = second.counters();
  CHECK(c1.operations == c2.operations);
  CHECK(c1.bytes == c2.bytes);
}

TEST_CASE("failing each transport operation in turn never hangs, leaks or crashes", "[memory][graph][sweep]") {
  pg::memory_network clean;
  REQUIRE(run_scenario(clean).succeeded());
  const auto total = clean.counters().operations;
  REQUIRE(total > 20);

  std::size_t failed_runs = 0;
  for (std::uint64_t n = 0; n <= total; ++n) {
    INFO("failing operation " << n << " of " << total);
    pg::memory_network net;
    net.fail_operation(n);
    const auto rep = run_scenario(net);
    check_clean(net, rep);
    if (n >= total) {
      CHECK(rep.succeeded());  // the failure never came
      CHECK(net.counters().operations == total);
    } else {
      CHECK(net.counters().operations > n);  // the failure came
      if (!rep.succeeded()) ++failed_runs;
    }
  }
  // Most failures break the scenario (some only hit the neighbor link after
  // synchronization, which the direct connection survives).
  CHECK(failed_runs > total / 2);
}

TEST_CASE("a link reset by the network is reported by both nodes", "[memory][graph]") {
  pg::memory_network net;
  run([&](asio::io_context& io) { return reset_is_reported(io, net); });
  CHECK(net.counters().open_links == 0);
  CHECK(net.counters().open_listeners == 0);
}

TEST_CASE("a stalled link holds sends back until it resumes", "[memory][graph]") {
  pg::memory_network net;
  run([&](asio::io_context& io) { return stall_holds_sends(io, net); });
  CHECK(net.counters().open_links == 0);
}

TEST_CASE("a refused endpoint fails the connect with connection_refused", "[memory][graph]") {
  pg::memory_network net;
  run([&](asio::io_context& io) { return refused_connect(io, net); });
  CHECK(net.counters().open_links == 0);
}

TEST_CASE("graphs on two threads share one network", "[memory][graph]") {
  pg::memory_network net;
  thread_log at_alice, at_bob;
  {
    asio::io_context io_a, io_b;
    std::promise<pg::endpoint> listening;
    auto ep = listening.get_future();
    asio::co_spawn(io_a, alice_thread(io_a, net, listening, at_alice), asio::detached);
    std::thread ta([&] { io_a.run(); });
    const auto where = ep.get();
    asio::co_spawn(io_b, bob_thread(io_b, net, where, at_bob), asio::detached);
    std::thread tb([&] { io_b.run(); });
    ta.join();
    tb.join();
  }
  CHECK(at_alice.errors.empty());
  CHECK(at_bob.errors.empty());
  CHECK(at_alice.received == "hello from bob's thread");
  CHECK(at_bob.received == "reply from alice's thread");
  const auto c = net.counters();
  CHECK(c.open_links == 0);
  CHECK(c.open_listeners == 0);
  CHECK(c.completions == c.operations);
}
