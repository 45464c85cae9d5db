// peergraph/detail/memory/stream.hpp: the workings of memory_stream and memory_listener.
//
// Each public operation takes the network's mutex once: it numbers the
// operation, decides whether it completes now or waits (installing its
// cancellation handler while the mutex is still held, so that nothing can
// complete it in between), and posts what completed after releasing it.
#ifndef PEERGRAPH_DETAIL_MEMORY_STREAM_HPP
#define PEERGRAPH_DETAIL_MEMORY_STREAM_HPP

#include <peergraph/detail/memory/ops.hpp>
#include <peergraph/detail/memory/state.hpp>
#include <peergraph/types.hpp>

#include <asio/associated_cancellation_slot.hpp>
#include <asio/error.hpp>

#include <memory>
#include <mutex>
#include <system_error>
#include <type_traits>
#include <utility>

namespace peergraph::detail::memory {

/// One stream: unconnected, connected to end `side` of a link, or closed.
template <typename Executor>
class stream_core {
 public:
  stream_core(const Executor& ex, std::shared_ptr<network_state> net) : ex_(ex), net_(std::move(net)) {}
  /// The accepting end of `l`; closed when `l` is null (a failed accept).
  stream_core(const Executor& ex, std::shared_ptr<network_state> net, std::shared_ptr<link_state> l)
      : ex_(ex), net_(std::move(net)), link_(std::move(l)), side_(1), open_(link_ != nullptr) {
    if (link_) service_for(ex_).track(link_, 1);
  }

  stream_core(stream_core&& o) noexcept
      : ex_(o.ex_),
        net_(std::move(o.net_)),
        link_(std::move(o.link_)),
        side_(o.side_),
        open_(std::exchange(o.open_, false)) {}
  stream_core& operator=(stream_core&& o) noexcept {
    if (this != &o) {
      close();
      ex_ = o.ex_;
      net_ = std::move(o.net_);
      link_ = std::move(o.link_);
      side_ = o.side_;
      open_ = std::exchange(o.open_, false);
    }
    return *this;
  }
  ~stream_core() { close(); }

  const Executor& executor() const noexcept { return ex_; }
  bool is_open() const noexcept { return open_; }

  /// The initiation of async_read_some (Read) or async_write_some.
  template <bool Read>
  struct initiate_io {
    stream_core* core;
    using executor_type = Executor;
    executor_type get_executor() const noexcept { return core->ex_; }
    template <typename Handler, typename Buffers>
    void operator()(Handler&& h, const Buffers& buffers) const {
      core->template start_io<Read>(std::decay_t<Handler>(std::forward<Handler>(h)), buffers);
    }
  };

  /// The initiation of async_connect.
  struct initiate_connect {
    stream_core* core;
    using executor_type = Executor;
    executor_type get_executor() const noexcept { return core->ex_; }
    template <typename Handler>
    void operator()(Handler&& h, const endpoint& ep) const {
      core->start_connect(std::decay_t<Handler>(std::forward<Handler>(h)), ep);
    }
  };

  endpoint local_endpoint(std::error_code& ec) const { return end_endpoint(side_, ec); }
  endpoint remote_endpoint(std::error_code& ec) const { return end_endpoint(1 - side_, ec); }

  /// Aborts this stream's waiting operations; the peer reads what is left, then eof.
  void close() noexcept {
    if (!open_) return;
    open_ = false;
    if (!link_) return;
    auto l = std::move(link_);  // released after the batch has run
    batch b;
    {
      std::lock_guard lock(net_->mutex);
      net_->close_end(*l, side_, b);
    }
    b.run();
  }

  template <bool Read, typename Handler, typename Buffers>
  void start_io(Handler h, const Buffers& buffers) {
    auto slot = asio::get_associated_cancellation_slot(h);
    auto op = io_op<Read, Buffers, Handler, Executor>::make(std::move(h), buffers, ex_, net_);
    batch b;
    if (!net_) {  // moved from
      b.add(std::move(op), outcome{asio::error::bad_descriptor});
      return;
    }
    std::lock_guard lock(net_->mutex);
    const auto fault = net_->count_operation();
    if (!open_ || !link_) {
      b.add(std::move(op), outcome{fault ? fault : open_ ? asio::error::not_connected : asio::error::bad_descriptor});
      return;
    }
    if (const auto ticket = net_->start_io(*link_, side_, Read, std::move(op), fault, b); ticket && slot.is_connected())
      slot.template emplace<cancel_io>(link_, side_, Read, ticket);
  }  // the mutex is released before the batch runs

