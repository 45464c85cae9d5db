// peergraph/detail/graph_impl.hpp: one node's I/O: listeners, links, the tick, and the node engine's actions.
//
// The node's behaviour (responder policy, presence, synchronization,
// maintenance, message dispatch) is the sans-I/O node::engine; this class
// accepts and dials links, feeds the engine what happens, and carries out
// the actions it returns: frames to links, events to outboxes, dials, closes.
#ifndef PEERGRAPH_DETAIL_GRAPH_IMPL_HPP
#define PEERGRAPH_DETAIL_GRAPH_IMPL_HPP

#include <peergraph/detail/event_router.hpp>
#include <peergraph/detail/graph_waiters.hpp>
#include <peergraph/detail/ids.hpp>
#include <peergraph/detail/link/connection_impl.hpp>
#include <peergraph/detail/link/receive_budget.hpp>
#include <peergraph/detail/listener_set.hpp>
#include <peergraph/detail/node/engine.hpp>
#include <peergraph/detail/random.hpp>
#include <peergraph/detail/tick_timer.hpp>
#include <peergraph/error.hpp>
#include <peergraph/options.hpp>
#include <peergraph/transport.hpp>

#include <asio/post.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace peergraph::detail {

template <typename Executor, typename Transport>
class graph_impl : public std::enable_shared_from_this<graph_impl<Executor, Transport>> {
 public:
  using connection_type = connection_impl<Executor, Transport>;
  using open_completion = typename connection_type::open_completion;
  using wait_completion = typename graph_waiters<Executor>::completion_type;
  using ms = std::chrono::milliseconds;

  graph_impl(const Executor& ex, Transport transport, graph_properties props, std::string peer_id, bool created,
             graph_options opts)
      : ex_(ex),
        transport_(std::move(transport)),
        engine_(node::node_state(std::move(props), std::move(peer_id), created, std::move(opts), os_random64())),
        tick_(ex_),
        receiving_(std::max(options().max_receiving_bytes, options().max_message_size)) {}

  // ------------------------------------------------------------ identity and state

  const Executor& executor() const noexcept { return ex_; }
  const Transport& transport() const noexcept { return transport_; }
  const graph_options& options() const noexcept { return state().options(); }
  const graph_properties& properties() const noexcept { return state().properties(); }
  const std::string& graph_id() const noexcept { return properties().graph_id; }
  const std::string& peer_id() const noexcept { return state().peer_id(); }
  node_id node() const noexcept { return state().id(); }
  bool is_open() const noexcept { return !state().closed(); }
  graph_status status() const noexcept { return state().status(); }
  event_router& router() noexcept { return router_; }
  link::receive_budget& receiving() noexcept { return receiving_; }
  std::vector<endpoint> local_endpoints() const { return state().listening(); }
  std::vector<endpoint> advertised_addresses(const endpoint& local) const {
    return state().advertised_addresses(local);
  }
  protocol::responder_config responder_config() const { return {graph_id(), peer_id(), node()}; }
  connection_id new_connection_id() { return engine_.state().new_connection_id(); }

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

  // ------------------------------------------------------------ the application

  endpoint listen(const endpoint& ep, std::error_code& ec) {
    ec.clear();
    if (state().closed()) return ec = errc::invalid_graph, endpoint{};
    if (!state().synchronized()) return ec = errc::graph_not_ready, endpoint{};
    if (listeners_.has(ep)) return ec = errc::already_listening, endpoint{};
    auto acceptor = transport_.listen(ex_, ep, ec);
    if (ec) return {};
    const auto local = listeners_.add(this->shared_from_this(), std::move(acceptor), ep, ec);
    if (ec) return {};
    tick_.start(this->shared_from_this());
    run([&](node::actions& a) { engine_.listening(local, now(), a); });
    return local;
  }

