// Unit tests for peergraph/protocol/handshake.hpp: the initiator and responder
// state machines, driven step by step with bytes only.
#include "support/bytes.hpp"
#include <peergraph/protocol/frame.hpp>
#include <peergraph/protocol/handshake.hpp>
#include <peergraph/protocol/pt2pt.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace pg = peergraph;
namespace pp = peergraph::protocol;
using pp::error;

using namespace pgtest;
const auto ep = wire_address;

namespace {

using ini = pp::initiator;
using rsp = pp::responder;

/// Splits a byte stream into complete frames; every byte must belong to one.
std::vector<frame> split(const bytes& stream) { return split_frames(view(stream)); }

template <class M>
frame frame_of(const M& m) {
  bytes out;
  pp::encode(m, out);
  auto frames = split(out);
  REQUIRE(frames.size() == 1u);
  return frames.front();
}

constexpr std::uint64_t alice_node = 0xA11CE0000001ull;
constexpr std::uint64_t bob_node = 0xB0B000000002ull;

pp::initiator_config alice_config() {
  pp::initiator_config c;
  c.type = pp::connection_type::neighbor;
  c.graph_id = "graph-1";
  c.local_peer_id = "alice";
  c.expected_peer_id = "bob";
  c.local_node_id = alice_node;
  c.local_addresses = {ep("192.0.2.1", 3587), ep("2001:db8::a", 3588)};
  c.friendly_name = "Alice";
  c.wants_neighbors = true;
  return c;
}

pp::responder_config bob_config() { return {"graph-1", "bob", bob_node}; }

/// Starts `a` and returns its first flight, split into frames.
std::vector<frame> first_flight(ini& a) {
  bytes out;
  a.start(out);
  auto frames = split(out);
  REQUIRE(frames.size() == 2u);
  return frames;
}

/// Feeds the first flight of `a` into `b` up to the point where `b` must decide.
void run_to_decide(ini& a, rsp& b) {
  const auto flight = first_flight(a);
  bytes out;
  auto r = b.on_frame(flight[0].h, flight[0].view(), out);
  REQUIRE(r.kind == rsp::outcome::pending);
  REQUIRE_FALSE(r.ec);
  r = b.on_frame(flight[1].h, flight[1].view(), out);
  REQUIRE(r.kind == rsp::outcome::decide);
  REQUIRE_FALSE(r.ec);
  REQUIRE(out.empty());  // nothing is sent before the decision
  REQUIRE(b.current() == rsp::state::deciding);
}

/// Sends the responder's reply bytes to the initiator.
ini::outcome deliver(ini& a, const bytes& reply) {
  const auto frames = split(reply);
  REQUIRE(frames.size() == 1u);
  return a.on_frame(frames[0].h, frames[0].view());
}

}  // namespace

TEST_CASE("initiator first flight is AUTH_INFO then CONNECT", "[handshake]") {
  ini a(alice_config());
  CHECK(a.current() == ini::state::idle);
  const auto flight = first_flight(a);
  CHECK(a.current() == ini::state::awaiting_reply);

  REQUIRE(flight[0].h.type == pp::message_type::auth_info);
  pp::auth_info auth;
  REQUIRE_FALSE(pp::decode(flight[0].view(), auth));
  CHECK(auth.type == pp::connection_type::neighbor);
  CHECK(auth.graph_id == "graph-1");
  CHECK(auth.source_peer_id == "alice");
  REQUIRE(auth.destination_peer_id.has_value());
  CHECK(*auth.destination_peer_id == "bob");

  REQUIRE(flight[1].h.type == pp::message_type::connect);
  pp::connect c;
  REQUIRE_FALSE(pp::decode(flight[1].view(), c));
  CHECK(c.update);  // local addresses present
  CHECK_FALSE(c.direct);
  CHECK(c.wants_neighbors);
  CHECK(c.source_node_id == alice_node);
  REQUIRE(c.addresses.size() == 2u);
  CHECK(c.addresses[0] == ep("192.0.2.1", 3587));
  CHECK(c.addresses[0].is_v4_mapped());
  CHECK(c.addresses[1] == ep("2001:db8::a", 3588));
  CHECK(c.friendly_name == "Alice");
}

