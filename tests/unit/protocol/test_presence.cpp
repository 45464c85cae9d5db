// Unit tests for peergraph/protocol/presence.hpp (FLOOD, SOLICIT_NEW,
// SYNC_END, ACK) and peergraph/protocol/presence_table.hpp (versioning,
// expiry, tombstones, caps). No sockets, no clock.
#include "support/bytes.hpp"
#include <peergraph/protocol/presence.hpp>
#include <peergraph/protocol/presence_table.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace pp = peergraph::protocol;
using pp::error;
using namespace std::chrono_literals;

using namespace pgtest;
const auto ep = wire_address;

namespace {

pp::presence_entry sample(std::uint64_t node = 0x1122334455667788ull, std::uint32_t version = 3) {
  pp::presence_entry e;
  e.node_id = node;
  e.peer_id = "alice";
  e.version = version;
  e.lifetime_ms = 1500;
  e.addresses = {ep("::1", 4000), ep("127.0.0.1", 4001)};
  e.attributes = "role=seed";
  return e;
}

bytes encoded(const pp::flood& f) {
  bytes b;
  pp::encode(f, b);
  return b;
}

}  // namespace

TEST_CASE("FLOOD with a presence record: round trip and layout", "[presence][wire]") {
  pp::flood f{false, sample()};
  auto b = encoded(f);
  REQUIRE(b.size() == 8 + 4 + 16 + 28 + 2 * 20 + 5 + 9);
  CHECK(get32(b, 0) == b.size());
  CHECK(b[5] == 0x0B);
  CHECK(get16(b, 8) == 12);
  CHECK(b[10] == 0);  // not a sync answer
  CHECK(b[12] == 0x00);
  CHECK(b[13] == 0x04);  // {00000400-...} little-endian Data1
  CHECK(get32(b, 28) == 0x55667788u);
  CHECK(get32(b, 36) == 3);  // version
  CHECK(get32(b, 40) == 0);  // flags
  CHECK(get32(b, 44) == 1500);
  CHECK(b[48] == 2);         // address count
  CHECK(get16(b, 50) == 5);  // peer id length
  CHECK(get16(b, 52) == 9);  // attributes length
  CHECK(get16(b, 56) == 0x0017);

  pp::flood back;
  REQUIRE_FALSE(pp::decode(view(b), back));
  CHECK(back == f);

  pp::flood sync_del{true, sample()};
  std::get<pp::presence_entry>(sync_del.record).deleted = true;
  auto d = encoded(sync_del);
  CHECK(d[10] == 0x01);
  CHECK(get32(d, 40) == 0x02);
  REQUIRE_FALSE(pp::decode(view(d), back));
  CHECK(back == sync_del);
}

TEST_CASE("FLOOD with the graph information record round-trips", "[presence][wire]") {
  pp::graph_info g;
  g.version = 1;
  g.scope = 4;
  g.presence_lifetime_s = 2;
  g.presence_max = 5;
  g.creator_id = "carol";
  g.friendly_name = "Friends";
  g.comment = "a comment";
  g.flags = 0x2;
  pp::flood f{true, g};
  auto b = encoded(f);
  pp::flood back;
  REQUIRE_FALSE(pp::decode(view(b), back));
  CHECK(back == f);
  CHECK(std::get<pp::graph_info>(back.record).presence_max == 5);
  CHECK(std::get<pp::graph_info>(back.record).flags == 0x2);
}

