// peergraph/graph.hpp: one node of a peer graph.
#ifndef PEERGRAPH_GRAPH_HPP
#define PEERGRAPH_GRAPH_HPP

#include <peergraph/async.hpp>
#include <peergraph/config.hpp>
#include <peergraph/connection.hpp>
#include <peergraph/detail/completion.hpp>
#include <peergraph/detail/wait_condition.hpp>
#include <peergraph/error.hpp>
#include <peergraph/events.hpp>
#include <peergraph/options.hpp>
#include <peergraph/subscription.hpp>
#include <peergraph/transport.hpp>
#include <peergraph/types.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/buffer.hpp>
#include <asio/execution_context.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace peergraph {

namespace detail {
template <typename Executor, typename Transport>
class graph_impl;
template <typename Executor, typename Transport>
struct initiate_wait;
template <typename Executor, typename Transport>
struct initiate_graceful_close;
}  // namespace detail

/// One node of one peer graph (an HGRAPH).
///
/// A node is identified by the graph id, the local peer id and a random
/// 64-bit node id that is new for every graph object. It is made with
/// create() (a new graph; the node counts as synchronized and may listen at
/// once) or open() (joining an existing graph; it may listen only after its
/// first neighbor connection has synchronized it). Neither touches the network.
///
/// Events are received through subscriptions (subscribe()); operations that
/// wait on the network take an Asio completion token and default to
/// `asio::use_awaitable`.
///
/// Lifetime: the object owns the node. close() or the destructor closes
/// every connection and completes every pending operation with
/// asio::error::operation_aborted. Handles (connections, subscriptions) may
/// outlive it; they then report the graph as closed.
///
/// Thread safety: distinct objects safe; shared objects unsafe. Call member
/// functions from the graph's executor (a single-threaded io_context, or a
/// strand); completion handlers run on their associated executors.
///
/// @tparam Executor the executor everything runs on.
/// @tparam Transport how bytes move (see transport.hpp); TCP by default.
template <typename Executor = asio::any_io_executor, typename Transport = tcp_transport>
class basic_graph {
  using impl_type = detail::graph_impl<Executor, Transport>;

 public:
  using executor_type = Executor;
  using transport_type = Transport;
  using connection_type = basic_connection<Executor, Transport>;
  template <typename... Events>
  using subscription_type = basic_subscription<Executor, Events...>;

  // ------------------------------------------------------------ making a node

  /// Creates a new graph whose first node is this one (PeerGraphCreate).
  /// The local peer id is `props.creator_id`.
  ///
  /// @throws std::system_error with errc::invalid_argument if the graph id
  ///   or creator id is empty, longer than 255 bytes, or contains NUL, if
  ///   the friendly name or comment is too long (255 and 511 bytes) or
  ///   contains NUL, or if `opts.friendly_name` is bad in the same way.
  static basic_graph create(const executor_type& ex, graph_properties props, graph_options opts = {},
                            Transport transport = {});

  /// Opens an existing graph as peer `peer_id` (PeerGraphOpen). The node
  /// cannot listen until it has synchronized with a first neighbor; its
  /// properties are those of the graph once the first neighbor sent them.
  ///
  /// @throws std::system_error with errc::invalid_argument for a bad id.
  static basic_graph open(const executor_type& ex, std::string graph_id, std::string peer_id, graph_options opts = {},
                          Transport transport = {});

  /// As above, on an execution context's executor (`graph::create(io, ...)`).
  template <typename Context>
    requires std::is_convertible_v<Context&, asio::execution_context&>
  static basic_graph create(Context& ctx, graph_properties props, graph_options opts = {}, Transport transport = {}) {
    return create(executor_type(ctx.get_executor()), std::move(props), std::move(opts), std::move(transport));
  }
  template <typename Context>
    requires std::is_convertible_v<Context&, asio::execution_context&>
  static basic_graph open(Context& ctx, std::string graph_id, std::string peer_id, graph_options opts = {},
                          Transport transport = {}) {
    return open(executor_type(ctx.get_executor()), std::move(graph_id), std::move(peer_id), std::move(opts),
                std::move(transport));
  }

  basic_graph(basic_graph&&) noexcept = default;
  basic_graph& operator=(basic_graph&& other) noexcept;
  basic_graph(const basic_graph&) = delete;
  basic_graph& operator=(const basic_graph&) = delete;

  /// Closes the graph (see close()).
  ~basic_graph() { close(); }

  // ------------------------------------------------------------ identity and state

  executor_type get_executor() const noexcept;

