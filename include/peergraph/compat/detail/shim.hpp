// peergraph/compat/detail/shim.hpp: the implementation of <p2p.h> on the
// coroutine core.
//
// Compiled once, by src/compat/peergraph_compat.cpp (the peergraph_compat
// library): it defines the extern "C" functions, so include it in exactly one
// translation unit.
//
// Model (docs/compat.md): one io_context thread, started by the first
// PeerGraphStartup and stopped by the last PeerGraphShutdown, owns every
// core object. Each API call checks its plain arguments on the caller's
// thread, then runs its core part on that thread and waits for the result;
// nothing waits on the network. Handles are 64-bit values tagged with their
// kind and never reused, so a stale or mistyped handle is recognised.
#ifndef PEERGRAPH_COMPAT_DETAIL_SHIM_HPP
#define PEERGRAPH_COMPAT_DETAIL_SHIM_HPP

#include <peergraph/peergraph.hpp>

#include "../p2p.h"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <arpa/inet.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <shared_mutex>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

namespace peergraph::compat::detail {

// ------------------------------------------------------------------ HRESULTs

/// The HRESULT of a core error, through the core's single table.
inline HRESULT hr(errc e) { return static_cast<HRESULT>(to_hresult(make_error_code(e))); }

// The header's macros and the core's table must agree where both name a code.
constexpr bool header_agrees_with_core_table() {
  for (const auto& row : peergraph::detail::hresult_table) {
    const std::string_view n = row.name;
    const HRESULT h = row.hresult;
    if ((n == "E_INVALIDARG" && h != E_INVALIDARG) || (n == "E_OUTOFMEMORY" && h != E_OUTOFMEMORY) ||
        (n == "PEER_E_NOT_INITIALIZED" && h != PEER_E_NOT_INITIALIZED) ||
        (n == "PEER_E_INVALID_GRAPH" && h != PEER_E_INVALID_GRAPH) ||
        (n == "PEER_E_CONNECTION_NOT_FOUND" && h != PEER_E_CONNECTION_NOT_FOUND) ||
        (n == "PEER_E_GRAPH_NOT_READY" && h != PEER_E_GRAPH_NOT_READY) ||
        (n == "PEER_E_NODE_NOT_FOUND" && h != PEER_E_NODE_NOT_FOUND) ||
        (n == "PEER_E_ALREADY_EXISTS" && h != PEER_E_ALREADY_EXISTS) ||
        (n == "PEER_E_EVENT_HANDLE_NOT_FOUND" && h != PEER_E_EVENT_HANDLE_NOT_FOUND) ||
        (n == "PEER_E_UNSUPPORTED_VERSION" && h != PEER_E_UNSUPPORTED_VERSION))
      return false;
  }
  return true;
}
static_assert(header_agrees_with_core_table(), "p2p.h and peergraph/error.hpp disagree on an HRESULT");

// ------------------------------------------------------------------ strings, GUIDs, addresses

/// UTF-8 of a wide string; nullopt for a value that is no Unicode scalar.
inline std::optional<std::string> to_utf8(const wchar_t* s) {
  std::string out;
  for (; *s; ++s) {
    const auto c = static_cast<std::uint32_t>(*s);
    if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return std::nullopt;
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

/// Wide string of UTF-8 text; malformed sequences become U+FFFD.
inline std::wstring from_utf8(std::string_view s) {
  std::wstring out;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::uint32_t c = 0;
    std::size_t n = 0;
    if (b < 0x80) { c = b; n = 1; }
    else if ((b & 0xE0) == 0xC0) { c = b & 0x1F; n = 2; }
    else if ((b & 0xF0) == 0xE0) { c = b & 0x0F; n = 3; }
    else if ((b & 0xF8) == 0xF0) { c = b & 0x07; n = 4; }
    bool ok = n > 0 && i + n <= s.size();
    for (std::size_t k = 1; ok && k < n; ++k) {
      const auto cb = static_cast<unsigned char>(s[i + k]);
      ok = (cb & 0xC0) == 0x80;
      c = (c << 6) | (cb & 0x3F);
    }
    static constexpr std::uint32_t min_for[] = {0, 0, 0x80, 0x800, 0x10000};
    if (!ok || c < min_for[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
      out.push_back(static_cast<wchar_t>(0xFFFD));
      ++i;
      continue;
    }
    out.push_back(static_cast<wchar_t>(c));
    i += n;
  }
  return out;
}

/// Characters before the NUL, at most `limit + 1` counted.
inline std::size_t wlen(const wchar_t* s, std::size_t limit) {
  std::size_t n = 0;
  while (n <= limit && s[n]) ++n;
  return n;
}

inline GUID to_win(const guid& g) {
  const auto& b = g.bytes();
  GUID w{};
  w.Data1 = (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
  w.Data2 = static_cast<std::uint16_t>((b[4] << 8) | b[5]);
  w.Data3 = static_cast<std::uint16_t>((b[6] << 8) | b[7]);
  std::memcpy(w.Data4, b.data() + 8, 8);
  return w;
}

inline guid from_win(const GUID& w) {
  std::array<std::uint8_t, 8> d4{};
  std::memcpy(d4.data(), w.Data4, 8);
  return guid::from_fields(w.Data1, w.Data2, w.Data3, d4);
}

inline PEER_ADDRESS to_peer_address(const endpoint& ep) {
  PEER_ADDRESS a{};
  a.dwSize = sizeof(PEER_ADDRESS);
  a.sin6.sin6_family = AF_INET6;
  a.sin6.sin6_port = htons(ep.port());
  const auto addr = ep.address();
  const auto v6 = addr.is_v6() ? addr.to_v6() : asio::ip::make_address_v6(asio::ip::v4_mapped, addr.to_v4());
  const auto bytes = v6.to_bytes();
  std::memcpy(&a.sin6.sin6_addr, bytes.data(), 16);
  a.sin6.sin6_scope_id = static_cast<std::uint32_t>(v6.scope_id());
  return a;
}

/// The endpoint of a PEER_ADDRESS; nullopt unless it is a complete IPv6 address with a port.
inline std::optional<endpoint> from_peer_address(const PEER_ADDRESS* a) {
  if (!a || a->dwSize != sizeof(PEER_ADDRESS) || a->sin6.sin6_family != AF_INET6 || a->sin6.sin6_port == 0)
    return std::nullopt;
  asio::ip::address_v6::bytes_type bytes{};
  std::memcpy(bytes.data(), &a->sin6.sin6_addr, 16);
  asio::ip::address_v6 v6(bytes, a->sin6.sin6_scope_id);
  if (v6.is_unspecified()) return std::nullopt;
  return endpoint(v6, ntohs(a->sin6.sin6_port));
}

/// Same address and port (the kernel may add a scope id to a reported endpoint).
inline bool same_place(const endpoint& a, const endpoint& b) {
  if (a.port() != b.port()) return false;
  auto v6 = [](const asio::ip::address& x) {
    return x.is_v6() ? x.to_v6().to_bytes() : asio::ip::make_address_v6(asio::ip::v4_mapped, x.to_v4()).to_bytes();
  };
  return v6(a.address()) == v6(b.address());
}

// ------------------------------------------------------------------ one-block allocations

/// Everything handed to the application is one malloc'd block, freed by one
/// PeerGraphFreeData. A plan reserves the pieces, then they are placed.
class block_plan {
 public:
  std::size_t reserve(std::size_t bytes, std::size_t align) {
    size_ = (size_ + align - 1) / align * align;
    const auto at = size_;
    size_ += bytes;
    return at;
  }
  std::size_t reserve_wstr(const std::wstring& s) { return reserve((s.size() + 1) * sizeof(wchar_t), alignof(wchar_t)); }
  std::size_t size() const noexcept { return size_; }

 private:
  std::size_t size_ = 0;
};

inline unsigned char* allocate_block(std::size_t size) {
  return static_cast<unsigned char*>(std::calloc(1, size ? size : 1));
}

inline PWSTR place_wstr(unsigned char* base, std::size_t at, const std::wstring& s) {
  auto* p = reinterpret_cast<wchar_t*>(base + at);
  std::memcpy(p, s.c_str(), (s.size() + 1) * sizeof(wchar_t));
  return p;
}

// ------------------------------------------------------------------ Win32 events on eventfd

struct win_event {
  int fd;
  bool manual;
};

/// Live event handles, so that a bad handle is refused rather than followed.
class event_handles {
 public:
  static event_handles& get() {
    static event_handles t;
    return t;
  }
  HANDLE create(bool manual, bool initial) {
    const int fd = ::eventfd(initial ? 1 : 0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) return nullptr;
    auto* e = new (std::nothrow) win_event{fd, manual};
    if (!e) {
      ::close(fd);
      return nullptr;
    }
    std::lock_guard lk(m_);
    live_.insert(e);
    return e;
  }
  std::optional<win_event> find(HANDLE h) {
    std::lock_guard lk(m_);
    auto it = live_.find(static_cast<win_event*>(h));
    if (it == live_.end()) return std::nullopt;
    return **it;
  }
  bool set(HANDLE h) {
    std::lock_guard lk(m_);
    auto it = live_.find(static_cast<win_event*>(h));
    if (it == live_.end()) return false;
    const std::uint64_t one = 1;
    return ::write((*it)->fd, &one, sizeof one) == sizeof one || errno == EAGAIN;
  }
  bool close(HANDLE h) {
    win_event* e = nullptr;
    {
      std::lock_guard lk(m_);
      auto it = live_.find(static_cast<win_event*>(h));
      if (it == live_.end()) return false;
      e = *it;
      live_.erase(it);
    }
    ::close(e->fd);
    delete e;
    return true;
  }

 private:
  std::mutex m_;
  std::unordered_set<win_event*> live_;
};

inline bool reset_fd(int fd) {
  std::uint64_t v;
  return ::read(fd, &v, sizeof v) == sizeof v || errno == EAGAIN;
}

inline DWORD wait_event(HANDLE h, DWORD ms) {
  const auto ev = event_handles::get().find(h);
  if (!ev) return WAIT_FAILED;
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::chrono::milliseconds(ms);
  for (;;) {
    int timeout = -1;
    if (ms != INFINITE) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
      timeout = static_cast<int>(std::clamp<long long>(left, 0, 1 << 30));
    }
    pollfd p{ev->fd, POLLIN, 0};
    const int r = ::poll(&p, 1, timeout);
    if (r < 0) {
      if (errno == EINTR) continue;
      return WAIT_FAILED;
    }
    if (r == 0) return WAIT_TIMEOUT;
    if (ev->manual) return WAIT_OBJECT_0;
    std::uint64_t v;
    if (::read(ev->fd, &v, sizeof v) == sizeof v) return WAIT_OBJECT_0;
    if (errno != EAGAIN) return WAIT_FAILED;
    // Another waiter took this auto-reset signal; wait on.
  }
}

// ------------------------------------------------------------------ events from the core

using core_event = std::variant<status_changed_event, neighbor_connection_event, direct_connection_event,
                                incoming_data_event, node_changed_event, connection_required_event>;

/// One subscription, whatever set of event types it was made for.
class event_source {
 public:
  virtual ~event_source() = default;
  /// The next event, without waiting.
  virtual std::optional<core_event> pop() = 0;
  /// Runs `ready` once when an event arrives (unless one is already awaited
  /// or the subscription ended). Call only when pop() found nothing.
  virtual void arm(std::function<void()> ready) = 0;
};

template <typename... Es>
class source_impl final : public event_source {
  using sub_type = graph::subscription_type<Es...>;
  using value_type = typename sub_type::value_type;

 public:
  explicit source_impl(sub_type s) : sub_(std::move(s)) {}
  ~source_impl() override {
    *alive_ = false;
    sub_.close();
  }

  std::optional<core_event> pop() override {
    if (head_) {
      auto ev = std::move(head_);
      head_.reset();
      return ev;
    }
    auto v = sub_.try_receive();
    if (!v) return std::nullopt;
    return convert(std::move(*v));
  }

  void arm(std::function<void()> ready) override {
    if (armed_ || ended_) return;
    armed_ = true;
    sub_.receive([this, alive = alive_, ready = std::move(ready)](std::error_code ec, value_type v) {
      if (!*alive) return;
      armed_ = false;
      if (ec) {
        ended_ = true;
        return;
      }
      head_ = convert(std::move(v));
      ready();
    });
  }

 private:
  static core_event convert(value_type&& v) {
    if constexpr (sizeof...(Es) == 1)
      return core_event(std::move(v));
    else
      return std::visit([](auto&& e) { return core_event(std::move(e)); }, std::move(v));
  }

  sub_type sub_;
  std::optional<core_event> head_;
  bool armed_ = false;
  bool ended_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// A subscription for a set of event types known only at run time: bit i of
// the mask is the i-th type of all_events (status, neighbor, direct,
// incoming, node changed, connection required).
template <typename... Ts>
struct type_list {};
using all_events = std::tuple<status_changed_event, neighbor_connection_event, direct_connection_event,
                              incoming_data_event, node_changed_event, connection_required_event>;
inline constexpr unsigned event_kinds = std::tuple_size_v<all_events>;
inline constexpr unsigned mask_count = 1u << event_kinds;

template <unsigned Mask, unsigned I, typename Acc>
struct select_events;
template <unsigned Mask, typename... Acc>
struct select_events<Mask, event_kinds, type_list<Acc...>> {
  using type = type_list<Acc...>;
};
template <unsigned Mask, unsigned I, typename... Acc>
struct select_events<Mask, I, type_list<Acc...>> {
  using event = std::tuple_element_t<I, all_events>;
  using next = std::conditional_t<((Mask >> I) & 1u) != 0, type_list<Acc..., event>, type_list<Acc...>>;
  using type = typename select_events<Mask, I + 1, next>::type;
};

template <typename... Es>
std::unique_ptr<event_source> make_source_of(graph& g, subscribe_options o, type_list<Es...>) {
  auto sub = g.template subscribe<Es...>(std::move(o));
  return std::make_unique<source_impl<Es...>>(std::move(sub));
}
template <unsigned Mask>
std::unique_ptr<event_source> make_source_for(graph& g, subscribe_options o) {
  return make_source_of(g, std::move(o), typename select_events<Mask, 0, type_list<>>::type{});
}
using source_maker = std::unique_ptr<event_source> (*)(graph&, subscribe_options);
template <std::size_t... I>
constexpr std::array<source_maker, mask_count> source_makers(std::index_sequence<I...>) {
  return {{(I == 0 ? source_maker{nullptr} : &make_source_for<(I == 0 ? 1u : unsigned(I))>)...}};
}
inline constexpr auto makers = source_makers(std::make_index_sequence<mask_count>{});

inline std::unique_ptr<event_source> make_source(graph& g, unsigned mask, subscribe_options o) {
  if (mask == 0 || mask >= mask_count) return nullptr;
  return makers[mask](g, std::move(o));
}

/// The bit of all_events a PEER_GRAPH_EVENT_TYPE maps to; -1 for the types
/// the core does not report (they may be registered and are never signalled).
inline int core_index(PEER_GRAPH_EVENT_TYPE t) {
  switch (t) {
    case PEER_GRAPH_EVENT_STATUS_CHANGED: return 0;
    case PEER_GRAPH_EVENT_NEIGHBOR_CONNECTION: return 1;
    case PEER_GRAPH_EVENT_DIRECT_CONNECTION: return 2;
    case PEER_GRAPH_EVENT_INCOMING_DATA: return 3;
    case PEER_GRAPH_EVENT_NODE_CHANGED: return 4;
    case PEER_GRAPH_EVENT_CONNECTION_REQUIRED: return 5;
    default: return -1;
  }
}

// ------------------------------------------------------------------ handles

enum class handle_kind : std::uint64_t { graph = 1, event = 2, enumeration = 3 };

inline void* make_handle(handle_kind k, std::uint64_t serial) {
  return reinterpret_cast<void*>(static_cast<std::uintptr_t>((static_cast<std::uint64_t>(k) << 56) | serial));
}
inline std::uint64_t handle_value(void* h, handle_kind k) {
  const auto v = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(h));
  return (v >> 56) == static_cast<std::uint64_t>(k) ? v : 0;
}

// ------------------------------------------------------------------ graphs

struct registration;

struct graph_props {
  DWORD flags = 0;
  DWORD scope = PEER_GRAPH_SCOPE_GLOBAL;
  DWORD max_record_size = 0;
  std::wstring graph_id, creator_id, friendly_name, comment;
  ULONG presence_lifetime = 300;
  ULONG presence_max = static_cast<ULONG>(-1);
};

struct db_key {
  std::wstring graph_id, peer_id, name;
  friend bool operator<(const db_key& a, const db_key& b) {
    return std::tie(a.graph_id, a.peer_id, a.name) < std::tie(b.graph_id, b.peer_id, b.name);
  }
};

/// The locally stored "database" of a graph: in this build it lives as long
/// as the process and remembers the properties and whether it synchronized.
struct db_entry {
  graph_props props;
  bool synchronized = false;
};

/// A connect or open-direct started by the application and not yet
/// confirmed: the core names the connection only once the attempt ends, so
/// the shim hands out an id of its own and ties it to the core's id as soon
/// as either the completion or the first event for that address tells it.
struct attempt {
  ULONGLONG api_id = 0;
  connection_kind kind = connection_kind::neighbor;
  endpoint ep;
  connection_id core_id = 0;
};

struct graph_entry : std::enable_shared_from_this<graph_entry> {
  graph_entry(graph gr, db_key k, graph_props p) : g(std::move(gr)), key(std::move(k)), props(std::move(p)) {}

  graph g;
  db_key key;
  graph_props props;
  std::wstring peer_id;
  bool open = true;
  graph::subscription_type<neighbor_connection_event> neighbor_tracker;
  std::optional<graph::subscription_type<direct_connection_event>> direct_tracker;
  std::size_t direct_registrations = 0;
  std::vector<attempt> attempts;
  std::unordered_map<connection_id, ULONGLONG> core_to_api;
  std::unordered_map<ULONGLONG, connection_id> api_to_core;
  std::vector<std::weak_ptr<registration>> registrations;

  static subscribe_options tracker_options() {
    subscribe_options o;
    o.max_events = std::size_t(1) << 40;  // drained on every call; never the one that stalls a link
    return o;
  }

  ULONGLONG to_api(connection_id id) const {
    auto it = core_to_api.find(id);
    return it == core_to_api.end() ? id : it->second;
  }
  /// The core id for an id the application holds; 0 for an attempt not yet confirmed.
  connection_id to_core(ULONGLONG id) const {
    auto it = api_to_core.find(id);
    if (it != api_to_core.end()) return it->second;
    for (const auto& a : attempts)
      if (a.api_id == id) return 0;
    return id;
  }

  void bind(attempt& a, connection_id core) {
    a.core_id = core;
    if (core != a.api_id) {
      core_to_api[core] = a.api_id;
      api_to_core[a.api_id] = core;
    }
  }

  void track(connection_kind kind, connection_status status, const connection_info& info) {
    if (status == connection_status::disconnected || core_to_api.count(info.id)) return;
    for (auto& a : attempts)
      if (a.core_id == 0 && a.kind == kind && same_place(a.ep, info.address)) {
        bind(a, info.id);
        return;
      }
  }

  /// Reads the trackers, which see every connection event the moment the
  /// application's subscriptions do.
  void drain_trackers() {
    while (auto ev = neighbor_tracker.try_receive()) track(connection_kind::neighbor, ev->status, ev->connection);
    if (direct_tracker)
      while (auto ev = direct_tracker->try_receive()) track(connection_kind::direct, ev->status, ev->connection);
  }

  void update_direct_tracker() {
    if (direct_registrations > 0 && !direct_tracker && open)
      direct_tracker.emplace(g.subscribe<direct_connection_event>(tracker_options()));
    else if (direct_registrations == 0 && direct_tracker)
      direct_tracker.reset();
  }

  bool attempt_pending_to(connection_kind kind, const endpoint& ep) const {
    return std::any_of(attempts.begin(), attempts.end(),
                       [&](const attempt& a) { return a.kind == kind && same_place(a.ep, ep); });
  }

  void attempt_done(ULONGLONG api_id, std::error_code ec, connection_id core);
};

// ------------------------------------------------------------------ event registrations

struct registration {
  std::shared_ptr<graph_entry> graph;
  HANDLE win_event = nullptr;
  unsigned mask = 0;
  std::unique_ptr<event_source> source;
  std::deque<core_event> injected;  // failures reported by the shim itself

  std::optional<core_event> pop() {
    if (!injected.empty()) {
      auto ev = std::move(injected.front());
      injected.pop_front();
      return ev;
    }
    return source ? source->pop() : std::nullopt;
  }
  void arm() {
    if (!source) return;
    HANDLE h = win_event;
    source->arm([h] { event_handles::get().set(h); });
  }
};

inline void graph_entry::attempt_done(ULONGLONG api_id, std::error_code ec, connection_id core) {
  drain_trackers();
  auto it = std::find_if(attempts.begin(), attempts.end(), [&](const attempt& a) { return a.api_id == api_id; });
  if (it == attempts.end()) return;
  if (!ec) {
    if (it->core_id != core) {
      if (it->core_id) core_to_api.erase(it->core_id);
      bind(*it, core);
    }
  } else if (it->core_id == 0) {
    // Refused before any connection existed (already connected, say): the
    // core reports no event, so the shim reports the failure itself.
    connection_info info;
    info.id = api_id;
    info.kind = it->kind;
    info.address = it->ep;
    const unsigned bit = it->kind == connection_kind::direct ? 2u : 1u;
    core_event ev = it->kind == connection_kind::direct
                        ? core_event(direct_connection_event{connection_status::failed, info, ec})
                        : core_event(neighbor_connection_event{connection_status::failed, info, ec});
    for (auto& w : registrations)
      if (auto r = w.lock(); r && (r->mask & (1u << bit))) {
        r->injected.push_back(ev);
        event_handles::get().set(r->win_event);
      }
  }
  attempts.erase(it);
}

// ------------------------------------------------------------------ enumerations

struct connection_item {
  DWORD flags = 0;
  ULONGLONG id = 0;
  ULONGLONG node = 0;
  std::wstring peer_id;
  PEER_ADDRESS address{};
};

/// A PEER_NODE_INFO with its addresses and strings; also what GetNodeInfo returns.
struct node_item {
  ULONGLONG id = 0;
  std::wstring peer_id;
  std::vector<PEER_ADDRESS> addresses;
  std::optional<std::wstring> attributes;  // nullopt: a NULL pwzAttributes
};

inline node_item to_node_item(const node_info& n) {
  node_item item;
  item.id = n.id;
  item.peer_id = from_utf8(n.peer_id);
  item.addresses.reserve(n.addresses.size());
  for (const auto& ep : n.addresses) item.addresses.push_back(to_peer_address(ep));
  if (!n.attributes.empty()) item.attributes = from_utf8(n.attributes);
  return item;
}

using enum_item = std::variant<connection_item, node_item>;

inline std::size_t plan_item(block_plan& plan, const connection_item& c) {
  const auto at = plan.reserve(sizeof(PEER_CONNECTION_INFO), alignof(PEER_CONNECTION_INFO));
  plan.reserve_wstr(c.peer_id);
  return at;
}
inline void* place_item(unsigned char* base, block_plan& plan, const connection_item& c) {
  const auto at = plan.reserve(sizeof(PEER_CONNECTION_INFO), alignof(PEER_CONNECTION_INFO));
  auto* info = reinterpret_cast<PEER_CONNECTION_INFO*>(base + at);
  info->dwSize = sizeof(PEER_CONNECTION_INFO);
  info->dwFlags = c.flags;
  info->ullConnectionId = c.id;
  info->ullNodeId = c.node;
  info->pwzPeerId = place_wstr(base, plan.reserve_wstr(c.peer_id), c.peer_id);
  info->address = c.address;
  return info;
}

inline std::size_t plan_item(block_plan& plan, const node_item& n) {
  const auto at = plan.reserve(sizeof(PEER_NODE_INFO), alignof(PEER_NODE_INFO));
  if (!n.addresses.empty()) plan.reserve(n.addresses.size() * sizeof(PEER_ADDRESS), alignof(PEER_ADDRESS));
  plan.reserve_wstr(n.peer_id);
  if (n.attributes) plan.reserve_wstr(*n.attributes);
  return at;
}
/// Places `n` with the same sequence of reservations as plan_item.
inline void* place_item(unsigned char* base, block_plan& plan, const node_item& n) {
  const auto at = plan.reserve(sizeof(PEER_NODE_INFO), alignof(PEER_NODE_INFO));
  auto* info = reinterpret_cast<PEER_NODE_INFO*>(base + at);
  info->dwSize = sizeof(PEER_NODE_INFO);
  info->ullNodeId = n.id;
  info->cAddresses = static_cast<ULONG>(n.addresses.size());
  info->pAddresses = nullptr;
  if (!n.addresses.empty()) {
    const auto addr_at = plan.reserve(n.addresses.size() * sizeof(PEER_ADDRESS), alignof(PEER_ADDRESS));
    info->pAddresses = reinterpret_cast<PEER_ADDRESS*>(base + addr_at);
    std::memcpy(info->pAddresses, n.addresses.data(), n.addresses.size() * sizeof(PEER_ADDRESS));
  }
  info->pwzPeerId = place_wstr(base, plan.reserve_wstr(n.peer_id), n.peer_id);
  info->pwzAttributes = n.attributes ? place_wstr(base, plan.reserve_wstr(*n.attributes), *n.attributes) : nullptr;
  return info;
}

struct enumeration {
  std::vector<enum_item> items;
  std::size_t next = 0;
};

// ------------------------------------------------------------------ event data blocks

inline PEER_CONNECTION_STATUS to_peer(connection_status s) {
  switch (s) {
    case connection_status::connected: return PEER_CONNECTED;
    case connection_status::disconnected: return PEER_DISCONNECTED;
    case connection_status::failed: return PEER_CONNECTION_FAILED;
  }
  return PEER_CONNECTION_FAILED;
}

inline PEER_NODE_CHANGE_TYPE to_peer(node_change c) {
  switch (c) {
    case node_change::connected: return PEER_NODE_CHANGE_CONNECTED;
    case node_change::disconnected: return PEER_NODE_CHANGE_DISCONNECTED;
    case node_change::updated: return PEER_NODE_CHANGE_UPDATED;
  }
  return PEER_NODE_CHANGE_UPDATED;
}

inline PEER_GRAPH_EVENT_DATA* make_event_block(const graph_entry& ge, const core_event& ev) {
  block_plan plan;
  plan.reserve(sizeof(PEER_GRAPH_EVENT_DATA), alignof(PEER_GRAPH_EVENT_DATA));
  const auto* data = std::get_if<incoming_data_event>(&ev);
  const auto data_at = data ? plan.reserve(data->data.size(), 1) : 0;
  const auto* node = std::get_if<node_changed_event>(&ev);
  const auto node_peer = node ? from_utf8(node->node.peer_id) : std::wstring();
  const auto peer_at = node ? plan.reserve_wstr(node_peer) : 0;
  auto* base = allocate_block(plan.size());
  if (!base) return nullptr;
  auto* out = reinterpret_cast<PEER_GRAPH_EVENT_DATA*>(base);
  auto connection_change = [&](PEER_GRAPH_EVENT_TYPE type, connection_status st, const connection_info& c,
                               const std::error_code& reason) {
    out->eventType = type;
    auto& d = out->connectionChangeData;
    d.dwSize = sizeof d;
    d.status = to_peer(st);
    d.ullConnectionId = ge.to_api(c.id);
    d.ullNodeId = c.node;
    d.ullNextConnectionId = 0;
    d.hrConnectionFailedReason = st == connection_status::failed ? static_cast<HRESULT>(to_hresult(reason)) : S_OK;
    if (st == connection_status::failed && d.hrConnectionFailedReason == S_OK)
      d.hrConnectionFailedReason = PEER_E_CONNECTION_FAILED;
  };
  if (const auto* s = std::get_if<status_changed_event>(&ev)) {
    out->eventType = PEER_GRAPH_EVENT_STATUS_CHANGED;
    out->dwStatus = static_cast<PEER_GRAPH_STATUS_FLAGS>(s->status.bits());
  } else if (const auto* n = std::get_if<neighbor_connection_event>(&ev)) {
    connection_change(PEER_GRAPH_EVENT_NEIGHBOR_CONNECTION, n->status, n->connection, n->reason);
  } else if (const auto* d = std::get_if<direct_connection_event>(&ev)) {
    connection_change(PEER_GRAPH_EVENT_DIRECT_CONNECTION, d->status, d->connection, d->reason);
  } else if (data) {
    out->eventType = PEER_GRAPH_EVENT_INCOMING_DATA;
    auto& in = out->incomingData;
    in.dwSize = sizeof in;
    in.ullConnectionId = ge.to_api(data->connection);
    in.type = to_win(data->type);
    in.data.cbData = static_cast<ULONG>(data->data.size());
    in.data.pbData = data->data.empty() ? nullptr : base + data_at;
    if (!data->data.empty()) std::memcpy(base + data_at, data->data.data(), data->data.size());
  } else if (node) {
    out->eventType = PEER_GRAPH_EVENT_NODE_CHANGED;
    auto& nc = out->nodeChangeData;
    nc.dwSize = sizeof nc;
    nc.changeType = to_peer(node->change);
    nc.ullNodeId = node->node.id;
    nc.pwzPeerId = place_wstr(base, peer_at, node_peer);
  } else if (std::holds_alternative<connection_required_event>(ev)) {
    out->eventType = PEER_GRAPH_EVENT_CONNECTION_REQUIRED;  // no data
  }
  return out;
}

// ------------------------------------------------------------------ the runtime

class runtime {
 public:
  static runtime& get() {
    static runtime rt;
    return rt;
  }

  std::shared_mutex life;  // shared: an API call in progress; exclusive: startup/shutdown
  int refs = 0;

  // Everything below is touched on the io thread only (or with it stopped).
  std::uint64_t serial = 0;
  std::mt19937_64 rng{std::random_device{}()};
  std::unordered_map<std::uint64_t, std::shared_ptr<graph_entry>> graphs;
  std::unordered_map<std::uint64_t, std::shared_ptr<registration>> events;
  std::unordered_map<std::uint64_t, std::shared_ptr<enumeration>> enums;
  std::map<db_key, db_entry> databases;  // kept for the life of the process

  asio::io_context& io() { return *io_; }

  void start() {
    io_ = std::make_unique<asio::io_context>(1);
    guard_.emplace(io_->get_executor());
    std::promise<void> ran;
    stopped_ = ran.get_future();
    thread_ = std::thread([this, ran = std::move(ran)]() mutable {
      io_->run();
      ran.set_value();
    });
    io_thread_ = thread_.get_id();
  }

  /// Closes every graph, lets the closes reach the network for a moment,
  /// then stops the thread and drops every handle.
  void stop() {
    run([this]() -> HRESULT {
      for (auto& [h, ge] : graphs) {
        ge->open = false;
        ge->g.close();
      }
      return S_OK;
    });
    guard_.reset();
    if (stopped_.wait_for(std::chrono::milliseconds(500)) != std::future_status::ready) io_->stop();
    thread_.join();
    events.clear();
    enums.clear();
    graphs.clear();
    io_.reset();
  }

  /// Runs `f` on the io thread and returns its result.
  template <typename F>
  HRESULT run(F&& f) {
    if (std::this_thread::get_id() == io_thread_) return guarded(f);
    std::promise<HRESULT> done;
    auto result = done.get_future();
    asio::post(*io_, [&f, &done] { done.set_value(guarded(f)); });
    return result.get();
  }

  std::uint64_t next_serial() { return ++serial; }

  ULONGLONG new_connection_id(const graph_entry& ge) {
    for (;;) {
      const ULONGLONG id = rng();
      if (id != 0 && !ge.api_to_core.count(id) && !ge.core_to_api.count(id) && !ge.g.find_connection(id)) return id;
    }
  }

  std::shared_ptr<graph_entry> find_graph(HGRAPH h) const {
    auto it = graphs.find(handle_value(h, handle_kind::graph));
    return it == graphs.end() ? nullptr : it->second;
  }

 private:
  template <typename F>
  static HRESULT guarded(F& f) noexcept {
    try {
      return f();
    } catch (const std::bad_alloc&) {
      return E_OUTOFMEMORY;
    } catch (const std::system_error& e) {
      return static_cast<HRESULT>(to_hresult(e.code()));
    } catch (...) {
      return E_FAIL;
    }
  }

  std::unique_ptr<asio::io_context> io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::thread thread_;
  std::thread::id io_thread_;
  std::future<void> stopped_;
};

/// Runs the core part of an API call: PEER_E_NOT_INITIALIZED outside
/// Startup/Shutdown, else `f` on the io thread.
template <typename F>
HRESULT call(F&& f) {
  auto& rt = runtime::get();
  std::shared_lock lk(rt.life);
  if (rt.refs == 0) return PEER_E_NOT_INITIALIZED;
  return rt.run(std::forward<F>(f));
}

/// A wide identifier as the core takes it: 1..255 characters, valid text.
inline std::optional<std::string> id_arg(PCWSTR s, std::size_t max_chars = 255) {
  if (!s) return std::nullopt;
  const auto n = wlen(s, max_chars);
  if (n == 0 || n > max_chars) return std::nullopt;
  auto u = to_utf8(s);
  if (!u || u->size() > 255) return std::nullopt;
  return u;
}

inline bool plain_file_name(PCWSTR s) {
  if (!s) return false;
  const auto n = wlen(s, 255);
  if (n == 0 || n > 255) return false;
  for (std::size_t i = 0; i < n; ++i)
    if (s[i] == L'/' || s[i] == L'\\') return false;
  return true;
}

inline graph_options options_for(const graph_props& p) {
  graph_options o;
  if (!p.friendly_name.empty())
    if (auto u = to_utf8(p.friendly_name.c_str()); u && peergraph::detail::valid_id(*u)) o.friendly_name = *u;
  return o;
}

inline graph_properties core_properties(const graph_props& p, const std::string& graph_id, const std::string& peer) {
  graph_properties c;
  c.graph_id = graph_id;
  c.creator_id = peer;
  if (auto u = to_utf8(p.friendly_name.c_str())) c.friendly_name = *u;
  if (auto u = to_utf8(p.comment.c_str())) c.comment = *u;
  c.scope = static_cast<graph_scope>(p.scope);
  c.presence_lifetime_s = p.presence_lifetime;
  c.presence_max = static_cast<std::int32_t>(p.presence_max);
  c.max_record_size = p.max_record_size;
  return c;
}

inline HGRAPH add_graph(runtime& rt, std::shared_ptr<graph_entry> ge) {
  ge->neighbor_tracker = ge->g.subscribe<neighbor_connection_event>(graph_entry::tracker_options());
  const auto serial = rt.next_serial();
  const auto h = make_handle(handle_kind::graph, serial);
  rt.graphs.emplace(handle_value(h, handle_kind::graph), std::move(ge));
  return h;
}

inline HRESULT start_attempt(runtime& rt, graph_entry& ge, connection_kind kind, const endpoint& ep,
                             std::optional<std::string> peer, ULONGLONG* out) {
  attempt a;
  a.api_id = rt.new_connection_id(ge);
  a.kind = kind;
  a.ep = ep;
  ge.attempts.push_back(a);
  connect_options opts;
  opts.peer_id = std::move(peer);
  auto done = [w = ge.weak_from_this(), id = a.api_id](std::error_code ec, graph::connection_type c) {
    if (auto e = w.lock()) e->attempt_done(id, ec, c.id());
  };
  if (kind == connection_kind::direct)
    ge.g.open_direct(*opts.peer_id, ep, opts, std::move(done));
  else
    ge.g.connect(ep, std::move(opts), std::move(done));
  if (out) *out = a.api_id;
  return S_OK;
}

}  // namespace peergraph::compat::detail

// ====================================================================== the C API

using peergraph::compat::detail::call;
using peergraph::compat::detail::runtime;
namespace pgc = peergraph::compat::detail;

extern "C" {

HANDLE CreateEventW(LPSECURITY_ATTRIBUTES, BOOL bManualReset, BOOL bInitialState, LPCWSTR lpName) {
  if (lpName) return nullptr;  // named events are not supported
  return pgc::event_handles::get().create(bManualReset != FALSE, bInitialState != FALSE);
}

HANDLE CreateEventA(LPSECURITY_ATTRIBUTES, BOOL bManualReset, BOOL bInitialState, LPCSTR lpName) {
  if (lpName) return nullptr;
  return pgc::event_handles::get().create(bManualReset != FALSE, bInitialState != FALSE);
}

BOOL SetEvent(HANDLE hEvent) { return pgc::event_handles::get().set(hEvent) ? TRUE : FALSE; }

BOOL ResetEvent(HANDLE hEvent) {
  const auto ev = pgc::event_handles::get().find(hEvent);
  return ev && pgc::reset_fd(ev->fd) ? TRUE : FALSE;
}

DWORD WaitForSingleObject(HANDLE hHandle, DWORD dwMilliseconds) { return pgc::wait_event(hHandle, dwMilliseconds); }

BOOL CloseHandle(HANDLE hObject) { return pgc::event_handles::get().close(hObject) ? TRUE : FALSE; }

int PeerCompatEventFd(HANDLE hEvent) {
  const auto ev = pgc::event_handles::get().find(hEvent);
  return ev ? ev->fd : -1;
}

// ---------------------------------------------------------------------- startup

HRESULT PeerGraphStartup(WORD wVersionRequested, PPEER_VERSION_DATA pVersionData) {
  if (!pVersionData) return E_INVALIDARG;
  constexpr WORD highest = PEER_GRAPH_VERSION;
  pVersionData->wHighestVersion = highest;
  // As WSAStartup: a request for major version 1 or later is served with
  // the highest version not above it; only 1.0 exists.
  if (LOBYTE(wVersionRequested) < 1) {
    pVersionData->wVersion = 0;
    return PEER_E_UNSUPPORTED_VERSION;
  }
  pVersionData->wVersion = highest;
  auto& rt = runtime::get();
  std::unique_lock lk(rt.life);
  try {
    if (rt.refs == 0) rt.start();
  } catch (const std::bad_alloc&) {
    return E_OUTOFMEMORY;
  } catch (...) {
    return E_FAIL;
  }
  ++rt.refs;
  return S_OK;
}

HRESULT PeerGraphShutdown(void) {
  auto& rt = runtime::get();
  std::unique_lock lk(rt.life);
  if (rt.refs == 0) return PEER_E_NOT_INITIALIZED;
  if (--rt.refs == 0) rt.stop();
  return S_OK;
}

// ---------------------------------------------------------------------- create, open, close, delete

HRESULT PeerGraphCreate(PPEER_GRAPH_PROPERTIES pGraphProperties, PCWSTR pwzDatabaseName,
                        PPEER_SECURITY_INTERFACE pSecurityInterface, HGRAPH* phGraph) {
  return call([&]() -> HRESULT {
    auto& rt = runtime::get();
    const auto* p = pGraphProperties;
    if (!p || !phGraph || p->dwSize != sizeof(PEER_GRAPH_PROPERTIES) || pSecurityInterface ||
        !pgc::plain_file_name(pwzDatabaseName) || p->dwScope > PEER_GRAPH_SCOPE_LOOPBACK ||
        (p->dwMaxRecordSize != 0 && (p->dwMaxRecordSize < 1024 || p->dwMaxRecordSize > 60u * 1024 * 1024)) ||
        (p->pwzFriendlyName && pgc::wlen(p->pwzFriendlyName, 255) > 255) ||
        (p->pwzComment && pgc::wlen(p->pwzComment, 511) > 511))
      return E_INVALIDARG;
    const auto graph_id = pgc::id_arg(p->pwzGraphId);
    const auto creator = pgc::id_arg(p->pwzCreatorId);
    if (!graph_id || !creator) return E_INVALIDARG;
    pgc::graph_props props;
    props.flags = p->dwFlags;
    props.scope = p->dwScope;
    props.max_record_size = p->dwMaxRecordSize;
    props.graph_id = p->pwzGraphId;
    props.creator_id = p->pwzCreatorId;
    if (p->pwzFriendlyName) props.friendly_name = p->pwzFriendlyName;
    if (p->pwzComment) props.comment = p->pwzComment;
    props.presence_lifetime = p->ulPresenceLifetime;
    props.presence_max = p->cPresenceMax;
    for (const auto& [k, db] : rt.databases)
      if (k.graph_id == props.graph_id && k.name == pwzDatabaseName) return PEER_E_DUPLICATE_GRAPH;
    pgc::db_key key{props.graph_id, props.creator_id, pwzDatabaseName};
    auto g = peergraph::graph::create(rt.io().get_executor(), pgc::core_properties(props, *graph_id, *creator),
                                      pgc::options_for(props));
    auto ge = std::make_shared<pgc::graph_entry>(std::move(g), key, props);
    ge->peer_id = props.creator_id;
    rt.databases[key] = pgc::db_entry{props, true};
    *phGraph = pgc::add_graph(rt, std::move(ge));
    return S_OK;
  });
}

HRESULT PeerGraphOpen(PCWSTR pwzGraphId, PCWSTR pwzPeerId, PCWSTR pwzDatabaseName,
                      PPEER_SECURITY_INTERFACE pSecurityInterface, ULONG cRecordTypeSyncPrecedence,
                      const GUID* pRecordTypeSyncPrecedence, HGRAPH* phGraph) {
  return call([&]() -> HRESULT {
    auto& rt = runtime::get();
    const auto graph_id = pgc::id_arg(pwzGraphId);
    const auto peer = pgc::id_arg(pwzPeerId);
    if (!graph_id || !peer || !phGraph || pSecurityInterface || !pgc::plain_file_name(pwzDatabaseName) ||
        (cRecordTypeSyncPrecedence == 0) != (pRecordTypeSyncPrecedence == nullptr))
      return E_INVALIDARG;
    pgc::db_key key{pwzGraphId, pwzPeerId, pwzDatabaseName};
    for (const auto& [h, open] : rt.graphs)
      if (!(open->key < key) && !(key < open->key)) return PEER_E_DUPLICATE_GRAPH;
    auto it = rt.databases.find(key);
    const bool existed = it != rt.databases.end();
    if (!existed) {
      pgc::db_entry fresh;
      fresh.props.graph_id = pwzGraphId;
      it = rt.databases.emplace(key, std::move(fresh)).first;
    }
    const auto& db = it->second;
    // A database that has synchronized before lets the node listen at once,
    // which is the core's create(); otherwise the core's open().
    auto g = db.synchronized ? peergraph::graph::create(rt.io().get_executor(),
                                                        pgc::core_properties(db.props, *graph_id, *peer),
                                                        pgc::options_for(db.props))
                             : peergraph::graph::open(rt.io().get_executor(), *graph_id, *peer, pgc::options_for(db.props));
    auto ge = std::make_shared<pgc::graph_entry>(std::move(g), key, db.props);
    ge->peer_id = pwzPeerId;
    *phGraph = pgc::add_graph(rt, std::move(ge));
    return existed ? S_OK : PEER_S_GRAPH_DATA_CREATED;
  });
}

HRESULT PeerGraphClose(HGRAPH hGraph) {
  return call([&]() -> HRESULT {
    auto& rt = runtime::get();
    auto ge = rt.find_graph(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    if (auto db = rt.databases.find(ge->key); db != rt.databases.end() && ge->g.status().is_synchronized()) {
      db->second.synchronized = true;
      if (db->second.props.creator_id.empty()) db->second.props = ge->props;
    }
    ge->open = false;
    ge->g.close();
    ge->attempts.clear();
    rt.graphs.erase(pgc::handle_value(hGraph, pgc::handle_kind::graph));
    return S_OK;
  });
}

HRESULT PeerGraphDelete(PCWSTR pwzGraphId, PCWSTR pwzPeerId, PCWSTR pwzDatabaseName) {
  return call([&]() -> HRESULT {
    auto& rt = runtime::get();
    if (!pgc::id_arg(pwzGraphId) || !pgc::id_arg(pwzPeerId) || !pgc::plain_file_name(pwzDatabaseName))
      return E_INVALIDARG;
    pgc::db_key key{pwzGraphId, pwzPeerId, pwzDatabaseName};
    for (const auto& [h, ge] : rt.graphs)
      if (!(ge->key < key) && !(key < ge->key)) return E_ACCESSDENIED;  // still open
    rt.databases.erase(key);
    return S_OK;
  });
}

// ---------------------------------------------------------------------- listen and connect

HRESULT PeerGraphListen(HGRAPH hGraph, DWORD dwScope, DWORD dwScopeId, WORD wPort) {
  return call([&]() -> HRESULT {
    auto ge = runtime::get().find_graph(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    if (dwScope > PEER_GRAPH_SCOPE_LOOPBACK) return E_INVALIDARG;
    if ((dwScope == PEER_GRAPH_SCOPE_SITELOCAL || dwScope == PEER_GRAPH_SCOPE_LINKLOCAL) && dwScopeId == 0)
      return E_INVALIDARG;
    if (!ge->g.status().is_synchronized()) return pgc::hr(peergraph::errc::graph_not_ready);
    if (ge->g.status().is_listening()) return pgc::hr(peergraph::errc::already_listening);
    const auto addr = dwScope == PEER_GRAPH_SCOPE_LOOPBACK ? asio::ip::address(asio::ip::address_v6::loopback())
                                                           : asio::ip::address(asio::ip::address_v6::any());
    std::error_code ec;
    ge->g.listen(peergraph::endpoint(addr, wPort), ec);
    if (ec && ec.category() != peergraph::error_category()) return pgc::hr(peergraph::errc::unable_to_listen);
    return ec ? static_cast<HRESULT>(peergraph::to_hresult(ec)) : S_OK;
  });
}

HRESULT PeerGraphConnect(HGRAPH hGraph, PCWSTR pwzPeerId, PPEER_ADDRESS pAddress, ULONGLONG* pullConnectionId) {
  return call([&]() -> HRESULT {
    auto& rt = runtime::get();
    auto ge = rt.find_graph(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    const auto ep = pgc::from_peer_address(pAddress);
    std::optional<std::string> peer;
    if (pwzPeerId && !(peer = pgc::id_arg(pwzPeerId))) return E_INVALIDARG;
    if (!ep) return E_INVALIDARG;
    ge->drain_trackers();
    if (ge->attempt_pending_to(peergraph::connection_kind::neighbor, *ep)) return PEER_E_ALREADY_EXISTS;
    for (const auto& c : ge->g.connections(peergraph::connection_kind::neighbor))
      if (pgc::same_place(c.address, *ep)) return PEER_E_ALREADY_EXISTS;
    return pgc::start_attempt(rt, *ge, peergraph::connection_kind::neighbor, *ep, std::move(peer), pullConnectionId);
  });
}

HRESULT PeerGraphOpenDirectConnection(HGRAPH hGraph, PCWSTR pwzPeerId, PPEER_ADDRESS pAddress,
                                      ULONGLONG* pullConnectionId) {
  return call([&]() -> HRESULT {
    auto& rt = runtime::get();
    auto ge = rt.find_graph(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    auto peer = pgc::id_arg(pwzPeerId);
    const auto ep = pgc::from_peer_address(pAddress);
    if (!peer || !ep || !pullConnectionId) return E_INVALIDARG;
    ge->drain_trackers();
    return pgc::start_attempt(rt, *ge, peergraph::connection_kind::direct, *ep, std::move(peer), pullConnectionId);
  });
}

// ---------------------------------------------------------------------- status and properties

HRESULT PeerGraphGetStatus(HGRAPH hGraph, DWORD* pdwStatus) {
  return call([&]() -> HRESULT {
    auto ge = runtime::get().find_graph(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    if (!pdwStatus) return E_INVALIDARG;
    *pdwStatus = ge->g.status().bits();
    return S_OK;
  });
}

HRESULT PeerGraphGetProperties(HGRAPH hGraph, PPEER_GRAPH_PROPERTIES* ppGraphProperties) {
  return call([&]() -> HRESULT {
    auto ge = runtime::get().find_graph(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    if (!ppGraphProperties) return E_INVALIDARG;
    if (!ge->g.status().is_synchronized()) return pgc::hr(peergraph::errc::graph_not_ready);
    const auto& p = ge->props;
    pgc::block_plan plan;
    plan.reserve(sizeof(PEER_GRAPH_PROPERTIES), alignof(PEER_GRAPH_PROPERTIES));
    auto opt_str = [&](const std::wstring& s) { return s.empty() ? std::size_t(0) : plan.reserve_wstr(s); };
    const auto at_graph = plan.reserve_wstr(p.graph_id);
    const auto at_creator = opt_str(p.creator_id);
    const auto at_friendly = opt_str(p.friendly_name);
    const auto at_comment = opt_str(p.comment);
    auto* base = pgc::allocate_block(plan.size());
    if (!base) return E_OUTOFMEMORY;
    auto* out = reinterpret_cast<PEER_GRAPH_PROPERTIES*>(base);
    out->dwSize = sizeof(PEER_GRAPH_PROPERTIES);
    out->dwFlags = p.flags;
    out->dwScope = p.scope;
    out->dwMaxRecordSize = p.max_record_size;
    out->pwzGraphId = pgc::place_wstr(base, at_graph, p.graph_id);
    out->pwzCreatorId = p.creator_id.empty() ? nullptr : pgc::place_wstr(base, at_creator, p.creator_id);
    out->pwzFriendlyName = p.friendly_name.empty() ? nullptr : pgc::place_wstr(base, at_friendly, p.friendly_name);
    out->pwzComment = p.comment.empty() ? nullptr : pgc::place_wstr(base, at_comment, p.comment);
    out->ulPresenceLifetime = p.presence_lifetime;
    out->cPresenceMax = p.presence_max;
    *ppGraphProperties = out;
    return S_OK;
  });
}

HRESULT PeerGraphSetProperties(HGRAPH hGraph, PPEER_GRAPH_PROPERTIES pGraphProperties) {
  return call([&]() -> HRESULT {
    auto ge = runtime::get().find_graph(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    const auto* p = pGraphProperties;
    if (!p || p->dwSize != sizeof(PEER_GRAPH_PROPERTIES) ||
        (p->pwzFriendlyName && pgc::wlen(p->pwzFriendlyName, 255) > 255) ||
        (p->pwzComment && pgc::wlen(p->pwzComment, 511) > 511) ||
        (p->pwzFriendlyName && !pgc::to_utf8(p->pwzFriendlyName)) || (p->pwzComment && !pgc::to_utf8(p->pwzComment)))
      return E_INVALIDARG;
    // Only the creator changes a graph's properties.
    if (ge->props.creator_id != ge->peer_id) return E_ACCESSDENIED;
    ge->props.friendly_name = p->pwzFriendlyName ? p->pwzFriendlyName : L"";
    ge->props.comment = p->pwzComment ? p->pwzComment : L"";
    ge->props.presence_lifetime = p->ulPresenceLifetime;
    ge->props.presence_max = p->cPresenceMax;
    return S_OK;
  });
}

// ---------------------------------------------------------------------- events

HRESULT PeerGraphRegisterEvent(HGRAPH hGraph, HANDLE hEvent, ULONG cEventRegistrations,
                               PEER_GRAPH_EVENT_REGISTRATION* pEventRegistrations, HPEEREVENT* phPeerEvent) {
  return call([&]() -> HRESULT {
    auto& rt = runtime::get();
    auto ge = rt.find_graph(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    if (!hEvent || !pgc::event_handles::get().find(hEvent) || cEventRegistrations == 0 || !pEventRegistrations ||
        !phPeerEvent)
      return E_INVALIDARG;
    unsigned mask = 0;
    bool all_data = false;
    peergraph::subscribe_options opts;
    for (ULONG i = 0; i < cEventRegistrations; ++i) {
      const auto& r = pEventRegistrations[i];
      if (r.eventType < PEER_GRAPH_EVENT_STATUS_CHANGED || r.eventType > PEER_GRAPH_EVENT_SYNCHRONIZED)
        return E_INVALIDARG;
      const int index = pgc::core_index(r.eventType);
      if (index < 0) continue;
      mask |= 1u << index;
      if (r.eventType == PEER_GRAPH_EVENT_INCOMING_DATA) {
        if (r.pType)
          opts.data_types.push_back(pgc::from_win(*r.pType));
        else
          all_data = true;
      }
    }
    if (all_data) opts.data_types.clear();
    auto reg = std::make_shared<pgc::registration>();
    reg->graph = ge;
    reg->win_event = hEvent;
    reg->mask = mask;
    if (ge->open) reg->source = pgc::make_source(ge->g, mask, std::move(opts));
    if (mask & 4u) {
      ++ge->direct_registrations;
      ge->update_direct_tracker();
    }
    ge->registrations.push_back(reg);
    reg->arm();
    const auto h = pgc::make_handle(pgc::handle_kind::event, rt.next_serial());
    rt.events.emplace(pgc::handle_value(h, pgc::handle_kind::event), std::move(reg));
    *phPeerEvent = h;
    return S_OK;
  });
}

HRESULT PeerGraphUnregisterEvent(HPEEREVENT hPeerEvent) {
  return call([&]() -> HRESULT {
    auto& rt = runtime::get();
    if (!hPeerEvent) return E_INVALIDARG;
    auto it = rt.events.find(pgc::handle_value(hPeerEvent, pgc::handle_kind::event));
    if (it == rt.events.end()) return pgc::hr(peergraph::errc::event_handle_not_found);
    auto reg = it->second;
    rt.events.erase(it);
    auto& ge = *reg->graph;
    if ((reg->mask & 4u) && ge.direct_registrations > 0) {
      --ge.direct_registrations;
      ge.update_direct_tracker();
    }
    std::erase_if(ge.registrations, [&](const auto& w) {
      auto r = w.lock();
      return !r || r == reg;
    });
    reg->source.reset();
    return S_OK;
  });
}

HRESULT PeerGraphGetEventData(HPEEREVENT hPeerEvent, PPEER_GRAPH_EVENT_DATA* ppEventData) {
  return call([&]() -> HRESULT {
    auto& rt = runtime::get();
    if (!hPeerEvent || !ppEventData) return E_INVALIDARG;
    *ppEventData = nullptr;
    auto it = rt.events.find(pgc::handle_value(hPeerEvent, pgc::handle_kind::event));
    if (it == rt.events.end()) return pgc::hr(peergraph::errc::event_handle_not_found);
    auto& reg = *it->second;
    reg.graph->drain_trackers();
    auto ev = reg.pop();
    if (!ev) {
      reg.arm();
      return PEER_S_NO_EVENT_DATA;
    }
    auto* block = pgc::make_event_block(*reg.graph, *ev);
    if (!block) return E_OUTOFMEMORY;
    *ppEventData = block;
    return S_OK;
  });
}

// ---------------------------------------------------------------------- data

HRESULT PeerGraphSendData(HGRAPH hGraph, ULONGLONG ullConnectionId, const GUID* pType, ULONG cbData, PVOID pvData) {
  return call([&]() -> HRESULT {
    auto ge = runtime::get().find_graph(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    if (!pType || (cbData > 0 && !pvData)) return E_INVALIDARG;
    ge->drain_trackers();
    const auto id = ge->to_core(ullConnectionId);
    auto c = id ? ge->g.find_connection(id) : peergraph::graph::connection_type{};
    if (!c.is_open()) return PEER_E_CONNECTION_NOT_FOUND;
    const auto* bytes = static_cast<const std::uint8_t*>(pvData);
    std::vector<std::uint8_t> payload(bytes, bytes + cbData);
    // Queued at once (the documented "handed to the network layer"); the
    // completion only says when the queue has room again.
    c.send(pgc::from_win(*pType), std::move(payload), [](std::error_code) {});
    return S_OK;
  });
}

HRESULT PeerGraphCloseDirectConnection(HGRAPH hGraph, ULONGLONG ullConnectionId) {
  return call([&]() -> HRESULT {
    auto ge = runtime::get().find_graph(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    ge->drain_trackers();
    const auto id = ge->to_core(ullConnectionId);
    auto c = id ? ge->g.find_connection(id) : peergraph::graph::connection_type{};
    if (!c.is_open() || c.kind() != peergraph::connection_kind::direct) return PEER_E_CONNECTION_NOT_FOUND;
    ge->g.close_direct(id, [](std::error_code) {});
    return S_OK;
  });
}

// ---------------------------------------------------------------------- enumerations

HRESULT PeerGraphEnumConnections(HGRAPH hGraph, DWORD dwFlags, HPEERENUM* phPeerEnum) {
  return call([&]() -> HRESULT {
    auto& rt = runtime::get();
    auto ge = rt.find_graph(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    constexpr DWORD both = PEER_CONNECTION_NEIGHBOR | PEER_CONNECTION_DIRECT;
    if (!phPeerEnum || dwFlags == 0 || (dwFlags & ~both)) return E_INVALIDARG;
    ge->drain_trackers();
    auto en = std::make_shared<pgc::enumeration>();
    for (const auto& c : ge->g.connections()) {
      const DWORD flag = c.kind == peergraph::connection_kind::direct ? PEER_CONNECTION_DIRECT : PEER_CONNECTION_NEIGHBOR;
      if (!(dwFlags & flag)) continue;
      pgc::connection_item item;
      item.flags = flag;
      item.id = ge->to_api(c.id);
      item.node = c.node;
      item.peer_id = pgc::from_utf8(c.peer_id);
      item.address = pgc::to_peer_address(c.address);
      en->items.emplace_back(std::move(item));
    }
    const auto h = pgc::make_handle(pgc::handle_kind::enumeration, rt.next_serial());
    rt.enums.emplace(pgc::handle_value(h, pgc::handle_kind::enumeration), std::move(en));
    *phPeerEnum = h;
    return S_OK;
  });
}

// ---------------------------------------------------------------------- nodes and presence

HRESULT PeerGraphEnumNodes(HGRAPH hGraph, PCWSTR pwzPeerId, HPEERENUM* phPeerEnum) {
  return call([&]() -> HRESULT {
    auto& rt = runtime::get();
    auto ge = rt.find_graph(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    std::optional<std::string> peer;
    if (!phPeerEnum || (pwzPeerId && !(peer = pgc::id_arg(pwzPeerId)))) return E_INVALIDARG;
    if (!ge->g.status().is_synchronized()) return pgc::hr(peergraph::errc::graph_not_ready);
    auto en = std::make_shared<pgc::enumeration>();
    const auto nodes = peer ? ge->g.nodes(std::string_view(*peer)) : ge->g.nodes();
    en->items.reserve(nodes.size());
    for (const auto& n : nodes) en->items.emplace_back(pgc::to_node_item(n));
    const auto h = pgc::make_handle(pgc::handle_kind::enumeration, rt.next_serial());
    rt.enums.emplace(pgc::handle_value(h, pgc::handle_kind::enumeration), std::move(en));
    *phPeerEnum = h;
    return S_OK;
  });
}

HRESULT PeerGraphGetNodeInfo(HGRAPH hGraph, ULONGLONG ullNodeId, PPEER_NODE_INFO* ppNodeInfo) {
  return call([&]() -> HRESULT {
    auto ge = runtime::get().find_graph(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    if (!ppNodeInfo) return E_INVALIDARG;
    *ppNodeInfo = nullptr;
    std::error_code ec;
    const auto info = ge->g.node_info(ullNodeId, ec);
    if (ec) return static_cast<HRESULT>(peergraph::to_hresult(ec));
    const auto item = pgc::to_node_item(info);
    pgc::block_plan plan;
    pgc::plan_item(plan, item);
    auto* base = pgc::allocate_block(plan.size());
    if (!base) return E_OUTOFMEMORY;
    pgc::block_plan place;
    *ppNodeInfo = static_cast<PEER_NODE_INFO*>(pgc::place_item(base, place, item));
    return S_OK;
  });
}

HRESULT PeerGraphSetNodeAttributes(HGRAPH hGraph, PCWSTR pwzAttributes) {
  return call([&]() -> HRESULT {
    auto ge = runtime::get().find_graph(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    std::string attributes;  // NULL clears
    if (pwzAttributes) {
      if (pgc::wlen(pwzAttributes, peergraph::protocol::max_attributes_size) > peergraph::protocol::max_attributes_size)
        return E_INVALIDARG;
      auto u = pgc::to_utf8(pwzAttributes);
      if (!u) return E_INVALIDARG;
      attributes = std::move(*u);
    }
    std::error_code ec;
    ge->g.set_node_attributes(std::move(attributes), ec);  // E_INVALIDARG above 4096 bytes of UTF-8
    return ec ? static_cast<HRESULT>(peergraph::to_hresult(ec)) : S_OK;
  });
}

HRESULT PeerGraphSetPresence(HGRAPH hGraph, BOOL fPresent) {
  return call([&]() -> HRESULT {
    auto ge = runtime::get().find_graph(hGraph);
    if (!ge) return PEER_E_INVALID_GRAPH;
    ge->g.set_presence(fPresent != FALSE);  // throws only for a closed graph, which has no handle
    return S_OK;
  });
}

HRESULT PeerGraphGetItemCount(HPEERENUM hPeerEnum, ULONG* pCount) {
  return call([&]() -> HRESULT {
    auto& rt = runtime::get();
    auto it = rt.enums.find(pgc::handle_value(hPeerEnum, pgc::handle_kind::enumeration));
    if (it == rt.enums.end() || !pCount) return E_INVALIDARG;
    *pCount = static_cast<ULONG>(it->second->items.size());
    return S_OK;
  });
}

HRESULT PeerGraphGetNextItem(HPEERENUM hPeerEnum, ULONG* pCount, PVOID** pppvItems) {
  return call([&]() -> HRESULT {
    auto& rt = runtime::get();
    auto it = rt.enums.find(pgc::handle_value(hPeerEnum, pgc::handle_kind::enumeration));
    if (it == rt.enums.end() || !pCount || !pppvItems) return E_INVALIDARG;
    auto& en = *it->second;
    const std::size_t n = std::min<std::size_t>(*pCount, en.items.size() - en.next);
    *pppvItems = nullptr;
    *pCount = 0;
    if (n == 0) return S_OK;
    pgc::block_plan plan;
    plan.reserve(n * sizeof(PVOID), alignof(PVOID));
    for (std::size_t i = 0; i < n; ++i)
      std::visit([&](const auto& item) { pgc::plan_item(plan, item); }, en.items[en.next + i]);
    auto* base = pgc::allocate_block(plan.size());
    if (!base) return E_OUTOFMEMORY;
    pgc::block_plan place;
    auto** array = reinterpret_cast<PVOID*>(base + place.reserve(n * sizeof(PVOID), alignof(PVOID)));
    for (std::size_t i = 0; i < n; ++i)
      array[i] = std::visit([&](const auto& item) { return pgc::place_item(base, place, item); }, en.items[en.next + i]);
    en.next += n;
    *pppvItems = array;
    *pCount = static_cast<ULONG>(n);
    return S_OK;
  });
}

HRESULT PeerGraphEndEnumeration(HPEERENUM hPeerEnum) {
  return call([&]() -> HRESULT {
    auto& rt = runtime::get();
    return rt.enums.erase(pgc::handle_value(hPeerEnum, pgc::handle_kind::enumeration)) ? S_OK : E_INVALIDARG;
  });
}

VOID PeerGraphFreeData(PVOID pvData) { std::free(pvData); }

}  // extern "C"

#endif  // PEERGRAPH_COMPAT_DETAIL_SHIM_HPP
