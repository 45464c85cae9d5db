// src/compat/graph_api.cpp: Startup and Shutdown; Create, Open, Close, Delete;
// Listen and Connect; status and properties.
#include "block.hpp"
#include "convert.hpp"
#include "runtime.hpp"
#include <peergraph/compat/p2p.h>
#include <peergraph/graph.hpp>

#include <asio/ip/address_v6.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

namespace peergraph::compat {

namespace {

/// What the shim knows of a graph's local "database", which lives as long
/// as the process: that it exists (PeerGraphOpen returns S_OK), and, once
/// the creator's node has closed, the properties it had, so that reopening
/// it makes a node that counts as synchronized and may listen at once.
struct database {
  std::optional<graph_properties> creator_state;
};

/// On the io thread only, like the handle tables.
std::map<database_key, database> databases;

bool is_open(const database_key& key) {
  bool open = false;
  runtime::get().graphs.for_each([&](const graph_entry& ge) { open = open || ge.key == key; });
  return open;
}

/// A database name is a plain file name: no directory.
bool plain_file_name(PCWSTR s) {
  if (!s) return false;
  const auto n = wide_length(s, 255);
  if (n == 0 || n > 255) return false;
  for (std::size_t i = 0; i < n; ++i)
    if (s[i] == L'/' || s[i] == L'\\') return false;
  return true;
}

/// The core's properties for PeerGraphCreate; nullopt for an identifier or
/// text that is not valid (the core checks the lengths of the others).
std::optional<graph_properties> to_core(const PEER_GRAPH_PROPERTIES& p) {
  auto graph_id = id_arg(p.pwzGraphId);
  auto creator = id_arg(p.pwzCreatorId);
  auto friendly = text_arg(p.pwzFriendlyName);
  auto comment = text_arg(p.pwzComment);
  if (!graph_id || !creator || !friendly || !comment) return std::nullopt;
  graph_properties c;
  c.graph_id = std::move(*graph_id);
  c.creator_id = std::move(*creator);
  c.friendly_name = std::move(*friendly);
  c.comment = std::move(*comment);
  c.scope = static_cast<graph_scope>(p.dwScope);
  c.presence_lifetime_s = p.ulPresenceLifetime;
  c.presence_max = static_cast<std::int32_t>(p.cPresenceMax);  // (ULONG)-1 is -1: everyone publishes
  c.max_record_size = p.dwMaxRecordSize;
  c.flags = p.dwFlags;
  return c;
}

}  // namespace

}  // namespace peergraph::compat

using peergraph::compat::call;
using peergraph::compat::runtime;
namespace pgc = peergraph::compat;

