// peergraph/detail/link/link_base.hpp: a link's state, its write side and its events.
//
// connection_impl (the lifecycle, the handshake and the read loop) derives
// from this. Here: what every activity of a link shares, the send path's
// operations, the write loop, the event outbox and the timer. The three
// hooks at the bottom are virtual so that this file needs nothing of the
// derived class; each runs on an error, a resumption or a timer, never per
// message.
#ifndef PEERGRAPH_DETAIL_LINK_LINK_BASE_HPP
#define PEERGRAPH_DETAIL_LINK_LINK_BASE_HPP

#include <peergraph/detail/completion.hpp>
#include <peergraph/detail/event_router.hpp>
#include <peergraph/detail/link/control_backlog.hpp>
#include <peergraph/detail/link/frame_reader.hpp>
#include <peergraph/detail/link/link_timer.hpp>
#include <peergraph/detail/link/send_path.hpp>
#include <peergraph/detail/node/link_summary.hpp>
#include <peergraph/error.hpp>
#include <peergraph/protocol/pt2pt.hpp>
#include <peergraph/types.hpp>

#include <asio/dispatch.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace peergraph::detail {

template <typename Executor, typename Transport>
class graph_impl;

namespace link {

enum class phase { connecting, handshaking, established, closing, closed };
/// How a link ends: at once; once a REFUSE being written has left (or after
/// a second); or in order, DISCONNECT after the queued data.
enum class ending { abort, after_write, orderly };

template <typename Executor, typename Transport>
class link_base : public std::enable_shared_from_this<link_base<Executor, Transport>> {
 public:
  using graph_type = graph_impl<Executor, Transport>;
  using stream_type = typename Transport::template stream<Executor>;
  using plain_completion = completion<std::error_code>;
  using ms = std::chrono::milliseconds;

  virtual ~link_base() = default;

  /// Calls a send's handler, then starts the write the send left for later
  /// once no other deferred send completion of this link is pending.
  ///
  /// Why: a sender that awaits each send resumes from this handler. Starting
  /// the write in send() itself writes (and, with Asio's speculative writes,
  /// completes) one message per system call; starting it here, once the
  /// sender has moved on to something other than sending, lets a burst of
  /// small messages leave in one write, with no timer and no extra handler.
  /// A coalescing segment's worth of unsent bytes starts a write regardless.
  struct send_invoke {
    std::shared_ptr<link_base> conn;  // null: the write was not deferred

    template <typename Handler>
    void operator()(Handler&& h, std::error_code ec) const {
      if (!conn) return std::move(h)(ec);
      struct after {
        const std::shared_ptr<link_base>& c;
        ~after() { c->deferred_handler_done(); }
      } guard{conn};
      std::move(h)(ec);
    }
  };

  /// Queues one PT2PT message: a vector is taken over, a buffer sequence
  /// copied. On success `full` says whether the queue is above the
  /// high-water mark (the send must wait, see park_send()). With `deferred`,
  /// the caller completes through a send_invoke that starts the write; else
  /// the write starts here.
  template <typename Payload>
  std::error_code enqueue(const guid& type, Payload&& payload, bool deferred, bool& full) {
    if (phase_ != phase::established) return errc::connection_not_found;
    if (send_path::payload_size(payload) > graph_->options().max_message_size) return errc::max_message_size_exceeded;
    sends_.queue_message(type, std::forward<Payload>(payload));
    if (deferred) sends_.defer();
    if (!deferred || sends_.segment_waiting()) start_write();
    full = sends_.queued() > graph_->options().send_high_water;
    return {};
  }

  /// Queues one message only if the queue is at or below the high-water
  /// mark (basic_connection::try_send); asio::error::would_block if not.
  /// The write starts from a handler posted once per burst, so messages
  /// queued before the caller yields leave together (or at once, when a
  /// coalescing segment's worth is waiting).
  template <typename Payload>
  std::error_code try_enqueue(const guid& type, Payload&& payload) {
    if (phase_ != phase::established) return errc::connection_not_found;
    if (send_path::payload_size(payload) > graph_->options().max_message_size) return errc::max_message_size_exceeded;
    if (sends_.queued() > graph_->options().send_high_water) return asio::error::would_block;
    sends_.queue_message(type, std::forward<Payload>(payload));
    if (sends_.segment_waiting()) return start_write(), std::error_code{};
    if (!write_posted_ && !sends_.writing()) {
      write_posted_ = true;
      asio::post(ex_, [self = this->shared_from_this()] {
        self->write_posted_ = false;
        self->start_write();
      });
    }
    return {};
  }

  /// Completes once the queue has room for try_send (at once when it has;
  /// else once it has drained to graph_options::send_low_water).
  void wait_room(plain_completion op) {
    if (phase_ != phase::established) return op.complete(errc::connection_not_found);
    if (sends_.queued() <= graph_->options().send_high_water) return op.complete(std::error_code{});
    park_send(std::move(op));
  }

