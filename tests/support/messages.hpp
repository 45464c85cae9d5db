// Test support for the protocol message tests: encoding and decoding
// helpers, sample messages, and the rejections every decoder must make.
#ifndef PEERGRAPH_TESTS_SUPPORT_MESSAGES_HPP
#define PEERGRAPH_TESTS_SUPPORT_MESSAGES_HPP

#include "support/bytes.hpp"
#include <peergraph/detail/addresses.hpp>
#include <peergraph/protocol/frame.hpp>
#include <peergraph/protocol/messages.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

namespace pgtest::messages {

namespace pp = peergraph::protocol;
using peergraph::guid;
using pp::error;

inline const auto ep = wire_address;

/// Makes the size field agree with the buffer again after an edit.
inline void fix_size(bytes& b) { put32(b, 0, static_cast<std::uint32_t>(b.size())); }

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

inline bytes pt2pt(const guid& type, const bytes& payload) {
  bytes out;
  pp::encode_pt2pt_header(type, payload.size(), out);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

inline bool same_v4_mapped(const bytes& b, std::size_t at, std::array<std::uint8_t, 4> v4) {
  for (std::size_t i = 0; i < 10; ++i)
    if (b.at(at + i) != 0) return false;
  return b.at(at + 10) == 0xFF && b.at(at + 11) == 0xFF && b.at(at + 12) == v4[0] && b.at(at + 13) == v4[1] &&
         b.at(at + 14) == v4[2] && b.at(at + 15) == v4[3];
}

inline const guid data_type =
    guid::from_fields(0x12345678, 0x9abc, 0xdef0, {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef});

inline pp::auth_info sample_auth() {
  return {pp::connection_type::direct, "graph-id", "alice@example", std::string("bob")};
}
inline pp::connect sample_connect() {
  pp::connect c;
  c.update = true;
  c.wants_neighbors = true;
  c.source_node_id = 0x0123456789ABCDEFull;
  c.addresses = {ep("192.0.2.7", 3587), ep("2001:db8::1", 3588)};
  c.friendly_name = "Alice";
  return c;
}
inline pp::welcome sample_welcome() {
  return {0xFEDCBA9876543210ull,
          0x01D9A1B2C3D4E5F6ull,
          {ep("198.51.100.1", 3587), ep("2001:db8::5", 40000)},
          "bob",
          "Bob's node"};
}
inline pp::refuse sample_refuse() {
  return {pp::refuse_code::busy, {ep("203.0.113.5", 3587), ep("2001:db8::2", 3587)}};
}
inline pp::disconnect sample_disconnect() { return {3, {ep("203.0.113.9", 1)}}; }

inline std::vector<pp::address> many_endpoints(std::size_t n) {
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

}  // namespace pgtest::messages

#endif  // PEERGRAPH_TESTS_SUPPORT_MESSAGES_HPP
