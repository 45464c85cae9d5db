// libFuzzer harness: every decoder of protocol/ over arbitrary frames.
//
// The input is cut into frames as a link would cut it (next_frame, 1 MiB
// limit); each frame goes to the decoder of its type. A frame that decodes
// must encode again and decode to the same value: the decoders accept only
// what the encoders can say.
#include <peergraph/protocol/frame.hpp>
#include <peergraph/protocol/messages.hpp>
#include <peergraph/protocol/presence.hpp>

#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

namespace pp = peergraph::protocol;

namespace {

template <typename M>
void round_trip(std::span<const std::uint8_t> frame) {
  M m;
  if (pp::decode(frame, m)) return;
  std::vector<std::uint8_t> again;
  pp::encode(m, again);
  M back;
  if (pp::decode(again, back)) std::abort();  // the encoder wrote what the decoder refuses
  if (!(back == m)) std::abort();
}

void one_frame(const pp::header& h, std::span<const std::uint8_t> frame) {
  using t = pp::message_type;
  switch (h.type) {
    case t::auth_info:
      return round_trip<pp::auth_info>(frame);
    case t::connect:
      return round_trip<pp::connect>(frame);
    case t::welcome:
      return round_trip<pp::welcome>(frame);
    case t::refuse:
      return round_trip<pp::refuse>(frame);
    case t::disconnect:
      return round_trip<pp::disconnect>(frame);
    case t::flood:
      return round_trip<pp::flood>(frame);
    case t::solicit_new: {
      pp::solicit_new m;
      (void)pp::decode(frame, m);
      return;
    }
    case t::sync_end: {
      pp::sync_end m;
      (void)pp::decode(frame, m);
      return;
    }
    case t::ack:
      (void)pp::check_ack(frame);
      return;
    case t::pt2pt: {
      pp::pt2pt_view v;
      if (pp::decode(frame, v)) return;
      // The payload lies inside the frame.
      if (v.payload.data() < frame.data() || v.payload.data() + v.payload.size() > frame.data() + frame.size())
        std::abort();
      return;
    }
    default:
      return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> rest(data, size);
  while (!rest.empty()) {
    const auto fr = pp::next_frame(rest, 1u << 20);
    if (fr.status != pp::frame_result::complete) break;
    if (fr.h.size > rest.size() || fr.h.size < pp::header_size) std::abort();
    one_frame(fr.h, rest.first(fr.h.size));
    rest = rest.subspan(fr.h.size);
  }
  return 0;
}
