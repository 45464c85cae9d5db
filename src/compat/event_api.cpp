// src/compat/event_api.cpp: RegisterEvent, UnregisterEvent, GetEventData.
//
// A registration is one core subscription to the kinds its event types map
// to, chosen at run time. When GetEventData finds it empty, one receive()
// is started; the next event completes it, is kept, and sets the Win32 event.
#include "block.hpp"
#include "convert.hpp"
#include "runtime.hpp"
#include "win32_event.hpp"
#include <peergraph/compat/p2p.h>
#include <peergraph/events.hpp>
#include <peergraph/graph.hpp>

#include <cstddef>
#include <cstring>
#include <memory>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace peergraph::compat {

namespace {

struct event_type_row {
  PEER_GRAPH_EVENT_TYPE type;
  event_mask kinds;
};

/// Every PEER_GRAPH_EVENT_TYPE, in value order, and the core's kinds it
/// takes. An empty mask is a type the core never reports: it may be
/// registered and is never signalled.
constexpr event_type_row event_types[] = {
    {PEER_GRAPH_EVENT_STATUS_CHANGED, event_mask::of<status_changed_event>()},
    {PEER_GRAPH_EVENT_PROPERTY_CHANGED, event_mask{}},  // the core reports no property changes
    {PEER_GRAPH_EVENT_RECORD_CHANGED, event_mask{}},    // no records
    {PEER_GRAPH_EVENT_DIRECT_CONNECTION, event_mask::of<direct_connection_event>()},
    {PEER_GRAPH_EVENT_NEIGHBOR_CONNECTION, event_mask::of<neighbor_connection_event>()},
    {PEER_GRAPH_EVENT_INCOMING_DATA, event_mask::of<incoming_data_event>()},
    {PEER_GRAPH_EVENT_CONNECTION_REQUIRED, event_mask::of<connection_required_event>()},
    {PEER_GRAPH_EVENT_NODE_CHANGED, event_mask::of<node_changed_event>()},
    {PEER_GRAPH_EVENT_SYNCHRONIZED, event_mask{}},  // no record types to synchronize
};

constexpr bool in_value_order() {
  for (std::size_t i = 0; i < std::size(event_types); ++i)
    if (static_cast<std::size_t>(event_types[i].type) != i + 1) return false;
  return true;
}
constexpr bool each_kind_once() {
  event_mask seen;
  for (const auto& row : event_types) {
    if (!(seen & row.kinds).empty()) return false;
    seen |= row.kinds;
  }
  return seen == event_mask::all();
}
static_assert(in_value_order(), "event_types lists PEER_GRAPH_EVENT_TYPE 1, 2, ... in order");
static_assert(each_kind_once(), "every event kind the core reports maps from exactly one PEER_GRAPH_EVENT_TYPE");

/// The kinds of a registration's event type; nullopt for a value that is
/// none. The value is read as stored: C code may store any int there, which
/// in C++ is no value of the enumeration and must not be loaded as one.
std::optional<event_mask> kinds_of(const PEER_GRAPH_EVENT_REGISTRATION& r) {
  std::underlying_type_t<PEER_GRAPH_EVENT_TYPE> value;
  static_assert(sizeof value == sizeof r.eventType);
  std::memcpy(&value, &r.eventType, sizeof value);
  if (value < 1 || static_cast<std::size_t>(value) > std::size(event_types)) return std::nullopt;
  return event_types[value - 1].kinds;
}

PEER_CONNECTION_STATUS to_peer(connection_status s) {
  switch (s) {
    case connection_status::connected:
      return PEER_CONNECTED;
    case connection_status::disconnected:
      return PEER_DISCONNECTED;
    case connection_status::failed:
      return PEER_CONNECTION_FAILED;
  }
  return PEER_CONNECTION_FAILED;
}

PEER_NODE_CHANGE_TYPE to_peer(node_change c) {
  switch (c) {
    case node_change::connected:
      return PEER_NODE_CHANGE_CONNECTED;
    case node_change::disconnected:
      return PEER_NODE_CHANGE_DISCONNECTED;
    case node_change::updated:
      return PEER_NODE_CHANGE_UPDATED;
  }
  return PEER_NODE_CHANGE_UPDATED;
}

/// Places one event's PEER_GRAPH_EVENT_DATA and what it points to. One
/// overload per alternative of any_event and no catch-all, so that a kind
/// the core adds does not compile until it is handled here.
struct event_placer {
  block_writer& w;
  PEER_GRAPH_EVENT_DATA* out;  // null while measuring

  void operator()(const status_changed_event& e) const {
    if (!out) return;
    out->eventType = PEER_GRAPH_EVENT_STATUS_CHANGED;
    out->dwStatus = static_cast<PEER_GRAPH_STATUS_FLAGS>(e.status.bits());
  }
  void operator()(const neighbor_connection_event& e) const {
    connection_change(PEER_GRAPH_EVENT_NEIGHBOR_CONNECTION, e.status, e.connection, e.reason);
  }
  void operator()(const direct_connection_event& e) const {
    connection_change(PEER_GRAPH_EVENT_DIRECT_CONNECTION, e.status, e.connection, e.reason);
  }
  void operator()(const incoming_data_event& e) const {
    auto* bytes = e.data.empty() ? nullptr : w.take<BYTE>(e.data.size());
    if (!out) return;
    out->eventType = PEER_GRAPH_EVENT_INCOMING_DATA;
    auto& in = out->incomingData;
    in.dwSize = sizeof in;
    in.ullConnectionId = e.connection;
    in.type = to_win(e.type);
    in.data.cbData = static_cast<ULONG>(e.data.size());
    in.data.pbData = bytes;
    if (bytes) std::memcpy(bytes, e.data.data(), e.data.size());
  }
  void operator()(const node_changed_event& e) const {
    auto* peer = w.wide(from_utf8(e.node.peer_id));
    if (!out) return;
    out->eventType = PEER_GRAPH_EVENT_NODE_CHANGED;
    auto& nc = out->nodeChangeData;
    nc.dwSize = sizeof nc;
    nc.changeType = to_peer(e.change);
    nc.ullNodeId = e.node.id;
    nc.pwzPeerId = peer;
  }
  void operator()(const connection_required_event&) const {
    if (out) out->eventType = PEER_GRAPH_EVENT_CONNECTION_REQUIRED;  // no data
  }

