// The outgoing queue: coalescing, zero-copy segments, gather batches.
#include <peergraph/detail/write_queue.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <numeric>

using peergraph::detail::write_queue;
using bytes = std::vector<std::uint8_t>;

namespace {

bytes concat(std::span<const asio::const_buffer> bufs) {
  bytes out;
  for (const auto& b : bufs) {
    const auto* p = static_cast<const std::uint8_t*>(b.data());
    out.insert(out.end(), p, p + b.size());
  }
  return out;
}

}  // namespace

TEST_CASE("small appends coalesce into one buffer", "[write_queue]") {
  write_queue q;
  for (std::uint8_t i = 0; i < 100; ++i) {
    const bytes m(10, i);
    q.append_copy(m);
  }
  CHECK(q.size() == 1000);
  const auto& bufs = q.begin_write();
  REQUIRE(bufs.size() == 1);
  const auto all = concat(bufs);
  REQUIRE(all.size() == 1000);
  CHECK(all[0] == 0);
  CHECK(all[999] == 99);
  q.end_write();
  CHECK(q.empty());
  CHECK_FALSE(q.has_unsent());
}

TEST_CASE("large owned payloads are written in place", "[write_queue]") {
  write_queue q;
  bytes header{1, 2, 3};
  bytes big(100'000, 7);
  const auto* where = big.data();
  q.append_copy(header);
  q.append_owned(std::move(big));
  q.append_copy(header);
  CHECK(q.size() == 100'006);
  const auto& bufs = q.begin_write();
  REQUIRE(bufs.size() == 3);
  CHECK(bufs[1].data() == where);  // no copy
  CHECK(bufs[1].size() == 100'000);
  q.end_write();
  CHECK(q.empty());
}

TEST_CASE("small owned payloads are copied into the coalescing buffer", "[write_queue]") {
  write_queue q;
  bytes small(100, 1);
  q.append_copy(bytes{9});
  q.append_owned(std::move(small));
  CHECK(q.begin_write().size() == 1);
  CHECK(q.size() == 101);
}

TEST_CASE("bytes appended during a write go to a new segment", "[write_queue]") {
  write_queue r;
  r.append_copy(bytes(10, 1));
  const auto& batch = r.begin_write();
  const auto* p = batch.front().data();
  r.append_copy(bytes(10, 2));  // must not touch the segment being written
  CHECK(std::memcmp(p, bytes(10, 1).data(), 10) == 0);
  CHECK(r.has_unsent());
  CHECK(r.size() == 20);
  r.end_write();
  CHECK(r.size() == 10);
  const auto rest = concat(r.begin_write());
  CHECK(rest == bytes(10, 2));
}

TEST_CASE("a write gathers at most max_gather segments", "[write_queue]") {
  write_queue q;
  for (int i = 0; i < 100; ++i) {
    bytes big(write_queue::copy_threshold + 1, static_cast<std::uint8_t>(i));
    q.append_owned(std::move(big));
  }
  auto n = q.begin_write().size();
  CHECK(n == write_queue::max_gather);
  q.end_write();
  CHECK(q.begin_write().size() == 100 - write_queue::max_gather);
  q.end_write();
  CHECK(q.empty());
}

TEST_CASE("coalescing segments stop at the limit", "[write_queue]") {
  write_queue q;
  const bytes chunk(1000, 5);
  for (int i = 0; i < 200; ++i) q.append_copy(chunk);
  const auto& bufs = q.begin_write();
  CHECK(bufs.size() == 4);  // 65 chunks fit in each 64 KiB segment
  for (const auto& b : bufs) CHECK(b.size() <= write_queue::coalesce_limit);
  CHECK(concat(bufs).size() == 200'000);
}

TEST_CASE("unsent bytes exclude the batch being written", "[write_queue]") {
  write_queue q;
  const bytes a(100, 1), b(50, 2);
  q.append_copy(a);
  CHECK(q.unsent_bytes() == 100);
  (void)q.begin_write();
  CHECK(q.unsent_bytes() == 0);
  CHECK(q.size() == 100);
  q.append_copy(b);  // goes into a new segment: the first is being written
  CHECK(q.unsent_bytes() == 50);
  q.end_write();
  CHECK(q.size() == 50);
  CHECK(q.unsent_bytes() == 50);
  q.clear();
  CHECK(q.unsent_bytes() == 0);
}

TEST_CASE("drained buffers are reused and trimmed away when idle", "[write_queue]") {
  write_queue q;
  const bytes big(48 * 1024, 7);
  q.append_copy(big);
  const auto* first = static_cast<const std::uint8_t*>(q.begin_write()[0].data());
  q.end_write();
  CHECK(q.spare_count() == 1);
  q.append_copy(big);
  // The kept buffer carries the next batch: no fresh allocation.
  CHECK(static_cast<const std::uint8_t*>(q.begin_write()[0].data()) == first);
  CHECK(q.spare_count() == 0);
  q.end_write();
  CHECK(q.spare_count() == 1);
  q.trim();
  CHECK(q.spare_count() == 0);
  // Still usable after trimming.
  q.append_copy(big);
  CHECK(concat(q.begin_write()) == big);
}

TEST_CASE("at most a few drained buffers are kept", "[write_queue]") {
  write_queue q;
  const bytes chunk(60 * 1024, 3);
  for (int i = 0; i < 10; ++i) q.append_copy(chunk);  // ten segments
  while (q.has_unsent()) {
    (void)q.begin_write();
    q.end_write();
  }
  CHECK(q.empty());
  CHECK(q.spare_count() <= 4);
  CHECK(q.spare_count() >= 1);
}
