// peergraph/detail/write_queue.hpp: a connection's outgoing bytes, ready for gather writes.
//
// Small frames are copied back to back into coalescing segments, so a burst
// of small messages leaves in one write. A large payload handed over by value
// becomes a segment of its own and is written from where it is: no copy. A
// write takes up to `max_gather` segments at once as one buffer sequence.
// Segments being written are never touched until the write completes, and
// drained coalescing buffers are kept for reuse (a few, and only until the
// connection goes idle, see trim()).
#ifndef PEERGRAPH_DETAIL_WRITE_QUEUE_HPP
#define PEERGRAPH_DETAIL_WRITE_QUEUE_HPP

#include <asio/buffer.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <utility>
#include <vector>

namespace peergraph::detail {

class write_queue {
 public:
  /// A coalescing segment stops growing at this size.
  static constexpr std::size_t coalesce_limit = 64 * 1024;
  /// Owned payloads up to this size are copied into a coalescing segment
  /// anyway: a copy is cheaper than an extra buffer in the write.
  static constexpr std::size_t copy_threshold = 8 * 1024;
  /// Most segments one write takes.
  static constexpr std::size_t max_gather = 64;

  /// Appends a copy of `bytes`.
  void append_copy(std::span<const std::uint8_t> bytes) {
    if (bytes.empty()) return;
    auto& seg = open_coalescing(bytes.size());
    seg.insert(seg.end(), bytes.begin(), bytes.end());
    size_ += bytes.size();
  }

  /// Appends `payload`, taking it over: large payloads are written in place.
  void append_owned(std::vector<std::uint8_t>&& payload) {
    if (payload.size() <= copy_threshold) return append_copy(payload);
    size_ += payload.size();
    segments_.push_back({std::move(payload), false});
  }

  /// Bytes queued, including those being written.
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  bool writing() const noexcept { return in_flight_ != 0; }
  bool has_unsent() const noexcept { return segments_.size() > in_flight_; }
  /// Bytes queued and not yet handed to a write.
  std::size_t unsent_bytes() const noexcept { return size_ - in_flight_bytes_; }

  /// Marks the next batch as being written and returns its buffers. The
  /// view stays valid until end_write() or clear().
  std::span<const asio::const_buffer> begin_write() {
    buffers_.clear();
    in_flight_bytes_ = 0;
    const auto n = std::min(segments_.size(), max_gather);
    for (std::size_t i = 0; i < n; ++i) {
      buffers_.emplace_back(segments_[i].bytes.data(), segments_[i].bytes.size());
      in_flight_bytes_ += segments_[i].bytes.size();
    }
    in_flight_ = n;
    return buffers_;
  }

  /// The batch from begin_write() has been written completely.
  void end_write() {
    for (std::size_t i = 0; i < in_flight_; ++i) {
      auto& seg = segments_.front();
      if (seg.coalescing && spares_.size() < max_spares && seg.bytes.capacity() <= 2 * coalesce_limit) {
        seg.bytes.clear();
        spares_.push_back(std::move(seg.bytes));
      }
      segments_.pop_front();
    }
    size_ -= in_flight_bytes_;
    in_flight_ = 0;
    in_flight_bytes_ = 0;
  }

  /// Drops everything (the connection is gone).
  void clear() noexcept {
    segments_.clear();
    buffers_.clear();
    size_ = in_flight_ = in_flight_bytes_ = 0;
  }

  /// Gives kept buffers back to the heap (the connection has gone quiet).
  void trim() noexcept {
    spares_.clear();
    spares_.shrink_to_fit();
    if (segments_.empty()) {
      std::vector<asio::const_buffer>().swap(buffers_);
      std::deque<segment>().swap(segments_);
    }
  }

  /// Drained buffers kept for reuse.
  std::size_t spare_count() const noexcept { return spares_.size(); }

 private:
  struct segment {
    std::vector<std::uint8_t> bytes;
    bool coalescing;
  };

  std::vector<std::uint8_t>& open_coalescing(std::size_t adding) {
    // The last segment can grow only if it is not being written.
    if (segments_.size() > in_flight_) {
      auto& last = segments_.back();
      if (last.coalescing && last.bytes.size() + adding <= coalesce_limit) return last.bytes;
    }
    // Reuse the roomiest kept buffer: its pages are already touched.
    std::vector<std::uint8_t> fresh;
    if (!spares_.empty()) {
      auto best = std::max_element(spares_.begin(), spares_.end(),
                                   [](const auto& a, const auto& b) { return a.capacity() < b.capacity(); });
      fresh = std::move(*best);
      spares_.erase(best);
    }
    if (fresh.capacity() < adding) fresh.reserve(std::max(adding, std::min(fresh.capacity() * 2, coalesce_limit)));
    segments_.push_back({std::move(fresh), true});
    return segments_.back().bytes;
  }

  std::deque<segment> segments_;
  std::vector<asio::const_buffer> buffers_;
  static constexpr std::size_t max_spares = 4;
  std::vector<std::vector<std::uint8_t>> spares_;
  std::size_t size_ = 0;
  std::size_t in_flight_ = 0;
  std::size_t in_flight_bytes_ = 0;
};

}  // namespace peergraph::detail

#endif  // PEERGRAPH_DETAIL_WRITE_QUEUE_HPP
