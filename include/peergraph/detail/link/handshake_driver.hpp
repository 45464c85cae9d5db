// peergraph/detail/link/handshake_driver.hpp: one link's handshake, from the machines' outcomes to link terms.
//
// Wraps the sans-I/O initiator and responder (protocol/handshake.hpp), fills
// the link's summary as the handshake tells who is at the other end, and
// maps the protocol's outcomes onto the errors the API reports.
#ifndef PEERGRAPH_DETAIL_LINK_HANDSHAKE_DRIVER_HPP
#define PEERGRAPH_DETAIL_LINK_HANDSHAKE_DRIVER_HPP

#include <peergraph/detail/addresses.hpp>
#include <peergraph/detail/node/link_summary.hpp>
#include <peergraph/error.hpp>
#include <peergraph/protocol/handshake.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

namespace peergraph::detail::link {

/// The API error an initiator reports for a REFUSE code.
inline std::error_code refuse_error(protocol::refuse_code c) noexcept {
  switch (c) {
    case protocol::refuse_code::already_connected:
    case protocol::refuse_code::duplicate_connection:
      return errc::already_exists;
    case protocol::refuse_code::connect_self:
      return errc::connect_self;
    case protocol::refuse_code::direct_connection_disallowed:
      return protocol::error::direct_connection_disallowed;
    case protocol::refuse_code::busy:
      return errc::connection_refused;
  }
  return errc::connection_refused;
}

/// Peer time as a FILETIME count (100 ns ticks since 1601-01-01 UTC), as
/// WELCOME carries it.
inline std::uint64_t filetime_now() noexcept {
  using namespace std::chrono;
  const auto ticks =
      duration_cast<duration<std::int64_t, std::ratio<1, 10'000'000>>>(system_clock::now().time_since_epoch()).count();
  return static_cast<std::uint64_t>(ticks) + 116444736000000000ull;
}

/// A CONNECT on an established link: with the U flag it announces where
/// the peer now listens (no reply); without it the link exists already, and
/// the answer (appended to `out`) is REFUSE ALREADY_CONNECTED. An error
/// means the frame is malformed.
inline std::error_code on_live_connect(std::span<const std::uint8_t> frame, node::link_summary& l,
                                       std::vector<std::uint8_t>& out) {
  protocol::connect c;
  if (auto ec = protocol::decode(frame, c)) return ec;
  if (c.update)
    l.remote_addresses = to_endpoints(c.addresses);
  else
    protocol::encode(protocol::refuse{protocol::refuse_code::already_connected, {}}, out);
  return {};
}

/// A protocol error as the API reports it.
inline std::error_code api_error(std::error_code ec) noexcept {
  if (ec == protocol::error::self_connection) return errc::connect_self;
  return ec;
}

class handshake_driver {
 public:
  struct step {
    enum kind_type {
      pending,      ///< wait for more frames
      established,  ///< initiator: WELCOME accepted
      decide,       ///< responder: the application's policy must accept() or refuse()
      refused,      ///< the link is refused; responder: REFUSE bytes appended
      failed,       ///< end the link
    } kind = pending;
    std::error_code ec;  ///< refused and failed: the reason, as the API reports it
  };

  /// Initiator: appends AUTH_INFO and CONNECT to `out`.
  void start(protocol::initiator_config cfg, std::vector<std::uint8_t>& out) {
    initiator_.emplace(std::move(cfg));
    initiator_->start(out);
  }
  /// Responder: waits for AUTH_INFO and CONNECT.
  void expect(protocol::responder_config cfg) { responder_.emplace(std::move(cfg)); }

  /// One complete frame received during the handshake; REFUSE or WELCOME
  /// bytes, if any, are appended to `out`.
  step on_frame(const protocol::header& h, std::span<const std::uint8_t> frame, node::link_summary& l,
                std::vector<std::uint8_t>& out) {
    if (initiator_) {
      const auto r = initiator_->on_frame(h, frame);
      switch (r.kind) {
        case protocol::initiator::outcome::pending:
          return {};
        case protocol::initiator::outcome::established: {
          const auto& w = initiator_->peer();
          l.remote_node = w.node_id;
          l.remote_peer = w.peer_id;
          l.remote_addresses = to_endpoints(w.addresses);
          return {step::established, {}};
        }
        case protocol::initiator::outcome::refused:
          return {step::refused, refuse_error(initiator_->refusal().code)};
        case protocol::initiator::outcome::failed:
          return {step::failed, api_error(r.ec)};
      }
      return {step::failed, protocol::error::unexpected_message};
    }
    const auto r = responder_->on_frame(h, frame, out);
    switch (r.kind) {
      case protocol::responder::outcome::pending:
        return {};
      case protocol::responder::outcome::failed:
        return {step::failed, api_error(r.ec)};
      case protocol::responder::outcome::refused:
        return {step::refused, refuse_error(r.code)};
      case protocol::responder::outcome::decide: {
        const auto& req = responder_->request();
        l.kind = req.direct ? connection_kind::direct : connection_kind::neighbor;
        l.remote_node = req.source_node_id;
        l.remote_peer = responder_->auth().source_peer_id;
        l.remote_addresses = to_endpoints(req.addresses);
        return {step::decide, {}};
      }
    }
    return {step::failed, protocol::error::unexpected_message};
  }

  /// Responder, after decide: the CONNECT to answer.
  const protocol::connect& request() const { return responder_->request(); }
  /// Responder, after decide: appends WELCOME.
  void accept(std::uint64_t peer_time, const std::vector<endpoint>& addresses, std::string friendly_name,
              std::vector<std::uint8_t>& out) {
    responder_->accept(peer_time, to_wire(addresses), std::move(friendly_name), out);
  }
  /// Responder, after decide: appends REFUSE; returns the reason to report.
  std::error_code refuse(protocol::refuse_code code, const std::vector<endpoint>& referrals,
                         std::vector<std::uint8_t>& out) {
    responder_->refuse(code, to_wire(referrals), out);
    return refuse_error(code);
  }

  /// Initiator: the REFUSE received, if the remote refused.
  /// Initiator: the responder closed before answering. [MS-PPGRH] 3.1.5.1.1
  /// has it close silently when AUTH_INFO names another graph or another
  /// destination peer; without an expected peer only the graph can differ.
  std::error_code not_admitted() const noexcept {
    if (initiator_ && !initiator_->config().expected_peer_id) return protocol::error::wrong_graph_id;
    return errc::connection_not_authenticated;
  }

  const protocol::refuse* refusal() const noexcept {
    return initiator_ && initiator_->current() == protocol::initiator::state::refused ? &initiator_->refusal()
                                                                                      : nullptr;
  }

  /// The link is established: the handshake's state (its configuration,
  /// the peer's request) is no longer needed, and an idle link keeps it.
  void finish() noexcept {
    initiator_.reset();
    responder_.reset();
  }

 private:
  std::optional<protocol::initiator> initiator_;
  std::optional<protocol::responder> responder_;
};

}  // namespace peergraph::detail::link

#endif  // PEERGRAPH_DETAIL_LINK_HANDSHAKE_DRIVER_HPP
