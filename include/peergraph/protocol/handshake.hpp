// peergraph/protocol/handshake.hpp: the connection handshake as two state machines.
//
// The initiator sends AUTH_INFO and CONNECT in its first flight; the responder
// checks both and answers WELCOME or REFUSE. No security provider is used, so
// a connection is authenticated as soon as AUTH_INFO is accepted
// ([MS-PPGRH] 3.1.5.1.1). The machines take complete frames and return what
// happened; the bytes they want sent are appended to a caller's buffer. The
// async engine only moves those bytes and runs the timers.
#ifndef PEERGRAPH_PROTOCOL_HANDSHAKE_HPP
#define PEERGRAPH_PROTOCOL_HANDSHAKE_HPP

#include <peergraph/protocol/error.hpp>
#include <peergraph/protocol/handshake_messages.hpp>
#include <peergraph/protocol/header.hpp>

#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace peergraph::protocol {

struct initiator_config {
  connection_type type = connection_type::neighbor;
  std::string graph_id;
  std::string local_peer_id;
  /// The peer id the application expects at the address; sent as the
  /// AUTH_INFO destination and checked against WELCOME.
  std::optional<std::string> expected_peer_id;
  std::uint64_t local_node_id = 0;
  /// Addresses the local node listens on; when non-empty CONNECT carries the U flag.
  std::vector<address> local_addresses;
  std::string friendly_name;
  bool wants_neighbors = false;
};

namespace detail {

/// What both machines share: where they are, and how they fail.
template <typename State, typename Outcome>
class handshake_machine {
 public:
  State current() const noexcept { return state_; }

 protected:
  explicit handshake_machine(State initial) noexcept : state_(initial) {}
  Outcome fail(std::error_code ec) {
    state_ = State::failed;
    return {Outcome::failed, ec};
  }
  State state_;
};

enum class initiator_state { idle, awaiting_reply, established, refused, failed };
struct initiator_outcome {
  enum kind_type { pending, established, refused, failed } kind = pending;
  std::error_code ec;  ///< for failed: a protocol::error
};

enum class responder_state { awaiting_auth, awaiting_connect, deciding, established, refused, failed };
struct responder_outcome {
  /// pending: wait for more frames; decide: AUTH_INFO and CONNECT are valid,
  /// the caller must call accept() or refuse(); refused: the machine answered
  /// REFUSE itself (bytes appended, `code` says which); failed: close the
  /// connection (`ec`, a protocol::error, says why).
  enum kind_type { pending, decide, refused, failed } kind = pending;
  std::error_code ec;
  refuse_code code = refuse_code::busy;
};

}  // namespace detail

/// The connecting side.
class initiator : public detail::handshake_machine<detail::initiator_state, detail::initiator_outcome> {
 public:
  using state = detail::initiator_state;
  using outcome = detail::initiator_outcome;

  explicit initiator(initiator_config cfg) : handshake_machine(state::idle), cfg_(std::move(cfg)) {}

  /// Sets the addresses CONNECT announces (known once the transport is connected).
  void set_local_addresses(std::vector<address> addresses) { cfg_.local_addresses = std::move(addresses); }

  /// Appends the first flight (AUTH_INFO, CONNECT) to `out`.
  void start(std::vector<std::uint8_t>& out) {
    encode(auth_info{cfg_.type, cfg_.graph_id, cfg_.local_peer_id, cfg_.expected_peer_id}, out);
    connect c;
    c.update = !cfg_.local_addresses.empty();
    c.direct = cfg_.type == connection_type::direct;
    c.wants_neighbors = cfg_.wants_neighbors;
    c.source_node_id = cfg_.local_node_id;
    c.addresses = cfg_.local_addresses;
    c.friendly_name = cfg_.friendly_name;
    encode(c, out);
    state_ = state::awaiting_reply;
  }

