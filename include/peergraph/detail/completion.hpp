// peergraph/detail/completion.hpp: a parked completion handler.
//
// Asio 1.22 has no any_completion_handler, and the engine has to keep handlers
// of arbitrary type while an operation waits (a connect waiting for WELCOME,
// a receive waiting for an event, a send waiting for queue space). This holds
// one, keeps its executor busy while it waits, exposes its cancellation slot,
// and completes it by posting to its associated executor, so a handler never
// runs inside the function that completes it.
//
// The holder is allocated with the handler's associated allocator, and with
// Asio's per-thread recycling allocator when it has none: every send and
// every receive parks one, so a heap allocation here is paid per message.
#ifndef PEERGRAPH_DETAIL_COMPLETION_HPP
#define PEERGRAPH_DETAIL_COMPLETION_HPP

#include <peergraph/config.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/associated_allocator.hpp>
#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>
#include <asio/recycling_allocator.hpp>

#include <memory>
#include <tuple>
#include <utility>

namespace peergraph::detail {

/// Calls a handler with the completion arguments unchanged.
struct direct_invoke {
  template <typename Handler, typename... Args>
  void operator()(Handler&& h, Args&&... args) const {
    std::move(h)(std::forward<Args>(args)...);
  }
};

/// A handler bound to its arguments, ready to post. It exposes the handler's
/// allocator as a member, not through asio::bind_allocator: Asio wraps a
/// posted function object that has an associator specialisation in an extra
/// work-tracking dispatcher, and this runs once per message.
template <typename Handler, typename Invoke, typename... Args>
struct bound_handler {
  Handler handler;
  Invoke invoke;
  std::tuple<Args...> args;

  using allocator_type = asio::associated_allocator_t<Handler>;
  allocator_type get_allocator() const noexcept { return asio::get_associated_allocator(handler); }

  void operator()() {
    std::apply([this](auto&&... a) { invoke(std::move(handler), std::move(a)...); }, std::move(args));
  }
};

/// Completes `h` with `args` by posting it to its associated executor
/// (`io_ex` when it has none): never inside the caller.
template <typename Handler, typename IoExecutor, typename Invoke, typename... Args>
void post_completion(Handler&& h, const IoExecutor& io_ex, Invoke invoke, Args&&... args) {
  auto ex = asio::get_associated_executor(h, io_ex);
  asio::post(ex, bound_handler<std::decay_t<Handler>, Invoke, std::decay_t<Args>...>{
                     std::forward<Handler>(h), std::move(invoke), {std::forward<Args>(args)...}});
}

template <typename... Args>
class completion {
 public:
  completion() noexcept = default;

  /// Takes ownership of `handler`; `io_ex` is the executor used when the
  /// handler has none associated.
  template <typename Handler, typename IoExecutor>
  completion(Handler&& handler, const IoExecutor& io_ex)
      : impl_(make<std::decay_t<Handler>, IoExecutor, direct_invoke>(std::forward<Handler>(handler), io_ex,
                                                                     direct_invoke{})) {}

  /// As above, but the handler is called as `invoke(handler, args...)`, so a
  /// handler with another signature can wait here (the subscription converts
  /// the engine's event variant into the type the application asked for).
  /// The handler keeps its own executor, allocator and cancellation slot.
  template <typename Handler, typename IoExecutor, typename Invoke>
  completion(Handler&& handler, const IoExecutor& io_ex, Invoke invoke)
      : impl_(make<std::decay_t<Handler>, IoExecutor, Invoke>(std::forward<Handler>(handler), io_ex,
                                                              std::move(invoke))) {}

  completion(completion&&) noexcept = default;
  completion& operator=(completion&& other) noexcept {
    if (this != &other) {
      reset();
      impl_ = std::move(other.impl_);
    }
    return *this;
  }
  ~completion() { reset(); }

  explicit operator bool() const noexcept { return impl_ != nullptr; }

  /// The handler's cancellation slot (unconnected when it has none).
  asio::cancellation_slot slot() const noexcept { return impl_ ? impl_->slot_ : asio::cancellation_slot{}; }

