// attack: the hostile peers of docs/limits.md, against a node in another
// process, and a legitimate peer timed while they are at it.
//
//   attack ADDR:PORT GRAPH MODE [COUNT]
//
// MODE: solicit (COUNT neighbor links, each writing SOLICIT_NEW in batches
// of 16 for 3 s and never reading), announce (COUNT direct links, each
// announcing a 16 MiB message and sending 100 bytes of it), idle (COUNT
// TCP connections that say nothing), poison (COUNT neighbor links, each
// flooding 20,000 made-up presence records of about 4.5 KB, then renewing
// them for 3 s, never reading), none. The attackers stay connected; then a
// legitimate neighbor handshake is timed; that neighbor publishes its
// presence, then synchronizes and looks for it. Prints one JSON
// line: {"mode":...,"attackers":N (links the node took),"tried":C,"legit_ms":T,"visible":B,
// "sync_ms":S} (legit_ms -1: no WELCOME within 5 s; sync_ms -1: no full
// synchronization within 5 s). Plain blocking sockets: an attacker does not
// need coroutines.
#include <peergraph/protocol/handshake_messages.hpp>
#include <peergraph/protocol/presence.hpp>
#include <peergraph/protocol/pt2pt.hpp>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace pg = peergraph;
namespace pp = peergraph::protocol;
using asio::ip::tcp;
using bytes = std::vector<std::uint8_t>;
using clock_type = std::chrono::steady_clock;

