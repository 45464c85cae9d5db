// Test support: bytes, independent little-endian accessors and wire addresses
// for the tests of protocol/ and the engine's sans-I/O pieces.
#ifndef PEERGRAPH_TESTS_SUPPORT_BYTES_HPP
#define PEERGRAPH_TESTS_SUPPORT_BYTES_HPP

#include <peergraph/detail/addresses.hpp>
#include <peergraph/protocol/address.hpp>
#include <peergraph/protocol/frame.hpp>

#include <asio/ip/address.hpp>
#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace Catch {
template <>
struct StringMaker<std::error_code> {
  static std::string convert(const std::error_code& ec) {
    return std::string(ec.category().name()) + ':' + std::to_string(ec.value()) + " (" + ec.message() + ')';
  }
};
}  // namespace Catch

namespace pgtest {

using bytes = std::vector<std::uint8_t>;

inline std::span<const std::uint8_t> view(const bytes& b) { return {b.data(), b.size()}; }
inline std::span<const std::uint8_t> view(const bytes& b, std::size_t n) { return {b.data(), n}; }

// Little-endian accessors written apart from the library's reader, so that a
// test does not check the code with itself.
inline std::uint16_t get16(const bytes& b, std::size_t at) {
  return static_cast<std::uint16_t>(b.at(at) | (b.at(at + 1) << 8));
}
inline std::uint32_t get32(const bytes& b, std::size_t at) {
  return static_cast<std::uint32_t>(b.at(at)) | static_cast<std::uint32_t>(b.at(at + 1)) << 8 |
         static_cast<std::uint32_t>(b.at(at + 2)) << 16 | static_cast<std::uint32_t>(b.at(at + 3)) << 24;
}
inline std::uint64_t get64(const bytes& b, std::size_t at) {
  return static_cast<std::uint64_t>(get32(b, at)) | static_cast<std::uint64_t>(get32(b, at + 4)) << 32;
}
inline void put16(bytes& b, std::size_t at, std::uint16_t v) {
  b.at(at) = static_cast<std::uint8_t>(v);
  b.at(at + 1) = static_cast<std::uint8_t>(v >> 8);
}
inline void put32(bytes& b, std::size_t at, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i) b.at(at + i) = static_cast<std::uint8_t>(v >> (8 * i));
}

/// One complete frame and its header.
struct frame {
  peergraph::protocol::header h;
  bytes data;
  std::span<const std::uint8_t> view() const { return {data.data(), data.size()}; }
};

/// The frames of `stream`, cut with the protocol's own framing; every byte
/// must belong to a complete frame.
inline std::vector<frame> split_frames(std::span<const std::uint8_t> stream) {
  std::vector<frame> frames;
  while (!stream.empty()) {
    const auto r = peergraph::protocol::next_frame(stream, 1 << 20);
    REQUIRE(r.status == peergraph::protocol::frame_result::complete);
    frames.push_back({r.h, bytes(stream.begin(), stream.begin() + r.h.size)});
    stream = stream.subspan(r.h.size);
  }
  return frames;
}

/// The wire form of "address", port.
inline peergraph::protocol::address wire_address(const char* address, std::uint16_t port) {
  return peergraph::detail::to_wire(peergraph::endpoint(asio::ip::make_address(address), port));
}

}  // namespace pgtest

#endif  // PEERGRAPH_TESTS_SUPPORT_BYTES_HPP
