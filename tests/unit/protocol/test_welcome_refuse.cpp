// Unit tests for the WELCOME, REFUSE and DISCONNECT encoders and decoders (protocol/):
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
