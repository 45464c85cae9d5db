// peergraph/detail/link/connection_impl.hpp: one link's lifecycle, handshake and read loop.
//
// A link moves bytes between its stream and the sans-I/O pieces beside it
// (frame_reader, send_path, handshake_driver, link_timer) and turns their
// outcomes into events and completions; link_base holds its state and its
// write side. Its node's behaviour is the graph's business (graph_impl,
// detail/node/). All of its state is touched only from the graph's executor.
//
// Lifecycle: connecting (initiator: transport connect) -> handshaking ->
// established -> closing (DISCONNECT queued, waiting for the write) ->
// closed. Every way of ending goes through end(); exactly one terminal event
// is reported: `failed` if the link never got established, `disconnected`
// if it did.
#ifndef PEERGRAPH_DETAIL_LINK_CONNECTION_IMPL_HPP
#define PEERGRAPH_DETAIL_LINK_CONNECTION_IMPL_HPP

#include <peergraph/detail/addresses.hpp>
#include <peergraph/detail/completion.hpp>
#include <peergraph/detail/link/handshake_driver.hpp>
#include <peergraph/detail/link/link_base.hpp>
#include <peergraph/error.hpp>
#include <peergraph/options.hpp>
#include <peergraph/protocol/handshake_messages.hpp>
#include <peergraph/protocol/pt2pt.hpp>
#include <peergraph/types.hpp>

#include <asio/buffer.hpp>
#include <asio/post.hpp>

#include <chrono>
#include <memory>
#include <span>
#include <vector>

namespace peergraph::detail {

template <typename Executor, typename Transport>
class connection_impl final : public link::link_base<Executor, Transport> {
  using base = link::link_base<Executor, Transport>;
  using phase = link::phase;
  using ending = link::ending;
  using typename base::ms;

 public:
  using typename base::graph_type;
  using typename base::stream_type;
  using open_completion = completion<std::error_code, std::shared_ptr<connection_impl>>;

  connection_impl(std::shared_ptr<graph_type> g, stream_type s, connection_id id, bool initiator, connection_kind kind)
      : base(std::move(g), std::move(s), id, initiator, kind) {}

  // ------------------------------------------------------------ starting

  /// Initiator: connect to `ep`, run the handshake, complete `op`.
  void start_connect(const endpoint& ep, protocol::initiator_config cfg, ms timeout, open_completion op) {
    this->link_.dialed = this->link_.remote_ep = ep;
    config_ = std::move(cfg);
    open_op_ = std::move(op);
    open_op_.on_cancel([w = this->weak_from_this()](asio::cancellation_type) {
      if (auto self = w.lock()) self->end(asio::error::operation_aborted, ending::abort);
    });
    this->arm(timeout);
    this->graph_->transport().async_connect(this->stream_, ep,
                                            [self = self()](std::error_code ec) { self->on_transport_connected(ec); });
  }

  /// Responder: wait for AUTH_INFO and CONNECT.
  void start_accept() {
    this->phase_ = phase::handshaking;
    std::error_code ignored;
    this->link_.remote_ep = this->stream_.remote_endpoint(ignored);
    handshake_.expect(this->graph_->responder_config());
    this->arm(this->graph_->options().handshake_timeout);
    start_read();
  }

  // ------------------------------------------------------------ ending

  /// The one way a link ends (see link::ending). Reports the end, tells the
  /// graph, completes a pending open with `reason` and fails waiting sends
  /// unless the end is orderly; a link still in its handshake always aborts.
  void end(std::error_code reason, ending how) override {
    auto& ph = this->phase_;
    if (ph == phase::closed) return;
    if (ph == phase::closing) {
      if (how == ending::abort) this->shut();
      return;
    }
    const bool was_established = ph == phase::established;
    if (how == ending::orderly && !was_established) {
      how = ending::abort;
      if (!reason) reason = asio::error::operation_aborted;
    }
    ph = how == ending::orderly ? phase::closing : phase::closed;
    this->end_reason_ = reason                   ? reason
                        : how == ending::orderly ? std::error_code(asio::error::operation_aborted)
                                                 : std::error_code(errc::connection_failed);
    if (how != ending::orderly) {
      this->timer_.cancel();
      this->sends_.fail(this->end_reason_);
    }
    this->report(was_established ? connection_status::disconnected : connection_status::failed, reason);
    this->graph_->on_link_closed(*this, was_established, this->outbox_);
    this->pump();
    open_op_.complete(this->end_reason_, nullptr);
    if (how == ending::orderly) {
      std::vector<std::uint8_t> bye;
      protocol::encode(protocol::disconnect{}, bye);
      this->queue_frame(bye);
      // Queued data and DISCONNECT get this long to leave; a peer that does
      // not read cannot hold the close up for ever.
      return this->arm(this->linger_.value_or(this->graph_->options().close_linger));
    }
    if (how == ending::after_write && this->sends_.writing()) return this->arm(ms(1000));
    this->shut();
  }

