// peergraph/connection.hpp: a handle to one neighbor or direct connection.
#ifndef PEERGRAPH_CONNECTION_HPP
#define PEERGRAPH_CONNECTION_HPP

#include <peergraph/config.hpp>
#include <peergraph/detail/connection_impl.hpp>
#include <peergraph/guid.hpp>
#include <peergraph/subscription.hpp>
#include <peergraph/transport.hpp>
#include <peergraph/types.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/associated_allocator.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/buffer.hpp>
#include <asio/execution/context.hpp>
#include <asio/query.hpp>
#include <asio/post.hpp>
#include <asio/system_executor.hpp>

#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace peergraph {

/// A handle to one established neighbor or direct connection of a graph.
///
/// Handles are cheap to copy; all copies refer to the same connection. A
/// handle stays valid after the connection ends: is_open() turns false and
/// operations on it fail with errc::connection_not_found.
///
/// Sending (PeerGraphSendData): each message is a PT2PT message, a 16-byte
/// data type GUID plus an opaque payload of 0 to graph_options::max_message_size
/// bytes. Messages arrive complete and in the order their sends were started,
/// as one incoming_data_event each. A send completes when the message is in
/// the connection's outgoing queue (handed to the network layer, as the
/// Windows API documents), not when the peer has it; flush() waits for the
/// queue to be written. The queue is bounded: while it holds more than
/// graph_options::send_high_water bytes, sends complete only once it has
/// drained to send_low_water, so a sender can never queue more than the high
/// water mark plus one message per concurrently waiting send. If the
/// connection fails, every waiting send and flush completes with the reason
/// and both ends report the disconnect.
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

  /// Bytes queued on this connection and not yet written to the socket.
  std::size_t queued_bytes() const noexcept { return impl_ ? impl_->queued_bytes() : 0; }

  /// Sends a copy of `data` as a message of type `type`.
  ///
  /// @param type the message's data type; receivers can filter on it.
  /// @param data the payload, copied before the initiating function returns.
  /// @param token completion token; signature `void(std::error_code)`.
  ///   Errors: errc::max_message_size_exceeded (nothing was queued),
  ///   errc::connection_not_found (the connection is not open), or the
  ///   reason the connection failed while the send waited.
  ///
  /// Cancellation: total, partial and terminal, while the send waits for
  /// queue space. The message stays queued and is sent; only the wait ends,
  /// with operation_aborted.
  template <typename Token = default_token>
  auto send(const guid& type, asio::const_buffer data, Token&& token = default_token{}) {
    return asio::async_initiate<Token, void(std::error_code)>(initiate_send_copy{impl_}, token, type, data);
  }

  /// Sends `data` as a message of type `type`, taking the vector over: a
  /// large payload is written from it directly, without a copy.
  ///
  /// With GCC 12, pass a named vector (`std::move(v)`), never a temporary
  /// built inside the co_await expression (see docs/style.md).
  /// Otherwise as the overload above.
  template <typename Token = default_token>
  auto send(const guid& type, std::vector<std::uint8_t>&& data, Token&& token = default_token{}) {
    return asio::async_initiate<Token, void(std::error_code)>(initiate_send_owned{impl_}, token, type,
                                                             std::move(data));
  }

  /// Completes once everything queued before it has been written to the socket.
  ///
  /// @param token completion token; signature `void(std::error_code)`.
  ///   Errors: errc::connection_not_found, or the reason the connection failed.
  /// Cancellation: total, partial and terminal; the data stays queued.
  template <typename Token = default_token>
  auto flush(Token&& token = default_token{}) {
    return asio::async_initiate<Token, void(std::error_code)>(initiate_plain{impl_, &impl_type::flush}, token);
  }

  /// Closes the connection in order (PeerGraphCloseDirectConnection; for a
  /// neighbor, a disconnect): data queued before it is written, then
  /// DISCONNECT; the peer reports `disconnected`, and so does the local node
  /// (with no reason). Completes once the socket is closed, at the latest
  /// after graph_options::close_linger.
  ///
  /// @param token completion token; signature `void(std::error_code)`.
  ///   Errors: errc::connection_not_found (not open).
  /// Cancellation: total, partial and terminal end the wait; the close goes on.
  template <typename Token = default_token>
  auto close(Token&& token = default_token{}) {
    return asio::async_initiate<Token, void(std::error_code)>(initiate_plain{impl_, &impl_type::close_op}, token);
  }

 private:
  template <typename, typename>
  friend class basic_graph;
  using impl_type = detail::connection_impl<Executor, Transport>;
  using plain_completion = typename impl_type::plain_completion;
  explicit basic_connection(std::shared_ptr<impl_type> p) noexcept : impl_(std::move(p)) {}

  template <typename Handler>
  static plain_completion make_completion(Handler&& h, const std::shared_ptr<impl_type>& impl) {
    return plain_completion(std::forward<Handler>(h), impl->get_executor());
  }

  // A send whose handler runs in the connection's execution context leaves
  // the write to that handler's return (see connection_impl::send_invoke);
  // one that runs elsewhere might never run there, so it writes at once.
  template <typename Handler>
  static bool runs_on_connection(const Handler& h, const std::shared_ptr<impl_type>& impl) {
    using assoc = asio::associated_executor_t<Handler, Executor>;
    using context_prop = asio::execution::context_as_t<asio::execution_context&>;
    if constexpr (asio::can_query<assoc, context_prop>::value && asio::can_query<Executor, context_prop>::value) {
      const auto ex = impl->get_executor();
      const context_prop ctx;
      return &asio::query(asio::get_associated_executor(h, ex), ctx) == &asio::query(ex, ctx);
    } else {
      return false;
    }
  }

  template <typename Handler, typename Payload>
  static void start_send(Handler&& h, const std::shared_ptr<impl_type>& impl, const guid& type, Payload&& payload) {
    const bool deferred = runs_on_connection(h, impl);
    bool full = false;
    const auto ec = impl->enqueue(type, std::forward<Payload>(payload), deferred, full);
    typename impl_type::send_invoke invoke{!ec && deferred ? impl : nullptr};
    if (!ec && full) {
      impl->park_send(plain_completion(std::forward<Handler>(h), impl->get_executor(), std::move(invoke)));
      return;
    }
    // The common case: complete by posting the handler straight to its
    // executor; nothing is parked, so no holder and no work guard.
    detail::post_completion(std::forward<Handler>(h), impl->get_executor(), std::move(invoke), ec);
  }

  // Operations on an empty handle have no executor of their own to complete on.
  template <typename Handler>
  static void complete_empty(Handler&& h) {
    detail::post_completion(std::forward<Handler>(h), asio::system_executor(), detail::direct_invoke{},
                            std::error_code(errc::connection_not_found));
  }

  struct initiate_send_copy {
    std::shared_ptr<impl_type> impl;
    template <typename Handler>
    void operator()(Handler&& h, const guid& type, asio::const_buffer data) const {
      if (!impl) return complete_empty(std::forward<Handler>(h));
      const std::span<const std::uint8_t> bytes(static_cast<const std::uint8_t*>(data.data()), data.size());
      start_send(std::forward<Handler>(h), impl, type, bytes);
    }
  };

  struct initiate_send_owned {
    std::shared_ptr<impl_type> impl;
    template <typename Handler>
    void operator()(Handler&& h, const guid& type, std::vector<std::uint8_t>&& data) const {
      if (!impl) return complete_empty(std::forward<Handler>(h));
      start_send(std::forward<Handler>(h), impl, type, std::move(data));
    }
  };

  struct initiate_plain {
    std::shared_ptr<impl_type> impl;
    void (impl_type::*op)(plain_completion);
    template <typename Handler>
    void operator()(Handler&& h) const {
      if (!impl) return complete_empty(std::forward<Handler>(h));
      ((*impl).*op)(make_completion(std::forward<Handler>(h), impl));
    }
  };

  std::shared_ptr<impl_type> impl_;
};

/// A connection on the default executor and TCP.
using connection = basic_connection<>;

}  // namespace peergraph

#endif // PEERGRAPH_CONNECTION_HPP