  /// Installs the function run when the handler's slot is signalled. It must
  /// end by calling complete() (normally with operation_aborted), and touch
  /// none of its own captures after that call: complete() clears the slot,
  /// which destroys the running function.
  template <typename F>
  void on_cancel(F&& f) {
    if (impl_ && impl_->slot_.is_connected()) impl_->slot_.assign(std::forward<F>(f));
  }

  /// Hands the result to the handler by posting it to the handler's executor.
  /// Does nothing when empty.
  void complete(Args... args) {
    if (!impl_) return;
    base* p = impl_.release();
    if (p->slot_.is_connected()) p->slot_.clear();
    p->post(std::move(args)...);
  }

 private:
  struct base {
    explicit base(asio::cancellation_slot s) : slot_(s) {}
    virtual void post(Args... args) = 0;  // also destroys *this
    virtual void destroy() noexcept = 0;
    asio::cancellation_slot slot_;

   protected:
    ~base() = default;
  };

  struct destroyer {
    void operator()(base* p) const noexcept { p->destroy(); }
  };
  using pointer = std::unique_ptr<base, destroyer>;

  template <typename Handler>
  using handler_allocator_t = asio::associated_allocator_t<Handler, asio::recycling_allocator<void>>;

  template <typename Handler, typename IoExecutor, typename Invoke, typename H>
  static pointer make(H&& h, const IoExecutor& io_ex, Invoke invoke) {
    using impl_type = impl<Handler, IoExecutor, Invoke>;
    using alloc_type = typename std::allocator_traits<handler_allocator_t<Handler>>::template rebind_alloc<impl_type>;
    alloc_type alloc(asio::get_associated_allocator(h, asio::recycling_allocator<void>()));
    impl_type* raw = std::allocator_traits<alloc_type>::allocate(alloc, 1);
    try {
      ::new (static_cast<void*>(raw)) impl_type(std::forward<H>(h), io_ex, std::move(invoke));
    } catch (...) {
      std::allocator_traits<alloc_type>::deallocate(alloc, raw, 1);
      throw;
    }
    return pointer(raw);
  }

  template <typename Handler, typename IoExecutor>
  using tracked_executor_t = std::decay_t<decltype(asio::prefer(
      std::declval<asio::associated_executor_t<Handler, IoExecutor>>(), asio::execution::outstanding_work.tracked))>;

  template <typename Handler, typename IoExecutor, typename Invoke>
  struct impl final : base {
    template <typename H>
    impl(H&& h, const IoExecutor& io_ex, Invoke invoke)
        : base(asio::get_associated_cancellation_slot(h)),
          work_(asio::prefer(asio::get_associated_executor(h, io_ex), asio::execution::outstanding_work.tracked)),
          handler_(std::forward<H>(h)),
          invoke_(std::move(invoke)) {}

    using self_allocator = typename std::allocator_traits<handler_allocator_t<Handler>>::template rebind_alloc<impl>;

    void post(Args... args) override {
      self_allocator self_alloc(asio::get_associated_allocator(handler_, asio::recycling_allocator<void>()));
      auto work = std::move(work_);
      bound_handler<Handler, Invoke, Args...> fn{std::move(handler_), std::move(invoke_), {std::move(args)...}};
      // Free this holder before posting so the post can reuse its memory.
      free_self(self_alloc);
      asio::post(work, std::move(fn));
    }

    void destroy() noexcept override {
      free_self(self_allocator(asio::get_associated_allocator(handler_, asio::recycling_allocator<void>())));
    }

    // The allocator is taken before the handler is moved out or destroyed.
    void free_self(self_allocator alloc) noexcept {
      this->~impl();
      std::allocator_traits<self_allocator>::deallocate(alloc, this, 1);
    }

    tracked_executor_t<Handler, IoExecutor> work_;
    Handler handler_;
    Invoke invoke_;
  };

  void reset() noexcept {
    if (impl_ && impl_->slot_.is_connected()) impl_->slot_.clear();
    impl_.reset();
  }

  pointer impl_;
};

}  // namespace peergraph::detail

#endif  // PEERGRAPH_DETAIL_COMPLETION_HPP
