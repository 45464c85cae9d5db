// peergraph/detail/graph_waiters.hpp: operations waiting for a node to reach a state.
//
// basic_graph::wait_synchronized / wait_node / wait_nodes park here until
// the condition holds: graph_impl calls check() after every input that can
// change the node's status or presence list. Each waiter may have a timer
// (errc::timeout) and a cancellation slot (operation_aborted); closing the
// graph completes them all with operation_aborted. async_close waits in a
// close_tally for the links it closed.
#ifndef PEERGRAPH_DETAIL_GRAPH_WAITERS_HPP
#define PEERGRAPH_DETAIL_GRAPH_WAITERS_HPP

#include <peergraph/detail/completion.hpp>
#include <peergraph/detail/wait_condition.hpp>
#include <peergraph/error.hpp>
#include <peergraph/types.hpp>

#include <asio/basic_waitable_timer.hpp>
#include <asio/error.hpp>

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace peergraph::detail {

template <typename Executor>
class graph_waiters {
 public:
  using completion_type = completion<std::error_code, std::vector<node_info>>;
  using clock = std::chrono::steady_clock;
  using timer_type = asio::basic_waitable_timer<clock, asio::wait_traits<clock>, Executor>;

  /// Parks `op` until `cond` holds in `node`, which must offer
  /// status().is_synchronized(), nodes(peer) and node(); `anchor` keeps
  /// this object alive while a timer or cancellation handler runs.
  template <typename Node>
  void add(const Node& node, wait_condition cond, std::optional<std::chrono::milliseconds> timeout, completion_type op,
           const Executor& ex, std::weak_ptr<void> anchor) {
    if (auto met = satisfied(node, cond)) return op.complete(std::error_code{}, std::move(*met));
    const auto ticket = ++next_ticket_;
    op.on_cancel([this, anchor, ticket](asio::cancellation_type) {
      if (const auto alive = anchor.lock()) finish(ticket, asio::error::operation_aborted);
    });
    auto& w = waiters_.emplace_back(waiter{ticket, std::move(cond), std::move(op), nullptr});
    if (timeout) {
      w.timer = std::make_unique<timer_type>(ex, *timeout);
      w.timer->async_wait([this, anchor, ticket](std::error_code ec) {
        if (const auto alive = anchor.lock(); alive && !ec) finish(ticket, errc::timeout);
      });
    }
  }

  bool empty() const noexcept { return waiters_.empty(); }

  /// Completes every waiter whose condition now holds.
  template <typename Node>
  void check(const Node& node) {
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      auto met = satisfied(node, it->cond);
      if (!met) {
        ++it;
        continue;
      }
      auto op = std::move(it->op);
      it = waiters_.erase(it);
      op.complete(std::error_code{}, std::move(*met));
    }
  }

  /// Completes every waiter with `ec` (the graph closed).
  void fail_all(std::error_code ec) {
    auto all = std::move(waiters_);
    waiters_.clear();
    for (auto& w : all) w.op.complete(ec, {});
  }

 private:
  struct waiter {
    std::uint64_t ticket;
    wait_condition cond;
    completion_type op;
    std::unique_ptr<timer_type> timer;
  };

  template <typename Node>
  static std::optional<std::vector<node_info>> satisfied(const Node& node, const wait_condition& c) {
    switch (c.kind) {
      case wait_condition::synchronized:
        if (node.status().is_synchronized()) return std::vector<node_info>{};
        return std::nullopt;
      case wait_condition::peer: {
        auto found = node.nodes(std::string_view(c.peer_id));
        std::erase_if(found, [&](const node_info& n) {
          return n.id == node.node() || (c.with_addresses && n.addresses.empty());
        });
        if (found.empty()) return std::nullopt;
        return found;
      }
      case wait_condition::count: {
        auto all = node.nodes(std::nullopt);
        if (c.with_addresses) std::erase_if(all, [](const node_info& n) { return n.addresses.empty(); });
        if (all.size() < c.nodes) return std::nullopt;
        return all;
      }
    }
    return std::nullopt;
  }

  // A timer or cancellation ended a wait; the timer goes with the waiter.
  void finish(std::uint64_t ticket, std::error_code ec) {
    for (auto it = waiters_.begin(); it != waiters_.end(); ++it)
      if (it->ticket == ticket) {
        auto op = std::move(it->op);
        waiters_.erase(it);
        op.complete(ec, {});
        return;
      }
  }

  std::list<waiter> waiters_;
  std::uint64_t next_ticket_ = 0;
};

/// basic_graph::async_close: completes once every closing link is down,
/// with the first reason one of them lost data (errc::timeout when a
/// linger ran out), or at once with operation_aborted when cancelled.
class close_tally : public std::enable_shared_from_this<close_tally> {
 public:
  using completion_type = completion<std::error_code>;

  close_tally(completion_type op, std::size_t links) : op_(std::move(op)), left_(links) {}

  /// Arms cancellation; completes at once when no link is left to wait for.
  void start() {
    if (left_ == 0) return op_.complete(std::error_code{});
    op_.on_cancel(
        [self = shared_from_this()](asio::cancellation_type) { self->op_.complete(asio::error::operation_aborted); });
  }

  /// A completion for one link's close; it reports here.
  template <typename Executor>
  completion_type link_done(const Executor& ex) {
    return completion_type([self = shared_from_this()](std::error_code ec) { self->done(ec); }, ex);
  }

 private:
  void done(std::error_code ec) {
    if (ec && !first_) first_ = ec;
    if (--left_ == 0) op_.complete(first_);
  }

  completion_type op_;
  std::size_t left_;
  std::error_code first_;
};

}  // namespace peergraph::detail

#endif  // PEERGRAPH_DETAIL_GRAPH_WAITERS_HPP