TEST_CASE("initiator without addresses or expected peer omits U and destination", "[handshake]") {
  auto cfg = alice_config();
  cfg.type = pp::connection_type::direct;
  cfg.local_addresses.clear();
  cfg.expected_peer_id.reset();
  cfg.wants_neighbors = false;
  ini a(cfg);
  const auto flight = first_flight(a);
  pp::auth_info auth;
  REQUIRE_FALSE(pp::decode(flight[0].view(), auth));
  CHECK(auth.type == pp::connection_type::direct);
  CHECK_FALSE(auth.destination_peer_id.has_value());
  pp::connect c;
  REQUIRE_FALSE(pp::decode(flight[1].view(), c));
  CHECK_FALSE(c.update);
  CHECK(c.direct);
  CHECK_FALSE(c.wants_neighbors);
  CHECK(c.addresses.empty());
}

TEST_CASE("full handshake: initiator and responder both established", "[handshake]") {
  ini a(alice_config());
  rsp b(bob_config());
  CHECK(b.current() == rsp::state::awaiting_auth);

  const auto flight = first_flight(a);
  bytes to_alice;
  auto r = b.on_frame(flight[0].h, flight[0].view(), to_alice);
  CHECK(r.kind == rsp::outcome::pending);
  CHECK(b.current() == rsp::state::awaiting_connect);
  CHECK(b.auth().source_peer_id == "alice");
  CHECK(b.auth().graph_id == "graph-1");

  r = b.on_frame(flight[1].h, flight[1].view(), to_alice);
  CHECK(r.kind == rsp::outcome::decide);
  CHECK(b.current() == rsp::state::deciding);
  CHECK(to_alice.empty());
  CHECK_FALSE(b.is_direct());
  CHECK(b.request().source_node_id == alice_node);
  CHECK(b.request().friendly_name == "Alice");
  CHECK(b.request().wants_neighbors);
  CHECK(b.request().addresses.size() == 2u);

  b.accept(0x01D9000012345678ull, {ep("198.51.100.2", 3587)}, "Bob", to_alice);
  CHECK(b.current() == rsp::state::established);

  const auto reply = split(to_alice);
  REQUIRE(reply.size() == 1u);
  CHECK(reply[0].h.type == pp::message_type::welcome);

  const auto o = a.on_frame(reply[0].h, reply[0].view());
  CHECK(o.kind == ini::outcome::established);
  CHECK_FALSE(o.ec);
  CHECK(a.current() == ini::state::established);
  CHECK(a.peer().node_id == bob_node);
  CHECK(a.peer().peer_time == 0x01D9000012345678ull);
  CHECK(a.peer().peer_id == "bob");
  CHECK(a.peer().friendly_name == "Bob");
  REQUIRE(a.peer().addresses.size() == 1u);
  CHECK(a.peer().addresses[0] == ep("198.51.100.2", 3587));

  SECTION("a frame after established is unexpected on both sides") {
    const auto extra = frame_of(pp::disconnect{0, {}});
    const auto oa = a.on_frame(extra.h, extra.view());
    CHECK(oa.kind == ini::outcome::failed);
    CHECK(oa.ec == error::unexpected_message);
    CHECK(a.current() == ini::state::failed);

    bytes out;
    const auto ob = b.on_frame(extra.h, extra.view(), out);
    CHECK(ob.kind == rsp::outcome::failed);
    CHECK(ob.ec == error::unexpected_message);
    CHECK(b.current() == rsp::state::failed);
    CHECK(out.empty());
  }
  SECTION("a second WELCOME after established is unexpected too") {
    const auto again = a.on_frame(reply[0].h, reply[0].view());
    CHECK(again.kind == ini::outcome::failed);
    CHECK(again.ec == error::unexpected_message);
  }
}

