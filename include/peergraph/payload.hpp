// peergraph/payload.hpp: the bytes of a received message, owned.
#ifndef PEERGRAPH_PAYLOAD_HPP
#define PEERGRAPH_PAYLOAD_HPP

#include <asio/buffer.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace peergraph {

/// A contiguous run of bytes that owns its storage: the payload of an
/// incoming_data_event.
///
/// Payloads of up to `inline_capacity` (64) bytes are stored inside the object
/// (no heap allocation); larger ones in one heap block that is never
/// zero-filled before the network fills it. A payload built from a
/// `std::vector` keeps that vector, and `std::move(p).to_vector()` gives it
/// back without a copy; for other payloads to_vector() copies once, because
/// a `std::vector` cannot adopt storage it did not allocate.
///
/// Converts to `asio::const_buffer` and to `std::span<const std::uint8_t>`,
/// so `asio::buffer(ev.data)` and `conn.send(type, asio::buffer(ev.data))`
/// work as with a vector. Copying copies the bytes; moving is cheap (the
/// inline bytes are copied, a heap block changes hands).
///
/// Thread safety: distinct objects safe, shared objects unsafe.
class payload {
 public:
  /// Bytes stored without a heap allocation.
  static constexpr std::size_t inline_capacity = 64;

  payload() noexcept = default;

  /// `n` bytes whose contents are unspecified until written (data()).
  static payload for_overwrite(std::size_t n) {
    payload p;
    p.allocate(n);
    return p;
  }

  /// A copy of `bytes`.
  explicit payload(std::span<const std::uint8_t> bytes) {
    allocate(bytes.size());
    if (!bytes.empty()) std::memcpy(data(), bytes.data(), bytes.size());
  }

  /// Takes `v` over; to_vector() on an rvalue gives it back unchanged.
  payload(std::vector<std::uint8_t>&& v) noexcept : size_(v.size()), vec_(std::move(v)) { mode_ = mode::vector; }

  payload(const payload& o) : payload(o.bytes()) {}
  payload& operator=(const payload& o) {
    if (this != &o) *this = payload(o);
    return *this;
  }
  payload(payload&& o) noexcept { take(std::move(o)); }
  payload& operator=(payload&& o) noexcept {
    if (this != &o) {
      clear();
      take(std::move(o));
    }
    return *this;
  }
  ~payload() = default;

  std::uint8_t* data() noexcept {
    switch (mode_) {
      case mode::heap:
        return heap_.get();
      case mode::vector:
        return vec_.data();
      default:
        return inline_;
    }
  }
  const std::uint8_t* data() const noexcept { return const_cast<payload*>(this)->data(); }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  std::uint8_t* begin() noexcept { return data(); }
  std::uint8_t* end() noexcept { return data() + size_; }
  const std::uint8_t* begin() const noexcept { return data(); }
  const std::uint8_t* end() const noexcept { return data() + size_; }
  std::uint8_t& operator[](std::size_t i) noexcept { return data()[i]; }
  const std::uint8_t& operator[](std::size_t i) const noexcept { return data()[i]; }
  /// The first and the last byte; the payload must not be empty.
  std::uint8_t front() const noexcept { return data()[0]; }
  std::uint8_t back() const noexcept { return data()[size_ - 1]; }

  std::span<const std::uint8_t> bytes() const noexcept { return {data(), size_}; }
  operator std::span<const std::uint8_t>() const noexcept { return bytes(); }
  operator asio::const_buffer() const noexcept { return asio::const_buffer(data(), size_); }

  /// The bytes as a vector: the adopted vector itself (no copy), or a copy.
  std::vector<std::uint8_t> to_vector() && {
    if (mode_ == mode::vector) {
      auto v = std::move(vec_);
      clear();
      return v;
    }
    auto v = std::vector<std::uint8_t>(begin(), end());
    clear();
    return v;
  }
  /// A copy of the bytes as a vector.
  std::vector<std::uint8_t> to_vector() const& { return std::vector<std::uint8_t>(begin(), end()); }

  /// Keeps the first `n` bytes (n <= size()).
  void truncate(std::size_t n) noexcept {
    size_ = std::min(n, size_);
    if (mode_ == mode::vector) vec_.resize(size_);
  }

  friend bool operator==(const payload& a, const payload& b) noexcept { return equal(a.bytes(), b.bytes()); }
  friend bool operator==(const payload& a, std::span<const std::uint8_t> b) noexcept { return equal(a.bytes(), b); }
  friend bool operator==(const payload& a, const std::vector<std::uint8_t>& b) noexcept { return equal(a.bytes(), b); }

 private:
  enum class mode : std::uint8_t { inline_bytes, heap, vector };

  static bool equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) noexcept {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
  }

  void allocate(std::size_t n) {
    size_ = n;
    if (n <= inline_capacity) return;
    // new[] of a trivial type default-initialises: no zero-fill.
    heap_.reset(new std::uint8_t[n]);
    mode_ = mode::heap;
  }

  void take(payload&& o) noexcept {
    size_ = o.size_;
    mode_ = o.mode_;
    switch (mode_) {
      case mode::heap:
        heap_ = std::move(o.heap_);
        break;
      case mode::vector:
        vec_ = std::move(o.vec_);
        break;
      // The whole array: a fixed-size copy compiles to a few moves.
      default:
        std::memcpy(inline_, o.inline_, inline_capacity);
        break;
    }
    o.clear();
  }

  void clear() noexcept {
    if (mode_ == mode::heap) heap_.reset();
    if (mode_ == mode::vector) std::vector<std::uint8_t>().swap(vec_);
    size_ = 0;
    mode_ = mode::inline_bytes;
  }

  std::size_t size_ = 0;
  std::unique_ptr<std::uint8_t[]> heap_;
  std::vector<std::uint8_t> vec_;
  mode mode_ = mode::inline_bytes;
  std::uint8_t inline_[inline_capacity];
};

}  // namespace peergraph

#endif  // PEERGRAPH_PAYLOAD_HPP
