// peergraph/detail/graph_impl.hpp: one node's engine: listeners, connection registry, status.
#ifndef PEERGRAPH_DETAIL_GRAPH_IMPL_HPP
#define PEERGRAPH_DETAIL_GRAPH_IMPL_HPP

#include <peergraph/detail/connection_impl.hpp>
#include <peergraph/detail/event_router.hpp>
#include <peergraph/error.hpp>
#include <peergraph/options.hpp>
#include <peergraph/transport.hpp>

#include <asio/post.hpp>

#include <algorithm>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace peergraph::detail {

/// Checks an identifier: 1 to 255 bytes, no NUL (it travels NUL-terminated).
inline bool valid_id(std::string_view s) noexcept {
  return !s.empty() && s.size() <= 255 && s.find('\0') == std::string_view::npos;
}

template <typename Executor, typename Transport>
class graph_impl : public std::enable_shared_from_this<graph_impl<Executor, Transport>> {
 public:
  using connection_type = connection_impl<Executor, Transport>;
  using listener_type = typename Transport::template listener<Executor>;
  using open_completion = typename connection_type::open_completion;

  graph_impl(const Executor& ex, Transport transport, graph_properties props, std::string peer_id, bool created,
             graph_options opts)
      : ex_(ex),
        transport_(std::move(transport)),
        props_(std::move(props)),
        peer_id_(std::move(peer_id)),
        opts_(std::move(opts)),
        synchronized_(created),
        rng_(std::random_device{}()) {
    do node_id_ = rng_();
    while (node_id_ == 0);
    reported_status_ = status();
  }

  // ------------------------------------------------------------ identity and state

  const Executor& executor() const noexcept { return ex_; }
  const Transport& transport() const noexcept { return transport_; }
  const graph_options& options() const noexcept { return opts_; }
  const graph_properties& properties() const noexcept { return props_; }
  const std::string& graph_id() const noexcept { return props_.graph_id; }
  const std::string& peer_id() const noexcept { return peer_id_; }
  node_id node() const noexcept { return node_id_; }
  bool is_open() const noexcept { return !closed_; }
  event_router& router() noexcept { return router_; }

  graph_status status() const noexcept {
    std::uint32_t bits = 0;
    if (!listeners_.empty()) bits |= graph_status::listening;
    if (neighbor_count_ > 0) bits |= graph_status::has_connections;
    if (synchronized_) bits |= graph_status::synchronized;
    return graph_status(bits);
  }

  std::vector<endpoint> local_endpoints() const {
    std::vector<endpoint> out;
    for (const auto& l : listeners_) out.push_back(l->local);
    return out;
  }

  /// What this node announces in CONNECT/WELCOME on a link whose local end
  /// is `local`: its listen endpoints, with a wildcard address replaced by
  /// the address the link arrived on.
  std::vector<endpoint> advertised_addresses(const endpoint& local) const {
    std::vector<endpoint> out;
    for (const auto& l : listeners_) {
      endpoint ep = l->local;
      if (ep.address().is_unspecified() && !local.address().is_unspecified()) ep.address(local.address());
      if (std::find(out.begin(), out.end(), ep) == out.end()) out.push_back(ep);
    }
    return out;
  }

  std::vector<connection_info> connections(std::optional<connection_kind> kind) const {
    std::vector<connection_info> out;
    for (const auto& [id, c] : connections_)
      if (c->is_established() && (!kind || c->kind() == *kind)) out.push_back(c->info());
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return out;
  }

  std::shared_ptr<connection_type> find(connection_id id) const {
    auto it = connections_.find(id);
    return it == connections_.end() ? nullptr : it->second;
  }

  // ------------------------------------------------------------ listen

