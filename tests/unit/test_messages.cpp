// Unit tests for peergraph/protocol/messages.hpp: encoders, decoders, exact
// wire layout and rejection of malformed input.
#include "support/bytes.hpp"
#include <peergraph/protocol/frame.hpp>
#include <peergraph/protocol/messages.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace pp = peergraph::protocol;
using peergraph::guid;
using pp::error;

using namespace pgtest;
const auto ep = wire_address;

namespace {

/// Makes the size field agree with the buffer again after an edit.
void fix_size(bytes& b) { put32(b, 0, static_cast<std::uint32_t>(b.size())); }

template <class M>
bytes enc(const M& m) {
  bytes out;
  pp::encode(m, out);
  return out;
}

/// Decodes from an exactly sized heap copy, so that ASan sees any overread.
template <class M>
std::error_code dec(const bytes& b, M& m) {
  const bytes exact(b.begin(), b.end());
  return pp::decode(view(exact), m);
}
template <class M>
std::error_code dec(const bytes& b) {
  M m;
  return dec(b, m);
}

bytes pt2pt(const guid& type, const bytes& payload) {
  bytes out;
  pp::encode_pt2pt_header(type, payload.size(), out);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

bool same_v4_mapped(const bytes& b, std::size_t at, std::array<std::uint8_t, 4> v4) {
  for (std::size_t i = 0; i < 10; ++i)
    if (b.at(at + i) != 0) return false;
  return b.at(at + 10) == 0xFF && b.at(at + 11) == 0xFF && b.at(at + 12) == v4[0] && b.at(at + 13) == v4[1] &&
         b.at(at + 14) == v4[2] && b.at(at + 15) == v4[3];
}

const guid data_type = guid::from_fields(0x12345678, 0x9abc, 0xdef0, {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef});

pp::auth_info sample_auth() { return {pp::connection_type::direct, "graph-id", "alice@example", std::string("bob")}; }
pp::connect sample_connect() {
  pp::connect c;
  c.update = true;
  c.wants_neighbors = true;
  c.source_node_id = 0x0123456789ABCDEFull;
  c.addresses = {ep("192.0.2.7", 3587), ep("2001:db8::1", 3588)};
  c.friendly_name = "Alice";
  return c;
}
pp::welcome sample_welcome() {
  return {0xFEDCBA9876543210ull,
          0x01D9A1B2C3D4E5F6ull,
          {ep("198.51.100.1", 3587), ep("2001:db8::5", 40000)},
          "bob",
          "Bob's node"};
}
pp::refuse sample_refuse() { return {pp::refuse_code::busy, {ep("203.0.113.5", 3587), ep("2001:db8::2", 3587)}}; }
pp::disconnect sample_disconnect() { return {3, {ep("203.0.113.9", 1)}}; }

std::vector<pp::address> many_endpoints(std::size_t n) {
  std::vector<peergraph::endpoint> v;
  for (std::size_t i = 0; i < n; ++i) {
    if (i % 2 == 0) {
      const asio::ip::address_v4::bytes_type b{10, 0, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)};
      v.emplace_back(asio::ip::address_v4(b), static_cast<std::uint16_t>(1000 + i));
    } else {
      asio::ip::address_v6::bytes_type b{0x20, 0x01, 0x0d, 0xb8};
      b[14] = static_cast<std::uint8_t>(i >> 8);
      b[15] = static_cast<std::uint8_t>(i);
      v.emplace_back(asio::ip::address_v6(b), static_cast<std::uint16_t>(2000 + i));
    }
  }
  return peergraph::detail::to_wire(v);
}

/// Checks that every prefix of `valid` is rejected, and that every prefix
/// whose size field was made to agree with its length is rejected too, except
/// those for which `prefix_is_message(n)` says the prefix is itself a valid
/// message (one without its optional trailing field); those must decode.
template <class M, class Pred>
void check_truncations(const bytes& valid, std::size_t min_size, Pred prefix_is_message) {
  for (std::size_t n = 0; n < valid.size(); ++n) {
    CAPTURE(n);
    const bytes prefix(valid.begin(), valid.begin() + static_cast<std::ptrdiff_t>(n));
    const auto ec = dec<M>(prefix);
    REQUIRE(ec);
    if (n < pp::header_size)
      CHECK(ec == error::truncated_message);
    else
      CHECK(ec == error::malformed_message);  // size field says more

    if (n >= pp::header_size) {
      bytes consistent = prefix;
      fix_size(consistent);
      const auto ec2 = dec<M>(consistent);
      if (n < min_size)
        CHECK(ec2 == error::truncated_message);
      else if (prefix_is_message(n))
        CHECK_FALSE(ec2);
      else
        CHECK(ec2 == error::malformed_message);
    }
  }
}

/// Rejections that apply to every message type.
template <class M>
void check_common_rejections(const bytes& valid, pp::message_type t) {
  REQUIRE_FALSE(dec<M>(valid));

  SECTION("wrong version") {
    for (std::uint8_t v : {0x00, 0x01, 0x0F, 0x11, 0x20, 0xFF}) {
      CAPTURE(int(v));
      bytes b = valid;
      b[4] = v;
      CHECK(dec<M>(b) == error::bad_version);
    }
  }
  SECTION("unknown type") {
    for (std::uint8_t v : {0x00, 0x0F, 0x10, 0x80, 0xFF}) {
      CAPTURE(int(v));
      bytes b = valid;
      b[5] = v;
      CHECK(dec<M>(b) == error::unknown_message_type);
    }
  }
  SECTION("another known type") {
    for (std::uint8_t v = 0x01; v <= 0x0E; ++v) {
      if (v == static_cast<std::uint8_t>(t)) continue;
      CAPTURE(int(v));
      bytes b = valid;
      b[5] = v;
      CHECK(dec<M>(b) == error::unexpected_message);
    }
  }
  SECTION("size field disagreeing with the buffer") {
    for (std::uint32_t s : {static_cast<std::uint32_t>(valid.size() + 1), static_cast<std::uint32_t>(valid.size() - 1),
                            static_cast<std::uint32_t>(valid.size() * 2), 0xFFFFFFFFu}) {
      CAPTURE(s);
      bytes b = valid;
      put32(b, 0, s);
      CHECK(dec<M>(b) == error::malformed_message);
    }
    bytes longer = valid;
    longer.push_back(0);  // buffer one byte longer than the size field
    CHECK(dec<M>(longer) == error::malformed_message);
  }
  SECTION("size field below the header size") {
    for (std::uint32_t s = 0; s < pp::header_size; ++s) {
      bytes b = valid;
      put32(b, 0, s);
      CHECK(dec<M>(b) == error::malformed_message);
    }
  }
}

}  // namespace

