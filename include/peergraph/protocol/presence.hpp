// peergraph/protocol/presence.hpp: the graph-level messages: FLOOD (presence
// and graph information records), ACK, SOLICIT_NEW and SYNC_END.
//
// Sans-I/O: encoders append bytes, decoders check every count, length and
// offset against the frame before they read or allocate anything. The layouts
// are described in docs/protocol.md ("Graph-level messages").
#ifndef PEERGRAPH_PROTOCOL_PRESENCE_HPP
#define PEERGRAPH_PROTOCOL_PRESENCE_HPP

#include <peergraph/guid.hpp>
#include <peergraph/protocol/address.hpp>
#include <peergraph/protocol/error.hpp>
#include <peergraph/protocol/header.hpp>
#include <peergraph/protocol/wire.hpp>

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

namespace peergraph::protocol {

/// Record type of presence records ({00000400-0000-0000-0000-000000000000}).
inline constexpr guid presence_record_type = guid::from_fields(0x00000400, 0, 0, {0, 0, 0, 0, 0, 0, 0, 0});
/// Record type of the graph information record ({00000100-0000-0000-0000-000000000000}).
inline constexpr guid graph_info_record_type = guid::from_fields(0x00000100, 0, 0, {0, 0, 0, 0, 0, 0, 0, 0});

/// Longest attribute string a presence record carries (bytes).
inline constexpr std::size_t max_attributes_size = 4096;
/// Most listen addresses one presence record carries.
inline constexpr std::size_t max_presence_addresses = 16;
/// Longest comment in the graph information record (bytes).
inline constexpr std::size_t max_comment_size = 511;

/// One node's presence: who it is, where it listens, what it says about itself.
struct presence_entry {
  std::uint64_t node_id = 0;
  std::string peer_id;
  std::uint32_t version = 0;      ///< starts at 1, +1 per re-publication
  bool deleted = false;           ///< the node withdrew its presence (left, or stopped publishing)
  std::uint32_t lifetime_ms = 0;  ///< remaining lifetime when sent
  std::vector<address> addresses;
  std::string attributes;
  friend bool operator==(const presence_entry&, const presence_entry&) = default;
};

/// The replicated graph properties (the graph information record).
struct graph_info {
  std::uint32_t version = 0;
  std::uint32_t scope = 1;
  std::uint32_t presence_lifetime_s = 300;
  std::int32_t presence_max = -1;
  std::uint32_t max_record_size = 0;
  std::uint16_t flags = 0;  ///< PEER_GRAPH_PROPERTY_FLAGS
  std::string creator_id;
  std::string friendly_name;
  std::string comment;
  friend bool operator==(const graph_info&, const graph_info&) = default;
};

/// A FLOOD message carries one record. `sync` marks a record sent in answer
/// to a SOLICIT rather than flooded (it only feeds statistics).
struct flood {
  bool sync = false;
  std::variant<presence_entry, graph_info> record;
  friend bool operator==(const flood&, const flood&) = default;
};

/// SOLICIT_NEW: "send me everything" (peergraph sends no type lists and
/// answers every solicit with all it holds).
struct solicit_new {
  friend bool operator==(const solicit_new&, const solicit_new&) = default;
};

/// SYNC_END with the Final flag.
struct sync_end {
  friend bool operator==(const sync_end&, const sync_end&) = default;
};

// ---------------------------------------------------------------- FLOOD

inline constexpr std::size_t flood_record_offset = 12;
inline constexpr std::uint8_t flood_flag_sync = 0x01;
inline constexpr std::uint32_t presence_flag_deleted = 0x02;
/// Fixed part of a presence record body, after its type GUID.
inline constexpr std::size_t presence_body_size = 28;
/// Fixed part of a graph information record body, after its type GUID.
inline constexpr std::size_t graph_info_body_size = 28;

inline void encode(const flood& m, std::vector<std::uint8_t>& out) {
  writer w(out);
  detail::begin(w, message_type::flood);
  w.u16(static_cast<std::uint16_t>(flood_record_offset));
  w.u8(m.sync ? flood_flag_sync : 0);
  w.u8(0);
  if (const auto* p = std::get_if<presence_entry>(&m.record)) {
    const auto t = presence_record_type.to_windows_bytes();
    w.bytes(std::span<const std::uint8_t>(t.data(), t.size()));
    const auto count = std::min(p->addresses.size(), max_presence_addresses);
    const auto peer = std::string_view(p->peer_id).substr(0, max_string_size);
    const auto attrs = std::string_view(p->attributes).substr(0, max_attributes_size);
    w.u64(p->node_id);
    w.u32(p->version);
    w.u32(p->deleted ? presence_flag_deleted : 0);
    w.u32(p->lifetime_ms);
    w.u8(static_cast<std::uint8_t>(count));
    w.u8(0);
    w.u16(static_cast<std::uint16_t>(peer.size()));
    w.u16(static_cast<std::uint16_t>(attrs.size()));
    w.u16(0);
    for (std::size_t i = 0; i < count; ++i) detail::put_address(w, p->addresses[i]);
    w.bytes(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(peer.data()), peer.size()));
    w.bytes(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(attrs.data()), attrs.size()));
  } else {
    const auto& g = std::get<graph_info>(m.record);
    const auto t = graph_info_record_type.to_windows_bytes();
    w.bytes(std::span<const std::uint8_t>(t.data(), t.size()));
    const auto creator = std::string_view(g.creator_id).substr(0, max_string_size);
    const auto name = std::string_view(g.friendly_name).substr(0, max_string_size);
    const auto comment = std::string_view(g.comment).substr(0, max_comment_size);
    w.u32(g.version);
    w.u32(g.scope);
    w.u32(g.presence_lifetime_s);
    w.u32(static_cast<std::uint32_t>(g.presence_max));
    w.u32(g.max_record_size);
    w.u16(static_cast<std::uint16_t>(creator.size()));
    w.u16(static_cast<std::uint16_t>(name.size()));
    w.u16(static_cast<std::uint16_t>(comment.size()));
    w.u16(g.flags);
    for (auto s : {creator, name, comment})
      w.bytes(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
  }
  detail::finish(w);
}

