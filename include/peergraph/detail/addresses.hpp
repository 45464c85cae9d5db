// peergraph/detail/addresses.hpp: socket endpoints to wire addresses and back.
#ifndef PEERGRAPH_DETAIL_ADDRESSES_HPP
#define PEERGRAPH_DETAIL_ADDRESSES_HPP

#include <peergraph/protocol/address.hpp>
#include <peergraph/types.hpp>

#include <asio/ip/address_v6.hpp>

#include <vector>

namespace peergraph::detail {

/// The wire form of `ep`: IPv4 becomes IPv4-mapped IPv6; the scope id is
/// not carried.
inline protocol::address to_wire(const endpoint& ep) {
  const auto a = ep.address();
  const auto v6 = a.is_v6() ? a.to_v6() : asio::ip::make_address_v6(asio::ip::v4_mapped, a.to_v4());
  return protocol::address{v6.to_bytes(), ep.port()};
}

/// The endpoint of a wire address: IPv4-mapped becomes IPv4 again.
inline endpoint to_endpoint(const protocol::address& a) {
  const asio::ip::address_v6 v6(a.ip);
  if (v6.is_v4_mapped()) return endpoint(asio::ip::make_address_v4(asio::ip::v4_mapped, v6), a.port);
  return endpoint(v6, a.port);
}

inline std::vector<protocol::address> to_wire(const std::vector<endpoint>& eps) {
  std::vector<protocol::address> out;
  out.reserve(eps.size());
  for (const auto& ep : eps) out.push_back(to_wire(ep));
  return out;
}

inline std::vector<endpoint> to_endpoints(const std::vector<protocol::address>& as) {
  std::vector<endpoint> out;
  out.reserve(as.size());
  for (const auto& a : as) out.push_back(to_endpoint(a));
  return out;
}

}  // namespace peergraph::detail

#endif  // PEERGRAPH_DETAIL_ADDRESSES_HPP
