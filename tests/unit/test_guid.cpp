// Unit tests for peergraph/guid.hpp.
#include <peergraph/guid.hpp>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <unordered_set>

using peergraph::guid;

namespace {

constexpr const char* ping_text = "0ccbb0d2-be41-4bd6-914b-058ec5dcce64";

// Textual order, left to right.
constexpr guid::bytes_type ping_canonical{0x0c, 0xcb, 0xb0, 0xd2, 0xbe, 0x41, 0x4b, 0xd6,
                                          0x91, 0x4b, 0x05, 0x8e, 0xc5, 0xdc, 0xce, 0x64};
// A Windows GUID in memory: Data1 (4), Data2 (2), Data3 (2) little-endian, then Data4 as is.
constexpr guid::bytes_type ping_windows{0xd2, 0xb0, 0xcb, 0x0c, 0x41, 0xbe, 0xd6, 0x4b,
                                        0x91, 0x4b, 0x05, 0x8e, 0xc5, 0xdc, 0xce, 0x64};

guid must_parse(const char* s) {
  const auto g = guid::parse(s);
  REQUIRE(g.has_value());
  return *g;
}

}  // namespace

// constexpr parsing, checked at compile time.
static_assert(guid::parse("{0ccbb0d2-be41-4bd6-914b-058ec5dcce64}").has_value());
static_assert(guid::parse("0CCBB0D2-BE41-4BD6-914B-058EC5DCCE64")->bytes()[0] == 0x0c);
static_assert(*guid::parse("0ccbb0d2-be41-4bd6-914b-058ec5dcce64") ==
              guid::from_fields(0x0ccbb0d2, 0xbe41, 0x4bd6, {0x91, 0x4b, 0x05, 0x8e, 0xc5, 0xdc, 0xce, 0x64}));
static_assert(!guid::parse("0ccbb0d2-be41-4bd6-914b-058ec5dcce6").has_value());
static_assert(!guid::parse("not a guid").has_value());
static_assert(guid{}.is_nil());
static_assert(guid::parse("00000000-0000-0000-0000-000000000000")->is_nil());
static_assert(guid::from_windows_bytes(ping_windows).bytes() == ping_canonical);

