// peergraph/memory_transport.hpp: links inside one process, with fault injection, for tests.
//
// A memory_network is a set of listeners and links that exists only in
// memory; memory_transport plugs it into basic_graph through the transport
// seam (transport.hpp):
//
//   peergraph::memory_network net;
//   using mem_graph = peergraph::basic_graph<asio::any_io_executor, peergraph::memory_transport>;
//   auto a = mem_graph::create(io, props, opts, net.transport());
//
// Streams behave like TCP connections: each direction is a bounded byte pipe,
// reads return what is there, writes take what fits, a closed peer gives eof
// after the last byte. Nothing uses a thread or a clock, so a program that
// makes the same calls from one thread gets the same completions in the
// same order, byte for byte. The network can fail the n-th operation,
// reset, stall or limit links and refuse connects (see docs/testing.md).
#ifndef PEERGRAPH_MEMORY_TRANSPORT_HPP
#define PEERGRAPH_MEMORY_TRANSPORT_HPP

#include <peergraph/async.hpp>
#include <peergraph/config.hpp>
#include <peergraph/detail/memory/control.hpp>
#include <peergraph/detail/memory/ops.hpp>
#include <peergraph/detail/memory/state.hpp>
#include <peergraph/detail/memory/stream.hpp>
#include <peergraph/types.hpp>

#include <asio/async_result.hpp>
#include <asio/error.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

namespace peergraph {

class memory_transport;

/// Counters of a memory_network, for tests (leaks, sweeps, traffic).
struct memory_counters {
  /// Operations started: calls of async_connect, async_accept, async_read_some
  /// and async_write_some on the network's objects, whatever their outcome.
  /// fail_operation() numbers them from 0 in this order.
  std::uint64_t operations = 0;
  /// Handlers of those operations that have run. Equal to `operations` once
  /// every operation has completed and its handler has been called.
  std::uint64_t completions = 0;
  std::uint64_t bytes = 0;         ///< bytes written into links, both directions, all links
  std::uint64_t links_made = 0;    ///< connects that made a link
  std::uint64_t resets = 0;        ///< links reset: by a fault, by reset(), or by a spent byte budget
  std::size_t open_links = 0;      ///< links of which an end is not yet closed by its owner
  std::size_t open_listeners = 0;  ///< listeners not yet closed
};

/// A handle to one link (a connection) of a memory_network, found through
/// memory_network::links(). End 0 is the stream that connected, end 1 the
/// accepted one.
///
/// Lifetime: the handle keeps the link's bookkeeping alive, not its streams;
/// operations on a link whose ends are closed do nothing harmful.
///
/// Thread safety: every member may be called from any thread.
class memory_link {
 public:
  /// The link's number: 1 for the first link the network made, then 2, ...
  std::uint64_t id() const noexcept { return link_->id; }
  /// The connecting end's local endpoint: the dialled address, a port of its own.
  endpoint connecting_endpoint() const noexcept { return link_->ends[0].local; }
  /// The accepting end's local endpoint: the endpoint that was dialled.
  endpoint accepting_endpoint() const noexcept { return link_->ends[1].local; }

  /// Bytes written into the link so far, both directions.
  std::uint64_t bytes_carried() const { return detail::memory::facts(*link_).carried; }
  /// True while some end is not yet closed by its owner (reset or not).
  bool is_open() const { return detail::memory::facts(*link_).open; }
  /// True once reset() or a fault has reset the link.
  bool is_reset() const { return detail::memory::facts(*link_).reset; }
  /// True between stall() and resume() (a stalled network is not counted here).
  bool is_stalled() const { return detail::memory::facts(*link_).stalled; }

