// peergraph/detail/listener_set.hpp: a graph's listeners and the handshake slots of what they accept.
//
// Each listener runs one accept loop; a failed accept (out of descriptors,
// say) is retried after a pause rather than in a spin. Accepted streams go
// to the graph. pick_pending_victim() is the rule that bounds accepted
// connections still in their handshake (docs/limits.md).
#ifndef PEERGRAPH_DETAIL_LISTENER_SET_HPP
#define PEERGRAPH_DETAIL_LISTENER_SET_HPP

#include <peergraph/types.hpp>

#include <asio/basic_waitable_timer.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <system_error>
#include <vector>

namespace peergraph::detail {

/// The pending connection to close so that at most `max_total` accepted
/// connections, and at most `max_per_source` from `source`, are in their
/// handshake: the oldest (of that source, for the second bound), or none.
/// `links` maps ids to links with is_pending_responder(), accept_order()
/// and remote_endpoint().
template <typename Links>
auto pick_pending_victim(const Links& links, const asio::ip::address& source, std::size_t max_total,
                         std::size_t max_per_source) -> typename Links::mapped_type {
  std::size_t total = 0, same = 0;
  typename Links::mapped_type oldest, oldest_same;
  for (const auto& [id, c] : links) {
    if (!c->is_pending_responder()) continue;
    ++total;
    if (!oldest || c->accept_order() < oldest->accept_order()) oldest = c;
    if (c->remote_endpoint().address() != source) continue;
    ++same;
    if (!oldest_same || c->accept_order() < oldest_same->accept_order()) oldest_same = c;
  }
  if (same > max_per_source) return oldest_same;
  if (total > max_total) return oldest;
  return {};
}

/// `Graph` provides is_open() and on_accepted(stream).
template <typename Graph, typename Executor, typename Transport>
class listener_set {
 public:
  using listener_type = typename Transport::template listener<Executor>;

  /// True if `ep` (a fixed port) is being listened on already.
  bool has(const endpoint& ep) const {
    for (const auto& l : entries_)
      if (l->requested == ep && ep.port() != 0) return true;
    return false;
  }

  /// Starts accepting on `acceptor`, opened for `requested`; returns its
  /// local endpoint.
  endpoint add(std::shared_ptr<Graph> g, listener_type acceptor, const endpoint& requested, std::error_code& ec) {
    auto entry = std::make_shared<entry_type>(std::move(acceptor), requested);
    const auto local = entry->acceptor.local_endpoint(ec);
    if (ec) return {};
    entries_.push_back(entry);
    accept_next(std::move(g), entry);
    return local;
  }

  void close() {
    for (auto& l : entries_) {
      std::error_code ignored;
      l->acceptor.close(ignored);
      l->retry.cancel();
    }
    entries_.clear();
  }

 private:
  using timer_type =
      asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, Executor>;

  struct entry_type {
    entry_type(listener_type acc, endpoint req)
        : acceptor(std::move(acc)), requested(req), retry(acceptor.get_executor()) {}
    listener_type acceptor;
    endpoint requested;
    timer_type retry;
  };

  static void accept_next(std::shared_ptr<Graph> g, const std::shared_ptr<entry_type>& l) {
    l->acceptor.async_accept([g, l](std::error_code ec, auto stream) mutable {
      if (!g->is_open() || ec == asio::error::operation_aborted) return;
      if (ec) {
        l->retry.expires_after(std::chrono::milliseconds(50));
        l->retry.async_wait([g, l](std::error_code wec) {
          if (!wec && g->is_open()) accept_next(g, l);
        });
        return;
      }
      g->on_accepted(std::move(stream));
      accept_next(std::move(g), l);
    });
  }

  std::vector<std::shared_ptr<entry_type>> entries_;
};

}  // namespace peergraph::detail

#endif  // PEERGRAPH_DETAIL_LISTENER_SET_HPP
