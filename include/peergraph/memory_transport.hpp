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
// runs its handlers in the same order gets the same completions, byte for
// byte. The network can fail the n-th operation, reset, stall or limit links
// and refuse connects (see docs/testing.md).
#ifndef PEERGRAPH_MEMORY_TRANSPORT_HPP
#define PEERGRAPH_MEMORY_TRANSPORT_HPP

#include <peergraph/config.hpp>
#include <peergraph/detail/memory/ops.hpp>
#include <peergraph/detail/memory/state.hpp>
#include <peergraph/detail/memory/stream.hpp>
#include <peergraph/types.hpp>

#include <asio/async_result.hpp>
#include <asio/error.hpp>
#include <asio/use_awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
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
  friend class memory_network;
  explicit memory_link(std::shared_ptr<detail::memory::link_state> l) noexcept : link_(std::move(l)) {}

  template <typename F>
  auto locked(F f) const {
    std::lock_guard lock(link_->net->mutex);
    return f(*link_);
  }
  template <typename F>
  void changed(F f) const {
    detail::memory::batch b;
    {
      std::lock_guard lock(link_->net->mutex);
      f(*link_->net, *link_, b);
    }
    b.run();
  }

 public:
  std::uint64_t id() const noexcept { return link_->id; }
  /// The connecting end's local endpoint: the dialled address, a port of its own.
  endpoint connecting_endpoint() const noexcept { return link_->ends[0].local; }
  /// The accepting end's local endpoint: the endpoint that was dialled.
  endpoint accepting_endpoint() const noexcept { return link_->ends[1].local; }

  /// Bytes written into the link so far, both directions.
  std::uint64_t bytes_carried() const {
    return locked([](auto& l) { return l.carried; });
  }
  /// True while some end is not yet closed by its owner (reset or not).
  bool is_open() const {
    return locked([](auto& l) { return l.registered; });
  }
  bool is_reset() const {
    return locked([](auto& l) { return l.reset; });
  }
  bool is_stalled() const {
    return locked([](auto& l) { return l.stalled; });
  }

  /// Resets the link as a TCP RST does: unread bytes are lost and every
  /// pending and later read or write on either end fails with
  /// asio::error::connection_reset. Idempotent.
  void reset() const {
    changed([](auto& net, auto& l, auto& b) { net.reset_link(l, b); });
  }
  /// Stops the link carrying bytes: reads wait (also for eof), writes fill
  /// the pipe and then wait. A reset still gets through.
  void stall() const {
    changed([](auto&, auto& l, auto&) { l.stalled = true; });
  }
  /// Undoes stall(); waiting reads and writes proceed.
  void resume() const {
    changed([](auto& net, auto& l, auto& b) {
      l.stalled = false;
      net.progress(l, b);
    });
  }
  /// Lets the link carry at most `total` bytes since it was made, both
  /// directions together. A write takes only what is left of the budget; a
  /// write that finds it spent resets the link and fails with connection_reset.
  void limit_bytes(std::uint64_t total) const {
    changed([total](auto& net, auto& l, auto& b) {
      l.budget = total;
      net.progress(l, b);
    });
  }

  std::shared_ptr<detail::memory::link_state> link_;
};

