// peergraph/detail/ids.hpp: what makes an identifier, name or comment acceptable.
#ifndef PEERGRAPH_DETAIL_IDS_HPP
#define PEERGRAPH_DETAIL_IDS_HPP

#include <cstddef>
#include <string_view>

namespace peergraph::detail {

/// Longest graph id, peer id or friendly name, in bytes of UTF-8.
inline constexpr std::size_t max_id_size = 255;
/// Longest graph comment, in bytes of UTF-8.
inline constexpr std::size_t max_comment_size = 511;

/// An identifier: 1 to 255 bytes, no NUL (it travels NUL-terminated).
inline bool valid_id(std::string_view s) noexcept {
  return !s.empty() && s.size() <= max_id_size && s.find('\0') == std::string_view::npos;
}

/// An optional name: empty, or as an identifier.
inline bool valid_name(std::string_view s) noexcept { return s.empty() || valid_id(s); }

/// An optional comment: at most 511 bytes, no NUL.
inline bool valid_comment(std::string_view s) noexcept {
  return s.size() <= max_comment_size && s.find('\0') == std::string_view::npos;
}

}  // namespace peergraph::detail

#endif  // PEERGRAPH_DETAIL_IDS_HPP
