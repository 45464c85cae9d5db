// peergraph/protocol/header.hpp: the PEER_MESSAGE header every message starts with.
//
// Sans-I/O: message types, the 8-byte header, and the helpers every encoder
// and decoder of protocol/ shares.
#ifndef PEERGRAPH_PROTOCOL_HEADER_HPP
#define PEERGRAPH_PROTOCOL_HEADER_HPP

#include <peergraph/protocol/error.hpp>
#include <peergraph/protocol/wire.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <system_error>

namespace peergraph::protocol {

inline constexpr std::uint8_t protocol_version = 0x10;
inline constexpr std::size_t header_size = 8;
/// Most addresses one message may carry (the count field is one byte; the
/// specification caps referrals at 10, peergraph accepts up to this many).
inline constexpr std::size_t max_addresses = 255;
/// Longest identifier or name written into a message (bytes, without the
/// NUL). With at most 255 addresses this keeps every offset of a handshake
/// message far below the 16-bit limit.
inline constexpr std::size_t max_string_size = 255;

enum class message_type : std::uint8_t {
  auth_info = 0x01,
  connect = 0x02,
  welcome = 0x03,
  refuse = 0x04,
  disconnect = 0x05,
  solicit_new = 0x06,
  solicit_time = 0x07,
  solicit_hash = 0x08,
  advertise = 0x09,
  request = 0x0A,
  flood = 0x0B,
  sync_end = 0x0C,
  pt2pt = 0x0D,
  ack = 0x0E,
};

inline constexpr bool is_known_type(std::uint8_t t) noexcept { return t >= 0x01 && t <= 0x0E; }

/// PEER_MESSAGE, the 8-byte header of every message.
struct header {
  std::uint32_t size = 0;
  std::uint8_t version = protocol_version;
  message_type type{};
};

/// Checks the 8-byte header at the front of `bytes` (which must hold at least
/// header_size bytes). Rejects bad versions, unknown types, sizes below the
/// header and sizes above `max_size`, so that nothing is allocated for a frame
/// that will be refused.
inline std::error_code decode_header(std::span<const std::uint8_t> bytes, std::size_t max_size, header& h) noexcept {
  if (bytes.size() < header_size) return error::truncated_message;
  reader r(bytes);
  h.size = r.u32();
  h.version = r.u8();
  const auto type = r.u8();
  if (h.size < header_size) return error::malformed_message;
  if (h.size > max_size) return error::message_too_large;
  if (h.version != protocol_version) return error::bad_version;
  if (!is_known_type(type)) return error::unknown_message_type;
  h.type = static_cast<message_type>(type);
  return {};
}

namespace detail {

inline void begin(writer& w, message_type t) {
  w.u32(0);  // patched by finish()
  w.u8(protocol_version);
  w.u8(static_cast<std::uint8_t>(t));
  w.u16(0);
}
inline void finish(writer& w) { w.patch_u32(0, static_cast<std::uint32_t>(w.size())); }

// Callers validate identifiers; the cut is the encoder's guarantee that
// no offset can overflow, whatever it is given.
inline void put_string(writer& w, std::string_view s) { w.cstring(s.substr(0, max_string_size)); }

/// A complete frame of type `t`, exactly as long as its header says, and at
/// least `min_size` bytes.
inline std::error_code check_frame(std::span<const std::uint8_t> msg, message_type t, std::size_t min_size) {
  header h;
  if (auto ec = decode_header(msg, SIZE_MAX, h)) return ec;
  if (h.type != t) return error::unexpected_message;
  if (h.size != msg.size()) return error::malformed_message;
  if (msg.size() < min_size) return error::truncated_message;
  return {};
}

}  // namespace detail
}  // namespace peergraph::protocol

#endif  // PEERGRAPH_PROTOCOL_HEADER_HPP