  /// Starts a connection; returns it, or nullptr when `op` already failed.
  std::shared_ptr<connection_type> connect(const endpoint& ep, const connect_options& o, connection_kind kind,
                                           open_completion op) {
    if (state().closed()) return op.complete(errc::invalid_graph, nullptr), nullptr;
    if (o.peer_id && !valid_id(*o.peer_id)) return op.complete(errc::invalid_argument, nullptr), nullptr;
    if (ep.port() == 0 || ep.address().is_unspecified()) return op.complete(errc::invalid_address, nullptr), nullptr;
    if (o.id != 0 && connections_.count(o.id)) return op.complete(errc::invalid_argument, nullptr), nullptr;
    const auto id = o.id != 0 ? o.id : new_connection_id();
    if (kind == connection_kind::neighbor && state().is_neighbor_address(ep)) {
      // The arguments were fine, so this is an attempt that failed: it is
      // reported like every other one, under its id.
      outbox_.push(neighbor_connection_event{
          connection_status::failed, connection_info{id, kind, 0, o.peer_id.value_or(""), ep}, errc::already_exists});
      pump();
      return op.complete(errc::already_exists, nullptr), nullptr;
    }
    protocol::initiator_config cfg;
    cfg.type =
        kind == connection_kind::direct ? protocol::connection_type::direct : protocol::connection_type::neighbor;
    cfg.graph_id = graph_id();
    cfg.local_peer_id = peer_id();
    cfg.expected_peer_id = o.peer_id;
    cfg.local_node_id = node();
    cfg.friendly_name = options().friendly_name;
    auto conn = adopt_link(transport_.make_stream(ex_), id, true, kind);
    conn->start_connect(ep, std::move(cfg), o.timeout.value_or(options().connect_timeout), std::move(op));
    tick_.start(this->shared_from_this());
    return conn;
  }

