// peergraph/protocol/error.hpp: why the wire protocol ended a connection.
//
// These are the specific reasons a connection fails or is dropped because of
// what arrived (or did not arrive) on the wire. They belong to their own
// category, "peergraph.protocol"; peergraph::to_hresult() maps
// handshake_timeout onto PEER_E_TIMEOUT, self_connection onto
// PEER_E_CONNECT_SELF, direct_connection_disallowed onto
// PEER_E_CONNECTION_REFUSED, wrong_graph_id and wrong_peer_id onto
// PEER_E_CONNECTION_NOT_AUTHENTICATED, and all others onto
// PEER_E_CONNECTION_FAILED. peergraph::condition::protocol_violation matches
// every one of them except the timeouts, the two ways a peer leaves, and
// the refusals (self_connection, direct_connection_disallowed,
// wrong_graph_id, wrong_peer_id), which match condition::refused, and
// backlog_exceeded, neighbor_evicted and receive_budget_exceeded, which match
// condition::limit_reached.
#ifndef PEERGRAPH_PROTOCOL_ERROR_HPP
#define PEERGRAPH_PROTOCOL_ERROR_HPP

#include <string>
#include <system_error>

namespace peergraph::protocol {

/// Wire-level failure reasons.
enum class error {
  truncated_message = 1,  ///< a frame or field ends before its declared size
  message_too_large,      ///< declared frame size above the configured maximum
  bad_version,            ///< PEER_MESSAGE version is not 0x10
  unknown_message_type,   ///< message type outside 0x01..0x0E
  unexpected_message,     ///< valid message, wrong moment (e.g. PT2PT before WELCOME)
  malformed_message,      ///< offsets, counts or strings inconsistent
  wrong_graph_id,         ///< AUTH_INFO names another graph (or, for an initiator that
                          ///< expected no peer id: the responder closed on reading AUTH_INFO)
  wrong_peer_id,          ///< destination or remote peer id is not the expected one
  handshake_timeout,      ///< the peer did not finish AUTH_INFO/CONNECT/WELCOME in time
  keepalive_timeout,      ///< nothing received on an established link for too long
  peer_disconnected,      ///< the peer sent DISCONNECT
  connection_closed,      ///< the byte stream ended without DISCONNECT
  self_connection,        ///< the remote node turned out to be this node
  /// REFUSE code DIRECT_CONNECTION_DISALLOWED: the remote node does not
  /// accept direct connections (graph_options::direct_connections).
  direct_connection_disallowed,
  /// The remote node does not read: graph-level traffic for it would push
  /// the link's outgoing queue past graph_options::max_link_backlog.
  backlog_exceeded,
  /// Every neighbor slot was taken and this link's source address held the
  /// most of them: the slot went to a neighbor from another address.
  neighbor_evicted,
  /// A large message arriving on this link needed more memory than the
  /// graph has left for messages in transit (graph_options::max_receiving_bytes).
  receive_budget_exceeded,
};

namespace detail {
class error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "peergraph.protocol"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::truncated_message:
        return "message truncated";
      case error::message_too_large:
        return "message larger than the configured maximum";
      case error::bad_version:
        return "unsupported protocol version";
      case error::unknown_message_type:
        return "unknown message type";
      case error::unexpected_message:
        return "message not allowed in this connection state";
      case error::malformed_message:
        return "malformed message";
      case error::wrong_graph_id:
        return "peer belongs to another graph";
      case error::wrong_peer_id:
        return "peer id does not match";
      case error::handshake_timeout:
        return "handshake not completed in time";
      case error::keepalive_timeout:
        return "no traffic from peer within the keep-alive timeout";
      case error::peer_disconnected:
        return "peer disconnected";
      case error::connection_closed:
        return "connection closed by peer";
      case error::self_connection:
        return "the remote node is this node";
      case error::direct_connection_disallowed:
        return "the remote node does not accept direct connections";
      case error::backlog_exceeded:
        return "the remote node does not read what is sent to it (outgoing queue limit reached)";
      case error::neighbor_evicted:
        return "neighbor slot given to a node from another address (its address held the most slots)";
      case error::receive_budget_exceeded:
        return "messages in transit on this graph's links reached the memory limit";
    }
    return "unknown peergraph.protocol error";
  }
};
}  // namespace detail

/// The "peergraph.protocol" category object.
inline const std::error_category& error_category() noexcept {
  static const detail::error_category cat;
  return cat;
}

inline std::error_code make_error_code(error e) noexcept { return {static_cast<int>(e), error_category()}; }

}  // namespace peergraph::protocol

template <>
struct std::is_error_code_enum<peergraph::protocol::error> : std::true_type {};

#endif  // PEERGRAPH_PROTOCOL_ERROR_HPP
