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

#include <peergraph/detail/ring.hpp>

#include <asio/buffer.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace peergraph::detail {

/// Bytes appended at the end of one heap block, never zero-filled: the
/// storage of a coalescing segment, where every byte is written once by
/// the frame that claims it (std::vector would zero each one first).
class byte_buffer {
 public:
  std::uint8_t* data() noexcept { return p_.get(); }
  const std::uint8_t* data() const noexcept { return p_.get(); }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return cap_; }
  void clear() noexcept { size_ = 0; }

  void reserve(std::size_t n) {
    if (n <= cap_) return;
    std::unique_ptr<std::uint8_t[]> fresh(new std::uint8_t[n]);  // default-initialised: no fill
    if (size_) std::memcpy(fresh.get(), p_.get(), size_);
    p_ = std::move(fresh);
    cap_ = n;
  }

  /// Claims `n` more bytes (their contents unspecified) and returns where they start.
  std::uint8_t* extend(std::size_t n) {
    if (cap_ - size_ < n) reserve(std::max(size_ + n, 2 * cap_));
    auto* at = p_.get() + size_;
    size_ += n;
    return at;
  }

 private:
  std::unique_ptr<std::uint8_t[]> p_;
  std::size_t size_ = 0;
  std::size_t cap_ = 0;
};

class write_queue {
 public:
  /// A coalescing segment stops growing at this size.
  static constexpr std::size_t coalesce_limit = 64 * 1024;
  /// Owned payloads up to this size are copied into a coalescing segment
  /// anyway: a copy is cheaper than an extra buffer in the write.
  static constexpr std::size_t copy_threshold = 8 * 1024;
  /// Most segments one write takes.
  static constexpr std::size_t max_gather = 64;
  /// What the first coalescing segment of a quiet link can hold.
  static constexpr std::size_t first_capacity = 1024;

  /// Appends a copy of `bytes`.
  void append_copy(std::span<const std::uint8_t> bytes) {
    if (bytes.empty()) return;
    std::memcpy(open_coalescing(bytes.size()).extend(bytes.size()), bytes.data(), bytes.size());
    size_ += bytes.size();
  }

  /// Appends a `head`-byte header that `write_head` encodes in place (it
  /// gets a span of exactly that size), then copies of `parts`, a const
  /// buffer sequence: one frame, contiguous in one coalescing segment, with
  /// no scratch copy of the header and no zero-fill.
  template <typename WriteHead, typename ConstBufferSequence>
  void append_framed(std::size_t head, WriteHead&& write_head, const ConstBufferSequence& parts) {
    const std::size_t body = asio::buffer_size(parts);
    auto* at = open_coalescing(head + body).extend(head + body);
    write_head(std::span<std::uint8_t>(at, head));
    at += head;
    const auto end = asio::buffer_sequence_end(parts);
    for (auto it = asio::buffer_sequence_begin(parts); it != end; ++it) {
      const asio::const_buffer b(*it);
      if (b.size()) std::memcpy(at, b.data(), b.size());
      at += b.size();
    }
    size_ += head + body;
  }

  /// Appends `payload`, taking it over: large payloads are written in place.
  void append_owned(std::vector<std::uint8_t>&& payload) {
    if (payload.size() <= copy_threshold) return append_copy(payload);
    size_ += payload.size();
    segments_.push_back(segment{std::move(payload), {}, false});
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
      const auto b = segments_[i].bytes();
      buffers_.push_back(b);
      in_flight_bytes_ += b.size();
    }
    in_flight_ = n;
    return buffers_;
  }

  /// The batch from begin_write() has been written completely.
  void end_write() {
    for (std::size_t i = 0; i < in_flight_; ++i) {
      auto& seg = segments_.front();
      if (seg.coalescing && spares_.size() < max_spares && seg.buf.capacity() <= 2 * coalesce_limit) {
        seg.buf.clear();
        spares_.push_back(std::move(seg.buf));
      }
      segments_.pop_front();
    }
    size_ -= in_flight_bytes_;
    // Drained after a small write: the link is quiet, and buffers sized for
    // an earlier burst (a handshake, a synchronization) go back to the heap
    // now rather than at the next trim(). A stream keeps those its writes use.
    if (segments_.empty()) {
      const auto keep = std::max(first_capacity, 2 * in_flight_bytes_);
      std::erase_if(spares_, [keep](const byte_buffer& b) { return b.capacity() > keep; });
    }
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
      segments_.release();
    }
  }

  /// Drained buffers kept for reuse.
  std::size_t spare_count() const noexcept { return spares_.size(); }

 private:
  struct segment {
    std::vector<std::uint8_t> owned;  // a payload taken over
    byte_buffer buf;                  // or coalesced frames
    bool coalescing;
    asio::const_buffer bytes() const noexcept {
      return coalescing ? asio::const_buffer(buf.data(), buf.size()) : asio::const_buffer(owned.data(), owned.size());
    }
  };

  byte_buffer& open_coalescing(std::size_t adding) {
    // The last segment can grow only if it is not being written.
    bool burst = false;
    if (segments_.size() > in_flight_) {
      auto& last = segments_.back();
      if (last.coalescing && last.buf.size() + adding <= coalesce_limit) return last.buf;
      burst = last.coalescing;
    }
    // Reuse the roomiest kept buffer: its pages are already touched.
    byte_buffer fresh;
    if (!spares_.empty()) {
      auto best = std::max_element(spares_.begin(), spares_.end(),
                                   [](const auto& a, const auto& b) { return a.capacity() < b.capacity(); });
      fresh = std::move(*best);
      spares_.erase(best);
    }
    // A full segment before this one means a burst: this one will fill
    // too, so it starts at full size rather than doubling (and copying) its
    // way there. Otherwise it starts small, for a link that sends little.
    const std::size_t start =
        burst ? coalesce_limit : std::min(std::max(fresh.capacity() * 2, first_capacity), coalesce_limit);
    if (fresh.capacity() < adding) fresh.reserve(std::max(adding, start));
    segments_.push_back(segment{{}, std::move(fresh), true});
    return segments_.back().buf;
  }

  ring<segment> segments_;
  std::vector<asio::const_buffer> buffers_;
  static constexpr std::size_t max_spares = 4;
  std::vector<byte_buffer> spares_;
  std::size_t size_ = 0;
  std::size_t in_flight_ = 0;
  std::size_t in_flight_bytes_ = 0;
};

}  // namespace peergraph::detail

#endif  // PEERGRAPH_DETAIL_WRITE_QUEUE_HPP
