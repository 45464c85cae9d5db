// peergraph/events.hpp: the events a graph reports through subscriptions.
//
// Each event is a plain value type. An application subscribes to the types it
// wants (basic_graph::subscribe<E...>()) and receives them in order; see
// subscription.hpp for delivery, capacity and backpressure.
#ifndef PEERGRAPH_EVENTS_HPP
#define PEERGRAPH_EVENTS_HPP

#include <peergraph/guid.hpp>
#include <peergraph/types.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <system_error>
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
struct incoming_data_event {
  connection_id connection = 0;
  guid type;
  std::vector<std::uint8_t> data;
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

namespace detail {

// The index of each event type in the engine's event variant; also its bit in
// a subscription's mask.
template <typename E>
struct event_index;
template <>
struct event_index<status_changed_event> : std::integral_constant<unsigned, 0> {};
template <>
struct event_index<neighbor_connection_event> : std::integral_constant<unsigned, 1> {};
template <>
struct event_index<direct_connection_event> : std::integral_constant<unsigned, 2> {};
template <>
struct event_index<incoming_data_event> : std::integral_constant<unsigned, 3> {};
template <>
struct event_index<node_changed_event> : std::integral_constant<unsigned, 4> {};
template <>
struct event_index<connection_required_event> : std::integral_constant<unsigned, 5> {};

template <typename E>
concept graph_event = requires { event_index<E>::value; };

}  // namespace detail
}  // namespace peergraph

#endif // PEERGRAPH_EVENTS_HPP
