// peergraph/detail/connection_impl.hpp: one link's engine: reads, writes, timers, handshake.
//
// A connection moves bytes between its stream and the sans-I/O protocol
// machines and turns their outcomes into events and completions. All of its
// state is touched only from the graph's executor.
//
// Lifecycle: connecting (initiator: TCP connect) -> handshaking -> established
// -> closing (DISCONNECT queued, waiting for the write to finish) -> closed.
// Exactly one terminal event is reported per connection: `failed` if it never
// got established, `disconnected` if it did.
#ifndef PEERGRAPH_DETAIL_CONNECTION_IMPL_HPP
#define PEERGRAPH_DETAIL_CONNECTION_IMPL_HPP

#include <peergraph/detail/completion.hpp>
#include <peergraph/detail/event_router.hpp>
#include <peergraph/detail/write_queue.hpp>
#include <peergraph/error.hpp>
#include <peergraph/options.hpp>
#include <peergraph/protocol/frame.hpp>
#include <peergraph/protocol/handshake.hpp>
#include <peergraph/types.hpp>

#include <asio/basic_waitable_timer.hpp>
#include <asio/buffer.hpp>
#include <asio/read.hpp>
#include <asio/dispatch.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace peergraph::detail {

template <typename Executor, typename Transport>
class graph_impl;

/// Peer time as a FILETIME count (100 ns ticks since 1601-01-01 UTC).
inline std::uint64_t filetime_now() noexcept {
  using namespace std::chrono;
  const auto ticks = duration_cast<duration<std::int64_t, std::ratio<1, 10'000'000>>>(
                         system_clock::now().time_since_epoch())
                         .count();
  return static_cast<std::uint64_t>(ticks) + 116444736000000000ull;
}

template <typename Executor, typename Transport>
class connection_impl : public std::enable_shared_from_this<connection_impl<Executor, Transport>> {
 public:
  using graph_type = graph_impl<Executor, Transport>;
  using stream_type = typename Transport::template stream<Executor>;
  using clock = std::chrono::steady_clock;
  using timer_type = asio::basic_waitable_timer<clock, asio::wait_traits<clock>, Executor>;
  using open_completion = completion<std::error_code, std::shared_ptr<connection_impl>>;
  using plain_completion = completion<std::error_code>;

  enum class phase { connecting, handshaking, established, closing, closed };

  connection_impl(std::shared_ptr<graph_type> g, stream_type s, connection_id id, bool initiator,
                  connection_kind kind)
      : graph_(std::move(g)),
        ex_(graph_->executor()),
        stream_(std::move(s)),
        timer_(ex_),
        id_(id),
        initiator_(initiator),
        kind_(kind) {}

  // ------------------------------------------------------------ starting

  /// Initiator: connect to `ep`, run the handshake, complete `op`.
  void start_connect(const endpoint& ep, protocol::initiator_config cfg, std::chrono::milliseconds timeout,
                     open_completion op) {
    phase_ = phase::connecting;
    dialed_ = ep;
    remote_ep_ = ep;
    initiator_hs_.emplace(std::move(cfg));
    open_op_ = std::move(op);
    open_op_.on_cancel([w = this->weak_from_this()](asio::cancellation_type) {
      if (auto self = w.lock()) self->terminate(asio::error::operation_aborted);
    });
    arm_timer(timeout);
    graph_->transport().async_connect(stream_, ep, [self = this->shared_from_this()](std::error_code ec) {
      self->on_transport_connected(ec);
    });
  }

  /// Responder: wait for AUTH_INFO and CONNECT.
  void start_accept() {
    phase_ = phase::handshaking;
    std::error_code ignored;
    remote_ep_ = stream_.remote_endpoint(ignored);
    responder_hs_.emplace(protocol::responder_config{graph_->graph_id(), graph_->peer_id(), graph_->node()});
    arm_timer(graph_->options().handshake_timeout);
    start_read();
  }

  // ------------------------------------------------------------ closing

