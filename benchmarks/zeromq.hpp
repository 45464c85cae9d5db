// benchmarks/zeromq.hpp: the ZeroMQ baseline, through libzmq's C API.
//
// Each link lives in its own zmq context with the default single I/O thread
// and the default high water marks (1000 messages each way, set explicitly).
// ZeroMQ calls block, so a link sends from a thread of its own while the
// caller receives: unlike the peergraph and Asio figures, which run both
// ends on one thread, a ZeroMQ figure uses three threads (sender, receiver,
// ZeroMQ's I/O thread). That is how it is used.
#ifndef PEERGRAPH_BENCHMARKS_ZEROMQ_HPP
#define PEERGRAPH_BENCHMARKS_ZEROMQ_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace bench::zeromq {

// High water mark used for every socket (ZeroMQ's default).
inline constexpr int hwm = 1000;

// A context with one socket bound to an ephemeral tcp://127.0.0.1 port.
class bound_socket {
 public:
  explicit bound_socket(int type);
  ~bound_socket();
  bound_socket(const bound_socket&) = delete;
  bound_socket& operator=(const bound_socket&) = delete;

  void* context() const noexcept { return ctx_; }
  void* socket() const noexcept { return sock_; }
  const std::string& endpoint() const noexcept { return endpoint_; }

 private:
  void* ctx_ = nullptr;
  void* sock_ = nullptr;
  std::string endpoint_;
};

// PUSH connected to PULL. once() sends `count` messages of `size` bytes,
// one zmq_send each, from a second thread, receives and checks them on the
// calling thread, and returns the seconds from the first send to the last
// message received.
class stream_link {
 public:
  stream_link();
  ~stream_link();
  stream_link(const stream_link&) = delete;
  stream_link& operator=(const stream_link&) = delete;

  double once(std::size_t size, std::uint64_t count);

 private:
  bound_socket pull_;
  void* push_ = nullptr;
};

// A REP socket echoing every request on a thread of its own, until a
// request of zero bytes. Clients are REQ sockets in the same context.
class echo_server {
 public:
  echo_server();
  ~echo_server();
  echo_server(const echo_server&) = delete;
  echo_server& operator=(const echo_server&) = delete;

  void* context() const noexcept { return rep_.context(); }
  const std::string& endpoint() const noexcept { return rep_.endpoint(); }

 private:
  bound_socket rep_;
  std::thread thread_;
};

// REQ / REP round trips: `warmup + iters` requests of `size` bytes, each
// waiting for its reply; the round trips after the warm-up are appended to
// `rtt_us` in microseconds.
class request_link {
 public:
  request_link();
  ~request_link();
  request_link(const request_link&) = delete;
  request_link& operator=(const request_link&) = delete;

  void once(std::size_t size, int warmup, int iters, std::vector<double>& rtt_us);

 private:
  echo_server server_;
  void* req_ = nullptr;
};

// Connection setup: a new REQ socket connects to the echo server and makes
// one round trip of 64 bytes (socket, TCP connect, ZMTP handshake, request,
// reply); returns the microseconds that took. The socket is closed after
// the clock stops.
double connect_round_trip_us(echo_server& server);

}  // namespace bench::zeromq

#endif  // PEERGRAPH_BENCHMARKS_ZEROMQ_HPP
