// peergraph/impl/subscription.hpp: the machinery behind basic_subscription.
#ifndef PEERGRAPH_IMPL_SUBSCRIPTION_HPP
#define PEERGRAPH_IMPL_SUBSCRIPTION_HPP

#include <peergraph/detail/completion.hpp>
#include <peergraph/subscription.hpp>

#include <asio/error.hpp>

namespace peergraph {
namespace detail {

template <typename... Events>
auto subscription_traits<Events...>::convert(any_event&& ev) -> value_type {
  return std::visit(
      [](auto&& e) -> value_type {
        using E = std::decay_t<decltype(e)>;
        if constexpr ((std::is_same_v<E, Events> || ...))
          return value_type(std::move(e));
        else
          return value_type{};  // excluded by the subscription's mask; never delivered here
      },
      std::move(ev));
}

template <typename... Events>
void subscription_traits<Events...>::assign(value_type& dst, any_event& ev) {
  if constexpr (sizeof...(Events) == 1) {
    using E = value_type;
    if (auto* e = std::get_if<E>(&ev)) dst = std::move(*e);
  } else {
    dst = convert(std::move(ev));
  }
}

/// What the receive initiations share: the subscription's state (null for
/// an empty subscription) and the executor its completions default to.
template <typename Executor>
struct subscription_initiation {
  std::shared_ptr<subscription_state> state;
  Executor ex;

  using executor_type = Executor;
  executor_type get_executor() const noexcept { return ex; }
};

template <typename Executor, typename Traits>
struct initiate_receive : subscription_initiation<Executor> {
  using subscription_initiation<Executor>::state;
  using subscription_initiation<Executor>::ex;

  template <typename Handler>
  void operator()(Handler&& handler) const {
    using value_type = typename Traits::value_type;
    if (state) {
      if (auto ev = state->pop()) {
        // An event is waiting: post the handler straight to its executor
        // with it; no holder, no work guard, nothing to cancel.
        post_completion(std::forward<Handler>(handler), ex, direct_invoke{}, std::error_code{},
                        Traits::convert(std::move(*ev)));
        return;
      }
    }
    completion<std::error_code, any_event> c(std::forward<Handler>(handler), ex,
                                             [](auto&& h, std::error_code ec, any_event ev) {
                                               std::move(h)(ec, ec ? value_type{} : Traits::convert(std::move(ev)));
                                             });
    if (!state) return c.complete(asio::error::eof, any_event{});
    state->wait(std::move(c));
  }
};

/// Moves up to `out.size()` queued events into `out`; returns how many.
template <typename Traits>
std::size_t take_batch(subscription_state& state, std::span<typename Traits::value_type> out) {
  std::size_t n = 0;
  while (n < out.size() && state.take_front([&](any_event& ev) { Traits::assign(out[n], ev); })) ++n;
  return n;
}

template <typename Executor, typename Traits>
struct initiate_receive_some : subscription_initiation<Executor> {
  using subscription_initiation<Executor>::state;
  using subscription_initiation<Executor>::ex;

  template <typename Handler>
  void operator()(Handler&& handler, std::span<typename Traits::value_type> out) const {
    if (out.empty() || (state && state->size() != 0)) {
      const std::size_t n = state ? take_batch<Traits>(*state, out) : 0;
      return post_completion(std::forward<Handler>(handler), ex, direct_invoke{}, std::error_code{}, n);
    }
    // The events are taken when the handler runs, not when the first one
    // arrives: those that arrived meanwhile come in the same batch.
    completion<std::error_code> c(std::forward<Handler>(handler), ex, [s = state, out](auto&& h, std::error_code ec) {
      std::size_t n = 0;
      if (!ec && s) {
        n = take_batch<Traits>(*s, out);
        if (n == 0 && s->closed()) ec = asio::error::eof;
      }
      std::move(h)(ec, n);
    });
    if (!state) return c.complete(asio::error::eof);
    state->wait_batch(std::move(c));
  }
};

}  // namespace detail

template <typename Executor, typename... Events>
basic_subscription<Executor, Events...>& basic_subscription<Executor, Events...>::operator=(
    basic_subscription&& other) noexcept {
  if (this != &other) {
    close();
    state_ = std::move(other.state_);
    ex_ = std::move(other.ex_);
  }
  return *this;
}

template <typename Executor, typename... Events>
auto basic_subscription<Executor, Events...>::try_receive() -> std::optional<value_type> {
  if (!state_) return std::nullopt;
  auto ev = state_->pop();
  if (!ev) return std::nullopt;
  return traits::convert(std::move(*ev));
}

}  // namespace peergraph

#endif  // PEERGRAPH_IMPL_SUBSCRIPTION_HPP