  /// Resets the link as a TCP RST does: unread bytes are lost and every
  /// pending and later read or write on either end fails with
  /// asio::error::connection_reset. Idempotent.
  void reset() const { detail::memory::reset(*link_); }
  /// Stops the link carrying bytes: reads wait (also for eof), writes fill
  /// the pipe and then wait. A reset still gets through.
  void stall() const { detail::memory::set_stalled(*link_, true); }
  /// Undoes stall(); waiting reads and writes proceed.
  void resume() const { detail::memory::set_stalled(*link_, false); }
  /// Lets the link carry at most `total` bytes since it was made, both
  /// directions together. A write takes only what is left of the budget; a
  /// write that finds it spent resets the link and fails with connection_reset.
  ///
  /// @param total the budget; a link that has carried as much already is
  ///   reset by its next write.
  void limit_bytes(std::uint64_t total) const { detail::memory::set_budget(*link_, total); }

 private:
  friend class memory_network;
  explicit memory_link(std::shared_ptr<detail::memory::link_state> l) noexcept : link_(std::move(l)) {}

  std::shared_ptr<detail::memory::link_state> link_;
};

/// An in-memory network: listeners, links, counters and faults, shared by
/// every transport, stream and listener made from it.
///
/// A listener bound to `::` receives connects to any address with its port,
/// one bound to `0.0.0.0` those to any IPv4 address, as TCP does; a second
/// listener on an address and port an open one covers gets
/// asio::error::address_in_use. Port 0 takes the next free port of the
/// address's own counter, which starts at 49152, so ports are the same from
/// run to run; a connecting end takes its port from the counter of the
/// address it dialled.
///
/// Endpoint patterns: where a function takes an endpoint to select links or
/// connects, an unspecified address (`::`, `0.0.0.0`) matches as a listener
/// bound to it would; the port must match.
///
/// Lifetime: a cheap handle; copies share the network, which lives as long
/// as a handle, transport, stream, listener or link refers to it.
///
/// Thread safety: every member may be called from any thread; a mutex
/// guards the shared state, so graphs on different threads or strands may
/// share one network.
class memory_network {
 public:
  static constexpr std::size_t default_pipe_capacity = 256 * 1024;

  /// A new, empty network.
  ///
  /// @param pipe_capacity the bytes each direction of a link buffers (at least 1).
  explicit memory_network(std::size_t pipe_capacity = default_pipe_capacity)
      : state_(std::make_shared<detail::memory::network_state>(pipe_capacity)) {}

  /// A transport that makes streams and listeners on this network.
  memory_transport transport() const noexcept;

  /// The bytes each direction of a link buffers.
  std::size_t pipe_capacity() const noexcept { return state_->pipe_capacity; }

  /// Makes operation number `n` (see memory_counters::operations) fail with
  /// `ec`, once. The operation completes with `ec` as if it had been
  /// started normally (posted, never inline); a read or write also resets
  /// its link, so the other end fails with connection_reset; a connect
  /// leaves its stream unconnected and reaches no listener; an accept takes
  /// no connection and leaves the listener open. Replaces an earlier setting.
  ///
  /// @param n the operation's number; one already started never fails.
  /// @param ec the error it completes with.
  void fail_operation(std::uint64_t n, std::error_code ec = asio::error::connection_reset) const {
    detail::memory::set_failure(*state_, n, ec);
  }
  /// Cancels fail_operation().
  void clear_failure() const { detail::memory::set_failure(*state_, std::nullopt, {}); }

  /// The open links (see memory_link::is_open()), oldest first.
  std::vector<memory_link> links() const {
    return handles(detail::memory::select(*state_, [](const auto&) { return true; }));
  }
  /// The open links with an end whose local endpoint `ep` matches, oldest first.
  ///
  /// @param ep a pattern: an endpoint, or an unspecified address and a port.
  std::vector<memory_link> links(const endpoint& ep) const {
    return handles(detail::memory::select(*state_, [&](const auto& l) { return detail::memory::touches_link(ep, l); }));
  }
  /// Resets the links that links(ep) lists (see memory_link::reset()).
  ///
  /// @param ep a pattern, as for links(ep).
  /// @returns how many of them were not reset yet.
  std::size_t reset(const endpoint& ep) const {
    std::size_t n = 0;
    for (const auto& l : links(ep))
      if (!l.is_reset()) l.reset(), ++n;
    return n;
  }

