// peergraph/detail/node/actions.hpp: what the node's sans-I/O pieces ask the I/O layer to do.
//
// The pieces under detail/node/ never touch a socket, a timer or a
// subscription: each input (a frame, a tick, an API call) appends actions
// here, and graph_impl carries them out in order. One object is reused for
// every input, so steady traffic allocates nothing for the lists themselves.
#ifndef PEERGRAPH_DETAIL_NODE_ACTIONS_HPP
#define PEERGRAPH_DETAIL_NODE_ACTIONS_HPP

#include <peergraph/events.hpp>
#include <peergraph/types.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace peergraph::detail::node {

class actions {
 public:
  /// Bytes for one link, or for every established neighbor but `except`.
  struct frame {
    bool to_all_neighbors = false;
    connection_id link = 0;  ///< the destination, or the neighbor left out (0: none)
    std::size_t begin = 0;
    std::size_t size = 0;
  };
  /// A neighbor connection to start (graph maintenance, a referral).
  struct dial {
    endpoint address;
    std::optional<std::string> peer_id;
    node_id node = 0;      ///< the node expected there, 0 if unknown
    std::size_t hops = 0;  ///< referrals followed to get here
    connection_id id = 0;  ///< the connection id to use
  };

  /// Appends a frame for `link`: `encode(bytes)` appends its bytes.
  template <typename Encode>
  void send(connection_id link, Encode&& encode) {
    add(false, link, std::forward<Encode>(encode));
  }
  /// Appends a frame for every established neighbor except `except`.
  template <typename Encode>
  void send_to_neighbors(connection_id except, Encode&& encode) {
    add(true, except, std::forward<Encode>(encode));
  }

  void emit(any_event ev) { events_.push_back(std::move(ev)); }
  void start_dial(dial d) { dials_.push_back(std::move(d)); }
  void end_link(connection_id link, std::error_code reason) { ends_.push_back({link, reason}); }
  /// Call engine::on_link_drained(link) once the link has written most of
  /// what it has queued.
  void watch_drain(connection_id link) { drains_.push_back(link); }

  std::span<const frame> frames() const noexcept { return frames_; }
  std::span<const std::uint8_t> bytes_of(const frame& f) const noexcept {
    return std::span<const std::uint8_t>(bytes_).subspan(f.begin, f.size);
  }
  std::vector<any_event>& events() noexcept { return events_; }
  std::span<const dial> dials() const noexcept { return dials_; }
  struct ending {
    connection_id link;
    std::error_code reason;
  };
  std::span<const ending> ends() const noexcept { return ends_; }
  std::span<const connection_id> drain_watches() const noexcept { return drains_; }

  bool empty() const noexcept {
    return frames_.empty() && events_.empty() && dials_.empty() && ends_.empty() && drains_.empty();
  }
  /// Bytes of frame storage held, used or not.
  std::size_t capacity() const noexcept { return bytes_.capacity(); }
  void clear() noexcept {
    bytes_.clear();
    frames_.clear();
    events_.clear();
    dials_.clear();
    ends_.clear();
    drains_.clear();
  }

 private:
  template <typename Encode>
  void add(bool all, connection_id link, Encode&& encode) {
    const auto begin = bytes_.size();
    encode(bytes_);
    if (bytes_.size() > begin) frames_.push_back({all, link, begin, bytes_.size() - begin});
  }

  std::vector<std::uint8_t> bytes_;
  std::vector<frame> frames_;
  std::vector<any_event> events_;
  std::vector<dial> dials_;
  std::vector<ending> ends_;
  std::vector<connection_id> drains_;
};

/// Action lists kept for reuse. Inputs nest (closing a link reports to the
/// engine again while the first list is being carried out), so each input
/// takes its own list and gives it back.
class actions_pool {
 public:
  class lease {
   public:
    lease(actions_pool& pool, std::unique_ptr<actions> a) noexcept : pool_(pool), a_(std::move(a)) {}
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    ~lease() {
      a_->clear();
      // A list that held a whole synchronization is not worth keeping: a
      // node's idle memory would be four of its largest answers.
      if (pool_.spare_.size() < max_spare && a_->capacity() <= max_kept_bytes) pool_.spare_.push_back(std::move(a_));
    }
    actions& operator*() const noexcept { return *a_; }

   private:
    actions_pool& pool_;
    std::unique_ptr<actions> a_;
  };

  lease take() {
    if (spare_.empty()) return lease(*this, std::make_unique<actions>());
    auto a = std::move(spare_.back());
    spare_.pop_back();
    return lease(*this, std::move(a));
  }

 private:
  static constexpr std::size_t max_spare = 4;
  static constexpr std::size_t max_kept_bytes = 4096;
  std::vector<std::unique_ptr<actions>> spare_;
};

}  // namespace peergraph::detail::node

#endif  // PEERGRAPH_DETAIL_NODE_ACTIONS_HPP