// ====================================================================== AUTH_INFO

TEST_CASE("AUTH_INFO round trip", "[messages][auth_info]") {
  const std::vector<pp::auth_info> cases{
      {pp::connection_type::neighbor, "g", "src", std::nullopt},
      {pp::connection_type::direct, "graph-id", "alice@example", std::string("bob")},
      {pp::connection_type::neighbor, "", "", std::string("")},
      {pp::connection_type::neighbor, "", "x", std::nullopt},
      {pp::connection_type::direct, "\xE5\x9B\xBE", "Zo\xC3\xAB", std::string(255, 'd')},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    CAPTURE(i);
    const auto b = enc(cases[i]);
    CHECK(get32(b, 0) == b.size());
    pp::auth_info out;
    out.destination_peer_id = "stale";  // decode must reset it when absent
    REQUIRE_FALSE(dec(b, out));
    CHECK(out == cases[i]);
    CHECK(out.destination_peer_id.has_value() == cases[i].destination_peer_id.has_value());
  }
}

TEST_CASE("AUTH_INFO exact bytes", "[messages][auth_info]") {
  SECTION("without destination") {
    const auto b = enc(pp::auth_info{pp::connection_type::neighbor, "g", "src", std::nullopt});
    const bytes expected{
        0x16, 0x00, 0x00, 0x00,  // size 22, little-endian
        0x10,                    // version
        0x01,                    // AUTH_INFO
        0x00, 0x00,              // reserved
        0x01,                    // connection type: neighbor
        0x00,                    // reserved
        0x10, 0x00,              // graph id offset 16
        0x12, 0x00,              // source peer id offset 18
        0x16, 0x00,              // destination offset 22 == size: absent
        'g',  0x00, 's',  'r',  'c', 0x00,
    };
    CHECK(b == expected);
  }
  SECTION("with destination, direct") {
    const auto b = enc(pp::auth_info{pp::connection_type::direct, "g", "src", std::string("bob")});
    const bytes expected{
        0x1A, 0x00, 0x00, 0x00, 0x10, 0x01, 0x00, 0x00,  // size 26
        0x02, 0x00,                                      // direct
        0x10, 0x00, 0x12, 0x00, 0x16, 0x00,              // offsets 16, 18, 22
        'g',  0x00, 's',  'r',  'c',  0x00, 'b',  'o',  'b', 0x00,
    };
    CHECK(b == expected);
  }
}

TEST_CASE("encoding appends to existing content", "[messages]") {
  bytes out{0xAA, 0xBB};
  pp::encode(pp::auth_info{pp::connection_type::neighbor, "g", "s", std::nullopt}, out);
  REQUIRE(out.size() == 2u + 20u);
  CHECK(out[0] == 0xAA);
  CHECK(out[1] == 0xBB);
  const bytes msg(out.begin() + 2, out.end());
  CHECK(get32(msg, 0) == 20u);   // size counts only the message
  CHECK(get16(msg, 10) == 16u);  // offsets are message-relative
  pp::auth_info a;
  CHECK_FALSE(dec(msg, a));
}

