// benchmarks/zeromq.cpp: the ZeroMQ baseline (see zeromq.hpp).
#include "zeromq.hpp"

#include <fmt/core.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <zmq.h>

namespace bench::zeromq {
namespace {

using clock_type = std::chrono::steady_clock;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "peergraph-bench: zeromq: %s: %s\n", what, zmq_strerror(zmq_errno()));
  std::fflush(stdout);
  std::_Exit(1);
}

void check(int rc, const char* what) {
  if (rc < 0) fail(what);
}

void set_int(void* sock, int option, int value) {
  check(zmq_setsockopt(sock, option, &value, sizeof value), "zmq_setsockopt");
}

void* make_socket(void* ctx, int type) {
  void* s = zmq_socket(ctx, type);
  if (!s) fail("zmq_socket");
  set_int(s, ZMQ_SNDHWM, hwm);
  set_int(s, ZMQ_RCVHWM, hwm);
  set_int(s, ZMQ_LINGER, 0);
  return s;
}

void stamp(std::uint8_t* p, std::uint64_t seq) { std::memcpy(p, &seq, sizeof seq); }

void verify(zmq_msg_t& msg, std::uint64_t seq, std::size_t size) {
  std::uint64_t got = ~seq;
  const auto n = zmq_msg_size(&msg);
  if (n == size && size >= sizeof got) std::memcpy(&got, zmq_msg_data(&msg), sizeof got);
  if (n != size || got != seq) {
    const auto what = fmt::format("bad message: expected #{} of {} bytes, got #{} of {} bytes", seq, size, got, n);
    std::fprintf(stderr, "peergraph-bench: zeromq: %s\n", what.c_str());
    std::_Exit(1);
  }
}

std::vector<std::uint8_t> make_payload(std::size_t size) {
  std::vector<std::uint8_t> b(size);
  for (std::size_t i = 0; i < size; ++i) b[i] = static_cast<std::uint8_t>(i * 131 + 7);
  return b;
}

}  // namespace

bound_socket::bound_socket(int type) {
  ctx_ = zmq_ctx_new();
  if (!ctx_) fail("zmq_ctx_new");
  sock_ = make_socket(ctx_, type);
  check(zmq_bind(sock_, "tcp://127.0.0.1:*"), "zmq_bind");
  char buf[256];
  std::size_t len = sizeof buf;
  check(zmq_getsockopt(sock_, ZMQ_LAST_ENDPOINT, buf, &len), "ZMQ_LAST_ENDPOINT");
  endpoint_ = buf;
}

bound_socket::~bound_socket() {
  zmq_close(sock_);
  zmq_ctx_term(ctx_);
}

// ------------------------------------------------------------------ stream

stream_link::stream_link() : pull_(ZMQ_PULL) {
  push_ = make_socket(pull_.context(), ZMQ_PUSH);
  check(zmq_connect(push_, pull_.endpoint().c_str()), "zmq_connect");
}

stream_link::~stream_link() { zmq_close(push_); }

double stream_link::once(std::size_t size, std::uint64_t count) {
  auto payload = make_payload(size);
  const auto t0 = clock_type::now();
  std::thread sender([this, &payload, count] {
    for (std::uint64_t i = 0; i < count; ++i) {
      stamp(payload.data(), i);
      check(zmq_send(push_, payload.data(), payload.size(), 0), "zmq_send");
    }
  });
  zmq_msg_t msg;
  zmq_msg_init(&msg);
  for (std::uint64_t i = 0; i < count; ++i) {
    check(zmq_msg_recv(&msg, pull_.socket(), 0), "zmq_msg_recv");
    verify(msg, i, size);
  }
  const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  zmq_msg_close(&msg);
  sender.join();
  return secs;
}

// ------------------------------------------------------------------ request / reply

echo_server::echo_server() : rep_(ZMQ_REP) {
  void* rep = rep_.socket();
  thread_ = std::thread([rep] {
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    for (;;) {
      check(zmq_msg_recv(&msg, rep, 0), "zmq_msg_recv (echo)");
      const bool last = zmq_msg_size(&msg) == 0;
      check(zmq_msg_send(&msg, rep, 0), "zmq_msg_send (echo)");
      if (last) break;
    }
    zmq_msg_close(&msg);
  });
}

echo_server::~echo_server() {
  // A request of zero bytes ends the echo thread.
  void* req = make_socket(rep_.context(), ZMQ_REQ);
  check(zmq_connect(req, rep_.endpoint().c_str()), "zmq_connect");
  check(zmq_send(req, nullptr, 0, 0), "zmq_send");
  char c;
  check(zmq_recv(req, &c, 1, 0), "zmq_recv");
  zmq_close(req);
  thread_.join();
}

request_link::request_link() {
  req_ = make_socket(server_.context(), ZMQ_REQ);
  check(zmq_connect(req_, server_.endpoint().c_str()), "zmq_connect");
}

request_link::~request_link() { zmq_close(req_); }

void request_link::once(std::size_t size, int warmup, int iters, std::vector<double>& rtt_us) {
  auto payload = make_payload(size);
  zmq_msg_t msg;
  zmq_msg_init(&msg);
  const auto total = static_cast<std::uint64_t>(warmup + iters);
  for (std::uint64_t i = 0; i < total; ++i) {
    stamp(payload.data(), i);
    const auto t0 = clock_type::now();
    check(zmq_send(req_, payload.data(), payload.size(), 0), "zmq_send");
    check(zmq_msg_recv(&msg, req_, 0), "zmq_msg_recv");
    const double us = std::chrono::duration<double, std::micro>(clock_type::now() - t0).count();
    verify(msg, i, size);
    if (i >= static_cast<std::uint64_t>(warmup)) rtt_us.push_back(us);
  }
  zmq_msg_close(&msg);
}

double connect_round_trip_us(echo_server& server) {
  auto payload = make_payload(64);
  zmq_msg_t msg;
  zmq_msg_init(&msg);
  const auto t0 = clock_type::now();
  void* req = make_socket(server.context(), ZMQ_REQ);
  check(zmq_connect(req, server.endpoint().c_str()), "zmq_connect");
  stamp(payload.data(), 0);
  check(zmq_send(req, payload.data(), payload.size(), 0), "zmq_send");
  check(zmq_msg_recv(&msg, req, 0), "zmq_msg_recv");
  const double us = std::chrono::duration<double, std::micro>(clock_type::now() - t0).count();
  verify(msg, 0, 64);
  zmq_msg_close(&msg);
  zmq_close(req);
  return us;
}

}  // namespace bench::zeromq