  /// Orderly close: report the disconnect, send DISCONNECT, close the stream
  /// once it is written (or after a short linger). A connection still in its
  /// handshake is aborted with `reason`, or operation_aborted if empty.
  void close(std::error_code reason = {}) {
    if (phase_ == phase::closed || phase_ == phase::closing) return;
    if (phase_ != phase::established) {
      terminate(reason ? reason : std::error_code(asio::error::operation_aborted));
      return;
    }
    phase_ = phase::closing;
    end_reason_ = reason ? reason : std::error_code(asio::error::operation_aborted);
    report_end(reason, true);
    graph_->on_connection_closed(*this, true, outbox_);
    pump();
    std::vector<std::uint8_t> out;
    protocol::encode(protocol::disconnect{}, out);
    queue_bytes(out);
    // Queued data and DISCONNECT get this long to leave; a peer that does
    // not read cannot hold the close up for ever.
    arm_timer(graph_->options().close_linger);
  }

  // ------------------------------------------------------------ data

  /// Calls a send's handler, then starts the write the send left for later
  /// once no other deferred send completion of this connection is pending.
  ///
  /// Why: a sender that awaits each send resumes from this handler. Starting
  /// the write in send() itself writes (and, with Asio's speculative writes,
  /// completes) one message per system call; starting it here, once the
  /// sender has moved on to something other than sending, lets a burst of
  /// small messages leave in one write, with no timer and no extra handler.
  /// A coalescing segment's worth of unsent bytes starts a write regardless.
  struct send_invoke {
    std::shared_ptr<connection_impl> conn;  // null: the write was not deferred

    template <typename Handler>
    void operator()(Handler&& h, std::error_code ec) const {
      if (!conn) return std::move(h)(ec);
      struct after {
        const std::shared_ptr<connection_impl>& c;
        ~after() { c->deferred_handler_done(); }
      } guard{conn};
      std::move(h)(ec);
    }
  };

  /// Queues one PT2PT message: a span is copied, a vector taken over. On
  /// success `full` says whether the queue is above the high-water mark (the
  /// send must wait for it to drain, see park_send()); else the send may
  /// complete at once. With `deferred`, the caller completes through a
  /// send_invoke that starts the write (its handler runs in this
  /// connection's execution context); else the write starts here.
  template <typename Payload>
  std::error_code enqueue(const guid& type, Payload&& payload, bool deferred, bool& full) {
    if (phase_ != phase::established) return errc::connection_not_found;
    const std::size_t n = std::span<const std::uint8_t>(payload).size();
    if (n > graph_->options().max_message_size) return errc::max_message_size_exceeded;
    header_buf_.clear();
    protocol::encode_pt2pt_header(type, n, header_buf_);
    wq_.append_copy(header_buf_);
    if constexpr (std::is_same_v<std::decay_t<Payload>, std::vector<std::uint8_t>>)
      wq_.append_owned(std::move(payload));
    else
      wq_.append_copy(payload);
    if (deferred) deferred_pending_.fetch_add(1, std::memory_order_relaxed);
    if (!deferred || segment_waiting()) start_write();
    full = wq_.size() > graph_->options().send_high_water;
    return {};
  }

  /// A send that found the queue above the high-water mark waits here until
  /// it has drained to the low-water mark.
  void park_send(plain_completion op) { park(blocked_sends_, std::move(op)); }

  /// Completes once every byte queued so far has been written.
  void flush(plain_completion op) {
    if (phase_ != phase::established && phase_ != phase::closing) return op.complete(errc::connection_not_found);
    if (wq_.empty()) return op.complete(std::error_code{});
    park(flush_waiters_, std::move(op));
  }

  /// Orderly close requested by the application: queued data goes out first,
  /// then DISCONNECT; completes once the stream is closed.
  void close_op(plain_completion op) {
    if (phase_ != phase::established && phase_ != phase::closing) return op.complete(errc::connection_not_found);
    park(close_waiters_, std::move(op));
    close();
  }

  /// Queues an already encoded frame (graph-level traffic) if the link is up.
  void send_frame(std::span<const std::uint8_t> bytes) {
    if (phase_ == phase::established) queue_bytes(bytes);
  }

  // ------------------------------------------------------------ observers

