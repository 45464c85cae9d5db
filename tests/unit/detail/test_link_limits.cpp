// Unit tests for the bounds a link keeps on what a peer can make it hold:
// the graph's receive budget for messages in transit, and the graph-level
// part of the outgoing queue (docs/limits.md).
#include "support/bytes.hpp"
#include <peergraph/detail/link/control_backlog.hpp>
#include <peergraph/detail/link/frame_reader.hpp>
#include <peergraph/detail/link/receive_budget.hpp>
#include <peergraph/protocol/pt2pt.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <optional>
#include <random>

namespace pg = peergraph;
namespace pp = peergraph::protocol;
namespace pl = peergraph::detail::link;
using namespace pgtest;

namespace {

// A reader that has begun a large message announcing `announced` bytes,
// with `first` of them arrived along with the header.
void begin(pl::frame_reader& r, std::size_t announced, std::size_t first) {
  bytes head;
  pp::encode_pt2pt_header(pg::guid::from_fields(1, 2, 3, {4, 5, 6, 7, 8, 9, 10, 11}), 0, head);
  put32(head, 0, static_cast<std::uint32_t>(pp::pt2pt_header_size + announced));
  head.resize(head.size() + first, 0x5A);
  auto room = r.prepare();
  std::memcpy(room.data(), head.data(), head.size());
  r.commit(head.size());
  REQUIRE(r.next(64u << 20, true).kind == pl::frame_reader::step::large);
}

// Feeds the large message until it completes or the budget says no.
bool fill(pl::frame_reader& r) {
  while (true) {
    auto rest = r.large_rest();
    if (rest.size() == 0) return false;
    std::memset(rest.data(), 1, rest.size());
    if (r.large_commit(rest.size())) return true;
  }
}

}  // namespace

TEST_CASE("receive budget: takes within the limit, gives back, forced takes count", "[link][limits]") {
  pl::receive_budget b(1000);
  CHECK(b.take(600));
  CHECK_FALSE(b.take(401));
  CHECK(b.take(400));
  CHECK(b.used() == 1000u);
  b.give(1000);
  b.force(1500);           // memory already spent counts, even past the limit...
  CHECK_FALSE(b.take(1));  // ...and nothing more is taken until it is given back
  b.give(1500);
  CHECK(b.take(1000));
}

TEST_CASE("frame readers of one graph share the receive budget for messages in transit", "[link][reader][limits]") {
  pl::receive_budget budget(1u << 20);
  std::optional<pl::frame_reader> a(std::in_place, 4096, &budget), b(std::in_place, 4096, &budget);
  begin(*a, 900 * 1024, 100);
  begin(*b, 900 * 1024, 100);
  CHECK(budget.used() == 200u);
  // Together they cannot hold 1.8 MiB: the second to need more than is left is told so.
  std::size_t got_a = 0;
  for (;;) {
    auto rest = a->large_rest();
    REQUIRE(rest.size() > 0u);  // a alone fits
    if (a->large_commit(rest.size())) break;
    got_a += rest.size();
    if (got_a > 512 * 1024) break;  // a is half way
  }
  CHECK_FALSE(fill(*b));
  CHECK(budget.used() <= budget.limit());
  // b's link ends: what it held goes back, and a completes.
  b.reset();
  CHECK(fill(*a));
  pg::guid type;
  CHECK(a->take_large(type).size() == 900u * 1024);
  CHECK(budget.used() == 0u);
}

TEST_CASE("a frame read through the buffer grows it only as its bytes arrive", "[link][reader][limits]") {
  pl::frame_reader r(4096);
  bytes head = {0, 0, 0, 0, 0x10, static_cast<std::uint8_t>(pp::message_type::flood)};
  put32(head, 0, 16u << 20);  // a FLOOD announcing 16 MiB
  auto room = r.prepare();
  std::memcpy(room.data(), head.data(), head.size());
  r.commit(head.size());
  CHECK(r.next(32u << 20, true).kind == pl::frame_reader::step::need_more);
  CHECK(r.prepare().size() < 64u * 1024);
}

TEST_CASE("control backlog: counts graph-level bytes until they are written, exactly", "[link][limits]") {
  pl::control_backlog c;
  // Output stream: 100 app bytes, 50 control, 1000 app, 20 control + 30 control (one run).
  c.queued(50, 150);
  c.queued(20, 1170);
  c.queued(30, 1200);
  CHECK(c.bytes() == 100u);
  c.written(100);  // app bytes only
  CHECK(c.bytes() == 100u);
  c.written(140);  // 40 of the first run
  CHECK(c.bytes() == 60u);
  c.written(1000);
  CHECK(c.bytes() == 50u);
  c.written(1180);
  CHECK(c.bytes() == 20u);
  c.written(1200);
  CHECK(c.bytes() == 0u);

  // Against a model: random interleavings of app data, control frames and writes.
  std::mt19937 rng(5);
  pl::control_backlog m;
  std::vector<bool> is_control;  // one entry per byte of the stream
  std::uint64_t written = 0;
  for (int step = 0; step < 2000; ++step) {
    const auto n = 1 + rng() % 50;
    if (rng() % 3 == 0) {
      written = std::min<std::uint64_t>(is_control.size(), written + rng() % 120);
      m.written(written);
    } else {
      const bool control = rng() % 2 == 0;
      is_control.insert(is_control.end(), n, control);
      if (control) m.queued(n, is_control.size());
    }
    std::size_t expected = 0;
    for (std::size_t i = written; i < is_control.size(); ++i) expected += is_control[i];
    REQUIRE(m.bytes() == expected);
  }
}