TEST_CASE("direct connection handshake", "[handshake]") {
  auto cfg = alice_config();
  cfg.type = pp::connection_type::direct;
  cfg.expected_peer_id.reset();
  ini a(cfg);
  rsp b(bob_config());
  run_to_decide(a, b);
  CHECK(b.is_direct());
  CHECK(b.request().direct);
  CHECK_FALSE(b.auth().destination_peer_id.has_value());

  bytes to_alice;
  b.accept(1, {}, "", to_alice);
  const auto o = deliver(a, to_alice);
  CHECK(o.kind == ini::outcome::established);
  CHECK(a.peer().friendly_name.empty());
  CHECK(a.peer().addresses.empty());
}

TEST_CASE("responder rejects a wrong graph id", "[handshake]") {
  ini a(alice_config());
  auto cfg = bob_config();
  cfg.graph_id = "graph-2";
  rsp b(cfg);
  const auto flight = first_flight(a);
  bytes out;
  const auto r = b.on_frame(flight[0].h, flight[0].view(), out);
  CHECK(r.kind == rsp::outcome::failed);
  CHECK(r.ec == error::wrong_graph_id);
  CHECK(b.current() == rsp::state::failed);
  CHECK(out.empty());

  // A failed machine accepts nothing more.
  const auto r2 = b.on_frame(flight[1].h, flight[1].view(), out);
  CHECK(r2.kind == rsp::outcome::failed);
  CHECK(r2.ec == error::unexpected_message);
}

TEST_CASE("responder rejects a destination peer id that is not its own", "[handshake]") {
  auto cfg = alice_config();
  cfg.expected_peer_id = "carol";
  ini a(cfg);
  rsp b(bob_config());
  const auto flight = first_flight(a);
  bytes out;
  const auto r = b.on_frame(flight[0].h, flight[0].view(), out);
  CHECK(r.kind == rsp::outcome::failed);
  CHECK(r.ec == error::wrong_peer_id);
  CHECK(b.current() == rsp::state::failed);
}

TEST_CASE("responder rejects CONNECT before AUTH_INFO", "[handshake]") {
  ini a(alice_config());
  rsp b(bob_config());
  const auto flight = first_flight(a);
  bytes out;
  const auto r = b.on_frame(flight[1].h, flight[1].view(), out);
  CHECK(r.kind == rsp::outcome::failed);
  CHECK(r.ec == error::unexpected_message);
  CHECK(b.current() == rsp::state::failed);
}

TEST_CASE("responder rejects a second AUTH_INFO instead of CONNECT", "[handshake]") {
  ini a(alice_config());
  rsp b(bob_config());
  const auto flight = first_flight(a);
  bytes out;
  REQUIRE(b.on_frame(flight[0].h, flight[0].view(), out).kind == rsp::outcome::pending);
  const auto r = b.on_frame(flight[0].h, flight[0].view(), out);
  CHECK(r.kind == rsp::outcome::failed);
  CHECK(r.ec == error::unexpected_message);
}

TEST_CASE("responder rejects a malformed AUTH_INFO", "[handshake]") {
  ini a(alice_config());
  rsp b(bob_config());
  auto flight = first_flight(a);
  flight[0].data[8] = 0x07;  // connection type
  bytes out;
  const auto r = b.on_frame(flight[0].h, flight[0].view(), out);
  CHECK(r.kind == rsp::outcome::failed);
  CHECK(r.ec == error::malformed_message);
}

TEST_CASE("responder rejects a direct flag disagreeing with AUTH_INFO", "[handshake]") {
  const auto [auth_type, direct_flag] =
      GENERATE(std::pair{pp::connection_type::neighbor, true}, std::pair{pp::connection_type::direct, false});
  CAPTURE(int(auth_type), direct_flag);
  rsp b(bob_config());
  const auto auth = frame_of(pp::auth_info{auth_type, "graph-1", "alice", std::nullopt});
  pp::connect c;
  c.direct = direct_flag;
  c.source_node_id = alice_node;
  const auto conn = frame_of(c);

  bytes out;
  REQUIRE(b.on_frame(auth.h, auth.view(), out).kind == rsp::outcome::pending);
  const auto r = b.on_frame(conn.h, conn.view(), out);
  CHECK(r.kind == rsp::outcome::failed);
  CHECK(r.ec == error::malformed_message);
  CHECK(b.current() == rsp::state::failed);
  CHECK(out.empty());
}

