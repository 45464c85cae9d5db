// Unit tests for peergraph/protocol/wire.hpp: the little-endian writer and the
// bounds-checked reader.
#include <peergraph/protocol/wire.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

using peergraph::protocol::read_cstring;
using peergraph::protocol::reader;
using peergraph::protocol::writer;

namespace {
using bytes = std::vector<std::uint8_t>;

std::span<const std::uint8_t> view(const bytes& b) { return {b.data(), b.size()}; }
}  // namespace

TEST_CASE("writer emits integers little-endian", "[wire]") {
  bytes out;
  writer w(out);
  w.u8(0xAB);
  w.u16(0x1234);
  w.u32(0xDEADBEEF);
  w.u64(0x0102030405060708ull);
  const bytes expected{0xAB,                                             // u8
                       0x34, 0x12,                                       // u16
                       0xEF, 0xBE, 0xAD, 0xDE,                           // u32
                       0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};  // u64
  CHECK(out == expected);
  CHECK(w.size() == expected.size());
}

TEST_CASE("writer u16_be emits network order", "[wire]") {
  bytes out;
  writer w(out);
  w.u16_be(0x0E03);  // 3587
  CHECK(out == bytes{0x0E, 0x03});
}

TEST_CASE("writer bytes, zeros and cstring", "[wire]") {
  bytes out;
  writer w(out);
  const bytes raw{1, 2, 3};
  w.bytes(view(raw));
  w.zeros(2);
  w.cstring("hi");
  w.cstring("");
  CHECK(out == bytes{1, 2, 3, 0, 0, 'h', 'i', 0, 0});
}

TEST_CASE("writer size and patches are relative to where the writer started", "[wire]") {
  bytes out{0xFF, 0xFF, 0xFF};  // earlier content that must stay untouched
  writer w(out);
  CHECK(w.size() == 0u);
  w.u32(0);
  w.u16(0);
  CHECK(w.size() == 6u);
  w.patch_u32(0, 0x11223344);
  w.patch_u16(4, 0xA1B2);
  CHECK(out == bytes{0xFF, 0xFF, 0xFF, 0x44, 0x33, 0x22, 0x11, 0xB2, 0xA1});
}

TEST_CASE("reader round-trips what writer wrote", "[wire]") {
  bytes out;
  writer w(out);
  w.u8(0x7F);
  w.u16(0xFFFE);
  w.u32(0x80000001u);
  w.u64(0xFEDCBA9876543210ull);
  w.u16_be(0xBEEF);
  w.cstring("abc");

  reader r(view(out));
  CHECK(r.remaining() == out.size());
  CHECK(r.u8() == 0x7F);
  CHECK(r.u16() == 0xFFFE);
  CHECK(r.u32() == 0x80000001u);
  CHECK(r.u64() == 0xFEDCBA9876543210ull);
  CHECK(r.u16_be() == 0xBEEF);
  const auto s = r.bytes(4);
  REQUIRE(s.size() == 4u);
  CHECK(s[0] == 'a');
  CHECK(s[3] == 0);
  CHECK(r.ok());
  CHECK(r.remaining() == 0u);
  CHECK(r.position() == out.size());
}

