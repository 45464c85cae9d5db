// peergraph-node: one graph node on the command line, reporting as JSON lines.
//
//   peergraph-node --graph ID --peer ID [--create] [--listen ADDR:PORT]
//                  [--connect ADDR:PORT]... [--connect-timeout MS]
//                  [--nodes] [--attributes TEXT] [--send-to PEER --message TEXT]
//                  [--no-auto-connect] [--limit NAME=VALUE]...
//
// --limit sets one of the limits of docs/limits.md (graph_options), e.g.
// --limit max_neighbors=4 --limit idle_timeout_ms=5000; see limit_names.
// Prints one JSON object per line on stdout (format: docs/node-output.md):
// first {"event":"listening",...} once the node listens, then one object per
// event. An opened (not created) node listens after its first neighbor has
// synchronized it. --nodes also reports node changes and the node
// enumeration; --send-to waits until PEER appears in the enumeration, opens a
// direct connection to its first address and sends the message. Incoming
// direct data is printed. SIGINT or SIGTERM closes the node and exits with 0.
#include <peergraph/peergraph.hpp>

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <fmt/core.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace pg = peergraph;
using asio::awaitable;
using asio::use_awaitable;

namespace {

struct settings {
  std::string graph;
  std::string peer;
  bool create = false;
  std::optional<pg::endpoint> listen;
  std::vector<pg::endpoint> connect;
  std::chrono::milliseconds connect_timeout{10'000};
  bool nodes = false;
  bool auto_connect = true;
  std::optional<std::string> attributes;
  std::optional<std::string> send_to;
  std::string message;
  pg::graph_options options;
};

// The limits --limit can set, by their graph_options names (durations in ms).
constexpr const char* limit_names =
    "max_message_size, max_link_backlog, send_high_water, send_low_water, max_pending_handshakes, "
    "max_pending_handshakes_per_source, max_direct_connections, max_direct_connections_per_source, "
    "max_receiving_bytes, max_neighbors, max_presence_entries, max_presence_bytes, handshake_timeout_ms, "
    "idle_timeout_ms, keepalive_interval_ms";

bool set_limit(pg::graph_options& o, std::string_view name, std::uint64_t v) {
  using ms = std::chrono::milliseconds;
  const auto n = static_cast<std::size_t>(v);
  if (name == "max_message_size")
    o.max_message_size = n;
  else if (name == "max_link_backlog")
    o.max_link_backlog = n;
  else if (name == "send_high_water")
    o.send_high_water = n;
  else if (name == "send_low_water")
    o.send_low_water = n;
  else if (name == "max_pending_handshakes")
    o.max_pending_handshakes = n;
  else if (name == "max_pending_handshakes_per_source")
    o.max_pending_handshakes_per_source = n;
  else if (name == "max_neighbors")
    o.max_neighbors = n;
  else if (name == "max_presence_entries")
    o.max_presence_entries = n;
  else if (name == "max_presence_bytes")
    o.max_presence_bytes = n;
  else if (name == "max_direct_connections")
    o.max_direct_connections = n;
  else if (name == "max_direct_connections_per_source")
    o.max_direct_connections_per_source = n;
  else if (name == "max_receiving_bytes")
    o.max_receiving_bytes = n;
  else if (name == "handshake_timeout_ms")
    o.handshake_timeout = ms(v);
  else if (name == "idle_timeout_ms")
    o.idle_timeout = ms(v);
  else if (name == "keepalive_interval_ms")
    o.keepalive_interval = ms(v);
  else
    return false;
  return true;
}

// The data type of the text messages --send-to sends.
constexpr pg::guid text_type =
    pg::guid::from_fields(0x5d1b7a3e, 0x0f6c, 0x4e8a, {0x9b, 0x2d, 0x71, 0x3e, 0x44, 0xa0, 0x6c, 0x15});

std::string json_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        else
          out += c;
    }
  }
  return out;
}