TEST_CASE("responder rejects CONNECT with node id 0", "[handshake]") {
  rsp b(bob_config());
  const auto auth = frame_of(pp::auth_info{pp::connection_type::neighbor, "graph-1", "alice", std::nullopt});
  const auto conn = frame_of(pp::connect{});
  bytes out;
  REQUIRE(b.on_frame(auth.h, auth.view(), out).kind == rsp::outcome::pending);
  const auto r = b.on_frame(conn.h, conn.view(), out);
  CHECK(r.kind == rsp::outcome::failed);
  CHECK(r.ec == error::malformed_message);
}

TEST_CASE("CONNECT from the responder's own node is refused with connect_self", "[handshake]") {
  auto cfg = alice_config();
  cfg.local_node_id = bob_node;  // the same node on both ends
  ini a(cfg);
  rsp b(bob_config());
  const auto flight = first_flight(a);
  bytes to_alice;
  REQUIRE(b.on_frame(flight[0].h, flight[0].view(), to_alice).kind == rsp::outcome::pending);
  const auto r = b.on_frame(flight[1].h, flight[1].view(), to_alice);
  CHECK(r.kind == rsp::outcome::refused);
  CHECK(r.code == pp::refuse_code::connect_self);
  CHECK(b.current() == rsp::state::refused);

  // The responder answered REFUSE(connect_self) itself.
  const auto reply = split(to_alice);
  REQUIRE(reply.size() == 1u);
  REQUIRE(reply[0].h.type == pp::message_type::refuse);
  pp::refuse refusal;
  REQUIRE_FALSE(pp::decode(reply[0].view(), refusal));
  CHECK(refusal.code == pp::refuse_code::connect_self);
  CHECK(refusal.referrals.empty());

  const auto o = a.on_frame(reply[0].h, reply[0].view());
  CHECK(o.kind == ini::outcome::refused);
  CHECK_FALSE(o.ec);
  CHECK(a.current() == ini::state::refused);
  CHECK(a.refusal().code == pp::refuse_code::connect_self);
}

TEST_CASE("responder refusals reach the initiator with their code", "[handshake]") {
  ini a(alice_config());
  rsp b(bob_config());
  run_to_decide(a, b);
  bytes to_alice;

  SECTION("duplicate_connection") {
    b.refuse(pp::refuse_code::duplicate_connection, {}, to_alice);
    CHECK(b.current() == rsp::state::refused);
    const auto o = deliver(a, to_alice);
    CHECK(o.kind == ini::outcome::refused);
    CHECK(a.refusal().code == pp::refuse_code::duplicate_connection);
    CHECK(a.current() == ini::state::refused);
  }
  SECTION("already_connected") {
    b.refuse(pp::refuse_code::already_connected, {}, to_alice);
    const auto o = deliver(a, to_alice);
    CHECK(o.kind == ini::outcome::refused);
    CHECK(a.refusal().code == pp::refuse_code::already_connected);
  }
  SECTION("busy, with referrals") {
    const std::vector<pp::address> referrals{ep("203.0.113.7", 3587), ep("2001:db8::7", 3589), ep("203.0.113.8", 1)};
    b.refuse(pp::refuse_code::busy, referrals, to_alice);
    const auto o = deliver(a, to_alice);
    CHECK(o.kind == ini::outcome::refused);
    CHECK(a.refusal().code == pp::refuse_code::busy);
    CHECK(a.refusal().referrals == referrals);
    CHECK(a.refusal().referrals[0].is_v4_mapped());
  }
  SECTION("direct_connection_disallowed") {
    b.refuse(pp::refuse_code::direct_connection_disallowed, {}, to_alice);
    const auto o = deliver(a, to_alice);
    CHECK(o.kind == ini::outcome::refused);
    CHECK(a.refusal().code == pp::refuse_code::direct_connection_disallowed);
  }
}

