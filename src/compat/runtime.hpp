// src/compat/runtime.hpp: the thread that owns every core object, and the
// handles that name them.
//
// One io_context thread, started by the first PeerGraphStartup and stopped by
// the last PeerGraphShutdown, owns every graph, subscription and enumeration.
// An API call checks its plain arguments, then runs its core part on that
// thread through call() and waits for the result; nothing waits on the
// network. Startup and Shutdown exclude every other call while they run.
#ifndef PEERGRAPH_SRC_COMPAT_RUNTIME_HPP
#define PEERGRAPH_SRC_COMPAT_RUNTIME_HPP

#include <peergraph/compat/p2p.h>
#include <peergraph/graph.hpp>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <compare>
#include <cstdint>
#include <future>
#include <limits>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>

namespace peergraph::compat {

enum class handle_kind : std::uintptr_t { graph = 1, event = 2, enumeration = 3 };

/// The objects of one kind of handle. A handle is a serial number tagged with
/// its kind in the top byte, never reused, so a stale or mistyped handle is
/// recognised rather than followed. Use on the io thread only.
template <typename T, handle_kind Kind>
class handle_table {
  static constexpr int tag_shift = std::numeric_limits<std::uintptr_t>::digits - 8;

 public:
  void* add(std::shared_ptr<T> item) {
    const auto value = (static_cast<std::uintptr_t>(Kind) << tag_shift) | ++serial_;
    items_.emplace(value, std::move(item));
    return reinterpret_cast<void*>(value);
  }
  std::shared_ptr<T> find(const void* h) const {
    auto it = items_.find(value_of(h));
    return it == items_.end() ? nullptr : it->second;
  }
  /// Removes the handle; returns what it named (null if nothing).
  std::shared_ptr<T> take(const void* h) {
    auto node = items_.extract(value_of(h));
    return node ? std::move(node.mapped()) : nullptr;
  }
  template <typename F>
  void for_each(F&& f) const {
    for (const auto& [value, item] : items_) f(*item);
  }
  void clear() noexcept { items_.clear(); }

 private:
  static std::uintptr_t value_of(const void* h) noexcept {
    const auto v = reinterpret_cast<std::uintptr_t>(h);
    return (v >> tag_shift) == static_cast<std::uintptr_t>(Kind) ? v : 0;
  }

  std::unordered_map<std::uintptr_t, std::shared_ptr<T>> items_;
  std::uintptr_t serial_ = 0;
};

/// The three names PeerGraphCreate, Open and Delete know a local database by.
struct database_key {
  std::wstring graph_id, peer_id, name;
  friend auto operator<=>(const database_key&, const database_key&) = default;
};

/// An HGRAPH: the core's node and the database it was opened from.
struct graph_entry {
  peergraph::graph graph;
  database_key key;
};

struct registration;  // an HPEEREVENT (event_api.cpp)
struct enumeration;   // an HPEERENUM (block.hpp)

class runtime {
 public:
  static runtime& get();

  /// PeerGraphStartup's reference count; the first starts the io thread.
  HRESULT startup();
  /// The last closes every graph, stops the thread and releases every handle.
  HRESULT shutdown();

  using body = HRESULT (*)(void*);
  /// PEER_E_NOT_INITIALIZED outside Startup/Shutdown; otherwise runs
  /// `fn(ctx)` on the io thread and returns its result, an exception becoming
  /// its HRESULT.
  HRESULT run(body fn, void* ctx);

  // The members below are for the io thread only.

  asio::io_context::executor_type executor() noexcept { return io_->get_executor(); }

  handle_table<graph_entry, handle_kind::graph> graphs;
  handle_table<registration, handle_kind::event> events;
  handle_table<enumeration, handle_kind::enumeration> enumerations;

 private:
  runtime() = default;
  void start();
  void stop();

  std::shared_mutex life_;  // shared: an API call in progress; exclusive: Startup/Shutdown
  int refs_ = 0;
  std::unique_ptr<asio::io_context> io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::thread::id io_thread_;
  std::future<void> ran_out_;
};

/// Runs the core part of an API call (a callable returning HRESULT) on the
/// io thread; PEER_E_NOT_INITIALIZED outside Startup/Shutdown.
template <typename F>
HRESULT call(F&& f) {
  using body_type = std::remove_reference_t<F>;
  return runtime::get().run([](void* p) -> HRESULT { return (*static_cast<body_type*>(p))(); },
                            const_cast<void*>(static_cast<const void*>(&f)));
}

}  // namespace peergraph::compat

#endif  // PEERGRAPH_SRC_COMPAT_RUNTIME_HPP
