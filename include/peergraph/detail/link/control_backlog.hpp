// peergraph/detail/link/control_backlog.hpp: how much graph-level traffic a link still has to write.
//
// A link's write queue mixes the application's data (bounded by the send
// high-water mark: senders wait) with graph-level frames (floods,
// synchronization answers, refusals, pings), which cannot wait. This counts
// the second kind, exactly, as the queue drains: each run of graph-level
// bytes is remembered by where it ends in the link's output stream, so a
// link busy with application data is not charged for floods it has written.
#ifndef PEERGRAPH_DETAIL_LINK_CONTROL_BACKLOG_HPP
#define PEERGRAPH_DETAIL_LINK_CONTROL_BACKLOG_HPP

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace peergraph::detail::link {

class control_backlog {
 public:
  /// `n` graph-level bytes were queued; they end at offset `end` of the
  /// link's output stream (everything written so far plus everything queued).
  void queued(std::size_t n, std::uint64_t end) {
    if (n == 0) return;
    if (head_ < runs_.size() && runs_.back().end + n == end)
      runs_.back().end = end, runs_.back().size += n;
    else
      runs_.push_back({end, n});
    bytes_ += n;
  }

  /// The first `written` bytes of the output stream have been written.
  void written(std::uint64_t written) {
    while (head_ < runs_.size()) {
      auto& r = runs_[head_];
      if (r.end <= written) {
        bytes_ -= r.size;
        ++head_;
        continue;
      }
      const auto left = static_cast<std::size_t>(r.end - written);  // the run's unwritten tail
      if (left < r.size) bytes_ -= r.size - left, r.size = left;
      break;
    }
    if (head_ == runs_.size()) {
      runs_.clear();
      head_ = 0;
    } else if (head_ > 32 && head_ * 2 > runs_.size()) {
      runs_.erase(runs_.begin(), runs_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

  /// The queue was thrown away (the stream broke).
  void clear() noexcept {
    runs_.clear();
    head_ = 0;
    bytes_ = 0;
  }

  /// Graph-level bytes queued and not yet written.
  std::size_t bytes() const noexcept { return bytes_; }

 private:
  struct run {
    std::uint64_t end;
    std::size_t size;
  };
  std::vector<run> runs_;  // from head_ on: runs not fully written, oldest first
  std::size_t head_ = 0;
  std::size_t bytes_ = 0;
};

}  // namespace peergraph::detail::link

#endif  // PEERGRAPH_DETAIL_LINK_CONTROL_BACKLOG_HPP
