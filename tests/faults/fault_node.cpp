// fault_node: one graph node for the fault tests (tests/faults/run.py),
// reporting as JSON lines on stdout, one per fact the checker needs.
//
//   fault_node --graph ID --peer ID [--create] --listen ADDR:PORT
//              [--connect ADDR:PORT] [--stream-to PEER --count N --size B]
//
// Timers are short (idle timeout 2 s, keep-alive 0.5 s, maintenance 0.5 s)
// so that a fault of a few seconds ends links; presence lives 10 s, longer
// than the faults, so that the nodes still know where to reconnect, and a
// killed node's record is gone soon after. Reports:
//   {"event":"nodes","peers":[...]}                  the enumeration, on every change
//   {"event":"received","session":S,"seq":N}         direct data, in arrival order
//   {"event":"link","kind":K,"status":...,"peer":P,"reason":R}
// and, with --stream-to, what the sender knows of each session (one direct
// connection; the payload carries the session and a sequence number):
//   {"event":"opened","session":S}   {"event":"sent","session":S,"seq":N}
//   {"event":"failed","session":S,"seq":N,"reason":R}   (send N failed)
//   {"event":"done","session":S,"seq":N}   (flushed and closed cleanly)
// The sender opens a new session after a failure, until N messages have
// been sent in all. SIGTERM closes the node.
#include <peergraph/peergraph.hpp>

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace pg = peergraph;
using asio::awaitable;
using asio::use_awaitable;
using asio::experimental::as_tuple;
using namespace std::chrono_literals;