  connection_id id() const noexcept { return id_; }
  connection_kind kind() const noexcept { return kind_; }
  bool is_established() const noexcept { return phase_ == phase::established; }
  node_id remote_node() const noexcept { return remote_node_; }
  const std::string& remote_peer() const noexcept { return remote_peer_; }
  const endpoint& remote_endpoint() const noexcept { return remote_ep_; }
  const endpoint& dialed() const noexcept { return dialed_; }
  const std::vector<endpoint>& remote_addresses() const noexcept { return remote_addresses_; }
  const endpoint& local_endpoint() const noexcept { return local_ep_; }
  /// The REFUSE this initiator received, if the remote refused.
  const protocol::refuse* refusal() const noexcept {
    return initiator_hs_ && initiator_hs_->current() == protocol::initiator::state::refused ? &initiator_hs_->refusal()
                                                                                           : nullptr;
  }
  Executor get_executor() const noexcept { return ex_; }

  connection_info info() const { return connection_info{id_, kind_, remote_node_, remote_peer_, remote_ep_}; }

  /// Bytes queued for writing and not yet written.
  std::size_t queued_bytes() const noexcept { return wq_.size(); }

 private:
  // ------------------------------------------------------------ handshake

  void on_transport_connected(std::error_code ec) {
    if (phase_ != phase::connecting) return;
    if (ec) return terminate(ec);
    phase_ = phase::handshaking;
    std::error_code ignored;
    remote_ep_ = stream_.remote_endpoint(ignored);
    local_ep_ = stream_.local_endpoint(ignored);
    initiator_hs_->set_local_addresses(graph_->advertised_addresses(local_ep_));
    std::vector<std::uint8_t> out;
    initiator_hs_->start(out);
    queue_bytes(out);
    start_read();
  }

  void handle_handshake_frame(const protocol::header& h, std::span<const std::uint8_t> frame) {
    if (initiator_) {
      const auto r = initiator_hs_->on_frame(h, frame);
      if (r.kind == protocol::initiator::outcome::established) {
        const auto& w = initiator_hs_->peer();
        remote_node_ = w.node_id;
        remote_peer_ = w.peer_id;
        remote_addresses_ = w.addresses;
        if (kind_ == connection_kind::neighbor && graph_->has_neighbor(remote_node_, this)) {
          // Both nodes dialled each other at once and each accepted the
          // other's link. Both keep the one the smaller node id dialled, so
          // exactly one survives (keeping "ours" on both sides drops both).
          if (graph_->node() > remote_node_) {
            terminate(errc::already_exists);
            return;
          }
          graph_->drop_duplicate_neighbors(remote_node_, this);
        }
        become_established();
      } else if (r.kind != protocol::initiator::outcome::pending) {
        terminate(r.ec);
      }
      return;
    }
    std::vector<std::uint8_t> out;
    const auto r = responder_hs_->on_frame(h, frame, out);
    switch (r.kind) {
      case protocol::responder::outcome::pending: break;
      case protocol::responder::outcome::failed: terminate(r.ec); break;
      case protocol::responder::outcome::refused: refuse_and_end(out, r.ec); break;
      case protocol::responder::outcome::decide: {
        const auto& req = responder_hs_->request();
        kind_ = req.direct ? connection_kind::direct : connection_kind::neighbor;
        remote_node_ = req.source_node_id;
        remote_peer_ = responder_hs_->auth().source_peer_id;
        remote_addresses_ = req.addresses;
        if (auto code = graph_->decide(*this, req)) {
          responder_hs_->refuse(*code, graph_->referrals(*this), out);
          refuse_and_end(out, protocol::refuse_error(*code));
          return;
        }
        std::error_code ignored;
        local_ep_ = stream_.local_endpoint(ignored);
        responder_hs_->accept(filetime_now(), graph_->advertised_addresses(local_ep_), graph_->options().friendly_name,
                              out);
        queue_bytes(out);
        become_established();
        break;
      }
    }
  }

  void become_established() {
    phase_ = phase::established;
    last_rx_ = last_tx_ = clock::now();
    emit_connection_event(connection_status::connected, {});
    graph_->on_connection_established(*this, outbox_);
    pump();
    open_op_.complete(std::error_code{}, this->shared_from_this());
    arm_keepalive();
  }

