// peergraph/detail/node/engine.hpp: one node's graph-level behaviour as a sans-I/O machine.
//
// The inputs are what happens to a node (a link comes up or ends, a frame of
// graph-level traffic arrives, time passes, the application calls); each
// appends to `actions` what must be sent, reported or dialled. Message
// dispatch lives here; the rules live in the pieces beside it:
// responder_policy, presence_engine and maintenance. graph_impl feeds it
// and carries out the actions; tests/unit/detail/ drives it with no socket.
#ifndef PEERGRAPH_DETAIL_NODE_ENGINE_HPP
#define PEERGRAPH_DETAIL_NODE_ENGINE_HPP

#include <peergraph/detail/ids.hpp>
#include <peergraph/detail/node/actions.hpp>
#include <peergraph/detail/node/maintenance.hpp>
#include <peergraph/detail/node/node_state.hpp>
#include <peergraph/detail/node/presence_engine.hpp>
#include <peergraph/detail/node/request_allowance.hpp>
#include <peergraph/detail/node/responder_policy.hpp>
#include <peergraph/detail/node/sync_answers.hpp>
#include <peergraph/error.hpp>
#include <peergraph/protocol/header.hpp>
#include <peergraph/protocol/presence.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

namespace peergraph::detail::node {

class engine {
 public:
  explicit engine(node_state st) : state_(std::move(st)), presence_(state_) {}

  node_state& state() noexcept { return state_; }
  const node_state& state() const noexcept { return state_; }
  const presence_engine& presence() const noexcept { return presence_; }
  maintenance& upkeep() noexcept { return upkeep_; }

