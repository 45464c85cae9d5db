// peergraph/detail/memory/ops.hpp: the typed halves of the in-memory operations.
//
// An operation object holds the handler, the buffers and work on the I/O
// executor and the handler's executor while it waits. It is allocated with
// the handler's associated allocator (Asio's recycling allocator when there
// is none). complete() frees it, then posts the handler to the I/O executor,
// from where Asio dispatches it to the handler's associated executor, as it
// does for its own sockets: a handler never runs inside the initiating
// function, nor inside whatever completed it.
//
// The cancellation handler a waiting operation installs in its slot finds
// the operation by ticket under the network's mutex; once the operation has
// completed it finds nothing, so a late signal is harmless and the slot is
// never touched from another thread.
//
// A per-context service destroys, without calling them, the handlers still
// waiting when their execution context shuts down (Asio does the same for
// sockets), so that nothing refers to a destroyed io_context afterwards.
#ifndef PEERGRAPH_DETAIL_MEMORY_OPS_HPP
#define PEERGRAPH_DETAIL_MEMORY_OPS_HPP

#include <peergraph/detail/memory/state.hpp>

#include <asio/associated_allocator.hpp>
#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/execution/context.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/execution_context.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>
#include <asio/query.hpp>
#include <asio/recycling_allocator.hpp>

#include <deque>
#include <memory>
#include <mutex>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace peergraph::detail::memory {

/// Marks the constructors the transport uses to hand over a link end.
struct adopt_tag {};

/// The handler with its results, as posted: it keeps the handler's executor
/// and allocator, and counts the completion when it runs.
template <typename Handler, typename IoExecutor, typename... Args>
struct posted_call {
  Handler handler;
  IoExecutor io_ex;
  std::shared_ptr<network_state> net;
  std::tuple<Args...> args;

  using executor_type = asio::associated_executor_t<Handler, IoExecutor>;
  executor_type get_executor() const noexcept { return asio::get_associated_executor(handler, io_ex); }
  using allocator_type = asio::associated_allocator_t<Handler>;
  allocator_type get_allocator() const noexcept { return asio::get_associated_allocator(handler); }

  void operator()() {
    if (net) net->completions.fetch_add(1, std::memory_order_relaxed);
    std::apply([this](auto&&... a) { std::move(handler)(std::move(a)...); }, std::move(args));
  }
};

template <typename Executor>
using tracked_t =
    std::decay_t<decltype(asio::prefer(std::declval<const Executor&>(), asio::execution::outstanding_work.tracked))>;

template <typename Handler>
using op_allocator_t = asio::associated_allocator_t<Handler, asio::recycling_allocator<void>>;

/// What every operation shares: handler, work, allocation. `Derived` is final.
template <typename Derived, typename Handler, typename IoExecutor>
class op_common : public op_base {
 public:
  op_common(std::size_t wanted, Handler&& h, const IoExecutor& io_ex, std::shared_ptr<network_state> net)
      : op_base(wanted),
        io_ex_(io_ex),
        io_work_(asio::prefer(io_ex, asio::execution::outstanding_work.tracked)),
        handler_work_(asio::prefer(asio::get_associated_executor(h, io_ex), asio::execution::outstanding_work.tracked)),
        handler_(std::move(h)),
        net_(std::move(net)) {}

  /// Allocates an operation with the handler's allocator.
  template <typename... A>
  static op_ptr make(Handler&& h, A&&... a) {
    alloc_type alloc(asio::get_associated_allocator(h, asio::recycling_allocator<void>()));
    Derived* raw = std::allocator_traits<alloc_type>::allocate(alloc, 1);
    try {
      ::new (static_cast<void*>(raw)) Derived(std::move(h), std::forward<A>(a)...);
    } catch (...) {
      std::allocator_traits<alloc_type>::deallocate(alloc, raw, 1);
      throw;
    }
    return op_ptr(raw);
  }

  void destroy() noexcept override { free_self(alloc_type(handler_alloc())); }

