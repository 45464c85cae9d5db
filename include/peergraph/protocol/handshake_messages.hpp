// peergraph/protocol/handshake_messages.hpp: AUTH_INFO, CONNECT, WELCOME, REFUSE, DISCONNECT.
//
// Sans-I/O: encoders append a message to a byte vector; decoders check a
// complete frame (every count, offset and string against its bytes) and fill
// a struct. Layout decisions where the specification is silent are listed in
// docs/protocol.md; the short version: integers are little-endian, strings
// NUL-terminated UTF-8.
#ifndef PEERGRAPH_PROTOCOL_HANDSHAKE_MESSAGES_HPP
#define PEERGRAPH_PROTOCOL_HANDSHAKE_MESSAGES_HPP

#include <peergraph/protocol/address.hpp>
#include <peergraph/protocol/error.hpp>
#include <peergraph/protocol/header.hpp>
#include <peergraph/protocol/wire.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace peergraph::protocol {

enum class connection_type : std::uint8_t { neighbor = 0x01, direct = 0x02 };

enum class refuse_code : std::uint8_t {
  busy = 0x01,
  already_connected = 0x02,
  duplicate_connection = 0x03,
  direct_connection_disallowed = 0x04,
  /// peergraph extension: the CONNECT came from the responder's own node.
  connect_self = 0x80,
};

struct auth_info {
  connection_type type = connection_type::neighbor;
  std::string graph_id;
  std::string source_peer_id;
  std::optional<std::string> destination_peer_id;
  friend bool operator==(const auth_info&, const auth_info&) = default;
};

struct connect {
  bool update = false;           ///< U: the sender listens at `addresses`
  bool direct = false;           ///< D: a direct connection is requested
  bool wants_neighbors = false;  ///< N: the sender wants the responder's neighbor list
  std::uint64_t source_node_id = 0;
  std::vector<address> addresses;
  std::string friendly_name;
  friend bool operator==(const connect&, const connect&) = default;
};

struct welcome {
  std::uint64_t node_id = 0;
  std::uint64_t peer_time = 0;
  std::vector<address> addresses;
  std::string peer_id;
  std::string friendly_name;
  friend bool operator==(const welcome&, const welcome&) = default;
};

struct refuse {
  refuse_code code = refuse_code::busy;
  std::vector<address> referrals;
  friend bool operator==(const refuse&, const refuse&) = default;
};

/// DISCONNECT. The specification gives it a referral list; the first byte,
/// which it leaves undefined, carries a peergraph reason code (0 = leaving).
struct disconnect {
  std::uint8_t reason = 0;
  std::vector<address> referrals;
  friend bool operator==(const disconnect&, const disconnect&) = default;
};

// ---------------------------------------------------------------- AUTH_INFO

inline void encode(const auth_info& m, std::vector<std::uint8_t>& out) {
  writer w(out);
  detail::begin(w, message_type::auth_info);
  w.u8(static_cast<std::uint8_t>(m.type));
  w.u8(0);
  w.u16(0);  // graph id offset
  w.u16(0);  // source peer id offset
  w.u16(0);  // destination peer id offset
  w.patch_u16(10, static_cast<std::uint16_t>(w.size()));
  detail::put_string(w, m.graph_id);
  w.patch_u16(12, static_cast<std::uint16_t>(w.size()));
  detail::put_string(w, m.source_peer_id);
  w.patch_u16(14, static_cast<std::uint16_t>(w.size()));
  if (m.destination_peer_id) detail::put_string(w, *m.destination_peer_id);
  detail::finish(w);
}

inline std::error_code decode(std::span<const std::uint8_t> msg, auth_info& m) {
  if (auto ec = detail::check_frame(msg, message_type::auth_info, 16)) return ec;
  reader r(msg.subspan(header_size));
  const auto type = r.u8();
  r.skip(1);
  const std::size_t graph_off = r.u16(), src_off = r.u16(), dst_off = r.u16();
  if (type != 0x01 && type != 0x02) return error::malformed_message;
  if (!(16 <= graph_off && graph_off < src_off && src_off < dst_off && dst_off <= msg.size()))
    return error::malformed_message;
  m.type = static_cast<connection_type>(type);
  if (!read_cstring(msg, graph_off, src_off, m.graph_id) || !read_cstring(msg, src_off, dst_off, m.source_peer_id))
    return error::malformed_message;
  m.destination_peer_id.reset();
  if (dst_off < msg.size()) {
    std::string dst;
    if (!read_cstring(msg, dst_off, msg.size(), dst)) return error::malformed_message;
    m.destination_peer_id = std::move(dst);
  }
  return {};
}

// ---------------------------------------------------------------- CONNECT

inline constexpr std::uint8_t connect_flag_update = 0x01;
inline constexpr std::uint8_t connect_flag_direct = 0x02;
inline constexpr std::uint8_t connect_flag_neighbors = 0x04;

inline void encode(const connect& m, std::vector<std::uint8_t>& out) {
  writer w(out);
  detail::begin(w, message_type::connect);
  w.u8(static_cast<std::uint8_t>((m.update ? connect_flag_update : 0) | (m.direct ? connect_flag_direct : 0) |
                                 (m.wants_neighbors ? connect_flag_neighbors : 0)));
  const auto count = std::min(m.addresses.size(), max_addresses);
  w.u8(static_cast<std::uint8_t>(count));
  w.u16(24);
  w.u16(0);  // friendly name offset
  w.u16(0);
  w.u64(m.source_node_id);
  for (std::size_t i = 0; i < count; ++i) detail::put_address(w, m.addresses[i]);
  w.patch_u16(12, static_cast<std::uint16_t>(w.size()));
  if (!m.friendly_name.empty()) detail::put_string(w, m.friendly_name);
  detail::finish(w);
}

