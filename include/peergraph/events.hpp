// peergraph/events.hpp: the events a graph reports through subscriptions.
//
// Each event is a plain value type. An application subscribes to the types it
// wants (basic_graph::subscribe<E...>()) and receives them in order; see
// subscription.hpp for delivery, capacity and backpressure.
#ifndef PEERGRAPH_EVENTS_HPP
#define PEERGRAPH_EVENTS_HPP

#include <peergraph/guid.hpp>
#include <peergraph/payload.hpp>
#include <peergraph/types.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace peergraph {

/// The graph's status flags changed (PEER_GRAPH_EVENT_STATUS_CHANGED).
struct status_changed_event {
  graph_status status;
};

/// A neighbor connection was established, ended or could not be made
/// (PEER_GRAPH_EVENT_NEIGHBOR_CONNECTION). Both ends of a link report it.
struct neighbor_connection_event {
  connection_status status = connection_status::connected;
  connection_info connection;
  /// Why it failed or ended; empty for a successful connect and for a
  /// disconnect the local application asked for.
  std::error_code reason;
};

/// A direct connection was established, ended or could not be made
/// (PEER_GRAPH_EVENT_DIRECT_CONNECTION).
struct direct_connection_event {
  connection_status status = connection_status::connected;
  connection_info connection;
  std::error_code reason;
};

/// Typed data arrived on a connection (PEER_GRAPH_EVENT_INCOMING_DATA).
/// `node` and `peer_id` name the sender: the remote end of the connection,
/// as the handshake established it (connection_info::node and ::peer_id).
/// `data` owns the bytes (payload.hpp: small ones inline, no zero-fill;
/// `std::move(ev.data).to_vector()` for a vector).
struct incoming_data_event {
  connection_id connection = 0;
  node_id node = 0;
  std::string peer_id{};
  guid type;
  payload data;
};

/// A node appeared, disappeared or changed in the presence list
/// (PEER_GRAPH_EVENT_NODE_CHANGED). `connected`: the node's presence arrived
/// (it joined, or this node learned of it by synchronization); `disconnected`:
/// it left, withdrew its presence, or its presence expired; `updated`: its
/// addresses or attributes changed. Not reported for the local node.
struct node_changed_event {
  node_change change = node_change::connected;
  node_info node;
};

/// This node lost its last neighbor and needs a new connection
/// (PEER_GRAPH_EVENT_CONNECTION_REQUIRED). With graph_options::auto_connect
/// the graph also tries nodes it knows from presence by itself.
struct connection_required_event {};

/// Every event a graph reports, in one list. The order of this variant is
/// the one place event kinds are numbered: a subscription's event_mask, the
/// engine's routing and the compatibility shim's mapping are all derived from
/// it (graph_event, event_mask).
using any_event = std::variant<status_changed_event, neighbor_connection_event, direct_connection_event,
                               incoming_data_event, node_changed_event, connection_required_event>;

namespace detail {

template <typename E, typename Variant>
struct alternative_index;
template <typename E, typename... Ts>
struct alternative_index<E, std::variant<Ts...>> {
  static constexpr std::size_t find() noexcept {
    constexpr bool match[] = {std::is_same_v<E, Ts>...};
    for (std::size_t i = 0; i < sizeof...(Ts); ++i)
      if (match[i]) return i;
    return sizeof...(Ts);
  }
  static constexpr std::size_t value = find();
  static constexpr bool found = value < sizeof...(Ts);
};

}  // namespace detail

/// An event type a graph reports: one of any_event's alternatives.
template <typename E>
concept graph_event = detail::alternative_index<E, any_event>::found;

/// The position of event type `E` in any_event (`any_event::index()` of such an event).
template <graph_event E>
inline constexpr std::size_t event_index = detail::alternative_index<E, any_event>::value;

namespace detail {
template <std::size_t... I>
constexpr bool alternatives_unique(std::index_sequence<I...>) noexcept {
  return ((alternative_index<std::variant_alternative_t<I, any_event>, any_event>::value == I) && ...);
}
}  // namespace detail
static_assert(detail::alternatives_unique(std::make_index_sequence<std::variant_size_v<any_event>>{}),
              "each event type appears once in any_event");
static_assert(std::variant_size_v<any_event> <= 32, "event_mask holds one bit per event type");

/// A set of event kinds, one bit per alternative of any_event. Chosen at
/// compile time (`event_mask::of<neighbor_connection_event>()`) or at run
/// time (combined with `|`), for basic_graph::subscribe(event_mask).
class event_mask {
 public:
  constexpr event_mask() noexcept = default;

  /// The kinds `Events...`.
  template <graph_event... Events>
  static constexpr event_mask of() noexcept {
    return event_mask(((std::uint32_t{1} << event_index<Events>) | ... | 0u));
  }
  /// Every kind.
  static constexpr event_mask all() noexcept {
    return event_mask((std::uint32_t{1} << std::variant_size_v<any_event>)-1);
  }
  /// From raw bits (bit i is any_event's alternative i); bits beyond the
  /// known kinds are dropped.
  static constexpr event_mask from_bits(std::uint32_t bits) noexcept { return event_mask(bits & all().bits_); }

  constexpr std::uint32_t bits() const noexcept { return bits_; }
  constexpr bool empty() const noexcept { return bits_ == 0; }
  /// True if events with `any_event::index()` equal to `index` are in the set.
  constexpr bool contains_index(std::size_t index) const noexcept { return index < 32 && (bits_ >> index) & 1u; }
  template <graph_event E>
  constexpr bool contains() const noexcept {
    return contains_index(event_index<E>);
  }
  /// True if `ev`'s kind is in the set.
  bool contains(const any_event& ev) const noexcept { return contains_index(ev.index()); }

  friend constexpr event_mask operator|(event_mask a, event_mask b) noexcept { return event_mask(a.bits_ | b.bits_); }
  friend constexpr event_mask operator&(event_mask a, event_mask b) noexcept { return event_mask(a.bits_ & b.bits_); }
  constexpr event_mask& operator|=(event_mask o) noexcept { return *this = *this | o; }
  friend constexpr bool operator==(event_mask, event_mask) noexcept = default;

 private:
  constexpr explicit event_mask(std::uint32_t bits) noexcept : bits_(bits) {}
  std::uint32_t bits_ = 0;
};

}  // namespace peergraph

#endif  // PEERGRAPH_EVENTS_HPP