  /// Stalls every link, present and future, until resume() (see memory_link::stall()).
  void stall() const { detail::memory::set_stalled(*state_, true); }
  /// Ends stall(); links stalled one by one stay stalled.
  void resume() const { detail::memory::set_stalled(*state_, false); }
  /// True between stall() and resume().
  bool is_stalled() const {
    return detail::memory::inspect(*state_, [](const auto& s) { return s.stalled; });
  }

  /// Connects to endpoints that `ep` matches fail with
  /// asio::error::connection_refused, listener or not, until allow(ep).
  ///
  /// @param ep a pattern, as for links(ep).
  void refuse(const endpoint& ep) const { detail::memory::set_refused(*state_, ep, true); }
  /// Removes the refusal refuse(ep) made.
  ///
  /// @param ep the pattern given to refuse().
  void allow(const endpoint& ep) const { detail::memory::set_refused(*state_, ep, false); }

  /// Gives every link made from now on a byte budget (see
  /// memory_link::limit_bytes()). Existing links keep theirs.
  ///
  /// @param total the budget of each new link; nullopt: none.
  void limit_new_links(std::optional<std::uint64_t> total) const {
    detail::memory::set_new_link_budget(*state_, total);
  }

  /// The counters now (see memory_counters).
  memory_counters counters() const {
    return detail::memory::inspect(*state_, [](const auto& s) {
      return memory_counters{s.operations, s.completions.load(), s.bytes,           s.links_made,
                             s.resets,     s.links.size(),       s.listeners.size()};
    });
  }

 private:
  template <typename>
  friend class memory_stream;
  template <typename>
  friend class memory_listener;

  static std::vector<memory_link> handles(std::vector<std::shared_ptr<detail::memory::link_state>> ls) {
    std::vector<memory_link> out;
    for (auto& l : ls) out.push_back(memory_link(std::move(l)));
    return out;
  }

  std::shared_ptr<detail::memory::network_state> state_;
};

/// A byte stream of a memory_network, as a connected TCP socket is one:
/// AsyncReadStream and AsyncWriteStream, usable with asio::async_read,
/// asio::async_write and every completion token.
///
/// Semantics: each direction of a link is a pipe of
/// memory_network::pipe_capacity() bytes. A write takes what fits and
/// completes with that count; it waits only when the pipe is full. A read
/// takes what is there, up to its buffers, and waits only when nothing is.
/// Bytes arrive in order. Once the peer has closed, reads return what is
/// left, then asio::error::eof; writes fail with asio::error::broken_pipe
/// (the bytes still in the pipe towards the closed end are dropped). A reset
/// link fails every read and write with asio::error::connection_reset.
/// Operations of the same direction complete in the order they were started.
/// Zero-byte reads and writes complete at once with 0 on an open stream.
///
/// Errors on the stream itself: asio::error::bad_descriptor once closed (or
/// moved from), asio::error::not_connected before a connect succeeded.
///
/// Lifetime: the destructor closes the stream. Handlers of operations still
/// waiting when the execution context shuts down are destroyed without
/// being called, as with Asio's sockets.
///
/// Thread safety: distinct objects safe; shared objects unsafe. The two
/// ends of a link may be used from different threads.
template <typename Executor>
class memory_stream {
 public:
  using executor_type = Executor;
  template <typename Other>
  struct rebind_executor {
    using other = memory_stream<Other>;
  };

  /// An unconnected stream.
  ///
  /// @param ex the executor its handlers run on unless they have their own.
  /// @param net the network it connects in.
  memory_stream(const executor_type& ex, const memory_network& net) : core_(ex, net.state_) {}
  /// Used by the listener to hand over an accepted end.
  memory_stream(detail::memory::adopt_tag, const executor_type& ex, std::shared_ptr<detail::memory::network_state> net,
                std::shared_ptr<detail::memory::link_state> l)
      : core_(ex, std::move(net), std::move(l)) {}

  /// Takes over `other`'s end of its link; `other` is left closed.
  memory_stream(memory_stream&&) noexcept = default;
  /// Closes this stream, then takes over `other`.
  memory_stream& operator=(memory_stream&&) noexcept = default;
  /// Closes the stream.
  ~memory_stream() = default;