TEST_CASE("initiator rejects a WELCOME from an unexpected peer id", "[handshake]") {
  ini a(alice_config());  // expects "bob"
  (void)first_flight(a);
  const auto w = frame_of(pp::welcome{bob_node, 0, {}, "mallory", ""});
  const auto o = a.on_frame(w.h, w.view());
  CHECK(o.kind == ini::outcome::failed);
  CHECK(o.ec == error::wrong_peer_id);
  CHECK(a.current() == ini::state::failed);
}

TEST_CASE("initiator without an expected peer id accepts any peer id", "[handshake]") {
  auto cfg = alice_config();
  cfg.expected_peer_id.reset();
  ini a(cfg);
  (void)first_flight(a);
  const auto w = frame_of(pp::welcome{bob_node, 0, {}, "mallory", ""});
  const auto o = a.on_frame(w.h, w.view());
  CHECK(o.kind == ini::outcome::established);
  CHECK(a.peer().peer_id == "mallory");
}

TEST_CASE("initiator rejects a WELCOME carrying its own node id", "[handshake]") {
  ini a(alice_config());
  (void)first_flight(a);
  const auto w = frame_of(pp::welcome{alice_node, 0, {}, "bob", ""});
  const auto o = a.on_frame(w.h, w.view());
  CHECK(o.kind == ini::outcome::failed);
  CHECK(o.ec == error::self_connection);
  CHECK(a.current() == ini::state::failed);
}

TEST_CASE("initiator rejects a WELCOME with node id 0", "[handshake]") {
  ini a(alice_config());
  (void)first_flight(a);
  const auto w = frame_of(pp::welcome{0, 0, {}, "bob", ""});
  const auto o = a.on_frame(w.h, w.view());
  CHECK(o.kind == ini::outcome::failed);
  CHECK(o.ec == error::malformed_message);
}

TEST_CASE("initiator rejects a malformed WELCOME", "[handshake]") {
  ini a(alice_config());
  (void)first_flight(a);
  auto w = frame_of(pp::welcome{bob_node, 0, {}, "bob", ""});
  w.data.back() = 'x';  // peer id loses its NUL
  const auto o = a.on_frame(w.h, w.view());
  CHECK(o.kind == ini::outcome::failed);
  CHECK(o.ec == error::malformed_message);
}

TEST_CASE("DISCONNECT during the handshake", "[handshake]") {
  ini a(alice_config());
  (void)first_flight(a);
  const auto d = frame_of(pp::disconnect{0, {}});
  const auto o = a.on_frame(d.h, d.view());
  CHECK(o.kind == ini::outcome::failed);
  CHECK(o.ec == error::peer_disconnected);
  CHECK(a.current() == ini::state::failed);
}

TEST_CASE("initiator rejects other messages while awaiting the reply", "[handshake]") {
  ini a(alice_config());
  (void)first_flight(a);
  bytes out;
  pp::encode_pt2pt_header(pp::ping_type, 0, out);
  const auto f = split(out);
  REQUIRE(f.size() == 1u);
  const auto o = a.on_frame(f[0].h, f[0].view());
  CHECK(o.kind == ini::outcome::failed);
  CHECK(o.ec == error::unexpected_message);
}

TEST_CASE("initiator rejects a reply before start()", "[handshake]") {
  ini a(alice_config());
  const auto w = frame_of(pp::welcome{bob_node, 0, {}, "bob", ""});
  const auto o = a.on_frame(w.h, w.view());
  CHECK(o.kind == ini::outcome::failed);
  CHECK(o.ec == error::unexpected_message);
}

TEST_CASE("responder rejects frames while deciding", "[handshake]") {
  ini a(alice_config());
  rsp b(bob_config());
  run_to_decide(a, b);
  const auto extra = frame_of(pp::connect{false, false, false, alice_node, {}, ""});
  bytes out;
  const auto r = b.on_frame(extra.h, extra.view(), out);
  CHECK(r.kind == rsp::outcome::failed);
  CHECK(r.ec == error::unexpected_message);
}