  endpoint listen(const endpoint& ep, std::error_code& ec) {
    ec.clear();
    if (closed_) {
      ec = errc::invalid_graph;
      return {};
    }
    if (!synchronized_) {
      ec = errc::graph_not_ready;
      return {};
    }
    for (const auto& l : listeners_)
      if (l->requested == ep && ep.port() != 0) {
        ec = errc::already_listening;
        return {};
      }
    auto entry = std::make_shared<listener_entry>(transport_.listen(ex_, ep, ec), ep);
    if (ec) return {};
    entry->local = entry->acceptor.local_endpoint(ec);
    if (ec) return {};
    listeners_.push_back(entry);
    accept_next(entry);
    post_status_if_changed();
    return entry->local;
  }

  // ------------------------------------------------------------ connect

  void connect(const endpoint& ep, const connect_options& o, connection_kind kind, open_completion op) {
    if (closed_) return op.complete(errc::invalid_graph, nullptr);
    if (o.peer_id && !valid_id(*o.peer_id)) return op.complete(errc::invalid_argument, nullptr);
    if (ep.port() == 0 || ep.address().is_unspecified()) return op.complete(errc::invalid_address, nullptr);
    if (kind == connection_kind::neighbor) {
      for (const auto& [id, c] : connections_)
        if (c->kind() == connection_kind::neighbor && c->is_established() &&
            (c->dialed() == ep || c->remote_endpoint() == ep ||
             std::find(c->remote_addresses().begin(), c->remote_addresses().end(), ep) !=
                 c->remote_addresses().end()))
          return op.complete(errc::already_exists, nullptr);
    }
    protocol::initiator_config cfg;
    cfg.type = kind == connection_kind::direct ? protocol::connection_type::direct : protocol::connection_type::neighbor;
    cfg.graph_id = props_.graph_id;
    cfg.local_peer_id = peer_id_;
    cfg.expected_peer_id = o.peer_id;
    cfg.local_node_id = node_id_;
    cfg.friendly_name = opts_.friendly_name;
    auto conn = std::make_shared<connection_type>(this->shared_from_this(), transport_.make_stream(ex_), new_id(),
                                                  true, kind);
    connections_.emplace(conn->id(), conn);
    conn->start_connect(ep, std::move(cfg), o.timeout.value_or(opts_.connect_timeout), std::move(op));
  }

  // ------------------------------------------------------------ close

