// peergraph/options.hpp: graph properties, engine limits and per-call options.
#ifndef PEERGRAPH_OPTIONS_HPP
#define PEERGRAPH_OPTIONS_HPP

#include <peergraph/guid.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace peergraph {

/// PEER_GRAPH_SCOPE.
enum class graph_scope : std::uint32_t { any = 0, global = 1, site_local = 2, link_local = 3, loopback = 4 };

/// The replicated properties of a graph (PEER_GRAPH_PROPERTIES), given when a
/// graph is created. Identifiers are UTF-8 strings of 1 to 255 bytes.
struct graph_properties {
  std::string graph_id{};       ///< names the graph; required
  std::string creator_id{};     ///< the creating peer's id; also the local peer id; required
  std::string friendly_name{};  ///< optional, at most 255 bytes
  std::string comment{};        ///< optional, at most 511 bytes
  graph_scope scope = graph_scope::global;
  /// Seconds a presence record lives unless re-published; nodes re-publish
  /// at half of it. As documented: 300 s (tests use 1 or 2).
  std::uint32_t presence_lifetime_s = 300;
  /// -1: every node publishes presence; 0: no automatic presence (only nodes
  /// that call set_presence(true)); N: at most about N nodes, those with the
  /// N smallest node ids among the publishers (see docs/presence.md).
  std::int32_t presence_max = -1;
  std::uint32_t max_record_size = 0;  ///< 0: the documented default
  /// PEER_GRAPH_PROPERTY_FLAGS (heartbeats 0x1, defer expiration 0x2), replicated with the rest.
  std::uint32_t flags = 0;
};

/// Whether a node accepts direct connections (graph_options::direct_connections).
enum class direct_policy {
  /// Accept while some subscription takes direct_connection_event and some
  /// subscription takes incoming_data_event (what the node could not report
  /// or deliver, it does not accept).
  when_subscribed,
  /// Refuse every direct connection, subscribed or not.
  never,
};