  /// Feeds one complete frame received while the handshake is under way.
  outcome on_frame(const header& h, std::span<const std::uint8_t> frame) {
    if (state_ != state::awaiting_reply) return fail(error::unexpected_message);
    switch (h.type) {
      case message_type::welcome: {
        if (auto ec = decode(frame, welcome_)) return fail(ec);
        if (welcome_.node_id == 0) return fail(error::malformed_message);
        if (welcome_.node_id == cfg_.local_node_id) return fail(error::self_connection);
        if (cfg_.expected_peer_id && welcome_.peer_id != *cfg_.expected_peer_id) return fail(error::wrong_peer_id);
        state_ = state::established;
        return {outcome::established, {}};
      }
      case message_type::refuse: {
        if (auto ec = decode(frame, refuse_)) return fail(ec);
        state_ = state::refused;
        return {outcome::refused, {}};
      }
      case message_type::disconnect:
        return fail(error::peer_disconnected);
      default:
        return fail(error::unexpected_message);
    }
  }

  const welcome& peer() const noexcept { return welcome_; }
  const refuse& refusal() const noexcept { return refuse_; }
  const initiator_config& config() const noexcept { return cfg_; }

 private:
  initiator_config cfg_;
  welcome welcome_;
  refuse refuse_;
};

struct responder_config {
  std::string graph_id;
  std::string local_peer_id;
  std::uint64_t local_node_id = 0;
};

/// The accepting side.
class responder : public detail::handshake_machine<detail::responder_state, detail::responder_outcome> {
 public:
  using state = detail::responder_state;
  using outcome = detail::responder_outcome;

  explicit responder(responder_config cfg) : handshake_machine(state::awaiting_auth), cfg_(std::move(cfg)) {}

  outcome on_frame(const header& h, std::span<const std::uint8_t> frame, std::vector<std::uint8_t>& out) {
    switch (state_) {
      case state::awaiting_auth: {
        if (h.type != message_type::auth_info) return fail(error::unexpected_message);
        if (auto ec = decode(frame, auth_)) return fail(ec);
        if (auth_.graph_id != cfg_.graph_id) return fail(error::wrong_graph_id);
        if (auth_.destination_peer_id && *auth_.destination_peer_id != cfg_.local_peer_id)
          return fail(error::wrong_peer_id);
        state_ = state::awaiting_connect;
        return {outcome::pending, {}};
      }
      case state::awaiting_connect: {
        if (h.type != message_type::connect) return fail(error::unexpected_message);
        if (auto ec = decode(frame, request_)) return fail(ec);
        if (request_.direct != (auth_.type == connection_type::direct) || request_.source_node_id == 0)
          return fail(error::malformed_message);
        if (request_.source_node_id == cfg_.local_node_id) {
          refuse(refuse_code::connect_self, {}, out);
          return {outcome::refused, {}, refuse_code::connect_self};
        }
        state_ = state::deciding;
        return {outcome::decide, {}};
      }
      default:
        return fail(error::unexpected_message);
    }
  }

  /// Accepts the connection: appends WELCOME.
  void accept(std::uint64_t peer_time, std::vector<address> local_addresses, std::string friendly_name,
              std::vector<std::uint8_t>& out) {
    encode(welcome{cfg_.local_node_id, peer_time, std::move(local_addresses), cfg_.local_peer_id,
                   std::move(friendly_name)},
           out);
    state_ = state::established;
  }

  /// Declines the connection: appends REFUSE with optional referrals.
  void refuse(refuse_code code, std::vector<address> referrals, std::vector<std::uint8_t>& out) {
    encode(protocol::refuse{code, std::move(referrals)}, out);
    state_ = state::refused;
  }

  bool is_direct() const noexcept { return auth_.type == connection_type::direct; }
  const auth_info& auth() const noexcept { return auth_; }
  const connect& request() const noexcept { return request_; }

 private:
  responder_config cfg_;
  auth_info auth_;
  connect request_;
};

}  // namespace peergraph::protocol

#endif  // PEERGRAPH_PROTOCOL_HANDSHAKE_HPP