TEST_CASE("AUTH_INFO rejections", "[messages][auth_info]") {
  const auto valid = enc(sample_auth());
  // graph "graph-id" at 16..24, source "alice@example" at 25..38, destination "bob" at 39..42
  REQUIRE(get16(valid, 10) == 16u);
  REQUIRE(get16(valid, 12) == 25u);
  REQUIRE(get16(valid, 14) == 39u);
  REQUIRE(valid.size() == 43u);

  check_common_rejections<pp::auth_info>(valid, pp::message_type::auth_info);

  SECTION("truncations") {
    check_truncations<pp::auth_info>(valid, 16, [](std::size_t n) { return n == 39; });
  }

  SECTION("bad connection type") {
    for (std::uint8_t t : {0x00, 0x03, 0x80, 0xFF}) {
      bytes b = valid;
      b[8] = t;
      CHECK(dec<pp::auth_info>(b) == error::malformed_message);
    }
  }
  SECTION("offsets out of order or out of range") {
    const std::vector<std::array<std::uint16_t, 3>> bad{
        {15, 25, 39},                    // graph id inside the fixed part
        {0, 25, 39},      {25, 25, 39},  // graph == source
        {16, 39, 39},                    // source == destination
        {16, 39, 25},                    // destination before source
        {30, 25, 39},                    // graph after source
        {16, 25, 44},                    // destination past the end
        {16, 25, 0xFFFF}, {16, 0xFFFE, 0xFFFF},
    };
    for (const auto& o : bad) {
      CAPTURE(o[0], o[1], o[2]);
      bytes b = valid;
      put16(b, 10, o[0]);
      put16(b, 12, o[1]);
      put16(b, 14, o[2]);
      CHECK(dec<pp::auth_info>(b) == error::malformed_message);
    }
  }
  SECTION("missing NUL terminators") {
    for (std::size_t nul : {std::size_t{24}, std::size_t{38}, std::size_t{42}}) {
      CAPTURE(nul);
      bytes b = valid;
      REQUIRE(b[nul] == 0);
      b[nul] = 'x';
      CHECK(dec<pp::auth_info>(b) == error::malformed_message);
    }
  }
  SECTION("size consistent but below the fixed part") {
    bytes b(valid.begin(), valid.begin() + 15);
    fix_size(b);
    CHECK(dec<pp::auth_info>(b) == error::truncated_message);
  }
}

// ====================================================================== CONNECT

TEST_CASE("CONNECT round trip", "[messages][connect]") {
  const std::vector<std::vector<pp::address>> address_sets{
      {},
      {ep("192.0.2.7", 3587)},
      {ep("2001:db8::1", 3588)},
      {ep("192.0.2.7", 3587), ep("2001:db8::1", 3588), ep("127.0.0.1", 0), ep("::1", 65535)},
  };
  for (int flags = 0; flags < 8; ++flags) {
    for (const auto& addrs : address_sets) {
      for (const std::string name : {"", "Alice", "Zo\xC3\xAB \xF0\x9F\x99\x82"}) {
        CAPTURE(flags, addrs.size(), name);
        pp::connect c;
        c.update = flags & 1;
        c.direct = flags & 2;
        c.wants_neighbors = flags & 4;
        c.source_node_id = 0x8000000000000001ull + static_cast<std::uint64_t>(flags);
        c.addresses = addrs;
        c.friendly_name = name;
        const auto b = enc(c);
        CHECK(b[8] == flags);  // U=1, D=2, N=4
        CHECK(get32(b, 0) == b.size());
        pp::connect out;
        out.friendly_name = "stale";
        REQUIRE_FALSE(dec(b, out));
        CHECK(out == c);
        for (std::size_t i = 0; i < addrs.size(); ++i)
          CHECK(out.addresses[i].is_v4_mapped() == addrs[i].is_v4_mapped());
      }
    }
  }
}

TEST_CASE("CONNECT exact bytes, IPv4 travels v4-mapped", "[messages][connect]") {
  pp::connect c;
  c.update = true;
  c.wants_neighbors = true;
  c.source_node_id = 0x0123456789ABCDEFull;
  c.addresses = {ep("192.0.2.7", 3587)};
  c.friendly_name = "A";
  const auto b = enc(c);
  const bytes expected{
      0x2E, 0x00, 0x00, 0x00, 0x10, 0x02, 0x00, 0x00,  // size 46, CONNECT
      0x05,                                            // flags U|N
      0x01,                                            // one address
      0x18, 0x00,                                      // addresses at 24
      0x2C, 0x00,                                      // friendly name at 44
      0x00, 0x00,                                      // reserved
      0xEF, 0xCD, 0xAB, 0x89, 0x67, 0x45, 0x23, 0x01,  // node id, little-endian
      0x17, 0x00,                                      // family 0x0017, little-endian
      0x0E, 0x03,                                      // port 3587, network order
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 192, 0, 2, 7,  // ::ffff:192.0.2.7
      'A',  0x00,
  };
  CHECK(b == expected);

  pp::connect out;
  REQUIRE_FALSE(dec(b, out));
  REQUIRE(out.addresses.size() == 1u);
  CHECK(out.addresses[0].is_v4_mapped());
  CHECK(out.addresses[0] == ep("192.0.2.7", 3587));
}

