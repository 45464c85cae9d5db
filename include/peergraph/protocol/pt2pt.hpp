// peergraph/protocol/pt2pt.hpp: PT2PT, the message that carries application data.
//
// Sans-I/O. One parse and one bounds rule serve both ways a frame arrives:
// whole in a buffer (decode()), or a large one whose payload the engine
// reads straight into its own storage after looking at the fixed prefix
// (decode_pt2pt_prefix()).
#ifndef PEERGRAPH_PROTOCOL_PT2PT_HPP
#define PEERGRAPH_PROTOCOL_PT2PT_HPP

#include <peergraph/guid.hpp>
#include <peergraph/protocol/error.hpp>
#include <peergraph/protocol/header.hpp>
#include <peergraph/protocol/wire.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>
#include <vector>

namespace peergraph::protocol {

/// Size of a PT2PT message without its payload: header, data offset,
/// reserved, data type.
inline constexpr std::size_t pt2pt_header_size = 28;

/// The PT2PT data type reserved for the keep-alive ping ([MS-PPGRH] 2.2.4.1).
inline constexpr guid ping_type =
    guid::from_fields(0x0ccbb0d2, 0xbe41, 0x4bd6, {0x91, 0x4b, 0x05, 0x8e, 0xc5, 0xdc, 0xce, 0x64});

/// What the fixed prefix of a PT2PT message says.
struct pt2pt_prefix {
  guid type;
  /// Where the payload starts, from the start of the message: at least
  /// pt2pt_header_size (bytes in between are ignored), at most the size.
  std::size_t data_offset = pt2pt_header_size;
};

/// A decoded PT2PT message; `payload` points into the frame it came from.
struct pt2pt_view {
  guid type;
  std::span<const std::uint8_t> payload;
};

/// Reads the first pt2pt_header_size bytes of a PT2PT message whose header
/// says `message_size` bytes. The rule ([MS-PPGRH] 3.1.5.2.13, plus "the
/// payload does not overlap the fixed fields"): the message holds at least
/// its fixed fields, and the data offset lies between their end and the
/// message's end.
inline std::error_code decode_pt2pt_prefix(std::span<const std::uint8_t> prefix, std::size_t message_size,
                                           pt2pt_prefix& out) noexcept {
  if (prefix.size() < pt2pt_header_size || message_size < pt2pt_header_size) return error::truncated_message;
  reader r(prefix.subspan(header_size, pt2pt_header_size - header_size));
  out.data_offset = r.u16();
  r.skip(2);
  const auto raw = r.bytes(16);
  guid::bytes_type b{};
  std::copy(raw.begin(), raw.end(), b.begin());
  if (out.data_offset < pt2pt_header_size || out.data_offset > message_size) return error::malformed_message;
  out.type = guid::from_windows_bytes(b);
  return {};
}

/// Writes the fixed prefix of a PT2PT message with a payload of
/// `payload_size` bytes into `out` (the payload follows it on the wire).
inline void encode_pt2pt_header(const guid& type, std::size_t payload_size,
                                std::span<std::uint8_t, pt2pt_header_size> out) noexcept {
  const auto size = static_cast<std::uint32_t>(pt2pt_header_size + payload_size);
  for (int i = 0; i < 4; ++i) out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(size >> (8 * i));
  out[4] = protocol_version;
  out[5] = static_cast<std::uint8_t>(message_type::pt2pt);
  out[6] = out[7] = 0;
  out[8] = static_cast<std::uint8_t>(pt2pt_header_size);
  out[9] = 0;
  out[10] = out[11] = 0;
  const auto b = type.to_windows_bytes();
  std::copy(b.begin(), b.end(), out.begin() + 12);
}

/// As above, appended to `out`.
inline void encode_pt2pt_header(const guid& type, std::size_t payload_size, std::vector<std::uint8_t>& out) {
  const auto at = out.size();
  out.resize(at + pt2pt_header_size);
  encode_pt2pt_header(type, payload_size,
                      std::span<std::uint8_t, pt2pt_header_size>(out.data() + at, pt2pt_header_size));
}

/// Decodes a PT2PT frame whose common header next_frame() has already
/// checked (its type is PT2PT and `msg` is exactly the size it states):
/// the receive path's form of decode(), which does not check the header a
/// second time. The data offset rule is the same.
inline std::error_code decode_checked(std::span<const std::uint8_t> msg, pt2pt_view& m) noexcept {
  if (msg.size() < pt2pt_header_size) return error::truncated_message;
  const std::size_t offset = std::size_t{msg[header_size]} | std::size_t{msg[header_size + 1]} << 8;
  if (offset < pt2pt_header_size || offset > msg.size()) return error::malformed_message;
  guid::bytes_type b;
  std::copy_n(msg.data() + 12, b.size(), b.begin());
  m.type = guid::from_windows_bytes(b);
  m.payload = msg.subspan(offset);
  return {};
}

/// Decodes a complete PT2PT frame.
inline std::error_code decode(std::span<const std::uint8_t> msg, pt2pt_view& m) {
  if (auto ec = detail::check_frame(msg, message_type::pt2pt, pt2pt_header_size)) return ec;
  pt2pt_prefix p;
  if (auto ec = decode_pt2pt_prefix(msg, msg.size(), p)) return ec;
  m.type = p.type;
  m.payload = msg.subspan(p.data_offset);
  return {};
}

}  // namespace peergraph::protocol

#endif  // PEERGRAPH_PROTOCOL_PT2PT_HPP
