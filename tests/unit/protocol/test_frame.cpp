// Unit tests for peergraph/protocol/frame.hpp: splitting a byte stream into frames.
#include "support/bytes.hpp"
#include <peergraph/protocol/frame.hpp>
#include <peergraph/protocol/messages.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace pp = peergraph::protocol;
using pp::error;
using pp::frame_result;
using pp::next_frame;

using namespace pgtest;

namespace {

constexpr std::size_t max_size = 4096;

bytes header_bytes(std::uint32_t size, std::uint8_t version, std::uint8_t type) {
  return {static_cast<std::uint8_t>(size),
          static_cast<std::uint8_t>(size >> 8),
          static_cast<std::uint8_t>(size >> 16),
          static_cast<std::uint8_t>(size >> 24),
          version,
          type,
          0,
          0};
}

bytes sample_welcome() {
  bytes out;
  pp::encode(pp::welcome{0x1234, 99, {}, "peer", "Friendly"}, out);
  return out;
}

}  // namespace

TEST_CASE("next_frame with fewer than 8 bytes needs more, header unknown", "[frame]") {
  const auto msg = sample_welcome();
  for (std::size_t n = 0; n < pp::header_size; ++n) {
    CAPTURE(n);
    const bytes prefix(msg.begin(), msg.begin() + static_cast<std::ptrdiff_t>(n));  // exact size
    const auto r = next_frame(view(prefix), max_size);
    CHECK(r.status == frame_result::need_more);
    CHECK_FALSE(r.header_known);
    CHECK_FALSE(r.ec);
  }
  // Even a garbage prefix is not judged before the header is complete.
  const bytes garbage{0xFF, 0xFF, 0xFF, 0xFF, 0x99, 0xEE, 0xDD};
  const auto r = next_frame(view(garbage), max_size);
  CHECK(r.status == frame_result::need_more);
  CHECK_FALSE(r.header_known);
}

TEST_CASE("next_frame with a partial frame knows its size", "[frame]") {
  const auto msg = sample_welcome();
  REQUIRE(msg.size() > pp::header_size);
  for (std::size_t n = pp::header_size; n < msg.size(); ++n) {
    CAPTURE(n);
    const bytes prefix(msg.begin(), msg.begin() + static_cast<std::ptrdiff_t>(n));  // exact size
    const auto r = next_frame(view(prefix), max_size);
    CHECK(r.status == frame_result::need_more);
    CHECK(r.header_known);
    CHECK(r.h.size == msg.size());
    CHECK(r.h.type == pp::message_type::welcome);
    CHECK_FALSE(r.ec);
  }
}

TEST_CASE("next_frame with a complete frame", "[frame]") {
  const auto msg = sample_welcome();
  const auto r = next_frame(view(msg), max_size);
  CHECK(r.status == frame_result::complete);
  CHECK(r.header_known);
  CHECK(r.h.size == msg.size());
  CHECK(r.h.version == pp::protocol_version);
  CHECK(r.h.type == pp::message_type::welcome);
  CHECK_FALSE(r.ec);

  // A frame that is only a header (SYNC_END carries nothing else).
  const auto hdr = header_bytes(8, 0x10, 0x0C);
  const auto r2 = next_frame(view(hdr), max_size);
  CHECK(r2.status == frame_result::complete);
  CHECK(r2.h.size == 8u);
  CHECK(r2.h.type == pp::message_type::sync_end);
}

