// peergraph/error.hpp: peergraph's error codes, conditions and their HRESULTs.
#ifndef PEERGRAPH_ERROR_HPP
#define PEERGRAPH_ERROR_HPP

#include <peergraph/config.hpp>
#include <peergraph/protocol/error.hpp>

#include <asio/error.hpp>

#include <cstdint>
#include <string>
#include <system_error>

namespace peergraph {

/// API-level errors. Each value corresponds to exactly one documented
/// HRESULT of the Peer Graphing API (see to_hresult()); the comment names it.
enum class errc {
  invalid_argument = 1,          ///< E_INVALIDARG
  out_of_memory,                 ///< E_OUTOFMEMORY
  not_initialized,               ///< PEER_E_NOT_INITIALIZED
  unsupported_version,           ///< PEER_E_UNSUPPORTED_VERSION
  invalid_graph,                 ///< PEER_E_INVALID_GRAPH (closed or unknown graph)
  duplicate_graph,               ///< PEER_E_DUPLICATE_GRAPH
  graph_not_ready,               ///< PEER_E_GRAPH_NOT_READY (never synchronized)
  graph_shutting_down,           ///< PEER_E_GRAPH_SHUTTING_DOWN
  already_listening,             ///< PEER_E_ALREADY_LISTENING
  already_exists,                ///< PEER_E_ALREADY_EXISTS (neighbor already connected)
  connect_self,                  ///< PEER_E_CONNECT_SELF
  connection_refused,            ///< PEER_E_CONNECTION_REFUSED
  connection_failed,             ///< PEER_E_CONNECTION_FAILED
  connection_not_authenticated,  ///< PEER_E_CONNECTION_NOT_AUTHENTICATED (not admitted: another graph or peer)
  connection_not_found,          ///< PEER_E_CONNECTION_NOT_FOUND
  node_not_found,                ///< PEER_E_NODE_NOT_FOUND
  not_found,                     ///< PEER_E_NOT_FOUND
  timeout,                       ///< PEER_E_TIMEOUT
  invalid_address,               ///< PEER_E_INVALID_ADDRESS
  unable_to_listen,              ///< PEER_E_UNABLE_TO_LISTEN
  event_handle_not_found,        ///< PEER_E_EVENT_HANDLE_NOT_FOUND
  max_message_size_exceeded,     ///< PEER_E_MAX_RECORD_SIZE_EXCEEDED (message above the configured maximum)
  access_denied,                 ///< E_ACCESSDENIED (only the creator may change a graph's properties)
};

/// Broad conditions for matching errors from any category:
/// `if (ec == peergraph::condition::refused) ...`
enum class condition {
  refused = 1,         ///< the remote node declined the connection
  timed_out,           ///< an operation or the handshake ran out of time
  closed,              ///< the connection or graph was closed
  protocol_violation,  ///< the remote sent something the protocol forbids
  limit_reached,       ///< a resource limit of this node ended the connection (docs/limits.md)
};

}  // namespace peergraph

template <>
struct std::is_error_code_enum<peergraph::errc> : std::true_type {};
template <>
struct std::is_error_condition_enum<peergraph::condition> : std::true_type {};