namespace detail {
// A length-prefixed string without NUL: rejects embedded NULs.
inline bool take_string(reader& r, std::size_t n, std::string& out) {
  const auto b = r.bytes(n);
  if (!r.ok()) return false;
  out.assign(reinterpret_cast<const char*>(b.data()), b.size());
  return out.find('\0') == std::string::npos;
}
}  // namespace detail

/// Decodes a FLOOD. Unknown record types are `malformed_message` (peergraph
/// floods only presence and graph information records).
inline std::error_code decode(std::span<const std::uint8_t> msg, flood& m) {
  if (auto ec = detail::check_frame(msg, message_type::flood, flood_record_offset + 16)) return ec;
  reader r(msg.subspan(header_size));
  const std::size_t off = r.u16();
  const auto flags = r.u8();
  r.skip(1);
  if (off != flood_record_offset || (flags & ~flood_flag_sync)) return error::malformed_message;
  m.sync = flags & flood_flag_sync;
  guid::bytes_type tb{};
  const auto raw = r.bytes(16);
  std::copy(raw.begin(), raw.end(), tb.begin());
  const auto type = guid::from_windows_bytes(tb);
  if (type == presence_record_type) {
    if (r.remaining() < presence_body_size) return error::truncated_message;
    presence_entry p;
    p.node_id = r.u64();
    p.version = r.u32();
    const auto pflags = r.u32();
    p.lifetime_ms = r.u32();
    const std::size_t count = r.u8();
    r.skip(1);
    const std::size_t peer_len = r.u16(), attr_len = r.u16();
    r.skip(2);
    if (pflags & ~presence_flag_deleted) return error::malformed_message;
    p.deleted = pflags & presence_flag_deleted;
    if (p.node_id == 0 || p.version == 0 || count > max_presence_addresses || peer_len == 0 ||
        peer_len > max_string_size || attr_len > max_attributes_size)
      return error::malformed_message;
    // Exact size: nothing missing, nothing trailing.
    if (r.remaining() != count * wire_address_size + peer_len + attr_len) return error::malformed_message;
    if (!detail::get_addresses(msg, r.position() + header_size, count, p.addresses)) return error::malformed_message;
    r.skip(count * wire_address_size);
    if (!detail::take_string(r, peer_len, p.peer_id) || !detail::take_string(r, attr_len, p.attributes))
      return error::malformed_message;
    m.record = std::move(p);
    return {};
  }
  if (type == graph_info_record_type) {
    if (r.remaining() < graph_info_body_size) return error::truncated_message;
    graph_info g;
    g.version = r.u32();
    g.scope = r.u32();
    g.presence_lifetime_s = r.u32();
    g.presence_max = static_cast<std::int32_t>(r.u32());
    g.max_record_size = r.u32();
    const std::size_t c_len = r.u16(), n_len = r.u16(), k_len = r.u16();
    g.flags = r.u16();
    if (g.version == 0 || g.scope > 4 || c_len > max_string_size || n_len > max_string_size ||
        k_len > max_comment_size || r.remaining() != c_len + n_len + k_len)
      return error::malformed_message;
    if (!detail::take_string(r, c_len, g.creator_id) || !detail::take_string(r, n_len, g.friendly_name) ||
        !detail::take_string(r, k_len, g.comment))
      return error::malformed_message;
    m.record = std::move(g);
    return {};
  }
  return error::malformed_message;
}