extern "C" {

// ---------------------------------------------------------------------- startup

HRESULT PeerGraphStartup(WORD wVersionRequested, PPEER_VERSION_DATA pVersionData) {
  if (!pVersionData) return E_INVALIDARG;
  constexpr WORD highest = PEER_GRAPH_VERSION;
  pVersionData->wHighestVersion = highest;
  // As WSAStartup: a request for major version 1 or later is served with the
  // highest version not above it; only 1.0 exists.
  if (LOBYTE(wVersionRequested) < 1) {
    pVersionData->wVersion = 0;
    return PEER_E_UNSUPPORTED_VERSION;
  }
  pVersionData->wVersion = highest;
  return runtime::get().startup();
}

HRESULT PeerGraphShutdown(void) { return runtime::get().shutdown(); }

// ---------------------------------------------------------------------- create, open, close, delete

HRESULT PeerGraphCreate(PPEER_GRAPH_PROPERTIES pGraphProperties, PCWSTR pwzDatabaseName,
                        PPEER_SECURITY_INTERFACE pSecurityInterface, HGRAPH* phGraph) {
  return call([&]() -> HRESULT {
    const auto* p = pGraphProperties;
    if (!p || !phGraph || p->dwSize != sizeof(PEER_GRAPH_PROPERTIES) || pSecurityInterface ||
        !pgc::plain_file_name(pwzDatabaseName) || p->dwScope > PEER_GRAPH_SCOPE_LOOPBACK ||
        (p->dwMaxRecordSize != 0 && (p->dwMaxRecordSize < 1024 || p->dwMaxRecordSize > 60u * 1024 * 1024)))
      return E_INVALIDARG;
    auto props = pgc::to_core(*p);
    if (!props) return E_INVALIDARG;
    pgc::database_key key{p->pwzGraphId, p->pwzCreatorId, pwzDatabaseName};
    for (const auto& [k, db] : pgc::databases)
      if (k.graph_id == key.graph_id && k.name == key.name) return PEER_E_DUPLICATE_GRAPH;
    auto& rt = runtime::get();
    peergraph::graph_options opts;
    opts.friendly_name = props->friendly_name;  // also sent in the handshake
    auto g = peergraph::graph::create(rt.executor(), *props, std::move(opts));
    pgc::databases[key];
    *phGraph = rt.graphs.add(std::make_shared<pgc::graph_entry>(pgc::graph_entry{std::move(g), std::move(key)}));
    return S_OK;
  });
}

HRESULT PeerGraphOpen(PCWSTR pwzGraphId, PCWSTR pwzPeerId, PCWSTR pwzDatabaseName,
                      PPEER_SECURITY_INTERFACE pSecurityInterface, ULONG cRecordTypeSyncPrecedence,
                      const GUID* pRecordTypeSyncPrecedence, HGRAPH* phGraph) {
  return call([&]() -> HRESULT {
    const auto graph_id = pgc::id_arg(pwzGraphId);
    const auto peer = pgc::id_arg(pwzPeerId);
    if (!graph_id || !peer || !phGraph || pSecurityInterface || !pgc::plain_file_name(pwzDatabaseName) ||
        (cRecordTypeSyncPrecedence == 0) != (pRecordTypeSyncPrecedence == nullptr))
      return E_INVALIDARG;
    pgc::database_key key{pwzGraphId, pwzPeerId, pwzDatabaseName};
    if (pgc::is_open(key)) return PEER_E_DUPLICATE_GRAPH;
    auto& rt = runtime::get();
    const auto db = pgc::databases.find(key);
    const bool existed = db != pgc::databases.end();
    const auto* state = existed && db->second.creator_state ? &*db->second.creator_state : nullptr;
    peergraph::graph_options opts;
    if (state) opts.friendly_name = state->friendly_name;
    auto g = state ? peergraph::graph::create(rt.executor(), *state, std::move(opts))
                   : peergraph::graph::open(rt.executor(), *graph_id, *peer, std::move(opts));
    pgc::databases[key];
    *phGraph = rt.graphs.add(std::make_shared<pgc::graph_entry>(pgc::graph_entry{std::move(g), std::move(key)}));
    return existed ? S_OK : PEER_S_GRAPH_DATA_CREATED;
  });
}

HRESULT PeerGraphClose(HGRAPH hGraph) {
  return call([&]() -> HRESULT {
    auto ge = runtime::get().graphs.take(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    auto& g = ge->graph;
    const auto& props = g.properties();
    if (auto db = pgc::databases.find(ge->key); db != pgc::databases.end() && g.peer_id() == props.creator_id)
      db->second.creator_state = props;
    // The registrations stay valid and still deliver the final events.
    g.close();
    return S_OK;
  });
}

HRESULT PeerGraphDelete(PCWSTR pwzGraphId, PCWSTR pwzPeerId, PCWSTR pwzDatabaseName) {
  return call([&]() -> HRESULT {
    if (!pgc::id_arg(pwzGraphId) || !pgc::id_arg(pwzPeerId) || !pgc::plain_file_name(pwzDatabaseName))
      return E_INVALIDARG;
    pgc::database_key key{pwzGraphId, pwzPeerId, pwzDatabaseName};
    if (pgc::is_open(key)) return E_ACCESSDENIED;
    pgc::databases.erase(key);
    return S_OK;
  });
}

// ---------------------------------------------------------------------- listen and connect

HRESULT PeerGraphListen(HGRAPH hGraph, DWORD dwScope, DWORD dwScopeId, WORD wPort) {
  return call([&]() -> HRESULT {
    auto ge = runtime::get().graphs.find(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    if (dwScope > PEER_GRAPH_SCOPE_LOOPBACK) return E_INVALIDARG;
    if ((dwScope == PEER_GRAPH_SCOPE_SITELOCAL || dwScope == PEER_GRAPH_SCOPE_LINKLOCAL) && dwScopeId == 0)
      return E_INVALIDARG;
    auto& g = ge->graph;
    // A second Listen is refused whatever its port; the core would add a
    // second listener for port 0.
    if (g.status().is_listening()) return pgc::to_hr(peergraph::errc::already_listening);
    const auto addr = dwScope == PEER_GRAPH_SCOPE_LOOPBACK ? asio::ip::address(asio::ip::address_v6::loopback())
                                                           : asio::ip::address(asio::ip::address_v6::any());
    std::error_code ec;
    g.listen(peergraph::endpoint(addr, wPort), ec);
    // The system's reasons (address in use, ...) are all "unable to listen".
    if (ec && ec.category() != peergraph::error_category()) return pgc::to_hr(peergraph::errc::unable_to_listen);
    return pgc::to_hr(ec);
  });
}

HRESULT PeerGraphConnect(HGRAPH hGraph, PCWSTR pwzPeerId, PPEER_ADDRESS pAddress, ULONGLONG* pullConnectionId) {
  return call([&]() -> HRESULT {
    auto ge = runtime::get().graphs.find(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    const auto ep = pgc::from_peer_address(pAddress);
    peergraph::connect_options opts;
    if (pwzPeerId && !(opts.peer_id = pgc::id_arg(pwzPeerId))) return E_INVALIDARG;
    if (!ep) return E_INVALIDARG;
    auto& g = ge->graph;
    // The documented immediate refusal, for the address of an established
    // neighbor link as the core reports it. Any other duplicate (a pending
    // attempt, the node by another address) is an attempt the core refuses
    // and reports by event, under the id returned here.
    for (const auto& c : g.connections(peergraph::connection_kind::neighbor))
      if (c.address == *ep) return PEER_E_ALREADY_EXISTS;
    const auto id = g.new_connection_id();
    opts.id = id;
    // The outcome reaches the application as NEIGHBOR_CONNECTION events only.
    g.connect(*ep, std::move(opts), [](std::error_code, peergraph::graph::connection_type) {});
    if (pullConnectionId) *pullConnectionId = id;
    return S_OK;
  });
}

// ---------------------------------------------------------------------- status and properties

HRESULT PeerGraphGetStatus(HGRAPH hGraph, DWORD* pdwStatus) {
  return call([&]() -> HRESULT {
    auto ge = runtime::get().graphs.find(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    if (!pdwStatus) return E_INVALIDARG;
    *pdwStatus = ge->graph.status().bits();
    return S_OK;
  });
}

HRESULT PeerGraphGetProperties(HGRAPH hGraph, PPEER_GRAPH_PROPERTIES* ppGraphProperties) {
  return call([&]() -> HRESULT {
    auto ge = runtime::get().graphs.find(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    if (!ppGraphProperties) return E_INVALIDARG;
    auto& g = ge->graph;
    // Until then a joining node knows the graph id only.
    if (!g.status().is_synchronized()) return pgc::to_hr(peergraph::errc::graph_not_ready);
    auto* block = pgc::make_block([&](pgc::block_writer& w) { pgc::place(w, g.properties()); });
    if (!block) return E_OUTOFMEMORY;
    *ppGraphProperties = static_cast<PEER_GRAPH_PROPERTIES*>(block);
    return S_OK;
  });
}

HRESULT PeerGraphSetProperties(HGRAPH hGraph, PPEER_GRAPH_PROPERTIES pGraphProperties) {
  return call([&]() -> HRESULT {
    auto ge = runtime::get().graphs.find(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    const auto* p = pGraphProperties;
    if (!p || p->dwSize != sizeof(PEER_GRAPH_PROPERTIES)) return E_INVALIDARG;
    auto friendly = pgc::text_arg(p->pwzFriendlyName);
    auto comment = pgc::text_arg(p->pwzComment);
    if (!friendly || !comment) return E_INVALIDARG;
    // The mutable fields only; the core ignores the others.
    peergraph::graph_properties change;
    change.friendly_name = std::move(*friendly);
    change.comment = std::move(*comment);
    change.presence_lifetime_s = p->ulPresenceLifetime;
    change.presence_max = static_cast<std::int32_t>(p->cPresenceMax);
    std::error_code ec;
    ge->graph.set_properties(change, ec);
    // A node that never synchronized does not know the creator, so it is not
    // it: E_ACCESSDENIED, as PEER_E_GRAPH_NOT_READY is not among this
    // function's documented codes.
    if (ec == peergraph::errc::graph_not_ready) return E_ACCESSDENIED;
    return pgc::to_hr(ec);
  });
}

}  // extern "C"
