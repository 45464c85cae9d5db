// peergraph/impl/connection.hpp: the bodies of basic_connection and its initiation objects.
#ifndef PEERGRAPH_IMPL_CONNECTION_HPP
#define PEERGRAPH_IMPL_CONNECTION_HPP

#include <peergraph/connection.hpp>
#include <peergraph/detail/completion.hpp>
#include <peergraph/detail/link/connection_impl.hpp>
#include <peergraph/error.hpp>

#include <asio/associated_executor.hpp>
#include <asio/execution/context.hpp>
#include <asio/query.hpp>
#include <asio/system_executor.hpp>

#include <span>
#include <type_traits>

namespace peergraph {
namespace detail {

/// What the send, flush and close initiations share: the connection, and
/// completing on an empty handle, which has no executor of its own.
template <typename Executor, typename Transport>
struct connection_initiation {
  using impl_type = connection_impl<Executor, Transport>;
  using plain_completion = typename impl_type::plain_completion;

  std::shared_ptr<impl_type> impl;

  // An empty handle has no executor; its completion goes to the system executor.
  using executor_type = asio::any_io_executor;
  executor_type get_executor() const noexcept {
    return impl ? executor_type(impl->get_executor()) : executor_type(asio::system_executor());
  }

  template <typename Handler>
  static void complete_empty(Handler&& h) {
    post_completion(std::forward<Handler>(h), asio::system_executor(), direct_invoke{},
                    std::error_code(errc::connection_not_found));
  }

  // A send whose handler runs in the connection's execution context leaves
  // the write to that handler's return (see connection_impl::send_invoke);
  // one that runs elsewhere might never run there, so it writes at once.
  template <typename Handler>
  bool runs_on_connection(const Handler& h) const {
    using assoc = asio::associated_executor_t<Handler, Executor>;
    using context_prop = asio::execution::context_as_t<asio::execution_context&>;
    if constexpr (asio::can_query<assoc, context_prop>::value && asio::can_query<Executor, context_prop>::value) {
      const auto ex = impl->get_executor();
      const context_prop ctx;
      return &asio::query(asio::get_associated_executor(h, ex), ctx) == &asio::query(ex, ctx);
    } else {
      return false;
    }
  }

  template <typename Handler, typename Payload>
  void start_send(Handler&& h, const guid& type, Payload&& payload) const {
    const bool deferred = runs_on_connection(h);
    bool full = false;
    const auto ec = impl->enqueue(type, std::forward<Payload>(payload), deferred, full);
    typename impl_type::send_invoke invoke{!ec && deferred ? impl : nullptr};
    if (!ec && full) {
      impl->park_send(plain_completion(std::forward<Handler>(h), impl->get_executor(), std::move(invoke)));
      return;
    }
    // The common case: complete by posting the handler straight to its
    // executor; nothing is parked, so no holder and no work guard.
    post_completion(std::forward<Handler>(h), impl->get_executor(), std::move(invoke), ec);
  }
};

template <typename Executor, typename Transport>
struct initiate_send_copy : connection_initiation<Executor, Transport> {
  template <typename Handler, typename ConstBufferSequence>
  void operator()(Handler&& h, const guid& type, const ConstBufferSequence& data) const {
    if (!this->impl) return this->complete_empty(std::forward<Handler>(h));
    this->start_send(std::forward<Handler>(h), type, data);
  }
};

template <typename Executor, typename Transport>
struct initiate_send_owned : connection_initiation<Executor, Transport> {
  template <typename Handler>
  void operator()(Handler&& h, const guid& type, std::vector<std::uint8_t>&& data) const {
    if (!this->impl) return this->complete_empty(std::forward<Handler>(h));
    this->start_send(std::forward<Handler>(h), type, std::move(data));
  }
};

template <typename Executor, typename Transport>
struct initiate_flush : connection_initiation<Executor, Transport> {
  template <typename Handler>
  void operator()(Handler&& h) const {
    if (!this->impl) return this->complete_empty(std::forward<Handler>(h));
    this->impl->flush(typename connection_initiation<Executor, Transport>::plain_completion(
        std::forward<Handler>(h), this->impl->get_executor()));
  }
};

template <typename Executor, typename Transport>
struct initiate_wait_room : connection_initiation<Executor, Transport> {
  template <typename Handler>
  void operator()(Handler&& h) const {
    if (!this->impl) return this->complete_empty(std::forward<Handler>(h));
    this->impl->wait_room(typename connection_initiation<Executor, Transport>::plain_completion(
        std::forward<Handler>(h), this->impl->get_executor()));
  }
};

template <typename Executor, typename Transport>
struct initiate_close : connection_initiation<Executor, Transport> {
  template <typename Handler>
  void operator()(Handler&& h) const {
    if (!this->impl) return this->complete_empty(std::forward<Handler>(h));
    this->impl->close_op(typename connection_initiation<Executor, Transport>::plain_completion(
        std::forward<Handler>(h), this->impl->get_executor()));
  }
};

}  // namespace detail

template <typename Executor, typename Transport>
auto basic_connection<Executor, Transport>::get_executor() const noexcept -> executor_type {
  return impl_->get_executor();
}

template <typename Executor, typename Transport>
connection_id basic_connection<Executor, Transport>::id() const noexcept {
  return impl_ ? impl_->id() : 0;
}

template <typename Executor, typename Transport>
connection_kind basic_connection<Executor, Transport>::kind() const noexcept {
  return impl_ ? impl_->kind() : connection_kind::neighbor;
}

template <typename Executor, typename Transport>
node_id basic_connection<Executor, Transport>::remote_node() const noexcept {
  return impl_ ? impl_->remote_node() : 0;
}

template <typename Executor, typename Transport>
std::string basic_connection<Executor, Transport>::remote_peer_id() const {
  return impl_ ? impl_->remote_peer() : std::string{};
}

template <typename Executor, typename Transport>
endpoint basic_connection<Executor, Transport>::remote_endpoint() const noexcept {
  return impl_ ? impl_->remote_endpoint() : endpoint{};
}

template <typename Executor, typename Transport>
connection_info basic_connection<Executor, Transport>::info() const {
  return impl_ ? impl_->info() : connection_info{};
}

template <typename Executor, typename Transport>
bool basic_connection<Executor, Transport>::is_open() const noexcept {
  return impl_ && impl_->is_established();
}

template <typename Executor, typename Transport>
template <typename ConstBufferSequence>
  requires asio::is_const_buffer_sequence<ConstBufferSequence>::value
std::error_code basic_connection<Executor, Transport>::try_send(const guid& type, const ConstBufferSequence& data) {
  if (!impl_) return errc::connection_not_found;
  return impl_->try_enqueue(type, data);
}

template <typename Executor, typename Transport>
std::error_code basic_connection<Executor, Transport>::try_send(const guid& type, std::vector<std::uint8_t>&& data) {
  if (!impl_) return errc::connection_not_found;
  return impl_->try_enqueue(type, std::move(data));
}

template <typename Executor, typename Transport>
std::size_t basic_connection<Executor, Transport>::queued_bytes() const noexcept {
  return impl_ ? impl_->queued_bytes() : 0;
}

}  // namespace peergraph

#endif  // PEERGRAPH_IMPL_CONNECTION_HPP