  /// The REFUSE this initiator received, if the remote refused.
  const protocol::refuse* refusal() const noexcept { return handshake_.refusal(); }

 private:
  std::shared_ptr<connection_impl> self() {
    return std::static_pointer_cast<connection_impl>(this->shared_from_this());
  }

  // ------------------------------------------------------------ handshake

  void on_transport_connected(std::error_code ec) {
    if (this->phase_ != phase::connecting) return;
    if (ec) return end(ec, ending::abort);
    this->phase_ = phase::handshaking;
    auto& l = this->link_;
    std::error_code ignored;
    l.remote_ep = this->stream_.remote_endpoint(ignored);
    l.local_ep = this->stream_.local_endpoint(ignored);
    config_.local_addresses = to_wire(this->graph_->advertised_addresses(l.local_ep));
    std::vector<std::uint8_t> out;
    handshake_.start(std::move(config_), out);
    this->queue_frame(out);
    start_read();
  }

  void on_handshake_frame(const protocol::header& h, std::span<const std::uint8_t> frame) {
    auto& l = this->link_;
    auto& g = *this->graph_;
    std::vector<std::uint8_t> out;
    const auto r = handshake_.on_frame(h, frame, l, out);
    switch (r.kind) {
      case link::handshake_driver::step::pending:
        return;
      case link::handshake_driver::step::failed:
        return end(r.ec, ending::abort);
      case link::handshake_driver::step::refused:
        if (!l.initiator) this->queue_frame(out);
        return end(r.ec, l.initiator ? ending::abort : ending::after_write);
      case link::handshake_driver::step::established:
        if (!g.keep_welcomed(*this)) return end(errc::already_exists, ending::abort);
        return become_established();
      case link::handshake_driver::step::decide: {
        if (auto code = g.decide(*this, handshake_.request())) {
          const auto reason = handshake_.refuse(*code, g.referrals(*this), out);
          this->queue_frame(out);
          return end(reason, ending::after_write);
        }
        std::error_code ignored;
        l.local_ep = this->stream_.local_endpoint(ignored);
        handshake_.accept(link::filetime_now(), g.advertised_addresses(l.local_ep), g.options().friendly_name, out);
        this->queue_frame(out);
        return become_established();
      }
    }
  }

  void become_established() {
    handshake_.finish();
    this->phase_ = phase::established;
    this->link_.established = true;
    this->last_rx_ = this->last_tx_ = link::clock::now();
    this->report(connection_status::connected, {});
    this->graph_->on_link_established(*this, this->outbox_);
    this->pump();
    open_op_.complete(std::error_code{}, self());
    this->arm_keepalive();
  }

  // ------------------------------------------------------------ established traffic

  void on_established_frame(const protocol::header& h, std::span<const std::uint8_t> frame) {
    using protocol::message_type;
    switch (h.type) {
      case message_type::pt2pt: {
        protocol::pt2pt_view v;
        if (auto ec = protocol::decode_checked(frame, v)) return end(ec, ending::abort);
        if (v.type == protocol::ping_type) return;  // liveness only; last_rx_ is already updated
        return this->emit(incoming_data_event{this->link_.id, this->link_.remote_node, this->link_.remote_peer, v.type,
                                              payload(v.payload)});
      }
      case message_type::disconnect: {
        protocol::disconnect d;
        const auto ec = protocol::decode(frame, d);
        return end(ec ? ec : std::error_code(protocol::error::peer_disconnected), ending::abort);
      }
      case message_type::connect: {
        std::vector<std::uint8_t> out;
        if (auto ec = link::on_live_connect(frame, this->link_, out)) return end(ec, ending::abort);
        if (!out.empty()) this->queue_frame(out);
        return;
      }
      default:
        // Graph-level traffic (presence, synchronization) is the node's business.
        if (auto ec = this->graph_->on_graph_frame(*this, h, frame, this->outbox_)) return end(ec, ending::abort);
        return this->pump();
    }
  }

  // ------------------------------------------------------------ reading

