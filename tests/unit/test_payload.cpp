// peergraph::payload (inline, heap and adopted-vector storage) and the ring
// the event queues use.
#include <peergraph/detail/ring.hpp>
#include <peergraph/payload.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <numeric>
#include <string>
#include <vector>

using peergraph::payload;
using bytes = std::vector<std::uint8_t>;

namespace {

bytes counting(std::size_t n) {
  bytes b(n);
  std::iota(b.begin(), b.end(), std::uint8_t{1});
  return b;
}

}  // namespace

TEST_CASE("payload: small ones live inside the object, large ones in a block", "[payload]") {
  for (const std::size_t n :
       {std::size_t{0}, std::size_t{1}, payload::inline_capacity, payload::inline_capacity + 1, std::size_t{100'000}}) {
    const auto src = counting(n);
    payload p(std::span<const std::uint8_t>(src.data(), src.size()));
    REQUIRE(p.size() == n);
    CHECK(p == src);
    CHECK(p.empty() == (n == 0));
    if (n) {
      CHECK(p.front() == src.front());
      CHECK(p.back() == src.back());
      CHECK(p[n / 2] == src[n / 2]);
    }
    // Inline bytes are part of the object; a block is elsewhere.
    const auto* obj = reinterpret_cast<const std::uint8_t*>(&p);
    const bool inside = p.data() >= obj && p.data() < obj + sizeof(payload);
    CHECK(inside == (n <= payload::inline_capacity));

    // Moving keeps the bytes and empties the source; a block changes hands.
    const auto* where = p.data();
    payload moved(std::move(p));
    CHECK(moved == src);
    CHECK(p.empty());
    if (n > payload::inline_capacity) CHECK(moved.data() == where);
    payload copy = moved;
    CHECK(copy == moved);
    if (n) CHECK(copy.data() != moved.data());
    payload assigned;
    assigned = std::move(copy);
    CHECK(assigned == src);
  }
}

TEST_CASE("payload: for_overwrite gives writable room, to_vector gives a vector", "[payload]") {
  auto p = payload::for_overwrite(5000);
  REQUIRE(p.size() == 5000);
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<std::uint8_t>(i * 7);
  const auto v = std::move(p).to_vector();
  REQUIRE(v.size() == 5000);
  CHECK(v[4999] == static_cast<std::uint8_t>(4999 * 7));
  CHECK(p.empty());

  // A payload made from a vector gives that same vector back.
  auto src = counting(3000);
  const auto* where = src.data();
  payload adopted(std::move(src));
  CHECK(adopted.size() == 3000);
  CHECK(adopted.data() == where);
  const auto back = std::move(adopted).to_vector();
  CHECK(back.data() == where);

  payload small(std::span<const std::uint8_t>(back.data(), 10));
  small.truncate(4);
  CHECK(small == bytes{1, 2, 3, 4});
  const asio::const_buffer b = small;
  CHECK(b.size() == 4);
  CHECK(asio::buffer(small).size() == 4);
  const std::span<const std::uint8_t> s = small;
  CHECK(s.size() == 4);
}

TEST_CASE("ring: first in first out across growth and wrap-around", "[ring]") {
  peergraph::detail::ring<std::unique_ptr<int>> r;
  CHECK(r.empty());
  CHECK(r.capacity() == 0);  // nothing allocated until used
  int next_in = 0, next_out = 0;
  // Interleaved pushes and pops wrap the head around the block, and pushes
  // past the capacity grow it while values are in the middle of the block.
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 7 + round % 5; ++i) r.push_back(std::make_unique<int>(next_in++));
    for (int i = 0; i < 5 && !r.empty(); ++i) {
      REQUIRE(*r.front() == next_out++);
      r.pop_front();
    }
    REQUIRE(r.size() == static_cast<std::size_t>(next_in - next_out));
    if (!r.empty()) CHECK(*r.back() == next_in - 1);
  }
  CHECK((r.capacity() & (r.capacity() - 1)) == 0);
  peergraph::detail::ring<std::unique_ptr<int>> moved(std::move(r));
  CHECK(r.empty());
  while (!moved.empty()) {
    REQUIRE(*moved.front() == next_out++);
    moved.pop_front();
  }
  CHECK(next_out == next_in);
  moved.release();
  CHECK(moved.capacity() == 0);
}