  const std::string& graph_id() const noexcept;
  /// The local peer id.
  const std::string& peer_id() const noexcept;
  /// This node's id: random, non-zero, new for every graph object.
  node_id id() const noexcept;

  /// The graph's properties as this node knows them (PeerGraphGetProperties):
  /// the creator's, as replicated to every node; for an opened graph only
  /// the graph id until a first neighbor has sent them (synchronized).
  const graph_properties& properties() const noexcept;

  /// Changes the mutable properties (PeerGraphSetProperties): friendly
  /// name, comment, presence lifetime and presence maximum; the other fields
  /// of `props` are ignored. Only the graph's creator may; the change is
  /// flooded to every node.
  ///
  /// @throws std::system_error: errc::access_denied (this peer is not the
  ///   creator), errc::invalid_argument (a string too long or containing
  ///   NUL, a zero presence lifetime), errc::graph_not_ready (opened and never
  ///   synchronized), errc::invalid_graph (closed).
  void set_properties(const graph_properties& props);
  /// As above, reporting failure through `ec`.
  void set_properties(const graph_properties& props, std::error_code& ec);

  /// The local engine settings the graph was made with.
  const graph_options& options() const noexcept;

  /// Listening, has-connections and synchronized flags (PeerGraphGetStatus).
  graph_status status() const noexcept;

  /// False once closed.
  bool is_open() const noexcept;

  // ------------------------------------------------------------ listening and connecting

  /// Starts accepting connections on `ep` (PeerGraphListen). Port 0 picks a
  /// free port. May be called again for further endpoints (an IPv6 and an
  /// IPv4 one, say). An IPv6 wildcard listener also takes IPv4 where the
  /// system allows it.
  ///
  /// @returns the endpoint actually bound (with the real port).
  /// @throws std::system_error: errc::graph_not_ready (opened and never
  ///   synchronized), errc::already_listening, errc::invalid_graph (closed),
  ///   or the system's error (address in use, ...).
  endpoint listen(const endpoint& ep);
  /// As above, reporting failure through `ec`.
  endpoint listen(const endpoint& ep, std::error_code& ec);

  /// The endpoints this node listens on, with their real ports.
  std::vector<endpoint> local_endpoints() const;

  /// A connection id not in use on this node, for connect_options::id: the
  /// id the connection will have, known before the connect completes (as
  /// PeerGraphConnect returns it at once).
  connection_id new_connection_id();

  /// Makes a neighbor connection to the node listening at `ep` (PeerGraphConnect).
  ///
  /// Completes once the remote node has accepted (WELCOME), or fails. Unless
  /// its arguments are bad or the graph is closed (which only complete the
  /// operation), the attempt is also reported by one
  /// neighbor_connection_event, connected or failed, under the connection's
  /// id; the remote node reports it too once the link exists.
  ///
  /// @param ep the remote node's address.
  /// @param opts expected peer id, timeout (default
  ///   graph_options::connect_timeout) and the connection's id.
  /// @param token completion token; signature `void(std::error_code, connection_type)`.
  ///   Errors: errc::already_exists (a neighbor connection to that node
  ///   exists; detected locally for a known address, else by the remote),
  ///   errc::connect_self, errc::connection_refused (busy), errc::timeout,
  ///   errc::invalid_address, errc::invalid_argument (a bad peer id, or an
  ///   id that is in use), errc::invalid_graph, the system's error from the
  ///   TCP connect, asio::error::operation_aborted, and protocol::error values:
  ///   the remote broke the protocol, or did not admit this node. [MS-PPGRH]
  ///   has a responder close without a word when AUTH_INFO names another
  ///   graph or another peer, so the initiator tells what it can:
  ///   protocol::error::wrong_graph_id when no peer id was expected (only
  ///   the graph can differ), errc::connection_not_authenticated when one
  ///   was (another graph, or not that peer), and
  ///   protocol::error::wrong_peer_id when the WELCOME names another peer.
  ///   All of these, and every refusal, match condition::refused.
  ///
  /// Cancellation: total, partial and terminal; the attempt is abandoned,
  /// the connection closed, and the operation completes with operation_aborted.
  template <typename Token = default_token>
  auto connect(const endpoint& ep, connect_options opts, Token&& token = default_token{}) {
    return asio::async_initiate<Token, void(std::error_code, connection_type)>(
        detail::initiate_open<Executor, Transport>{impl_, connection_kind::neighbor}, token, ep, std::move(opts));
  }
  /// As above with default options.
  template <typename Token = default_token>
    requires(!std::is_same_v<std::decay_t<Token>, connect_options>)
  auto connect(const endpoint& ep, Token&& token = default_token{}) {
    return connect(ep, connect_options{}, std::forward<Token>(token));
  }