  // The responder said no: send REFUSE, report the failure, close once written.
  void refuse_and_end(const std::vector<std::uint8_t>& refuse_bytes, std::error_code reason) {
    queue_bytes(refuse_bytes);
    end(reason, true);
  }

  // ------------------------------------------------------------ established traffic

  void handle_established_frame(const protocol::header& h, std::span<const std::uint8_t> frame) {
    using protocol::message_type;
    switch (h.type) {
      case message_type::pt2pt: {
        protocol::pt2pt_view v;
        if (auto ec = protocol::decode(frame, v)) return terminate(ec);
        if (v.type == protocol::ping_type) return;  // liveness only; last_rx_ is already updated
        emit(incoming_data_event{id_, v.type, std::vector<std::uint8_t>(v.payload.begin(), v.payload.end())});
        return;
      }
      case message_type::disconnect: {
        protocol::disconnect d;
        if (auto ec = protocol::decode(frame, d)) return terminate(ec);
        return terminate(protocol::error::peer_disconnected);
      }
      case message_type::connect: {
        protocol::connect c;
        if (auto ec = protocol::decode(frame, c)) return terminate(ec);
        if (c.update) {
          remote_addresses_ = std::move(c.addresses);  // the peer now listens there; no reply
          return;
        }
        std::vector<std::uint8_t> out;
        protocol::encode(protocol::refuse{protocol::refuse_code::already_connected, {}}, out);
        queue_bytes(out);
        return;
      }
      default:
        // Graph-level traffic (presence, synchronization) is the graph's business.
        if (auto ec = graph_->on_graph_message(*this, h, frame, outbox_)) return terminate(ec);
        pump();
        return;
    }
  }

  // ------------------------------------------------------------ reading

  void start_read() {
    if (reading_ || input_paused_ || (phase_ != phase::handshaking && phase_ != phase::established)) return;
    const auto want = std::max(read_target_, graph_->options().read_buffer_size);
    if (rbuf_.size() < want) rbuf_.resize(want);
    if (rend_ == rbuf_.size()) compact();
    if (rend_ == rbuf_.size()) rbuf_.resize(rbuf_.size() * 2);
    reading_ = true;
    read_offered_ = rbuf_.size() - rend_;
    stream_.async_read_some(asio::buffer(rbuf_.data() + rend_, rbuf_.size() - rend_),
                            [self = this->shared_from_this()](std::error_code ec, std::size_t n) {
                              self->on_read(ec, n);
                            });
  }

  void on_read(std::error_code ec, std::size_t n) {
    reading_ = false;
    if (phase_ != phase::handshaking && phase_ != phase::established) return;
    if (ec) {
      if (phase_ == phase::handshaking && initiator_ &&
          (ec == asio::error::eof || ec == asio::error::connection_reset))
        ec = errc::connection_not_authenticated;  // the responder dropped us before WELCOME
      else if (ec == asio::error::eof)
        ec = protocol::error::connection_closed;
      terminate(ec);
      return;
    }
    rend_ += n;
    last_rx_ = clock::now();
    adapt_read_size(n);
    process_input();
  }

  void process_input() {
    while (phase_ == phase::handshaking || phase_ == phase::established) {
      if (!outbox_.empty()) {
        input_paused_ = true;  // resumed by pump() once the events are placed
        return;
      }
      const bool handshake = phase_ == phase::handshaking;
      const auto& opts = graph_->options();
      const auto limit =
          handshake ? opts.max_handshake_message_size : opts.max_message_size + protocol::pt2pt_header_size;
      const std::span<const std::uint8_t> avail(rbuf_.data() + rbeg_, rend_ - rbeg_);
      const auto fr = protocol::next_frame(avail, limit);
      if (fr.status == protocol::frame_result::invalid) return terminate(fr.ec);
      if (fr.status == protocol::frame_result::need_more) {
        if (!fr.header_known) break;
        if (!handshake && fr.h.type == protocol::message_type::pt2pt && fr.h.size > large_payload_threshold() &&
            avail.size() >= protocol::pt2pt_header_size)
          return start_large_payload(fr.h, avail);
        if (fr.h.size > rbuf_.size() - rbeg_) {
          compact();
          if (fr.h.size > rbuf_.size()) rbuf_.resize(fr.h.size);
        }
        break;
      }
      const auto frame = avail.first(fr.h.size);
      rbeg_ += fr.h.size;
      if (handshake)
        handle_handshake_frame(fr.h, frame);
      else
        handle_established_frame(fr.h, frame);
    }
    if (rbeg_ == rend_) {
      rbeg_ = rend_ = 0;
      // A large frame or a busy spell grew the buffer; give the memory back.
      if (rbuf_.size() > std::max(read_target_, graph_->options().read_buffer_size)) std::vector<std::uint8_t>().swap(rbuf_);
    }
    start_read();
  }