TEST_CASE("FLOOD rejects malformed records without reading past the frame", "[presence][wire]") {
  const auto good = encoded(pp::flood{false, sample()});
  pp::flood out;

  SECTION("every truncation") {
    for (std::size_t n = 8; n < good.size(); ++n) {
      bytes t(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
      put16(t, 0, static_cast<std::uint16_t>(n));
      t[2] = t[3] = 0;
      CHECK(pp::decode(view(t), out));
    }
  }
  SECTION("one field wrong at a time") {
    // Byte offsets in the frame: header 8, record offset and flags 4, type
    // 16, then the presence body (node id at 28, version 36, flags 40,
    // address count 48, peer id length 50, attribute length 52).
    struct mutation {
      const char* what;
      std::function<void(bytes&)> apply;
      std::error_code expected;
    };
    const auto peer_at = good.size() - 9 - 5;
    const mutation mutations[] = {
        {"trailing bytes",
         [](bytes& t) {
           t.push_back(0);
           put16(t, 0, static_cast<std::uint16_t>(t.size()));
         },
         error::malformed_message},
        {"an address count larger than the frame", [](bytes& t) { t[48] = 200; }, error::malformed_message},
        {"a huge attribute length", [](bytes& t) { put16(t, 52, 0xFFFF); }, error::malformed_message},
        {"node id zero", [](bytes& t) { std::fill(t.begin() + 28, t.begin() + 36, 0); }, error::malformed_message},
        {"version zero", [](bytes& t) { std::fill(t.begin() + 36, t.begin() + 40, 0); }, error::malformed_message},
        {"unknown presence flags", [](bytes& t) { t[40] = 0x10; }, error::malformed_message},
        {"unknown FLOOD flags", [](bytes& t) { t[10] = 0x80; }, error::malformed_message},
        {"a NUL in the peer id", [peer_at](bytes& t) { t[peer_at + 1] = 0; }, error::malformed_message},
        {"an unknown record type", [](bytes& t) { t[12] = 0x99; }, error::malformed_message},
        {"the wrong message type", [](bytes& t) { t[5] = 0x0C; }, error::unexpected_message},
    };
    for (const auto& m : mutations) {
      INFO(m.what);
      auto t = good;
      m.apply(t);
      CHECK(pp::decode(view(t), out) == m.expected);
    }
  }
}

TEST_CASE("FLOOD decoding survives random corruption", "[presence][wire]") {
  const auto good = encoded(pp::flood{false, sample()});
  std::mt19937 rng(7);
  for (int i = 0; i < 5000; ++i) {
    auto t = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) t[8 + rng() % (t.size() - 8)] = static_cast<std::uint8_t>(rng());
    pp::flood out;
    if (!pp::decode(view(t), out)) {
      const auto& p = std::get<pp::presence_entry>(out.record);
      CHECK(p.addresses.size() <= pp::max_presence_addresses);
      CHECK(p.attributes.size() <= pp::max_attributes_size);
    }
  }
}

TEST_CASE("SOLICIT_NEW, SYNC_END and ACK", "[presence][wire]") {
  bytes s;
  pp::encode(pp::solicit_new{}, s);
  CHECK(s.size() == 12);
  CHECK(s[5] == 0x06);
  pp::solicit_new sn;
  CHECK_FALSE(pp::decode(view(s), sn));
  // A type list that claims more GUIDs than the frame holds.
  s[8] = 1;
  CHECK(pp::decode(view(s), sn) == error::malformed_message);

  bytes e;
  pp::encode(pp::sync_end{}, e);
  CHECK(e.size() == 12);
  CHECK(e[5] == 0x0C);
  CHECK(e[8] == 0x01);
  pp::sync_end se;
  CHECK_FALSE(pp::decode(view(e), se));
  e[8] = 0;
  CHECK(pp::decode(view(e), se) == error::malformed_message);

  bytes a = {0, 0, 0, 0, 0x10, 0x0E, 0, 0, 1, 0, 12, 0};
  a.resize(32);
  put16(a, 0, 32);
  CHECK_FALSE(pp::check_ack(view(a)));
  a[8] = 2;  // two entries in room for one
  CHECK(pp::check_ack(view(a)) == error::malformed_message);
}

// ---------------------------------------------------------------- table

TEST_CASE("presence table: new, newer, duplicate, older", "[presence][table]") {
  pp::presence_table t;
  auto e = sample(42, 1);
  auto r = t.apply(e, 0ms);
  CHECK(r.what == pp::presence_table::result::added);
  CHECK(r.forward());
  CHECK(t.live() == 1);
  REQUIRE(t.find(42));
  CHECK(t.find(42)->attributes == "role=seed");

  CHECK(t.apply(e, 10ms).what == pp::presence_table::result::stale);
  CHECK_FALSE(t.apply(e, 10ms).forward());

  auto refresh = e;
  refresh.version = 2;
  r = t.apply(refresh, 20ms);
  CHECK(r.what == pp::presence_table::result::updated);
  CHECK_FALSE(r.content_changed);
  CHECK(r.forward());

  auto changed = e;
  changed.version = 4;
  changed.attributes = "role=relay";
  r = t.apply(changed, 30ms);
  CHECK(r.what == pp::presence_table::result::updated);
  CHECK(r.content_changed);
  REQUIRE(r.previous);
  CHECK(r.previous->attributes == "role=seed");

  auto older = e;
  older.version = 3;
  older.attributes = "old";
  CHECK(t.apply(older, 40ms).what == pp::presence_table::result::stale);
  CHECK(t.find(42)->attributes == "role=relay");
}

