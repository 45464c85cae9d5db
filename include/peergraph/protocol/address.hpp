// peergraph/protocol/address.hpp: a node address as the wire carries it.
//
// Sans-I/O: 16 address bytes and a port, nothing that knows about sockets.
// An IPv4 address travels as an IPv4-mapped IPv6 address (::ffff:a.b.c.d);
// the engine converts to and from socket endpoints (detail/addresses.hpp).
#ifndef PEERGRAPH_PROTOCOL_ADDRESS_HPP
#define PEERGRAPH_PROTOCOL_ADDRESS_HPP

#include <peergraph/protocol/wire.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace peergraph::protocol {

/// An IPv6 address (IPv4 as IPv4-mapped) and a TCP port.
struct address {
  std::array<std::uint8_t, 16> ip{};
  std::uint16_t port = 0;

  /// The IPv4-mapped form of `a.b.c.d`.
  static constexpr address v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d,
                              std::uint16_t port) noexcept {
    return address{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, a, b, c, d}, port};
  }
  constexpr bool is_v4_mapped() const noexcept {
    for (std::size_t i = 0; i < 10; ++i)
      if (ip[i] != 0) return false;
    return ip[10] == 0xFF && ip[11] == 0xFF;
  }
  friend constexpr bool operator==(const address&, const address&) noexcept = default;
};

/// PEER_IN6_ADDRESS on the wire: family (2) · port (2) · IPv6 address (16).
inline constexpr std::size_t wire_address_size = 20;
inline constexpr std::uint16_t wire_address_family = 0x0017;

namespace detail {

inline void put_address(writer& w, const address& a) {
  w.u16(wire_address_family);
  w.u16_be(a.port);
  w.bytes(std::span<const std::uint8_t>(a.ip.data(), a.ip.size()));
}

/// Reads `count` addresses at `offset` inside `msg`; false if they do not
/// fit or a family is wrong.
inline bool get_addresses(std::span<const std::uint8_t> msg, std::size_t offset, std::size_t count,
                          std::vector<address>& out) {
  if (offset > msg.size() || (msg.size() - offset) / wire_address_size < count) return false;
  reader r(msg.subspan(offset, count * wire_address_size));
  out.clear();
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    if (r.u16() != wire_address_family) return false;
    address a;
    a.port = r.u16_be();
    const auto raw = r.bytes(16);
    if (!r.ok()) return false;
    for (std::size_t k = 0; k < 16; ++k) a.ip[k] = raw[k];
    out.push_back(a);
  }
  return r.ok();
}

}  // namespace detail
}  // namespace peergraph::protocol

#endif  // PEERGRAPH_PROTOCOL_ADDRESS_HPP
