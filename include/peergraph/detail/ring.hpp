// peergraph/detail/ring.hpp: a growable FIFO of values in one circular block.
//
// The event queues hold large variants. std::deque allocates a block per
// few of those (its blocks are 512 bytes), a heap allocation every other
// event; this keeps them in one block that doubles when full and is kept
// while the queue is in use, so a steady stream allocates nothing.
#ifndef PEERGRAPH_DETAIL_RING_HPP
#define PEERGRAPH_DETAIL_RING_HPP

#include <algorithm>
#include <bit>
#include <cstddef>
#include <memory>
#include <new>
#include <utility>

namespace peergraph::detail {

template <typename T>
class ring {
 public:
  ring() noexcept = default;
  ring(const ring&) = delete;
  ring& operator=(const ring&) = delete;
  ring(ring&& o) noexcept
      : buf_(std::exchange(o.buf_, nullptr)),
        cap_(std::exchange(o.cap_, 0)),
        head_(std::exchange(o.head_, 0)),
        size_(std::exchange(o.size_, 0)) {}
  ring& operator=(ring&& o) noexcept {
    if (this != &o) {
      release();
      buf_ = std::exchange(o.buf_, nullptr);
      cap_ = std::exchange(o.cap_, 0);
      head_ = std::exchange(o.head_, 0);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  ~ring() { release(); }

  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return cap_; }

  T& front() noexcept { return buf_[head_]; }
  const T& front() const noexcept { return buf_[head_]; }
  T& back() noexcept { return (*this)[size_ - 1]; }
  /// The i-th value from the front.
  T& operator[](std::size_t i) noexcept { return buf_[(head_ + i) & (cap_ - 1)]; }

  void push_back(T&& v) {
    if (size_ == cap_) grow();
    ::new (static_cast<void*>(buf_ + ((head_ + size_) & (cap_ - 1)))) T(std::move(v));
    ++size_;
  }

  void pop_front() noexcept {
    buf_[head_].~T();
    head_ = (head_ + 1) & (cap_ - 1);
    if (--size_ == 0) head_ = 0;
  }

  void clear() noexcept {
    while (size_) pop_front();
  }

  /// Empties the queue and gives its block back.
  void release() noexcept {
    clear();
    if (buf_) std::allocator<T>().deallocate(buf_, cap_);
    buf_ = nullptr;
    cap_ = head_ = 0;
  }

 private:
  void grow() {
    // The first block is about 512 bytes, as a deque's: a few large values.
    const std::size_t cap = cap_ ? 2 * cap_ : std::bit_floor(std::max<std::size_t>(2, 512 / sizeof(T)));
    T* fresh = std::allocator<T>().allocate(cap);
    for (std::size_t i = 0; i < size_; ++i) {
      T& old = buf_[(head_ + i) & (cap_ - 1)];
      ::new (static_cast<void*>(fresh + i)) T(std::move(old));
      old.~T();
    }
    if (buf_) std::allocator<T>().deallocate(buf_, cap_);
    buf_ = fresh;
    cap_ = cap;
    head_ = 0;
  }

  T* buf_ = nullptr;
  std::size_t cap_ = 0;  // zero or a power of two
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace peergraph::detail

#endif  // PEERGRAPH_DETAIL_RING_HPP
