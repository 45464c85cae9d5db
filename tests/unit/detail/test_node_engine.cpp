// Unit tests for detail/node/: the node engine and its policies, driven with
// link summaries, frames and plain millisecond counts. No socket, no executor.
#include "support/bytes.hpp"
#include "support/engine_rig.hpp"
#include <peergraph/detail/node/engine.hpp>
#include <peergraph/detail/random.hpp>
#include <peergraph/protocol/frame.hpp>
#include <peergraph/protocol/messages.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <string>
#include <vector>

namespace pg = peergraph;
namespace pp = peergraph::protocol;
namespace pn = peergraph::detail::node;
using namespace std::chrono_literals;
using namespace pgtest;

TEST_CASE("a new neighbor link asks for a synchronization and is reported in the status", "[node][sync]") {
  auto e = creator();
  auto l = neighbor(7, 0xB0B);
  e.state().add_link(l);
  pn::actions a;
  e.on_link_established(l, 0ms, a);
  // A SOLICIT_NEW for that link, then the node's presence (published with
  // its first link, addresses or not) for every neighbor.
  REQUIRE(a.frames().size() == 2u);
  CHECK_FALSE(a.frames()[0].to_all_neighbors);
  CHECK(a.frames()[0].link == 7u);
  const auto f = frames_of(a, a.frames()[0]);
  REQUIRE(f.size() == 1u);
  CHECK(f[0].h.type == pp::message_type::solicit_new);
  CHECK(a.frames()[1].to_all_neighbors);
  CHECK(frames_of(a, a.frames()[1]).at(0).h.type == pp::message_type::flood);
  const auto st = events_of<pg::status_changed_event>(a);
  REQUIRE(st.size() == 1u);
  CHECK(st[0].status.has_neighbors());
  CHECK(e.state().neighbor_count() == 1u);
  CHECK(e.stats().solicits_sent == 1u);
}

TEST_CASE("a solicit is answered with graph information, presence and SYNC_END", "[node][sync]") {
  auto e = creator();
  const auto local = endpoint("192.0.2.1", 4000);
  pn::actions a;
  e.listening(local, 0ms, a);  // publishes presence (nobody to flood it to yet)
  CHECK(a.frames().empty());
  auto l = neighbor(1, 0xB0B);
  e.state().add_link(l);
  e.on_link_established(l, 0ms, a);
  a.clear();
  REQUIRE_FALSE(feed(e, l, encoded(pp::solicit_new{}), 10ms, a));
  REQUIRE(a.frames().size() == 1u);
  const auto f = frames_of(a, a.frames()[0]);
  REQUIRE(f.size() == 3u);
  pp::flood info, own;
  REQUIRE_FALSE(pp::decode(view(f[0].data), info));
  REQUIRE_FALSE(pp::decode(view(f[1].data), own));
  CHECK(f[2].h.type == pp::message_type::sync_end);
  REQUIRE(std::holds_alternative<pp::graph_info>(info.record));
  CHECK(std::get<pp::graph_info>(info.record).friendly_name == "unit");
  CHECK(info.sync);
  REQUIRE(std::holds_alternative<pp::presence_entry>(own.record));
  const auto& p = std::get<pp::presence_entry>(own.record);
  CHECK(p.node_id == e.state().id());
  CHECK(p.addresses == std::vector<pp::address>{wire_address("192.0.2.1", 4000)});
}

