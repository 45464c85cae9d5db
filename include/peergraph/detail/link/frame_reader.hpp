// peergraph/detail/link/frame_reader.hpp: one link's incoming bytes, cut into frames.
//
// Sans-I/O: the link reads into prepare(), reports the bytes with commit(),
// then takes frames with next() until it says need_more. A PT2PT message
// above the large-payload threshold is not buffered: next() gives its type
// and a payload for it, the bytes already buffered copied in, and the link
// reads the rest straight into that payload (large_rest()).
//
// A header only announces a size. The payload's block is allocated at that
// size but never zero-filled, so its pages become resident only as reads
// fill them: a peer that announces 16 MiB and sends nothing costs the node
// a read's worth of resident memory. Each read is offered at most
// max_read_size bytes past what has arrived, and that growth is taken from
// the graph's receive_budget, so links together cannot hold more than it in
// unfinished messages. A frame read through the buffer grows the buffer only
// as its bytes arrive (prepare() doubles a full buffer).
#ifndef PEERGRAPH_DETAIL_LINK_FRAME_READER_HPP
#define PEERGRAPH_DETAIL_LINK_FRAME_READER_HPP

#include <peergraph/detail/link/receive_budget.hpp>
#include <peergraph/guid.hpp>
#include <peergraph/payload.hpp>
#include <peergraph/protocol/frame.hpp>
#include <peergraph/protocol/pt2pt.hpp>

#include <asio/buffer.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <system_error>
#include <vector>

namespace peergraph::detail::link {

class frame_reader {
 public:
  /// Largest read offered at once under load.
  static constexpr std::size_t max_read_size = 64 * 1024;

  /// Frames above this size (or four times the floor, if that is more)
  /// are read into their own block: not tied to a small floor, because
  /// medium messages in a stream are cheaper read many at once through the
  /// buffer than one read each.
  static constexpr std::size_t default_large_from = 16 * 1024;

  /// `floor`: the read size of an idle link (graph_options::read_buffer_size).
  /// `budget`: where large payloads take their storage from (none: no limit).
  /// `large_from`: the large-frame threshold's floor (tests lower it, so
  /// that small inputs reach the large path).
  explicit frame_reader(std::size_t floor, receive_budget* budget = nullptr,
                        std::size_t large_from = default_large_from)
      : floor_(std::max<std::size_t>(floor, 64)), large_from_(large_from), budget_(budget) {}
  frame_reader(const frame_reader&) = delete;
  frame_reader& operator=(const frame_reader&) = delete;
  ~frame_reader() { release(); }

  /// Where the next read goes: free space after the buffered bytes.
  asio::mutable_buffer prepare() {
    const auto want = std::max(target_, floor_);
    if (buf_.size() < want) buf_.resize(want);
    if (end_ == buf_.size()) compact();
    if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);
    offered_ = buf_.size() - end_;
    return asio::buffer(buf_.data() + end_, offered_);
  }

  /// `n` bytes arrived in the space prepare() gave. The read size follows
  /// the traffic: a read that fills what it was offered doubles the next
  /// one (fewer system calls for a stream of small messages), a nearly
  /// empty one halves it, so an idle link keeps only `floor`.
  void commit(std::size_t n) {
    end_ += n;
    if (n == offered_ && target_ < max_read_size)
      target_ = std::max(floor_, std::min(std::max(target_, floor_) * 2, max_read_size));
    else if (n < target_ / 8)
      target_ = std::max(floor_, target_ / 2);
  }

  struct step {
    enum kind_type {
      need_more,  ///< read more, then call next() again
      frame,      ///< `h` and `bytes` (valid until the next call) hold a complete frame
      large,      ///< a large PT2PT began: read large_rest(), then take_large()
      invalid,    ///< `ec` says why the stream must end
    } kind = need_more;
    protocol::header h{};
    std::span<const std::uint8_t> bytes;
    std::error_code ec;
  };