TEST_CASE("reader decodes little-endian from fixed bytes", "[wire]") {
  const bytes in{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
  {
    reader r(view(in));
    CHECK(r.u16() == 0x0201);
    CHECK(r.u16_be() == 0x0304);
    CHECK(r.u32() == 0x08070605u);
  }
  {
    reader r(view(in));
    CHECK(r.u64() == 0x0807060504030201ull);
  }
}

TEST_CASE("a read past the end fails and poisons the reader", "[wire]") {
  const bytes in{0x11, 0x22, 0x33};

  SECTION("u32 on three bytes") {
    reader r(view(in));
    CHECK(r.u32() == 0u);
    CHECK_FALSE(r.ok());
    CHECK(r.position() == 0u);
    CHECK(r.remaining() == 0u);
    // Bytes are still there, but the reader stays failed.
    CHECK(r.u8() == 0u);
    CHECK(r.bytes(1).empty());
    CHECK_FALSE(r.ok());
  }
  SECTION("u16 then u16") {
    reader r(view(in));
    CHECK(r.u16() == 0x2211);
    CHECK(r.ok());
    CHECK(r.remaining() == 1u);
    CHECK(r.u16() == 0u);
    CHECK_FALSE(r.ok());
    CHECK(r.u8() == 0u);  // one byte left, still refused
    CHECK(r.position() == 2u);
  }
  SECTION("u16_be past the end") {
    reader r(view(in));
    r.skip(2);
    CHECK(r.ok());
    CHECK(r.u16_be() == 0u);
    CHECK_FALSE(r.ok());
  }
  SECTION("u64 past the end") {
    reader r(view(in));
    CHECK(r.u64() == 0u);
    CHECK_FALSE(r.ok());
  }
  SECTION("bytes past the end") {
    reader r(view(in));
    CHECK(r.bytes(4).empty());
    CHECK_FALSE(r.ok());
    CHECK(r.bytes(0).empty());
    CHECK_FALSE(r.ok());
  }
  SECTION("skip past the end") {
    reader r(view(in));
    r.skip(4);
    CHECK_FALSE(r.ok());
    CHECK(r.u8() == 0u);
  }
  SECTION("huge length does not wrap around") {
    reader r(view(in));
    r.skip(1);
    CHECK(r.bytes(SIZE_MAX).empty());
    CHECK_FALSE(r.ok());
  }
}

TEST_CASE("reader at the exact end", "[wire]") {
  const bytes in{0xAA, 0xBB};
  reader r(view(in));
  CHECK(r.u16() == 0xBBAA);
  CHECK(r.ok());
  CHECK(r.bytes(0).empty());
  CHECK(r.ok());  // a zero-length read at the end is fine
  CHECK(r.u8() == 0u);
  CHECK_FALSE(r.ok());
}

TEST_CASE("reader on an empty span", "[wire]") {
  reader r(std::span<const std::uint8_t>{});
  CHECK(r.ok());
  CHECK(r.remaining() == 0u);
  CHECK(r.u8() == 0u);
  CHECK_FALSE(r.ok());
}

TEST_CASE("read_cstring", "[wire]") {
  //                 0    1    2   3    4    5    6   7
  const bytes msg{'a', 'b', 0, 'c', 'd', 'e', 0, 'x'};
  std::string s = "unchanged";

  SECTION("string ending exactly at end") {
    REQUIRE(read_cstring(view(msg), 0, 3, s));
    CHECK(s == "ab");
    REQUIRE(read_cstring(view(msg), 3, 7, s));
    CHECK(s == "cde");
  }
  SECTION("string ending before end stops at the first NUL") {
    REQUIRE(read_cstring(view(msg), 0, 8, s));
    CHECK(s == "ab");
    REQUIRE(read_cstring(view(msg), 1, 8, s));
    CHECK(s == "b");
  }
  SECTION("empty string") {
    REQUIRE(read_cstring(view(msg), 2, 3, s));
    CHECK(s.empty());
  }
  SECTION("ranges that hold no complete string are refused and change nothing") {
    struct range {
      const char* why;
      std::size_t offset, end;
    };
    const range refused[] = {
        {"NUL just past end", 0, 2},    {"NUL just past end", 3, 6},    {"no NUL before the end", 7, 8},
        {"empty range", 0, 0},          {"empty range", 3, 3},          {"empty range", 8, 8},
        {"offset after end", 4, 3},     {"end past the message", 0, 9}, {"end past the message", 9, 9},
        {"end past the message", 8, 9},
    };
    for (const auto& r : refused) {
      INFO(r.why << ": [" << r.offset << ", " << r.end << ")");
      CHECK_FALSE(read_cstring(view(msg), r.offset, r.end, s));
    }
    CHECK_FALSE(read_cstring(std::span<const std::uint8_t>{}, 0, 0, s));
    CHECK_FALSE(read_cstring(std::span<const std::uint8_t>{}, 0, 1, s));
    CHECK(s == "unchanged");
  }
  SECTION("UTF-8 bytes pass through unchanged") {
    const std::string text = "Zo\xC3\xAB";
    bytes m(text.begin(), text.end());
    m.push_back(0);
    REQUIRE(read_cstring(view(m), 0, m.size(), s));
    CHECK(s == text);
  }
}