  bool reading_phase() const noexcept {
    return this->phase_ == phase::handshaking || this->phase_ == phase::established;
  }

  void start_read() {
    if (this->reading_ || this->input_paused_ || turn_pending_ || !reading_phase()) return;
    this->reading_ = true;
    this->stream_.async_read_some(this->reader_.prepare(),
                                  [self = self()](std::error_code ec, std::size_t n) { self->on_read(ec, n); });
  }

  void on_read(std::error_code ec, std::size_t n) {
    this->reading_ = false;
    if (!reading_phase()) return;
    if (ec) {
      if (this->phase_ == phase::handshaking && this->link_.initiator &&
          (ec == asio::error::eof || ec == asio::error::connection_reset))
        ec = handshake_.not_admitted();
      else if (ec == asio::error::eof)
        ec = protocol::error::connection_closed;
      return end(ec, ending::abort);
    }
    this->reader_.commit(n);
    this->last_rx_ = link::clock::now();
    process_input();
  }

  void resume_reading() override { process_input(); }

  // At most frames_per_turn frames are handled before the link yields to
  // the executor: one read can hold thousands of small frames, and other
  // links, timers and the application must not wait for all of them.
  static constexpr int frames_per_turn = 64;

  void process_input() {
    if (turn_pending_) return;  // the posted turn will continue
    for (int handled = 0; reading_phase(); ++handled) {
      if (handled == frames_per_turn) {
        turn_pending_ = true;  // and no read starts until it has run
        asio::post(this->get_executor(), [self = self()] {
          self->turn_pending_ = false;
          self->process_input();
        });
        return;
      }
      if (!this->outbox_.empty()) {
        this->input_paused_ = true;  // resumed by pump() once the events are placed
        return;
      }
      const bool handshake = this->phase_ == phase::handshaking;
      const auto& o = this->graph_->options();
      const auto s = this->reader_.next(
          handshake ? o.max_handshake_message_size : o.max_message_size + protocol::pt2pt_header_size, !handshake);
      if (s.kind == link::frame_reader::step::invalid) return end(s.ec, ending::abort);
      if (s.kind == link::frame_reader::step::large) return read_large();
      if (s.kind == link::frame_reader::step::need_more) break;
      if (handshake)
        on_handshake_frame(s.h, s.bytes);
      else
        on_established_frame(s.h, s.bytes);
    }
    this->reader_.settle();
    start_read();
  }

  // A large PT2PT message: the rest of its payload goes straight into its
  // own vector, with no copy through the read buffer, one read at a time so
  // that its storage follows the bytes and a slow but steady transfer counts
  // as traffic for the idle timeout.
  void read_large() {
    const auto rest = this->reader_.large_rest();
    if (rest.size() == 0) return end(protocol::error::receive_budget_exceeded, ending::abort);
    this->reading_ = true;
    this->stream_.async_read_some(rest, [self = self()](std::error_code ec, std::size_t n) { self->on_large(ec, n); });
  }

  void on_large(std::error_code ec, std::size_t n) {
    this->reading_ = false;
    if (this->phase_ != phase::established) return;
    if (ec)
      return end(ec == asio::error::eof ? std::error_code(protocol::error::connection_closed) : ec, ending::abort);
    this->last_rx_ = link::clock::now();
    if (!this->reader_.large_commit(n)) return read_large();
    guid type;
    auto payload = this->reader_.take_large(type);
    this->emit(incoming_data_event{this->link_.id, this->link_.remote_node, this->link_.remote_peer, type,
                                   std::move(payload)});
    process_input();
  }

  // ------------------------------------------------------------ timers

  void on_timer() override {
    switch (this->phase_) {
      case phase::connecting:
      case phase::handshaking:
        return end(this->link_.initiator ? std::error_code(errc::timeout)
                                         : std::error_code(protocol::error::handshake_timeout),
                   ending::abort);
      case phase::established:
        return this->keepalive_tick();
      case phase::closing:
        // The linger ran out: what is still queued is dropped, and the
        // operations waiting on it say so.
        if (this->sends_.has_unsent() || this->sends_.writing()) this->end_reason_ = errc::timeout;
        return this->shut();
      case phase::closed:
        return this->shut();
    }
  }

  protocol::initiator_config config_;
  link::handshake_driver handshake_;
  open_completion open_op_;
  bool turn_pending_ = false;  // process_input() yielded; its next turn is posted
};

}  // namespace peergraph::detail

#endif  // PEERGRAPH_DETAIL_LINK_CONNECTION_IMPL_HPP