  /// A send that found the queue above the high-water mark waits here until
  /// it has drained to the low-water mark.
  void park_send(plain_completion op) { sends_.park_send(std::move(op), this->weak_from_this()); }

  /// Completes once every byte queued so far has been written.
  void flush(plain_completion op) {
    if (phase_ != phase::established && phase_ != phase::closing) return op.complete(errc::connection_not_found);
    if (sends_.empty()) return op.complete(std::error_code{});
    sends_.park_flush(std::move(op), this->weak_from_this());
  }

  /// Orderly close requested by the application: completes once the stream
  /// is closed.
  void close_op(plain_completion op) {
    if (phase_ != phase::established && phase_ != phase::closing) return op.complete(errc::connection_not_found);
    sends_.park_close(std::move(op), this->weak_from_this());
    end({}, ending::orderly);
  }

  /// Queues an already encoded frame (graph-level traffic) if the link is up.
  void send_frame(std::span<const std::uint8_t> bytes) {
    if (phase_ == phase::established) queue_frame(bytes);
  }
  /// Tell the graph (on_link_drained) once most of what is queued is written.
  void watch_drain() noexcept {
    if (phase_ == phase::established) drain_watch_ = true;
  }

  // ------------------------------------------------------------ observers

  const node::link_summary& summary() const noexcept { return link_; }
  connection_id id() const noexcept { return link_.id; }
  connection_kind kind() const noexcept { return link_.kind; }
  bool is_established() const noexcept { return phase_ == phase::established; }
  node_id remote_node() const noexcept { return link_.remote_node; }
  const std::string& remote_peer() const noexcept { return link_.remote_peer; }
  const endpoint& remote_endpoint() const noexcept { return link_.remote_ep; }
  connection_info info() const { return link_.info(); }
  Executor get_executor() const noexcept { return ex_; }
  /// Bytes queued for writing and not yet written.
  std::size_t queued_bytes() const noexcept { return sends_.queued(); }

  /// The graph is closing: every operation waiting on this link completes
  /// with `ec` at once, before the link ends.
  void abandon_waits(std::error_code ec) { sends_.abandon(ec); }

  /// An orderly end of this link gives queued data `d` to leave, instead of
  /// graph_options::close_linger (basic_graph::async_close).
  void linger_for(ms d) noexcept { linger_ = d; }
  /// Ending in order: writing what is queued, then DISCONNECT.
  bool is_closing() const noexcept { return phase_ == phase::closing; }
  /// Accepted and still in its handshake.
  bool is_pending_responder() const noexcept { return !link_.initiator && phase_ == phase::handshaking; }
  /// Order of acceptance among the graph's links (larger: newer).
  std::uint64_t accept_order() const noexcept { return accept_order_; }
  void set_accept_order(std::uint64_t n) noexcept { accept_order_ = n; }

  /// Ends the link at once and reports nothing: for connections shed under
  /// load, whose events would be the attacker's to multiply.
  void discard(std::error_code reason) {
    reported_end_ = true;
    end(reason, ending::abort);
  }

  /// The one way a link ends (see `ending`); connection_impl defines it.
  virtual void end(std::error_code reason, ending how) = 0;

 protected:
  link_base(std::shared_ptr<graph_type> g, stream_type s, connection_id id, bool initiator, connection_kind kind)
      : graph_(std::move(g)),
        ex_(graph_->executor()),
        stream_(std::move(s)),
        timer_(ex_),
        reader_(graph_->options().read_buffer_size, &graph_->receiving()) {
    link_.id = id;
    link_.initiator = initiator;
    link_.kind = kind;
  }

  void arm_keepalive() {
    if (const auto tick = keepalive_period(graph_->options()); tick.count() > 0) arm(tick);
  }

  /// The keep-alive timer of an established link: a ping after silence on
  /// our side, the end after silence on the peer's.
  void keepalive_tick() {
    const auto now = clock::now();
    // While the application is behind on events this link is not read on
    // purpose; silence from the peer then proves nothing.
    if (input_paused_) last_rx_ = now;
    sends_.trim();
    switch (keepalive(graph_->options(), now, last_rx_, last_tx_, sends_.queued())) {
      case keepalive_verdict::idle_timeout:
        return end(protocol::error::keepalive_timeout, ending::abort);
      case keepalive_verdict::ping: {
        std::vector<std::uint8_t> ping;
        protocol::encode_pt2pt_header(protocol::ping_type, 0, ping);
        queue_frame(ping);
        break;
      }
      case keepalive_verdict::nothing:
        break;
    }
    arm_keepalive();
  }

  /// Input was paused for the outbox, which has emptied.
  virtual void resume_reading() = 0;
  /// The timer armed with arm() expired.
  virtual void on_timer() = 0;

  // ------------------------------------------------------------ writing

  // Graph-level bytes cannot wait for the peer to read; past the backlog
  // limit the link ends instead. With none queued, one batch of any size is
  // taken, so that a limit below one part of a synchronization answer
  // (64 KiB) still lets it through.
  void queue_frame(std::span<const std::uint8_t> bytes) {
    if (phase_ == phase::established && control_.bytes() > 0 &&
        control_.bytes() + bytes.size() > graph_->options().max_link_backlog)
      return overflow();
    sends_.queue_frame(bytes);
    control_.queued(bytes.size(), written_ + sends_.queued());
    start_write();
  }