  /// The executor given at construction (the listener's, for an accepted stream).
  executor_type get_executor() const noexcept { return core_.executor(); }
  /// False once closed (or moved from).
  bool is_open() const noexcept { return core_.is_open(); }

  /// This end's endpoint: for the connecting end the dialled address and a
  /// port of its own, for an accepted one the endpoint dialled.
  ///
  /// @param ec set to bad_descriptor (closed) or not_connected, else cleared.
  endpoint local_endpoint(std::error_code& ec) const { return core_.local_endpoint(ec); }
  /// The other end's local endpoint.
  ///
  /// @param ec as for local_endpoint().
  endpoint remote_endpoint(std::error_code& ec) const { return core_.remote_endpoint(ec); }

  /// Closes the stream: its waiting operations complete with
  /// asio::error::operation_aborted; the peer reads what was sent, then eof.
  /// Idempotent.
  ///
  /// @param ec always cleared.
  void close(std::error_code& ec) {
    ec.clear();
    core_.close();
  }

  /// Connects to the listener of `ep` on the same network. Completes at once
  /// (posted): the link exists when the handler runs, the listener's next
  /// accept takes it.
  ///
  /// @param ep the endpoint to connect to.
  /// @param token completion token; signature `void(std::error_code)`. Errors:
  ///   asio::error::connection_refused (no listener covers `ep`, or the
  ///   network refuses it), already_connected, bad_descriptor, address_in_use
  ///   (no port left), or an error injected by memory_network::fail_operation().
  ///
  /// Cancellation: none needed; it never waits.
  template <typename Token = default_token>
  auto async_connect(const endpoint& ep, Token&& token = {}) {
    return asio::async_initiate<Token, void(std::error_code)>(typename core_type::initiate_connect{&core_}, token, ep);
  }

  /// Reads at least one byte into `buffers`, or none if they are empty.
  ///
  /// @param buffers where to put the bytes; they must stay valid until the
  ///   handler is called.
  /// @param token completion token; signature `void(std::error_code, std::size_t)`.
  ///   Errors: eof, connection_reset, operation_aborted, bad_descriptor,
  ///   not_connected, or an injected error.
  ///
  /// Cancellation: terminal, partial and total; a waiting read has read
  /// nothing and completes with operation_aborted and 0.
  template <typename MutableBufferSequence, typename Token = default_token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token = {}) {
    return asio::async_initiate<Token, void(std::error_code, std::size_t)>(
        typename core_type::template initiate_io<true>{&core_}, token, buffers);
  }

  /// Writes at least one byte of `buffers` (as many as fit in the pipe), or
  /// none if they are empty.
  ///
  /// @param buffers the bytes; they must stay valid until the handler is called.
  /// @param token completion token; signature `void(std::error_code, std::size_t)`.
  ///   Errors: broken_pipe, connection_reset (also when the link's byte
  ///   budget is spent), operation_aborted, bad_descriptor, not_connected,
  ///   or an injected error.
  ///
  /// Cancellation: terminal, partial and total; a waiting write has written
  /// nothing and completes with operation_aborted and 0.
  template <typename ConstBufferSequence, typename Token = default_token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token = {}) {
    return asio::async_initiate<Token, void(std::error_code, std::size_t)>(
        typename core_type::template initiate_io<false>{&core_}, token, buffers);
  }

 private:
  using core_type = detail::memory::stream_core<Executor>;
  core_type core_;
};

/// A listening endpoint of a memory_network, made by memory_transport::listen().
///
/// Connections wait in an unbounded backlog until accepted. Closing the
/// listener resets the connections still in it.
///
/// Lifetime: the destructor closes the listener.
///
/// Thread safety: distinct objects safe; shared objects unsafe.
template <typename Executor>
class memory_listener {
 public:
  using executor_type = Executor;

  /// Binds to `ep`; on failure the listener is closed.
  ///
  /// @param ex the executor of its handlers and of the streams it accepts.
  /// @param net the network it listens in.
  /// @param ep where: port 0 takes the next free port.
  /// @param ec set to asio::error::address_in_use on failure, else cleared.
  memory_listener(const executor_type& ex, const memory_network& net, const endpoint& ep, std::error_code& ec)
      : core_(ex, net.state_, ep, ec) {}

