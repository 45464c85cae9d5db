// Test support: a peer written by hand, byte by byte, over a TCP socket or an
// in-memory stream: frame builders, reading one frame, and the handshake of
// a neighbor that then sends whatever the test wants.
#ifndef PEERGRAPH_TESTS_SUPPORT_RAW_PEER_HPP
#define PEERGRAPH_TESTS_SUPPORT_RAW_PEER_HPP

#include "support/graphs.hpp"
#include <peergraph/protocol/messages.hpp>

#include <asio/ip/tcp.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pgtest {

namespace proto = peergraph::protocol;
using bytes = std::vector<std::uint8_t>;

/// An 8-byte PEER_MESSAGE header with the given fields.
inline bytes header(std::uint32_t size, std::uint8_t version, std::uint8_t type) {
  bytes b;
  proto::writer w(b);
  w.u32(size);
  w.u8(version);
  w.u8(type);
  w.u16(0);
  return b;
}

/// AUTH_INFO then CONNECT, as a neighbor of `graph` with node id `node`.
inline bytes first_flight(const std::string& graph, const std::string& peer, std::uint64_t node) {
  bytes b;
  proto::encode(proto::auth_info{proto::connection_type::neighbor, graph, peer, std::nullopt}, b);
  proto::connect c;
  c.source_node_id = node;
  proto::encode(c, b);
  return b;
}

/// A PT2PT message of `size` bytes of `fill`.
inline bytes pt2pt(const pg::guid& type, std::size_t size, std::uint8_t fill) {
  bytes b;
  proto::encode_pt2pt_header(type, size, b);
  b.resize(b.size() + size, fill);
  return b;
}

/// The stream a raw peer uses with the nodes of `Nodes`.
template <typename Nodes>
struct raw_stream;
template <>
struct raw_stream<tcp_nodes> {
  using type = asio::ip::tcp::socket;
};
template <>
struct raw_stream<memory_nodes> {
  using type = pg::memory_stream<asio::any_io_executor>;
};

/// A stream connected to `ep`: a TCP socket for tcp_nodes, an in-memory
/// stream for memory_nodes.
inline asio::awaitable<asio::ip::tcp::socket> raw_connect(tcp_nodes&, const pg::endpoint& ep) {
  asio::ip::tcp::socket s(co_await asio::this_coro::executor);
  co_await s.async_connect(ep, asio::use_awaitable);
  co_return s;
}
inline asio::awaitable<pg::memory_stream<asio::any_io_executor>> raw_connect(memory_nodes& w, const pg::endpoint& ep) {
  auto s = w.net.transport().make_stream(asio::any_io_executor(co_await asio::this_coro::executor));
  co_await s.async_connect(ep, asio::use_awaitable);
  co_return s;
}

/// Reads one whole frame.
template <typename Stream>
asio::awaitable<bytes> read_frame(Stream& s) {
  bytes b(proto::header_size);
  co_await asio::async_read(s, asio::buffer(b), asio::use_awaitable);
  proto::header h;
  REQUIRE_FALSE(proto::decode_header(b, 1 << 20, h));
  b.resize(h.size);
  co_await asio::async_read(s, asio::buffer(b.data() + proto::header_size, h.size - proto::header_size),
                            asio::use_awaitable);
  co_return b;
}

/// A neighbor of "test-graph" (peer "raw", node `node`) that has done the
/// handshake by hand: the stream, past WELCOME.
template <typename Nodes>
asio::awaitable<typename raw_stream<Nodes>::type> raw_neighbor(Nodes& w, const pg::endpoint& ep,
                                                               std::uint64_t node = 0x1234) {
  auto s = co_await raw_connect(w, ep);
  const auto hello = first_flight(test_graph_id, "raw", node);
  co_await asio::async_write(s, asio::buffer(hello), asio::use_awaitable);
  auto reply = co_await read_frame(s);
  REQUIRE(reply[5] == static_cast<std::uint8_t>(proto::message_type::welcome));
  co_return s;
}

}  // namespace pgtest

#endif  // PEERGRAPH_TESTS_SUPPORT_RAW_PEER_HPP