  /// Opens a direct connection to the node of peer `peer_id` listening at
  /// `ep` (PeerGraphOpenDirectConnection), typically an address found by
  /// node enumeration. Direct connections carry only application data.
  ///
  /// Completes once the remote node has accepted. What it accepts is its
  /// graph_options::direct_connections policy (by default: only while its
  /// application subscribes to both direct_connection_event and
  /// incoming_data_event; see accepts_direct_connections()); otherwise it
  /// refuses (REFUSE code DIRECT_CONNECTION_DISALLOWED) and this fails with
  /// protocol::error::direct_connection_disallowed. Both nodes report a
  /// direct_connection_event once the attempt has started, as for connect().
  ///
  /// @param peer_id the peer expected at `ep` (several may share an address).
  /// @param ep the node's address.
  /// @param opts timeout (default graph_options::connect_timeout) and the
  ///   connection's id; its `peer_id` is ignored in favour of the parameter.
  /// @param token completion token; signature `void(std::error_code, connection_type)`.
  ///   Errors: errc::connect_self, protocol::error::direct_connection_disallowed,
  ///   errc::connection_not_authenticated (no such peer at that address, or
  ///   a node of another graph),
  ///   errc::timeout, errc::invalid_argument (bad peer id, id in use),
  ///   errc::invalid_address, errc::invalid_graph, the system's error from
  ///   the TCP connect, operation_aborted.
  ///
  /// Cancellation: total, partial and terminal, as for connect().
  template <typename Token = default_token>
  auto open_direct(const std::string& peer_id, const endpoint& ep, connect_options opts,
                   Token&& token = default_token{}) {
    opts.peer_id = peer_id;
    return asio::async_initiate<Token, void(std::error_code, connection_type)>(
        detail::initiate_open<Executor, Transport>{impl_, connection_kind::direct}, token, ep, std::move(opts));
  }
  /// As above with default options.
  template <typename Token = default_token>
    requires(!std::is_same_v<std::decay_t<Token>, connect_options>)
  auto open_direct(const std::string& peer_id, const endpoint& ep, Token&& token = default_token{}) {
    return open_direct(peer_id, ep, connect_options{}, std::forward<Token>(token));
  }

  // ------------------------------------------------------------ connections and data

  /// The established connections, by id (PeerGraphEnumConnections).
  std::vector<connection_info> connections(std::optional<connection_kind> kind = std::nullopt) const;

  /// A handle to an established connection, or an empty handle if there is
  /// none with that id.
  connection_type find_connection(connection_id id) const;

  /// Sends a copy of `data`, a const buffer sequence, as one message on the
  /// connection with id `id`, neighbor or direct (PeerGraphSendData). Same
  /// contract as basic_connection::send(); an unknown or closed id gives
  /// errc::connection_not_found.
  template <typename ConstBufferSequence, typename Token = default_token>
    requires asio::is_const_buffer_sequence<ConstBufferSequence>::value
  auto send(connection_id id, const guid& type, const ConstBufferSequence& data, Token&& token = default_token{}) {
    return find_connection(id).send(type, data, std::forward<Token>(token));
  }
  /// As above, taking the payload over (no copy for large payloads).
  template <typename Token = default_token>
  auto send(connection_id id, const guid& type, std::vector<std::uint8_t>&& data, Token&& token = default_token{}) {
    return find_connection(id).send(type, std::move(data), std::forward<Token>(token));
  }

  /// Queues a copy of `data` on the connection with id `id` without
  /// suspending: basic_connection::try_send(). An unknown or closed id
  /// gives errc::connection_not_found.
  template <typename ConstBufferSequence>
    requires asio::is_const_buffer_sequence<ConstBufferSequence>::value
  std::error_code try_send(connection_id id, const guid& type, const ConstBufferSequence& data) {
    return find_connection(id).try_send(type, data);
  }

  /// Closes the direct connection with id `id` in order
  /// (PeerGraphCloseDirectConnection); see basic_connection::close(). An id
  /// that names no open direct connection gives errc::connection_not_found.
  template <typename Token = default_token>
  auto close_direct(connection_id id, Token&& token = default_token{}) {
    auto c = find_connection(id);
    if (c.kind() != connection_kind::direct) c = connection_type{};
    return c.close(std::forward<Token>(token));
  }