  // The read size follows the traffic: a read that fills what it was offered
  // doubles the next one (fewer system calls for a stream of small
  // messages), a nearly empty one halves it, so an idle link keeps only the
  // configured read_buffer_size.
  void adapt_read_size(std::size_t n) {
    const auto floor = graph_->options().read_buffer_size;
    if (n == read_offered_ && read_target_ < max_read_size)
      read_target_ = std::max(floor, std::min(std::max(read_target_, floor) * 2, max_read_size));
    else if (n < read_target_ / 8)
      read_target_ = std::max(floor, read_target_ / 2);
  }
  static constexpr std::size_t max_read_size = 64 * 1024;

  // Frames above this size are read straight into the payload's own vector.
  std::size_t large_payload_threshold() const noexcept { return 4 * graph_->options().read_buffer_size; }

  // A large PT2PT message: allocate its payload once, take what is already
  // buffered, read the rest directly into it. No copy through the read buffer.
  void start_large_payload(const protocol::header& h, std::span<const std::uint8_t> avail) {
    protocol::reader r(avail.subspan(protocol::header_size, protocol::pt2pt_header_size - protocol::header_size));
    const std::size_t data_off = r.u16();
    r.skip(2);
    guid::bytes_type b{};
    const auto raw = r.bytes(16);
    std::copy(raw.begin(), raw.end(), b.begin());
    if (data_off != protocol::pt2pt_header_size) return terminate(protocol::error::malformed_message);
    large_type_ = guid::from_windows_bytes(b);
    large_payload_.resize(h.size - protocol::pt2pt_header_size);
    const auto have = std::min(avail.size() - protocol::pt2pt_header_size, large_payload_.size());
    std::memcpy(large_payload_.data(), avail.data() + protocol::pt2pt_header_size, have);
    rbeg_ += protocol::pt2pt_header_size + have;
    if (rbeg_ == rend_) rbeg_ = rend_ = 0;
    reading_ = true;
    asio::async_read(stream_, asio::buffer(large_payload_.data() + have, large_payload_.size() - have),
                     [self = this->shared_from_this()](std::error_code ec, std::size_t) { self->on_large_payload(ec); });
  }

  void on_large_payload(std::error_code ec) {
    reading_ = false;
    if (phase_ != phase::established) return;
    if (ec) return terminate(ec == asio::error::eof ? std::error_code(protocol::error::connection_closed) : ec);
    last_rx_ = clock::now();
    auto payload = std::move(large_payload_);
    large_payload_ = {};
    emit(incoming_data_event{id_, large_type_, std::move(payload)});
    process_input();
  }

  void compact() {
    if (rbeg_ == 0) return;
    std::memmove(rbuf_.data(), rbuf_.data() + rbeg_, rend_ - rbeg_);
    rend_ -= rbeg_;
    rbeg_ = 0;
  }

  // ------------------------------------------------------------ writing

  void queue_bytes(std::span<const std::uint8_t> bytes) {
    wq_.append_copy(bytes);
    start_write();
  }

  // Runs on the sender's executor (same execution context, maybe another
  // strand or thread), hence the atomic count and the dispatch.
  void deferred_handler_done() {
    if (deferred_pending_.fetch_sub(1, std::memory_order_acq_rel) == 1)
      asio::dispatch(ex_, [self = this->shared_from_this()] { self->start_write(); });
  }

  void start_write() {
    if (wq_.writing() || !wq_.has_unsent() || phase_ == phase::closed || phase_ == phase::connecting) return;
    asio::async_write(stream_, wq_.begin_write(),
                      [self = this->shared_from_this()](std::error_code ec, std::size_t) { self->on_write(ec); });
  }