namespace {

bytes flight(const std::string& graph, std::uint64_t node, bool direct) {
  bytes b;
  pp::auth_info a{direct ? pp::connection_type::direct : pp::connection_type::neighbor, graph, "mallory",
                  direct ? std::optional<std::string>("victim") : std::nullopt};
  pp::encode(a, b);
  pp::connect c;
  c.direct = direct;
  c.source_node_id = node;
  pp::encode(c, b);
  return b;
}

// Reads one frame; false on error or when `deadline` passes (socket timeout).
bool read_frame(tcp::socket& s, bytes& out) {
  out.resize(pp::header_size);
  asio::error_code ec;
  asio::read(s, asio::buffer(out), ec);
  if (ec) return false;
  pp::header h;
  if (pp::decode_header(out, 1 << 20, h)) return false;
  out.resize(h.size);
  asio::read(s, asio::buffer(out.data() + pp::header_size, h.size - pp::header_size), ec);
  return !ec;
}

tcp::socket dial(asio::io_context& io, const tcp::endpoint& ep) {
  tcp::socket s(io);
  s.connect(ep);
  return s;
}

// A neighbor or direct handshake; true when WELCOME came back.
bool handshake(tcp::socket& s, const std::string& graph, std::uint64_t node, bool direct) {
  const auto f = flight(graph, node, direct);
  asio::write(s, asio::buffer(f));
  bytes reply;
  return read_frame(s, reply) && reply[5] == static_cast<std::uint8_t>(pp::message_type::welcome);
}

// A made-up presence record as heavy as the protocol allows.
pp::presence_entry fake(std::uint64_t node, std::uint32_t version) {
  pp::presence_entry p;
  p.node_id = node;
  p.peer_id = "fake-" + std::to_string(node);
  p.version = version;
  p.lifetime_ms = 300'000;
  for (std::uint8_t i = 0; i < pp::max_presence_addresses; ++i)
    p.addresses.push_back(pp::address::v4(192, 0, 2, i, 4100));
  p.attributes.assign(pp::max_attributes_size, 'x');
  return p;
}

// Floods `count` made-up records on each link, then renews some of them
// for 3 s, writing only what the socket takes (the answers are never read).
void poison(std::vector<tcp::socket>& held, std::uint64_t count) {
  for (std::size_t l = 0; l < held.size(); ++l) {
    bytes records;
    for (std::uint64_t n = 1; n <= count; ++n) pp::encode(pp::flood{false, fake(0x8000000 * (l + 1) + n, 1)}, records);
    asio::error_code ec;
    asio::write(held[l], asio::buffer(records), ec);
    held[l].non_blocking(true);
  }
  const auto until = clock_type::now() + std::chrono::seconds(3);
  for (std::uint32_t version = 2; clock_type::now() < until; ++version) {
    for (std::size_t l = 0; l < held.size(); ++l) {
      bytes renew;
      for (std::uint64_t n = 1; n <= count; n += 97)
        pp::encode(pp::flood{false, fake(0x8000000 * (l + 1) + n, version)}, renew);
      asio::error_code ec;
      held[l].write_some(asio::buffer(renew), ec);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// The legitimate neighbor asks for a synchronization; true when it holds
// `node` (its own presence, published on the link).
bool sees(tcp::socket& s, std::uint64_t node, long& sync_ms) {
  const auto start = clock_type::now();
  bytes ask;
  pp::encode(pp::solicit_new{}, ask);
  asio::write(s, asio::buffer(ask));
  bool found = false;
  for (bytes f; read_frame(s, f);) {
    const auto type = static_cast<pp::message_type>(f[5]);
    if (type == pp::message_type::sync_end) {
      sync_ms =
          static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start).count());
      return found;
    }
    pp::flood fl;
    if (type == pp::message_type::flood && !pp::decode(f, fl))
      if (auto* p = std::get_if<pp::presence_entry>(&fl.record); p && p->node_id == node && !p->deleted) found = true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: attack ADDR:PORT GRAPH MODE [COUNT]\n");
    return 2;
  }
  const std::string where = argv[1];
  const auto colon = where.rfind(':');
  std::string host = where.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const tcp::endpoint ep(asio::ip::make_address(host),
                         static_cast<unsigned short>(std::atoi(where.c_str() + colon + 1)));
  const std::string graph = argv[2], mode = argv[3];
  const int count = argc > 4 ? std::atoi(argv[4]) : 1;

  asio::io_context io;
  std::vector<tcp::socket> held;
  std::uint64_t node = 0xBAD0000;
  try {
    for (int i = 0; i < count && mode != "none"; ++i) {
      auto s = dial(io, ep);
      if (mode == "idle") {
        held.push_back(std::move(s));
        continue;
      }
      if (!handshake(s, graph, ++node, mode == "announce")) continue;  // refused: the node's choice
      if (mode == "announce") {
        bytes m;
        pp::encode_pt2pt_header(pg::guid::from_fields(1, 2, 3, {4, 5, 6, 7, 8, 9, 10, 11}), 16u << 20, m);
        m.resize(m.size() + 100, 0x41);
        asio::write(s, asio::buffer(m));
      }
      held.push_back(std::move(s));
    }
    if (mode == "poison" && !held.empty()) poison(held, 20'000);
    if (mode == "solicit" && !held.empty()) {
      // First give the node a database worth asking for: 5,000 presence records.
      bytes records;
      for (std::uint64_t n = 1; n <= 5000; ++n) {
        pp::presence_entry p;
        p.node_id = 0x7000000 + n;
        p.peer_id = "fake-" + std::to_string(n);
        p.version = 1;
        p.lifetime_ms = 300'000;
        p.addresses = {pp::address::v4(192, 0, 2, 7, 4100)};
        pp::encode(pp::flood{false, p}, records);
      }
      asio::write(held.front(), asio::buffer(records));
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      bytes batch;
      for (int i = 0; i < 16; ++i) pp::encode(pp::solicit_new{}, batch);
      const auto until = clock_type::now() + std::chrono::seconds(3);
      for (auto& s : held) s.non_blocking(true);
      while (clock_type::now() < until) {
        for (auto& s : held) {
          asio::error_code ec;
          s.write_some(asio::buffer(batch), ec);  // the node's answers are never read
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "attack: %s\n", e.what());
  }

  // The legitimate peer: connect, handshake, WELCOME.
  long legit_ms = -1, sync_ms = -1;
  bool visible = false;
  std::optional<tcp::socket> legit;
  try {
    const auto start = clock_type::now();
    legit.emplace(dial(io, ep));
    timeval tv{5, 0};
    ::setsockopt(legit->native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (handshake(*legit, graph, 0x600D, false)) {
      legit_ms =
          static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start).count());
      pp::presence_entry me;
      me.node_id = 0x600D;
      me.peer_id = "legit";
      me.version = 1;
      me.lifetime_ms = 300'000;
      me.addresses = {pp::address::v4(127, 0, 0, 1, 4200)};
      bytes b;
      pp::encode(pp::flood{false, me}, b);
      asio::write(*legit, asio::buffer(b));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      visible = sees(*legit, 0x600D, sync_ms);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "attack: legitimate peer: %s\n", e.what());
  }
  std::printf("{\"mode\":\"%s\",\"attackers\":%zu,\"tried\":%d,\"legit_ms\":%ld,\"visible\":%s,\"sync_ms\":%ld}\n",
              mode.c_str(), held.size(), mode == "none" ? 0 : count, legit_ms, visible ? "true" : "false", sync_ms);
  std::fflush(stdout);
  // Hold the attack until told to stop (stdin closes), so that the node's
  // memory can be measured with the attackers still there.
  std::getchar();
  return 0;
}
