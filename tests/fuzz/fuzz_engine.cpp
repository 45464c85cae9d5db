// libFuzzer harness: the node engine (detail/node/) fed graph-level traffic.
//
// Two neighbor links; the input is a sequence of steps. Each step's first
// byte picks the link (bit 0), whether time advances and the engine ticks
// (bit 1, by up to 64 s in the next byte's steps of 250 ms), and whether the
// link is replaced by a new one first (bit 2); then one frame follows,
// cut with next_frame. Frames the engine refuses end their link, as
// graph_impl does. The presence table is small so that it fills up.
// Invariants: the table never holds more live records or bytes than its
// limits, and the engine's own bookkeeping stays consistent.
#include <peergraph/detail/node/engine.hpp>
#include <peergraph/protocol/frame.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <span>

namespace pg = peergraph;
namespace pp = peergraph::protocol;
namespace pn = peergraph::detail::node;
using ms = std::chrono::milliseconds;

namespace {

constexpr std::size_t table_limit = 32;
constexpr std::size_t table_bytes = 8 * 1024;

pn::engine make_engine() {
  pg::graph_properties p;
  p.graph_id = "g";
  p.creator_id = "alice";
  pg::graph_options o;
  o.auto_connect = false;
  o.max_presence_entries = table_limit;
  o.max_presence_bytes = table_bytes;
  return pn::engine(pn::node_state(p, "alice", true, o, 1));
}

pn::link_summary link(pg::connection_id id) {
  pn::link_summary l;
  l.id = id;
  l.kind = pg::connection_kind::neighbor;
  l.established = true;
  l.remote_node = 0x1000 + id;
  l.remote_peer = "peer";
  l.remote_ep = {asio::ip::make_address("192.0.2.2"), static_cast<std::uint16_t>(1000 + id)};
  return l;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto e = make_engine();
  pn::actions out;
  std::array<pn::link_summary, 2> links{link(1), link(2)};
  pg::connection_id next_id = 3;
  for (auto& l : links) {
    e.state().add_link(l);
    e.on_link_established(l, ms(0), out);
  }
  ms now{0};
  std::span<const std::uint8_t> in(data, size);
  while (in.size() >= 2) {
    const std::uint8_t ctl = in[0];
    const std::uint8_t arg = in[1];
    in = in.subspan(2);
    auto& l = links[ctl & 1];
    out.clear();
    if (ctl & 4) {
      e.on_link_closed(l, true, nullptr, now, out);
      l = link(next_id++);
      e.state().add_link(l);
      e.on_link_established(l, now, out);
    }
    if (ctl & 2) {
      now += ms(250) * arg;
      e.tick(now, out);
    }
    const auto fr = pp::next_frame(in, 1u << 16);
    if (fr.status != pp::frame_result::complete) break;
    if (e.on_frame(l, fr.h, in.first(fr.h.size), now, out)) {
      e.on_link_closed(l, true, nullptr, now, out);
      l = link(next_id++);
      e.state().add_link(l);
      e.on_link_established(l, now, out);
    }
    in = in.subspan(fr.h.size);
    if (e.presence().table().live() > table_limit) std::abort();
    if (e.presence().table().bytes() > table_bytes) std::abort();
    if (e.state().neighbor_count() != links.size()) std::abort();
  }
  return 0;
}
