// peergraph/connection.hpp: a handle to one neighbor or direct connection.
#ifndef PEERGRAPH_CONNECTION_HPP
#define PEERGRAPH_CONNECTION_HPP

#include <peergraph/config.hpp>
#include <peergraph/detail/connection_impl.hpp>
#include <peergraph/transport.hpp>
#include <peergraph/types.hpp>

#include <asio/any_io_executor.hpp>

#include <memory>
#include <string>

namespace peergraph {

/// A handle to one established connection of a graph.
///
/// Handles are cheap to copy; all copies refer to the same connection. A
/// handle stays valid after the connection ends: is_open() turns false and
/// operations on it fail with errc::connection_not_found.
///
/// Thread safety: distinct objects safe; shared objects unsafe. Use from the
/// graph's executor.
template <typename Executor = asio::any_io_executor, typename Transport = tcp_transport>
class basic_connection {
 public:
  using executor_type = Executor;

  /// An empty handle (is_open() is false).
  basic_connection() = default;

  executor_type get_executor() const noexcept { return impl_->get_executor(); }

  /// The connection's id, as reported in events (PEER_CONNECTION_INFO::ullConnectionId).
  connection_id id() const noexcept { return impl_ ? impl_->id() : 0; }
  connection_kind kind() const noexcept { return impl_ ? impl_->kind() : connection_kind::neighbor; }
  /// The remote node's id.
  node_id remote_node() const noexcept { return impl_ ? impl_->remote_node() : 0; }
  /// The remote node's peer id.
  std::string remote_peer_id() const { return impl_ ? impl_->remote_peer() : std::string{}; }
  /// The remote TCP endpoint of this link.
  endpoint remote_endpoint() const noexcept { return impl_ ? impl_->remote_endpoint() : endpoint{}; }
  /// Everything above at once.
  connection_info info() const { return impl_ ? impl_->info() : connection_info{}; }

  /// True while the connection is established.
  bool is_open() const noexcept { return impl_ && impl_->is_established(); }

  explicit operator bool() const noexcept { return impl_ != nullptr; }

 private:
  template <typename, typename>
  friend class basic_graph;
  using impl_type = detail::connection_impl<Executor, Transport>;
  explicit basic_connection(std::shared_ptr<impl_type> p) noexcept : impl_(std::move(p)) {}
  std::shared_ptr<impl_type> impl_;
};

/// A connection on the default executor and TCP.
using connection = basic_connection<>;

}  // namespace peergraph

#endif // PEERGRAPH_CONNECTION_HPP
