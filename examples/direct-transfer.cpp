// direct-transfer: moves a file or a generated blob over a direct connection
// between two nodes on loopback, checks its hash on arrival and reports the
// throughput.
//
//   direct-transfer [--file PATH | --size BYTES] [--chunk BYTES]
//
// The sender announces the size, sends the data in chunks (each chunk one
// message, handed over without a copy), then the hash; the receiver hashes
// what arrives and compares. A progress line is shown on stderr while the
// transfer runs for more than a moment.
#include <peergraph/peergraph.hpp>

#include <asio.hpp>
#include <fmt/core.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <span>
#include <string>

namespace pg = peergraph;
using asio::awaitable;
using namespace std::chrono_literals;

namespace {

constexpr auto begin_type = pg::guid::from_fields(0x7d1f0001, 0x5a2e, 0x4c11, {0x9b, 0x01, 0, 0, 0, 0, 0, 1});
constexpr auto chunk_type = pg::guid::from_fields(0x7d1f0001, 0x5a2e, 0x4c11, {0x9b, 0x01, 0, 0, 0, 0, 0, 2});
constexpr auto end_type = pg::guid::from_fields(0x7d1f0001, 0x5a2e, 0x4c11, {0x9b, 0x01, 0, 0, 0, 0, 0, 3});

// FNV-1a over 64-bit words: cheap, and enough to show that the bytes
// arrived unchanged and in order. Chunk boundaries do not change the result
// as long as every chunk but the last is a multiple of 8 bytes.
struct hasher {
  std::uint64_t h = 1469598103934665603ull;
  void update(const std::uint8_t* p, std::size_t n) {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      std::uint64_t w;
      std::memcpy(&w, p + i, 8);
      h = (h ^ w) * 1099511628211ull;
    }
    for (; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  }
};

std::vector<std::uint8_t> u64_bytes(std::uint64_t v) {
  std::vector<std::uint8_t> b(8);
  std::memcpy(b.data(), &v, 8);
  return b;
}
std::uint64_t read_u64(std::span<const std::uint8_t> b) {
  std::uint64_t v = 0;
  if (b.size() == 8) std::memcpy(&v, b.data(), 8);
  return v;
}

struct source {
  std::optional<std::ifstream> file;
  std::uint64_t size = 0;
  std::uint64_t produced = 0;
  std::uint64_t state = 0x12345678;

  // The next chunk: from the file, or pseudo-random bytes.
  std::vector<std::uint8_t> next(std::size_t max) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(max, size - produced));
    std::vector<std::uint8_t> out(n);
    if (file) {
      file->read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(n));
      out.resize(static_cast<std::size_t>(file->gcount()));
    } else {
      for (std::size_t i = 0; i < n; i += 8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        std::memcpy(out.data() + i, &state, std::min<std::size_t>(8, n - i));
      }
    }
    produced += out.size();
    return out;
  }
};

awaitable<void> send_all(pg::connection conn, source& src, std::size_t chunk, std::uint64_t& hash_out) {
  auto announce = u64_bytes(src.size);
  co_await conn.send(begin_type, std::move(announce));
  hasher h;
  while (src.produced < src.size) {
    auto piece = src.next(chunk);
    if (piece.empty()) break;  // the file ended early
    h.update(piece.data(), piece.size());
    co_await conn.send(chunk_type, std::move(piece));  // taken over: no copy
  }
  auto digest = u64_bytes(h.h);
  co_await conn.send(end_type, std::move(digest));
  co_await conn.flush();
  hash_out = h.h;
}

struct result {
  std::uint64_t bytes = 0;
  std::uint64_t hash_seen = 0;
  std::uint64_t hash_sent = 0;
  double seconds = 0;
};

