// peergraph/protocol/messages.hpp: [MS-PPGRH] messages, their encoders and decoders.
//
// Sans-I/O: every function here takes or produces bytes and nothing else.
// Layout decisions where the published specification is silent are listed in
// docs/protocol.md; the short version: integers are little-endian, the TCP
// port and IPv6 address of a PEER_IN6_ADDRESS are in network order (as in a
// sockaddr_in6), IPv4 endpoints travel as IPv4-mapped IPv6 addresses, strings
// in handshake messages are NUL-terminated UTF-8.
#ifndef PEERGRAPH_PROTOCOL_MESSAGES_HPP
#define PEERGRAPH_PROTOCOL_MESSAGES_HPP

#include <peergraph/guid.hpp>
#include <peergraph/protocol/error.hpp>
#include <peergraph/protocol/wire.hpp>

#include <asio/ip/tcp.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace peergraph::protocol {

inline constexpr std::uint8_t protocol_version = 0x10;
inline constexpr std::size_t header_size = 8;
/// PEER_IN6_ADDRESS: family (2) · port (2) · IPv6 address (16).
inline constexpr std::size_t wire_address_size = 20;
inline constexpr std::uint16_t wire_address_family = 0x0017;
/// Size of a PT2PT message without its payload.
inline constexpr std::size_t pt2pt_header_size = 28;
/// Most addresses one message may carry (the count field is one byte; the
/// specification caps referrals at 10, peergraph accepts up to this many).
inline constexpr std::size_t max_addresses = 255;
/// Longest identifier or name written into a handshake message (bytes,
/// without the NUL). With at most 255 addresses this keeps every offset of
/// a handshake message far below the 16-bit limit.
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

enum class connection_type : std::uint8_t { neighbor = 0x01, direct = 0x02 };

enum class refuse_code : std::uint8_t {
  busy = 0x01,
  already_connected = 0x02,
  duplicate_connection = 0x03,
  direct_connection_disallowed = 0x04,
  /// peergraph extension: the CONNECT came from the responder's own node.
  connect_self = 0x80,
};

/// The PT2PT data type reserved for the keep-alive ping.
inline constexpr guid ping_type =
    guid::from_fields(0x0ccbb0d2, 0xbe41, 0x4bd6, {0x91, 0x4b, 0x05, 0x8e, 0xc5, 0xdc, 0xce, 0x64});

using endpoint = asio::ip::tcp::endpoint;

/// PEER_MESSAGE, the 8-byte header of every message.
struct header {
  std::uint32_t size = 0;
  std::uint8_t version = protocol_version;
  message_type type{};
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
  std::vector<endpoint> addresses;
  std::string friendly_name;
  friend bool operator==(const connect&, const connect&) = default;
};

struct welcome {
  std::uint64_t node_id = 0;
  std::uint64_t peer_time = 0;
  std::vector<endpoint> addresses;
  std::string peer_id;
  std::string friendly_name;
  friend bool operator==(const welcome&, const welcome&) = default;
};

struct refuse {
  refuse_code code = refuse_code::busy;
  std::vector<endpoint> referrals;
  friend bool operator==(const refuse&, const refuse&) = default;
};

/// DISCONNECT. The specification gives it a referral list; the first byte,
/// which it leaves undefined, carries a peergraph reason code (0 = leaving).
struct disconnect {
  std::uint8_t reason = 0;
  std::vector<endpoint> referrals;
  friend bool operator==(const disconnect&, const disconnect&) = default;
};

/// A decoded PT2PT message; `payload` points into the frame it came from.
struct pt2pt_view {
  guid type;
  std::span<const std::uint8_t> payload;
};

// ---------------------------------------------------------------- header

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

inline void put_address(writer& w, const endpoint& ep) {
  w.u16(wire_address_family);
  w.u16_be(ep.port());
  const auto a = ep.address();
  const auto v6 = a.is_v6() ? a.to_v6() : asio::ip::make_address_v6(asio::ip::v4_mapped, a.to_v4());
  const auto b = v6.to_bytes();
  w.bytes(std::span<const std::uint8_t>(b.data(), b.size()));
}

inline bool get_addresses(std::span<const std::uint8_t> msg, std::size_t offset, std::size_t count,
                          std::vector<endpoint>& out) {
  if (offset > msg.size() || (msg.size() - offset) / wire_address_size < count) return false;
  reader r(msg.subspan(offset, count * wire_address_size));
  out.clear();
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    if (r.u16() != wire_address_family) return false;
    const auto port = r.u16_be();
    asio::ip::address_v6::bytes_type b{};
    const auto raw = r.bytes(16);
    std::copy(raw.begin(), raw.end(), b.begin());
    asio::ip::address_v6 v6(b);
    if (v6.is_v4_mapped())
      out.emplace_back(asio::ip::make_address_v4(asio::ip::v4_mapped, v6), port);
    else
      out.emplace_back(v6, port);
  }
  return r.ok();
}

inline std::error_code check_frame(std::span<const std::uint8_t> msg, message_type t, std::size_t min_size) {
  header h;
  if (auto ec = decode_header(msg, SIZE_MAX, h)) return ec;
  if (h.type != t) return error::unexpected_message;
  if (h.size != msg.size()) return error::malformed_message;
  if (msg.size() < min_size) return error::truncated_message;
  return {};
}

}  // namespace detail

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
  if (!read_cstring(msg, peer_off, name_off, m.peer_id)) return error::malformed_message;
  m.friendly_name.clear();
  if (name_off < msg.size() && !read_cstring(msg, name_off, msg.size(), m.friendly_name))
    return error::malformed_message;
  return {};
}

// ---------------------------------------------------------------- REFUSE / DISCONNECT

namespace detail {
inline void encode_code_and_addresses(message_type t, std::uint8_t code, const std::vector<endpoint>& addrs,
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
                                                 std::vector<endpoint>& addrs) {
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

// ---------------------------------------------------------------- PT2PT

/// Writes the 28 bytes that precede a PT2PT payload of `payload_size` bytes.
/// The payload itself is not copied: the caller sends it after these bytes.
inline void encode_pt2pt_header(const guid& type, std::size_t payload_size, std::vector<std::uint8_t>& out) {
  writer w(out);
  w.u32(static_cast<std::uint32_t>(pt2pt_header_size + payload_size));
  w.u8(protocol_version);
  w.u8(static_cast<std::uint8_t>(message_type::pt2pt));
  w.u16(0);
  w.u16(static_cast<std::uint16_t>(pt2pt_header_size));
  w.u16(0);
  const auto b = type.to_windows_bytes();
  w.bytes(std::span<const std::uint8_t>(b.data(), b.size()));
}

inline std::error_code decode(std::span<const std::uint8_t> msg, pt2pt_view& m) {
  if (auto ec = detail::check_frame(msg, message_type::pt2pt, pt2pt_header_size)) return ec;
  reader r(msg.subspan(header_size));
  const std::size_t data_off = r.u16();
  r.skip(2);
  guid::bytes_type b{};
  const auto raw = r.bytes(16);
  std::copy(raw.begin(), raw.end(), b.begin());
  if (data_off < pt2pt_header_size || data_off > msg.size()) return error::malformed_message;
  m.type = guid::from_windows_bytes(b);
  m.payload = msg.subspan(data_off);
  return {};
}

}  // namespace peergraph::protocol

#endif // PEERGRAPH_PROTOCOL_MESSAGES_HPP
