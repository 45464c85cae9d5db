// peergraph/detail/node/node_state.hpp: one node's identity, properties and links, free of I/O.
//
// Everything about a node that does not depend on an executor or a socket
// (the idea of Boost.Redis's connection_state): who it is, the graph's
// replicated properties, whether it has synchronized, where it listens, the
// summaries of its links and its counters. The policies in this folder read
// and update it; graph_impl owns it.
#ifndef PEERGRAPH_DETAIL_NODE_NODE_STATE_HPP
#define PEERGRAPH_DETAIL_NODE_NODE_STATE_HPP

#include <peergraph/detail/node/link_summary.hpp>
#include <peergraph/options.hpp>
#include <peergraph/protocol/presence.hpp>
#include <peergraph/types.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace peergraph::detail::node {

class node_state {
 public:
  node_state(graph_properties props, std::string peer_id, bool created, graph_options opts, std::uint64_t seed)
      : props_(std::move(props)),
        peer_id_(std::move(peer_id)),
        opts_(std::move(opts)),
        synchronized_(created),
        props_version_(created ? 1 : 0),
        rng_(seed) {
    do id_ = rng_();
    while (id_ == 0);
    reported_ = status();
  }

  // ------------------------------------------------------------ identity

  node_id id() const noexcept { return id_; }
  const std::string& peer_id() const noexcept { return peer_id_; }
  const graph_properties& properties() const noexcept { return props_; }
  const graph_options& options() const noexcept { return opts_; }
  bool is_creator() const noexcept { return peer_id_ == props_.creator_id; }
  std::mt19937_64& rng() noexcept { return rng_; }
  graph_stats& stats() noexcept { return stats_; }
  const graph_stats& stats() const noexcept { return stats_; }

  bool synchronized() const noexcept { return synchronized_; }
  void set_synchronized() noexcept { synchronized_ = true; }
  bool closed() const noexcept { return closed_; }
  void set_closed() noexcept { closed_ = true; }

  // ------------------------------------------------------------ status

  graph_status status() const noexcept {
    std::uint32_t bits = 0;
    if (!listening_.empty()) bits |= graph_status::listening;
    if (neighbors_ > 0) bits |= graph_status::has_connections;
    if (synchronized_) bits |= graph_status::synchronized;
    return graph_status(bits);
  }
  /// The status, if it differs from the one last reported (which it becomes).
  std::optional<graph_status> status_change() noexcept {
    const auto now = status();
    if (now == reported_) return std::nullopt;
    reported_ = now;
    return now;
  }

  // ------------------------------------------------------------ the graph's properties

  std::uint32_t properties_version() const noexcept { return props_version_; }

  /// The replicated properties as the graph information record carries them.
  protocol::graph_info graph_info() const {
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

  /// Takes a graph information record if it is newer than what this node
  /// has. Returns false (and changes nothing) if it is not.
  /// Takes the graph information record if it is newer and keeps the
  /// creator ([MS-PPGRH] 2.2.3.1: the Creator ID never changes once the
  /// graph exists). False when it is not taken.
  bool adopt(const protocol::graph_info& g) {
    if (g.version <= props_version_) return false;
    if (!props_.creator_id.empty() && g.creator_id != props_.creator_id) {
      ++stats_.records_refused;
      return false;
    }
    props_version_ = g.version;
    if (!g.creator_id.empty()) props_.creator_id = g.creator_id;
    props_.friendly_name = g.friendly_name;
    props_.comment = g.comment;
    props_.scope = static_cast<graph_scope>(g.scope);
    props_.presence_lifetime_s = std::max<std::uint32_t>(g.presence_lifetime_s, 1);
    props_.presence_max = g.presence_max;
    props_.max_record_size = g.max_record_size;
    props_.flags = g.flags;
    return true;
  }

  // ------------------------------------------------------------ listening

  const std::vector<endpoint>& listening() const noexcept { return listening_; }
  void add_listener(const endpoint& local) { listening_.push_back(local); }
  void clear_listeners() noexcept { listening_.clear(); }

