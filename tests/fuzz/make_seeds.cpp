// Writes the seed corpora of the fuzz harnesses, made with peergraph's own
// encoders: make_seeds DIR creates DIR/messages, DIR/link_input and
// DIR/engine, one file per seed.
#include <peergraph/protocol/handshake_messages.hpp>
#include <peergraph/protocol/presence.hpp>
#include <peergraph/protocol/pt2pt.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace pg = peergraph;
namespace pp = peergraph::protocol;
using bytes = std::vector<std::uint8_t>;

namespace {

template <typename M>
bytes enc(const M& m) {
  bytes b;
  pp::encode(m, b);
  return b;
}

bytes cat(std::initializer_list<bytes> parts) {
  bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

bytes pt2pt(std::size_t n) {
  bytes b;
  pp::encode_pt2pt_header(pg::guid::from_fields(1, 2, 3, {4, 5, 6, 7, 8, 9, 10, 11}), n, b);
  b.resize(b.size() + n, 0x42);
  return b;
}

pp::presence_entry presence(std::uint64_t node, std::uint32_t version) {
  pp::presence_entry p;
  p.node_id = node;
  p.peer_id = "peer-" + std::to_string(node);
  p.version = version;
  p.lifetime_ms = 60'000;
  p.addresses = {pp::address::v4(192, 0, 2, 7, 4100)};
  p.attributes = "seed";
  return p;
}

void write(const std::filesystem::path& dir, const std::string& name, const bytes& b) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// One engine step: control byte, argument byte, frame.
bytes step(std::uint8_t ctl, std::uint8_t arg, const bytes& frame) { return cat({{ctl, arg}, frame}); }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  const std::filesystem::path root = argv[1];

  pp::auth_info auth{pp::connection_type::neighbor, "g", "bob", std::string("alice")};
  pp::connect conn;
  conn.update = true;
  conn.source_node_id = 2;
  conn.addresses = {pp::address::v4(192, 0, 2, 9, 4000)};
  conn.friendly_name = "bob";
  pp::welcome wel;
  wel.node_id = 1;
  wel.peer_time = 133'000'000'000'000'000ull;
  wel.addresses = {pp::address::v4(192, 0, 2, 1, 4000)};
  wel.peer_id = "alice";
  wel.friendly_name = "alice";
  pp::refuse busy{pp::refuse_code::busy, {pp::address::v4(192, 0, 2, 3, 4000)}};
  pp::graph_info info;
  info.version = 2;
  info.creator_id = "alice";
  info.friendly_name = "seed graph";
  info.presence_lifetime_s = 300;
  info.presence_max = -1;
  const auto flood = enc(pp::flood{false, presence(0x77, 1)});
  const auto sync_flood = enc(pp::flood{true, presence(0x78, 3)});
  const auto info_flood = enc(pp::flood{false, info});

  const std::vector<std::pair<std::string, bytes>> messages{
      {"auth_info", enc(auth)},
      {"connect", enc(conn)},
      {"welcome", enc(wel)},
      {"refuse", enc(busy)},
      {"disconnect", enc(pp::disconnect{})},
      {"flood", flood},
      {"flood_sync", sync_flood},
      {"flood_info", info_flood},
      {"solicit_new", enc(pp::solicit_new{})},
      {"sync_end", enc(pp::sync_end{})},
      {"pt2pt_small", pt2pt(10)},
      {"pt2pt_large", pt2pt(1000)},
  };
  for (const auto& [name, b] : messages) write(root / "messages", name, b);
  write(root / "messages", "all", [&] {
    bytes all;
    for (const auto& [name, b] : messages) all.insert(all.end(), b.begin(), b.end());
    return all;
  }());

  // link_input: first byte = read size and side (0x80: responder).
  write(root / "link_input", "responder_flight", cat({{0x81}, enc(auth), enc(conn)}));
  write(root / "link_input", "responder_flight_small_reads", cat({{0x80}, enc(auth), enc(conn), pt2pt(2000)}));
  write(root / "link_input", "initiator_welcome", cat({{0x05}, enc(wel), pt2pt(300)}));
  write(root / "link_input", "initiator_refused", cat({{0x10}, enc(busy)}));

  // engine: link 0 or 1, sometimes a tick.
  write(root / "engine", "floods",
        cat({step(0, 0, flood), step(1, 0, sync_flood), step(2, 8, enc(pp::sync_end{})), step(0, 0, info_flood)}));
  write(root / "engine", "solicits",
        cat({step(0, 0, enc(pp::solicit_new{})), step(0, 0, enc(pp::solicit_new{})),
             step(3, 200, enc(pp::solicit_new{}))}));
  bytes many;
  for (std::uint64_t n = 1; n <= 40; ++n) {
    const auto f = enc(pp::flood{false, presence(0x1000 + n, 1)});
    many.insert(many.end(), {static_cast<std::uint8_t>(n & 1), 0});
    many.insert(many.end(), f.begin(), f.end());
  }
  write(root / "engine", "fill_table", many);
  return 0;
}