 protected:
  const IoExecutor& io_executor() const noexcept { return io_ex_; }
  const std::shared_ptr<network_state>& network() const noexcept { return net_; }

  /// Frees this operation, then posts the handler with `args`.
  template <typename... Args>
  void post_and_free(Args&&... args) {
    alloc_type alloc(handler_alloc());
    IoExecutor io_ex = io_ex_;
    posted_call<Handler, IoExecutor, std::decay_t<Args>...> call{
        std::move(handler_), io_ex, std::move(net_), {std::forward<Args>(args)...}};
    // The works end only after the post, so the contexts never look idle.
    auto io_work = std::move(io_work_);
    auto handler_work = std::move(handler_work_);
    free_self(alloc);
    asio::post(io_ex, std::move(call));
  }

 private:
  using alloc_type = typename std::allocator_traits<op_allocator_t<Handler>>::template rebind_alloc<Derived>;

  op_allocator_t<Handler> handler_alloc() const noexcept {
    return asio::get_associated_allocator(handler_, asio::recycling_allocator<void>());
  }

  void free_self(alloc_type alloc) noexcept {
    auto* self = static_cast<Derived*>(this);
    self->~Derived();
    std::allocator_traits<alloc_type>::deallocate(alloc, self, 1);
  }

  IoExecutor io_ex_;
  tracked_t<IoExecutor> io_work_;
  tracked_t<asio::associated_executor_t<Handler, IoExecutor>> handler_work_;
  Handler handler_;
  std::shared_ptr<network_state> net_;
};

/// async_read_some (Read) or async_write_some: `void(error_code, size_t)`.
template <bool Read, typename Buffers, typename Handler, typename IoExecutor>
class io_op final : public op_common<io_op<Read, Buffers, Handler, IoExecutor>, Handler, IoExecutor> {
  using base = op_common<io_op, Handler, IoExecutor>;

 public:
  io_op(Handler&& h, const Buffers& buffers, const IoExecutor& io_ex, std::shared_ptr<network_state> net)
      : base(asio::buffer_size(buffers), std::move(h), io_ex, std::move(net)), buffers_(buffers) {}

  std::size_t transfer(pipe& p, std::size_t limit) override {
    if constexpr (Read)
      return p.read(buffers_);
    else
      return p.write(buffers_, limit);
  }
  void complete(outcome o) override { this->post_and_free(o.ec, o.bytes); }

 private:
  Buffers buffers_;
};

/// async_connect: `void(error_code)`.
template <typename Handler, typename IoExecutor>
class connect_op final : public op_common<connect_op<Handler, IoExecutor>, Handler, IoExecutor> {
  using base = op_common<connect_op, Handler, IoExecutor>;

 public:
  connect_op(Handler&& h, const IoExecutor& io_ex, std::shared_ptr<network_state> net)
      : base(0, std::move(h), io_ex, std::move(net)) {}

  std::size_t transfer(pipe&, std::size_t) override { return 0; }
  void complete(outcome o) override { this->post_and_free(o.ec); }
};

/// async_accept: `void(error_code, Stream)`, the stream on the listener's executor.
template <typename Stream, typename Handler, typename IoExecutor>
class accept_op final : public op_common<accept_op<Stream, Handler, IoExecutor>, Handler, IoExecutor> {
  using base = op_common<accept_op, Handler, IoExecutor>;

 public:
  accept_op(Handler&& h, const IoExecutor& io_ex, std::shared_ptr<network_state> net)
      : base(0, std::move(h), io_ex, std::move(net)) {}

  std::size_t transfer(pipe&, std::size_t) override { return 0; }
  void complete(outcome o) override {
    Stream s(adopt_tag{}, this->io_executor(), this->network(), std::move(o.accepted));
    this->post_and_free(o.ec, std::move(s));
  }
};

inline bool cancels(asio::cancellation_type_t t) noexcept {
  using ct = asio::cancellation_type;
  return (t & (ct::terminal | ct::partial | ct::total)) != ct::none;
}

