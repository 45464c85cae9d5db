// Unit tests for the AUTH_INFO and CONNECT encoders and decoders (protocol/):
// exact wire layout, round trips and rejection of malformed input.
#include "support/messages.hpp"

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

using namespace pgtest;
using namespace pgtest::messages;

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

TEST_CASE("CONNECT and WELCOME refuse strings longer than any encoder writes", "[messages][connect]") {
  // Found by tests/fuzz/fuzz_messages: a 258-byte friendly name decoded, and
  // encoding the result gave another message (strings are at most 255 bytes).
  pp::connect c;
  c.friendly_name = std::string(255, 'n');
  auto b = enc(c);
  pp::connect out;
  REQUIRE_FALSE(dec(b, out));
  CHECK(out == c);
  b.insert(b.end() - 1, {'x', 'y', 'z'});  // before the NUL: 258 bytes
  put32(b, 0, static_cast<std::uint32_t>(b.size()));
  CHECK(dec(b, out) == error::malformed_message);

  pp::welcome w;
  w.node_id = 1;
  w.peer_id = "alice";
  w.friendly_name = std::string(255, 'n');
  auto wb = enc(w);
  pp::welcome wout;
  REQUIRE_FALSE(dec(wb, wout));
  wb.insert(wb.end() - 1, 'x');
  put32(wb, 0, static_cast<std::uint32_t>(wb.size()));
  CHECK(dec(wb, wout) == error::malformed_message);
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