TEST_CASE("next_frame with two frames back to back", "[frame]") {
  bytes stream;
  pp::encode(pp::refuse{pp::refuse_code::busy, {}}, stream);
  const auto first_size = stream.size();
  pp::encode(pp::disconnect{0, {}}, stream);
  const auto second_size = stream.size() - first_size;

  std::span<const std::uint8_t> rest = view(stream);
  auto r = next_frame(rest, max_size);
  REQUIRE(r.status == frame_result::complete);
  CHECK(r.h.size == first_size);  // only the first frame, not the whole buffer
  CHECK(r.h.type == pp::message_type::refuse);
  rest = rest.subspan(r.h.size);

  r = next_frame(rest, max_size);
  REQUIRE(r.status == frame_result::complete);
  CHECK(r.h.size == second_size);
  CHECK(r.h.type == pp::message_type::disconnect);
  rest = rest.subspan(r.h.size);
  CHECK(rest.empty());

  r = next_frame(rest, max_size);
  CHECK(r.status == frame_result::need_more);
  CHECK_FALSE(r.header_known);

  // A complete frame followed by part of the next one.
  const std::span<const std::uint8_t> partial = view(stream, first_size + 3);
  r = next_frame(partial, max_size);
  REQUIRE(r.status == frame_result::complete);
  CHECK(r.h.size == first_size);
  r = next_frame(partial.subspan(r.h.size), max_size);
  CHECK(r.status == frame_result::need_more);
  CHECK_FALSE(r.header_known);
}

TEST_CASE("next_frame rejects a size below the header", "[frame]") {
  for (std::uint32_t s = 0; s < pp::header_size; ++s) {
    CAPTURE(s);
    const auto hdr = header_bytes(s, 0x10, 0x01);
    const auto r = next_frame(view(hdr), max_size);
    CHECK(r.status == frame_result::invalid);
    CHECK(r.ec == error::malformed_message);
    CHECK_FALSE(r.header_known);
  }
}

TEST_CASE("next_frame rejects a size above the maximum before the body arrives", "[frame]") {
  for (std::uint32_t s : {static_cast<std::uint32_t>(max_size + 1), 0x00100000u, 0xFFFFFFFFu}) {
    CAPTURE(s);
    const auto hdr = header_bytes(s, 0x10, 0x0D);  // only the 8 header bytes are there
    const auto r = next_frame(view(hdr), max_size);
    CHECK(r.status == frame_result::invalid);
    CHECK(r.ec == error::message_too_large);
    CHECK_FALSE(r.header_known);
  }
  // Exactly the maximum is fine.
  const auto hdr = header_bytes(static_cast<std::uint32_t>(max_size), 0x10, 0x0D);
  const auto r = next_frame(view(hdr), max_size);
  CHECK(r.status == frame_result::need_more);
  CHECK(r.header_known);
  CHECK(r.h.size == max_size);
}

TEST_CASE("next_frame rejects a bad version", "[frame]") {
  for (std::uint8_t v : {0x00, 0x01, 0x0F, 0x11, 0xFF}) {
    CAPTURE(int(v));
    const auto hdr = header_bytes(8, v, 0x0C);
    const auto r = next_frame(view(hdr), max_size);
    CHECK(r.status == frame_result::invalid);
    CHECK(r.ec == error::bad_version);
  }
}

TEST_CASE("next_frame rejects an unknown type", "[frame]") {
  for (std::uint8_t t : {0x00, 0x0F, 0x10, 0x7F, 0xFF}) {
    CAPTURE(int(t));
    const auto hdr = header_bytes(8, 0x10, t);
    const auto r = next_frame(view(hdr), max_size);
    CHECK(r.status == frame_result::invalid);
    CHECK(r.ec == error::unknown_message_type);
  }
  for (std::uint8_t t = 0x01; t <= 0x0E; ++t) {
    CAPTURE(int(t));
    const auto hdr = header_bytes(8, 0x10, t);
    const auto r = next_frame(view(hdr), max_size);
    CHECK(r.status == frame_result::complete);
    CHECK(static_cast<int>(r.h.type) == t);
  }
}

TEST_CASE("next_frame does not look at the body", "[frame]") {
  // A header announcing 12 bytes followed by 4 arbitrary bytes is a complete
  // frame as far as framing goes; judging the body is the decoder's job.
  auto b = header_bytes(12, 0x10, 0x04);
  b.insert(b.end(), {0xFF, 0xFF, 0xFF, 0xFF});
  const auto r = next_frame(view(b), max_size);
  CHECK(r.status == frame_result::complete);
  CHECK(r.h.size == 12u);
}