TEST_CASE("repeated solicits get a few answers per link, then one per refill period", "[node][sync][limits]") {
  using allowance = pn::request_allowance;
  auto e = creator();
  auto l1 = neighbor(1, 0xB0B), l2 = neighbor(2, 0xCA7);
  bring_up(e, l1);
  bring_up(e, l2);
  pn::actions a;
  auto answers = [&](const pn::link_summary& l, int requests, ms now) {
    a.clear();
    for (int i = 0; i < requests; ++i) REQUIRE_FALSE(feed(e, l, encoded(pp::solicit_new{}), now, a));
    return a.frames().size();
  };
  // One write of 16 requests: the burst is answered, the rest is not.
  CHECK(answers(l1, 16, 10ms) == static_cast<std::size_t>(allowance::burst));
  CHECK(e.stats().solicits_answered == static_cast<std::uint64_t>(allowance::burst));
  CHECK(e.stats().solicits_ignored == 16u - allowance::burst);
  // Another link has its own allowance.
  CHECK(answers(l2, 1, 10ms) == 1u);
  // One more per refill period, not more.
  CHECK(answers(l1, 3, 10ms + allowance::refill) == 1u);
  CHECK(answers(l1, 1, 10ms + allowance::refill + 1ms) == 0u);
  // A long quiet spell earns the burst back, no more.
  CHECK(answers(l1, 16, 10ms + 100 * allowance::refill) == static_cast<std::size_t>(allowance::burst));
  // A link that ends is forgotten; a new link with that id starts afresh.
  e.on_link_closed(l1, true, nullptr, 20ms, a);
  bring_up(e, l1);
  CHECK(answers(l1, 1, 10ms + 100 * allowance::refill) == 1u);
}

TEST_CASE("an opened node is synchronized at its first SYNC_END and adopts the graph information", "[node][sync]") {
  auto e = joiner();
  CHECK_FALSE(e.state().synchronized());
  auto l = neighbor(1, 0xA11CE);
  bring_up(e, l);
  pn::actions a;
  pp::graph_info g;
  g.version = 3;
  g.creator_id = "alice";
  g.comment = "from the creator";
  g.presence_lifetime_s = 600;
  REQUIRE_FALSE(feed(e, l, encoded(pp::flood{true, g}), 1ms, a));
  CHECK(e.state().properties().comment == "from the creator");
  CHECK(e.state().properties_version() == 3u);
  CHECK(e.tick_period() == 1000ms);
  // An older record changes nothing.
  g.version = 2;
  g.comment = "stale";
  REQUIRE_FALSE(feed(e, l, encoded(pp::flood{false, g}), 2ms, a));
  CHECK(e.state().properties().comment == "from the creator");
  REQUIRE_FALSE(feed(e, l, encoded(pp::sync_end{}), 3ms, a));
  CHECK(e.state().synchronized());
  const auto st = events_of<pg::status_changed_event>(a);
  REQUIRE(st.size() == 1u);
  CHECK(st[0].status.is_synchronized());
}

TEST_CASE("a new presence record is reported and forwarded to the other neighbors only", "[node][presence]") {
  auto e = creator();
  auto from = neighbor(1, 0xB0B), other = neighbor(2, 0xCA7);
  e.state().add_link(from);
  e.state().add_link(other);
  pn::actions a;
  e.on_link_established(from, 0ms, a);
  e.on_link_established(other, 0ms, a);
  a.clear();
  const auto sent_before = e.stats().floods_sent;
  REQUIRE_FALSE(feed(e, from, encoded(pp::flood{false, presence_of(0xD00D, 1)}), 5ms, a));
  const auto changed = events_of<pg::node_changed_event>(a);
  REQUIRE(changed.size() == 1u);
  CHECK(changed[0].change == pg::node_change::connected);
  CHECK(changed[0].node.id == 0xD00Du);
  CHECK(changed[0].node.addresses == std::vector<pg::endpoint>{endpoint("198.51.100.7", 4100)});
  REQUIRE(a.frames().size() == 1u);
  CHECK(a.frames()[0].to_all_neighbors);
  CHECK(a.frames()[0].link == from.id);  // everyone but the sender
  CHECK(e.stats().floods_sent == sent_before + 1);
  // The same version again is stale: neither reported nor forwarded.
  a.clear();
  REQUIRE_FALSE(feed(e, other, encoded(pp::flood{false, presence_of(0xD00D, 1)}), 6ms, a));
  CHECK(a.empty());
  // Its withdrawal is.
  auto gone = presence_of(0xD00D, 2);
  gone.deleted = true;
  REQUIRE_FALSE(feed(e, other, encoded(pp::flood{false, gone}), 7ms, a));
  const auto left = events_of<pg::node_changed_event>(a);
  REQUIRE(left.size() == 1u);
  CHECK(left[0].change == pg::node_change::disconnected);
  const auto listed = e.presence().nodes(e.state(), std::nullopt);
  REQUIRE(listed.size() == 1u);  // the local node only
  CHECK(listed[0].id == e.state().id());
}

