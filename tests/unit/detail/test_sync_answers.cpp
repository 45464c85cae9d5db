// A synchronization answer is produced a part at a time, as the link drains
// (detail/node/sync_answers.hpp), and stays correct while the table changes.
#include "support/bytes.hpp"
#include "support/engine_rig.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>

using namespace pgtest;
using namespace std::chrono_literals;

namespace {

// Fills `e`'s table with `n` records of about 300 bytes, learned on link `l`.
void fill(pn::engine& e, const pn::link_summary& l, std::uint64_t n) {
  pn::actions ignored;
  for (std::uint64_t i = 1; i <= n; ++i) {
    auto p = presence_of(0x10000 + i, 1);
    p.attributes.assign(256, 'a');
    REQUIRE_FALSE(feed(e, l, encoded(pp::flood{false, p}), 1ms, ignored));
    ignored.clear();
  }
}

struct answer {
  std::set<std::uint64_t> live, deleted;
  bool ended = false;
  std::size_t parts = 0, largest = 0;
};

// Reads the frames of `a` for link `id` into `out`.
void take(const pn::actions& a, pg::connection_id id, answer& out) {
  for (const auto& f : a.frames()) {
    if (f.to_all_neighbors ? f.link == id : f.link != id) continue;
    ++out.parts;
    out.largest = std::max(out.largest, f.size);
    for (const auto& fr : frames_of(a, f)) {
      if (fr.h.type == pp::message_type::sync_end) out.ended = true;
      pp::flood fl;
      if (fr.h.type != pp::message_type::flood || pp::decode(view(fr.data), fl)) continue;
      if (const auto* p = std::get_if<pp::presence_entry>(&fl.record); p && p->node_id > 0x10000)
        (p->deleted ? out.deleted : out.live).insert(p->node_id);
    }
  }
}

bool watches(const pn::actions& a, pg::connection_id id) {
  for (const auto w : a.drain_watches())
    if (w == id) return true;
  return false;
}

}  // namespace

TEST_CASE("a large synchronization answer goes out in parts as the link drains", "[node][sync][limits]") {
  auto e = creator();
  auto source = neighbor(1, 0xB0B), asker = neighbor(2, 0xCA7);
  bring_up(e, source);
  bring_up(e, asker);
  fill(e, source, 2000);  // about 600 KB in all

  pn::actions a;
  REQUIRE_FALSE(feed(e, asker, encoded(pp::solicit_new{}), 10ms, a));
  answer got;
  take(a, asker.id, got);
  CHECK(got.parts == 1u);
  CHECK(got.largest < pn::sync_answers::chunk_bytes + 4096);
  CHECK_FALSE(got.ended);
  CHECK(watches(a, asker.id));

  // Another request while one is being produced is not answered.
  a.clear();
  REQUIRE_FALSE(feed(e, asker, encoded(pp::solicit_new{}), 11ms, a));
  CHECK(a.frames().empty());
  CHECK(e.stats().solicits_ignored == 1u);

  // Meanwhile a record is withdrawn and another one arrives.
  a.clear();
  auto gone = presence_of(0x10000 + 1999, 2);
  gone.deleted = true;
  REQUIRE_FALSE(feed(e, source, encoded(pp::flood{false, gone}), 12ms, a));
  REQUIRE_FALSE(feed(e, source, encoded(pp::flood{false, presence_of(0x10000 + 5000, 1)}), 12ms, a));
  take(a, asker.id, got);  // both are flooded to the asker as well
  const auto floods = got.parts;

  for (int step = 0; step < 100 && !got.ended; ++step) {
    a.clear();
    e.on_link_drained(asker.id, 20ms, a);
    take(a, asker.id, got);
    CHECK((got.ended || watches(a, asker.id)));
  }
  REQUIRE(got.ended);
  CHECK(got.parts - floods >= 9u);  // 600 KB in parts of 64 KiB
  CHECK(got.largest < pn::sync_answers::chunk_bytes + 4096);
  // Every record as it was, the withdrawn one maybe before its withdrawal,
  // and the newcomer (from its flood at least).
  for (std::uint64_t i = 1; i < 2000; ++i)
    if (i != 1999) CHECK(got.live.count(0x10000 + i) == 1u);
  CHECK(got.deleted.count(0x10000 + 1999) == 1u);
  CHECK(got.live.count(0x10000 + 5000) == 1u);

  // Once complete, the next request is answered again; a link that ends forgets its answer.
  a.clear();
  REQUIRE_FALSE(feed(e, asker, encoded(pp::solicit_new{}), 30ms, a));
  CHECK(watches(a, asker.id));
  e.on_link_closed(asker, true, nullptr, 31ms, a);
  a.clear();
  e.on_link_drained(asker.id, 32ms, a);
  CHECK(a.frames().empty());
}
