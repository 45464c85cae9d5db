// peergraph/detail/link/send_path.hpp: one link's outgoing queue and the operations waiting on it.
//
// Holds the write queue (detail/write_queue.hpp), the sends waiting for room
// below the high-water mark, the flushes waiting for the queue to empty and
// the closes waiting for the stream to close. It decides when a write should
// start; the link performs it. Executor-free: waiting operations are held as
// type-erased completions.
#ifndef PEERGRAPH_DETAIL_LINK_SEND_PATH_HPP
#define PEERGRAPH_DETAIL_LINK_SEND_PATH_HPP

#include <peergraph/detail/completion.hpp>
#include <peergraph/detail/write_queue.hpp>
#include <peergraph/guid.hpp>
#include <peergraph/protocol/pt2pt.hpp>

#include <asio/buffer.hpp>
#include <asio/error.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace peergraph::detail::link {

class send_path {
 public:
  using plain_completion = completion<std::error_code>;

  // ------------------------------------------------------------ queueing

  /// The payload size of a message: a vector it takes over, or a buffer
  /// sequence it copies.
  template <typename Payload>
  static std::size_t payload_size(const Payload& payload) noexcept {
    if constexpr (std::is_same_v<Payload, std::vector<std::uint8_t>>)
      return payload.size();
    else
      return asio::buffer_size(payload);
  }

  /// Queues one PT2PT message: a vector is taken over, the buffers of a
  /// buffer sequence are copied, one after the other, as one payload. The
  /// header is encoded where it is sent from.
  template <typename Payload>
  void queue_message(const guid& type, Payload&& payload) {
    const auto size = payload_size(payload);
    const auto head = [&type, size](std::span<std::uint8_t> out) {
      protocol::encode_pt2pt_header(
          type, size, std::span<std::uint8_t, protocol::pt2pt_header_size>(out.data(), protocol::pt2pt_header_size));
    };
    if constexpr (std::is_same_v<std::decay_t<Payload>, std::vector<std::uint8_t>>) {
      // append_owned decides between copying and taking over; a copy lands
      // right after the header, in the same segment.
      wq_.append_framed(protocol::pt2pt_header_size, head, asio::const_buffer{});
      wq_.append_owned(std::move(payload));
    } else {
      wq_.append_framed(protocol::pt2pt_header_size, head, payload);
    }
  }

  /// Queues an already encoded frame.
  void queue_frame(std::span<const std::uint8_t> bytes) { wq_.append_copy(bytes); }

  /// Bytes queued and not yet written.
  std::size_t queued() const noexcept { return wq_.size(); }
  bool empty() const noexcept { return wq_.empty(); }

  // ------------------------------------------------------------ writing

  /// A send left its write to its completion handler's return
  /// (connection_impl::send_invoke); counted so the write waits for it.
  void defer() noexcept { deferred_.fetch_add(1, std::memory_order_relaxed); }
  /// That handler has returned; true if it was the last one pending.
  bool deferred_done() noexcept { return deferred_.fetch_sub(1, std::memory_order_acq_rel) == 1; }
  bool deferred_pending() const noexcept { return deferred_.load(std::memory_order_acquire) != 0; }

  /// A full coalescing segment is waiting: write without waiting for senders.
  bool segment_waiting() const noexcept { return wq_.unsent_bytes() >= write_queue::coalesce_limit; }

  bool writing() const noexcept { return wq_.writing(); }
  /// Something is queued and no write is under way.
  bool can_write() const noexcept { return !wq_.writing() && wq_.has_unsent(); }
  bool has_unsent() const noexcept { return wq_.has_unsent(); }
  std::span<const asio::const_buffer> begin_write() { return wq_.begin_write(); }

  /// The write from begin_write() is complete: waiting sends resume once the
  /// queue holds at most `low_water` bytes, flushes once it is empty.
  void written(std::size_t low_water) {
    wq_.end_write();
    if (wq_.size() <= low_water) release(blocked_, {});
    if (wq_.empty()) release(flushes_, {});
  }

  /// The link has gone quiet: give kept buffers back.
  void trim() noexcept {
    if (wq_.empty()) wq_.trim();
  }

  // ------------------------------------------------------------ waiting operations

  /// `anchor` keeps this object alive while a cancellation handler runs.
  void park_send(plain_completion op, std::weak_ptr<void> anchor) { park(blocked_, std::move(op), std::move(anchor)); }
  void park_flush(plain_completion op, std::weak_ptr<void> anchor) { park(flushes_, std::move(op), std::move(anchor)); }
  void park_close(plain_completion op, std::weak_ptr<void> anchor) { park(closes_, std::move(op), std::move(anchor)); }

  /// The link failed: waiting sends and flushes complete with `ec`.
  void fail(std::error_code ec) {
    release(blocked_, ec);
    release(flushes_, ec);
  }

  /// Every waiting operation, closes included, completes with `ec` now
  /// (the graph is closing; what is queued may still be written).
  void abandon(std::error_code ec) {
    fail(ec);
    release(closes_, ec);
  }

  /// The stream is closed: whatever is still queued is lost (`lost` for the
  /// sends, flushes and closes that waited on it).
  void shut(std::error_code lost) {
    const std::error_code outcome = wq_.empty() && !dropped_ ? std::error_code{} : lost;
    release(blocked_, lost);
    release(flushes_, outcome);
    release(closes_, outcome);
  }

  /// Drops the queue (the stream can no longer be written; no write is
  /// under way, or its completion has arrived).
  void drop() noexcept {
    dropped_ = dropped_ || !wq_.empty();
    wq_.clear();
  }

 private:
  // A vector, not a deque: an empty deque allocates, and a link has three lists.
  using waiter_list = std::vector<std::pair<std::uint64_t, plain_completion>>;

  void park(waiter_list& list, plain_completion op, std::weak_ptr<void> anchor) {
    const auto ticket = ++next_ticket_;
    op.on_cancel([anchor = std::move(anchor), &list, ticket](asio::cancellation_type) {
      const auto alive = anchor.lock();
      if (!alive) return;
      for (auto it = list.begin(); it != list.end(); ++it)
        if (it->first == ticket) {
          auto c = std::move(it->second);
          list.erase(it);
          c.complete(asio::error::operation_aborted);
          return;
        }
    });
    list.emplace_back(ticket, std::move(op));
  }

  static void release(waiter_list& list, std::error_code ec) {
    if (list.empty()) return;
    auto all = std::move(list);
    list.clear();
    for (auto& [ticket, op] : all) op.complete(ec);
  }

  write_queue wq_;
  std::atomic<std::size_t> deferred_{0};
  waiter_list blocked_;
  waiter_list flushes_;
  waiter_list closes_;
  std::uint64_t next_ticket_ = 0;
  bool dropped_ = false;  // queued bytes were thrown away (the stream broke)
};

}  // namespace peergraph::detail::link

#endif  // PEERGRAPH_DETAIL_LINK_SEND_PATH_HPP