TEST_CASE("CONNECT IPv6 address bytes and empty friendly name", "[messages][connect]") {
  pp::connect c;
  c.source_node_id = 1;
  c.addresses = {ep("2001:db8::1", 3588)};
  const auto b = enc(c);
  REQUIRE(b.size() == 44u);         // no friendly name, not even a NUL
  CHECK(b[8] == 0);                 // no flags
  CHECK(get16(b, 12) == b.size());  // name offset == size: absent
  CHECK(get16(b, 24) == 0x0017);
  CHECK(b[26] == 0x0E);
  CHECK(b[27] == 0x04);
  const bytes v6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
  CHECK(bytes(b.begin() + 28, b.begin() + 44) == v6);

  pp::connect out;
  REQUIRE_FALSE(dec(b, out));
  REQUIRE(out.addresses.size() == 1u);
  CHECK_FALSE(out.addresses[0].is_v4_mapped());
  CHECK(out.addresses[0] == ep("2001:db8::1", 3588));
  CHECK(out.friendly_name.empty());
}

TEST_CASE("IPv4 travels IPv4-mapped and comes back as IPv4", "[messages][connect]") {
  pp::connect c;
  c.source_node_id = 1;
  c.addresses = {ep("192.0.2.9", 80)};
  CHECK(c.addresses[0] == ep("::ffff:192.0.2.9", 80));
  CHECK(c.addresses[0] == pp::address::v4(192, 0, 2, 9, 80));
  const auto b = enc(c);
  CHECK(same_v4_mapped(b, 28, {192, 0, 2, 9}));
  pp::connect out;
  REQUIRE_FALSE(dec(b, out));
  REQUIRE(out.addresses.size() == 1u);
  CHECK(out.addresses[0].is_v4_mapped());
  const auto back = peergraph::detail::to_endpoint(out.addresses[0]);
  CHECK(back.address().is_v4());
  CHECK(back == peergraph::endpoint(asio::ip::make_address("192.0.2.9"), 80));
  CHECK_FALSE(ep("2001:db8::1", 1).is_v4_mapped());
}

TEST_CASE("CONNECT carries at most 255 addresses", "[messages][connect]") {
  pp::connect c;
  c.source_node_id = 7;
  c.addresses = many_endpoints(300);
  c.friendly_name = "many";
  const auto b = enc(c);
  CHECK(b[9] == 255);
  pp::connect out;
  REQUIRE_FALSE(dec(b, out));
  REQUIRE(out.addresses.size() == pp::max_addresses);
  CHECK(std::equal(out.addresses.begin(), out.addresses.end(), c.addresses.begin()));
  CHECK(out.friendly_name == "many");
}

TEST_CASE("CONNECT rejections", "[messages][connect]") {
  const auto valid = enc(sample_connect());
  // two addresses at 24 and 44, "Alice\0" at 64..69
  REQUIRE(valid.size() == 70u);
  REQUIRE(get16(valid, 10) == 24u);
  REQUIRE(get16(valid, 12) == 64u);

  check_common_rejections<pp::connect>(valid, pp::message_type::connect);

  SECTION("truncations") {
    check_truncations<pp::connect>(valid, 24, [](std::size_t n) { return n == 64; });
  }

  SECTION("unknown flag bits") {
    for (std::uint8_t f : {0x08, 0x10, 0x20, 0x40, 0x80, 0x0F, 0xFF}) {
      CAPTURE(int(f));
      bytes b = valid;
      b[8] = f;
      CHECK(dec<pp::connect>(b) == error::malformed_message);
    }
    bytes b = valid;
    b[8] = 0x07;  // all three known flags
    pp::connect out;
    REQUIRE_FALSE(dec(b, out));
    CHECK(out.update);
    CHECK(out.direct);
    CHECK(out.wants_neighbors);
  }
  SECTION("bad address family") {
    for (std::size_t at : {std::size_t{24}, std::size_t{44}}) {
      for (std::uint16_t fam :
           {std::uint16_t{0x0002}, std::uint16_t{0x1700}, std::uint16_t{0x0000}, std::uint16_t{0x0018}}) {
        CAPTURE(at, fam);
        bytes b = valid;
        put16(b, at, fam);
        CHECK(dec<pp::connect>(b) == error::malformed_message);
      }
    }
  }
  SECTION("address offset inside the fixed part") {
    for (std::uint16_t off : {0, 8, 23}) {
      bytes b = valid;
      put16(b, 10, off);
      CHECK(dec<pp::connect>(b) == error::malformed_message);
    }
  }
  SECTION("address count beyond the message") {
    for (std::uint8_t n : {3, 4, 255}) {
      bytes b = valid;
      b[9] = n;
      CHECK(dec<pp::connect>(b) == error::malformed_message);
    }
  }
  SECTION("address list running past the end") {
    bytes b = valid;
    put16(b, 10, 60);  // two addresses from 60 would need 100 bytes
    CHECK(dec<pp::connect>(b) == error::malformed_message);
    put16(b, 10, 0xFFFF);
    CHECK(dec<pp::connect>(b) == error::malformed_message);
  }
  SECTION("friendly name offset out of order or out of range") {
    for (std::uint16_t off : {0, 24, 44, 63, 71, 0xFFFF}) {
      CAPTURE(off);
      bytes b = valid;
      put16(b, 12, off);
      CHECK(dec<pp::connect>(b) == error::malformed_message);
    }
  }
  SECTION("friendly name without NUL") {
    bytes b = valid;
    REQUIRE(b.back() == 0);
    b.back() = '!';
    CHECK(dec<pp::connect>(b) == error::malformed_message);
  }
}

