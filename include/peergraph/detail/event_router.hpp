// peergraph/detail/event_router.hpp: subscription queues and event fan-out.
//
// Policy: no event is dropped. A subscription's queue is bounded; when an
// event cannot be placed in every subscription that wants it, the producer
// (a connection's event outbox) keeps it and waits for space, and a waiting
// connection stops reading its socket, so TCP flow control slows the remote.
// When the graph closes, the last events (disconnects, status) are placed
// regardless of capacity: at most a few per connection, so still bounded.
#ifndef PEERGRAPH_DETAIL_EVENT_ROUTER_HPP
#define PEERGRAPH_DETAIL_EVENT_ROUTER_HPP

#include <peergraph/detail/completion.hpp>
#include <peergraph/detail/ring.hpp>
#include <peergraph/events.hpp>
#include <peergraph/options.hpp>

#include <asio/error.hpp>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <variant>
#include <vector>

namespace peergraph::detail {

using peergraph::any_event;

inline std::size_t event_bytes(const any_event& ev) noexcept {
  if (const auto* d = std::get_if<incoming_data_event>(&ev)) return d->data.size();
  return 0;
}

/// One subscription's queue. Lives as long as the subscription object or
/// the router's reference to it (until the graph closes, or the next
/// subscribe after the subscription closed), whichever is longer.
class subscription_state {
 public:
  subscription_state(event_mask mask, subscribe_options opts) : mask_(mask), opts_(std::move(opts)) {
    if (opts_.max_events == 0) opts_.max_events = 1;
  }

  bool wants(const any_event& ev) const noexcept {
    if (closed_ || !mask_.contains(ev)) return false;
    if (const auto* d = std::get_if<incoming_data_event>(&ev); d && !opts_.data_types.empty())
      return std::find(opts_.data_types.begin(), opts_.data_types.end(), d->type) != opts_.data_types.end();
    return true;
  }
  /// True if this open subscription takes some kind in `kinds`.
  bool wants_any(event_mask kinds) const noexcept { return !closed_ && !(mask_ & kinds).empty(); }

  bool has_space_for(const any_event& ev) const noexcept {
    if (queue_.empty()) return true;
    return queue_.size() < opts_.max_events && bytes_ + event_bytes(ev) <= opts_.max_bytes;
  }

  /// Places an event; hands it straight to a waiting receiver if there is
  /// one. A waiting batch receive is woken and takes the event, and those
  /// placed after it, only once its handler runs (one wake-up per batch).
  void push(any_event&& ev) {
    if (receiver_) {
      receiver_.complete(std::error_code{}, std::move(ev));
      return;
    }
    bytes_ += event_bytes(ev);
    queue_.push_back(std::move(ev));
    batch_receiver_.complete(std::error_code{});
  }

  std::optional<any_event> pop() {
    std::optional<any_event> out;
    take_front([&out](any_event& ev) { out.emplace(std::move(ev)); });
    return out;
  }

  /// Hands the oldest event to `f` (as an lvalue it may move from) and
  /// removes it; false if the queue is empty. No copy of the event between
  /// the queue and the application's storage.
  template <typename F>
  bool take_front(F&& f) {
    if (queue_.empty()) return false;
    bytes_ -= event_bytes(queue_.front());
    f(queue_.front());
    queue_.pop_front();
    // Waiting producers resume only once the queue is half empty: waking
    // them for every freed slot would pause and resume a busy connection
    // once per message.
    if (queue_.size() <= opts_.max_events / 2 && bytes_ <= opts_.max_bytes / 2) notify_space();
    return true;
  }

  /// Parks a receive until an event (or the end) arrives.
  void wait(completion<std::error_code, any_event> c) {
    if (auto ev = pop()) {
      c.complete(std::error_code{}, std::move(*ev));
      return;
    }
    if (closed_) {
      c.complete(asio::error::eof, any_event{});
      return;
    }
    if (receiver_ || batch_receiver_) {
      // Only one receive may wait at a time; the second one is an API misuse.
      c.complete(asio::error::already_started, any_event{});
      return;
    }
    receiver_ = std::move(c);
    receiver_.on_cancel([this](asio::cancellation_type) { cancel_receive(); });
  }

  void cancel_receive() { receiver_.complete(asio::error::operation_aborted, any_event{}); }

  /// Parks a batch receive until the queue holds an event (or the end): it
  /// completes with no error and takes the events itself when its handler
  /// runs, or with eof once closed and empty.
  void wait_batch(completion<std::error_code> c) {
    if (!queue_.empty()) return c.complete(std::error_code{});
    if (closed_) return c.complete(asio::error::eof);
    if (receiver_ || batch_receiver_) return c.complete(asio::error::already_started);
    batch_receiver_ = std::move(c);
    batch_receiver_.on_cancel(
        [this](asio::cancellation_type) { batch_receiver_.complete(asio::error::operation_aborted); });
  }

  /// Producers run `f` once when this queue has room again (or closes).
  void on_space(std::function<void()> f) { space_waiters_.push_back(std::move(f)); }

