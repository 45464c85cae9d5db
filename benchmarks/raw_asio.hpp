// benchmarks/raw_asio.hpp: the plain Asio baseline. Standalone Asio over
// TCP with the same framing peergraph puts on the wire for a message (the
// 28-byte PT2PT header), a writer free to coalesce, and a reader that splits
// frames and hands each payload over in its own vector: the practical limit
// of the stack peergraph is built on.
#ifndef PEERGRAPH_BENCHMARKS_RAW_ASIO_HPP
#define PEERGRAPH_BENCHMARKS_RAW_ASIO_HPP

#include "common.hpp"

#include <array>
#include <new>
#include <system_error>
#include <utility>

namespace bench::raw {

// Sender-side bounds of the baseline, the same as peergraph's defaults
// (graph_options::send_high_water / send_low_water).
inline constexpr std::size_t high_water = 4 * MiB;
inline constexpr std::size_t low_water = 1 * MiB;
// The baseline sender returns to the event loop after appending this much.
inline constexpr std::size_t yield_bytes = 64 * KiB;

// Storage for the baseline's socket buffers, starting one cache line into a
// page. On some CPUs (seen on AMD EPYC under KVM) the kernel copies to and
// from user memory much more slowly for some placements of the user buffer
// relative to the page offsets of the socket's own buffers, such as the 16
// bytes past a page that large heap blocks get. A fixed placement keeps that
// effect out of the baseline.
template <typename T>
struct placed_allocator {
  using value_type = T;
  static constexpr std::align_val_t page{4096};
  static constexpr std::size_t offset = 64;
  placed_allocator() = default;
  template <typename U>
  placed_allocator(const placed_allocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    auto* block = static_cast<std::uint8_t*>(::operator new(n * sizeof(T) + offset, page));
    return reinterpret_cast<T*>(block + offset);
  }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(reinterpret_cast<std::uint8_t*>(p) - offset, page); }
  friend bool operator==(const placed_allocator&, const placed_allocator&) noexcept { return true; }
};
using io_buffer = std::vector<std::uint8_t, placed_allocator<std::uint8_t>>;

// The PT2PT framing: a 28-byte header (total size including the header,
// little endian; version 0x10; type 0x0D; data offset 28; the type GUID)
// followed by the payload.
namespace wire {
constexpr std::size_t header_size = 28;
constexpr std::size_t max_payload = 16 * MiB;
constexpr std::uint8_t version = 0x10;
constexpr std::uint8_t pt2pt = 0x0D;

inline void append_frame(io_buffer& out, const pg::guid::bytes_type& type, const bytes& payload) {
  const auto total = static_cast<std::uint32_t>(header_size + payload.size());
  std::array<std::uint8_t, header_size> h{};
  for (int i = 0; i < 4; ++i) h[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(total >> (8 * i));
  h[4] = version;
  h[5] = pt2pt;
  h[8] = static_cast<std::uint8_t>(header_size);
  std::copy(type.begin(), type.end(), h.begin() + 12);
  out.insert(out.end(), h.begin(), h.end());
  out.insert(out.end(), payload.begin(), payload.end());
}

// Total frame size from a complete header; throws on a malformed one.
inline std::size_t frame_size(const std::uint8_t* h) {
  const std::size_t total =
      std::size_t{h[0]} | std::size_t{h[1]} << 8 | std::size_t{h[2]} << 16 | std::size_t{h[3]} << 24;
  const std::size_t offset = std::size_t{h[8]} | std::size_t{h[9]} << 8;
  if (h[4] != version || h[5] != pt2pt || offset != header_size || total < header_size ||
      total > header_size + max_payload)
    throw std::runtime_error("baseline: malformed frame header");
  return total;
}
}  // namespace wire

// Splits a socket's byte stream into frames and hands each payload, copied
// into its own vector, to a sink.
class frame_reader {
 public:
  static constexpr std::size_t capacity = 256 * KiB;

  frame_reader() : buf_(capacity) {}