  // A peer that does not read cannot make this node queue for it without
  // end. The link ends from its own handler: this may run while the graph
  // walks its links to flood a record.
  void overflow() {
    if (overflowing_) return;
    overflowing_ = true;
    asio::post(ex_, [self = this->shared_from_this()] { self->end(protocol::error::backlog_exceeded, ending::abort); });
  }

  // Runs on the sender's executor (same execution context, maybe another
  // strand or thread), hence the atomic count and the dispatch.
  void deferred_handler_done() {
    if (sends_.deferred_done()) asio::dispatch(ex_, [self = this->shared_from_this()] { self->start_write(); });
  }

  void start_write() {
    if (!sends_.can_write() || phase_ == phase::closed || phase_ == phase::connecting) return;
    asio::async_write(stream_, sends_.begin_write(),
                      [self = this->shared_from_this()](std::error_code ec, std::size_t n) { self->on_write(ec, n); });
  }

  void on_write(std::error_code ec, std::size_t n) {
    if (ec || phase_ == phase::closed) {
      // What was queued for an orderly end is lost: its closes learn why.
      if (ec && phase_ == phase::closing) end_reason_ = ec;
      sends_.drop();
      control_.clear();
      // A lingering REFUSE went out (or failed), or the stream broke.
      if (phase_ == phase::closed || phase_ == phase::closing) return shut();
      return end(ec, ending::abort);
    }
    sends_.written(graph_->options().send_low_water);
    written_ += n;
    control_.written(written_);
    // The next part of a synchronization answer is made once most of the
    // last one has gone out (detail/node/sync_answers.hpp).
    if (drain_watch_ && control_.bytes() <= graph_->options().max_link_backlog / 4) {
      drain_watch_ = false;
      graph_->on_link_drained(link_.id);
    }
    last_tx_ = clock::now();
    // A sender still being resumed will add more; its send_invoke (or a full
    // segment) starts the next write.
    if (sends_.has_unsent() && (!sends_.deferred_pending() || phase_ != phase::established || sends_.segment_waiting()))
      return start_write();
    if (phase_ == phase::closing && !sends_.has_unsent()) shut();
  }

  // Closes the stream; waiting sends, flushes and closes complete.
  void shut() {
    phase_ = phase::closed;
    link_.established = false;
    timer_.cancel();
    if (stream_shut_) return;
    stream_shut_ = true;
    std::error_code ignored;
    stream_.close(ignored);
    sends_.shut(end_reason_ ? end_reason_ : std::error_code(errc::connection_not_found));
  }

  void arm(ms d) {
    timer_.arm(d, [self = this->shared_from_this()] { self->on_timer(); });
  }

  // ------------------------------------------------------------ events

  void emit(any_event ev) {
    // Straight into the router when nothing is waiting: no queueing per message.
    if (outbox_.deliver(graph_->router(), std::move(ev), [this] { return resume_pump(); })) resume_input();
  }

  void pump() {
    if (outbox_.pump(graph_->router(), [this] { return resume_pump(); })) resume_input();
  }

  auto resume_pump() {
    return [self = this->shared_from_this()] { asio::post(self->ex_, [self] { self->pump(); }); };
  }

  void resume_input() {
    if (!input_paused_) return;
    input_paused_ = false;
    resume_reading();
  }

  // The connection events: `connected`, then exactly one end.
  void report(connection_status status, std::error_code reason) {
    if (status != connection_status::connected) {
      if (reported_end_) return;
      reported_end_ = true;
    }
    if (link_.kind == connection_kind::direct)
      emit(direct_connection_event{status, info(), reason});
    else
      emit(neighbor_connection_event{status, info(), reason});
  }

  std::shared_ptr<graph_type> graph_;
  Executor ex_;
  stream_type stream_;
  link_timer<Executor> timer_;
  phase phase_ = phase::connecting;
  node::link_summary link_;
  frame_reader reader_;
  bool reading_ = false;
  bool input_paused_ = false;
  bool overflowing_ = false;   // the backlog limit was hit; the link is ending
  bool write_posted_ = false;  // a try_send posted the start of the next write
  send_path sends_;
  control_backlog control_;    // the graph-level part of what sends_ holds
  std::uint64_t written_ = 0;  // bytes written to the stream so far
  bool drain_watch_ = false;   // the graph waits for the queue to drain
  std::error_code end_reason_;
  bool stream_shut_ = false;
  std::optional<ms> linger_;
  clock::time_point last_rx_{};
  clock::time_point last_tx_{};
  event_outbox outbox_;
  bool reported_end_ = false;
  std::uint64_t accept_order_ = 0;
};

}  // namespace link
}  // namespace peergraph::detail

#endif  // PEERGRAPH_DETAIL_LINK_LINK_BASE_HPP