// ====================================================================== WELCOME

TEST_CASE("WELCOME round trip", "[messages][welcome]") {
  const std::vector<pp::welcome> cases{
      sample_welcome(),
      {1, 0, {}, "", ""},
      {2, 3, {}, "peer", ""},
      {0xFFFFFFFFFFFFFFFFull, 0xFFFFFFFFFFFFFFFFull, {ep("10.1.2.3", 1)}, "p", "n"},
      {5, 6, many_endpoints(12), std::string(255, 'p'), "\xE5\x9B\xBE"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    CAPTURE(i);
    const auto b = enc(cases[i]);
    CHECK(get32(b, 0) == b.size());
    pp::welcome out;
    out.friendly_name = "stale";
    REQUIRE_FALSE(dec(b, out));
    CHECK(out == cases[i]);
  }
}

TEST_CASE("strings longer than 255 bytes are cut by the encoders", "[messages]") {
  pp::welcome w{5, 6, {}, std::string(1000, 'p'), std::string(300, 'n')};
  pp::welcome out;
  REQUIRE_FALSE(dec(enc(w), out));
  CHECK(out.peer_id == std::string(pp::max_string_size, 'p'));
  CHECK(out.friendly_name == std::string(pp::max_string_size, 'n'));
  pp::auth_info a{pp::connection_type::neighbor, std::string(70000, 'g'), std::string(70000, 's'),
                  std::string(70000, 'd')};
  pp::auth_info aout;
  REQUIRE_FALSE(dec(enc(a), aout));
  CHECK(aout.graph_id.size() == pp::max_string_size);
  CHECK(aout.source_peer_id.size() == pp::max_string_size);
  CHECK(aout.destination_peer_id->size() == pp::max_string_size);
}

TEST_CASE("WELCOME layout", "[messages][welcome]") {
  const auto w = sample_welcome();
  const auto b = enc(w);
  const std::size_t peer_off = 32 + 2 * pp::wire_address_size;  // 72
  const std::size_t name_off = peer_off + 4;                    // "bob\0"
  REQUIRE(b.size() == name_off + 11);                           // "Bob's node\0"
  CHECK(get32(b, 0) == b.size());
  CHECK(b[4] == 0x10);
  CHECK(b[5] == 0x03);
  CHECK(get64(b, 8) == w.node_id);
  CHECK(b[8] == 0x10);  // low byte first
  CHECK(get64(b, 16) == w.peer_time);
  CHECK(b[24] == 2);
  CHECK(b[25] == 0);
  CHECK(get16(b, 26) == 32u);
  CHECK(get16(b, 28) == peer_off);
  CHECK(get16(b, 30) == name_off);
  CHECK(get16(b, 32) == 0x0017);
  CHECK(b[34] == 0x0E);
  CHECK(b[35] == 0x03);
  CHECK(same_v4_mapped(b, 36, {198, 51, 100, 1}));
  CHECK(get16(b, 52) == 0x0017);
  CHECK(get16(b, 54) == 0x409C);  // port 40000 = 0x9C40 in network order
  CHECK(std::string(b.begin() + peer_off, b.begin() + peer_off + 4) == std::string("bob\0", 4));
  CHECK(b.back() == 0);
}

TEST_CASE("WELCOME without friendly name ends after the peer id", "[messages][welcome]") {
  const auto b = enc(pp::welcome{9, 0, {}, "bob", ""});
  REQUIRE(b.size() == 36u);
  CHECK(get16(b, 28) == 32u);
  CHECK(get16(b, 30) == 36u);
}

TEST_CASE("WELCOME rejections", "[messages][welcome]") {
  const auto valid = enc(sample_welcome());
  // addresses at 32 and 52, "bob\0" at 72..75, "Bob's node\0" at 76..86
  REQUIRE(valid.size() == 87u);
  REQUIRE(get16(valid, 28) == 72u);
  REQUIRE(get16(valid, 30) == 76u);

  check_common_rejections<pp::welcome>(valid, pp::message_type::welcome);

  SECTION("truncations") {
    check_truncations<pp::welcome>(valid, 32, [](std::size_t n) { return n == 76; });
  }

  SECTION("address offset inside the fixed part") {
    for (std::uint16_t off : {0, 24, 31}) {
      bytes b = valid;
      put16(b, 26, off);
      CHECK(dec<pp::welcome>(b) == error::malformed_message);
    }
  }
  SECTION("address count beyond the message") {
    bytes b = valid;
    b[24] = 5;
    CHECK(dec<pp::welcome>(b) == error::malformed_message);
  }
  SECTION("bad address family") {
    bytes b = valid;
    put16(b, 52, 0x0002);
    CHECK(dec<pp::welcome>(b) == error::malformed_message);
  }
  SECTION("offsets out of order or out of range") {
    const std::vector<std::array<std::uint16_t, 2>> bad{
        {71, 76},  // peer id inside the address list
        {52, 76},  // peer id on the second address
        {76, 76},  // peer id == friendly name
        {76, 72},  // friendly name before peer id
        {72, 88},  // friendly name past the end
        {72, 0xFFFF}, {0xFFFF, 0xFFFF},
    };
    for (const auto& o : bad) {
      CAPTURE(o[0], o[1]);
      bytes b = valid;
      put16(b, 28, o[0]);
      put16(b, 30, o[1]);
      CHECK(dec<pp::welcome>(b) == error::malformed_message);
    }
  }
  SECTION("missing NUL terminators") {
    for (std::size_t nul : {std::size_t{75}, std::size_t{86}}) {
      CAPTURE(nul);
      bytes b = valid;
      REQUIRE(b[nul] == 0);
      b[nul] = 'x';
      CHECK(dec<pp::welcome>(b) == error::malformed_message);
    }
  }
}

// ====================================================================== REFUSE / DISCONNECT

TEST_CASE("REFUSE round trip for every code", "[messages][refuse]") {
  const std::vector<std::vector<pp::address>> referral_sets{{}, {ep("203.0.113.5", 3587)}, many_endpoints(10)};
  for (auto code : {pp::refuse_code::busy, pp::refuse_code::already_connected, pp::refuse_code::duplicate_connection,
                    pp::refuse_code::direct_connection_disallowed, pp::refuse_code::connect_self}) {
    for (const auto& refs : referral_sets) {
      CAPTURE(int(code), refs.size());
      const pp::refuse r{code, refs};
      const auto b = enc(r);
      CHECK(b.size() == 12 + refs.size() * pp::wire_address_size);
      CHECK(b[8] == static_cast<std::uint8_t>(code));
      CHECK(std::size_t{b[9]} == refs.size());
      pp::refuse out;
      out.referrals = {ep("1.1.1.1", 1)};  // must be replaced
      REQUIRE_FALSE(dec(b, out));
      CHECK(out == r);
    }
  }
}

TEST_CASE("REFUSE and DISCONNECT exact bytes", "[messages][refuse][disconnect]") {
  CHECK(enc(pp::refuse{pp::refuse_code::duplicate_connection, {}}) ==
        bytes{0x0C, 0x00, 0x00, 0x00, 0x10, 0x04, 0x00, 0x00, 0x03, 0x00, 0x0C, 0x00});
  CHECK(enc(pp::refuse{pp::refuse_code::connect_self, {}}) ==
        bytes{0x0C, 0x00, 0x00, 0x00, 0x10, 0x04, 0x00, 0x00, 0x80, 0x00, 0x0C, 0x00});
  CHECK(enc(pp::disconnect{0, {}}) == bytes{0x0C, 0x00, 0x00, 0x00, 0x10, 0x05, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x00});

  const auto b = enc(pp::refuse{pp::refuse_code::busy, {ep("10.0.0.1", 0x1234)}});
  REQUIRE(b.size() == 32u);
  CHECK(get32(b, 0) == 32u);
  CHECK(b[8] == 0x01);
  CHECK(b[9] == 0x01);
  CHECK(get16(b, 10) == 12u);
  CHECK(get16(b, 12) == 0x0017);
  CHECK(b[14] == 0x12);
  CHECK(b[15] == 0x34);
  CHECK(same_v4_mapped(b, 16, {10, 0, 0, 1}));
}

TEST_CASE("DISCONNECT round trip", "[messages][disconnect]") {
  for (std::uint8_t reason : {0, 1, 0x7F, 0x80, 0xFF}) {
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{10}}) {
      CAPTURE(int(reason), n);
      const pp::disconnect d{reason, many_endpoints(n)};
      pp::disconnect out;
      REQUIRE_FALSE(dec(enc(d), out));
      CHECK(out == d);
    }
  }
}

