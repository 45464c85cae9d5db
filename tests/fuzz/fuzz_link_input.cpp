// libFuzzer harness: a link's input path without a socket.
//
// The first input byte picks the read sizes; the rest is the byte stream. It
// goes through detail::link::frame_reader (large payloads included) in those
// reads, and the frames it yields must be exactly the frames that
// protocol::next_frame finds in the whole stream at once. The frames then
// drive a handshake machine, as the first byte also says: responder or
// initiator.
#include <peergraph/detail/link/frame_reader.hpp>
#include <peergraph/protocol/frame.hpp>
#include <peergraph/protocol/handshake.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

namespace pp = peergraph::protocol;
namespace pl = peergraph::detail::link;

namespace {

constexpr std::size_t limit = 1u << 20;

using frames = std::vector<std::vector<std::uint8_t>>;

// A frame as the reader gave it: whole, or (a large PT2PT) its payload only.
struct piece {
  bool payload_only = false;
  std::vector<std::uint8_t> bytes;
};

// What a link would see, reading `chunk` bytes at a time.
std::vector<piece> through_reader(std::span<const std::uint8_t> stream, std::size_t chunk, bool& invalid) {
  std::vector<piece> out;
  // A large frame here is anything above 256 bytes, so that the fuzzer's
  // small inputs reach the large-payload path.
  pl::frame_reader r(64, nullptr, 256);
  std::size_t at = 0;
  bool in_large = false;
  for (;;) {
    if (in_large) {
      auto room = r.large_rest();
      const auto n = std::min({room.size(), chunk, stream.size() - at});
      if (n == 0) return out;
      std::memcpy(room.data(), stream.data() + at, n);
      at += n;
      if (!r.large_commit(n)) continue;
      peergraph::guid type;
      out.push_back({true, r.take_large(type).to_vector()});
      in_large = false;
    }
    for (;;) {
      const auto s = r.next(limit, true);
      if (s.kind == pl::frame_reader::step::invalid) return invalid = true, out;
      if (s.kind == pl::frame_reader::step::need_more) break;
      if (s.kind == pl::frame_reader::step::large) {
        in_large = true;
        break;
      }
      out.push_back({false, {s.bytes.begin(), s.bytes.end()}});
    }
    if (in_large) continue;
    r.settle();
    auto room = r.prepare();
    const auto n = std::min({room.size(), chunk, stream.size() - at});
    if (n == 0) return out;
    std::memcpy(room.data(), stream.data() + at, n);
    r.commit(n);
    at += n;
  }
}

frames at_once(std::span<const std::uint8_t> stream, bool& invalid) {
  frames out;
  while (!stream.empty()) {
    const auto fr = pp::next_frame(stream, limit);
    if (fr.status == pp::frame_result::invalid) return invalid = true, out;
    if (fr.status == pp::frame_result::need_more) break;
    out.emplace_back(stream.begin(), stream.begin() + fr.h.size);
    stream = stream.subspan(fr.h.size);
  }
  return out;
}

void drive_handshake(const frames& fs, bool as_responder) {
  std::vector<std::uint8_t> out;
  if (as_responder) {
    pp::responder m({"g", "alice", 1});
    for (const auto& f : fs) {
      pp::header h;
      if (pp::decode_header(f, limit, h)) std::abort();  // next_frame accepted it
      const auto r = m.on_frame(h, f, out);
      if (r.kind == pp::responder::outcome::decide) m.accept(0, {}, "unit", out);
      if (r.kind == pp::responder::outcome::failed || r.kind == pp::responder::outcome::refused) return;
    }
  } else {
    pp::initiator m({pp::connection_type::neighbor, "g", "bob", std::string("alice"), 2, {}, "unit", false});
    m.start(out);
    for (const auto& f : fs) {
      pp::header h;
      if (pp::decode_header(f, limit, h)) std::abort();
      const auto r = m.on_frame(h, f);
      if (r.kind != pp::initiator::outcome::pending) return;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = 1 + (data[0] & 0x7f) * 37;
  const bool as_responder = data[0] & 0x80;
  const std::span<const std::uint8_t> stream(data + 1, size - 1);
  bool bad_whole = false, bad_read = false;
  const auto whole = at_once(stream, bad_whole);
  const auto read = through_reader(stream, chunk, bad_read);
  // The same frames, whatever the reads; a bad header is found either way.
  if (read.size() > whole.size()) std::abort();
  if (bad_whole && !bad_read) std::abort();
  if (bad_read && !bad_whole) {
    // Only a large PT2PT's fixed fields are checked before the frame is
    // complete: the frame after the ones read must be such a PT2PT.
    std::size_t at = 0;
    for (std::size_t i = 0; i < read.size(); ++i) at += whole[i].size();
    const auto next = stream.subspan(at);
    pp::header h;
    if (next.size() < pp::pt2pt_header_size || pp::decode_header(next, limit, h) || h.type != pp::message_type::pt2pt)
      std::abort();
    pp::pt2pt_prefix prefix;
    if (!pp::decode_pt2pt_prefix(next.first(pp::pt2pt_header_size), h.size, prefix)) std::abort();
  }
  for (std::size_t i = 0; i < read.size(); ++i) {
    const auto& a = read[i].bytes;
    const auto& b = whole[i];
    const std::size_t skip = read[i].payload_only ? pp::pt2pt_header_size : 0;
    if (b.size() < skip || a.size() != b.size() - skip) std::abort();
    if (!std::equal(a.begin(), a.end(), b.begin() + static_cast<std::ptrdiff_t>(skip))) std::abort();
  }
  drive_handshake(whole, as_responder);
  return 0;
}