  /// Takes over `other`'s binding; `other` is left closed.
  memory_listener(memory_listener&&) noexcept = default;
  /// Closes this listener, then takes over `other`.
  memory_listener& operator=(memory_listener&&) noexcept = default;
  /// Closes the listener.
  ~memory_listener() = default;

  /// The executor given at construction.
  executor_type get_executor() const noexcept { return core_.executor(); }
  /// False once closed, or if binding failed.
  bool is_open() const noexcept { return core_.is_open(); }

  /// The bound endpoint, with its real port.
  ///
  /// @param ec set to bad_descriptor if closed, else cleared.
  endpoint local_endpoint(std::error_code& ec) const { return core_.local_endpoint(ec); }

  /// Stops listening: waiting accepts complete with operation_aborted;
  /// connections not yet accepted are reset. Idempotent.
  ///
  /// @param ec always cleared.
  void close(std::error_code& ec) {
    ec.clear();
    core_.close();
  }

  /// Takes the next connection, waiting for one if there is none.
  ///
  /// @param token completion token; signature
  ///   `void(std::error_code, memory_stream<Executor>)`, the stream on this
  ///   listener's executor (closed on error). Errors: operation_aborted,
  ///   bad_descriptor, or an injected error.
  ///
  /// Cancellation: terminal, partial and total; a waiting accept completes
  /// with operation_aborted and takes no connection.
  template <typename Token = default_token>
  auto async_accept(Token&& token = {}) {
    return asio::async_initiate<Token, void(std::error_code, memory_stream<Executor>)>(
        typename core_type::template initiate_accept<memory_stream<Executor>>{&core_}, token);
  }

 private:
  using core_type = detail::memory::listener_core<Executor>;
  core_type core_;
};

/// The transport of basic_graph<Executor, memory_transport>: streams and
/// listeners on one memory_network (see transport.hpp for the contract).
///
/// Thread safety: const members may be called from any thread; copies share the network.
class memory_transport {
 public:
  using endpoint_type = endpoint;
  template <typename Executor>
  using stream = memory_stream<Executor>;
  template <typename Executor>
  using listener = memory_listener<Executor>;

  /// A transport on `net`.
  ///
  /// @param net the network its streams and listeners belong to.
  explicit memory_transport(memory_network net) noexcept : net_(std::move(net)) {}

  /// The network it was made with.
  const memory_network& network() const noexcept { return net_; }

  /// An unconnected stream.
  ///
  /// @param ex the stream's executor.
  template <typename Executor>
  stream<Executor> make_stream(const Executor& ex) const {
    return stream<Executor>(ex, net_);
  }

  /// Binds a listener; on failure it is returned closed (see memory_listener).
  ///
  /// @param ex the listener's executor.
  /// @param ep where: port 0 takes the next free port.
  /// @param ec set to asio::error::address_in_use on failure, else cleared.
  template <typename Executor>
  listener<Executor> listen(const Executor& ex, const endpoint_type& ep, std::error_code& ec) const {
    return listener<Executor>(ex, net_, ep, ec);
  }

  /// Connects `s`: `s.async_connect(ep, token)`.
  ///
  /// @param s an unconnected stream of this network.
  /// @param ep the endpoint to connect to.
  /// @param token completion token; signature `void(std::error_code)`, see
  ///   memory_stream::async_connect() for errors and cancellation.
  template <typename Executor, typename Token>
  auto async_connect(stream<Executor>& s, const endpoint_type& ep, Token&& token) const {
    return s.async_connect(ep, std::forward<Token>(token));
  }

  /// Does nothing: an accepted memory stream needs no options.
  template <typename Executor>
  void prepare_accepted(stream<Executor>&) const noexcept {}

 private:
  memory_network net_;
};

inline memory_transport memory_network::transport() const noexcept { return memory_transport(*this); }

}  // namespace peergraph

#endif  // PEERGRAPH_MEMORY_TRANSPORT_HPP