TEST_CASE("REFUSE rejections", "[messages][refuse]") {
  const auto valid = enc(sample_refuse());
  REQUIRE(valid.size() == 52u);

  check_common_rejections<pp::refuse>(valid, pp::message_type::refuse);

  SECTION("truncations") {
    check_truncations<pp::refuse>(valid, 12, [](std::size_t) { return false; });
  }

  SECTION("bad refuse code") {
    for (int code = 0; code < 256; ++code) {
      CAPTURE(code);
      bytes b = valid;
      b[8] = static_cast<std::uint8_t>(code);
      const bool known = (code >= 1 && code <= 4) || code == 0x80;
      const auto ec = dec<pp::refuse>(b);
      if (known)
        CHECK_FALSE(ec);
      else
        CHECK(ec == error::malformed_message);
    }
  }
  SECTION("referral offset inside the fixed part") {
    for (std::uint16_t off : {0, 8, 11}) {
      bytes b = valid;
      put16(b, 10, off);
      CHECK(dec<pp::refuse>(b) == error::malformed_message);
    }
  }
  SECTION("referrals running past the end") {
    bytes b = valid;
    b[9] = 3;
    CHECK(dec<pp::refuse>(b) == error::malformed_message);
    b = valid;
    put16(b, 10, 13);
    CHECK(dec<pp::refuse>(b) == error::malformed_message);
  }
  SECTION("bad address family") {
    bytes b = valid;
    put16(b, 32, 0x0023);
    CHECK(dec<pp::refuse>(b) == error::malformed_message);
  }
}