inline std::error_code decode(std::span<const std::uint8_t> msg, connect& m) {
  if (auto ec = detail::check_frame(msg, message_type::connect, 24)) return ec;
  reader r(msg.subspan(header_size));
  const auto flags = r.u8();
  const std::size_t count = r.u8(), addr_off = r.u16(), name_off = r.u16();
  r.skip(2);
  m.source_node_id = r.u64();
  if (flags & ~(connect_flag_update | connect_flag_direct | connect_flag_neighbors)) return error::malformed_message;
  m.update = flags & connect_flag_update;
  m.direct = flags & connect_flag_direct;
  m.wants_neighbors = flags & connect_flag_neighbors;
  if (addr_off < 24 || !detail::get_addresses(msg, addr_off, count, m.addresses)) return error::malformed_message;
  if (name_off < addr_off + count * wire_address_size || name_off > msg.size()) return error::malformed_message;
  m.friendly_name.clear();
  if (name_off < msg.size() && !read_cstring(msg, name_off, msg.size(), m.friendly_name))
    return error::malformed_message;
  // Longer than any encoder writes (docs/protocol.md, strings).
  if (m.friendly_name.size() > max_string_size) return error::malformed_message;
  return {};
}

// ---------------------------------------------------------------- WELCOME

inline void encode(const welcome& m, std::vector<std::uint8_t>& out) {
  writer w(out);
  detail::begin(w, message_type::welcome);
  w.u64(m.node_id);
  w.u64(m.peer_time);
  const auto count = std::min(m.addresses.size(), max_addresses);
  w.u8(static_cast<std::uint8_t>(count));
  w.u8(0);
  w.u16(32);
  w.u16(0);  // peer id offset
  w.u16(0);  // friendly name offset
  for (std::size_t i = 0; i < count; ++i) detail::put_address(w, m.addresses[i]);
  w.patch_u16(28, static_cast<std::uint16_t>(w.size()));
  detail::put_string(w, m.peer_id);
  w.patch_u16(30, static_cast<std::uint16_t>(w.size()));
  if (!m.friendly_name.empty()) detail::put_string(w, m.friendly_name);
  detail::finish(w);
}

inline std::error_code decode(std::span<const std::uint8_t> msg, welcome& m) {
  if (auto ec = detail::check_frame(msg, message_type::welcome, 32)) return ec;
  reader r(msg.subspan(header_size));
  m.node_id = r.u64();
  m.peer_time = r.u64();
  const std::size_t count = r.u8();
  r.skip(1);
  const std::size_t addr_off = r.u16(), peer_off = r.u16(), name_off = r.u16();
  if (addr_off < 32 || !detail::get_addresses(msg, addr_off, count, m.addresses)) return error::malformed_message;
  if (peer_off < addr_off + count * wire_address_size || peer_off >= name_off || name_off > msg.size())
    return error::malformed_message;
  if (!read_cstring(msg, peer_off, name_off, m.peer_id) || m.peer_id.size() > max_string_size)
    return error::malformed_message;
  m.friendly_name.clear();
  if (name_off < msg.size() && !read_cstring(msg, name_off, msg.size(), m.friendly_name))
    return error::malformed_message;
  // Longer than any encoder writes (docs/protocol.md, strings).
  if (m.friendly_name.size() > max_string_size) return error::malformed_message;
  return {};
}

// ---------------------------------------------------------------- REFUSE / DISCONNECT

namespace detail {
inline void encode_code_and_addresses(message_type t, std::uint8_t code, const std::vector<address>& addrs,
                                      std::vector<std::uint8_t>& out) {
  writer w(out);
  begin(w, t);
  const auto count = std::min(addrs.size(), max_addresses);
  w.u8(code);
  w.u8(static_cast<std::uint8_t>(count));
  w.u16(12);
  for (std::size_t i = 0; i < count; ++i) put_address(w, addrs[i]);
  finish(w);
}
inline std::error_code decode_code_and_addresses(std::span<const std::uint8_t> msg, message_type t, std::uint8_t& code,
                                                 std::vector<address>& addrs) {
  if (auto ec = check_frame(msg, t, 12)) return ec;
  reader r(msg.subspan(header_size));
  code = r.u8();
  const std::size_t count = r.u8(), off = r.u16();
  if (off < 12 || !get_addresses(msg, off, count, addrs)) return error::malformed_message;
  return {};
}
}  // namespace detail

inline void encode(const refuse& m, std::vector<std::uint8_t>& out) {
  detail::encode_code_and_addresses(message_type::refuse, static_cast<std::uint8_t>(m.code), m.referrals, out);
}
inline std::error_code decode(std::span<const std::uint8_t> msg, refuse& m) {
  std::uint8_t code = 0;
  if (auto ec = detail::decode_code_and_addresses(msg, message_type::refuse, code, m.referrals)) return ec;
  if ((code < 0x01 || code > 0x04) && code != 0x80) return error::malformed_message;
  m.code = static_cast<refuse_code>(code);
  return {};
}

inline void encode(const disconnect& m, std::vector<std::uint8_t>& out) {
  detail::encode_code_and_addresses(message_type::disconnect, m.reason, m.referrals, out);
}
inline std::error_code decode(std::span<const std::uint8_t> msg, disconnect& m) {
  return detail::decode_code_and_addresses(msg, message_type::disconnect, m.reason, m.referrals);
}

}  // namespace peergraph::protocol

#endif  // PEERGRAPH_PROTOCOL_HANDSHAKE_MESSAGES_HPP