  // Delivers exactly `count` frames to `sink`, reading as needed. Bytes
  // beyond the last frame stay buffered for the next call.
  template <typename Sink>
  awaitable<void> read(tcp::socket& s, std::uint64_t count, Sink& sink) {
    std::uint64_t delivered = 0;
    while (delivered < count) {
      while (delivered < count && end_ - beg_ >= wire::header_size) {
        const auto total = wire::frame_size(buf_.data() + beg_);
        if (end_ - beg_ < total) break;
        const auto* p = buf_.data() + beg_ + wire::header_size;
        bytes payload(p, p + (total - wire::header_size));
        sink(std::move(payload));
        beg_ += total;
        ++delivered;
      }
      if (delivered == count) break;
      if (beg_ == end_) beg_ = end_ = 0;
      if (end_ - beg_ >= wire::header_size) {
        const auto total = wire::frame_size(buf_.data() + beg_);
        if (total > capacity) {
          // Larger than the buffer: read the rest straight into the payload.
          bytes payload(total - wire::header_size);
          const auto have = end_ - beg_ - wire::header_size;
          std::memcpy(payload.data(), buf_.data() + beg_ + wire::header_size, have);
          beg_ = end_ = 0;
          auto rest = asio::buffer(payload.data() + have, payload.size() - have);
          co_await asio::async_read(s, rest, asio::use_awaitable);
          sink(std::move(payload));
          ++delivered;
          continue;
        }
        if (total > capacity - beg_) compact();
      } else if (capacity - beg_ < wire::header_size) {
        compact();
      }
      auto space = asio::buffer(buf_.data() + end_, capacity - end_);
      end_ += co_await s.async_read_some(space, asio::use_awaitable);
    }
  }

 private:
  void compact() {
    std::memmove(buf_.data(), buf_.data() + beg_, end_ - beg_);
    end_ -= beg_;
    beg_ = 0;
  }

  io_buffer buf_;
  std::size_t beg_ = 0;
  std::size_t end_ = 0;
};

// The baseline's sending side: frames are appended to `pending_`, which is
// written as a whole whenever no write is under way.
class coalescing_writer {
 public:
  explicit coalescing_writer(tcp::socket& s) : sock_(s), wake_(s.get_executor()) {}

  void append(const pg::guid::bytes_type& type, const bytes& payload) {
    wire::append_frame(pending_, type, payload);
    kick();
  }

  // Bytes appended and not yet written.
  std::size_t queued() const noexcept { return pending_.size() + (busy_ ? writing_.size() : 0); }

  // Waits until at most `limit` bytes are queued.
  awaitable<void> wait_below(std::size_t limit) {
    while (queued() > limit && !error_) {
      wake_.expires_at(asio::steady_timer::time_point::max());
      co_await wake_.async_wait(nothrow);
    }
    if (error_) throw std::system_error(error_, "baseline write");
  }

 private:
  struct on_written {
    coalescing_writer* w;
    void operator()(std::error_code ec, std::size_t) const { w->written(ec); }
  };

  void kick() {
    if (busy_ || pending_.empty() || error_) return;
    busy_ = true;
    pending_.swap(writing_);
    asio::async_write(sock_, asio::buffer(writing_), on_written{this});
  }

  void written(std::error_code ec) {
    busy_ = false;
    writing_.clear();
    if (ec) error_ = ec;
    kick();
    wake_.cancel();
  }

  tcp::socket& sock_;
  asio::steady_timer wake_;
  io_buffer pending_;
  io_buffer writing_;
  bool busy_ = false;
  std::error_code error_;
};

// Keeps the last payload, so the allocation of every payload is observable.
struct keep_last {
  bytes last;
  void operator()(bytes&& p) { last = std::move(p); }
};

// Checks order and size of a stream of payloads.
struct check_stream {
  std::uint64_t next = 0;
  std::size_t size = 0;
  bytes last;
  void operator()(bytes&& p) {
    verify(p, next++, size);
    last = std::move(p);
  }
};

struct socket_pair {
  explicit socket_pair(asio::io_context& io) : acceptor(io), client(io), server(io), writer(client) {}
  tcp::acceptor acceptor;
  tcp::socket client;  // sends the stream, sends pings
  tcp::socket server;  // receives the stream, echoes
  frame_reader client_reader;
  frame_reader server_reader;
  coalescing_writer writer;
};

inline awaitable<void> open_pair(socket_pair& p) {
  const tcp::endpoint any(asio::ip::make_address("::1"), 0);
  p.acceptor.open(any.protocol());
  p.acceptor.bind(any);
  p.acceptor.listen();
  const auto ep = p.acceptor.local_endpoint();
  co_await p.client.async_connect(ep, asio::use_awaitable);
  co_await p.acceptor.async_accept(p.server, asio::use_awaitable);
  p.client.set_option(tcp::no_delay(true));
  p.server.set_option(tcp::no_delay(true));
}

inline awaitable<void> stream_send(coalescing_writer& w, bytes& payload, std::uint64_t count) {
  const auto type = stream_type.to_windows_bytes();
  std::size_t since_yield = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    stamp(payload, i);
    w.append(type, payload);
    since_yield += payload.size() + wire::header_size;
    if (w.queued() > high_water) {
      co_await w.wait_below(low_water);
      since_yield = 0;
    } else if (since_yield >= yield_bytes) {
      co_await asio::post(asio::use_awaitable);
      since_yield = 0;
    }
  }
}