TEST_CASE("DISCONNECT rejections", "[messages][disconnect]") {
  const auto valid = enc(sample_disconnect());
  REQUIRE(valid.size() == 32u);

  check_common_rejections<pp::disconnect>(valid, pp::message_type::disconnect);

  SECTION("truncations") {
    check_truncations<pp::disconnect>(valid, 12, [](std::size_t) { return false; });
  }

  SECTION("bad address family") {
    bytes b = valid;
    put16(b, 12, 0x0002);
    CHECK(dec<pp::disconnect>(b) == error::malformed_message);
  }
  SECTION("referral offset inside the fixed part") {
    bytes b = valid;
    put16(b, 10, 4);
    CHECK(dec<pp::disconnect>(b) == error::malformed_message);
  }
}

// ====================================================================== PT2PT

TEST_CASE("PT2PT header exact bytes", "[messages][pt2pt]") {
  bytes out;
  pp::encode_pt2pt_header(pp::ping_type, 5, out);
  const bytes expected{
      0x21,
      0x00,
      0x00,
      0x00,  // size 33 = 28 + 5
      0x10,
      0x0D,
      0x00,
      0x00,  // version, PT2PT, reserved
      0x1C,
      0x00,  // data offset 28
      0x00,
      0x00,  // reserved
      // {0ccbb0d2-be41-4bd6-914b-058ec5dcce64} as a Windows GUID in memory
      0xd2,
      0xb0,
      0xcb,
      0x0c,
      0x41,
      0xbe,
      0xd6,
      0x4b,
      0x91,
      0x4b,
      0x05,
      0x8e,
      0xc5,
      0xdc,
      0xce,
      0x64,
  };
  CHECK(out == expected);

  out.clear();
  pp::encode_pt2pt_header(data_type, 0x12345, out);
  REQUIRE(out.size() == pp::pt2pt_header_size);
  CHECK(out[0] == 0x61);  // 0x12345 + 28 = 0x12361
  CHECK(out[1] == 0x23);
  CHECK(out[2] == 0x01);
  CHECK(out[3] == 0x00);
}

TEST_CASE("PT2PT round trip", "[messages][pt2pt]") {
  for (const bytes& payload : {bytes{}, bytes{0x00}, bytes{1, 2, 3, 4, 5}, bytes(4096, 0xA5)}) {
    CAPTURE(payload.size());
    const auto b = pt2pt(data_type, payload);
    REQUIRE(b.size() == pp::pt2pt_header_size + payload.size());
    pp::pt2pt_view v;
    REQUIRE_FALSE(pp::decode(view(b), v));
    CHECK(v.type == data_type);
    CHECK(v.payload.data() == b.data() + pp::pt2pt_header_size);  // a view, not a copy
    CHECK(bytes(v.payload.begin(), v.payload.end()) == payload);
  }
}

TEST_CASE("PT2PT honors the data offset", "[messages][pt2pt]") {
  bytes b = pt2pt(data_type, {9, 8, 7, 6});
  put16(b, 8, 30);  // the payload starts two bytes later
  pp::pt2pt_view v;
  REQUIRE_FALSE(pp::decode(view(b), v));
  CHECK(bytes(v.payload.begin(), v.payload.end()) == bytes{7, 6});

  put16(b, 8, static_cast<std::uint16_t>(b.size()));  // empty payload
  REQUIRE_FALSE(pp::decode(view(b), v));
  CHECK(v.payload.empty());
}

TEST_CASE("PT2PT rejections", "[messages][pt2pt]") {
  const auto valid = pt2pt(data_type, {1, 2, 3, 4, 5});

  check_common_rejections<pp::pt2pt_view>(valid, pp::message_type::pt2pt);

  SECTION("truncations") {
    // any prefix that keeps the 28-byte header is a PT2PT with a shorter payload
    check_truncations<pp::pt2pt_view>(valid, pp::pt2pt_header_size, [](std::size_t) { return true; });
  }

  SECTION("data offset out of range") {
    for (std::uint16_t off : {0, 8, 12, 27, 34, 0xFFFF}) {
      CAPTURE(off);
      bytes b = valid;
      put16(b, 8, off);
      CHECK(dec<pp::pt2pt_view>(b) == error::malformed_message);
    }
  }
}

// ====================================================================== header

