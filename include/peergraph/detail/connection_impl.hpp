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
#include <peergraph/error.hpp>
#include <peergraph/options.hpp>
#include <peergraph/protocol/frame.hpp>
#include <peergraph/protocol/handshake.hpp>
#include <peergraph/types.hpp>

#include <asio/basic_waitable_timer.hpp>
#include <asio/buffer.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>

#include <chrono>
#include <cstring>
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

  enum class phase { connecting, handshaking, established, closing, closed };

  connection_impl(std::shared_ptr<graph_type> g, stream_type s, connection_id id, bool initiator,
                  connection_kind kind)
      : graph_(std::move(g)),
        stream_(std::move(s)),
        timer_(stream_.get_executor()),
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
    expected_peer_ = cfg.expected_peer_id;
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
    report_end(reason, true);
    graph_->on_connection_closed(*this, true, outbox_);
    pump();
    std::vector<std::uint8_t> out;
    protocol::encode(protocol::disconnect{}, out);
    queue_bytes(out);
    arm_timer(std::chrono::milliseconds(1000));
  }

  // ------------------------------------------------------------ observers

  connection_id id() const noexcept { return id_; }
  connection_kind kind() const noexcept { return kind_; }
  phase current_phase() const noexcept { return phase_; }
  bool is_established() const noexcept { return phase_ == phase::established; }
  bool is_initiator() const noexcept { return initiator_; }
  node_id remote_node() const noexcept { return remote_node_; }
  const std::string& remote_peer() const noexcept { return remote_peer_; }
  const endpoint& remote_endpoint() const noexcept { return remote_ep_; }
  const endpoint& dialed() const noexcept { return dialed_; }
  const std::vector<endpoint>& remote_addresses() const noexcept { return remote_addresses_; }
  Executor get_executor() const noexcept { return stream_.get_executor(); }

  connection_info info() const { return connection_info{id_, kind_, remote_node_, remote_peer_, remote_ep_}; }

  /// Bytes queued for writing and not yet written.
  std::size_t queued_bytes() const noexcept { return pending_.size() + in_flight_.size(); }

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
          // Both nodes dialled each other at once; keep the older link.
          terminate(errc::already_exists);
          return;
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
      default: return terminate(protocol::error::unexpected_message);
    }
  }

  // ------------------------------------------------------------ reading

  void start_read() {
    if (reading_ || input_paused_ || (phase_ != phase::handshaking && phase_ != phase::established)) return;
    const auto want = graph_->options().read_buffer_size;
    if (rbuf_.size() < want) rbuf_.resize(want);
    if (rend_ == rbuf_.size()) compact();
    if (rend_ == rbuf_.size()) rbuf_.resize(rbuf_.size() * 2);
    reading_ = true;
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
      const auto limit = handshake ? opts.max_handshake_message_size : opts.max_message_size;
      const std::span<const std::uint8_t> avail(rbuf_.data() + rbeg_, rend_ - rbeg_);
      const auto fr = protocol::next_frame(avail, limit);
      if (fr.status == protocol::frame_result::invalid) return terminate(fr.ec);
      if (fr.status == protocol::frame_result::need_more) {
        if (fr.header_known && fr.h.size > rbuf_.size() - rbeg_) {
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
      // A large frame grew the buffer; give the memory back while idle.
      if (rbuf_.size() > 4 * graph_->options().read_buffer_size) std::vector<std::uint8_t>().swap(rbuf_);
    }
    start_read();
  }

  void compact() {
    if (rbeg_ == 0) return;
    std::memmove(rbuf_.data(), rbuf_.data() + rbeg_, rend_ - rbeg_);
    rend_ -= rbeg_;
    rbeg_ = 0;
  }

  // ------------------------------------------------------------ writing

  void queue_bytes(std::span<const std::uint8_t> bytes) {
    pending_.insert(pending_.end(), bytes.begin(), bytes.end());
    start_write();
  }

  void start_write() {
    if (writing_ || pending_.empty() || phase_ == phase::closed || phase_ == phase::connecting) return;
    in_flight_.swap(pending_);
    pending_.clear();
    writing_ = true;
    asio::async_write(stream_, asio::buffer(in_flight_),
                      [self = this->shared_from_this()](std::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(std::error_code ec) {
    writing_ = false;
    in_flight_.clear();
    if (phase_ == phase::closed) return shut_stream();  // a lingering REFUSE went out (or failed)
    if (ec) {
      if (phase_ == phase::closing) return shut_stream();
      return terminate(ec);
    }
    last_tx_ = clock::now();
    if (!pending_.empty()) return start_write();
    if (phase_ == phase::closing) shut_stream();
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
    outbox_.push(std::move(ev));
    pump();
  }

  void pump() {
    auto self = this->shared_from_this();
    const bool drained = outbox_.pump(graph_->router(), [self] {
      asio::post(self->stream_.get_executor(), [self] { self->pump(); });
    });
    if (drained && input_paused_) {
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
    report_end(reason, was_established);
    if (!already_left) graph_->on_connection_closed(*this, was_established, outbox_);
    pump();
    open_op_.complete(reason ? reason : std::error_code(errc::connection_failed), nullptr);
    if (linger && writing_) {
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
  }

  std::shared_ptr<graph_type> graph_;
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
  std::optional<std::string> expected_peer_;
  endpoint remote_ep_;
  endpoint local_ep_;
  endpoint dialed_;
  std::vector<endpoint> remote_addresses_;

  std::vector<std::uint8_t> rbuf_;
  std::size_t rbeg_ = 0;
  std::size_t rend_ = 0;
  bool reading_ = false;
  bool input_paused_ = false;

  std::vector<std::uint8_t> pending_;
  std::vector<std::uint8_t> in_flight_;
  bool writing_ = false;
  bool stream_shut_ = false;

  clock::time_point last_rx_{};
  clock::time_point last_tx_{};
  event_outbox outbox_;
  bool reported_end_ = false;
};

}  // namespace peergraph::detail

#endif // PEERGRAPH_DETAIL_CONNECTION_IMPL_HPP