awaitable<void> receive_all(pg::subscription<pg::direct_connection_event, pg::incoming_data_event>& events, result& r) {
  hasher h;
  std::uint64_t expected = 0;
  auto start = std::chrono::steady_clock::now();
  auto last_report = start;
  bool showed_progress = false;
  for (;;) {
    auto ev = co_await events.receive();
    auto* data = std::get_if<pg::incoming_data_event>(&ev);
    if (!data) continue;
    if (data->type == begin_type) {
      expected = read_u64(data->data);
      start = last_report = std::chrono::steady_clock::now();
    } else if (data->type == chunk_type) {
      h.update(data->data.data(), data->data.size());
      r.bytes += data->data.size();
      const auto now = std::chrono::steady_clock::now();
      if (now - last_report > 250ms && expected > 0) {
        const double secs = std::chrono::duration<double>(now - start).count();
        std::fprintf(stderr, "\r%5.1f%%  %8.1f MiB  %8.1f MiB/s",
                     100.0 * static_cast<double>(r.bytes) / static_cast<double>(expected),
                     static_cast<double>(r.bytes) / (1 << 20), static_cast<double>(r.bytes) / (1 << 20) / secs);
        last_report = now;
        showed_progress = true;
      }
    } else if (data->type == end_type) {
      r.hash_sent = read_u64(data->data);
      r.hash_seen = h.h;
      r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (showed_progress) std::fprintf(stderr, "\n");
      co_return;
    }
  }
}

awaitable<void> run(asio::io_context& io, source& src, std::size_t chunk, result& r) {
  auto alice = pg::graph::create(io, {.graph_id = "transfer", .creator_id = "alice"});
  auto bob = pg::graph::open(io, "transfer", "bob");
  // Subscribing to direct connections and data is what lets alice accept.
  auto events = alice.subscribe<pg::direct_connection_event, pg::incoming_data_event>();
  const auto where = alice.listen({asio::ip::make_address("::1"), 0});
  auto conn = co_await bob.open_direct("alice", where);
  std::uint64_t sent_hash = 0;
  // A failed send ends the program with its error rather than a hang.
  asio::co_spawn(io, send_all(conn, src, chunk, sent_hash), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  co_await receive_all(events, r);
  co_await conn.close();
}

}  // namespace

int main(int argc, char** argv) {
  source src;
  src.size = 256ull << 20;
  std::size_t chunk = 256 * 1024;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string opt = argv[i];
    if (opt == "--file") {
      src.file.emplace(argv[i + 1], std::ios::binary);
      if (!*src.file) {
        std::fprintf(stderr, "direct-transfer: cannot open %s\n", argv[i + 1]);
        return 1;
      }
      src.file->seekg(0, std::ios::end);
      src.size = static_cast<std::uint64_t>(src.file->tellg());
      src.file->seekg(0);
    } else if (opt == "--size") {
      src.size = std::strtoull(argv[i + 1], nullptr, 10);
    } else if (opt == "--chunk") {
      chunk = std::strtoull(argv[i + 1], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: direct-transfer [--file PATH | --size BYTES] [--chunk BYTES]\n");
      return 2;
    }
  }
  if (chunk == 0 || chunk % 8 != 0 || chunk > 16u * 1024 * 1024) {
    std::fprintf(stderr, "direct-transfer: --chunk must be a multiple of 8 up to 16777216\n");
    return 2;
  }
  asio::io_context io;
  result r;
  std::exception_ptr failure;
  asio::co_spawn(io, run(io, src, chunk, r), [&](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "direct-transfer: %s\n", e.what());
      return 1;
    }
  }
  const bool ok = r.bytes == src.size && r.hash_seen == r.hash_sent;
  fmt::print("{} bytes in {:.3f} s, {:.1f} MiB/s, hash {:016x} {}\n", r.bytes, r.seconds,
             r.seconds > 0 ? static_cast<double>(r.bytes) / (1 << 20) / r.seconds : 0.0, r.hash_seen,
             ok ? "verified" : "MISMATCH");
  return ok ? 0 : 1;
}
