// src/compat/convert.hpp: values across the C boundary: wide strings, GUIDs,
// addresses and HRESULTs.
#ifndef PEERGRAPH_SRC_COMPAT_CONVERT_HPP
#define PEERGRAPH_SRC_COMPAT_CONVERT_HPP

#include <peergraph/compat/p2p.h>
#include <peergraph/detail/ids.hpp>
#include <peergraph/error.hpp>
#include <peergraph/guid.hpp>
#include <peergraph/types.hpp>

#include <asio/ip/address_v6.hpp>

#include <arpa/inet.h>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace peergraph::compat {

// ------------------------------------------------------------------ HRESULTs

inline HRESULT to_hr(const std::error_code& ec) noexcept { return static_cast<HRESULT>(to_hresult(ec)); }
inline HRESULT to_hr(errc e) noexcept { return to_hr(make_error_code(e)); }

namespace convert_detail {

struct header_code {
  std::string_view name;
  HRESULT value;
};

// What p2p.h defines for every HRESULT the core's table names.
#define PEERGRAPH_COMPAT_CODE(name) \
  header_code { #name, name }
inline constexpr header_code header_codes[] = {
    PEERGRAPH_COMPAT_CODE(E_INVALIDARG),
    PEERGRAPH_COMPAT_CODE(E_OUTOFMEMORY),
    PEERGRAPH_COMPAT_CODE(E_ACCESSDENIED),
    PEERGRAPH_COMPAT_CODE(PEER_E_NOT_INITIALIZED),
    PEERGRAPH_COMPAT_CODE(PEER_E_UNSUPPORTED_VERSION),
    PEERGRAPH_COMPAT_CODE(PEER_E_INVALID_GRAPH),
    PEERGRAPH_COMPAT_CODE(PEER_E_DUPLICATE_GRAPH),
    PEERGRAPH_COMPAT_CODE(PEER_E_GRAPH_NOT_READY),
    PEERGRAPH_COMPAT_CODE(PEER_E_GRAPH_SHUTTING_DOWN),
    PEERGRAPH_COMPAT_CODE(PEER_E_ALREADY_LISTENING),
    PEERGRAPH_COMPAT_CODE(PEER_E_ALREADY_EXISTS),
    PEERGRAPH_COMPAT_CODE(PEER_E_CONNECT_SELF),
    PEERGRAPH_COMPAT_CODE(PEER_E_CONNECTION_REFUSED),
    PEERGRAPH_COMPAT_CODE(PEER_E_CONNECTION_FAILED),
    PEERGRAPH_COMPAT_CODE(PEER_E_CONNECTION_NOT_AUTHENTICATED),
    PEERGRAPH_COMPAT_CODE(PEER_E_CONNECTION_NOT_FOUND),
    PEERGRAPH_COMPAT_CODE(PEER_E_NODE_NOT_FOUND),
    PEERGRAPH_COMPAT_CODE(PEER_E_NOT_FOUND),
    PEERGRAPH_COMPAT_CODE(PEER_E_TIMEOUT),
    PEERGRAPH_COMPAT_CODE(PEER_E_INVALID_ADDRESS),
    PEERGRAPH_COMPAT_CODE(PEER_E_UNABLE_TO_LISTEN),
    PEERGRAPH_COMPAT_CODE(PEER_E_EVENT_HANDLE_NOT_FOUND),
    PEERGRAPH_COMPAT_CODE(PEER_E_MAX_RECORD_SIZE_EXCEEDED),
};
#undef PEERGRAPH_COMPAT_CODE

constexpr bool header_agrees_with_core_table() {
  for (const auto& row : peergraph::detail::hresult_table) {
    bool found = false;
    for (const auto& code : header_codes)
      if (code.name == row.name) {
        if (code.value != row.hresult) return false;
        found = true;
      }
    if (!found) return false;
  }
  return true;
}

}  // namespace convert_detail

// The shim hands the core's HRESULTs out unchanged, so every one of them must
// be a p2p.h macro with the same value.
static_assert(convert_detail::header_agrees_with_core_table(),
              "p2p.h and peergraph/error.hpp disagree on an HRESULT, or p2p.h lacks one");

// ------------------------------------------------------------------ strings

/// UTF-8 of a wide string; nullopt for a value that is no Unicode scalar.
inline std::optional<std::string> to_utf8(const wchar_t* s) {
  std::string out;
  for (; *s; ++s) {
    const auto c = static_cast<std::uint32_t>(*s);
    if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return std::nullopt;
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

/// Wide string of UTF-8 text; malformed sequences become U+FFFD (the core's
/// strings come from the network).
inline std::wstring from_utf8(std::string_view s) {
  static constexpr std::uint32_t min_for[] = {0, 0, 0x80, 0x800, 0x10000};
  std::wstring out;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::uint32_t c = 0;
    std::size_t n = 0;
    if (b < 0x80) {
      c = b;
      n = 1;
    } else if ((b & 0xE0) == 0xC0) {
      c = b & 0x1F;
      n = 2;
    } else if ((b & 0xF0) == 0xE0) {
      c = b & 0x0F;
      n = 3;
    } else if ((b & 0xF8) == 0xF0) {
      c = b & 0x07;
      n = 4;
    }
    bool ok = n > 0 && i + n <= s.size();
    for (std::size_t k = 1; ok && k < n; ++k) {
      const auto cb = static_cast<unsigned char>(s[i + k]);
      ok = (cb & 0xC0) == 0x80;
      c = (c << 6) | (cb & 0x3F);
    }
    if (!ok || c < min_for[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
      out.push_back(static_cast<wchar_t>(0xFFFD));
      ++i;
      continue;
    }
    out.push_back(static_cast<wchar_t>(c));
    i += n;
  }
  return out;
}

/// Characters before the NUL, counting at most `limit + 1`, so that an
/// over-long argument is refused without reading all of it.
inline std::size_t wide_length(const wchar_t* s, std::size_t limit) {
  std::size_t n = 0;
  while (n <= limit && s[n]) ++n;
  return n;
}

/// A wide identifier as the core takes it: 1 to 255 characters of valid
/// text, at most 255 bytes of UTF-8.
inline std::optional<std::string> id_arg(PCWSTR s) {
  if (!s) return std::nullopt;
  const auto n = wide_length(s, peergraph::detail::max_id_size);
  if (n == 0 || n > peergraph::detail::max_id_size) return std::nullopt;
  auto u = to_utf8(s);
  if (!u || !peergraph::detail::valid_id(*u)) return std::nullopt;
  return u;
}

/// Optional text (a friendly name, a comment): NULL is empty; nullopt for
/// text that is not valid Unicode. The core checks the length.
inline std::optional<std::string> text_arg(PCWSTR s) {
  if (!s) return std::string();
  return to_utf8(s);
}

// ------------------------------------------------------------------ GUIDs

inline GUID to_win(const guid& g) {
  const auto& b = g.bytes();
  GUID w{};
  w.Data1 = (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
  w.Data2 = static_cast<std::uint16_t>((b[4] << 8) | b[5]);
  w.Data3 = static_cast<std::uint16_t>((b[6] << 8) | b[7]);
  std::memcpy(w.Data4, b.data() + 8, 8);
  return w;
}

inline guid from_win(const GUID& w) {
  std::array<std::uint8_t, 8> d4{};
  std::memcpy(d4.data(), w.Data4, 8);
  return guid::from_fields(w.Data1, w.Data2, w.Data3, d4);
}

// ------------------------------------------------------------------ addresses

/// PEER_ADDRESS is IPv6 only: an IPv4 endpoint becomes its v4-mapped form.
inline PEER_ADDRESS to_peer_address(const endpoint& ep) {
  PEER_ADDRESS a{};
  a.dwSize = sizeof(PEER_ADDRESS);
  a.sin6.sin6_family = AF_INET6;
  a.sin6.sin6_port = htons(ep.port());
  const auto addr = ep.address();
  const auto v6 = addr.is_v6() ? addr.to_v6() : asio::ip::make_address_v6(asio::ip::v4_mapped, addr.to_v4());
  const auto bytes = v6.to_bytes();
  std::memcpy(&a.sin6.sin6_addr, bytes.data(), bytes.size());
  a.sin6.sin6_scope_id = static_cast<std::uint32_t>(v6.scope_id());
  return a;
}

/// The endpoint of a PEER_ADDRESS; nullopt unless it is a complete IPv6
/// address with a port.
inline std::optional<endpoint> from_peer_address(const PEER_ADDRESS* a) {
  if (!a || a->dwSize != sizeof(PEER_ADDRESS) || a->sin6.sin6_family != AF_INET6 || a->sin6.sin6_port == 0)
    return std::nullopt;
  asio::ip::address_v6::bytes_type bytes{};
  std::memcpy(bytes.data(), &a->sin6.sin6_addr, bytes.size());
  const asio::ip::address_v6 v6(bytes, a->sin6.sin6_scope_id);
  if (v6.is_unspecified()) return std::nullopt;
  return endpoint(v6, ntohs(a->sin6.sin6_port));
}

}  // namespace peergraph::compat

#endif  // PEERGRAPH_SRC_COMPAT_CONVERT_HPP
