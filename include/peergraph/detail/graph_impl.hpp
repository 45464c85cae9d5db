// peergraph/detail/graph_impl.hpp: one node's engine: listeners, connection registry, status.
#ifndef PEERGRAPH_DETAIL_GRAPH_IMPL_HPP
#define PEERGRAPH_DETAIL_GRAPH_IMPL_HPP

#include <peergraph/detail/connection_impl.hpp>
#include <peergraph/detail/event_router.hpp>
#include <peergraph/detail/ids.hpp>
#include <peergraph/error.hpp>
#include <peergraph/options.hpp>
#include <peergraph/protocol/presence.hpp>
#include <peergraph/protocol/presence_table.hpp>
#include <peergraph/transport.hpp>

#include <asio/basic_waitable_timer.hpp>
#include <asio/post.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace peergraph::detail {

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
        props_version_(created ? 1 : 0),
        rng_(std::random_device{}()),
        tick_(ex_) {
    do node_id_ = rng_();
    while (node_id_ == 0);
    reported_status_ = status();
    update_table_limits();
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

  /// A random id that no connection of this node has.
  connection_id new_connection_id() {
    connection_id id;
    do id = rng_();
    while (id == 0 || connections_.count(id));
    return id;
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
    start_ticking();
    refresh_presence(false);
    post_status_if_changed();
    return entry->local;
  }

  // ------------------------------------------------------------ connect

  /// Starts a connection; returns it, or nullptr when `op` already failed.
  std::shared_ptr<connection_type> connect(const endpoint& ep, const connect_options& o, connection_kind kind,
                                           open_completion op) {
    if (closed_) return op.complete(errc::invalid_graph, nullptr), nullptr;
    if (o.peer_id && !valid_id(*o.peer_id)) return op.complete(errc::invalid_argument, nullptr), nullptr;
    if (ep.port() == 0 || ep.address().is_unspecified()) return op.complete(errc::invalid_address, nullptr), nullptr;
    if (o.id != 0 && connections_.count(o.id)) return op.complete(errc::invalid_argument, nullptr), nullptr;
    const auto id = o.id != 0 ? o.id : new_connection_id();
    if (kind == connection_kind::neighbor && is_neighbor_address(ep)) {
      // The arguments were fine, so this is an attempt that failed: it is
      // reported like every other one, under its id.
      outbox_.push(neighbor_connection_event{connection_status::failed,
                                             connection_info{id, kind, 0, o.peer_id.value_or(""), ep},
                                             errc::already_exists});
      pump();
      return op.complete(errc::already_exists, nullptr), nullptr;
    }
    protocol::initiator_config cfg;
    cfg.type = kind == connection_kind::direct ? protocol::connection_type::direct : protocol::connection_type::neighbor;
    cfg.graph_id = props_.graph_id;
    cfg.local_peer_id = peer_id_;
    cfg.expected_peer_id = o.peer_id;
    cfg.local_node_id = node_id_;
    cfg.friendly_name = opts_.friendly_name;
    auto conn = std::make_shared<connection_type>(this->shared_from_this(), transport_.make_stream(ex_),
                                                  id, true, kind);
    connections_.emplace(conn->id(), conn);
    conn->start_connect(ep, std::move(cfg), o.timeout.value_or(opts_.connect_timeout), std::move(op));
    start_ticking();
    return conn;
  }

  // ------------------------------------------------------------ close

  /// Closes listeners and every connection (neighbors get DISCONNECT),
  /// completes pending operations with operation_aborted, reports the last
  /// events and then ends every subscription.
  void close() {
    if (closed_) return;
    // Withdraw this node's presence before the DISCONNECTs, so that the
    // graph drops it at once rather than when its presence expires.
    if (own_published_) {
      ++own_version_;
      own_published_ = false;
      flood_all(own_entry(true), nullptr);
    }
    closed_ = true;
    tick_.cancel();
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
      if (!router_.wants_any(event_mask::of<direct_connection_event>()) ||
          !router_.wants_any(event_mask::of<incoming_data_event>()))
        return protocol::refuse_code::direct_connection_disallowed;
      return std::nullopt;
    }
    if (has_neighbor(req.source_node_id, &c)) return protocol::refuse_code::duplicate_connection;
    if (neighbor_count_ >= opts_.max_neighbors) {
      ++stats_.busy_refusals;
      return protocol::refuse_code::busy;
    }
    return std::nullopt;
  }

  /// Neighbors to suggest when refusing: one address of each of up to ten
  /// neighbors other than the requester, in random order. The address comes
  /// from the neighbor's handshake, or from its presence if it started
  /// listening later.
  std::vector<endpoint> referrals(const connection_type& c) {
    std::vector<endpoint> out;
    for (const auto& [id, n] : connections_) {
      if (n.get() == &c || n->kind() != connection_kind::neighbor || !n->is_established() ||
          n->remote_node() == c.remote_node())
        continue;
      if (!n->remote_addresses().empty())
        out.push_back(n->remote_addresses().front());
      else if (const auto* e = table_.find(n->remote_node()); e && !e->addresses.empty())
        out.push_back(e->addresses.front());
    }
    std::shuffle(out.begin(), out.end(), rng_);
    if (out.size() > 10) out.resize(10);
    return out;
  }

  /// Closes every established neighbor link to `node` except `keep`.
  void drop_duplicate_neighbors(node_id node, const connection_type* keep) {
    std::vector<std::shared_ptr<connection_type>> extra;
    for (const auto& [id, c] : connections_)
      if (c.get() != keep && c->kind() == connection_kind::neighbor && c->is_established() && c->remote_node() == node)
        extra.push_back(c);
    for (auto& c : extra) c->close(errc::already_exists);
  }

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
      // Both ends ask for each other's presence list and graph information
      // on every new neighbor link; an opened graph counts as synchronized
      // at its first SYNC_END (see docs/presence.md).
      if (auto conn = find(c.id())) {
        std::vector<std::uint8_t> bytes;
        protocol::encode(protocol::solicit_new{}, bytes);
        conn->send_frame(bytes);
        ++stats_.solicits_sent;
      }
      start_ticking();
      // The first link may tell a wildcard listener its address.
      refresh_presence(false);
    }
    push_status_if_changed(out);
  }

  /// A frame of graph-level traffic arrived on an established link. An error
  /// ends that link; events go into that link's outbox.
  std::error_code on_graph_message(connection_type& c, const protocol::header& h, std::span<const std::uint8_t> frame,
                                   event_outbox& out) {
    using protocol::message_type;
    if (c.kind() != connection_kind::neighbor || closed_) return protocol::error::unexpected_message;
    switch (h.type) {
      case message_type::flood: {
        protocol::flood f;
        if (auto ec = protocol::decode(frame, f)) return ec;
        if (auto* g = std::get_if<protocol::graph_info>(&f.record)) {
          if (f.sync) ++stats_.sync_records_received;
          else ++stats_.floods_received;
          // A newer record goes on to the other neighbors, as presence does.
          if (adopt(*g)) flood_all(protocol::flood{false, *g}, &c);
          return {};
        }
        on_presence(c, std::get<protocol::presence_entry>(f.record), f.sync, out);
        return {};
      }
      case message_type::solicit_new: {
        protocol::solicit_new m;
        if (auto ec = protocol::decode(frame, m)) return ec;
        answer_solicit(c);
        return {};
      }
      case message_type::sync_end: {
        protocol::sync_end m;
        if (auto ec = protocol::decode(frame, m)) return ec;
        ++stats_.syncs_completed;
        if (!synchronized_) {
          synchronized_ = true;
          push_status_if_changed(out);
        }
        post_maintenance();
        return {};
      }
      case message_type::ack: return protocol::check_ack(frame);
      default: return protocol::error::unexpected_message;
    }
  }

  void on_connection_closed(const connection_type& c, bool was_established, event_outbox& out) {
    auto it = connections_.find(c.id());
    const auto hops = referral_hops_.extract(c.id());
    if (it == connections_.end()) {
      // Already dropped by close(); only the counters remain to settle.
      if (was_established && c.kind() == connection_kind::neighbor && neighbor_count_ > 0) --neighbor_count_;
      return;
    }
    connections_.erase(it);
    if (was_established && c.kind() == connection_kind::neighbor && neighbor_count_ > 0) {
      --neighbor_count_;
      if (neighbor_count_ == 0 && !closed_) {
        out.push(connection_required_event{});
        post_maintenance();
      }
    }
    push_status_if_changed(out);
    if (!was_established && c.kind() == connection_kind::neighbor && !closed_ && opts_.auto_connect) {
      const auto* r = c.refusal();
      const std::size_t done = hops.empty() ? 0 : hops.mapped();
      if (r && r->code == protocol::refuse_code::busy && !r->referrals.empty() && done < opts_.max_referral_hops)
        follow_referral(r->referrals, done + 1);
    }
  }

  // ------------------------------------------------------------ presence API

  /// The nodes known through presence (the local one included while it
  /// publishes), by node id; only those of `peer` if given.
  std::vector<node_info> nodes(std::optional<std::string_view> peer) const {
    std::vector<node_info> out;
    auto take = [&](const protocol::presence_entry& e) {
      if (!peer || e.peer_id == *peer) out.push_back(to_info(e));
    };
    if (own_published_ && !closed_) take(own_entry(false));
    table_.for_each_live(take);
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return out;
  }

  /// One node; 0 or the local id gives the local node with its real listen endpoints.
  node_info get_node_info(node_id id, std::error_code& ec) const {
    ec.clear();
    if (closed_) {
      ec = errc::invalid_graph;
      return {};
    }
    if (id == 0 || id == node_id_) return node_info{node_id_, peer_id_, local_endpoints(), attributes_};
    if (const auto* e = table_.find(id)) return to_info(*e);
    ec = errc::node_not_found;
    return {};
  }

  void set_node_attributes(std::string attrs, std::error_code& ec) {
    ec.clear();
    if (closed_) {
      ec = errc::invalid_graph;
      return;
    }
    if (attrs.size() > protocol::max_attributes_size || attrs.find('\0') != std::string::npos) {
      ec = errc::invalid_argument;
      return;
    }
    attributes_ = std::move(attrs);
    refresh_presence(false);
    pump();
  }

  void set_presence(bool present, std::error_code& ec) {
    ec.clear();
    if (closed_) {
      ec = errc::invalid_graph;
      return;
    }
    force_presence_ = present;
    refresh_presence(false);
    pump();
  }

  /// Applies the mutable properties (creator only) and floods the new
  /// graph information record.
  void set_properties(const graph_properties& p, std::error_code& ec) {
    ec.clear();
    if (closed_) return void(ec = errc::invalid_graph);
    if (!synchronized_) return void(ec = errc::graph_not_ready);
    if (peer_id_ != props_.creator_id) return void(ec = errc::access_denied);
    if (!valid_name(p.friendly_name) || !valid_comment(p.comment) || p.presence_lifetime_s == 0)
      return void(ec = errc::invalid_argument);
    auto g = current_graph_info();
    ++g.version;
    g.friendly_name = p.friendly_name;
    g.comment = p.comment;
    g.presence_lifetime_s = p.presence_lifetime_s;
    g.presence_max = p.presence_max;
    adopt(g);
    flood_all(protocol::flood{false, std::move(g)}, nullptr);
    pump();
  }

  graph_stats stats() const noexcept {
    auto s = stats_;
    s.known_nodes = table_.live();
    return s;
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
      auto conn = std::make_shared<connection_type>(self, std::move(stream), self->new_connection_id(), false,
                                                    connection_kind::neighbor);
      self->connections_.emplace(conn->id(), conn);
      conn->start_accept();
      self->accept_next(l);
    });
  }

  // ------------------------------------------------------------ presence engine

  using ms = std::chrono::milliseconds;
  static ms now_ms() noexcept {
    return std::chrono::duration_cast<ms>(std::chrono::steady_clock::now().time_since_epoch());
  }
  ms lifetime() const noexcept { return ms(std::max<std::uint64_t>(props_.presence_lifetime_s, 1) * 1000); }

  static node_info to_info(const protocol::presence_entry& e) {
    return node_info{e.node_id, e.peer_id, e.addresses, e.attributes};
  }

  void update_table_limits() {
    protocol::presence_table::limits l;
    l.max_entries = std::max<std::size_t>(opts_.max_presence_entries, 1);
    // A tombstone outlives every copy of the entry still in flight.
    l.tombstone_hold = lifetime();
    l.max_lifetime = std::max(lifetime(), ms(3'600'000));
    table_.set_limits(l);
  }

  bool should_publish() const {
    if (force_presence_) return true;
    if (props_.presence_max < 0) return true;
    if (props_.presence_max == 0) return false;
    return table_.count_live_below(node_id_) < static_cast<std::size_t>(props_.presence_max);
  }

  // Listen endpoints as published: a wildcard address becomes the local
  // address of a neighbor link, or is left out while there is none.
  std::vector<endpoint> presence_addresses() const {
    std::optional<asio::ip::address> v6, v4;
    for (const auto& [id, c] : connections_)
      if (c->kind() == connection_kind::neighbor && c->is_established()) {
        const auto a = c->local_endpoint().address();
        if (a.is_unspecified()) continue;
        if (a.is_v6() && !v6) v6 = a;
        if (a.is_v4() && !v4) v4 = a;
      }
    std::vector<endpoint> out;
    for (const auto& l : listeners_) {
      endpoint ep = l->local;
      if (ep.address().is_unspecified()) {
        const auto& pick = ep.address().is_v6() ? (v6 ? v6 : v4) : v4;
        if (!pick) continue;
        ep.address(*pick);
      }
      if (std::find(out.begin(), out.end(), ep) == out.end() && out.size() < protocol::max_presence_addresses)
        out.push_back(ep);
    }
    return out;
  }

  protocol::presence_entry own_entry(bool deleted) const {
    protocol::presence_entry e;
    e.node_id = node_id_;
    e.peer_id = peer_id_;
    e.version = own_version_;
    e.deleted = deleted;
    e.lifetime_ms = static_cast<std::uint32_t>(lifetime().count());
    if (!deleted) {
      e.addresses = published_addresses_;
      e.attributes = attributes_;
    }
    return e;
  }

  /// Publishes, re-publishes or withdraws this node's presence as the
  /// policy and its addresses and attributes require. `periodic`: re-publish
  /// even if nothing changed (the lifetime refresh).
  void refresh_presence(bool periodic) {
    if (closed_) return;
    const bool want = should_publish();
    if (want) {
      auto addrs = presence_addresses();
      if (own_published_ && !periodic && addrs == published_addresses_ && attributes_ == published_attributes_)
        return;
      ++own_version_;
      own_published_ = true;
      published_addresses_ = std::move(addrs);
      published_attributes_ = attributes_;
      last_publish_ = now_ms();
      flood_all(own_entry(false), nullptr);
    } else if (own_published_) {
      ++own_version_;
      own_published_ = false;
      flood_all(own_entry(true), nullptr);
    }
  }

  /// Sends one presence record to every neighbor except `except`.
  void flood_all(const protocol::presence_entry& e, const connection_type* except) {
    flood_all(protocol::flood{false, e}, except);
  }

  /// Sends one FLOOD to every neighbor except `except`.
  void flood_all(const protocol::flood& f, const connection_type* except) {
    std::vector<std::uint8_t> bytes;
    protocol::encode(f, bytes);
    for (const auto& [id, c] : connections_)
      if (c.get() != except && c->kind() == connection_kind::neighbor && c->is_established()) {
        c->send_frame(bytes);
        ++stats_.floods_sent;
      }
  }

  void on_presence(connection_type& from, const protocol::presence_entry& e, bool sync, event_outbox& out) {
    if (sync)
      ++stats_.sync_records_received;
    else
      ++stats_.floods_received;
    if (e.node_id == node_id_) return;  // this node's own record, come back
    const auto now = now_ms();
    auto r = table_.apply(e, now);
    using res = protocol::presence_table::result;
    if (r.what == res::rejected) {
      ++stats_.presence_rejected;
      return;
    }
    if (!r.forward()) return;
    if (!sync) ++stats_.floods_useful;
    if (auto fwd = table_.for_forwarding(e.node_id, now)) flood_all(*fwd, &from);
    switch (r.what) {
      case res::added: out.push(node_changed_event{node_change::connected, to_info(e)}); break;
      case res::updated:
        if (r.content_changed) out.push(node_changed_event{node_change::updated, to_info(e)});
        break;
      case res::removed: out.push(node_changed_event{node_change::disconnected, to_info(*r.previous)}); break;
      default: break;
    }
    if (props_.presence_max > 0 && (r.what == res::added || r.what == res::removed)) refresh_presence(false);
  }

  void answer_solicit(connection_type& c) {
    const auto now = now_ms();
    std::vector<std::uint8_t> bytes;
    if (props_version_ > 0) {
      protocol::encode(protocol::flood{true, current_graph_info()}, bytes);
      ++stats_.sync_records_sent;
    }
    if (own_version_ > 0) {
      protocol::encode(protocol::flood{true, own_entry(!own_published_)}, bytes);
      ++stats_.sync_records_sent;
    }
    for (auto& e : table_.snapshot(now, true)) {
      protocol::encode(protocol::flood{true, std::move(e)}, bytes);
      ++stats_.sync_records_sent;
    }
    protocol::encode(protocol::sync_end{}, bytes);
    c.send_frame(bytes);
  }

  protocol::graph_info current_graph_info() const {
    protocol::graph_info g;
    g.version = props_version_;
    g.scope = static_cast<std::uint32_t>(props_.scope);
    g.presence_lifetime_s = props_.presence_lifetime_s;
    g.presence_max = props_.presence_max;
    g.max_record_size = props_.max_record_size;
    g.flags = static_cast<std::uint16_t>(props_.flags);
    g.creator_id = props_.creator_id;
    g.friendly_name = props_.friendly_name;
    g.comment = props_.comment;
    return g;
  }

  // The graph information record: a newer one replaces the replicated
  // properties. Returns true if it did.
  bool adopt(const protocol::graph_info& g) {
    if (g.version <= props_version_) return false;
    props_version_ = g.version;
    const auto old_lifetime = props_.presence_lifetime_s;
    const auto old_max = props_.presence_max;
    if (!g.creator_id.empty()) props_.creator_id = g.creator_id;
    props_.friendly_name = g.friendly_name;
    props_.comment = g.comment;
    props_.scope = static_cast<graph_scope>(g.scope);
    props_.presence_lifetime_s = std::max<std::uint32_t>(g.presence_lifetime_s, 1);
    props_.presence_max = g.presence_max;
    props_.max_record_size = g.max_record_size;
    props_.flags = g.flags;
    update_table_limits();
    if (props_.presence_lifetime_s != old_lifetime || props_.presence_max != old_max)
      refresh_presence(props_.presence_lifetime_s != old_lifetime && own_published_);
    if (ticking_) arm_tick();
    return true;
  }

  // ------------------------------------------------------------ housekeeping and maintenance

  ms tick_period() const noexcept {
    auto p = std::min(lifetime() / 4, opts_.maintenance_interval);
    return std::clamp(p, ms(20), ms(1'000));
  }

  void start_ticking() {
    if (ticking_ || closed_) return;
    ticking_ = true;
    last_maintenance_ = now_ms();
    arm_tick();
  }

  void arm_tick() {
    tick_.expires_after(tick_period());
    tick_.async_wait([self = this->shared_from_this(), gen = ++tick_gen_](std::error_code ec) {
      if (ec || self->closed_ || gen != self->tick_gen_) return;
      self->on_tick();
    });
  }

  void on_tick() {
    const auto now = now_ms();
    auto gone = table_.expire(now);
    for (auto& e : gone) outbox_.push(node_changed_event{node_change::disconnected, to_info(e)});
    if (own_published_ && now - last_publish_ >= lifetime() / 2)
      refresh_presence(true);
    else if (props_.presence_max > 0 || !gone.empty())
      refresh_presence(false);
    if (now - last_maintenance_ >= opts_.maintenance_interval) maintain();
    pump();
    arm_tick();
  }

  void post_maintenance() {
    if (!opts_.auto_connect || maintenance_posted_) return;
    maintenance_posted_ = true;
    asio::post(ex_, [self = this->shared_from_this()] {
      self->maintenance_posted_ = false;
      self->maintain();
    });
  }

  /// Tops the neighbor count up to the target with nodes known from presence.
  void maintain() {
    last_maintenance_ = now_ms();
    if (closed_ || !opts_.auto_connect) return;
    const auto have = neighbor_count_ + pending_auto_;
    if (have >= opts_.target_neighbors) return;
    std::vector<const protocol::presence_entry*> candidates;
    table_.for_each_live([&](const protocol::presence_entry& e) {
      if (!e.addresses.empty() && !has_neighbor(e.node_id, nullptr) && !dialing_.count(e.node_id) &&
          !is_neighbor_address(e.addresses.front()))
        candidates.push_back(&e);
    });
    std::shuffle(candidates.begin(), candidates.end(), rng_);
    const auto want = std::min(opts_.target_neighbors - have, candidates.size());
    std::vector<protocol::presence_entry> picks;
    for (std::size_t i = 0; i < want; ++i) picks.push_back(*candidates[i]);
    for (auto& e : picks) {
      dialing_.insert(e.node_id);
      auto_dial(e.addresses.front(), e.peer_id, e.node_id, 0);
    }
  }

  void follow_referral(const std::vector<endpoint>& referrals, std::size_t hops) {
    std::vector<endpoint> usable;
    const auto mine = local_endpoints();
    for (const auto& ep : referrals)
      if (!is_neighbor_address(ep) && std::find(mine.begin(), mine.end(), ep) == mine.end()) usable.push_back(ep);
    if (usable.empty()) return;
    const auto ep = usable[std::uniform_int_distribution<std::size_t>(0, usable.size() - 1)(rng_)];
    ++stats_.referrals_followed;
    // Not from inside the failing connection's teardown.
    asio::post(ex_, [self = this->shared_from_this(), ep, hops] { self->auto_dial(ep, {}, 0, hops); });
  }

  void auto_dial(const endpoint& ep, std::optional<std::string> peer, node_id node, std::size_t hops) {
    if (closed_) return;
    ++stats_.auto_connects;
    ++pending_auto_;
    connect_options o;
    o.peer_id = std::move(peer);
    open_completion op(
        [w = this->weak_from_this(), node](std::error_code, std::shared_ptr<connection_type>) {
          if (auto self = w.lock()) {
            --self->pending_auto_;
            self->dialing_.erase(node);
          }
        },
        ex_);
    if (auto conn = connect(ep, o, connection_kind::neighbor, std::move(op)); conn && hops > 0)
      referral_hops_[conn->id()] = hops;
  }

  bool is_neighbor_address(const endpoint& ep) const {
    for (const auto& [id, c] : connections_)
      if (c->kind() == connection_kind::neighbor && c->is_established() &&
          (c->dialed() == ep || c->remote_endpoint() == ep ||
           std::find(c->remote_addresses().begin(), c->remote_addresses().end(), ep) != c->remote_addresses().end()))
        return true;
    return false;
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
  std::uint32_t props_version_ = 0;
  bool closed_ = false;
  std::size_t neighbor_count_ = 0;
  graph_status reported_status_;
  std::mt19937_64 rng_;

  using tick_timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                                asio::wait_traits<std::chrono::steady_clock>, Executor>;
  tick_timer tick_;
  std::uint64_t tick_gen_ = 0;
  bool ticking_ = false;
  bool maintenance_posted_ = false;
  ms last_maintenance_{};
  ms last_publish_{};

  protocol::presence_table table_;
  std::uint32_t own_version_ = 0;
  bool own_published_ = false;
  bool force_presence_ = false;
  std::string attributes_;
  std::string published_attributes_;
  std::vector<endpoint> published_addresses_;
  graph_stats stats_;
  std::size_t pending_auto_ = 0;
  std::unordered_set<node_id> dialing_;
  std::unordered_map<connection_id, std::size_t> referral_hops_;

  std::vector<std::shared_ptr<listener_entry>> listeners_;
  std::unordered_map<connection_id, std::shared_ptr<connection_type>> connections_;
  event_router router_;
  event_outbox outbox_;
};

}  // namespace peergraph::detail

#endif // PEERGRAPH_DETAIL_GRAPH_IMPL_HPP
