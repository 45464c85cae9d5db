// peergraph/detail/memory/control.hpp: what the memory_network and memory_link handles do.
//
// Each function takes the network's mutex itself and posts whatever its
// change completed once the mutex is released.
#ifndef PEERGRAPH_DETAIL_MEMORY_CONTROL_HPP
#define PEERGRAPH_DETAIL_MEMORY_CONTROL_HPP

#include <peergraph/detail/memory/state.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <vector>

namespace peergraph::detail::memory {

/// Runs `f(net, b)` under the network's mutex, then posts what it completed.
template <typename F>
void update(network_state& net, F f) {
  batch b;
  {
    std::lock_guard lock(net.mutex);
    f(net, b);
  }
  b.run();
}

/// Returns `f(net)`, run under the network's mutex.
template <typename F>
auto inspect(const network_state& net, F f) {
  std::lock_guard lock(net.mutex);
  return f(net);
}

struct link_facts {
  std::uint64_t carried;
  bool open;
  bool reset;
  bool stalled;
};

inline link_facts facts(const link_state& l) {
  return inspect(*l.net, [&](const network_state&) { return link_facts{l.carried, l.registered, l.reset, l.stalled}; });
}

inline void reset(link_state& l) {
  update(*l.net, [&](network_state& net, batch& b) { net.reset_link(l, b); });
}

inline void set_stalled(link_state& l, bool stalled) {
  update(*l.net, [&](network_state& net, batch& b) {
    l.stalled = stalled;
    net.progress(l, b);
  });
}

inline void set_budget(link_state& l, std::uint64_t total) {
  update(*l.net, [&](network_state& net, batch& b) {
    l.budget = total;
    net.progress(l, b);
  });
}

inline void set_stalled(network_state& net, bool stalled) {
  update(net, [&](network_state&, batch& b) {
    net.stalled = stalled;
    for (auto& [id, l] : net.links) net.progress(*l, b);
  });
}

inline void set_failure(network_state& net, std::optional<std::uint64_t> n, std::error_code ec) {
  update(net, [&](network_state&, batch&) {
    net.fail_at = n;
    net.fail_ec = ec;
  });
}

inline void set_refused(network_state& net, const endpoint& ep, bool refused) {
  update(net, [&](network_state&, batch&) {
    std::erase(net.refused, ep);
    if (refused) net.refused.push_back(ep);
  });
}

inline void set_new_link_budget(network_state& net, std::optional<std::uint64_t> total) {
  update(net, [&](network_state&, batch&) { net.new_link_budget = total; });
}

/// The open links for which `pred` holds, oldest first.
template <typename Pred>
std::vector<std::shared_ptr<link_state>> select(const network_state& net, Pred pred) {
  return inspect(net, [&](const network_state&) {
    std::vector<std::shared_ptr<link_state>> out;
    for (const auto& [id, l] : net.links)
      if (pred(*l))
        if (auto p = l->weak_from_this().lock()) out.push_back(std::move(p));
    return out;
  });
}

/// True if `pattern` matches the local endpoint of either end of `l`.
inline bool touches_link(const endpoint& pattern, const link_state& l) noexcept {
  return touches(pattern, l.ends[0].local) || touches(pattern, l.ends[1].local);
}

}  // namespace peergraph::detail::memory

#endif  // PEERGRAPH_DETAIL_MEMORY_CONTROL_HPP