/// Installed in the slot of a waiting read or write.
struct cancel_io {
  cancel_io(std::weak_ptr<link_state> l, int s, bool r, std::uint64_t t) noexcept
      : link(std::move(l)), side(s), read(r), ticket(t) {}

  std::weak_ptr<link_state> link;
  int side;
  bool read;
  std::uint64_t ticket;

  void operator()(asio::cancellation_type_t t) const {
    if (!cancels(t)) return;
    auto l = link.lock();
    if (!l) return;
    batch b;
    {
      std::lock_guard lock(l->net->mutex);
      auto& e = l->ends[side];
      network_state::cancel(read ? e.reads : e.writes, ticket, b);
    }
    b.run();
  }
};

/// Installed in the slot of a waiting accept.
struct cancel_accept {
  cancel_accept(std::weak_ptr<listener_state> l, std::uint64_t t) noexcept : listener(std::move(l)), ticket(t) {}

  std::weak_ptr<listener_state> listener;
  std::uint64_t ticket;

  void operator()(asio::cancellation_type_t t) const {
    if (!cancels(t)) return;
    auto l = listener.lock();
    if (!l) return;
    batch b;
    {
      std::lock_guard lock(l->net->mutex);
      network_state::cancel(l->accepts, ticket, b);
    }
    b.run();
  }
};

/// Remembers the link ends and listeners used on one execution context and,
/// when it shuts down, destroys their waiting operations without calling them.
class service final : public asio::execution_context::service {
 public:
  using key_type = service;
  static inline asio::execution_context::id id;

  explicit service(asio::execution_context& ctx) : asio::execution_context::service(ctx) {}

  void track(std::weak_ptr<link_state> l, int side) {
    std::lock_guard lock(mutex_);
    prune(ends_);
    ends_.emplace_back(std::move(l), side);
  }
  void track(std::weak_ptr<listener_state> l) {
    std::lock_guard lock(mutex_);
    prune(listeners_);
    listeners_.push_back(std::move(l));
  }

 private:
  void shutdown() override {
    std::vector<std::pair<std::weak_ptr<link_state>, int>> ends;
    std::vector<std::weak_ptr<listener_state>> listeners;
    {
      std::lock_guard lock(mutex_);
      ends.swap(ends_);
      listeners.swap(listeners_);
    }
    for (auto& [w, side] : ends)
      if (auto l = w.lock()) {
        std::deque<op_ptr> dead;  // destroyed after the mutex is released
        std::lock_guard lock(l->net->mutex);
        take_all(l->ends[side].reads, dead);
        take_all(l->ends[side].writes, dead);
      }
    for (auto& w : listeners)
      if (auto l = w.lock()) {
        std::deque<op_ptr> dead;
        std::lock_guard lock(l->net->mutex);
        take_all(l->accepts, dead);
      }
  }

  static void take_all(std::deque<op_ptr>& from, std::deque<op_ptr>& to) {
    while (!from.empty()) to.push_back(network_state::pop(from));
  }

  // Drops forgotten entries once the list has doubled since the last pass.
  template <typename List>
  void prune(List& list) {
    auto& mark = std::is_same_v<List, decltype(ends_)> ? ends_mark_ : listeners_mark_;
    if (list.size() < 2 * mark + 16) return;
    std::erase_if(list, [](const auto& e) {
      if constexpr (requires { e.first; })
        return e.first.expired();
      else
        return e.expired();
    });
    mark = list.size();
  }

  std::mutex mutex_;
  std::vector<std::pair<std::weak_ptr<link_state>, int>> ends_;
  std::vector<std::weak_ptr<listener_state>> listeners_;
  std::size_t ends_mark_ = 0;
  std::size_t listeners_mark_ = 0;
};

/// The service of the context `ex` belongs to.
template <typename Executor>
service& service_for(const Executor& ex) {
  asio::execution_context& ctx = asio::query(ex, asio::execution::context);
  return asio::use_service<service>(ctx);
}

}  // namespace peergraph::detail::memory

#endif  // PEERGRAPH_DETAIL_MEMORY_OPS_HPP