TEST_CASE("records expire on the tick and the own presence is refreshed at half its lifetime", "[node][presence]") {
  auto p = props();
  p.presence_lifetime_s = 2;
  pn::engine e(pn::node_state(p, "alice", true, opts(), 3));
  auto l = neighbor(1, 0xB0B);
  e.state().add_link(l);
  pn::actions a;
  e.listening(endpoint("192.0.2.1", 4000), 0ms, a);
  e.on_link_established(l, 0ms, a);
  auto rec = presence_of(0xD00D, 1);
  rec.lifetime_ms = 1500;
  REQUIRE_FALSE(feed(e, l, encoded(pp::flood{false, rec}), 0ms, a));
  a.clear();
  e.tick(999ms, a);
  CHECK(a.empty());   // nothing due yet
  e.tick(1000ms, a);  // half of 2 s: the own presence goes out again
  REQUIRE(a.frames().size() == 1u);
  a.clear();
  e.tick(1600ms, a);
  const auto gone = events_of<pg::node_changed_event>(a);
  REQUIRE(gone.size() == 1u);
  CHECK(gone[0].change == pg::node_change::disconnected);
  CHECK(gone[0].node.id == 0xD00Du);
}

TEST_CASE("the responder policy refuses duplicates, a full node and unwanted direct links", "[node][policy]") {
  auto o = opts();
  o.max_neighbors = 2;
  auto e = creator(o);
  auto n1 = neighbor(1, 0xB0B, 4001), n2 = neighbor(2, 0xCA7, 4002);
  e.state().add_link(n1);
  pn::actions a;
  e.on_link_established(n1, 0ms, a);
  pn::link_summary incoming;
  incoming.id = 9;
  incoming.remote_ep = endpoint("192.0.2.2", 50100);  // the neighbors' address too
  e.state().add_link(incoming);
  pp::connect req;
  req.source_node_id = 0xB0B;
  CHECK(e.decide(incoming, req, true).refuse == pp::refuse_code::duplicate_connection);
  req.source_node_id = 0xF00;
  CHECK_FALSE(e.decide(incoming, req, true).refuse);
  e.state().add_link(n2);
  e.on_link_established(n2, 0ms, a);
  const auto full = e.decide(incoming, req, true);
  CHECK(full.refuse == pp::refuse_code::busy);
  CHECK_FALSE(full.evict);  // one address: nobody is evicted for it
  CHECK(e.stats().busy_refusals == 1u);
  req.direct = true;
  CHECK(e.decide(incoming, req, false).refuse == pp::refuse_code::direct_connection_disallowed);
  CHECK_FALSE(e.decide(incoming, req, true).refuse);
  // Referrals name the other neighbors, never the requester.
  const auto refs = e.referrals(n1);
  CHECK(refs == std::vector<pg::endpoint>{endpoint("192.0.2.2", 4002)});
  CHECK(e.referrals(incoming).size() == 2u);
}

