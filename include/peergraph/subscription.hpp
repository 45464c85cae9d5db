// peergraph/subscription.hpp: a typed, bounded, lossless stream of graph events.
#ifndef PEERGRAPH_SUBSCRIPTION_HPP
#define PEERGRAPH_SUBSCRIPTION_HPP

#include <peergraph/async.hpp>
#include <peergraph/config.hpp>
#include <peergraph/detail/event_router.hpp>
#include <peergraph/events.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <variant>

namespace peergraph {

namespace detail {

/// What a subscription yields for the event types it was made for: the one
/// type, a variant of several, or any_event for a run-time event_mask.
template <typename... Events>
struct subscription_traits {
  static_assert(sizeof...(Events) > 0, "subscribe to at least one event type");
  static_assert((graph_event<Events> && ...), "not an event type (see any_event in events.hpp)");
  using value_type = std::conditional_t<sizeof...(Events) == 1, std::tuple_element_t<0, std::tuple<Events...>>,
                                        std::variant<Events...>>;
  static value_type convert(any_event&& ev);
  /// `dst = convert(ev)`, without an intermediate for a single event type.
  static void assign(value_type& dst, any_event& ev);
};
template <>
struct subscription_traits<any_event> {
  using value_type = any_event;
  static any_event convert(any_event&& ev) noexcept { return std::move(ev); }
  static void assign(any_event& dst, any_event& ev) { dst = std::move(ev); }
};

template <typename Executor, typename Traits>
struct initiate_receive;
template <typename Executor, typename Traits>
struct initiate_receive_some;

}  // namespace detail

/// Receives the events of the types `Events...` that a graph reports after
/// the subscription was made, in the order the graph reported them.
///
/// Created by basic_graph::subscribe(). With one event type, `value_type`
/// is that type; with several it is `std::variant<Events...>`. The form
/// `basic_subscription<Executor, any_event>` takes the kinds of an
/// event_mask chosen at run time and yields any_event.
///
/// Capacity and backpressure: the queue holds at most
/// subscribe_options::max_events events and max_bytes payload bytes. When an
/// event cannot be placed, the connection that produced it waits, and stops
/// reading its socket until there is room: nothing is dropped, memory stays
/// bounded, and TCP flow control slows the sender. An application that never
/// receives therefore stalls the links whose events it asked for; close or
/// destroy a subscription that is no longer read.
///
/// End: when the graph closes, the final events are still queued (even past
/// capacity); once they are received, receive() completes with
/// asio::error::eof. close() ends the subscription early.
///
/// Lifetime: a subscription may outlive its graph; it then ends as above.
///
/// Thread safety: distinct objects safe; shared objects unsafe. Use from the
/// graph's executor.
template <typename Executor, typename... Events>
class basic_subscription {
  using traits = detail::subscription_traits<Events...>;

 public:
  using executor_type = Executor;
  /// The type receive() and try_receive() yield.
  using value_type = typename traits::value_type;

  /// An empty subscription; receive() on it completes with eof.
  basic_subscription() = default;
  basic_subscription(basic_subscription&&) noexcept = default;
  basic_subscription& operator=(basic_subscription&& other) noexcept;
  ~basic_subscription() { close(); }

  executor_type get_executor() const noexcept { return ex_; }

  /// Waits for the next event.
  ///
  /// @param token completion token; signature `void(std::error_code, value_type)`.
  ///   Errors: asio::error::eof (the graph closed and everything was received,
  ///   or close() was called), asio::error::already_started (another receive
  ///   is already waiting on this subscription).
  ///
  /// Cancellation: total, partial and terminal. A cancelled receive
  /// completes with operation_aborted and takes no event: the next receive
  /// gets it.
  template <typename Token = default_token>
  auto receive(Token&& token = default_token{}) {
    return asio::async_initiate<Token, void(std::error_code, value_type)>(
        detail::initiate_receive<Executor, traits>{state_, ex_}, token);
  }

  /// Waits for at least one event, then takes every event already queued,
  /// up to `out.size()`, into `out`: one wake-up for a whole batch, where
  /// receive() costs one per event. Events are in order, from `out[0]`.
  ///
  /// @param out where the events go; must stay valid until completion.
  /// @param token completion token; signature `void(std::error_code, std::size_t n)`:
  ///   `out[0]` to `out[n - 1]` were assigned. An empty `out` completes at
  ///   once with n = 0. Errors as for receive(). With no error, n is at
  ///   least 1 unless try_receive() took the queued events between the
  ///   wake-up and the completion.
  ///
  /// Cancellation: total, partial and terminal while it waits: completes
  /// with operation_aborted and takes no event.
  template <typename Token = default_token>
  auto receive_some(std::span<value_type> out, Token&& token = default_token{}) {
    return asio::async_initiate<Token, void(std::error_code, std::size_t)>(
        detail::initiate_receive_some<Executor, traits>{state_, ex_}, token, out);
  }

  /// Takes the next queued event without waiting, if there is one.
  std::optional<value_type> try_receive();

  /// Events queued and not yet received.
  std::size_t size() const noexcept { return state_ ? state_->size() : 0; }

  /// Stops receiving new events. Queued events can still be received.
  void close() noexcept {
    if (state_) state_->close();
  }

  /// False once closed, by close() or by the graph.
  bool is_open() const noexcept { return state_ && !state_->closed(); }

 private:
  template <typename, typename>
  friend class basic_graph;

  basic_subscription(std::shared_ptr<detail::subscription_state> s, Executor ex)
      : state_(std::move(s)), ex_(std::move(ex)) {}

  std::shared_ptr<detail::subscription_state> state_;
  Executor ex_{};
};

/// A subscription of a graph on the default executor (peergraph::graph):
/// `peergraph::subscription<peergraph::incoming_data_event>`.
template <typename... Events>
using subscription = basic_subscription<asio::any_io_executor, Events...>;

}  // namespace peergraph

#include <peergraph/impl/subscription.hpp>

#endif  // PEERGRAPH_SUBSCRIPTION_HPP
