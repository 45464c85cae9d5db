// Unit tests for the sans-I/O pieces of a link (detail/link/): the frame
// reader, the send path, the handshake driver and the keep-alive rules.
#include "support/bytes.hpp"
#include <peergraph/detail/link/frame_reader.hpp>
#include <peergraph/detail/link/handshake_driver.hpp>
#include <peergraph/detail/link/link_timer.hpp>
#include <peergraph/detail/link/send_path.hpp>
#include <peergraph/protocol/messages.hpp>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/buffer.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <array>
#include <cstring>
#include <vector>

namespace pg = peergraph;
namespace pp = peergraph::protocol;
namespace pl = peergraph::detail::link;
using namespace pgtest;
using namespace std::chrono_literals;

namespace {

const pg::guid data_type = pg::guid::from_fields(0x1234, 0x5678, 0x9abc, {1, 2, 3, 4, 5, 6, 7, 8});

bytes pt2pt(std::size_t size, std::uint8_t fill) {
  bytes b;
  pp::encode_pt2pt_header(data_type, size, b);
  b.resize(b.size() + size, fill);
  return b;
}

/// Copies `b` into the reader as a read of up to `chunk` bytes at a time
/// would, returning the frames it yields.
std::vector<bytes> feed(pl::frame_reader& r, const bytes& b, std::size_t chunk, std::size_t limit = 1 << 20) {
  std::vector<bytes> frames;
  std::size_t at = 0;
  while (at < b.size()) {
    auto room = r.prepare();
    const auto n = std::min({chunk, room.size(), b.size() - at});
    std::memcpy(room.data(), b.data() + at, n);
    r.commit(n);
    at += n;
    for (;;) {
      const auto s = r.next(limit, false);
      REQUIRE(s.kind != pl::frame_reader::step::invalid);
      if (s.kind != pl::frame_reader::step::frame) break;
      frames.emplace_back(s.bytes.begin(), s.bytes.end());
    }
    r.settle();
  }
  return frames;
}

}  // namespace

TEST_CASE("the frame reader cuts any split of a stream into the same frames", "[link][reader]") {
  bytes stream;
  std::vector<bytes> sent;
  for (std::size_t n : {0u, 1u, 100u, 5000u, 7u}) {
    sent.push_back(pt2pt(n, static_cast<std::uint8_t>(n)));
    stream.insert(stream.end(), sent.back().begin(), sent.back().end());
  }
  for (std::size_t chunk : {1u, 3u, 28u, 512u, 100000u}) {
    CAPTURE(chunk);
    pl::frame_reader r(256);
    CHECK(feed(r, stream, chunk) == sent);
    CHECK(r.buffered() == 0u);
  }
}

TEST_CASE("the frame reader refuses an oversized or malformed header before buffering it", "[link][reader]") {
  pl::frame_reader r(256);
  auto big = pt2pt(10, 0);
  put32(big, 0, 1u << 30);
  auto room = r.prepare();
  std::memcpy(room.data(), big.data(), 8);
  r.commit(8);
  const auto s = r.next(4096, true);
  CHECK(s.kind == pl::frame_reader::step::invalid);
  CHECK(s.ec == pp::error::message_too_large);
}

TEST_CASE("a large PT2PT payload is handed out for reading in place", "[link][reader]") {
  // Large means above 16 KiB (and above four times the read size).
  pl::frame_reader r(64);
  constexpr std::size_t size = 20'000;
  const auto m = pt2pt(size, 0xAB);
  auto room = r.prepare();
  const auto first = std::min<std::size_t>(room.size(), 100);
  std::memcpy(room.data(), m.data(), first);
  r.commit(first);
  const auto s = r.next(1 << 20, true);
  REQUIRE(s.kind == pl::frame_reader::step::large);
  auto rest = r.large_rest();
  CHECK(rest.size() == size - (first - pp::pt2pt_header_size));
  std::memcpy(rest.data(), m.data() + first, rest.size());
  CHECK(r.large_commit(rest.size()));
  pg::guid type;
  const auto payload = r.take_large(type);
  CHECK(type == data_type);
  CHECK(payload == bytes(size, 0xAB));
  // Below the threshold, or without large_ok, a message is buffered whole.
  pl::frame_reader small(64);
  const auto m2 = pt2pt(1000, 0xCD);
  auto room2 = small.prepare();
  std::memcpy(room2.data(), m2.data(), room2.size());
  small.commit(room2.size());
  CHECK(small.next(1 << 20, true).kind == pl::frame_reader::step::need_more);
  pl::frame_reader whole(64);
  CHECK(feed(whole, m, 100) == std::vector<bytes>{m});
}