  /// What this node announces in CONNECT/WELCOME on a link whose local end
  /// is `local`: its listen endpoints, with a wildcard address replaced by
  /// the address the link arrived on.
  std::vector<endpoint> advertised_addresses(const endpoint& local) const {
    std::vector<endpoint> out;
    for (auto ep : listening_) {
      if (ep.address().is_unspecified() && !local.address().is_unspecified()) ep.address(local.address());
      if (std::find(out.begin(), out.end(), ep) == out.end()) out.push_back(ep);
    }
    return out;
  }

  /// Listen endpoints as presence publishes them: a wildcard address becomes
  /// the local address of a neighbor link, or is left out while there is none.
  std::vector<endpoint> presence_addresses(std::size_t most) const {
    std::optional<asio::ip::address> v6, v4;
    for_each_neighbor([&](const link_summary& l) {
      const auto a = l.local_ep.address();
      if (a.is_unspecified()) return;
      if (a.is_v6() && !v6) v6 = a;
      if (a.is_v4() && !v4) v4 = a;
    });
    std::vector<endpoint> out;
    for (auto ep : listening_) {
      if (ep.address().is_unspecified()) {
        const auto& pick = ep.address().is_v6() ? (v6 ? v6 : v4) : v4;
        if (!pick) continue;
        ep.address(*pick);
      }
      if (std::find(out.begin(), out.end(), ep) == out.end() && out.size() < most) out.push_back(ep);
    }
    return out;
  }

  // ------------------------------------------------------------ links

  /// Registers a link; its summary must stay valid until remove_link().
  void add_link(const link_summary& l) { links_[l.id] = &l; }
  /// The link now carries traffic.
  void link_established(const link_summary& l) noexcept {
    if (l.kind == connection_kind::neighbor) ++neighbors_;
  }
  /// Forgets a link; `was_established` as it was before it ended.
  void remove_link(const link_summary& l, bool was_established) {
    if (links_.erase(l.id) && was_established && l.kind == connection_kind::neighbor && neighbors_ > 0) --neighbors_;
  }
  const link_summary* find_link(connection_id id) const {
    auto it = links_.find(id);
    return it == links_.end() ? nullptr : it->second;
  }
  bool has_link(connection_id id) const { return links_.count(id) != 0; }
  std::size_t neighbor_count() const noexcept { return neighbors_; }

  template <typename F>
  void for_each_link(F&& f) const {
    for (const auto& [id, l] : links_) f(*l);
  }
  template <typename F>
  void for_each_neighbor(F&& f) const {
    for (const auto& [id, l] : links_)
      if (l->is_neighbor()) f(*l);
  }

  /// An established neighbor link to `node` other than `except`.
  bool has_neighbor(node_id node, connection_id except = 0) const {
    for (const auto& [id, l] : links_)
      if (id != except && l->is_neighbor() && l->remote_node == node) return true;
    return false;
  }

  /// An established neighbor link dialled to, coming from, or announcing `ep`.
  bool is_neighbor_address(const endpoint& ep) const {
    for (const auto& [id, l] : links_)
      if (l->is_neighbor() &&
          (l->dialed == ep || l->remote_ep == ep ||
           std::find(l->remote_addresses.begin(), l->remote_addresses.end(), ep) != l->remote_addresses.end()))
        return true;
    return false;
  }

  /// A random id that no link of this node has.
  connection_id new_connection_id() {
    connection_id id;
    do id = rng_();
    while (id == 0 || links_.count(id));
    return id;
  }

 private:
  graph_properties props_;
  std::string peer_id_;
  graph_options opts_;
  node_id id_ = 0;
  bool synchronized_ = false;
  bool closed_ = false;
  std::uint32_t props_version_ = 0;
  std::mt19937_64 rng_;
  graph_status reported_;
  graph_stats stats_;
  std::vector<endpoint> listening_;
  std::unordered_map<connection_id, const link_summary*> links_;
  std::size_t neighbors_ = 0;
};

}  // namespace peergraph::detail::node

#endif  // PEERGRAPH_DETAIL_NODE_NODE_STATE_HPP