/// An in-memory network: listeners, links, counters and faults, shared by
/// every transport, stream and listener made from it.
///
/// A listener bound to `::` receives connects to any address with its port,
/// one bound to `0.0.0.0` those to any IPv4 address, as TCP does; a second
/// listener on an address and port an open one covers gets
/// asio::error::address_in_use. Port 0 takes the next free port of a counter
/// that starts at 49152, so ports are the same from run to run; connecting
/// ends take their ports from the same counter.
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

  /// A new, empty network whose links buffer `pipe_capacity` bytes each way (at least 1).
  explicit memory_network(std::size_t pipe_capacity = default_pipe_capacity)
      : state_(std::make_shared<detail::memory::network_state>(pipe_capacity)) {}

  /// A transport that makes streams and listeners on this network.
  memory_transport transport() const noexcept;

  std::size_t pipe_capacity() const noexcept { return state_->pipe_capacity; }

  /// Makes operation number `n` (see memory_counters::operations) fail with
  /// `ec`, once. The operation completes with `ec` as if it had been
  /// started normally (posted, never inline); a read or write also resets
  /// its link, so the other end fails with connection_reset; a connect
  /// leaves its stream unconnected and reaches no listener; an accept takes
  /// no connection and leaves the listener open. Replaces an earlier setting.
  void fail_operation(std::uint64_t n, std::error_code ec = asio::error::connection_reset) {
    std::lock_guard lock(state_->mutex);
    state_->fail_at = n;
    state_->fail_ec = ec;
  }
  /// Cancels fail_operation().
  void clear_failure() {
    std::lock_guard lock(state_->mutex);
    state_->fail_at.reset();
  }

  /// The open links (see memory_link::is_open()), oldest first.
  std::vector<memory_link> links() const {
    return select([](const auto&) { return true; });
  }
  /// The open links with an end whose local endpoint `ep` matches, oldest first.
  std::vector<memory_link> links(const endpoint& ep) const {
    return select([&](const auto& l) {
      return detail::memory::touches(ep, l.ends[0].local) || detail::memory::touches(ep, l.ends[1].local);
    });
  }
  /// Resets every open link that links(ep) lists and that is not reset
  /// yet (see memory_link::reset()); returns how many.
  std::size_t reset(const endpoint& ep) {
    std::size_t n = 0;
    for (auto& l : links(ep))
      if (!l.is_reset()) l.reset(), ++n;
    return n;
  }

  /// Stalls every link, present and future, until resume() (see memory_link::stall()).
  void stall() const {
    std::lock_guard lock(state_->mutex);
    state_->stalled = true;
  }
  /// Ends stall(); links stalled one by one stay stalled.
  void resume() const {
    detail::memory::batch b;
    {
      std::lock_guard lock(state_->mutex);
      state_->stalled = false;
      for (auto& [id, l] : state_->links) state_->progress(*l, b);
    }
    b.run();
  }
  bool is_stalled() const {
    std::lock_guard lock(state_->mutex);
    return state_->stalled;
  }

  /// Connects to endpoints that `ep` matches fail with
  /// asio::error::connection_refused, listener or not, until allow(ep).
  void refuse(const endpoint& ep) {
    std::lock_guard lock(state_->mutex);
    state_->refused.push_back(ep);
  }
  /// Removes the refusal refuse(ep) made (the same pattern).
  void allow(const endpoint& ep) {
    std::lock_guard lock(state_->mutex);
    std::erase(state_->refused, ep);
  }

  /// Gives every link made from now on a byte budget (see
  /// memory_link::limit_bytes()); nullopt: no budget. Existing links keep theirs.
  void limit_new_links(std::optional<std::uint64_t> total) {
    std::lock_guard lock(state_->mutex);
    state_->new_link_budget = total;
  }

  memory_counters counters() const {
    std::lock_guard lock(state_->mutex);
    const auto& s = *state_;
    return {s.operations, s.completions.load(), s.bytes, s.links_made, s.resets, s.links.size(), s.listeners.size()};
  }

 private:
  template <typename>
  friend class memory_stream;
  template <typename>
  friend class memory_listener;
  friend class memory_transport;

  template <typename Pred>
  std::vector<memory_link> select(Pred pred) const {
    std::vector<memory_link> out;
    std::lock_guard lock(state_->mutex);
    for (const auto& [id, l] : state_->links)
      if (pred(*l))
        if (auto p = l->weak_from_this().lock()) out.push_back(memory_link(std::move(p)));
    return out;
  }

  std::shared_ptr<detail::memory::network_state> state_;
};