TEST_CASE("decode_header", "[messages][header]") {
  const auto b = enc(sample_refuse());
  pp::header h;
  REQUIRE_FALSE(pp::decode_header(view(b), 1024, h));
  CHECK(h.size == b.size());
  CHECK(h.version == 0x10);
  CHECK(h.type == pp::message_type::refuse);

  for (std::size_t n = 0; n < pp::header_size; ++n) {
    const bytes prefix(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK(pp::decode_header(view(prefix), 1024, h) == error::truncated_message);
  }
  CHECK(pp::decode_header(view(b), b.size(), h) == std::error_code{});
  CHECK(pp::decode_header(view(b), b.size() - 1, h) == error::message_too_large);

  for (std::uint8_t t = 0x01; t <= 0x0E; ++t) {
    bytes hb{8, 0, 0, 0, 0x10, t, 0, 0};
    REQUIRE_FALSE(pp::decode_header(view(hb), 1024, h));
    CHECK(static_cast<std::uint8_t>(h.type) == t);
    CHECK(pp::is_known_type(t));
  }
  CHECK_FALSE(pp::is_known_type(0x00));
  CHECK_FALSE(pp::is_known_type(0x0F));
}

// ====================================================================== fuzz

namespace {

/// Decodes `b` as `M`; when that succeeds, re-encoding the result must give a
/// message that decodes to the same value.
template <class M>
bool fuzz_one(const bytes& b) {
  M m;
  if (pp::decode(view(b), m)) return false;
  M again;
  const auto ec = dec(enc(m), again);
  CHECK_FALSE(ec);
  CHECK(again == m);
  return true;
}

bool fuzz_pt2pt(const bytes& b) {
  pp::pt2pt_view v;
  if (pp::decode(view(b), v)) return false;
  // The payload must lie inside the frame.
  CHECK(v.payload.data() >= b.data());
  CHECK(v.payload.data() + v.payload.size() == b.data() + b.size());
  return true;
}

/// Applies one to four random edits. No expression draws from `rng` twice in
/// unsequenced operands, so every compiler sees the same mutation stream.
bytes mutate(const bytes& base, std::mt19937& rng) {
  bytes b = base;
  const auto pick = [&rng](std::size_t n) { return n == 0 ? std::size_t{0} : std::size_t{rng() % n}; };
  const auto ops = 1 + rng() % 4;
  for (std::uint32_t i = 0; i < ops; ++i) {
    switch (rng() % 7) {
      case 0:  // random byte
        if (!b.empty()) {
          const auto at = pick(b.size());
          b[at] = static_cast<std::uint8_t>(rng());
        }
        break;
      case 1:  // flip one bit
        if (!b.empty()) {
          const auto at = pick(b.size());
          b[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        }
        break;
      case 2:  // plausible 16-bit value (offset, family) in the fixed part
        if (b.size() >= 10) {
          const auto at = 8 + pick(std::min<std::size_t>(b.size(), 32) - 9);
          const auto v = static_cast<std::uint16_t>(pick(b.size() + 8));
          b[at] = static_cast<std::uint8_t>(v);
          b[at + 1] = static_cast<std::uint8_t>(v >> 8);
        }
        break;
      case 3:  // truncate
        b.resize(pick(b.size() + 1));
        break;
      case 4:  // append
        for (auto n = 1 + rng() % 8; n > 0; --n) b.push_back(static_cast<std::uint8_t>(rng()));
        break;
      case 5: {  // insert a byte
        const auto at = static_cast<std::ptrdiff_t>(pick(b.size() + 1));
        const auto v = static_cast<std::uint8_t>(rng());
        b.insert(b.begin() + at, v);
        break;
      }
      case 6:  // delete a byte
        if (!b.empty()) b.erase(b.begin() + static_cast<std::ptrdiff_t>(pick(b.size())));
        break;
    }
  }
  // Usually keep the size field consistent so the decoders get past it.
  if (b.size() >= 4 && rng() % 4 != 0) fix_size(b);
  return b;
}

}  // namespace

TEST_CASE("mutated messages never crash a decoder", "[messages][fuzz]") {
  const std::vector<bytes> corpus{
      enc(sample_auth()),       enc(pp::auth_info{pp::connection_type::neighbor, "g", "s", std::nullopt}),
      enc(sample_connect()),    enc(pp::connect{false, true, false, 42, {}, ""}),
      enc(sample_welcome()),    enc(pp::welcome{1, 2, {}, "p", ""}),
      enc(sample_refuse()),     enc(pp::refuse{pp::refuse_code::connect_self, {}}),
      enc(sample_disconnect()), pt2pt(data_type, {1, 2, 3, 4, 5, 6, 7, 8}),
      pt2pt(pp::ping_type, {}),
  };

  std::mt19937 rng(0x5EED1234u);
  std::array<int, 6> accepted{};
  int rejected_everywhere = 0;
  constexpr int iterations = 4000;
  for (int i = 0; i < iterations; ++i) {
    const auto& base = corpus[rng() % corpus.size()];
    const bytes mutated = mutate(base, rng);
    const bytes b(mutated.begin(), mutated.end());  // exactly sized: ASan sees overreads

    const std::array<bool, 6> ok{fuzz_one<pp::auth_info>(b), fuzz_one<pp::connect>(b),    fuzz_one<pp::welcome>(b),
                                 fuzz_one<pp::refuse>(b),    fuzz_one<pp::disconnect>(b), fuzz_pt2pt(b)};
    bool any = false;
    for (std::size_t k = 0; k < ok.size(); ++k) {
      if (ok[k]) ++accepted[k];
      any = any || ok[k];
    }
    if (!any) ++rejected_everywhere;

    // The framer must agree with the decoders about what a complete frame is.
    const auto f = pp::next_frame(view(b), 1 << 16);
    if (any) {
      CHECK(f.status == pp::frame_result::complete);
      CHECK(f.h.size == b.size());
    }
  }
  // The mutations reach past the header checks of every decoder, and break messages too.
  for (std::size_t k = 0; k < accepted.size(); ++k) {
    CAPTURE(k);
    CHECK(accepted[k] > 0);
  }
  CHECK(rejected_everywhere > 0);
}