  void connection_change(PEER_GRAPH_EVENT_TYPE type, connection_status status, const connection_info& c,
                         const std::error_code& reason) const {
    if (!out) return;
    out->eventType = type;
    auto& d = out->connectionChangeData;
    d.dwSize = sizeof d;
    d.status = to_peer(status);
    d.ullConnectionId = c.id;
    d.ullNodeId = c.node;
    d.ullNextConnectionId = 0;
    d.hrConnectionFailedReason = S_OK;
    // A failure always carries a failing HRESULT, even one the core gave no reason for.
    if (status == connection_status::failed)
      d.hrConnectionFailedReason = reason ? to_hr(reason) : PEER_E_CONNECTION_FAILED;
  }
};

PEER_GRAPH_EVENT_DATA* event_block(const any_event& ev) {
  return static_cast<PEER_GRAPH_EVENT_DATA*>(make_block([&](block_writer& w) {
    auto* out = w.take<PEER_GRAPH_EVENT_DATA>();
    std::visit(event_placer{w, out}, ev);
  }));
}

}  // namespace

/// An HPEEREVENT. Lives on the io thread.
struct registration : std::enable_shared_from_this<registration> {
  explicit registration(HANDLE e) : win_event(e) {}

  HANDLE win_event;
  // None when the types registered are only ones the core never reports.
  std::optional<graph::subscription_type<any_event>> events;
  // The event the last receive took; it set the Win32 event.
  std::optional<any_event> head;
  bool receiving = false;
  bool ended = false;

  std::optional<any_event> pop() {
    if (head) return std::exchange(head, std::nullopt);
    // While a receive waits, an event may already be on its way to it;
    // taking the next one here would hand them out of order.
    if (!events || receiving) return std::nullopt;
    return events->try_receive();
  }

  /// Sets the Win32 event when the next event arrives. Call only when pop() found nothing.
  void arm() {
    if (!events || receiving || ended) return;
    receiving = true;
    events->receive([self = weak_from_this()](std::error_code ec, any_event ev) {
      auto r = self.lock();
      if (!r) return;  // unregistered meanwhile
      r->receiving = false;
      if (ec) {
        r->ended = true;  // the graph closed and everything was received
        return;
      }
      r->head = std::move(ev);
      signal_event(r->win_event);
    });
  }
};

}  // namespace peergraph::compat

using peergraph::compat::call;
using peergraph::compat::runtime;
namespace pgc = peergraph::compat;

extern "C" {

HRESULT PeerGraphRegisterEvent(HGRAPH hGraph, HANDLE hEvent, ULONG cEventRegistrations,
                               PEER_GRAPH_EVENT_REGISTRATION* pEventRegistrations, HPEEREVENT* phPeerEvent) {
  return call([&]() -> HRESULT {
    auto& rt = runtime::get();
    auto ge = rt.graphs.find(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    if (!hEvent || !pgc::is_event(hEvent) || cEventRegistrations == 0 || !pEventRegistrations || !phPeerEvent)
      return E_INVALIDARG;
    peergraph::event_mask kinds;
    peergraph::subscribe_options opts;
    bool all_data = false;
    for (ULONG i = 0; i < cEventRegistrations; ++i) {
      const auto& r = pEventRegistrations[i];
      const auto k = pgc::kinds_of(r);
      if (!k) return E_INVALIDARG;
      kinds |= *k;
      if (k->contains<peergraph::incoming_data_event>()) {
        if (r.pType)
          opts.data_types.push_back(pgc::from_win(*r.pType));
        else
          all_data = true;
      }
    }
    if (all_data) opts.data_types.clear();  // any NULL type: every type
    auto reg = std::make_shared<pgc::registration>(hEvent);
    if (!kinds.empty()) reg->events.emplace(ge->graph.subscribe(kinds, std::move(opts)));
    reg->arm();
    *phPeerEvent = rt.events.add(std::move(reg));
    return S_OK;
  });
}

HRESULT PeerGraphUnregisterEvent(HPEEREVENT hPeerEvent) {
  return call([&]() -> HRESULT {
    if (!hPeerEvent) return E_INVALIDARG;
    // Dropping the registration closes its subscription.
    return runtime::get().events.take(hPeerEvent) ? S_OK : pgc::to_hr(peergraph::errc::event_handle_not_found);
  });
}

HRESULT PeerGraphGetEventData(HPEEREVENT hPeerEvent, PPEER_GRAPH_EVENT_DATA* ppEventData) {
  return call([&]() -> HRESULT {
    if (!hPeerEvent || !ppEventData) return E_INVALIDARG;
    *ppEventData = nullptr;
    auto reg = runtime::get().events.find(hPeerEvent);
    if (!reg) return pgc::to_hr(peergraph::errc::event_handle_not_found);
    auto ev = reg->pop();
    if (!ev) {
      reg->arm();
      return PEER_S_NO_EVENT_DATA;
    }
    auto* block = pgc::event_block(*ev);
    if (!block) {
      reg->head = std::move(ev);  // kept for the next call
      return E_OUTOFMEMORY;
    }
    *ppEventData = block;
    return S_OK;
  });
}

}  // extern "C"