/// The token used when none is given: `co_await s.async_read_some(buf)`.
using memory_default_token = asio::use_awaitable_t<>;

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

  /// An unconnected stream of `net`, its operations' default executor `ex`.
  memory_stream(const executor_type& ex, const memory_network& net) : core_(ex, net.state_) {}
  /// Used by the listener to hand over an accepted end.
  memory_stream(detail::memory::adopt_tag, const executor_type& ex, std::shared_ptr<detail::memory::network_state> net,
                std::shared_ptr<detail::memory::link_state> l)
      : core_(ex, std::move(net), std::move(l)) {}

  memory_stream(memory_stream&&) noexcept = default;
  /// Closes this stream, then takes over `other`.
  memory_stream& operator=(memory_stream&&) noexcept = default;
  /// Closes the stream.
  ~memory_stream() = default;

  executor_type get_executor() const noexcept { return core_.executor(); }
  /// False once closed (or moved from).
  bool is_open() const noexcept { return core_.is_open(); }

  /// This end's endpoint. Errors: bad_descriptor (closed), not_connected.
  endpoint local_endpoint(std::error_code& ec) const { return core_.local_endpoint(ec); }
  /// The other end's endpoint: the endpoint dialled, or for an accepted
  /// stream the connecting end's own synthetic endpoint. Errors as local_endpoint().
  endpoint remote_endpoint(std::error_code& ec) const { return core_.remote_endpoint(ec); }

  /// Closes the stream: its waiting operations complete with
  /// asio::error::operation_aborted; the peer reads what was sent, then eof.
  /// Idempotent; `ec` is always cleared.
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
  template <typename Token = memory_default_token>
  auto async_connect(const endpoint& ep, Token&& token = {}) {
    return asio::async_initiate<Token, void(std::error_code)>(initiate_connect{this}, token, ep);
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
  template <typename MutableBufferSequence, typename Token = memory_default_token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token = {}) {
    return asio::async_initiate<Token, void(std::error_code, std::size_t)>(initiate_io<true>{this}, token, buffers);
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
  template <typename ConstBufferSequence, typename Token = memory_default_token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token = {}) {
    return asio::async_initiate<Token, void(std::error_code, std::size_t)>(initiate_io<false>{this}, token, buffers);
  }

 private:
  template <bool Read>
  struct initiate_io {
    memory_stream* self;
    using executor_type = Executor;
    executor_type get_executor() const noexcept { return self->get_executor(); }
    template <typename Handler, typename Buffers>
    void operator()(Handler&& h, const Buffers& buffers) const {
      self->core_.template start_io<Read>(std::decay_t<Handler>(std::forward<Handler>(h)), buffers);
    }
  };
  struct initiate_connect {
    memory_stream* self;
    using executor_type = Executor;
    executor_type get_executor() const noexcept { return self->get_executor(); }
    template <typename Handler>
    void operator()(Handler&& h, const endpoint& ep) const {
      self->core_.start_connect(std::decay_t<Handler>(std::forward<Handler>(h)), ep);
    }
  };

  detail::memory::stream_core<Executor> core_;
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

  /// Binds to `ep` on `net` (port 0: the next free port); on failure sets
  /// `ec` (asio::error::address_in_use) and the listener is closed.
  memory_listener(const executor_type& ex, const memory_network& net, const endpoint& ep, std::error_code& ec)
      : core_(ex, net.state_, ep, ec) {}

  memory_listener(memory_listener&&) noexcept = default;
  /// Closes this listener, then takes over `other`.
  memory_listener& operator=(memory_listener&&) noexcept = default;
  /// Closes the listener.
  ~memory_listener() = default;

  executor_type get_executor() const noexcept { return core_.executor(); }
  bool is_open() const noexcept { return core_.is_open(); }

  /// The bound endpoint, with its real port. Errors: bad_descriptor (closed).
  endpoint local_endpoint(std::error_code& ec) const { return core_.local_endpoint(ec); }

  /// Stops listening: waiting accepts complete with operation_aborted;
  /// connections not yet accepted are reset. Idempotent; `ec` is cleared.
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
  template <typename Token = memory_default_token>
  auto async_accept(Token&& token = {}) {
    return asio::async_initiate<Token, void(std::error_code, memory_stream<Executor>)>(initiate_accept{this}, token);
  }

 private:
  struct initiate_accept {
    memory_listener* self;
    using executor_type = Executor;
    executor_type get_executor() const noexcept { return self->get_executor(); }
    template <typename Handler>
    void operator()(Handler&& h) const {
      self->core_.template start_accept<memory_stream<Executor>>(std::decay_t<Handler>(std::forward<Handler>(h)));
    }
  };

  detail::memory::listener_core<Executor> core_;
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
  explicit memory_transport(memory_network net) noexcept : net_(std::move(net)) {}

  const memory_network& network() const noexcept { return net_; }

  /// An unconnected stream on `ex`.
  template <typename Executor>
  stream<Executor> make_stream(const Executor& ex) const {
    return stream<Executor>(ex, net_);
  }

  /// Binds a listener to `ep` on `ex` (port 0: the next free port). On
  /// failure (asio::error::address_in_use) sets `ec` and returns a closed listener.
  template <typename Executor>
  listener<Executor> listen(const Executor& ex, const endpoint_type& ep, std::error_code& ec) const {
    return listener<Executor>(ex, net_, ep, ec);
  }

  /// `s.async_connect(ep, token)`; see memory_stream::async_connect().
  template <typename Executor, typename Token>
  auto async_connect(stream<Executor>& s, const endpoint_type& ep, Token&& token) const {
    return s.async_connect(ep, std::forward<Token>(token));
  }

  /// Nothing to prepare in memory.
  template <typename Executor>
  void prepare_accepted(stream<Executor>&) const noexcept {}

 private:
  memory_network net_;
};

inline memory_transport memory_network::transport() const noexcept { return memory_transport(*this); }

}  // namespace peergraph

#endif // PEERGRAPH_MEMORY_TRANSPORT_HPP