// One JSON object per line, flushed at once so that scripts see it live.
void emit(const std::string& object) {
  std::fputs(object.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

std::string id_string(std::uint64_t id) { return fmt::format("{:016x}", id); }

std::string reason_fields(const std::error_code& ec) {
  if (!ec) return {};
  return fmt::format(R"(,"reason":"{}","code":"{}:{}","hresult":"0x{:08X}")", json_escape(ec.message()),
                     ec.category().name(), ec.value(), static_cast<std::uint32_t>(pg::to_hresult(ec)));
}

std::string describe(const pg::status_changed_event& e) {
  return fmt::format(R"({{"event":"status_changed","listening":{},"has_connections":{},"synchronized":{}}})",
                     e.status.is_listening(), e.status.has_neighbors(), e.status.is_synchronized());
}

template <typename ConnectionEvent>
std::string describe(std::string_view name, const ConnectionEvent& e) {
  return fmt::format(R"({{"event":"{}","status":"{}","peer":"{}","node":"{}","connection":"{}","address":"{}"{}}})",
                     name, pg::to_string(e.status), json_escape(e.connection.peer_id), id_string(e.connection.node),
                     id_string(e.connection.id), pg::to_string(e.connection.address), reason_fields(e.reason));
}

std::string describe(const pg::node_info& n) {
  std::string addrs;
  for (const auto& a : n.addresses) addrs += fmt::format(R"({}"{}")", addrs.empty() ? "" : ",", pg::to_string(a));
  return fmt::format(R"({{"node":"{}","peer":"{}","addresses":[{}],"attributes":"{}"}})", id_string(n.id),
                     json_escape(n.peer_id), addrs, json_escape(n.attributes));
}

std::string describe(const pg::node_changed_event& e) {
  const auto inner = describe(e.node);
  return fmt::format(R"({{"event":"node_changed","change":"{}",{})", pg::to_string(e.change), inner.substr(1));
}

std::string describe_nodes(const pg::graph& g) {
  std::string list;
  for (const auto& n : g.nodes()) list += (list.empty() ? "" : ",") + describe(n);
  return fmt::format(R"({{"event":"nodes","nodes":[{}]}})", list);
}

std::optional<pg::endpoint> parse_endpoint(std::string_view text) {
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  std::error_code ec;
  const auto address = asio::ip::make_address(std::string(host), ec);
  if (ec || port.empty() || port.size() > 5) return std::nullopt;
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return std::nullopt;
  return pg::endpoint(address, static_cast<unsigned short>(value));
}

int usage(const char* why) {
  std::fprintf(stderr,
               "peergraph-node: %s\n"
               "usage: peergraph-node --graph ID --peer ID [--create] [--listen ADDR:PORT]\n"
               "                      [--connect ADDR:PORT]... [--connect-timeout MS]\n"
               "                      [--nodes] [--attributes TEXT] [--send-to PEER --message TEXT]\n"
               "                      [--no-auto-connect] [--limit NAME=VALUE]...\n"
               "limits: %s\n",
               why, limit_names);
  return 2;
}

std::optional<settings> parse(int argc, char** argv, const char*& why) {
  settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--create") {
      s.create = true;
    } else if (arg == "--nodes") {
      s.nodes = true;
    } else if (arg == "--no-auto-connect") {
      s.auto_connect = false;
    } else if ((arg == "--graph" || arg == "--peer" || arg == "--listen" || arg == "--connect" ||
                arg == "--connect-timeout" || arg == "--attributes" || arg == "--send-to" || arg == "--message" ||
                arg == "--limit") &&
               !has_value) {
      why = "option needs a value";
      return std::nullopt;
    } else if (arg == "--graph") {
      s.graph = argv[++i];
    } else if (arg == "--peer") {
      s.peer = argv[++i];
    } else if (arg == "--listen" || arg == "--connect") {
      auto ep = parse_endpoint(argv[++i]);
      if (!ep) {
        why = "addresses are written [IPv6]:PORT or IPv4:PORT";
        return std::nullopt;
      }
      if (arg == "--listen")
        s.listen = *ep;
      else
        s.connect.push_back(*ep);
    } else if (arg == "--attributes") {
      s.attributes = argv[++i];
    } else if (arg == "--send-to") {
      s.send_to = argv[++i];
    } else if (arg == "--message") {
      s.message = argv[++i];
    } else if (arg == "--limit") {
      const std::string_view spec = argv[++i];
      const auto eq = spec.find('=');
      char* end = nullptr;
      const std::string value(eq == std::string_view::npos ? "" : spec.substr(eq + 1));
      const auto v = std::strtoull(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || !set_limit(s.options, spec.substr(0, eq), v)) {
        why = "--limit takes NAME=VALUE with a known name and a number";
        return std::nullopt;
      }
    } else if (arg == "--connect-timeout") {
      s.connect_timeout = std::chrono::milliseconds(std::strtol(argv[++i], nullptr, 10));
    } else {
      why = "unknown option";
      return std::nullopt;
    }
  }
  if (s.graph.empty() || s.peer.empty()) {
    why = "--graph and --peer are required";
    return std::nullopt;
  }
  if (s.send_to && s.message.empty()) {
    why = "--send-to needs --message";
    return std::nullopt;
  }
  return s;
}

void start_listening(pg::graph& g, const pg::endpoint& where) {
  std::error_code ec;
  const auto bound = g.listen(where, ec);
  if (ec)
    emit(fmt::format(R"({{"event":"error","operation":"listen","address":"{}"{}}})", pg::to_string(where),
                     reason_fields(ec)));
  else
    emit(fmt::format(R"({{"event":"listening","address":"{}"}})", pg::to_string(bound)));
}

