// peergraph/detail/memory/pipe.hpp: one direction of an in-memory link, a bounded byte FIFO.
//
// The storage grows on demand up to the capacity and is given back whenever
// the pipe empties, so an idle link costs a few pointers rather than its
// capacity: like a kernel's socket buffers, it does not show in what a
// simulation of many nodes measures of their memory.
#ifndef PEERGRAPH_DETAIL_MEMORY_PIPE_HPP
#define PEERGRAPH_DETAIL_MEMORY_PIPE_HPP

#include <peergraph/config.hpp>

#include <asio/buffer.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <vector>

namespace peergraph::detail::memory {

class pipe {
 public:
  explicit pipe(std::size_t capacity) noexcept : capacity_(capacity) {}

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::size_t space() const noexcept { return capacity_ - size_; }

  /// Appends as much of `src` as fits, at most `limit` bytes; returns how many.
  template <typename ConstBufferSequence>
  std::size_t write(const ConstBufferSequence& src, std::size_t limit) {
    const std::size_t want = std::min({asio::buffer_size(src), space(), limit});
    if (want == 0) return 0;
    reserve(size_ + want);
    const std::size_t tail = (head_ + size_) % buf_.size();
    const std::size_t first = std::min(want, buf_.size() - tail);
    const std::array<asio::mutable_buffer, 2> dst{asio::buffer(buf_.data() + tail, first),
                                                  asio::buffer(buf_.data(), want - first)};
    const std::size_t n = asio::buffer_copy(dst, src, want);
    size_ += n;
    return n;
  }

  /// Moves as many bytes as `dst` holds out of the pipe; returns how many.
  template <typename MutableBufferSequence>
  std::size_t read(const MutableBufferSequence& dst) {
    if (size_ == 0) return 0;
    const std::size_t first = std::min(size_, buf_.size() - head_);
    const std::array<asio::const_buffer, 2> src{asio::buffer(buf_.data() + head_, first),
                                                asio::buffer(buf_.data(), size_ - first)};
    const std::size_t n = asio::buffer_copy(dst, src);
    head_ = (head_ + n) % buf_.size();
    size_ -= n;
    if (size_ == 0) clear();
    return n;
  }

  /// Drops everything buffered.
  void clear() noexcept {
    std::vector<unsigned char>().swap(buf_);
    head_ = size_ = 0;
  }

 private:
  // Grows the storage to hold `need` bytes, keeping their order.
  void reserve(std::size_t need) {
    if (need <= buf_.size()) return;
    const std::size_t n = std::min(capacity_, std::max({need, 2 * buf_.size(), std::size_t{4096}}));
    std::vector<unsigned char> bigger(n);
    if (size_ > 0) {
      const std::size_t first = std::min(size_, buf_.size() - head_);
      std::memcpy(bigger.data(), buf_.data() + head_, first);
      std::memcpy(bigger.data() + first, buf_.data(), size_ - first);
    }
    buf_.swap(bigger);
    head_ = 0;
  }

  std::size_t capacity_;
  std::vector<unsigned char> buf_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace peergraph::detail::memory

#endif  // PEERGRAPH_DETAIL_MEMORY_PIPE_HPP