/// Local engine settings. They are not replicated and can differ per node.
///
/// Defaults are chosen for LAN and Internet use; tests shorten the timers.
struct graph_options {
  /// Largest message payload sent or accepted. A send above it fails with
  /// errc::max_message_size_exceeded before anything is queued; an incoming
  /// frame declaring more ends the connection (protocol::error::message_too_large)
  /// before anything is allocated for it.
  std::size_t max_message_size = 16 * 1024 * 1024;
  /// A send completes at once while the connection's outgoing queue holds at
  /// most this many bytes; above it, send waits until the queue has drained
  /// to `send_low_water`.
  std::size_t send_high_water = 4 * 1024 * 1024;
  std::size_t send_low_water = 1 * 1024 * 1024;
  /// Most bytes of graph-level traffic (floods, synchronization answers,
  /// refusals, pings) a link may hold queued and unwritten; the
  /// application's data is not counted (send_high_water bounds it). A
  /// neighbor that stops reading is dropped with
  /// protocol::error::backlog_exceeded rather than let its queue grow.
  /// Synchronization answers are queued 64 KiB at a time as the link
  /// drains, so they fit whatever the size of the presence list.
  std::size_t max_link_backlog = 1024 * 1024;
  /// How long an orderly close waits for queued data and DISCONNECT to be
  /// written before it closes the socket regardless.
  std::chrono::milliseconds close_linger{2'000};
  /// Largest message accepted before the handshake is complete; keeps an
  /// unauthenticated peer from making the node allocate much.
  std::size_t max_handshake_message_size = 16 * 1024;
  /// How long an accepted connection may take to send AUTH_INFO and CONNECT.
  std::chrono::milliseconds handshake_timeout{10'000};
  /// Most accepted connections still in their handshake, in all and from
  /// one source address. A new connection beyond either limit is taken and
  /// the oldest pending one (of that source, for the second) is closed
  /// without a reply or an event, so idle connections cannot keep a
  /// legitimate peer out (docs/limits.md).
  std::size_t max_pending_handshakes = 64;
  std::size_t max_pending_handshakes_per_source = 16;
  /// Most direct connections other nodes opened to this one, in all and
  /// from one source address; a further open is refused BUSY (the opener
  /// gets errc::connection_refused). Direct connections this node opens do
  /// not count.
  std::size_t max_direct_connections = 32;
  std::size_t max_direct_connections_per_source = 8;
  /// Most bytes of large messages in transit (arrived, not yet complete)
  /// across the graph's links, never less than max_message_size. A link
  /// whose message needs more than is left ends with
  /// protocol::error::receive_budget_exceeded.
  std::size_t max_receiving_bytes = 64 * 1024 * 1024;
  /// Default limit for connect() (TCP connect plus handshake).
  std::chrono::milliseconds connect_timeout{30'000};
  /// A neighbor link that has sent nothing for this long sends a keep-alive
  /// ping (PT2PT with the reserved ping type). Zero disables pings.
  std::chrono::milliseconds keepalive_interval{10'000};
  /// An established link from which nothing arrived for this long is dropped
  /// with protocol::error::keepalive_timeout. Zero disables the check.
  std::chrono::milliseconds idle_timeout{35'000};
  /// Bytes read from a socket at once by a quiet link (at least 64). Under
  /// load the read size doubles up to 64 KiB and comes back down as the
  /// link quiets; a frame larger than the buffer grows it only as its bytes
  /// arrive. Small, because an idle connection keeps this much.
  std::size_t read_buffer_size = 1024;
  /// Optional friendly name sent in CONNECT and WELCOME.
  std::string friendly_name{};
  /// Which direct connections this node accepts (the Direct Connection flag
  /// of [MS-PPGRH] 3.1.4.7); a refused opener gets
  /// protocol::error::direct_connection_disallowed.
  direct_policy direct_connections = direct_policy::when_subscribed;

  // Graph maintenance (docs/presence.md).

  /// Keep `target_neighbors` neighbors by connecting to nodes known from
  /// presence, and follow the referrals of a BUSY refusal.
  bool auto_connect = true;
  /// How many neighbors maintenance aims for.
  std::size_t target_neighbors = 3;
  /// Incoming neighbor connections beyond this many neighbors are refused
  /// BUSY with a referral list of some neighbors' addresses.
  std::size_t max_neighbors = 8;
  /// How often maintenance checks the neighbor count.
  std::chrono::milliseconds maintenance_interval{5'000};
  /// Most referrals followed one after another from one connection attempt.
  std::size_t max_referral_hops = 3;
  /// Most entries in the presence list (tombstones included).
  std::size_t max_presence_entries = 10'000;
  /// Most bytes the presence list takes (about 40 per entry, plus its peer
  /// id, attributes and 18 per address). See docs/limits.md for how room is
  /// shared between the links records arrive on.
  std::size_t max_presence_bytes = 4 * 1024 * 1024;
};

/// Options for one connect().
struct connect_options {
  /// The peer id expected at the address. When set it is sent to the remote
  /// node, which refuses if it is not that peer, and the reply is checked.
  std::optional<std::string> peer_id{};
  /// Overrides graph_options::connect_timeout for this call.
  std::optional<std::chrono::milliseconds> timeout{};
  /// The id the new connection gets, so that it is known before the
  /// operation completes (basic_graph::new_connection_id() gives one not in
  /// use). 0: the graph picks one.
  std::uint64_t id = 0;
};

/// Options for one wait_synchronized(), wait_node() or wait_nodes().
struct wait_options {
  /// Give up after this long with errc::timeout; unset: wait until the
  /// condition holds, the operation is cancelled or the graph closes.
  std::optional<std::chrono::milliseconds> timeout{};
  /// wait_node(), wait_nodes(): count only nodes whose presence lists at
  /// least one address, so that open_direct() can reach them. A node
  /// publishes at its first neighbor connection, before it may listen, so
  /// without this a node can be found before it has an address.
  bool with_addresses = false;
};

/// Options for one subscription.
struct subscribe_options {
  /// Most events queued before the producers of further events wait.
  std::size_t max_events = 1024;
  /// Most payload bytes queued (incoming data) before producers wait. A single
  /// event larger than this is still accepted into an empty queue.
  std::size_t max_bytes = 16 * 1024 * 1024;
  /// For incoming data events: only these data types (empty: all types).
  std::vector<guid> data_types{};
};

}  // namespace peergraph

#endif  // PEERGRAPH_OPTIONS_HPP