  template <typename Handler>
  void start_connect(Handler h, const endpoint& ep) {
    auto op = connect_op<Handler, Executor>::make(std::move(h), ex_, net_);
    batch b;
    if (!net_) {
      b.add(std::move(op), outcome{asio::error::bad_descriptor});
      return;
    }
    {
      std::lock_guard lock(net_->mutex);
      const auto fault = net_->count_operation();
      if (fault || !open_ || link_) {
        b.add(std::move(op), outcome{fault    ? fault
                                     : !open_ ? asio::error::bad_descriptor
                                              : asio::error::already_connected});
        return;
      }
      link_ = net_->connect(ep, std::move(op), b);
      side_ = 0;
    }
    if (link_) service_for(ex_).track(link_, 0);
  }

 private:
  endpoint end_endpoint(int side, std::error_code& ec) const {
    ec.clear();
    if (!open_) return ec = asio::error::bad_descriptor, endpoint{};
    if (!link_) return ec = asio::error::not_connected, endpoint{};
    return link_->ends[side].local;  // fixed when the link is made
  }

  Executor ex_;
  std::shared_ptr<network_state> net_;
  std::shared_ptr<link_state> link_;
  int side_ = 0;
  bool open_ = true;
};

/// One listener: bound, or closed (also when binding failed).
template <typename Executor>
class listener_core {
 public:
  listener_core(const Executor& ex, std::shared_ptr<network_state> net, const endpoint& ep, std::error_code& ec)
      : ex_(ex), net_(std::move(net)) {
    {
      std::lock_guard lock(net_->mutex);
      state_ = net_->listen(ep, ec);
    }
    if (state_) service_for(ex_).track(state_);
  }
  listener_core(listener_core&& o) noexcept : ex_(o.ex_), net_(std::move(o.net_)), state_(std::move(o.state_)) {}
  listener_core& operator=(listener_core&& o) noexcept {
    if (this != &o) {
      close();
      ex_ = o.ex_;
      net_ = std::move(o.net_);
      state_ = std::move(o.state_);
    }
    return *this;
  }
  ~listener_core() { close(); }

  const Executor& executor() const noexcept { return ex_; }
  bool is_open() const noexcept { return state_ != nullptr; }

  /// The initiation of async_accept; the accepted stream is a `Stream`.
  template <typename Stream>
  struct initiate_accept {
    listener_core* core;
    using executor_type = Executor;
    executor_type get_executor() const noexcept { return core->ex_; }
    template <typename Handler>
    void operator()(Handler&& h) const {
      core->template start_accept<Stream>(std::decay_t<Handler>(std::forward<Handler>(h)));
    }
  };

  endpoint local_endpoint(std::error_code& ec) const {
    ec.clear();
    if (!state_) return ec = asio::error::bad_descriptor, endpoint{};
    return state_->local;
  }

  void close() noexcept {
    if (!state_) return;
    auto l = std::move(state_);
    batch b;
    {
      std::lock_guard lock(net_->mutex);
      net_->close_listener(*l, b);
    }
    b.run();
  }

  template <typename Stream, typename Handler>
  void start_accept(Handler h) {
    auto slot = asio::get_associated_cancellation_slot(h);
    auto op = accept_op<Stream, Handler, Executor>::make(std::move(h), ex_, net_);
    batch b;
    if (!net_) {
      b.add(std::move(op), outcome{asio::error::bad_descriptor});
      return;
    }
    std::lock_guard lock(net_->mutex);
    outcome o;
    if (auto fault = net_->count_operation()) {
      o.ec = fault;
    } else if (!state_) {
      o.ec = asio::error::bad_descriptor;
    } else if (!state_->backlog.empty()) {
      o.accepted = std::move(state_->backlog.front());
      state_->backlog.pop_front();
    } else {
      op->ticket = net_->next_ticket();
      if (slot.is_connected()) slot.template emplace<cancel_accept>(state_, op->ticket);
      state_->accepts.push_back(std::move(op));
      return;
    }
    b.add(std::move(op), std::move(o));
  }

 private:
  Executor ex_;
  std::shared_ptr<network_state> net_;
  std::shared_ptr<listener_state> state_;
};

}  // namespace peergraph::detail::memory

#endif  // PEERGRAPH_DETAIL_MEMORY_STREAM_HPP