  /// How often tick() wants to run: often enough for presence expiry and
  /// refresh and for maintenance, never busier than every 20 ms.
  ms tick_period() const noexcept {
    auto p = std::min(presence_engine::lifetime(state_) / 4, state_.options().maintenance_interval);
    return std::clamp(p, ms(20), ms(1'000));
  }

  // ------------------------------------------------------------ links

  decision decide(const link_summary& l, const protocol::connect& req, bool accepts_direct) {
    return node::decide(state_, l, req, accepts_direct);
  }
  std::vector<endpoint> referrals(const link_summary& l) { return node::referrals(state_, l, presence_.table()); }

  /// Initiator: WELCOME arrived on link `l`. If a neighbor link to the same
  /// node exists too (both nodes dialled each other at once), both keep the
  /// link the smaller node id dialled: false means `l` gives way, else the
  /// others are closed.
  bool keep_welcomed(const link_summary& l, actions& out) {
    if (l.kind != connection_kind::neighbor || !state_.has_neighbor(l.remote_node, l.id)) return true;
    if (state_.id() > l.remote_node) return false;
    state_.for_each_neighbor([&](const link_summary& n) {
      if (n.id != l.id && n.remote_node == l.remote_node) out.end_link(n.id, errc::already_exists);
    });
    return true;
  }

  void on_link_established(const link_summary& l, ms now, actions& out) {
    state_.link_established(l);
    if (l.kind == connection_kind::neighbor) {
      // Both ends ask for each other's presence list and graph information
      // on every new neighbor link; an opened graph counts as synchronized
      // at its first SYNC_END (see docs/presence.md).
      out.send(l.id, [](std::vector<std::uint8_t>& b) { protocol::encode(protocol::solicit_new{}, b); });
      ++state_.stats().solicits_sent;
      // The first link may tell a wildcard listener its address.
      presence_.refresh(state_, now, false, out);
    }
    report_status(out);
  }

  /// A frame of graph-level traffic arrived on established link `l`; an
  /// error means the link must end.
  std::error_code on_frame(const link_summary& l, const protocol::header& h, std::span<const std::uint8_t> frame,
                           ms now, actions& out) {
    using protocol::message_type;
    if (l.kind != connection_kind::neighbor || state_.closed()) return protocol::error::unexpected_message;
    switch (h.type) {
      case message_type::flood: {
        protocol::flood f;
        if (auto ec = protocol::decode(frame, f)) return ec;
        if (auto* g = std::get_if<protocol::graph_info>(&f.record)) {
          ++(f.sync ? state_.stats().sync_records_received : state_.stats().floods_received);
          // A newer record goes on to the other neighbors, as presence does.
          if (adopt(*g, now, out)) node::flood(state_, protocol::flood{false, *g}, l.id, out);
          return {};
        }
        presence_.on_record(state_, l.id, std::get<protocol::presence_entry>(f.record), f.sync, now, out);
        return {};
      }
      case message_type::solicit_new: {
        protocol::solicit_new m;
        if (auto ec = protocol::decode(frame, m)) return ec;
        // An answer is the whole database for a 12-byte request: each link
        // gets a small allowance of them, renewed over time, and one at a
        // time, produced as the link drains (sync_answers.hpp).
        if (answers_.active(l.id) || !solicits_.allow(l.id, now)) {
          ++state_.stats().solicits_ignored;
          return {};
        }
        ++state_.stats().solicits_answered;
        answers_.start(l.id, presence_.sync_order(now));
        bool done = false;
        out.send(l.id, [&](std::vector<std::uint8_t>& b) {
          if (state_.properties_version() > 0) {
            protocol::encode(protocol::flood{true, state_.graph_info()}, b);
            ++state_.stats().sync_records_sent;
          }
          presence_.append_own_sync(state_, b);
          done = answer_step(l.id, now, b);
        });
        if (!done) out.watch_drain(l.id);
        return {};
      }
      case message_type::sync_end: {
        protocol::sync_end m;
        if (auto ec = protocol::decode(frame, m)) return ec;
        ++state_.stats().syncs_completed;
        if (!state_.synchronized()) {
          state_.set_synchronized();
          report_status(out);
        }
        upkeep_.maintain(state_, presence_.table(), now, out);
        return {};
      }
      case message_type::ack:
        return protocol::check_ack(frame);
      default:
        return protocol::error::unexpected_message;
    }
  }

  /// Link `l` has ended. `was_established`: it had carried traffic;
  /// `refusal`: the REFUSE an initiator received, if that is how it ended.
  void on_link_closed(const link_summary& l, bool was_established, const protocol::refuse* refusal, ms now,
                      actions& out) {
    const bool had_neighbors = state_.neighbor_count() > 0;
    state_.remove_link(l, was_established);
    solicits_.forget(l.id);
    answers_.forget(l.id);
    if (state_.closed()) return;
    if (was_established && l.kind == connection_kind::neighbor && had_neighbors && state_.neighbor_count() == 0) {
      out.emit(connection_required_event{});
      upkeep_.maintain(state_, presence_.table(), now, out);
    }
    report_status(out);
    if (!was_established && l.kind == connection_kind::neighbor && refusal)
      upkeep_.on_refused(state_, l.id, *refusal, state_.listening(), out);
  }

  /// Link `link` has written most of what was queued for it.
  void on_link_drained(connection_id link, ms now, actions& out) { continue_answer(link, now, out); }

  // ------------------------------------------------------------ the application

  void listening(const endpoint& local, ms now, actions& out) {
    state_.add_listener(local);
    presence_.refresh(state_, now, false, out);
    report_status(out);
  }

  std::error_code set_attributes(std::string attrs, ms now, actions& out) {
    if (state_.closed()) return errc::invalid_graph;
    if (attrs.size() > protocol::max_attributes_size || attrs.find('\0') != std::string::npos)
      return errc::invalid_argument;
    presence_.set_attributes(std::move(attrs));
    presence_.refresh(state_, now, false, out);
    return {};
  }

  std::error_code set_presence(bool present, ms now, actions& out) {
    if (state_.closed()) return errc::invalid_graph;
    presence_.force(present);
    presence_.refresh(state_, now, false, out);
    return {};
  }

  /// Applies the mutable properties (creator only) and floods them as a
  /// newer graph information record.
  std::error_code set_properties(const graph_properties& p, ms now, actions& out) {
    if (state_.closed()) return errc::invalid_graph;
    if (!state_.synchronized()) return errc::graph_not_ready;
    if (!state_.is_creator()) return errc::access_denied;
    if (!valid_name(p.friendly_name) || !valid_comment(p.comment) || p.presence_lifetime_s == 0)
      return errc::invalid_argument;
    auto g = state_.graph_info();
    ++g.version;
    g.friendly_name = p.friendly_name;
    g.comment = p.comment;
    g.presence_lifetime_s = p.presence_lifetime_s;
    g.presence_max = p.presence_max;
    adopt(g, now, out);
    node::flood(state_, protocol::flood{false, std::move(g)}, 0, out);
    return {};
  }

  node_info get_node_info(node_id id, std::error_code& ec) const {
    ec.clear();
    if (state_.closed()) return ec = errc::invalid_graph, node_info{};
    if (id == 0 || id == state_.id())
      return node_info{state_.id(), state_.peer_id(), state_.listening(), presence_.attributes()};
    if (const auto e = presence_.table().find(id)) return presence_engine::to_info(*e);
    ec = errc::node_not_found;
    return {};
  }

  graph_stats stats() const noexcept {
    auto s = state_.stats();
    s.known_nodes = presence_.table().live();
    return s;
  }

  // ------------------------------------------------------------ time and the end

  void tick(ms now, actions& out) {
    presence_.tick(state_, now, out);
    if (upkeep_.due(state_, now)) upkeep_.maintain(state_, presence_.table(), now, out);
  }

  /// The node closes: withdraw its presence while the links still exist,
  /// then stop accepting anything.
  void close(actions& out) {
    if (state_.closed()) return;
    presence_.withdraw(state_, out);
    state_.set_closed();
    state_.clear_listeners();
  }

  /// Reports the status if it changed since last reported.
  void report_status(actions& out) {
    if (auto s = state_.status_change()) out.emit(status_changed_event{*s});
  }

 private:
  bool adopt(const protocol::graph_info& g, ms now, actions& out) {
    const auto old = state_.properties();
    if (!state_.adopt(g)) return false;
    const auto& p = state_.properties();
    presence_.properties_changed(state_, p.presence_lifetime_s != old.presence_lifetime_s,
                                 p.presence_max != old.presence_max, now, out);
    return true;
  }

  // Appends the next part of `link`'s synchronization answer, and SYNC_END
  // after the last; true once it is complete.
  bool answer_step(connection_id link, ms now, std::vector<std::uint8_t>& b) {
    const bool done = answers_.step(link, b, [&](std::uint64_t node, std::vector<std::uint8_t>& bytes) {
      presence_.append_sync_record(state_, node, now, bytes);
    });
    if (done) protocol::encode(protocol::sync_end{}, b);
    return done;
  }
  void continue_answer(connection_id link, ms now, actions& out) {
    if (!answers_.active(link)) return;
    bool done = false;
    out.send(link, [&](std::vector<std::uint8_t>& b) { done = answer_step(link, now, b); });
    if (!done) out.watch_drain(link);
  }

  node_state state_;
  presence_engine presence_;
  maintenance upkeep_;
  request_allowance solicits_;
  sync_answers answers_;
};

}  // namespace peergraph::detail::node

#endif  // PEERGRAPH_DETAIL_NODE_ENGINE_HPP