  // ------------------------------------------------------------ events

  /// Subscribes to the events of types `Events...` reported from now on.
  /// See basic_subscription for ordering, capacity and backpressure.
  ///
  /// By default a node accepts direct connections only while its
  /// subscriptions take both direct_connection_event and incoming_data_event
  /// (graph_options::direct_connections).
  template <graph_event... Events>
  subscription_type<Events...> subscribe(subscribe_options opts = {}) {
    return subscription_type<Events...>(make_subscription(event_mask::of<Events...>(), std::move(opts)),
                                        get_executor());
  }

  /// Subscribes to the kinds in `kinds`, chosen at run time; the
  /// subscription yields any_event. Otherwise as above.
  ///
  /// @throws std::system_error with errc::invalid_argument for an empty mask.
  subscription_type<any_event> subscribe(event_mask kinds, subscribe_options opts = {});

  /// Whether this node would accept a direct connection now: its
  /// graph_options::direct_connections policy applied to its current
  /// subscriptions. False once closed.
  bool accepts_direct_connections() const;

  // ------------------------------------------------------------ nodes and presence

  /// The nodes known through presence (PeerGraphEnumNodes): a snapshot,
  /// ordered by node id. The local node is included while it publishes its
  /// presence; nodes that do not publish are not listed. With `peer_id`,
  /// only the nodes of that peer.
  ///
  /// Call on the graph's executor. A closed graph lists nothing.
  std::vector<peergraph::node_info> nodes(std::optional<std::string_view> peer_id = std::nullopt) const;

  /// What is known about one node (PeerGraphGetNodeInfo). `id` 0, or this
  /// node's id, gives the local node, with the endpoints it really listens
  /// on (as local_endpoints()) and its attributes, whether or not it
  /// publishes presence.
  ///
  /// @throws std::system_error: errc::node_not_found (no present node with
  ///   that id), errc::invalid_graph (closed).
  peergraph::node_info node_info(node_id id) const;
  /// As above, reporting failure through `ec`.
  peergraph::node_info node_info(node_id id, std::error_code& ec) const;
  /// The local node: node_info(0).
  peergraph::node_info local_node() const { return node_info(0); }

  /// Sets the local node's attribute string (PeerGraphSetNodeAttributes); an
  /// empty string clears it. A node that publishes presence re-publishes at
  /// once, and the other nodes report node_changed_event `updated`.
  ///
  /// @throws std::system_error: errc::invalid_argument (longer than
  ///   protocol::max_attributes_size, 4096 bytes, or contains NUL),
  ///   errc::invalid_graph (closed).
  void set_node_attributes(std::string attributes);
  /// As above, reporting failure through `ec`.
  void set_node_attributes(std::string attributes, std::error_code& ec);

  /// PeerGraphSetPresence: `true` publishes this node's presence whatever
  /// graph_properties::presence_max says; `false` returns to that policy
  /// (which withdraws the presence if the policy does not publish it).
  ///
  /// @throws std::system_error: errc::invalid_graph (closed).
  void set_presence(bool present);

  // ------------------------------------------------------------ waiting for the graph

  /// Waits until this node is synchronized (graph_status::synchronized): at
  /// once for a created graph, after the first neighbor's database for an
  /// opened one. Joining is then: open, connect, wait_synchronized.
  ///
  /// @param opts an optional timeout.
  /// @param token completion token; signature `void(std::error_code)`.
  ///   Errors: errc::timeout, errc::invalid_graph (closed before the call),
  ///   asio::error::operation_aborted (cancelled, or the graph closed).
  ///
  /// Cancellation: total, partial and terminal; nothing else is affected.
  template <typename Token = default_token>
  auto wait_synchronized(wait_options opts, Token&& token = default_token{}) {
    return asio::async_initiate<Token, void(std::error_code)>(
        detail::initiate_wait<Executor, Transport>{impl_}, token, detail::wait_first_none{},
        detail::wait_condition{detail::wait_condition::synchronized, {}, 0}, opts.timeout);
  }
  /// As above without a timeout.
  template <typename Token = default_token>
    requires(!std::is_same_v<std::decay_t<Token>, wait_options>)
  auto wait_synchronized(Token&& token = default_token{}) {
    return wait_synchronized(wait_options{}, std::forward<Token>(token));
  }

