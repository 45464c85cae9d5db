// The presence table's room rules: what a source that floods new nodes can
// take, and what it cannot (docs/limits.md, "Presence room").
#include <peergraph/protocol/presence_table.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>

namespace pp = peergraph::protocol;
using namespace std::chrono_literals;
using res = pp::presence_table::result;

namespace {

pp::presence_entry node(std::uint64_t id, std::uint32_t version = 1, std::size_t attrs = 8) {
  pp::presence_entry e;
  e.node_id = id;
  e.peer_id = "peer-" + std::to_string(id);
  e.version = version;
  e.lifetime_ms = 60'000;
  e.attributes.assign(attrs, 'a');
  return e;
}

// What the entries held weigh, by the table's own measure.
std::size_t weigh(const pp::presence_table& t) {
  std::size_t sum = 0;
  for (const auto& e : t.snapshot(0ms, true)) sum += pp::detail::presence_slot::weight_of(e);
  return sum;
}

constexpr pp::presence_origin attacker{1, false};
constexpr pp::presence_origin relay{2, false};

}  // namespace

TEST_CASE("presence room: a source that filled the table cannot keep another's nodes out", "[presence][limits]") {
  pp::presence_table t(pp::presence_table::limits{100, 10'000ms, 3'600'000ms});
  for (std::uint64_t i = 1; i <= 100; ++i) REQUIRE(t.apply(node(1000 + i), 0ms, attacker).what == res::added);
  // Full: the attacker's next made-up node has no room...
  CHECK(t.apply(node(5000), 0ms, attacker).what == res::no_room);
  CHECK(t.size() == 100);
  // ...and renewing the ones it has gains it nothing new.
  CHECK(t.apply(node(1001, 2), 0ms, attacker).what == res::updated);

  // A node learned from another link takes one of the attacker's places.
  auto r = t.apply(node(7), 0ms, relay);
  CHECK(r.what == res::added);
  REQUIRE(r.evicted.size() == 1);
  CHECK(r.evicted[0].node_id > 1000);
  CHECK(t.find(7));
  CHECK(t.size() == 100);
  CHECK(t.live() == 100);

  // The relay's share grows until it is the heavier one; then it is refused too.
  std::size_t added = 1;
  for (std::uint64_t i = 1; i <= 100; ++i) added += t.apply(node(8000 + i), 0ms, relay).what == res::added;
  // Half the room each (peer ids differ in length, so weights do by a byte or two).
  CHECK(added >= 49);
  CHECK(added <= 52);
  const auto one = pp::detail::presence_slot::weight_of(node(20'000));
  CHECK(t.bytes_from(relay.link) >= t.bytes_from(attacker.link));
  CHECK(t.bytes_from(relay.link) - t.bytes_from(attacker.link) <= 2 * one);

  // A node announcing itself on its own link always gets in, and is never evicted.
  r = t.apply(node(9), 0ms, {3, true});
  CHECK(r.what == res::added);
  CHECK(r.evicted.size() == 1);
  // Newcomers from many other links take from the two heavy sources in turn.
  for (std::uint64_t i = 1; i <= 200; ++i) CHECK(t.apply(node(20'000 + i), 0ms, {4 + i, false}).what == res::added);
  CHECK(t.find(9));
  CHECK(t.size() == 100);
  CHECK(t.bytes_from(relay.link) + t.bytes_from(attacker.link) <= 3 * one);
  CHECK(t.bytes() == weigh(t));
}

TEST_CASE("presence room: the byte limit counts what entries carry", "[presence][limits]") {
  pp::presence_table::limits l{10'000, 10'000ms, 3'600'000ms};
  l.max_bytes = 64 * 1024;
  pp::presence_table t(l);
  // Fat records: 4 KiB of attributes each.
  std::size_t stored = 0;
  for (std::uint64_t i = 1; i <= 100; ++i) stored += t.apply(node(i, 1, 4096), 0ms, attacker).what == res::added;
  CHECK(stored < 20);
  CHECK(t.bytes() <= l.max_bytes);
  CHECK(t.bytes() == weigh(t));
  // Small records from elsewhere still fit, by pushing out fat ones.
  for (std::uint64_t i = 1; i <= 50; ++i) CHECK(t.apply(node(500 + i), 0ms, relay).what == res::added);
  CHECK(t.bytes() <= l.max_bytes);

  // An update that grows an entry past the limit from the heaviest source is refused; the old version stays.
  pp::presence_table::limits tight{10'000, 10'000ms, 3'600'000ms};
  tight.max_bytes = 4096;
  pp::presence_table u(tight);
  REQUIRE(u.apply(node(1, 1, 100), 0ms, attacker).what == res::added);
  CHECK(u.apply(node(1, 2, 8000), 0ms, attacker).what == res::no_room);
  CHECK(u.find(1)->version == 1u);
  CHECK(u.bytes() == weigh(u));
}

TEST_CASE("presence room: tombstones go first, oldest first", "[presence][limits]") {
  pp::presence_table t(pp::presence_table::limits{4, 10'000ms, 3'600'000ms});
  for (std::uint64_t i = 1; i <= 3; ++i) {
    auto d = node(i);
    d.deleted = true;
    REQUIRE(t.apply(d, std::chrono::milliseconds(i), relay).what == res::tombstone);
  }
  REQUIRE(t.apply(node(10), 5ms, relay).what == res::added);
  // The attacker, not the heaviest source, makes room; the tombstones pay, the oldest first.
  auto r = t.apply(node(11), 6ms, attacker);
  CHECK(r.what == res::added);
  CHECK(r.evicted.empty());
  CHECK(t.size() == 4);
  CHECK(t.for_forwarding(1, 6ms) == std::nullopt);
  CHECK(t.for_forwarding(2, 6ms));
}

TEST_CASE("presence room: accounting stays exact under random churn at the limit", "[presence][limits]") {
  pp::presence_table::limits l{300, 50ms, 3'600'000ms};
  l.max_bytes = 40'000;
  pp::presence_table t(l);
  std::mt19937_64 rng(7);
  std::int64_t now = 0;
  for (int step = 0; step < 30'000; ++step) {
    now += static_cast<std::int64_t>(rng() % 3);
    auto e = node(1 + rng() % 2000, static_cast<std::uint32_t>(1 + rng() % 6), rng() % 300);
    e.deleted = rng() % 5 == 0;
    e.lifetime_ms = static_cast<std::uint32_t>(1 + rng() % 200);
    const pp::presence_origin from{1 + rng() % 5, rng() % 50 == 0};
    const auto r = t.apply(e, std::chrono::milliseconds(now), from);
    if (r.what == res::no_room) {
      const auto held = t.for_forwarding(e.node_id, std::chrono::milliseconds(now));
      CHECK((!held || held->version < e.version));
    }
    if (step % 97 == 0) t.expire(std::chrono::milliseconds(now));
    REQUIRE(t.size() <= l.max_entries);
    REQUIRE(t.bytes() <= l.max_bytes);
  }
  CHECK(t.bytes() == weigh(t));
  std::size_t by_sources = 0;
  for (std::uint64_t s = 1; s <= 5; ++s) by_sources += t.bytes_from(s);
  CHECK(by_sources == t.bytes());
}