namespace {

constexpr auto stream_type = pg::guid::from_fields(0xfa017000, 0x0001, 0x0001, {1, 2, 3, 4, 5, 6, 7, 8});

struct settings {
  std::string graph, peer;
  bool create = false;
  pg::endpoint listen;
  std::optional<pg::endpoint> connect;
  std::optional<std::string> stream_to;
  std::uint64_t count = 0;
  std::size_t size = 1024;
};

void emit(const std::string& line) {
  std::fputs(line.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

std::string reason(std::error_code ec) { return ec ? fmt::format("{}:{}", ec.category().name(), ec.value()) : ""; }

pg::endpoint parse_endpoint(std::string_view s) {
  const auto colon = s.rfind(':');
  auto host = std::string(s.substr(0, colon));
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  return {asio::ip::make_address(host), static_cast<unsigned short>(std::stoi(std::string(s.substr(colon + 1))))};
}

void put_be(std::vector<std::uint8_t>& b, std::size_t at, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * (bytes - 1 - i)));
}
std::uint64_t get_be(std::span<const std::uint8_t> b, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | b[at + i];
  return v;
}

void report_nodes(pg::graph& g) {
  std::vector<std::string> peers;
  for (const auto& n : g.nodes()) peers.push_back(fmt::format("\"{}\"", n.peer_id));
  std::sort(peers.begin(), peers.end());
  std::string list;
  for (const auto& p : peers) list += (list.empty() ? "" : ",") + p;
  emit(fmt::format(R"({{"event":"nodes","peers":[{}]}})", list));
}

template <typename LinkEvent>
void report_link(const char* kind, const LinkEvent& e) {
  emit(fmt::format(R"({{"event":"link","kind":"{}","status":"{}","peer":"{}","reason":"{}"}})", kind,
                   pg::to_string(e.status), e.connection.peer_id, reason(e.reason)));
}

awaitable<void> report(pg::graph& g) {
  auto events = g.subscribe<pg::neighbor_connection_event, pg::direct_connection_event, pg::incoming_data_event,
                            pg::node_changed_event>();
  for (;;) {
    auto [ec, ev] = co_await events.receive(as_tuple(use_awaitable));
    if (ec) co_return;
    if (const auto* d = std::get_if<pg::incoming_data_event>(&ev)) {
      if (d->type == stream_type && d->data.size() >= 12)
        emit(fmt::format(R"({{"event":"received","session":{},"seq":{}}})", get_be(d->data, 0, 4),
                         get_be(d->data, 4, 8)));
    } else if (std::holds_alternative<pg::node_changed_event>(ev)) {
      report_nodes(g);
    } else if (const auto* n = std::get_if<pg::neighbor_connection_event>(&ev)) {
      report_link("neighbor", *n);
    } else if (const auto* dc = std::get_if<pg::direct_connection_event>(&ev)) {
      report_link("direct", *dc);
    }
  }
}

awaitable<void> pause(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(use_awaitable);
}

// One session: open, send until done or failed, close. Returns the messages sent.
awaitable<std::uint64_t> session(pg::graph& g, const settings& s, std::uint32_t number, std::uint64_t left) {
  const auto found = g.nodes(*s.stream_to);
  if (found.empty() || found.back().addresses.empty()) co_return 0;
  auto [oec, conn] = co_await g.open_direct(*s.stream_to, found.back().addresses.front(), as_tuple(use_awaitable));
  if (oec) co_return 0;
  emit(fmt::format(R"({{"event":"opened","session":{}}})", number));
  std::uint64_t seq = 0;
  while (seq < left) {
    std::vector<std::uint8_t> payload(s.size, 0x5A);
    put_be(payload, 0, number, 4);
    put_be(payload, 4, seq + 1, 8);
    auto [ec] = co_await conn.send(stream_type, std::move(payload), as_tuple(use_awaitable));
    if (ec) {
      emit(fmt::format(R"({{"event":"failed","session":{},"seq":{},"reason":"{}"}})", number, seq + 1, reason(ec)));
      co_return seq;
    }
    ++seq;
    emit(fmt::format(R"({{"event":"sent","session":{},"seq":{}}})", number, seq));
    co_await pause(2ms);  // spread the stream over the fault
  }
  auto [fec] = co_await conn.flush(as_tuple(use_awaitable));
  auto [cec] = co_await conn.close(as_tuple(use_awaitable));
  if (fec || cec)
    emit(fmt::format(R"({{"event":"failed","session":{},"seq":{},"reason":"{}"}})", number, seq + 1,
                     reason(fec ? fec : cec)));
  else
    emit(fmt::format(R"({{"event":"done","session":{},"seq":{}}})", number, seq));
  co_return seq;
}

awaitable<void> stream(pg::graph& g, const settings& s) {
  std::uint64_t sent = 0;
  for (std::uint32_t number = 1; sent < s.count && g.is_open(); ++number) {
    sent += co_await session(g, s, number, s.count - sent);
    if (sent < s.count) co_await pause(200ms);
  }
}

// Joins (unless this node created the graph), listens, then streams.
awaitable<void> start(pg::graph& g, const settings& s) {
  if (s.connect) {
    auto [ec, conn] = co_await g.connect(*s.connect, as_tuple(use_awaitable));
    if (ec) emit(fmt::format(R"({{"event":"connect_failed","reason":"{}"}})", reason(ec)));
    auto [wec] = co_await g.wait_synchronized(as_tuple(use_awaitable));
    if (wec) co_return;
    g.listen(s.listen);
  }
  emit(R"({"event":"ready"})");
  if (s.stream_to) co_await stream(g, s);
}

std::optional<settings> parse(int argc, char** argv) {
  settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--create") {
      s.create = true;
      continue;
    }
    if (i + 1 >= argc) return std::nullopt;
    const std::string_view v = argv[++i];
    if (arg == "--graph")
      s.graph = v;
    else if (arg == "--peer")
      s.peer = v;
    else if (arg == "--listen")
      s.listen = parse_endpoint(v);
    else if (arg == "--connect")
      s.connect = parse_endpoint(v);
    else if (arg == "--stream-to")
      s.stream_to = std::string(v);
    else if (arg == "--count")
      s.count = std::stoull(std::string(v));
    else if (arg == "--size")
      s.size = std::max<std::size_t>(12, std::stoull(std::string(v)));
    else
      return std::nullopt;
  }
  if (s.graph.empty() || s.peer.empty()) return std::nullopt;
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const auto s = parse(argc, argv);
  if (!s) {
    std::fprintf(stderr,
                 "usage: fault_node --graph ID --peer ID [--create] --listen ADDR:PORT [--connect ADDR:PORT] "
                 "[--stream-to PEER --count N --size B]\n");
    return 2;
  }
  asio::io_context io;
  pg::graph_options o;
  o.idle_timeout = 2s;
  o.keepalive_interval = 500ms;
  o.maintenance_interval = 500ms;
  o.connect_timeout = 2s;
  o.handshake_timeout = 2s;
  o.close_linger = 500ms;
  pg::graph_properties p{.graph_id = s->graph, .creator_id = s->peer};
  p.presence_lifetime_s = 10;
  auto g = s->create ? pg::graph::create(io, p, o) : pg::graph::open(io, s->graph, s->peer, o);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](std::error_code ec, int) {
    if (!ec) g.close();
  });
  asio::co_spawn(io, report(g), asio::detached);
  if (s->create) g.listen(s->listen);
  asio::co_spawn(io, start(g, *s), asio::detached);
  io.run();
  return 0;
}