TEST_CASE("presence table: deletion leaves a tombstone that stops resurrection", "[presence][table]") {
  pp::presence_table t(pp::presence_table::limits{100, 1000ms, 3'600'000ms});
  auto e = sample(7, 5);
  t.apply(e, 0ms);
  auto del = e;
  del.version = 6;
  del.deleted = true;
  auto r = t.apply(del, 10ms);
  CHECK(r.what == pp::presence_table::result::removed);
  REQUIRE(r.previous);
  CHECK(r.previous->peer_id == "alice");
  CHECK(t.live() == 0);
  CHECK_FALSE(t.find(7));

  // A stale live copy arriving later cannot bring the node back...
  CHECK(t.apply(e, 20ms).what == pp::presence_table::result::stale);
  CHECK_FALSE(t.find(7));
  // ...a newer version can.
  auto back = e;
  back.version = 7;
  CHECK(t.apply(back, 30ms).what == pp::presence_table::result::added);
  CHECK(t.live() == 1);

  // A deletion for a node never seen is kept and forwarded.
  auto unknown = sample(99, 2);
  unknown.deleted = true;
  r = t.apply(unknown, 40ms);
  CHECK(r.what == pp::presence_table::result::tombstone);
  CHECK(r.forward());
  CHECK(t.apply(sample(99, 1), 50ms).what == pp::presence_table::result::stale);
}

TEST_CASE("presence table: an update must keep the record's creator (peer id)", "[presence][table][limits]") {
  pp::presence_table t;
  auto e = sample(7, 1);
  REQUIRE(t.apply(e, 0ms).what == pp::presence_table::result::added);
  // Another peer cannot delete or rewrite node 7's record, whatever version it claims.
  auto forged = e;
  forged.peer_id = "mallory";
  forged.version = 0xFFFFFFFF;
  forged.deleted = true;
  auto r = t.apply(forged, 10ms);
  CHECK(r.what == pp::presence_table::result::wrong_creator);
  CHECK_FALSE(r.forward());
  forged.deleted = false;
  forged.attributes = "hijacked";
  CHECK(t.apply(forged, 20ms).what == pp::presence_table::result::wrong_creator);
  REQUIRE(t.find(7));
  CHECK(t.find(7)->attributes == e.attributes);
  CHECK(t.find(7)->version == 1u);
  // The node itself still updates and withdraws it.
  auto own = e;
  own.version = 2;
  own.deleted = true;
  CHECK(t.apply(own, 30ms).what == pp::presence_table::result::removed);
  // The tombstone keeps the creator too.
  forged.deleted = false;
  CHECK(t.apply(forged, 40ms).what == pp::presence_table::result::wrong_creator);
  CHECK_FALSE(t.find(7));
}

TEST_CASE("presence table: expiry, tombstone hold, remaining lifetime", "[presence][table]") {
  pp::presence_table t(pp::presence_table::limits{100, 500ms, 3'600'000ms});
  auto e = sample(1, 1);
  e.lifetime_ms = 1000;
  t.apply(e, 0ms);
  auto f = t.for_forwarding(1, 400ms);
  REQUIRE(f);
  CHECK(f->lifetime_ms == 600);
  CHECK(t.expire(999ms).empty());
  auto gone = t.expire(1000ms);
  REQUIRE(gone.size() == 1);
  CHECK(gone[0].node_id == 1);
  CHECK(t.live() == 0);
  CHECK(t.size() == 1);  // the tombstone
  CHECK(t.apply(e, 1100ms).what == pp::presence_table::result::stale);
  CHECK(t.expire(1499ms).empty());
  CHECK(t.size() == 1);
  t.expire(1500ms);
  CHECK(t.size() == 0);
  // Once forgotten, the old version is new again (the hold must outlast copies in flight).
  CHECK(t.apply(e, 1600ms).what == pp::presence_table::result::added);

  // Lifetimes from the wire are capped; a live entry without lifetime is refused.
  pp::presence_table capped(pp::presence_table::limits{100, 500ms, 2000ms});
  auto longlived = sample(2, 1);
  longlived.lifetime_ms = 4'000'000'000u;
  capped.apply(longlived, 0ms);
  CHECK(capped.for_forwarding(2, 0ms)->lifetime_ms == 2000);
  auto dead = sample(3, 1);
  dead.lifetime_ms = 0;
  CHECK(capped.apply(dead, 0ms).what == pp::presence_table::result::rejected);
}

