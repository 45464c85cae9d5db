// peergraph/guid.hpp: a 128-bit GUID as a regular value type.
#ifndef PEERGRAPH_GUID_HPP
#define PEERGRAPH_GUID_HPP

#include <peergraph/config.hpp>

#include <fmt/format.h>

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace peergraph {

/// A GUID such as the data type of a message or a record type.
///
/// Stored as the 16 bytes of its textual form read left to right, so ordering
/// and hashing agree with the printed value. `to_windows_bytes()` gives the
/// in-memory layout of a Windows `GUID` (Data1..Data3 little-endian), which is
/// also what the wire protocol carries.
///
/// Thread safety: a plain value; distinct objects safe, shared objects safe for reading.
class guid {
 public:
  using bytes_type = std::array<std::uint8_t, 16>;

  /// The nil GUID {00000000-0000-0000-0000-000000000000}.
  constexpr guid() noexcept = default;
  constexpr explicit guid(const bytes_type& canonical) noexcept : bytes_(canonical) {}

  /// Builds from the fields of a Windows GUID.
  static constexpr guid from_fields(std::uint32_t d1, std::uint16_t d2, std::uint16_t d3,
                                    const std::array<std::uint8_t, 8>& d4) noexcept {
    bytes_type b{};
    for (int i = 0; i < 4; ++i) b[i] = static_cast<std::uint8_t>(d1 >> (24 - 8 * i));
    b[4] = static_cast<std::uint8_t>(d2 >> 8);
    b[5] = static_cast<std::uint8_t>(d2);
    b[6] = static_cast<std::uint8_t>(d3 >> 8);
    b[7] = static_cast<std::uint8_t>(d3);
    for (int i = 0; i < 8; ++i) b[8 + i] = d4[i];
    return guid{b};
  }

  /// Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", with or without braces,
  /// hex digits in either case. Anything else gives std::nullopt.
  static constexpr std::optional<guid> parse(std::string_view s) noexcept {
    if (s.size() == 38) {
      if (s.front() != '{' || s.back() != '}') return std::nullopt;
      s = s.substr(1, 36);
    }
    if (s.size() != 36) return std::nullopt;
    bytes_type b{};
    std::size_t out = 0;
    for (std::size_t i = 0; i < 36;) {
      if (i == 8 || i == 13 || i == 18 || i == 23) {
        if (s[i] != '-') return std::nullopt;
        ++i;
        continue;
      }
      const int hi = hex_value(s[i]);
      const int lo = hex_value(s[i + 1]);
      if (hi < 0 || lo < 0) return std::nullopt;
      b[out++] = static_cast<std::uint8_t>(hi * 16 + lo);
      i += 2;
    }
    return guid{b};
  }

  /// The canonical bytes (textual order).
  constexpr const bytes_type& bytes() const noexcept { return bytes_; }

  /// The 16 bytes of a Windows GUID in memory (Data1, Data2, Data3 little-endian).
  constexpr bytes_type to_windows_bytes() const noexcept {
    bytes_type w = bytes_;
    swap_fields(w);
    return w;
  }
  static constexpr guid from_windows_bytes(const bytes_type& w) noexcept {
    bytes_type b = w;
    swap_fields(b);
    return guid{b};
  }

  constexpr bool is_nil() const noexcept { return *this == guid{}; }

  /// Lower-case form without braces.
  std::string to_string() const {
    constexpr char digits[] = "0123456789abcdef";
    std::string s;
    s.reserve(36);
    for (std::size_t i = 0; i < 16; ++i) {
      if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
      s.push_back(digits[bytes_[i] >> 4]);
      s.push_back(digits[bytes_[i] & 0xF]);
    }
    return s;
  }

  friend constexpr auto operator<=>(const guid&, const guid&) noexcept = default;
  friend constexpr bool operator==(const guid&, const guid&) noexcept = default;

 private:
  static constexpr int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  static constexpr void swap_fields(bytes_type& b) noexcept {
    auto sw = [&b](std::size_t i, std::size_t j) {
      const auto t = b[i];
      b[i] = b[j];
      b[j] = t;
    };
    sw(0, 3);
    sw(1, 2);
    sw(4, 5);
    sw(6, 7);
  }

  bytes_type bytes_{};
};

}  // namespace peergraph

template <>
struct std::hash<peergraph::guid> {
  std::size_t operator()(const peergraph::guid& g) const noexcept {
    // FNV-1a over the bytes: GUIDs are already well mixed, this only folds them.
    std::uint64_t h = 1469598103934665603ull;
    for (auto byte : g.bytes()) {
      h ^= byte;
      h *= 1099511628211ull;
    }
    return static_cast<std::size_t>(h);
  }
};

/// `fmt::format("{}", g)` prints the lower-case form; `{:B}` adds braces and
/// upper-cases it, as Windows tools print GUIDs.
template <>
struct fmt::formatter<peergraph::guid> {
  bool braces_upper = false;
  constexpr auto parse(fmt::format_parse_context& ctx) {
    auto it = ctx.begin();
    if (it != ctx.end() && *it == 'B') {
      braces_upper = true;
      ++it;
    }
    if (it != ctx.end() && *it != '}') throw fmt::format_error("invalid format for peergraph::guid");
    return it;
  }
  template <typename FormatContext>
  auto format(const peergraph::guid& g, FormatContext& ctx) const {
    auto s = g.to_string();
    if (!braces_upper) return fmt::format_to(ctx.out(), "{}", s);
    for (auto& c : s)
      if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
    return fmt::format_to(ctx.out(), "{{{}}}", s);
  }
};

#endif  // PEERGRAPH_GUID_HPP
