// peergraph/connection.hpp: a handle to one neighbor or direct connection.
#ifndef PEERGRAPH_CONNECTION_HPP
#define PEERGRAPH_CONNECTION_HPP

#include <peergraph/async.hpp>
#include <peergraph/config.hpp>
#include <peergraph/guid.hpp>
#include <peergraph/transport.hpp>
#include <peergraph/types.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/buffer.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace peergraph {

namespace detail {
template <typename Executor, typename Transport>
class connection_impl;
template <typename Executor, typename Transport>
struct initiate_send_copy;
template <typename Executor, typename Transport>
struct initiate_send_owned;
template <typename Executor, typename Transport>
struct initiate_flush;
template <typename Executor, typename Transport>
struct initiate_close;
template <typename Executor, typename Transport>
struct initiate_wait_room;
template <typename Executor, typename Transport>
struct initiate_open;
}  // namespace detail

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
  using impl_type = detail::connection_impl<Executor, Transport>;

 public:
  using executor_type = Executor;

  /// An empty handle (is_open() is false).
  basic_connection() = default;

  /// The graph's executor. Not for an empty handle.
  executor_type get_executor() const noexcept;

  /// The connection's id, as reported in events (PEER_CONNECTION_INFO::ullConnectionId).
  connection_id id() const noexcept;
  connection_kind kind() const noexcept;
  /// The remote node's id.
  node_id remote_node() const noexcept;
  /// The remote node's peer id.
  std::string remote_peer_id() const;
  /// The remote TCP endpoint of this link.
  endpoint remote_endpoint() const noexcept;
  /// Everything above at once.
  connection_info info() const;

  /// True while the connection is established.
  bool is_open() const noexcept;

  /// False for an empty handle.
  explicit operator bool() const noexcept { return impl_ != nullptr; }

  /// Bytes queued on this connection and not yet written to the socket.
  std::size_t queued_bytes() const noexcept;

  /// Sends a copy of `data` as one message of type `type`. `data` is any
  /// const buffer sequence: the buffers are sent one after the other as a
  /// single payload (a header and a body, say), with no copy by the caller.
  ///
  /// @param type the message's data type; receivers can filter on it.
  /// @param data the payload, copied when the operation is initiated (at
  ///   once for most tokens; for asio::deferred, when it is launched).
  /// @param token completion token; signature `void(std::error_code)`.
  ///   Errors: errc::max_message_size_exceeded (nothing was queued),
  ///   errc::connection_not_found (the connection is not open), or the
  ///   reason the connection failed while the send waited.
  ///
  /// Cancellation: total, partial and terminal, while the send waits for
  /// queue space. The message stays queued and is sent; only the wait ends,
  /// with operation_aborted.
  template <typename ConstBufferSequence, typename Token = default_token>
    requires asio::is_const_buffer_sequence<ConstBufferSequence>::value
  auto send(const guid& type, const ConstBufferSequence& data, Token&& token = default_token{}) {
    return asio::async_initiate<Token, void(std::error_code)>(detail::initiate_send_copy<Executor, Transport>{impl_},
                                                              token, type, data);
  }

  /// Sends `data` as a message of type `type`, taking the vector over: a
  /// large payload is written from it directly, without a copy.
  ///
  /// With GCC 12, pass a named vector (`std::move(v)`), never a temporary
  /// built inside the co_await expression (see docs/style.md).
  /// Otherwise as the overload above.
  template <typename Token = default_token>
  auto send(const guid& type, std::vector<std::uint8_t>&& data, Token&& token = default_token{}) {
    return asio::async_initiate<Token, void(std::error_code)>(detail::initiate_send_owned<Executor, Transport>{impl_},
                                                              token, type, std::move(data));
  }

  /// Queues a copy of `data` as one message if that needs no wait, and
  /// never suspends or blocks: for a sender that produces many small
  /// messages (one wake-up per burst instead of one per message), and for
  /// code that cannot suspend (a callback, a C API). `data` is a const
  /// buffer sequence, as for send(). Ordering, integrity and the errors of
  /// a failed connection are those of send(): a queued message is written
  /// in order, or the connection reports why it could not be. The write
  /// starts once the caller yields to the executor (or at once, when 64 KiB
  /// are waiting), so a burst leaves in few system calls.
  ///
  /// @returns an empty error_code when queued; asio::error::would_block,
  ///   queuing nothing, while more than graph_options::send_high_water bytes
  ///   are queued (then wait_writable(), or the awaited send());
  ///   errc::max_message_size_exceeded; errc::connection_not_found (empty
  ///   handle, or not open).
  template <typename ConstBufferSequence>
    requires asio::is_const_buffer_sequence<ConstBufferSequence>::value
  std::error_code try_send(const guid& type, const ConstBufferSequence& data);

  /// As above, taking the vector over when queued (left untouched when not).
  std::error_code try_send(const guid& type, std::vector<std::uint8_t>&& data);

  /// Completes once try_send() can queue again: at once while at most
  /// graph_options::send_high_water bytes are queued, otherwise once the
  /// queue has drained to graph_options::send_low_water.
  ///
  /// @param token completion token; signature `void(std::error_code)`.
  ///   Errors: errc::connection_not_found, or the reason the connection failed.
  /// Cancellation: total, partial and terminal; completes with operation_aborted.
  template <typename Token = default_token>
  auto wait_writable(Token&& token = default_token{}) {
    return asio::async_initiate<Token, void(std::error_code)>(detail::initiate_wait_room<Executor, Transport>{impl_},
                                                              token);
  }

  /// Completes once everything queued before it has been written to the socket.
  ///
  /// @param token completion token; signature `void(std::error_code)`.
  ///   Errors: errc::connection_not_found, or the reason the connection failed.
  /// Cancellation: total, partial and terminal; the data stays queued.
  template <typename Token = default_token>
  auto flush(Token&& token = default_token{}) {
    return asio::async_initiate<Token, void(std::error_code)>(detail::initiate_flush<Executor, Transport>{impl_},
                                                              token);
  }

  /// Closes the connection in order (PeerGraphCloseDirectConnection; for a
  /// neighbor, a disconnect): data queued before it is written, then
  /// DISCONNECT; the peer reports `disconnected`, and so does the local node
  /// (with no reason). Completes once the socket is closed, at the latest
  /// after graph_options::close_linger.
  ///
  /// @param token completion token; signature `void(std::error_code)`.
  ///   Errors: errc::connection_not_found (not open); errc::timeout when the
  ///   linger ran out before the queue was written (the rest was dropped),
  ///   or the error that broke the link while it was written.
  /// Cancellation: total, partial and terminal end the wait; the close goes on.
  template <typename Token = default_token>
  auto close(Token&& token = default_token{}) {
    return asio::async_initiate<Token, void(std::error_code)>(detail::initiate_close<Executor, Transport>{impl_},
                                                              token);
  }

 private:
  template <typename, typename>
  friend class basic_graph;
  template <typename, typename>
  friend struct detail::initiate_open;
  explicit basic_connection(std::shared_ptr<impl_type> p) noexcept : impl_(std::move(p)) {}

  std::shared_ptr<impl_type> impl_;
};

/// A connection on the default executor and TCP.
using connection = basic_connection<>;

}  // namespace peergraph

#include <peergraph/impl/connection.hpp>

#endif  // PEERGRAPH_CONNECTION_HPP