TEST_CASE("a full node gives a slot to another address when one address holds the most", "[node][policy][limits]") {
  auto o = opts();
  o.max_neighbors = 4;
  auto e = creator(o);
  // Four neighbors from one address: two accepted, two this node dialled.
  std::vector<pn::link_summary> held;
  held.reserve(4);  // the engine keeps pointers to the summaries
  for (pg::connection_id id = 1; id <= 4; ++id) {
    auto& n = held.emplace_back(neighbor(id, 0x100 + id));
    n.remote_ep = endpoint("203.0.113.9", static_cast<std::uint16_t>(40000 + id));
    n.initiator = id <= 2;
    bring_up(e, n);
  }
  auto from = [](pg::connection_id id, const char* addr) {
    pn::link_summary l;
    l.id = id;
    l.remote_ep = endpoint(addr, 50000);
    return l;
  };
  pp::connect req;
  req.source_node_id = 0xF00;
  // A newcomer from another address: a link the node accepted from the
  // crowded address goes.
  auto other = from(10, "198.51.100.1");
  const auto d = e.decide(other, req, true);
  CHECK_FALSE(d.refuse);
  REQUIRE(d.evict);
  CHECK((*d.evict == 3u || *d.evict == 4u));
  CHECK(e.stats().neighbors_evicted == 1u);
  // A newcomer from the crowded address itself is refused, as before.
  CHECK(e.decide(from(11, "203.0.113.9"), req, true).refuse == pp::refuse_code::busy);
  // Balanced enough (3 against 1 after one eviction, 2 against 2 after two): no more.
  pn::actions a;
  e.on_link_closed(held[2], true, nullptr, 0ms, a);
  other.established = true;
  other.kind = pg::connection_kind::neighbor;
  other.remote_node = 0xF00;
  bring_up(e, other);
  req.source_node_id = 0xF01;
  const auto second = e.decide(from(12, "198.51.100.1"), req, true);
  REQUIRE(second.evict);  // 3 against 1
  e.on_link_closed(held[*second.evict - 1], true, nullptr, 0ms, a);
  auto third = from(12, "198.51.100.1");
  third.established = true;
  third.kind = pg::connection_kind::neighbor;
  third.remote_node = 0xF01;
  bring_up(e, third);
  req.source_node_id = 0xF02;
  const auto fourth = e.decide(from(13, "198.51.100.1"), req, true);  // 2 against 2
  CHECK(fourth.refuse == pp::refuse_code::busy);
  CHECK_FALSE(fourth.evict);
}

TEST_CASE("referrals are at most ten", "[node][policy]") {
  auto e = creator();
  std::vector<pn::link_summary> links;
  links.reserve(15);
  pn::actions a;
  for (int i = 0; i < 15; ++i) {
    links.push_back(neighbor(static_cast<pg::connection_id>(i + 1), static_cast<pg::node_id>(100 + i),
                             static_cast<std::uint16_t>(5000 + i)));
    e.state().add_link(links.back());
    e.on_link_established(links.back(), 0ms, a);
  }
  pn::link_summary someone;
  someone.id = 99;
  const auto refs = e.referrals(someone);
  CHECK(refs.size() == pn::max_referrals);
  CHECK(std::set<pg::endpoint>(refs.begin(), refs.end()).size() == refs.size());
}