  // A full coalescing segment is waiting: write without waiting for senders.
  bool segment_waiting() const noexcept { return wq_.unsent_bytes() >= write_queue::coalesce_limit; }

  void on_write(std::error_code ec) {
    if (phase_ == phase::closed) {  // a lingering REFUSE went out (or failed)
      wq_.clear();
      return shut_stream();
    }
    if (ec) {
      wq_.clear();
      if (phase_ == phase::closing) return shut_stream();
      return terminate(ec);
    }
    wq_.end_write();
    last_tx_ = clock::now();
    if (wq_.size() <= graph_->options().send_low_water) release(blocked_sends_, {});
    if (wq_.empty()) release(flush_waiters_, {});
    // A sender still being resumed will add more; its send_invoke (or a full
    // segment) starts the next write.
    if (wq_.has_unsent() &&
        (deferred_pending_.load(std::memory_order_acquire) == 0 || phase_ != phase::established || segment_waiting()))
      return start_write();
    if (phase_ == phase::closing) shut_stream();
  }

  // Waiting sends, flushes and closes: completed in order, cancellable.
  using waiter_list = std::deque<std::pair<std::uint64_t, plain_completion>>;

  void park(waiter_list& list, plain_completion op) {
    const auto ticket = ++next_ticket_;
    op.on_cancel([w = this->weak_from_this(), &list, ticket](asio::cancellation_type) {
      auto self = w.lock();
      if (!self) return;
      for (auto it = list.begin(); it != list.end(); ++it)
        if (it->first == ticket) {
          auto c = std::move(it->second);
          list.erase(it);
          c.complete(asio::error::operation_aborted);
          return;
        }
    });
    list.emplace_back(ticket, std::move(op));
  }

  static void release(waiter_list& list, std::error_code ec) {
    if (list.empty()) return;  // the common case; moving a deque allocates
    auto all = std::move(list);
    list.clear();
    for (auto& [ticket, op] : all) op.complete(ec);
  }

  // ------------------------------------------------------------ timers

  void arm_timer(std::chrono::milliseconds d) {
    timer_.expires_after(d);
    timer_.async_wait([self = this->shared_from_this(), gen = ++timer_gen_](std::error_code ec) {
      if (!ec && gen == self->timer_gen_) self->on_timer();
    });
  }

  void arm_keepalive() {
    const auto& o = graph_->options();
    auto tick = o.keepalive_interval.count() > 0 ? o.keepalive_interval : o.idle_timeout;
    if (o.idle_timeout.count() > 0 && o.idle_timeout < tick) tick = o.idle_timeout;
    if (tick.count() <= 0) return;
    arm_timer(tick);
  }

  void on_timer() {
    switch (phase_) {
      case phase::connecting:
      case phase::handshaking:
        terminate(initiator_ ? std::error_code(errc::timeout) : std::error_code(protocol::error::handshake_timeout));
        return;
      case phase::established: {
        const auto& o = graph_->options();
        const auto now = clock::now();
        // While the application is behind on events this link is not read on
        // purpose; silence from the peer then proves nothing.
        if (input_paused_) last_rx_ = now;
        if (wq_.empty()) wq_.trim();
        if (o.idle_timeout.count() > 0 && now - last_rx_ >= o.idle_timeout)
          return terminate(protocol::error::keepalive_timeout);
        if (o.keepalive_interval.count() > 0 && now - last_tx_ >= o.keepalive_interval && queued_bytes() == 0) {
          std::vector<std::uint8_t> out;
          protocol::encode_pt2pt_header(protocol::ping_type, 0, out);
          queue_bytes(out);
        }
        arm_keepalive();
        return;
      }
      case phase::closing: shut_stream(); return;
      case phase::closed: shut_stream(); return;
    }
  }

  // ------------------------------------------------------------ events

  void emit(any_event ev) {
    // Straight into the router when nothing is waiting: no queueing per message.
    if (outbox_.deliver(graph_->router(), std::move(ev), resume_pump())) resume_input();
  }

  void pump() {
    if (outbox_.pump(graph_->router(), resume_pump())) resume_input();
  }

