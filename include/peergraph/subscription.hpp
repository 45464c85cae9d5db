// peergraph/subscription.hpp: a typed, bounded, lossless stream of graph events.
#ifndef PEERGRAPH_SUBSCRIPTION_HPP
#define PEERGRAPH_SUBSCRIPTION_HPP

#include <peergraph/config.hpp>
#include <peergraph/detail/completion.hpp>
#include <peergraph/detail/event_router.hpp>
#include <peergraph/events.hpp>

#include <asio/associated_allocator.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

#include <memory>
#include <optional>
#include <type_traits>
#include <variant>

namespace peergraph {

template <typename Executor, typename Transport>
class basic_graph;

/// The completion token used when none is given: `co_await g.connect(ep)`.
using default_token = asio::use_awaitable_t<>;

/// Receives the events of the types `Events...` that a graph reports after
/// the subscription was made, in the order the graph reported them.
///
/// Created by basic_graph::subscribe(). With one event type, `value_type`
/// is that type; with several it is `std::variant<Events...>`.
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
/// Thread safety: distinct objects safe; shared objects unsafe. Use from the
/// graph's executor.
template <typename Executor, detail::graph_event... Events>
class basic_subscription {
  static_assert(sizeof...(Events) > 0, "subscribe to at least one event type");

 public:
  using executor_type = Executor;
  using value_type =
      std::conditional_t<sizeof...(Events) == 1, std::tuple_element_t<0, std::tuple<Events...>>, std::variant<Events...>>;

  /// An empty subscription; receive() on it completes with eof.
  basic_subscription() = default;
  basic_subscription(basic_subscription&&) noexcept = default;
  basic_subscription& operator=(basic_subscription&& other) noexcept {
    if (this != &other) {
      close();
      state_ = std::move(other.state_);
      ex_ = std::move(other.ex_);
    }
    return *this;
  }
  ~basic_subscription() { close(); }

  executor_type get_executor() const noexcept { return ex_; }

  /// Waits for the next event.
  ///
  /// @param token Completion token; signature `void(std::error_code, value_type)`.
  ///   Errors: asio::error::eof (the graph closed and everything was received,
  ///   or close() was called), asio::error::already_started (another receive
  ///   is already waiting on this subscription).
  ///
  /// Cancellation: total, partial and terminal. A cancelled receive
  /// completes with operation_aborted and takes no event: the next receive
  /// gets it.
  template <typename Token = default_token>
  auto receive(Token&& token = default_token{}) {
    return asio::async_initiate<Token, void(std::error_code, value_type)>(initiate_receive{state_, ex_}, token);
  }

  /// Takes the next queued event without waiting, if there is one.
  std::optional<value_type> try_receive() {
    if (!state_) return std::nullopt;
    auto ev = state_->pop();
    if (!ev) return std::nullopt;
    return convert(std::move(*ev));
  }

  /// Events queued and not yet received.
  std::size_t size() const noexcept { return state_ ? state_->size() : 0; }

  /// Stops receiving new events. Queued events can still be received.
  void close() noexcept {
    if (state_) state_->close();
  }

  bool is_open() const noexcept { return state_ && !state_->closed(); }

  /// The bit mask of the subscribed event types (engine use).
  static constexpr std::uint32_t mask() noexcept { return ((1u << detail::event_index<Events>::value) | ...); }

 private:
  template <typename, typename>
  friend class basic_graph;

  basic_subscription(std::shared_ptr<detail::subscription_state> s, Executor ex)
      : state_(std::move(s)), ex_(std::move(ex)) {}

  static value_type convert(detail::any_event&& ev) {
    return std::visit(
        [](auto&& e) -> value_type {
          using E = std::decay_t<decltype(e)>;
          if constexpr ((std::is_same_v<E, Events> || ...))
            return value_type(std::move(e));
          else
            return value_type{};  // filtered out by the mask; never delivered here
        },
        std::move(ev));
  }

  struct initiate_receive {
    std::shared_ptr<detail::subscription_state> state;
    Executor ex;
    using executor_type = Executor;
    executor_type get_executor() const noexcept { return ex; }

    template <typename Handler>
    void operator()(Handler&& handler) const {
      if (state) {
        if (auto ev = state->pop()) {
          // An event is waiting: post the handler straight to its executor
          // with it; no holder, no work guard, nothing to cancel.
          detail::post_completion(std::forward<Handler>(handler), ex, detail::direct_invoke{}, std::error_code{},
                                  convert(std::move(*ev)));
          return;
        }
      }
      detail::completion<std::error_code, detail::any_event> c(
          std::forward<Handler>(handler), ex, [](auto&& h, std::error_code ec, detail::any_event ev) {
            std::move(h)(ec, ec ? value_type{} : convert(std::move(ev)));
          });
      if (!state) return c.complete(asio::error::eof, detail::any_event{});
      state->wait(std::move(c));
    }
  };

  std::shared_ptr<detail::subscription_state> state_;
  Executor ex_{};
};

}  // namespace peergraph

#endif // PEERGRAPH_SUBSCRIPTION_HPP