  /// Withdraws this node's presence, stops listening, closes every link
  /// (neighbors get DISCONNECT), completes pending operations, reports the
  /// last events and then ends every subscription. Links still writing
  /// linger for `linger` (default graph_options::close_linger); they are returned.
  std::vector<std::shared_ptr<connection_type>> close(std::optional<ms> linger = std::nullopt) {
    if (state().closed()) return {};
    // The withdrawal goes out before the DISCONNECTs, so that the graph
    // drops this node at once rather than when its presence expires.
    run([&](node::actions& a) { engine_.close(a); });
    tick_.cancel();
    router_.begin_closing();
    listeners_.close();
    std::vector<std::shared_ptr<connection_type>> all;
    all.reserve(connections_.size());
    for (auto& [id, c] : connections_) all.push_back(c);
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a->id() < b->id(); });
    // Waiting operations complete now, as close() promises, not when each
    // link's close linger ends.
    for (auto& c : all) c->abandon_waits(asio::error::operation_aborted);
    waiters_.fail_all(asio::error::operation_aborted);
    for (auto& c : all) {
      if (linger) c->linger_for(*linger);
      c->end(asio::error::operation_aborted, link::ending::orderly);
    }
    std::erase_if(all, [](const auto& c) { return !c->is_closing(); });
    connections_.clear();
    run([&](node::actions& a) { engine_.report_status(a); });
    router_.close_all();
    return all;
  }

  /// close(), then completes `op` once the links it ended in order are down
  /// (each given `linger` to write what it had queued and DISCONNECT).
  void close_gracefully(ms linger, close_tally::completion_type op) {
    const auto links = close(linger);
    auto tally = std::make_shared<close_tally>(std::move(op), links.size());
    for (const auto& c : links) c->close_op(tally->link_done(ex_));
    tally->start();
  }

  std::vector<node_info> nodes(std::optional<std::string_view> peer) const {
    return engine_.presence().nodes(state(), peer);
  }
  node_info get_node_info(node_id id, std::error_code& ec) const { return engine_.get_node_info(id, ec); }
  graph_stats stats() const noexcept { return engine_.stats(); }

  /// Completes `op` once `cond` holds: at once if it does already.
  void wait_for(wait_condition cond, std::optional<ms> timeout, wait_completion op) {
    if (state().closed()) return op.complete(errc::invalid_graph, {});
    waiters_.add(*this, std::move(cond), timeout, std::move(op), ex_, this->weak_from_this());
  }

  /// Whether a direct connection would be accepted now (the Direct
  /// Connection flag of [MS-PPGRH] 3.1.4.7).
  bool accepts_direct() const {
    return options().direct_connections == direct_policy::when_subscribed &&
           router_.wants_any(event_mask::of<direct_connection_event>()) &&
           router_.wants_any(event_mask::of<incoming_data_event>());
  }

  void set_node_attributes(std::string attrs, std::error_code& ec) {
    run([&](node::actions& a) { ec = engine_.set_attributes(std::move(attrs), now(), a); });
  }
  void set_presence(bool present, std::error_code& ec) {
    run([&](node::actions& a) { ec = engine_.set_presence(present, now(), a); });
  }
  void set_properties(const graph_properties& p, std::error_code& ec) {
    run([&](node::actions& a) { ec = engine_.set_properties(p, now(), a); });
    tick_.follow(this->shared_from_this());
  }

  // ------------------------------------------------------------ what links report

  /// Responder: the REFUSE code for a valid CONNECT, or nothing to accept.
  std::optional<protocol::refuse_code> decide(const connection_type& c, const protocol::connect& req) {
    const auto d = engine_.decide(c.summary(), req, accepts_direct());
    if (d.evict)
      if (auto victim = find(*d.evict)) victim->end(protocol::error::neighbor_evicted, link::ending::orderly);
    return d.refuse;
  }
  std::vector<endpoint> referrals(const connection_type& c) { return engine_.referrals(c.summary()); }

  /// Initiator: WELCOME arrived. False if the link must give way to a
  /// duplicate (both nodes dialled each other at once).
  bool keep_welcomed(const connection_type& c) {
    bool keep = true;
    run([&](node::actions& a) { keep = engine_.keep_welcomed(c.summary(), a); });
    return keep;
  }

  void on_link_established(const connection_type& c, event_outbox& out) {
    if (c.kind() == connection_kind::neighbor) tick_.start(this->shared_from_this());
    run([&](node::actions& a) { engine_.on_link_established(c.summary(), now(), a); }, out);
  }

  /// Graph-level traffic on an established link; an error ends that link.
  std::error_code on_graph_frame(const connection_type& c, const protocol::header& h,
                                 std::span<const std::uint8_t> frame, event_outbox& out) {
    std::error_code ec;
    run([&](node::actions& a) { ec = engine_.on_frame(c.summary(), h, frame, now(), a); }, out);
    tick_.follow(this->shared_from_this());
    return ec;
  }

  /// A listener accepted `stream`. It gets its handshake; if that puts too
  /// many accepted connections in theirs, the oldest one goes.
  template <typename Stream>
  void on_accepted(Stream stream) {
    transport_.prepare_accepted(stream);
    auto c = adopt_link(std::move(stream), new_connection_id(), false, connection_kind::neighbor);
    c->set_accept_order(++accepted_);
    c->start_accept();
    const auto& o = options();
    while (auto victim = pick_pending_victim(connections_, c->remote_endpoint().address(), o.max_pending_handshakes,
                                             o.max_pending_handshakes_per_source)) {
      ++engine_.state().stats().handshakes_evicted;
      victim->discard(errc::connection_refused);
    }
  }

  /// The tick (tick_timer): how often, and what it does.
  ms tick_period() const noexcept { return engine_.tick_period(); }
  void on_tick() {
    run([&](node::actions& a) { engine_.tick(now(), a); });
  }

  /// A link asked to be told (watch_drain) has written most of its queue.
  void on_link_drained(connection_id id) {
    run([&](node::actions& a) { engine_.on_link_drained(id, now(), a); });
  }

  void on_link_closed(const connection_type& c, bool was_established, event_outbox& out) {
    connections_.erase(c.id());
    run([&](node::actions& a) { engine_.on_link_closed(c.summary(), was_established, c.refusal(), now(), a); }, out);
  }

 private:
  const node::node_state& state() const noexcept { return engine_.state(); }

  static ms now() noexcept {
    return std::chrono::duration_cast<ms>(std::chrono::steady_clock::now().time_since_epoch());
  }

  std::shared_ptr<connection_type> adopt_link(typename connection_type::stream_type s, connection_id id, bool initiator,
                                              connection_kind kind) {
    auto conn = std::make_shared<connection_type>(this->shared_from_this(), std::move(s), id, initiator, kind);
    connections_.emplace(id, conn);
    engine_.state().add_link(conn->summary());
    return conn;
  }

  // ------------------------------------------------------------ carrying out the engine's actions

  /// Feeds one input to the engine (`f` appends its actions) and carries
  /// out the actions; events go into `out` (the outbox of the link that
  /// brought the input, which pumps it), else into the graph's own, pumped
  /// here: status changes the application causes have no link to carry them.
  template <typename F>
  void run(F&& f, event_outbox* out = nullptr) {
    const auto a = pool_.take();
    f(*a);
    execute(*a, out ? *out : outbox_);
    if (!out) pump();
  }
  template <typename F>
  void run(F&& f, event_outbox& out) {
    run(std::forward<F>(f), &out);
  }

  void execute(node::actions& a, event_outbox& out) {
    for (const auto& f : a.frames()) {
      const auto bytes = a.bytes_of(f);
      if (!f.to_all_neighbors) {
        if (auto c = find(f.link)) c->send_frame(bytes);
        continue;
      }
      for (const auto& [id, c] : connections_)
        if (id != f.link && c->summary().is_neighbor()) c->send_frame(bytes);
    }
    for (const auto id : a.drain_watches())
      if (auto c = find(id)) c->watch_drain();
    // Every change of status or presence comes with an event: only then
    // can a waiting condition have become true.
    if (!a.events().empty() && !waiters_.empty()) waiters_.check(*this);
    for (auto& ev : a.events()) out.push(std::move(ev));
    for (const auto& e : a.ends())
      if (auto c = find(e.link)) c->end(e.reason, link::ending::orderly);
    for (const auto& d : a.dials()) dial(d);
  }

  // Started from a fresh handler, not from inside the input that asked.
  void dial(node::actions::dial d) {
    asio::post(ex_, [self = this->shared_from_this(), d = std::move(d)] {
      if (self->state().closed()) return self->engine_.upkeep().dial_done(d.id, d.node);
      connect_options o;
      o.peer_id = d.peer_id;
      o.id = d.id;
      open_completion op(
          [w = self->weak_from_this(), id = d.id, node = d.node](std::error_code, std::shared_ptr<connection_type>) {
            if (auto g = w.lock()) g->engine_.upkeep().dial_done(id, node);
          },
          self->ex_);
      self->connect(d.address, o, connection_kind::neighbor, std::move(op));
    });
  }

  void pump() {
    outbox_.pump(router_, [this] {
      return [self = this->shared_from_this()] { asio::post(self->ex_, [self] { self->pump(); }); };
    });
  }

  Executor ex_;
  Transport transport_;
  node::engine engine_;
  tick_timer<Executor> tick_;
  link::receive_budget receiving_;
  node::actions_pool pool_;
  listener_set<graph_impl, Executor, Transport> listeners_;
  std::unordered_map<connection_id, std::shared_ptr<connection_type>> connections_;
  std::uint64_t accepted_ = 0;  // connections accepted so far (their order)
  event_router router_;
  event_outbox outbox_;
  graph_waiters<Executor> waiters_;
};

}  // namespace peergraph::detail

#endif  // PEERGRAPH_DETAIL_GRAPH_IMPL_HPP
