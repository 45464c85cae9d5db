// peergraph/protocol/wire.hpp: bounds-checked little-endian byte reading and writing.
//
// Part of the sans-I/O layer: no sockets, no executors, only bytes.
#ifndef PEERGRAPH_PROTOCOL_WIRE_HPP
#define PEERGRAPH_PROTOCOL_WIRE_HPP

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace peergraph::protocol {

/// Appends little-endian integers and raw bytes to a byte vector.
class writer {
 public:
  explicit writer(std::vector<std::uint8_t>& out) noexcept : out_(out), start_(out.size()) {}

  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) { put(v, 2); }
  void u32(std::uint32_t v) { put(v, 4); }
  void u64(std::uint64_t v) { put(v, 8); }
  void u16_be(std::uint16_t v) {
    out_.push_back(static_cast<std::uint8_t>(v >> 8));
    out_.push_back(static_cast<std::uint8_t>(v));
  }
  void bytes(std::span<const std::uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void zeros(std::size_t n) { out_.insert(out_.end(), n, 0); }
  /// A NUL-terminated UTF-8 string.
  void cstring(std::string_view s) {
    out_.insert(out_.end(), s.begin(), s.end());
    out_.push_back(0);
  }

  /// Bytes written since this writer was created (the message so far).
  std::size_t size() const noexcept { return out_.size() - start_; }
  /// Overwrites a 16-bit field at a message-relative offset.
  void patch_u16(std::size_t at, std::uint16_t v) noexcept {
    out_[start_ + at] = static_cast<std::uint8_t>(v);
    out_[start_ + at + 1] = static_cast<std::uint8_t>(v >> 8);
  }
  void patch_u32(std::size_t at, std::uint32_t v) noexcept {
    for (int i = 0; i < 4; ++i) out_[start_ + at + i] = static_cast<std::uint8_t>(v >> (8 * i));
  }

 private:
  void put(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  std::vector<std::uint8_t>& out_;
  std::size_t start_;
};

/// Reads little-endian integers from a span; every read is bounds-checked and
/// a failed read leaves the reader in the failed state (all later reads fail).
class reader {
 public:
  explicit reader(std::span<const std::uint8_t> in) noexcept : in_(in) {}

  bool ok() const noexcept { return ok_; }
  std::size_t position() const noexcept { return pos_; }
  std::size_t remaining() const noexcept { return ok_ ? in_.size() - pos_ : 0; }

  std::uint8_t u8() noexcept { return static_cast<std::uint8_t>(get(1)); }
  std::uint16_t u16() noexcept { return static_cast<std::uint16_t>(get(2)); }
  std::uint32_t u32() noexcept { return static_cast<std::uint32_t>(get(4)); }
  std::uint64_t u64() noexcept { return get(8); }
  std::uint16_t u16_be() noexcept {
    if (!need(2)) return 0;
    const auto v = static_cast<std::uint16_t>((in_[pos_] << 8) | in_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  std::span<const std::uint8_t> bytes(std::size_t n) noexcept {
    if (!need(n)) return {};
    auto s = in_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  void skip(std::size_t n) noexcept { (void)bytes(n); }

 private:
  bool need(std::size_t n) noexcept {
    if (!ok_ || in_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    return true;
  }
  std::uint64_t get(int n) noexcept {
    if (!need(static_cast<std::size_t>(n))) return 0;
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(in_[pos_ + i]) << (8 * i);
    pos_ += static_cast<std::size_t>(n);
    return v;
  }

  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

/// Reads a NUL-terminated string that starts at `offset` inside `msg` and must
/// end (its NUL included) at or before `end`. False if it does not.
inline bool read_cstring(std::span<const std::uint8_t> msg, std::size_t offset, std::size_t end, std::string& out) {
  // An empty range cannot hold the NUL; rejecting it here also keeps a null
  // msg.data() (empty span) away from memchr.
  if (offset >= end || end > msg.size()) return false;
  const auto* first = msg.data() + offset;
  const auto* nul = static_cast<const std::uint8_t*>(std::memchr(first, 0, end - offset));
  if (nul == nullptr) return false;
  out.assign(reinterpret_cast<const char*>(first), static_cast<std::size_t>(nul - first));
  return true;
}

}  // namespace peergraph::protocol

#endif  // PEERGRAPH_PROTOCOL_WIRE_HPP
