// peergraph/transport.hpp: the seam between the engine and the byte streams it uses.
//
// The engine never names a socket type. It asks its Transport for:
//
//   using endpoint_type = peergraph::endpoint;
//   template <class Executor> using stream   = ...;  // AsyncReadStream + AsyncWriteStream, with
//                                                     // get_executor(), close(ec),
//                                                     // remote_endpoint(ec), local_endpoint(ec)
//   template <class Executor> using listener = ...;  // async_accept(handler(ec, stream)) giving a
//                                                     // stream on the listener's executor,
//                                                     // get_executor(), local_endpoint(ec), close(ec)
//   template <class Executor>
//   listener<Executor> listen(const Executor&, const endpoint_type&, std::error_code&);
//   template <class Executor, class Handler>
//   void async_connect(stream<Executor>&, const endpoint_type&, Handler&&);   // void(error_code)
//   template <class Executor> stream<Executor> make_stream(const Executor&);
//   template <class Executor> void prepare_accepted(stream<Executor>&);     // on every accepted stream
//
// A transport object is copied into every graph that uses it, so it can carry
// a reference to shared state (an in-memory network, a TLS context). The
// protocol code sees only bytes; the public API sees only endpoints. A TLS
// transport wraps the stream; the in-memory transport (memory_transport.hpp)
// maps endpoints to in-process pipes.
#ifndef PEERGRAPH_TRANSPORT_HPP
#define PEERGRAPH_TRANSPORT_HPP

#include <peergraph/types.hpp>

#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/v6_only.hpp>

#include <system_error>
#include <utility>

namespace peergraph {

/// Plain TCP over IPv6 or IPv4, Nagle disabled.
///
/// Thread safety: stateless; any number of graphs may share it.
class tcp_transport {
 public:
  using endpoint_type = endpoint;
  template <typename Executor>
  using stream = asio::basic_stream_socket<asio::ip::tcp, Executor>;
  template <typename Executor>
  using listener = asio::basic_socket_acceptor<asio::ip::tcp, Executor>;

  template <typename Executor>
  stream<Executor> make_stream(const Executor& ex) const {
    return stream<Executor>(ex);
  }

  /// Opens, binds and listens. An IPv6 wildcard listener also accepts IPv4
  /// (dual stack) where the system allows it.
  template <typename Executor>
  listener<Executor> listen(const Executor& ex, const endpoint_type& ep, std::error_code& ec) const {
    listener<Executor> acc(ex);
    acc.open(ep.protocol(), ec);
    if (ec) return acc;
    acc.set_option(asio::socket_base::reuse_address(true), ec);
    if (ep.address().is_v6() && ep.address().is_unspecified()) acc.set_option(asio::ip::v6_only(false), ec);
    ec.clear();
    acc.bind(ep, ec);
    if (ec) return acc;
    acc.listen(asio::socket_base::max_listen_connections, ec);
    return acc;
  }

  template <typename Executor, typename Handler>
  void async_connect(stream<Executor>& s, const endpoint_type& ep, Handler&& handler) const {
    s.async_connect(ep, [&s, h = std::forward<Handler>(handler)](std::error_code ec) mutable {
      if (!ec) {
        std::error_code ignored;
        s.set_option(asio::ip::tcp::no_delay(true), ignored);
      }
      std::move(h)(ec);
    });
  }

  /// Called on every accepted stream before use.
  template <typename Executor>
  void prepare_accepted(stream<Executor>& s) const {
    std::error_code ignored;
    s.set_option(asio::ip::tcp::no_delay(true), ignored);
  }
};

}  // namespace peergraph

#endif  // PEERGRAPH_TRANSPORT_HPP