  /// Closes listeners and every connection (neighbors get DISCONNECT),
  /// completes pending operations with operation_aborted, reports the last
  /// events and then ends every subscription.
  void close() {
    if (closed_) return;
    closed_ = true;
    router_.begin_closing();
    for (auto& l : listeners_) {
      std::error_code ignored;
      l->acceptor.close(ignored);
      l->retry.cancel();
    }
    listeners_.clear();
    std::vector<std::shared_ptr<connection_type>> all;
    all.reserve(connections_.size());
    for (auto& [id, c] : connections_) all.push_back(c);
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a->id() < b->id(); });
    for (auto& c : all) c->close(asio::error::operation_aborted);
    connections_.clear();
    post_status_if_changed();
    router_.close_all();
  }

  // ------------------------------------------------------------ hooks used by connections

  /// The responder's policy once AUTH_INFO and CONNECT are valid. Returns a
  /// REFUSE code, or nothing to accept.
  std::optional<protocol::refuse_code> decide(const connection_type& c, const protocol::connect& req) {
    if (closed_) return protocol::refuse_code::busy;
    if (req.direct) {
      if (!router_.wants_kind(event_index<direct_connection_event>::value) ||
          !router_.wants_kind(event_index<incoming_data_event>::value))
        return protocol::refuse_code::direct_connection_disallowed;
      return std::nullopt;
    }
    if (has_neighbor(req.source_node_id, &c)) return protocol::refuse_code::duplicate_connection;
    return std::nullopt;
  }

  /// Neighbors to suggest when refusing (used once neighbor limits exist).
  std::vector<endpoint> referrals(const connection_type&) const { return {}; }

  bool has_neighbor(node_id node, const connection_type* except) const {
    for (const auto& [id, c] : connections_)
      if (c.get() != except && c->kind() == connection_kind::neighbor && c->is_established() &&
          c->remote_node() == node)
        return true;
    return false;
  }

  void on_connection_established(const connection_type& c, event_outbox& out) {
    if (c.kind() == connection_kind::neighbor) {
      ++neighbor_count_;
      // Without records to exchange, the first completed neighbor handshake
      // is the synchronization of a joining node (see docs/protocol.md).
      synchronized_ = true;
    }
    push_status_if_changed(out);
  }

  /// A frame of graph-level traffic arrived on an established link. An error
  /// ends that link.
  std::error_code on_graph_message(connection_type&, const protocol::header&, std::span<const std::uint8_t>) {
    return protocol::error::unexpected_message;
  }

  void on_connection_closed(const connection_type& c, bool was_established, event_outbox& out) {
    auto it = connections_.find(c.id());
    if (it == connections_.end()) {
      // Already dropped by close(); only the counters remain to settle.
      if (was_established && c.kind() == connection_kind::neighbor && neighbor_count_ > 0) --neighbor_count_;
      return;
    }
    connections_.erase(it);
    if (was_established && c.kind() == connection_kind::neighbor && neighbor_count_ > 0) --neighbor_count_;
    push_status_if_changed(out);
  }

 private:
  struct listener_entry {
    using timer_type = asio::basic_waitable_timer<std::chrono::steady_clock,
                                                  asio::wait_traits<std::chrono::steady_clock>, Executor>;
    listener_entry(listener_type acc, endpoint req)
        : acceptor(std::move(acc)), requested(req), retry(acceptor.get_executor()) {}
    listener_type acceptor;
    endpoint requested;
    endpoint local;
    timer_type retry;
  };

  void accept_next(const std::shared_ptr<listener_entry>& l) {
    l->acceptor.async_accept([self = this->shared_from_this(), l](std::error_code ec, auto stream) mutable {
      if (self->closed_ || ec == asio::error::operation_aborted) return;
      if (ec) {
        // Out of descriptors or a transient failure: try again shortly
        // rather than spinning.
        l->retry.expires_after(std::chrono::milliseconds(50));
        l->retry.async_wait([self, l](std::error_code wec) {
          if (!wec && !self->closed_) self->accept_next(l);
        });
        return;
      }
      self->transport_.prepare_accepted(stream);
      auto conn = std::make_shared<connection_type>(self, std::move(stream), self->new_id(), false,
                                                    connection_kind::neighbor);
      self->connections_.emplace(conn->id(), conn);
      conn->start_accept();
      self->accept_next(l);
    });
  }

  connection_id new_id() {
    connection_id id;
    do id = rng_();
    while (id == 0 || connections_.count(id));
    return id;
  }

  void push_status_if_changed(event_outbox& out) {
    const auto now = status();
    if (now == reported_status_) return;
    reported_status_ = now;
    out.push(status_changed_event{now});
  }

  // Status changes the application causes (listen, close) have no
  // connection to carry them; they go through the graph's own outbox.
  void post_status_if_changed() {
    push_status_if_changed(outbox_);
    pump();
  }

  void pump() {
    auto self = this->shared_from_this();
    outbox_.pump(router_, [self] { asio::post(self->ex_, [self] { self->pump(); }); });
  }

  Executor ex_;
  Transport transport_;
  graph_properties props_;
  std::string peer_id_;
  graph_options opts_;
  node_id node_id_ = 0;
  bool synchronized_ = false;
  bool closed_ = false;
  std::size_t neighbor_count_ = 0;
  graph_status reported_status_;
  std::mt19937_64 rng_;
  std::vector<std::shared_ptr<listener_entry>> listeners_;
  std::unordered_map<connection_id, std::shared_ptr<connection_type>> connections_;
  event_router router_;
  event_outbox outbox_;
};

}  // namespace peergraph::detail

#endif // PEERGRAPH_DETAIL_GRAPH_IMPL_HPP