  /// No more events will arrive; queued ones can still be received.
  void close() {
    if (closed_) return;
    closed_ = true;
    if (queue_.empty()) queue_.release();
    receiver_.complete(asio::error::eof, any_event{});
    batch_receiver_.complete(std::error_code{});  // it finds the queue empty and reports eof
    notify_space();
  }

  bool closed() const noexcept { return closed_; }
  std::size_t size() const noexcept { return queue_.size(); }
  std::size_t bytes() const noexcept { return bytes_; }

 private:
  void notify_space() {
    if (space_waiters_.empty()) return;
    auto waiters = std::move(space_waiters_);
    space_waiters_.clear();
    for (auto& w : waiters) w();
  }

  event_mask mask_;
  subscribe_options opts_;
  ring<any_event> queue_;
  std::size_t bytes_ = 0;
  bool closed_ = false;
  completion<std::error_code, any_event> receiver_;
  completion<std::error_code> batch_receiver_;
  std::vector<std::function<void()>> space_waiters_;
};

/// Fans events out to the subscriptions that want them.
class event_router {
 public:
  void add(const std::shared_ptr<subscription_state>& s) {
    prune();
    subs_.push_back(s);
    if (closing_) s->close();
  }

  /// True if some open subscription takes some kind in `kinds`.
  bool wants_any(event_mask kinds) const {
    return std::any_of(subs_.begin(), subs_.end(), [&](const auto& s) { return s->wants_any(kinds); });
  }

  /// Places `ev` in every subscription that wants it, or in none: if one of
  /// them is full, returns that one (the caller waits for its space) and
  /// leaves `ev` untouched. Once the graph is closing, capacity is ignored.
  std::shared_ptr<subscription_state> try_deliver(any_event& ev) {
    // Two passes instead of a list of targets: this runs once per received
    // message, and the common case (one subscriber) then allocates nothing.
    std::size_t last = subs_.size();
    for (std::size_t i = 0; i < subs_.size(); ++i) {
      auto& s = *subs_[i];
      if (!s.wants(ev)) continue;
      if (!closing_ && !s.has_space_for(ev)) return subs_[i];
      last = i;
    }
    for (std::size_t i = 0; i < last; ++i)
      if (subs_[i]->wants(ev)) subs_[i]->push(any_event(ev));
    if (last < subs_.size()) subs_[last]->push(std::move(ev));
    return nullptr;
  }

  /// The graph is closing: later events ignore capacity; subscriptions are
  /// closed by close_all() once the final events are in.
  void begin_closing() noexcept { closing_ = true; }
  bool closing() const noexcept { return closing_; }

  void close_all() {
    closing_ = true;
    for (auto& s : subs_) s->close();
    subs_.clear();
  }

 private:
  void prune() {
    subs_.erase(std::remove_if(subs_.begin(), subs_.end(), [](const auto& s) { return s->closed(); }), subs_.end());
  }

  // Shared, not weak: locking a weak_ptr per subscription and per message
  // costs two atomic operations each. A subscription's destructor closes
  // its state, which then takes nothing and is dropped by the next add().
  std::vector<std::shared_ptr<subscription_state>> subs_;
  bool closing_ = false;
};

/// An ordered queue of events waiting to enter the router. Each connection
/// has one (and the graph one for its own events); while it holds events,
/// its owner stops consuming input.
class event_outbox {
 public:
  bool empty() const noexcept { return events_.empty(); }

  void push(any_event&& ev) { events_.push_back(std::move(ev)); }

  /// Moves events into the router until it is empty or a subscription is
  /// full. When blocked, the function `make_resume()` returns runs once that
  /// subscription has space: the caller's factory makes something that
  /// keeps the owner alive and pumps again. It is called only when the
  /// outbox has to wait, so the common case copies no shared_ptr.
  /// Returns true when the outbox is empty.
  template <typename MakeResume>
  bool pump(event_router& router, MakeResume&& make_resume) {
    while (!events_.empty()) {
      if (auto full = router.try_deliver(events_.front())) {
        wait_for(*full, make_resume);
        return false;
      }
      events_.pop_front();
    }
    // Events wait here only at a link's start and end, or behind a full
    // subscription: an idle link keeps no block for them.
    events_.release();
    return true;
  }

  /// Hands `ev` to the router, or keeps it (in order) if events are already
  /// waiting or a subscription is full. Returns true if it was delivered.
  template <typename MakeResume>
  bool deliver(event_router& router, any_event&& ev, MakeResume&& make_resume) {
    if (events_.empty()) {
      auto full = router.try_deliver(ev);
      if (!full) return true;
      events_.push_back(std::move(ev));
      wait_for(*full, make_resume);
      return false;
    }
    events_.push_back(std::move(ev));
    return pump(router, make_resume);
  }

  bool waiting() const noexcept { return waiting_; }

 private:
  template <typename MakeResume>
  void wait_for(subscription_state& full, MakeResume& make_resume) {
    if (waiting_) return;
    waiting_ = true;
    full.on_space([this, r = make_resume()] {
      waiting_ = false;
      r();
    });
  }

  ring<any_event> events_;
  bool waiting_ = false;
};

}  // namespace peergraph::detail

#endif  // PEERGRAPH_DETAIL_EVENT_ROUTER_HPP