TEST_CASE("maintenance dials known nodes up to the target and follows BUSY referrals", "[node][maintenance]") {
  auto o = opts();
  o.auto_connect = true;
  o.target_neighbors = 2;
  o.max_referral_hops = 1;
  auto e = creator(o);
  auto l = neighbor(1, 0xB0B);
  e.state().add_link(l);
  pn::actions a;
  e.on_link_established(l, 0ms, a);
  for (pg::node_id n : {0xD1, 0xD2, 0xD3})
    REQUIRE_FALSE(
        feed(e, l, encoded(pp::flood{false, presence_of(n, 1, static_cast<std::uint16_t>(4000 + n))}), 0ms, a));
  a.clear();
  REQUIRE_FALSE(feed(e, l, encoded(pp::sync_end{}), 1ms, a));
  REQUIRE(a.dials().size() == 1u);  // one neighbor already, target two
  const auto d = a.dials()[0];
  CHECK(d.node >= 0xD1u);
  CHECK(d.hops == 0u);
  CHECK(d.id != 0u);
  CHECK(e.upkeep().pending() == 1u);
  // While that dial is pending, nothing more is started.
  a.clear();
  e.tick(10'000ms, a);
  CHECK(a.dials().empty());
  // It was refused BUSY with a referral: one hop is followed, not two.
  pn::link_summary dialled;
  dialled.id = d.id;
  dialled.kind = pg::connection_kind::neighbor;
  e.state().add_link(dialled);
  pp::refuse busy{pp::refuse_code::busy, {wire_address("203.0.113.4", 7000)}};
  e.on_link_closed(dialled, false, &busy, 10'001ms, a);
  e.upkeep().dial_done(d.id, d.node);
  REQUIRE(a.dials().size() == 1u);
  const auto hop = a.dials()[0];
  CHECK(hop.address == endpoint("203.0.113.4", 7000));
  CHECK(hop.hops == 1u);
  a.clear();
  pn::link_summary hopped;
  hopped.id = hop.id;
  e.state().add_link(hopped);
  e.on_link_closed(hopped, false, &busy, 10'002ms, a);
  CHECK(a.dials().empty());
  CHECK(e.stats().referrals_followed == 1u);
}

TEST_CASE("losing the last neighbor asks for a connection", "[node][maintenance]") {
  auto e = creator();
  auto l = neighbor(1, 0xB0B);
  bring_up(e, l);
  pn::actions a;
  e.on_link_closed(l, true, nullptr, 5ms, a);
  CHECK(events_of<pg::connection_required_event>(a).size() == 1u);
  const auto st = events_of<pg::status_changed_event>(a);
  REQUIRE(st.size() == 1u);
  CHECK_FALSE(st[0].status.has_neighbors());
  CHECK(e.state().neighbor_count() == 0u);
}

TEST_CASE("two links to one node: the link the smaller node id dialled stays", "[node][policy]") {
  auto e = creator();
  auto existing = neighbor(1, e.state().id() + 1);  // the remote's id is larger
  e.state().add_link(existing);
  pn::actions a;
  e.on_link_established(existing, 0ms, a);
  pn::link_summary welcomed = neighbor(2, existing.remote_node);
  welcomed.established = false;
  e.state().add_link(welcomed);
  a.clear();
  CHECK(e.keep_welcomed(welcomed, a));  // this node's id is smaller: its own dial stays
  REQUIRE(a.ends().size() == 1u);
  CHECK(a.ends()[0].link == existing.id);
  CHECK(a.ends()[0].reason == pg::errc::already_exists);

  auto e2 = creator();
  auto big = neighbor(1, e2.state().id() - 1);  // the remote's id is smaller
  e2.state().add_link(big);
  e2.on_link_established(big, 0ms, a);
  pn::link_summary mine = neighbor(2, big.remote_node);
  mine.established = false;
  e2.state().add_link(mine);
  a.clear();
  CHECK_FALSE(e2.keep_welcomed(mine, a));
  CHECK(a.ends().empty());
}

TEST_CASE("only the creator changes the properties; the change floods", "[node][properties]") {
  auto e = creator();
  auto l = neighbor(1, 0xB0B);
  bring_up(e, l);
  pn::actions a;
  auto p = e.state().properties();
  p.comment = "new";
  p.presence_max = 4;
  REQUIRE_FALSE(e.set_properties(p, 1ms, a));
  CHECK(e.state().properties_version() == 2u);
  REQUIRE(a.frames().size() >= 1u);
  pp::flood f;
  const auto fr = frames_of(a, a.frames()[0]);
  REQUIRE_FALSE(pp::decode(view(fr[0].data), f));
  REQUIRE(std::holds_alternative<pp::graph_info>(f.record));
  CHECK(std::get<pp::graph_info>(f.record).comment == "new");
  CHECK(std::get<pp::graph_info>(f.record).version == 2u);

  auto j = joiner();
  pn::actions b;
  CHECK(j.set_properties(p, 0ms, b) == pg::errc::graph_not_ready);
  auto jl = neighbor(1, e.state().id());
  j.state().add_link(jl);
  j.on_link_established(jl, 0ms, b);
  REQUIRE_FALSE(feed(j, jl, fr[0].data, 1ms, b));
  REQUIRE_FALSE(feed(j, jl, encoded(pp::sync_end{}), 1ms, b));
  CHECK(j.state().properties().comment == "new");
  CHECK(j.set_properties(p, 2ms, b) == pg::errc::access_denied);

  // A newer record naming another creator is not taken ([MS-PPGRH] 2.2.3.1).
  auto forged = std::get<pp::graph_info>(f.record);
  forged.creator_id = "mallory";
  forged.version = 100;
  forged.presence_max = 0;
  b.clear();
  REQUIRE_FALSE(feed(j, jl, encoded(pp::flood{false, forged}), 3ms, b));
  CHECK(j.state().properties().creator_id == "alice");
  CHECK(j.state().properties().presence_max == 4);
  CHECK(j.state().properties_version() == 2u);
  CHECK(j.stats().records_refused == 1u);
  CHECK(b.frames().empty());  // and not forwarded
}

TEST_CASE("closing withdraws the presence; a closed node takes nothing", "[node][close]") {
  auto e = creator();
  auto l = neighbor(1, 0xB0B);
  e.state().add_link(l);
  pn::actions a;
  e.listening(endpoint("192.0.2.1", 4000), 0ms, a);
  e.on_link_established(l, 0ms, a);
  a.clear();
  e.close(a);
  REQUIRE(a.frames().size() == 1u);
  pp::flood f;
  const auto fr = frames_of(a, a.frames()[0]);
  REQUIRE_FALSE(pp::decode(view(fr[0].data), f));
  CHECK(std::get<pp::presence_entry>(f.record).deleted);
  a.clear();
  CHECK(feed(e, l, encoded(pp::solicit_new{}), 1ms, a) == pp::error::unexpected_message);
  e.on_link_closed(l, true, nullptr, 1ms, a);
  CHECK(a.empty());  // no connection_required once closed
  CHECK(e.set_attributes("x", 1ms, a) == pg::errc::invalid_graph);
  std::error_code ec;
  e.get_node_info(0, ec);
  CHECK(ec == pg::errc::invalid_graph);
}

TEST_CASE("graph-level traffic on a direct link or of the wrong kind ends the link", "[node][bad-input]") {
  auto e = creator();
  auto direct = neighbor(1, 0xB0B);
  direct.kind = pg::connection_kind::direct;
  e.state().add_link(direct);
  pn::actions a;
  CHECK(feed(e, direct, encoded(pp::solicit_new{}), 0ms, a) == pp::error::unexpected_message);
  auto l = neighbor(2, 0xCA7);
  e.state().add_link(l);
  bytes welcome;
  pp::encode(pp::welcome{1, 0, {}, "x", ""}, welcome);
  CHECK(feed(e, l, welcome, 0ms, a) == pp::error::unexpected_message);
  auto bad = encoded(pp::flood{false, presence_of(0xD00D, 1)});
  bad.resize(bad.size() - 1);
  put32(bad, 0, static_cast<std::uint32_t>(bad.size()));
  CHECK(feed(e, l, bad, 0ms, a));
}

TEST_CASE("node ids come from 64 bits of the kernel's generator: no two alike", "[node][ids]") {
  // With 32-bit seeds (or a biased source) a few thousand nodes already
  // share ids; here 200,000 draws must all differ.
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 200'000; ++i) seen.insert(peergraph::detail::os_random64());
  CHECK(seen.size() == 200'000u);
  std::set<pg::node_id> ids;
  for (int i = 0; i < 2'000; ++i)
    ids.insert(pn::node_state(props(), "n", false, opts(), peergraph::detail::os_random64()).id());
  CHECK(ids.size() == 2'000u);
}