  auto resume_pump() {
    return [self = this->shared_from_this()] { asio::post(self->ex_, [self] { self->pump(); }); };
  }

  void resume_input() {
    if (input_paused_) {
      input_paused_ = false;
      process_input();
    }
  }

  void emit_connection_event(connection_status status, std::error_code reason) {
    if (kind_ == connection_kind::direct)
      emit(direct_connection_event{status, info(), reason});
    else
      emit(neighbor_connection_event{status, info(), reason});
  }

  // Reports the end once: `disconnected` after establishment, else `failed`.
  void report_end(std::error_code reason, bool was_established) {
    if (reported_end_) return;
    reported_end_ = true;
    emit_connection_event(was_established ? connection_status::disconnected : connection_status::failed, reason);
  }

  // ------------------------------------------------------------ ending

  /// Ends the connection at once for `reason`: reports the end, completes a
  /// pending open with `reason`, closes the stream.
  void terminate(std::error_code reason) { end(reason, false); }

  /// As terminate(), but a write under way (REFUSE) may finish first; a
  /// timer bounds the wait.
  void end(std::error_code reason, bool linger) {
    if (phase_ == phase::closed) return;
    const bool was_established = phase_ == phase::established || phase_ == phase::closing;
    const bool already_left = phase_ == phase::closing;
    phase_ = phase::closed;
    ++timer_gen_;
    end_reason_ = reason ? reason : std::error_code(errc::connection_failed);
    release(blocked_sends_, end_reason_);
    release(flush_waiters_, end_reason_);
    report_end(reason, was_established);
    if (!already_left) graph_->on_connection_closed(*this, was_established, outbox_);
    pump();
    open_op_.complete(reason ? reason : std::error_code(errc::connection_failed), nullptr);
    if (linger && wq_.writing()) {
      timer_.expires_after(std::chrono::milliseconds(1000));
      timer_.async_wait([self = this->shared_from_this()](std::error_code) { self->shut_stream(); });
      return;
    }
    shut_stream();
  }

  void shut_stream() {
    phase_ = phase::closed;
    ++timer_gen_;
    if (stream_shut_) return;
    stream_shut_ = true;
    std::error_code ignored;
    timer_.cancel();
    stream_.close(ignored);
    // Whatever was still queued can no longer be written.
    const std::error_code lost = end_reason_ ? end_reason_ : std::error_code(errc::connection_not_found);
    release(blocked_sends_, lost);
    release(flush_waiters_, wq_.empty() ? std::error_code{} : lost);
    release(close_waiters_, {});
  }

  std::shared_ptr<graph_type> graph_;
  Executor ex_;
  stream_type stream_;
  timer_type timer_;
  std::uint64_t timer_gen_ = 0;
  connection_id id_;
  bool initiator_;
  connection_kind kind_;
  phase phase_ = phase::connecting;

  std::optional<protocol::initiator> initiator_hs_;
  std::optional<protocol::responder> responder_hs_;
  open_completion open_op_;

  node_id remote_node_ = 0;
  std::string remote_peer_;
  endpoint remote_ep_;
  endpoint local_ep_;
  endpoint dialed_;
  std::vector<endpoint> remote_addresses_;

  std::vector<std::uint8_t> rbuf_;
  std::size_t rbeg_ = 0;
  std::size_t rend_ = 0;
  std::size_t read_target_ = 0;
  std::size_t read_offered_ = 0;
  bool reading_ = false;
  bool input_paused_ = false;
  std::vector<std::uint8_t> large_payload_;
  guid large_type_;

  write_queue wq_;
  std::atomic<std::size_t> deferred_pending_{0};
  std::vector<std::uint8_t> header_buf_;
  waiter_list blocked_sends_;
  waiter_list flush_waiters_;
  waiter_list close_waiters_;
  std::uint64_t next_ticket_ = 0;
  std::error_code end_reason_;
  bool stream_shut_ = false;

  clock::time_point last_rx_{};
  clock::time_point last_tx_{};
  event_outbox outbox_;
  bool reported_end_ = false;
};

}  // namespace peergraph::detail

#endif // PEERGRAPH_DETAIL_CONNECTION_IMPL_HPP