// Reports every event; listens once an opened node is synchronized. Taking
// direct connection and incoming data events also makes the node accept
// direct connections.
awaitable<void> report(pg::graph& g, const settings& s) {
  auto events = g.subscribe<pg::status_changed_event, pg::neighbor_connection_event, pg::direct_connection_event,
                            pg::incoming_data_event, pg::node_changed_event, pg::connection_required_event>();
  bool listening = s.create && s.listen;
  if (listening) start_listening(g, *s.listen);
  for (;;) {
    auto [ec, ev] = co_await events.receive(asio::experimental::as_tuple(use_awaitable));
    if (ec) co_return;  // the graph closed
    if (const auto* st = std::get_if<pg::status_changed_event>(&ev)) {
      emit(describe(*st));
      if (!listening && s.listen && st->status.is_synchronized()) {
        listening = true;
        start_listening(g, *s.listen);
      }
    } else if (const auto* n = std::get_if<pg::neighbor_connection_event>(&ev)) {
      emit(describe("neighbor_connection", *n));
    } else if (const auto* d = std::get_if<pg::direct_connection_event>(&ev)) {
      emit(describe("direct_connection", *d));
    } else if (const auto* data = std::get_if<pg::incoming_data_event>(&ev)) {
      const std::string text(data->data.begin(), data->data.end());
      emit(fmt::format(
          R"({{"event":"incoming_data","connection":"{}","peer":"{}","node":"{}","type":"{}","text":"{}"}})",
          id_string(data->connection), json_escape(data->peer_id), id_string(data->node), data->type,
          json_escape(text)));
    } else if (const auto* nc = std::get_if<pg::node_changed_event>(&ev)) {
      if (s.nodes) {
        emit(describe(*nc));
        emit(describe_nodes(g));
      }
    } else {
      emit(R"({"event":"connection_required"})");
    }
  }
}

awaitable<void> dial(pg::graph& g, pg::endpoint where, std::chrono::milliseconds timeout) {
  pg::connect_options o;
  o.timeout = timeout;
  auto [ec, conn] = co_await g.connect(where, o, asio::experimental::as_tuple(use_awaitable));
  // Failures after the TCP connection existed are reported as events; the
  // ones found before any traffic (bad address, known neighbor) only here.
  if (ec == pg::errc::already_exists || ec == pg::errc::invalid_address || ec == pg::errc::invalid_graph)
    emit(fmt::format(R"({{"event":"error","operation":"connect","address":"{}"{}}})", pg::to_string(where),
                     reason_fields(ec)));
}

// Waits until `peer` is in the node enumeration with an address, then opens
// a direct connection to its first address and sends `text` (the seed
// example's flow: PeerGraphEnumNodes, PeerGraphOpenDirectConnection, send).
awaitable<void> send_to(pg::graph& g, std::string peer, std::string text) {
  auto changes = g.subscribe<pg::node_changed_event>();
  for (;;) {
    auto found = g.nodes(peer);
    if (!found.empty() && !found.front().addresses.empty()) {
      const auto where = found.front().addresses.front();
      auto [ec, conn] = co_await g.open_direct(peer, where, asio::experimental::as_tuple(use_awaitable));
      if (ec) {
        emit(fmt::format(R"({{"event":"error","operation":"open_direct","address":"{}"{}}})", pg::to_string(where),
                         reason_fields(ec)));
        co_return;
      }
      std::vector<std::uint8_t> payload(text.begin(), text.end());
      auto [sec] = co_await conn.send(text_type, std::move(payload), asio::experimental::as_tuple(use_awaitable));
      if (!sec) std::tie(sec) = co_await conn.flush(asio::experimental::as_tuple(use_awaitable));
      if (sec) {
        emit(fmt::format(R"({{"event":"error","operation":"send","address":"{}"{}}})", pg::to_string(where),
                         reason_fields(sec)));
        co_return;
      }
      emit(fmt::format(R"({{"event":"sent","peer":"{}","node":"{}","address":"{}","text":"{}"}})", json_escape(peer),
                       id_string(found.front().id), pg::to_string(where), json_escape(text)));
      co_await conn.close(asio::experimental::as_tuple(use_awaitable));
      co_return;
    }
    auto [ec, ev] = co_await changes.receive(asio::experimental::as_tuple(use_awaitable));
    if (ec) co_return;  // the graph closed
  }
}

}  // namespace

int main(int argc, char** argv) {
  const char* why = "";
  auto s = parse(argc, argv, why);
  if (!s) return usage(why);
  try {
    asio::io_context io;
    pg::graph_options opts = s->options;
    opts.auto_connect = s->auto_connect;
    auto g = s->create ? pg::graph::create(io, {.graph_id = s->graph, .creator_id = s->peer}, opts)
                       : pg::graph::open(io, s->graph, s->peer, opts);
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](std::error_code ec, int) {
      if (ec) return;
      emit(R"({"event":"shutdown"})");
      g.close();
    });
    if (s->attributes) g.set_node_attributes(*s->attributes);
    asio::co_spawn(io, report(g, *s), asio::detached);
    if (s->send_to) asio::co_spawn(io, send_to(g, *s->send_to, s->message), asio::detached);
    for (const auto& ep : s->connect) asio::co_spawn(io, dial(g, ep, s->connect_timeout), asio::detached);
    io.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "peergraph-node: %s\n", e.what());
    return 1;
  }
  return 0;
}
