// Unit tests for the PT2PT, the PEER_MESSAGE header, and mutated messages of every kind encoders and decoders
// (protocol/): exact wire layout, round trips and rejection of malformed input.
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

TEST_CASE("PT2PT: the receive path's decode agrees with the full one on framed input", "[messages][pt2pt]") {
  // decode_checked() skips the header checks next_frame() has made; on any
  // frame next_frame() accepts as PT2PT it must give decode()'s answer.
  std::mt19937 rng(0xC0FFEEu);
  const auto base = pt2pt(data_type, {1, 2, 3, 4, 5, 6, 7, 8});
  int compared = 0;
  for (int i = 0; i < 3000; ++i) {
    bytes b = base;
    // Mostly the data offset and the type, now and then anything.
    const auto at = rng() % 3 == 0 ? rng() % b.size() : 8 + rng() % 20;
    b[at] = static_cast<std::uint8_t>(rng());
    const auto f = pp::next_frame(view(b), 1 << 16);
    if (f.status != pp::frame_result::complete || f.h.type != pp::message_type::pt2pt) continue;
    const auto frame = view(b).first(f.h.size);
    pp::pt2pt_view full, fast;
    const auto e1 = pp::decode(frame, full);
    const auto e2 = pp::decode_checked(frame, fast);
    REQUIRE(e1 == e2);
    if (!e1) {
      CHECK(full.type == fast.type);
      CHECK(full.payload.data() == fast.payload.data());
      CHECK(full.payload.size() == fast.payload.size());
    }
    ++compared;
  }
  CHECK(compared > 1000);
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