TEST_CASE("parse with and without braces, either case", "[guid]") {
  const guid expected(ping_canonical);
  CHECK(must_parse("0ccbb0d2-be41-4bd6-914b-058ec5dcce64") == expected);
  CHECK(must_parse("{0ccbb0d2-be41-4bd6-914b-058ec5dcce64}") == expected);
  CHECK(must_parse("0CCBB0D2-BE41-4BD6-914B-058EC5DCCE64") == expected);
  CHECK(must_parse("{0CCBB0D2-BE41-4BD6-914B-058EC5DCCE64}") == expected);
  CHECK(must_parse("0cCbB0d2-Be41-4bD6-914b-058Ec5DcCe64") == expected);
  CHECK(must_parse(ping_text).bytes() == ping_canonical);
  CHECK(
      must_parse("ffffffff-ffff-ffff-ffff-ffffffffffff").bytes() ==
      guid::bytes_type{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  CHECK_FALSE(must_parse(ping_text).is_nil());
}

TEST_CASE("parse rejects malformed text", "[guid]") {
  const char* bad[] = {
      "",
      "{}",
      "0ccbb0d2-be41-4bd6-914b-058ec5dcce6",     // 35 characters
      "0ccbb0d2-be41-4bd6-914b-058ec5dcce645",   // 37 characters
      "{0ccbb0d2-be41-4bd6-914b-058ec5dcce64",   // missing closing brace
      "0ccbb0d2-be41-4bd6-914b-058ec5dcce64}",   // missing opening brace
      "(0ccbb0d2-be41-4bd6-914b-058ec5dcce64)",  // wrong brackets
      "}0ccbb0d2-be41-4bd6-914b-058ec5dcce64{",  // braces swapped
      "{{0ccbb0d2-be41-4bd6-914b-058ec5dcce64}}",
      "0ccbb0d2be41-4bd6-914b-058ec5dcce64a",  // missing first dash (still 36 long)
      "0ccbb0d2-be414bd6-914b-058ec5dcce64a",  // missing second dash
      "0ccbb0d2-be41-4bd6914b-058ec5dcce64a",  // missing third dash
      "0ccbb0d2-be41-4bd6-914b0058ec5dcce64",  // missing fourth dash
      "0ccbb0d-2be41-4bd6-914b-058ec5dcce64",  // dash in the wrong place
      "0ccbb0d2_be41_4bd6_914b_058ec5dcce64",  // wrong separators
      "0ccbb0g2-be41-4bd6-914b-058ec5dcce64",  // bad hex digit
      "0ccbb0d2-be41-4bd6-914b-058ec5dcce6z",  // bad hex digit at the end
      "0ccbb0d2-be41-4bd6-914b-058ec5dcce-4",  // dash where a digit belongs
      " ccbb0d2-be41-4bd6-914b-058ec5dcce64",  // space
      "+ccbb0d2-be41-4bd6-914b-058ec5dcce64",  // sign
      "0xcbb0d2-be41-4bd6-914b-058ec5dcce64",  // hex prefix
  };
  for (const char* s : bad) {
    CAPTURE(s);
    CHECK_FALSE(guid::parse(s).has_value());
  }
  // A NUL inside an otherwise well-formed text is not a hex digit either.
  std::string with_nul(ping_text);
  with_nul[3] = '\0';
  CHECK_FALSE(guid::parse(with_nul).has_value());
}

TEST_CASE("to_string is lower case without braces", "[guid]") {
  CHECK(must_parse("{0CCBB0D2-BE41-4BD6-914B-058EC5DCCE64}").to_string() == ping_text);
  CHECK(guid{}.to_string() == "00000000-0000-0000-0000-000000000000");
  const auto g = must_parse("01234567-89ab-cdef-0123-456789abcdef");
  CHECK(g.to_string() == "01234567-89ab-cdef-0123-456789abcdef");
  CHECK(must_parse(g.to_string().c_str()) == g);
}

TEST_CASE("fmt formatting", "[guid]") {
  const guid g(ping_canonical);
  CHECK(fmt::format("{}", g) == "0ccbb0d2-be41-4bd6-914b-058ec5dcce64");
  CHECK(fmt::format("{:B}", g) == "{0CCBB0D2-BE41-4BD6-914B-058EC5DCCE64}");
  CHECK(fmt::format("[{}|{:B}]", guid{}, guid{}) ==
        "[00000000-0000-0000-0000-000000000000|{00000000-0000-0000-0000-000000000000}]");
  CHECK_THROWS_AS(fmt::format(fmt::runtime("{:x}"), g), fmt::format_error);
  CHECK_THROWS_AS(fmt::format(fmt::runtime("{:Bx}"), g), fmt::format_error);
}

TEST_CASE("from_fields equals parse of the same text", "[guid]") {
  const auto a = guid::from_fields(0x0ccbb0d2, 0xbe41, 0x4bd6, {0x91, 0x4b, 0x05, 0x8e, 0xc5, 0xdc, 0xce, 0x64});
  CHECK(a == must_parse(ping_text));
  CHECK(a.bytes() == ping_canonical);

  const auto b = guid::from_fields(0x12345678, 0x9abc, 0xdef0, {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef});
  CHECK(b == must_parse("12345678-9abc-def0-0123-456789abcdef"));
  CHECK(b.to_string() == "12345678-9abc-def0-0123-456789abcdef");
}

TEST_CASE("Windows byte layout", "[guid]") {
  const auto g = must_parse(ping_text);
  CHECK(g.to_windows_bytes() == ping_windows);
  CHECK(guid::from_windows_bytes(ping_windows) == g);
  CHECK(guid::from_windows_bytes(g.to_windows_bytes()) == g);

  const auto h = must_parse("12345678-9abc-def0-0123-456789abcdef");
  const guid::bytes_type h_windows{0x78, 0x56, 0x34, 0x12, 0xbc, 0x9a, 0xf0, 0xde,
                                   0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
  CHECK(h.to_windows_bytes() == h_windows);
  CHECK(guid::from_windows_bytes(h_windows) == h);
}

TEST_CASE("ordering follows the printed form", "[guid]") {
  const auto a = must_parse("00000001-0000-0000-0000-000000000000");
  const auto b = must_parse("00000100-0000-0000-0000-000000000000");  // bigger Data1, smaller first byte in memory
  const auto c = must_parse("10000000-0000-0000-0000-000000000000");
  const auto d = must_parse("10000000-0000-0000-0000-000000000001");
  CHECK(guid{} < a);
  CHECK(a < b);
  CHECK(b < c);
  CHECK(c < d);
  CHECK(d > a);
  CHECK(a <= a);
  CHECK(a != b);
  CHECK((a <=> a) == std::strong_ordering::equal);
  CHECK((b <=> a) == std::strong_ordering::greater);

  // Sorting by value equals sorting by text.
  const std::set<guid> sorted{d, b, guid{}, c, a};
  std::string joined;
  for (const auto& g : sorted) joined += g.to_string() + ' ';
  CHECK(joined ==
        "00000000-0000-0000-0000-000000000000 00000001-0000-0000-0000-000000000000 "
        "00000100-0000-0000-0000-000000000000 10000000-0000-0000-0000-000000000000 "
        "10000000-0000-0000-0000-000000000001 ");
}

TEST_CASE("std::hash makes guid usable in unordered containers", "[guid]") {
  const auto a = must_parse(ping_text);
  const auto a_upper = must_parse("{0CCBB0D2-BE41-4BD6-914B-058EC5DCCE64}");
  const auto b = must_parse("0ccbb0d2-be41-4bd6-914b-058ec5dcce65");
  CHECK(std::hash<guid>{}(a) == std::hash<guid>{}(a_upper));
  CHECK(std::hash<guid>{}(a) != std::hash<guid>{}(b));

  std::unordered_set<guid> set;
  CHECK(set.insert(a).second);
  CHECK_FALSE(set.insert(a_upper).second);
  CHECK(set.insert(b).second);
  CHECK(set.insert(guid{}).second);
  CHECK(set.size() == 3u);
  CHECK(set.count(must_parse(ping_text)) == 1u);
  CHECK(set.count(must_parse("ffffffff-ffff-ffff-ffff-ffffffffffff")) == 0u);

  // Many distinct values stay distinct.
  std::unordered_set<guid> many;
  for (std::uint32_t i = 0; i < 1000; ++i)
    many.insert(guid::from_fields(i, static_cast<std::uint16_t>(i * 7), 0, {0, 0, 0, 0, 0, 0, 0, 0}));
  CHECK(many.size() == 1000u);
}