  /// Waits until a node of peer `peer_id` other than this one is listed by
  /// nodes() (it publishes presence), and gives it: the one with the
  /// smallest node id if there are several. At once if one is listed now.
  /// The node may not list an address yet (it publishes before it listens);
  /// wait_options::with_addresses waits for one that does.
  ///
  /// @param token completion token; signature
  ///   `void(std::error_code, peergraph::node_info)`. Errors as for
  ///   wait_synchronized(), plus errc::invalid_argument for a bad peer id.
  ///
  /// Cancellation: total, partial and terminal.
  template <typename Token = default_token>
  auto wait_node(std::string_view peer_id, wait_options opts, Token&& token = default_token{}) {
    return asio::async_initiate<Token, void(std::error_code, peergraph::node_info)>(
        detail::initiate_wait<Executor, Transport>{impl_}, token, detail::wait_first_node{},
        detail::wait_condition{detail::wait_condition::peer, std::string(peer_id), 0, opts.with_addresses},
        opts.timeout);
  }
  /// As above without a timeout.
  template <typename Token = default_token>
    requires(!std::is_same_v<std::decay_t<Token>, wait_options>)
  auto wait_node(std::string_view peer_id, Token&& token = default_token{}) {
    return wait_node(peer_id, wait_options{}, std::forward<Token>(token));
  }

  /// Waits until nodes() lists at least `count` nodes (this one included
  /// while it publishes presence), and gives that list. At once if it does now.
  ///
  /// @param token completion token; signature
  ///   `void(std::error_code, std::vector<peergraph::node_info>)`. Errors as
  ///   for wait_synchronized().
  ///
  /// Cancellation: total, partial and terminal.
  template <typename Token = default_token>
  auto wait_nodes(std::size_t count, wait_options opts, Token&& token = default_token{}) {
    return asio::async_initiate<Token, void(std::error_code, std::vector<peergraph::node_info>)>(
        detail::initiate_wait<Executor, Transport>{impl_}, token, detail::direct_invoke{},
        detail::wait_condition{detail::wait_condition::count, {}, count, opts.with_addresses}, opts.timeout);
  }
  /// As above without a timeout.
  template <typename Token = default_token>
    requires(!std::is_same_v<std::decay_t<Token>, wait_options>)
  auto wait_nodes(std::size_t count, Token&& token = default_token{}) {
    return wait_nodes(count, wait_options{}, std::forward<Token>(token));
  }

  /// Presence and synchronization counters (for tests, benchmarks and
  /// diagnostics). Call on the graph's executor.
  graph_stats stats() const noexcept;

  // ------------------------------------------------------------ closing

  /// Closes the node (PeerGraphClose): floods the withdrawal of its presence,
  /// stops listening, sends DISCONNECT on every established connection,
  /// completes pending operations with operation_aborted, reports the final
  /// disconnect and status events, then ends every subscription. Idempotent.
  void close() noexcept;

  /// Closes the node gracefully: does what close() does at once (presence
  /// withdrawn, listeners closed, pending operations completed with
  /// operation_aborted, subscriptions ended), then waits while every
  /// connection writes what was queued on it and its DISCONNECT, each for at
  /// most `linger`, and completes when the connections are down. A graph
  /// already closed completes at once.
  ///
  /// @param linger how long each connection may take to write its queue;
  ///   default graph_options::close_linger.
  /// @param token completion token; signature `void(std::error_code)`.
  ///   Errors: errc::timeout (some connection still had data queued when its
  ///   linger ran out; that data was dropped), the system's error from a
  ///   write that failed (the peer went away first), operation_aborted.
  ///
  /// Cancellation: total, partial and terminal end the wait; the
  /// connections go on closing.
  template <typename Token = default_token>
  auto async_close(std::chrono::milliseconds linger, Token&& token = default_token{}) {
    return asio::async_initiate<Token, void(std::error_code)>(
        detail::initiate_graceful_close<Executor, Transport>{impl_}, token, linger);
  }
  /// As above, lingering graph_options::close_linger.
  template <typename Token = default_token>
    requires(!std::is_convertible_v<Token, std::chrono::milliseconds>)
  auto async_close(Token&& token = default_token{}) {
    return async_close(options().close_linger, std::forward<Token>(token));
  }

 private:
  explicit basic_graph(std::shared_ptr<impl_type> impl) noexcept : impl_(std::move(impl)) {}
  std::shared_ptr<detail::subscription_state> make_subscription(event_mask kinds, subscribe_options opts);

  std::shared_ptr<impl_type> impl_;
};

/// A graph on the default executor and TCP.
using graph = basic_graph<>;

}  // namespace peergraph

#include <peergraph/impl/graph.hpp>

#endif  // PEERGRAPH_GRAPH_HPP