  /// The next frame in the buffer. `limit`: the largest frame acceptable
  /// now; `large_ok`: a large PT2PT may be read into its own storage.
  step next(std::size_t limit, bool large_ok) {
    step s;
    const std::span<const std::uint8_t> avail(buf_.data() + begin_, end_ - begin_);
    const auto fr = protocol::next_frame(avail, limit);
    if (fr.status == protocol::frame_result::invalid) return s.kind = step::invalid, s.ec = fr.ec, s;
    if (fr.status == protocol::frame_result::complete) {
      s.kind = step::frame;
      s.h = fr.h;
      s.bytes = avail.first(fr.h.size);
      begin_ += fr.h.size;
      return s;
    }
    if (!fr.header_known) return s;
    if (large_ok && fr.h.type == protocol::message_type::pt2pt && fr.h.size > large_threshold() &&
        avail.size() >= protocol::pt2pt_header_size) {
      protocol::pt2pt_prefix p;
      if (auto ec = protocol::decode_pt2pt_prefix(avail, fr.h.size, p)) return s.kind = step::invalid, s.ec = ec, s;
      // Padding between the fixed fields and the payload is rare; such a
      // message takes the buffered path below.
      if (p.data_offset == protocol::pt2pt_header_size)
        return begin_large(fr.h, p.type, avail), s.kind = step::large, s;
    }
    if (fr.h.size > buf_.size() - begin_) compact();
    return s;
  }

  /// Where the next part of the large payload goes: at most max_read_size
  /// bytes, made ready just before they are read. Empty when the budget has
  /// no room for them: the link must end (receive_budget_exceeded).
  asio::mutable_buffer large_rest() {
    if (large_have_ == large_ready_) {
      const auto next = std::min(large_total_, large_have_ + max_read_size);
      if (!charge(next - large_ready_)) return {};
      large_ready_ = next;
    }
    return asio::buffer(large_.data() + large_have_, large_ready_ - large_have_);
  }
  /// `n` bytes of the large payload arrived in large_rest(); true once it is complete.
  bool large_commit(std::size_t n) noexcept {
    large_have_ += n;
    return large_have_ == large_total_;
  }
  /// Bytes of storage the large payload holds now (made ready, not merely announced).
  std::size_t large_committed() const noexcept { return large_ready_; }
  /// The large payload, complete; the reader forgets it.
  payload take_large(guid& type) {
    type = large_type_;
    large_have_ = large_ready_ = 0;
    release();
    return std::move(large_);
  }

  /// Called when next() said need_more: an emptied buffer shrinks back once
  /// a large frame or a busy spell made it grow.
  void settle() {
    if (begin_ != end_) return;
    begin_ = end_ = 0;
    if (buf_.size() > std::max(target_, floor_)) std::vector<std::uint8_t>().swap(buf_);
  }

  /// Bytes buffered and not yet taken.
  std::size_t buffered() const noexcept { return end_ - begin_; }

 private:
  std::size_t large_threshold() const noexcept { return std::max(4 * floor_, large_from_); }

  void begin_large(const protocol::header& h, const guid& type, std::span<const std::uint8_t> avail) {
    large_type_ = type;
    large_total_ = h.size - protocol::pt2pt_header_size;
    large_ = payload::for_overwrite(large_total_);
    large_have_ = large_ready_ = std::min(avail.size() - protocol::pt2pt_header_size, large_total_);
    // Already in memory, in the read buffer: taken even past the budget.
    if (budget_) {
      budget_->force(large_have_);
      charged_ += large_have_;
    }
    std::memcpy(large_.data(), avail.data() + protocol::pt2pt_header_size, large_have_);
    begin_ += protocol::pt2pt_header_size + large_have_;
    if (begin_ == end_) begin_ = end_ = 0;
  }

  bool charge(std::size_t n) noexcept {
    if (!budget_) return true;
    if (!budget_->take(n)) return false;
    charged_ += n;
    return true;
  }
  void release() noexcept {
    if (budget_ && charged_) budget_->give(charged_);
    charged_ = 0;
  }

  void compact() {
    if (begin_ == 0) return;
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }

  std::size_t floor_;
  std::size_t large_from_;
  std::vector<std::uint8_t> buf_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::size_t target_ = 0;
  std::size_t offered_ = 0;
  payload large_;
  std::size_t large_have_ = 0;   // bytes arrived
  std::size_t large_ready_ = 0;  // bytes offered to reads (and charged)
  std::size_t large_total_ = 0;
  guid large_type_;
  receive_budget* budget_;
  std::size_t charged_ = 0;
};

}  // namespace peergraph::detail::link

#endif  // PEERGRAPH_DETAIL_LINK_FRAME_READER_HPP