TEST_CASE("a large payload's storage follows the bytes that arrive, not the header", "[link][reader][limits]") {
  pl::frame_reader r(4096);
  constexpr std::size_t announced = 16u << 20;
  auto head = pt2pt(0, 0);
  put32(head, 0, static_cast<std::uint32_t>(pp::pt2pt_header_size + announced));
  head.resize(head.size() + 100, 0x5A);  // and 100 bytes of payload
  auto room = r.prepare();
  std::memcpy(room.data(), head.data(), head.size());
  r.commit(head.size());
  REQUIRE(r.next(32u << 20, true).kind == pl::frame_reader::step::large);
  // The header alone commits nothing beyond what arrived.
  CHECK(r.large_committed() == 100u);
  // Each read is offered at most max_read_size ahead of the data.
  std::size_t have = 100;
  std::uint8_t fill = 0;
  bool done = false;
  while (!done) {
    auto rest = r.large_rest();
    REQUIRE(rest.size() > 0u);
    CHECK(rest.size() <= pl::frame_reader::max_read_size);
    CHECK(r.large_committed() <= have + pl::frame_reader::max_read_size);
    const auto n = std::min<std::size_t>(rest.size(), 10'000);  // a slow peer: short reads
    std::memset(rest.data(), ++fill, n);
    have += n;
    done = r.large_commit(n);
  }
  CHECK(have == announced);
  pg::guid type;
  const auto payload = r.take_large(type);
  REQUIRE(payload.size() == announced);
  CHECK(payload[99] == 0x5A);
  CHECK(payload[100] == 1);
  CHECK(payload.back() == fill);
}

TEST_CASE("the read size grows under load and shrinks when idle", "[link][reader]") {
  pl::frame_reader r(1024);
  CHECK(r.prepare().size() == 1024u);
  for (int i = 0; i < 10; ++i) {
    const auto n = r.prepare().size();
    r.commit(n);  // filled what it was offered
    while (r.next(1 << 20, false).kind == pl::frame_reader::step::frame) {
    }
  }
  CHECK(r.prepare().size() >= 2048u);
}

TEST_CASE("the send path releases waiting sends at the low-water mark and flushes when empty", "[link][send]") {
  asio::io_context io;
  pl::send_path sp;
  auto anchor = std::make_shared<int>(0);
  int send_done = 0, flush_done = 0;
  std::error_code send_ec = pg::errc::timeout, flush_ec = pg::errc::timeout;
  sp.queue_message(data_type, bytes(5000, 1));
  CHECK(sp.queued() == 5000 + pp::pt2pt_header_size);
  sp.park_send(
      pl::send_path::plain_completion([&](std::error_code ec) { ++send_done, send_ec = ec; }, io.get_executor()),
      anchor);
  sp.park_flush(
      pl::send_path::plain_completion([&](std::error_code ec) { ++flush_done, flush_ec = ec; }, io.get_executor()),
      anchor);
  REQUIRE(sp.can_write());
  const auto bufs = sp.begin_write();
  CHECK(asio::buffer_size(bufs) == sp.queued());
  CHECK_FALSE(sp.can_write());  // one write at a time
  sp.queue_frame(bytes(10, 2));
  sp.written(16);  // 10 bytes left: at most the low-water mark
  io.poll();
  CHECK(send_done == 1);
  CHECK_FALSE(send_ec);
  CHECK(flush_done == 0);  // not empty yet
  sp.begin_write();
  sp.written(16);
  io.restart();
  io.poll();
  CHECK(flush_done == 1);
  CHECK_FALSE(flush_ec);
  CHECK(sp.empty());
}

TEST_CASE("a waiting send can be cancelled; a failed link fails the rest", "[link][send]") {
  asio::io_context io;
  pl::send_path sp;
  auto anchor = std::make_shared<int>(0);
  asio::cancellation_signal sig;
  std::vector<std::error_code> results;
  auto record = [&](std::error_code ec) { results.push_back(ec); };
  sp.park_send(pl::send_path::plain_completion(asio::bind_cancellation_slot(sig.slot(), record), io.get_executor()),
               anchor);
  sp.park_send(pl::send_path::plain_completion(record, io.get_executor()), anchor);
  sig.emit(asio::cancellation_type::terminal);
  io.poll();
  REQUIRE(results.size() == 1u);
  CHECK(results[0] == asio::error::operation_aborted);
  sp.fail(pg::errc::connection_failed);
  io.restart();
  io.poll();
  REQUIRE(results.size() == 2u);
  CHECK(results[1] == pg::errc::connection_failed);
}

TEST_CASE("a buffer sequence is queued as one message", "[link][send]") {
  pl::send_path sp;
  const bytes head{1, 2, 3}, body(3000, 9);
  const std::array<asio::const_buffer, 3> parts{asio::buffer(head), asio::const_buffer(), asio::buffer(body)};
  sp.queue_message(data_type, parts);
  CHECK(sp.queued() == pp::pt2pt_header_size + head.size() + body.size());
  bytes wire;
  const auto bufs = sp.begin_write();
  for (auto it = asio::buffer_sequence_begin(bufs); it != asio::buffer_sequence_end(bufs); ++it) {
    const auto* p = static_cast<const std::uint8_t*>(it->data());
    wire.insert(wire.end(), p, p + it->size());
  }
  bytes expected;
  pp::encode_pt2pt_header(data_type, head.size() + body.size(), expected);
  expected.insert(expected.end(), head.begin(), head.end());
  expected.insert(expected.end(), body.begin(), body.end());
  CHECK(wire == expected);
}

TEST_CASE("closes and flushes learn that a broken stream dropped what was queued", "[link][send]") {
  asio::io_context io;
  pl::send_path sp;
  auto anchor = std::make_shared<int>(0);
  std::vector<std::error_code> results;
  auto record = [&](std::error_code ec) { results.push_back(ec); };
  sp.queue_message(data_type, bytes(100, 1));
  sp.park_flush(pl::send_path::plain_completion(record, io.get_executor()), anchor);
  sp.park_close(pl::send_path::plain_completion(record, io.get_executor()), anchor);
  sp.begin_write();
  sp.drop();  // the write failed
  sp.shut(asio::error::broken_pipe);
  io.poll();
  REQUIRE(results.size() == 2u);
  CHECK(results[0] == asio::error::broken_pipe);
  CHECK(results[1] == asio::error::broken_pipe);

  // Everything written: the close completes cleanly.
  pl::send_path clean;
  clean.queue_message(data_type, bytes(10, 1));
  clean.park_close(pl::send_path::plain_completion(record, io.get_executor()), anchor);
  clean.begin_write();
  clean.written(16);
  clean.shut(asio::error::broken_pipe);
  io.restart();
  io.poll();
  REQUIRE(results.size() == 3u);
  CHECK_FALSE(results[2]);
}

TEST_CASE("deferred writes wait for the last sender", "[link][send]") {
  pl::send_path sp;
  sp.defer();
  sp.defer();
  CHECK(sp.deferred_pending());
  CHECK_FALSE(sp.deferred_done());
  CHECK(sp.deferred_done());
  CHECK_FALSE(sp.deferred_pending());
  sp.queue_message(data_type, bytes(64 * 1024, 0));
  CHECK(sp.segment_waiting());
}

TEST_CASE("the handshake driver fills the link summary and maps refusals onto API errors", "[link][handshake]") {
  pp::initiator_config cfg;
  cfg.graph_id = "g";
  cfg.local_peer_id = "alice";
  cfg.local_node_id = 0xA;
  pl::handshake_driver ini;
  bytes flight;
  ini.start(cfg, flight);
  pl::handshake_driver rsp;
  rsp.expect({"g", "bob", 0xB});
  pg::detail::node::link_summary at_bob, at_alice;
  at_alice.initiator = true;
  std::span<const std::uint8_t> rest = view(flight);
  pl::handshake_driver::step s;
  bytes reply;
  while (!rest.empty()) {
    const auto r = pp::next_frame(rest, 1 << 16);
    REQUIRE(r.status == pp::frame_result::complete);
    s = rsp.on_frame(r.h, rest.first(r.h.size), at_bob, reply);
    rest = rest.subspan(r.h.size);
  }
  REQUIRE(s.kind == pl::handshake_driver::step::decide);
  CHECK(at_bob.remote_node == 0xAu);
  CHECK(at_bob.remote_peer == "alice");
  CHECK(at_bob.kind == pg::connection_kind::neighbor);
  CHECK(rsp.refuse(pp::refuse_code::busy, {}, reply) == pg::errc::connection_refused);
  pp::header h;
  REQUIRE_FALSE(pp::decode_header(reply, 1 << 16, h));
  const auto at_ini = ini.on_frame(h, view(reply), at_alice, flight);
  CHECK(at_ini.kind == pl::handshake_driver::step::refused);
  CHECK(at_ini.ec == pg::errc::connection_refused);
  REQUIRE(ini.refusal());
  CHECK(ini.refusal()->code == pp::refuse_code::busy);

  CHECK(pl::refuse_error(pp::refuse_code::busy) == pg::errc::connection_refused);
  CHECK(pl::refuse_error(pp::refuse_code::already_connected) == pg::errc::already_exists);
  CHECK(pl::refuse_error(pp::refuse_code::duplicate_connection) == pg::errc::already_exists);
  CHECK(pl::refuse_error(pp::refuse_code::direct_connection_disallowed) == pp::error::direct_connection_disallowed);
  CHECK(pl::refuse_error(pp::refuse_code::connect_self) == pg::errc::connect_self);
  CHECK(pl::api_error(pp::error::self_connection) == pg::errc::connect_self);
  CHECK(pl::api_error(pp::error::wrong_peer_id) == pp::error::wrong_peer_id);
}

TEST_CASE("an initiator dropped during authentication says what that can mean", "[link][handshake]") {
  pp::initiator_config cfg;
  cfg.graph_id = "g";
  cfg.local_peer_id = "alice";
  cfg.local_node_id = 0xA;
  bytes flight;
  // No peer expected: only the graph id can have been refused.
  pl::handshake_driver anyone;
  anyone.start(cfg, flight);
  CHECK(anyone.not_admitted() == pp::error::wrong_graph_id);
  // A peer expected: another graph, or not that peer.
  cfg.expected_peer_id = "bob";
  pl::handshake_driver bob_only;
  bob_only.start(cfg, flight);
  CHECK(bob_only.not_admitted() == pg::errc::connection_not_authenticated);
  CHECK(bob_only.not_admitted() == pg::condition::refused);
}

TEST_CASE("keep-alive: ping when quiet, drop when silent, the shorter period wins", "[link][timer]") {
  pg::graph_options o;
  o.keepalive_interval = 10s;
  o.idle_timeout = 35s;
  CHECK(pl::keepalive_period(o) == 10s);
  const pl::clock::time_point t0{};
  CHECK(pl::keepalive(o, t0 + 5s, t0, t0, 0) == pl::keepalive_verdict::nothing);
  CHECK(pl::keepalive(o, t0 + 10s, t0 + 9s, t0, 0) == pl::keepalive_verdict::ping);
  CHECK(pl::keepalive(o, t0 + 10s, t0 + 9s, t0, 100) == pl::keepalive_verdict::nothing);  // data is queued
  CHECK(pl::keepalive(o, t0 + 35s, t0, t0 + 30s, 0) == pl::keepalive_verdict::idle_timeout);
  o.idle_timeout = 3s;
  CHECK(pl::keepalive_period(o) == 3s);
  o.keepalive_interval = 0s;
  CHECK(pl::keepalive_period(o) == 3s);
  o.idle_timeout = 0s;
  CHECK(pl::keepalive_period(o) == 0s);
  CHECK(pl::keepalive(o, t0 + 1000s, t0, t0, 0) == pl::keepalive_verdict::nothing);
}
