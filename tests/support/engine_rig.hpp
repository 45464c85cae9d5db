// Test support for the node engine tests: an engine as creator or joiner,
// hand-made link summaries, and feeding frames in and reading them out.
#ifndef PEERGRAPH_TESTS_SUPPORT_ENGINE_RIG_HPP
#define PEERGRAPH_TESTS_SUPPORT_ENGINE_RIG_HPP

#include "support/bytes.hpp"
#include <peergraph/detail/node/engine.hpp>
#include <peergraph/protocol/frame.hpp>
#include <peergraph/protocol/messages.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace pgtest {

namespace pg = peergraph;
namespace pp = peergraph::protocol;
namespace pn = peergraph::detail::node;

using ms = std::chrono::milliseconds;
using namespace std::chrono_literals;

inline pg::graph_properties props() {
  pg::graph_properties p;
  p.graph_id = "g";
  p.creator_id = "alice";
  p.friendly_name = "unit";
  return p;
}

inline pg::graph_options opts() {
  pg::graph_options o;
  o.auto_connect = false;
  return o;
}

inline pn::engine creator(pg::graph_options o = opts()) {
  return pn::engine(pn::node_state(props(), "alice", true, o, 1));
}
inline pn::engine joiner(const char* peer = "bob", pg::graph_options o = opts()) {
  auto p = props();
  p.creator_id.clear();
  return pn::engine(pn::node_state(p, peer, false, o, 2));
}

inline pg::endpoint endpoint(const char* a, std::uint16_t port) { return {asio::ip::make_address(a), port}; }

/// An established neighbor link to `node`.
inline pn::link_summary neighbor(pg::connection_id id, pg::node_id node, std::uint16_t port = 0) {
  pn::link_summary l;
  l.id = id;
  l.kind = pg::connection_kind::neighbor;
  l.established = true;
  l.remote_node = node;
  l.remote_peer = "peer-" + std::to_string(node);
  l.local_ep = endpoint("192.0.2.1", 4000);
  l.remote_ep = endpoint("192.0.2.2", static_cast<std::uint16_t>(50000 + id));
  if (port) l.remote_addresses = {endpoint("192.0.2.2", port)};
  return l;
}

/// The frames of one action.
inline std::vector<frame> frames_of(const pn::actions& a, const pn::actions::frame& f) {
  return split_frames(a.bytes_of(f));
}

/// Registers `l` with `e` and brings it up, forgetting what that sends.
inline void bring_up(pn::engine& e, const pn::link_summary& l) {
  pn::actions ignored;
  e.state().add_link(l);
  e.on_link_established(l, 0ms, ignored);
}

template <typename M>
inline bytes encoded(const M& m) {
  bytes b;
  pp::encode(m, b);
  return b;
}

inline pp::header header_of(const bytes& b) {
  pp::header h;
  REQUIRE_FALSE(pp::decode_header(b, 1 << 20, h));
  return h;
}

inline std::error_code feed(pn::engine& e, const pn::link_summary& l, const bytes& b, ms now, pn::actions& out) {
  return e.on_frame(l, header_of(b), view(b), now, out);
}

inline pp::presence_entry presence_of(pg::node_id node, std::uint32_t version, std::uint16_t port = 4100) {
  pp::presence_entry p;
  p.node_id = node;
  p.peer_id = "peer-" + std::to_string(node);
  p.version = version;
  p.lifetime_ms = 300'000;
  p.addresses = {wire_address("198.51.100.7", port)};
  return p;
}

template <typename E>
std::vector<E> events_of(pn::actions& a) {
  std::vector<E> out;
  for (auto& ev : a.events())
    if (auto* e = std::get_if<E>(&ev)) out.push_back(*e);
  return out;
}

}  // namespace pgtest

#endif  // PEERGRAPH_TESTS_SUPPORT_ENGINE_RIG_HPP
