// peergraph/protocol/frame.hpp: splitting a byte stream into PEER_MESSAGE frames.
#ifndef PEERGRAPH_PROTOCOL_FRAME_HPP
#define PEERGRAPH_PROTOCOL_FRAME_HPP

#include <peergraph/protocol/header.hpp>

#include <span>
#include <system_error>

namespace peergraph::protocol {

/// What the bytes received so far hold.
struct frame_result {
  enum status_type { need_more, complete, invalid } status = need_more;
  header h{};  ///< valid when status != need_more or `header_known`
  bool header_known = false;
  std::error_code ec;  ///< why, when status == invalid
};

/// Looks at the front of `buffered`: a complete frame, a frame still missing
/// bytes (then `h.size` says how many in all, once the header is there), or a
/// header that must be rejected. Never reads past `buffered`.
inline frame_result next_frame(std::span<const std::uint8_t> buffered, std::size_t max_size) noexcept {
  frame_result r;
  if (buffered.size() < header_size) return r;
  if (auto ec = decode_header(buffered, max_size, r.h)) {
    r.status = frame_result::invalid;
    r.ec = ec;
    return r;
  }
  r.header_known = true;
  r.status = buffered.size() >= r.h.size ? frame_result::complete : frame_result::need_more;
  return r;
}

}  // namespace peergraph::protocol

#endif  // PEERGRAPH_PROTOCOL_FRAME_HPP