namespace peergraph {
namespace detail {

struct hresult_entry {
  errc code;
  std::int32_t hresult;
  const char* name;
  const char* message;
};

// The single table that ties errc to the documented HRESULTs; the
// compatibility shim uses it through to_hresult().
inline constexpr hresult_entry hresult_table[] = {
    {errc::invalid_argument, static_cast<std::int32_t>(0x80070057u), "E_INVALIDARG", "invalid argument"},
    {errc::out_of_memory, static_cast<std::int32_t>(0x8007000Eu), "E_OUTOFMEMORY", "out of memory"},
    {errc::not_initialized, static_cast<std::int32_t>(0x80630002u), "PEER_E_NOT_INITIALIZED",
     "peer graphing not initialized"},
    {errc::unsupported_version, static_cast<std::int32_t>(0x80632090u), "PEER_E_UNSUPPORTED_VERSION",
     "unsupported version"},
    {errc::invalid_graph, static_cast<std::int32_t>(0x80630010u), "PEER_E_INVALID_GRAPH", "invalid or closed graph"},
    {errc::duplicate_graph, static_cast<std::int32_t>(0x80630012u), "PEER_E_DUPLICATE_GRAPH", "graph already exists"},
    {errc::graph_not_ready, static_cast<std::int32_t>(0x80630013u), "PEER_E_GRAPH_NOT_READY",
     "graph has not synchronized yet"},
    {errc::graph_shutting_down, static_cast<std::int32_t>(0x80630014u), "PEER_E_GRAPH_SHUTTING_DOWN",
     "graph is shutting down"},
    {errc::already_listening, static_cast<std::int32_t>(0x80630107u), "PEER_E_ALREADY_LISTENING",
     "already listening on that address"},
    {errc::already_exists, static_cast<std::int32_t>(0x800700B7u), "PEER_E_ALREADY_EXISTS",
     "a connection to that node already exists"},
    {errc::connect_self, static_cast<std::int32_t>(0x80630106u), "PEER_E_CONNECT_SELF",
     "cannot connect to the local node"},
    {errc::connection_refused, static_cast<std::int32_t>(0x8063010Bu), "PEER_E_CONNECTION_REFUSED",
     "connection refused by the remote node"},
    {errc::connection_failed, static_cast<std::int32_t>(0x80630109u), "PEER_E_CONNECTION_FAILED", "connection failed"},
    {errc::connection_not_authenticated, static_cast<std::int32_t>(0x8063010Au), "PEER_E_CONNECTION_NOT_AUTHENTICATED",
     "the remote node closed the connection during authentication: it belongs to another graph, or is not the "
     "expected peer"},
    {errc::connection_not_found, static_cast<std::int32_t>(0x80630103u), "PEER_E_CONNECTION_NOT_FOUND",
     "no connection with that id"},
    {errc::node_not_found, static_cast<std::int32_t>(0x80630108u), "PEER_E_NODE_NOT_FOUND", "no node with that id"},
    {errc::not_found, static_cast<std::int32_t>(0x80070490u), "PEER_E_NOT_FOUND", "not found"},
    {errc::timeout, static_cast<std::int32_t>(0x80637005u), "PEER_E_TIMEOUT", "operation timed out"},
    {errc::invalid_address, static_cast<std::int32_t>(0x80637007u), "PEER_E_INVALID_ADDRESS", "invalid address"},
    {errc::unable_to_listen, static_cast<std::int32_t>(0x80632096u), "PEER_E_UNABLE_TO_LISTEN",
     "unable to listen on that address"},
    {errc::event_handle_not_found, static_cast<std::int32_t>(0x80630501u), "PEER_E_EVENT_HANDLE_NOT_FOUND",
     "unknown event registration"},
    {errc::max_message_size_exceeded, static_cast<std::int32_t>(0x80630304u), "PEER_E_MAX_RECORD_SIZE_EXCEEDED",
     "message larger than the configured maximum"},
    {errc::access_denied, static_cast<std::int32_t>(0x80070005u), "E_ACCESSDENIED", "access denied"},
};

inline const hresult_entry* find_entry(errc e) noexcept {
  for (const auto& row : hresult_table)
    if (row.code == e) return &row;
  return nullptr;
}

class errc_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "peergraph"; }
  std::string message(int ev) const override {
    if (const auto* row = find_entry(static_cast<errc>(ev))) return row->message;
    return "unknown peergraph error";
  }
  bool equivalent(int ev, const std::error_condition& cond) const noexcept override;
};

class condition_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "peergraph.condition"; }
  std::string message(int ev) const override {
    switch (static_cast<condition>(ev)) {
      case condition::refused:
        return "refused";
      case condition::timed_out:
        return "timed out";
      case condition::closed:
        return "closed";
      case condition::protocol_violation:
        return "protocol violation";
      case condition::limit_reached:
        return "resource limit reached";
    }
    return "unknown peergraph condition";
  }
  bool equivalent(const std::error_code& ec, int cond) const noexcept override;
};

}  // namespace detail

/// The "peergraph" category object.
inline const std::error_category& error_category() noexcept {
  static const detail::errc_category_impl cat;
  return cat;
}

/// The "peergraph.condition" category object.
inline const std::error_category& condition_category() noexcept {
  static const detail::condition_category_impl cat;
  return cat;
}

inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), error_category()}; }
inline std::error_condition make_error_condition(condition c) noexcept {
  return {static_cast<int>(c), condition_category()};
}

/// The documented HRESULT name of an errc value ("PEER_E_CONNECT_SELF").
inline const char* hresult_name(errc e) noexcept {
  const auto* row = detail::find_entry(e);
  return row ? row->name : "E_FAIL";
}

/// Maps any error peergraph reports onto the documented HRESULT an
/// application of the Windows API would see. 0 (S_OK) for no error.
inline std::int32_t to_hresult(const std::error_code& ec) noexcept {
  constexpr auto e_fail = static_cast<std::int32_t>(0x80004005u);
  constexpr auto e_abort = static_cast<std::int32_t>(0x80004004u);
  if (!ec) return 0;
  if (ec.category() == error_category()) {
    const auto* row = detail::find_entry(static_cast<errc>(ec.value()));
    return row ? row->hresult : e_fail;
  }
  if (ec == asio::error::operation_aborted) return e_abort;
  if (ec.category() == protocol::error_category()) {
    if (ec == protocol::error::handshake_timeout) return detail::find_entry(errc::timeout)->hresult;
    if (ec == protocol::error::self_connection) return detail::find_entry(errc::connect_self)->hresult;
    if (ec == protocol::error::direct_connection_disallowed)
      return detail::find_entry(errc::connection_refused)->hresult;
    if (ec == protocol::error::wrong_graph_id || ec == protocol::error::wrong_peer_id)
      return detail::find_entry(errc::connection_not_authenticated)->hresult;
    return detail::find_entry(errc::connection_failed)->hresult;
  }
  if (ec == asio::error::connection_refused || ec == std::errc::connection_refused)
    return detail::find_entry(errc::connection_refused)->hresult;
  return detail::find_entry(errc::connection_failed)->hresult;
}

namespace detail {

inline bool errc_category_impl::equivalent(int ev, const std::error_condition& cond) const noexcept {
  if (cond.category() != peergraph::condition_category()) return std::error_category::equivalent(ev, cond);
  switch (static_cast<condition>(cond.value())) {
    case condition::refused:
      return ev == static_cast<int>(errc::connection_refused) || ev == static_cast<int>(errc::already_exists) ||
             ev == static_cast<int>(errc::connect_self) || ev == static_cast<int>(errc::connection_not_authenticated);
    case condition::timed_out:
      return ev == static_cast<int>(errc::timeout);
    case condition::closed:
      return ev == static_cast<int>(errc::invalid_graph) || ev == static_cast<int>(errc::graph_shutting_down);
    case condition::protocol_violation:
    case condition::limit_reached:
      return false;
  }
  return false;
}

inline bool condition_category_impl::equivalent(const std::error_code& ec, int cond) const noexcept {
  using protocol::error;
  switch (static_cast<condition>(cond)) {
    case condition::refused:
      return ec == asio::error::connection_refused || ec == std::errc::connection_refused ||
             ec == error::self_connection || ec == error::direct_connection_disallowed || ec == error::wrong_graph_id ||
             ec == error::wrong_peer_id;
    case condition::timed_out:
      return ec == error::handshake_timeout || ec == error::keepalive_timeout || ec == asio::error::timed_out ||
             ec == std::errc::timed_out;
    case condition::closed:
      return ec == error::peer_disconnected || ec == error::connection_closed || ec == asio::error::eof ||
             ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
             ec == asio::error::operation_aborted;
    case condition::protocol_violation:
      return ec.category() == protocol::error_category() && ec != error::handshake_timeout &&
             ec != error::keepalive_timeout && ec != error::peer_disconnected && ec != error::connection_closed &&
             ec != error::self_connection && ec != error::direct_connection_disallowed && ec != error::wrong_graph_id &&
             ec != error::wrong_peer_id && ec != error::backlog_exceeded && ec != error::neighbor_evicted &&
             ec != error::receive_budget_exceeded;
    case condition::limit_reached:
      return ec == error::backlog_exceeded || ec == error::neighbor_evicted || ec == error::receive_budget_exceeded;
  }
  return false;
}

}  // namespace detail
}  // namespace peergraph

#endif  // PEERGRAPH_ERROR_HPP