TEST_CASE("presence table: the cap evicts tombstones first, then refuses the same source", "[presence][table]") {
  pp::presence_table t(pp::presence_table::limits{3, 10'000ms, 3'600'000ms});
  t.apply(sample(1, 1), 0ms);
  t.apply(sample(2, 1), 0ms);
  auto del = sample(3, 1);
  del.deleted = true;
  t.apply(del, 0ms);
  CHECK(t.size() == 3);
  CHECK(t.apply(sample(4, 1), 0ms).what == pp::presence_table::result::added);  // tombstone 3 made room
  CHECK(t.size() == 3);
  auto r = t.apply(sample(5, 1), 0ms);
  CHECK(r.what == pp::presence_table::result::no_room);
  CHECK_FALSE(r.forward());
  CHECK(t.live() == 3);
  CHECK(t.count_live_below(4) == 2);
  CHECK(t.snapshot(0ms, false).size() == 3);
}

TEST_CASE("presence table: agrees with a plain model under random adds, deletions and expiry", "[presence][table]") {
  // The model: node -> (version, deleted, expires), with the documented rules.
  struct model_entry {
    std::uint32_t version;
    bool deleted;
    std::int64_t expires;
  };
  std::map<std::uint64_t, model_entry> model;
  pp::presence_table t(pp::presence_table::limits{100'000, 300ms, 3'600'000ms});
  std::mt19937_64 rng(42);
  std::int64_t now = 0;
  for (int step = 0; step < 20'000; ++step) {
    now += static_cast<std::int64_t>(rng() % 5);
    // Few distinct nodes, so that updates, stale copies and re-adds happen.
    const std::uint64_t node = 1 + rng() % 700;
    if (rng() % 10 == 0) {
      auto gone = t.expire(std::chrono::milliseconds(now));
      std::size_t expected = 0;
      for (auto it = model.begin(); it != model.end();) {
        if (it->second.expires > now) {
          ++it;
          continue;
        }
        if (it->second.deleted) {
          it = model.erase(it);
          continue;
        }
        ++expected;
        it->second.deleted = true;
        it->second.expires = now + 300;
        ++it;
      }
      CHECK(gone.size() == expected);
      continue;
    }
    auto e = sample(node, static_cast<std::uint32_t>(1 + rng() % 8));
    e.deleted = rng() % 4 == 0;
    e.lifetime_ms = static_cast<std::uint32_t>(1 + rng() % 400);
    e.attributes = "a" + std::to_string(rng() % 3);
    const auto r = t.apply(e, std::chrono::milliseconds(now));
    auto it = model.find(node);
    if (it == model.end()) {
      CHECK(r.what == (e.deleted ? pp::presence_table::result::tombstone : pp::presence_table::result::added));
      model[node] = {e.version, e.deleted, now + (e.deleted ? 300 : e.lifetime_ms)};
    } else if (e.version <= it->second.version) {
      CHECK(r.what == pp::presence_table::result::stale);
    } else {
      CHECK(r.forward());
      it->second = {e.version, e.deleted, now + (e.deleted ? 300 : e.lifetime_ms)};
    }
  }
  std::size_t live = 0;
  for (const auto& [node, m] : model) {
    CAPTURE(node);
    live += !m.deleted;
    const auto got = t.find(node);
    CHECK(got.has_value() == !m.deleted);
    if (got) CHECK(got->version == m.version);
    const auto fwd = t.for_forwarding(node, std::chrono::milliseconds(now));
    REQUIRE(fwd);
    CHECK(fwd->version == m.version);
    CHECK(fwd->deleted == m.deleted);
    CHECK(fwd->peer_id == "alice");
  }
  CHECK(t.size() == model.size());
  CHECK(t.live() == live);
  CHECK(t.snapshot(std::chrono::milliseconds(now), true).size() == model.size());
}

TEST_CASE("presence table: a synchronization carries recent tombstones only, and a bounded number",
          "[presence][table][sync]") {
  pp::presence_table::limits l{100, 300'000ms, 3'600'000ms};
  l.sync_tombstone_window = 30'000ms;
  l.max_sync_tombstones = 3;
  pp::presence_table t(l);
  const auto remove = [&t](std::uint64_t id, std::chrono::milliseconds at) {
    auto e = sample(id, 1);
    t.apply(e, at);
    e.version = 2;
    e.deleted = true;
    REQUIRE(t.apply(e, at).what == pp::presence_table::result::removed);
  };
  t.apply(sample(1, 1), 0ms);
  t.apply(sample(2, 1), 0ms);
  remove(10, 0ms);       // long gone by the time of the answer
  remove(11, 50'000ms);  // recent
  remove(12, 51'000ms);
  remove(13, 52'000ms);
  remove(14, 53'000ms);  // four recent ones, three allowed: 11 is left out

  auto ids = t.sync_ids(60'000ms);
  REQUIRE(ids.size() == 5);
  CHECK(std::count(ids.begin(), ids.end(), 1) == 1);
  CHECK(std::count(ids.begin(), ids.end(), 2) == 1);
  CHECK(std::vector<std::uint64_t>(ids.begin() + 2, ids.end()) == std::vector<std::uint64_t>{14, 13, 12});
  // Every tombstone is still held (it stops stale copies) even when not sent.
  CHECK(t.size() == 7);
  CHECK(t.apply(sample(10, 1), 60'000ms).what == pp::presence_table::result::stale);
}