// One stream repetition; returns the seconds from the first send to the
// last message received.
inline awaitable<double> stream_once(socket_pair& p, std::size_t size, std::uint64_t count) {
  auto payload = make_payload(size);
  check_stream sink;
  sink.size = size;
  done_flag sender;
  const auto t0 = clock_type::now();
  asio::co_spawn(p.client.get_executor(), stream_send(p.writer, payload, count), mark_done{&sender});
  try {
    co_await p.server_reader.read(p.server, count, sink);
  } catch (const std::exception& e) {
    fail(e.what());
  }
  const double secs = seconds_since(t0);
  co_await wait_done(sender);
  co_return secs;
}

// The physical line: `total` bytes with no framing at all, written in
// 256 KiB chunks and read into a 256 KiB buffer. What loopback TCP carries
// between two Asio sockets on this machine, whatever the message size.
inline awaitable<void> bytes_send(tcp::socket& s, std::uint64_t total) {
  io_buffer chunk(256 * KiB, 0x5a);
  while (total > 0) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(total, chunk.size()));
    auto b = asio::buffer(chunk.data(), n);
    co_await asio::async_write(s, b, asio::use_awaitable);
    total -= n;
  }
}

inline awaitable<double> bytes_once(socket_pair& p, std::uint64_t total) {
  io_buffer in(256 * KiB);
  done_flag sender;
  const auto t0 = clock_type::now();
  asio::co_spawn(p.client.get_executor(), bytes_send(p.client, total), mark_done{&sender});
  std::uint64_t got = 0;
  while (got < total) {
    auto b = asio::buffer(in);
    got += co_await p.server.async_read_some(b, asio::use_awaitable);
  }
  const double secs = seconds_since(t0);
  co_await wait_done(sender);
  co_return secs;
}

inline awaitable<void> echo_loop(socket_pair& p, std::uint64_t count) {
  const auto type = ping_type.to_windows_bytes();
  keep_last in;
  io_buffer out;
  for (std::uint64_t i = 0; i < count; ++i) {
    co_await p.server_reader.read(p.server, 1, in);
    out.clear();
    wire::append_frame(out, type, in.last);
    auto b = asio::buffer(out);
    co_await asio::async_write(p.server, b, asio::use_awaitable);
  }
}

inline awaitable<void> pingpong_once(socket_pair& p, std::size_t size, int warmup, int iters,
                                     std::vector<double>& rtt_us) {
  const auto type = ping_type.to_windows_bytes();
  auto payload = make_payload(size);
  done_flag echoer;
  const auto total = static_cast<std::uint64_t>(warmup + iters);
  asio::co_spawn(p.server.get_executor(), echo_loop(p, total), mark_done{&echoer});
  keep_last in;
  io_buffer out;
  try {
    for (std::uint64_t i = 0; i < total; ++i) {
      stamp(payload, i);
      const auto t0 = clock_type::now();
      out.clear();
      wire::append_frame(out, type, payload);
      auto b = asio::buffer(out);
      co_await asio::async_write(p.client, b, asio::use_awaitable);
      co_await p.client_reader.read(p.client, 1, in);
      const double us = seconds_since(t0) * 1e6;
      verify(in.last, i, size);
      if (i >= static_cast<std::uint64_t>(warmup)) rtt_us.push_back(us);
    }
  } catch (const std::exception& e) {
    fail(e.what());
  }
  co_await wait_done(echoer);
}

}  // namespace bench::raw

#endif  // PEERGRAPH_BENCHMARKS_RAW_ASIO_HPP