// ---------------------------------------------------------------- SOLICIT_NEW

inline void encode(const solicit_new&, std::vector<std::uint8_t>& out) {
  writer w(out);
  detail::begin(w, message_type::solicit_new);
  w.u8(0);  // inclusion count
  w.u8(0);  // exclusion count
  w.u16(12);
  detail::finish(w);
}

/// Accepts type lists (bounds-checked) but ignores them: the answer is always
/// everything.
inline std::error_code decode(std::span<const std::uint8_t> msg, solicit_new&) {
  if (auto ec = detail::check_frame(msg, message_type::solicit_new, 12)) return ec;
  reader r(msg.subspan(header_size));
  const std::size_t inc = r.u8(), exc = r.u8(), off = r.u16();
  if (inc > 1) return error::malformed_message;
  const std::size_t n = inc + exc;
  if (off < 12 || off > msg.size() || (msg.size() - off) / 16 < n) return error::malformed_message;
  return {};
}

// ---------------------------------------------------------------- SYNC_END

inline constexpr std::uint8_t sync_end_flag_final = 0x01;

inline void encode(const sync_end&, std::vector<std::uint8_t>& out) {
  writer w(out);
  detail::begin(w, message_type::sync_end);
  w.u8(sync_end_flag_final);
  w.zeros(3);
  detail::finish(w);
}

inline std::error_code decode(std::span<const std::uint8_t> msg, sync_end&) {
  if (auto ec = detail::check_frame(msg, message_type::sync_end, 12)) return ec;
  if (msg.size() != 12 || msg[8] != sync_end_flag_final) return error::malformed_message;
  return {};
}

// ---------------------------------------------------------------- ACK

/// ACK: peergraph sends none (see docs/protocol.md) but accepts a well-formed
/// one: 8 count (2) · 10 entries offset (2) · entries of 20 bytes.
inline std::error_code check_ack(std::span<const std::uint8_t> msg) {
  if (auto ec = detail::check_frame(msg, message_type::ack, 12)) return ec;
  reader r(msg.subspan(header_size));
  const std::size_t count = r.u16(), off = r.u16();
  if (off < 12 || off > msg.size() || (msg.size() - off) / 20 < count) return error::malformed_message;
  return {};
}

}  // namespace peergraph::protocol

#endif  // PEERGRAPH_PROTOCOL_PRESENCE_HPP
