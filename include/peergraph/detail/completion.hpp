// peergraph/detail/completion.hpp: a parked completion handler.
//
// Asio 1.22 has no any_completion_handler, and the engine has to keep handlers
// of arbitrary type while an operation waits (a connect waiting for WELCOME,
// a receive waiting for an event, a send waiting for queue space). This holds
// one, keeps its executor busy while it waits, exposes its cancellation slot,
// and completes it by posting to its associated executor, so a handler never
// runs inside the function that completes it.
#ifndef PEERGRAPH_DETAIL_COMPLETION_HPP
#define PEERGRAPH_DETAIL_COMPLETION_HPP

#include <peergraph/config.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/associated_allocator.hpp>
#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/bind_allocator.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>

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

template <typename... Args>
class completion {
 public:
  completion() noexcept = default;

  /// Takes ownership of `handler`; `io_ex` is the executor used when the
  /// handler has none associated.
  template <typename Handler, typename IoExecutor>
  completion(Handler&& handler, const IoExecutor& io_ex)
      : impl_(std::make_unique<impl<std::decay_t<Handler>, IoExecutor, direct_invoke>>(std::forward<Handler>(handler), io_ex,
                                                                          direct_invoke{})) {}

  /// As above, but the handler is called as `invoke(handler, args...)`, so a
  /// handler with another signature can wait here (the subscription converts
  /// the engine's event variant into the type the application asked for).
  /// The handler keeps its own executor, allocator and cancellation slot.
  template <typename Handler, typename IoExecutor, typename Invoke>
  completion(Handler&& handler, const IoExecutor& io_ex, Invoke invoke)
      : impl_(std::make_unique<impl<std::decay_t<Handler>, IoExecutor, Invoke>>(std::forward<Handler>(handler), io_ex,
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
  /// end by calling complete() (normally with operation_aborted).
  template <typename F>
  void on_cancel(F&& f) {
    if (impl_ && impl_->slot_.is_connected()) impl_->slot_.assign(std::forward<F>(f));
  }

  /// Hands the result to the handler by posting it to the handler's executor.
  /// Does nothing when empty.
  void complete(Args... args) {
    if (!impl_) return;
    auto p = std::move(impl_);
    if (p->slot_.is_connected()) p->slot_.clear();
    p->post(std::move(args)...);
  }

 private:
  struct base {
    explicit base(asio::cancellation_slot s) : slot_(s) {}
    virtual ~base() = default;
    virtual void post(Args... args) = 0;
    asio::cancellation_slot slot_;
  };

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

    void post(Args... args) override {
      auto alloc = asio::get_associated_allocator(handler_);
      asio::post(work_, asio::bind_allocator(alloc, [h = std::move(handler_), inv = std::move(invoke_),
                                                     ... a = std::move(args)]() mutable {
                   inv(std::move(h), std::move(a)...);
                 }));
    }

    tracked_executor_t<Handler, IoExecutor> work_;
    Handler handler_;
    Invoke invoke_;
  };

  void reset() noexcept {
    if (impl_ && impl_->slot_.is_connected()) impl_->slot_.clear();
    impl_.reset();
  }

  std::unique_ptr<base> impl_;
};

}  // namespace peergraph::detail

#endif // PEERGRAPH_DETAIL_COMPLETION_HPP
