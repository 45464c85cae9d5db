// peergraph/types.hpp: identifiers, addresses, flags and connection descriptions.
#ifndef PEERGRAPH_TYPES_HPP
#define PEERGRAPH_TYPES_HPP

#include <peergraph/config.hpp>

#include <asio/ip/tcp.hpp>
#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace peergraph {

/// A node's 64-bit instance id, random and non-zero, new for every graph object.
using node_id = std::uint64_t;
/// A connection's 64-bit id, local to the node that reports it (the two ends
/// of one link have different ids).
using connection_id = std::uint64_t;
/// A node's address: IPv6 or IPv4 TCP endpoint.
using endpoint = asio::ip::tcp::endpoint;

/// PEER_CONNECTION_FLAGS: which kind of link a connection is.
enum class connection_kind : std::uint8_t { neighbor = 1, direct = 2 };

/// PEER_CONNECTION_STATUS.
enum class connection_status : std::uint8_t { connected = 1, disconnected = 2, failed = 3 };

/// PEER_GRAPH_STATUS_FLAGS as a small value type.
class graph_status {
 public:
  static constexpr std::uint32_t listening = 0x1;
  static constexpr std::uint32_t has_connections = 0x2;
  static constexpr std::uint32_t synchronized = 0x4;

  constexpr graph_status() noexcept = default;
  constexpr explicit graph_status(std::uint32_t bits) noexcept : bits_(bits) {}

  constexpr std::uint32_t bits() const noexcept { return bits_; }
  constexpr bool is_listening() const noexcept { return bits_ & listening; }
  constexpr bool has_neighbors() const noexcept { return bits_ & has_connections; }
  constexpr bool is_synchronized() const noexcept { return bits_ & synchronized; }
  friend constexpr bool operator==(graph_status, graph_status) noexcept = default;

 private:
  std::uint32_t bits_ = 0;
};

/// Everything known about one connection (PEER_CONNECTION_INFO).
struct connection_info {
  connection_id id = 0;
  connection_kind kind = connection_kind::neighbor;
  node_id node = 0;     ///< remote node id; 0 while the handshake has not told it
  std::string peer_id;  ///< remote peer id; empty while unknown
  endpoint address;     ///< remote TCP endpoint
};

/// What is known about one node of the graph through its presence
/// (PEER_NODE_INFO).
struct node_info {
  node_id id = 0;                   ///< the node's instance id
  std::string peer_id;              ///< the peer the node belongs to
  std::vector<endpoint> addresses;  ///< where the node listens (may be empty)
  std::string attributes;           ///< free-form application string (set_node_attributes)
  friend bool operator==(const node_info&, const node_info&) = default;
};

/// PEER_NODE_CHANGE_TYPE.
enum class node_change : std::uint8_t { connected = 1, disconnected = 2, updated = 3 };

/// Counters of a node's presence and synchronization traffic, for tests,
/// benchmarks and diagnostics. They only grow, except `known_nodes`.
struct graph_stats {
  std::uint64_t floods_sent = 0;            ///< FLOOD frames flooded (own publications and forwards)
  std::uint64_t floods_received = 0;        ///< FLOOD frames received outside synchronization
  std::uint64_t floods_useful = 0;          ///< of those, records that were new or newer
  std::uint64_t sync_records_sent = 0;      ///< FLOOD frames sent in answer to a SOLICIT
  std::uint64_t sync_records_received = 0;  ///< FLOOD frames received as a SOLICIT answer
  std::uint64_t solicits_sent = 0;          ///< SOLICIT_NEW sent (one per new neighbor link)
  std::uint64_t syncs_completed = 0;        ///< SYNC_END received
  std::uint64_t solicits_answered = 0;      ///< SOLICIT_NEW answered with a synchronization
  std::uint64_t solicits_ignored = 0;       ///< SOLICIT_NEW beyond a link's allowance, not answered
  std::uint64_t presence_rejected = 0;      ///< records refused: no room for them (docs/limits.md), or invalid
  std::uint64_t presence_evicted = 0;       ///< present nodes dropped to make room for another source's
  std::uint64_t records_refused = 0;        ///< updates naming another creator than the record's ([MS-PPGRH] 3.1.7.8)
  std::uint64_t auto_connects = 0;          ///< neighbor connections started by graph maintenance
  std::uint64_t referrals_followed = 0;     ///< of those, to an address from a BUSY referral
  std::uint64_t busy_refusals = 0;          ///< incoming neighbor connections refused BUSY
  std::uint64_t direct_refusals = 0;        ///< incoming direct connections refused BUSY (docs/limits.md)
  std::uint64_t neighbors_evicted = 0;      ///< neighbor links ended to give their slot to another source
  std::uint64_t handshakes_evicted = 0;     ///< accepted connections closed to make room (docs/limits.md)
  std::size_t known_nodes = 0;              ///< other nodes present now
};

inline std::string_view to_string(node_change c) noexcept {
  switch (c) {
    case node_change::connected:
      return "connected";
    case node_change::disconnected:
      return "disconnected";
    case node_change::updated:
      return "updated";
  }
  return "unknown";
}

inline std::string_view to_string(connection_status s) noexcept {
  switch (s) {
    case connection_status::connected:
      return "connected";
    case connection_status::disconnected:
      return "disconnected";
    case connection_status::failed:
      return "failed";
  }
  return "unknown";
}

inline std::string_view to_string(connection_kind k) noexcept {
  return k == connection_kind::direct ? "direct" : "neighbor";
}

/// "[::1]:4000" or "127.0.0.1:4000".
inline std::string to_string(const endpoint& ep) {
  const auto a = ep.address();
  return a.is_v6() ? fmt::format("[{}]:{}", a.to_string(), ep.port()) : fmt::format("{}:{}", a.to_string(), ep.port());
}

}  // namespace peergraph

#endif  // PEERGRAPH_TYPES_HPP
