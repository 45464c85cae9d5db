// peergraph/detail/memory/state.hpp: the shared state of an in-memory network and the rules
// that move bytes through it.
//
// One mutex per network guards everything here. Functions that take a
// `batch&` run with that mutex held: they decide completions and record them
// in the batch, which posts them once the mutex is released (a handler, or
// the destructor of something it owns, may call back into the network).
// Nothing here calls user code with the mutex held, and no shared_ptr to a
// link is dropped under it unless its destructor is harmless (it is: a link's
// destructor takes no lock).
#ifndef PEERGRAPH_DETAIL_MEMORY_STATE_HPP
#define PEERGRAPH_DETAIL_MEMORY_STATE_HPP

#include <peergraph/detail/memory/pipe.hpp>
#include <peergraph/types.hpp>

#include <asio/error.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

namespace peergraph::detail::memory {

struct link_state;

/// How an operation ended: its error, the bytes it moved, and for an
/// accept, the link whose accepting end it hands over.
struct outcome {
  outcome() = default;
  outcome(std::error_code e, std::size_t n = 0, std::shared_ptr<link_state> a = {}) noexcept
      : ec(e), bytes(n), accepted(std::move(a)) {}

  std::error_code ec;
  std::size_t bytes = 0;
  std::shared_ptr<link_state> accepted;
};

/// A pending operation of any kind, type-erased. Allocated with its
/// handler's allocator; complete() posts the handler and frees the object,
/// destroy() frees it without calling the handler.
class op_base {
 public:
  explicit op_base(std::size_t wanted) noexcept : wanted_(wanted) {}
  /// Moves bytes between the operation's buffers and `p` (a read takes
  /// from it, a write adds at most `limit`); returns how many.
  virtual std::size_t transfer(pipe& p, std::size_t limit) = 0;
  virtual void complete(outcome o) = 0;
  virtual void destroy() noexcept = 0;

  std::size_t wanted() const noexcept { return wanted_; }
  std::uint64_t ticket = 0;

 protected:
  ~op_base() = default;

 private:
  std::size_t wanted_;
};

struct op_destroyer {
  void operator()(op_base* p) const noexcept { p->destroy(); }
};
using op_ptr = std::unique_ptr<op_base, op_destroyer>;

/// Completions decided under the network's mutex, posted after it is released.
class batch {
 public:
  batch() = default;
  batch(const batch&) = delete;
  batch& operator=(const batch&) = delete;
  ~batch() { run(); }

  void add(op_ptr op, outcome o) { ready_.emplace_back(std::move(op), std::move(o)); }
  /// Keeps `l` alive until the batch has run, so that it is not freed under the mutex.
  void keep(std::shared_ptr<link_state> l) { kept_.push_back(std::move(l)); }

  /// Posts every recorded completion, in the order recorded.
  void run() {
    auto ready = std::move(ready_);
    ready_.clear();
    for (auto& [op, o] : ready) op.release()->complete(std::move(o));
    kept_.clear();
  }

 private:
  std::vector<std::pair<op_ptr, outcome>> ready_;
  std::vector<std::shared_ptr<link_state>> kept_;
};

class network_state;

/// One end of a link: the stream that connected (0) or the accepted one (1).
struct end_state {
  endpoint local;
  bool closed = false;
  std::deque<op_ptr> reads;
  std::deque<op_ptr> writes;
};

/// A connection: two ends and a pipe each way (pipes[s] carries what end s writes).
struct link_state : std::enable_shared_from_this<link_state> {
  link_state(std::shared_ptr<network_state> n, std::uint64_t link_id, std::size_t capacity)
      : net(std::move(n)), id(link_id), pipes{pipe(capacity), pipe(capacity)} {}

  std::shared_ptr<network_state> net;
  const std::uint64_t id;
  end_state ends[2];
  pipe pipes[2];
  bool reset = false;
  bool stalled = false;
  bool registered = false;  // counted among the open links
  std::optional<std::uint64_t> budget;
  std::uint64_t carried = 0;
};

/// A listening endpoint: connections not yet accepted and waiting accepts.
struct listener_state {
  listener_state(std::shared_ptr<network_state> n, endpoint ep) : net(std::move(n)), local(ep) {}

  std::shared_ptr<network_state> net;
  const endpoint local;
  bool closed = false;
  std::deque<std::shared_ptr<link_state>> backlog;
  std::deque<op_ptr> accepts;
};

/// True when something bound to `bound` receives what is sent to `a`: the
/// same address, `::` (any address) or `0.0.0.0` (any IPv4 address).
inline bool covers(const asio::ip::address& bound, const asio::ip::address& a) noexcept {
  if (bound == a) return true;
  return bound.is_unspecified() && (bound.is_v6() || a.is_v4());
}

/// True when `pattern` names `ep`: the same port, and an address that covers ep's.
inline bool touches(const endpoint& pattern, const endpoint& ep) noexcept {
  return pattern.port() == ep.port() && covers(pattern.address(), ep.address());
}

class network_state : public std::enable_shared_from_this<network_state> {
 public:
  static constexpr std::uint16_t first_port = 49152;

  explicit network_state(std::size_t capacity) : pipe_capacity(std::max<std::size_t>(capacity, 1)) {}

  mutable std::mutex mutex;
  const std::size_t pipe_capacity;

  // Counters (operations, bytes, resets under the mutex; completions are
  // counted where handlers run, without it).
  std::uint64_t operations = 0;
  std::atomic<std::uint64_t> completions{0};
  std::uint64_t bytes = 0;
  std::uint64_t links_made = 0;
  std::uint64_t resets = 0;

  // Faults.
  std::optional<std::uint64_t> fail_at;
  std::error_code fail_ec;
  bool stalled = false;
  std::optional<std::uint64_t> new_link_budget;
  std::vector<endpoint> refused;

  std::map<std::uint64_t, link_state*> links;  // open links by id (creation order)
  std::vector<listener_state*> listeners;      // open listeners

  // ------------------------------------------------------------ numbering and faults

  /// Numbers one operation; returns the injected error if it is the one to fail.
  std::error_code count_operation() {
    const auto n = operations++;
    if (fail_at && *fail_at == n) return fail_ec;
    return {};
  }

  bool carries(const link_state& l) const noexcept { return !stalled && !l.stalled; }

  // ------------------------------------------------------------ ports and listeners

  // Ports are counted per address, as a host's ephemeral ports are: a
  // simulation of thousands of nodes, each at an address of its own, has
  // far more connecting ends than one address has ports.

  /// The next free port of `a` after the last one handed out there, or 0 if
  /// none is left.
  std::uint16_t allocate_port(const asio::ip::address& a) {
    auto& next = next_port_.try_emplace(a, first_port).first->second;
    for (std::uint32_t i = 0; i <= 65535u - first_port; ++i) {
      const auto p = next;
      next = p == 65535 ? first_port : static_cast<std::uint16_t>(p + 1);
      if (!port_refs_.count({a, p})) return p;
    }
    return 0;
  }
  void hold_port(const endpoint& ep) { ++port_refs_[{ep.address(), ep.port()}]; }
  void release_port(const endpoint& ep) {
    if (auto it = port_refs_.find({ep.address(), ep.port()}); it != port_refs_.end() && --it->second == 0)
      port_refs_.erase(it);
  }

  /// The open listener that receives connections to `ep`, or null.
  listener_state* find_listener(const endpoint& ep) const {
    for (auto* l : listeners)
      if (touches(l->local, ep)) return l;
    return nullptr;
  }

  /// True when a listener bound to `ep` would share an address with an open one.
  bool listen_conflict(const endpoint& ep) const {
    for (auto* l : listeners)
      if (l->local.port() == ep.port() &&
          (covers(l->local.address(), ep.address()) || covers(ep.address(), l->local.address())))
        return true;
    return false;
  }

  bool is_refused(const endpoint& ep) const {
    for (const auto& r : refused)
      if (touches(r, ep)) return true;
    return false;
  }

  // ------------------------------------------------------------ links

  std::uint64_t next_link_id() noexcept { return ++last_link_id_; }
  std::uint64_t next_ticket() noexcept { return ++last_ticket_; }

  void register_link(link_state& l) {
    l.registered = true;
    links.emplace(l.id, &l);
    hold_port(l.ends[0].local);
    ++links_made;
  }

  void unregister_link(link_state& l) {
    if (!l.registered) return;
    l.registered = false;
    links.erase(l.id);
    release_port(l.ends[0].local);
  }

  /// Ends the link as a TCP reset does: buffered bytes are lost, and every
  /// pending and later read or write on either end fails with connection_reset.
  void reset_link(link_state& l, batch& b) {
    if (l.reset) return;
    l.reset = true;
    ++resets;
    l.pipes[0].clear();
    l.pipes[1].clear();
    for (auto& e : l.ends) {
      abort_all(e.reads, asio::error::connection_reset, b);
      abort_all(e.writes, asio::error::connection_reset, b);
    }
  }

  /// Completes whatever the link's state now allows, until nothing changes.
  void progress(link_state& l, batch& b) {
    for (bool moved = true; moved;) {
      moved = false;
      for (int s = 0; s < 2; ++s) {
        auto& e = l.ends[s];
        while (!e.reads.empty()) {
          outcome o;
          if (!try_read(l, s, *e.reads.front(), o)) break;
          b.add(pop(e.reads), std::move(o));
          moved = true;
        }
        while (!e.writes.empty()) {
          outcome o;
          const auto st = try_write(l, s, *e.writes.front(), o);
          if (st == step::wait) break;
          b.add(pop(e.writes), std::move(o));
          moved = true;
          if (st == step::done_then_reset) reset_link(l, b);
        }
      }
    }
  }

  /// A read on end `s`: true with its outcome when it need not wait.
  bool try_read(link_state& l, int s, op_base& op, outcome& o) {
    if (op.wanted() == 0) return true;
    if (l.reset) return o.ec = asio::error::connection_reset, true;
    if (!carries(l)) return false;
    auto& in = l.pipes[1 - s];
    if (!in.empty()) return o.bytes = op.transfer(in, std::numeric_limits<std::size_t>::max()), true;
    if (l.ends[1 - s].closed) return o.ec = asio::error::eof, true;
    return false;
  }

  enum class step { wait, done, done_then_reset };

  /// A write on end `s`: done with its outcome unless it has to wait for room.
  step try_write(link_state& l, int s, op_base& op, outcome& o) {
    if (op.wanted() == 0) return step::done;
    if (l.reset) return o.ec = asio::error::connection_reset, step::done;
    if (l.ends[1 - s].closed) return o.ec = asio::error::broken_pipe, step::done;
    std::size_t limit = std::numeric_limits<std::size_t>::max();
    if (l.budget) {
      if (l.carried >= *l.budget) return o.ec = asio::error::connection_reset, step::done_then_reset;
      limit = static_cast<std::size_t>(std::min<std::uint64_t>(*l.budget - l.carried, limit));
    }
    auto& out = l.pipes[s];
    if (out.space() == 0) return step::wait;
    o.bytes = op.transfer(out, limit);
    l.carried += o.bytes;
    bytes += o.bytes;
    return step::done;
  }

  /// Starts a read or write on end `s` of `l`: it completes now (with
  /// `fault` if that is set: the link is then reset) or waits. Returns the
  /// ticket of a waiting operation, 0 if it completed.
  std::uint64_t start_io(link_state& l, int s, bool read, op_ptr op, std::error_code fault, batch& b) {
    if (fault) {
      b.add(std::move(op), outcome{fault});
      reset_link(l, b);
      return 0;
    }
    auto& e = l.ends[s];
    auto& queue = read ? e.reads : e.writes;
    if (queue.empty()) {  // later operations wait behind earlier ones
      outcome o;
      const step st = read ? (try_read(l, s, *op, o) ? step::done : step::wait) : try_write(l, s, *op, o);
      if (st != step::wait) {
        b.add(std::move(op), std::move(o));
        if (st == step::done_then_reset) reset_link(l, b);
        progress(l, b);
        return 0;
      }
    }
    op->ticket = next_ticket();
    const auto t = op->ticket;
    queue.push_back(std::move(op));
    return t;
  }

  /// Connects to `ep`: completes `op`, and on success returns the new link,
  /// whose accepting end goes to a waiting accept or the listener's backlog.
  std::shared_ptr<link_state> connect(const endpoint& ep, op_ptr op, batch& b) {
    auto* listener = is_refused(ep) ? nullptr : find_listener(ep);
    if (!listener) {
      b.add(std::move(op), outcome{asio::error::connection_refused});
      return nullptr;
    }
    const auto port = allocate_port(ep.address());
    if (port == 0) {
      b.add(std::move(op), outcome{asio::error::address_in_use});
      return nullptr;
    }
    auto l = std::make_shared<link_state>(shared_from_this(), next_link_id(), pipe_capacity);
    l->ends[0].local = endpoint(ep.address(), port);
    l->ends[1].local = ep;
    l->budget = new_link_budget;
    register_link(*l);
    b.add(std::move(op), outcome{});
    if (!listener->accepts.empty())
      b.add(pop(listener->accepts), outcome{{}, 0, l});
    else
      listener->backlog.push_back(l);
    return l;
  }

  /// Binds a listener to `ep` (port 0: the next free port).
  std::shared_ptr<listener_state> listen(const endpoint& ep, std::error_code& ec) {
    ec.clear();
    endpoint bound = ep;
    if (ep.port() == 0)
      bound.port(allocate_port(ep.address()));
    else if (listen_conflict(ep))
      bound.port(0);
    if (bound.port() == 0) {
      ec = asio::error::address_in_use;
      return nullptr;
    }
    auto l = std::make_shared<listener_state>(shared_from_this(), bound);
    listeners.push_back(l.get());
    hold_port(bound);
    return l;
  }

  /// Closes a listener: waiting accepts are aborted, connections not yet
  /// accepted are reset (their connecting ends see connection_reset).
  void close_listener(listener_state& l, batch& b) {
    if (l.closed) return;
    l.closed = true;
    std::erase(listeners, &l);
    release_port(l.local);
    abort_all(l.accepts, asio::error::operation_aborted, b);
    for (auto& link : l.backlog) {
      reset_link(*link, b);
      close_end(*link, 1, b);
      b.keep(std::move(link));
    }
    l.backlog.clear();
  }

  /// The owner closed end `s`: its waiting operations are aborted, bytes
  /// sent to it are dropped, and the other end reads the rest, then eof.
  void close_end(link_state& l, int s, batch& b) {
    auto& e = l.ends[s];
    if (e.closed) return;
    e.closed = true;
    abort_all(e.reads, asio::error::operation_aborted, b);
    abort_all(e.writes, asio::error::operation_aborted, b);
    l.pipes[1 - s].clear();
    progress(l, b);
    if (l.ends[1 - s].closed) unregister_link(l);
  }

  /// Removes the waiting operation `ticket` from `q` and aborts it.
  static bool cancel(std::deque<op_ptr>& q, std::uint64_t ticket, batch& b) {
    for (auto it = q.begin(); it != q.end(); ++it)
      if ((*it)->ticket == ticket) {
        auto op = std::move(*it);
        q.erase(it);
        b.add(std::move(op), outcome{asio::error::operation_aborted});
        return true;
      }
    return false;
  }

  static void abort_all(std::deque<op_ptr>& q, std::error_code ec, batch& b) {
    while (!q.empty()) b.add(pop(q), outcome{ec});
  }

  static op_ptr pop(std::deque<op_ptr>& q) {
    auto op = std::move(q.front());
    q.pop_front();
    return op;
  }

 private:
  std::map<std::pair<asio::ip::address, std::uint16_t>, std::size_t> port_refs_;
  std::map<asio::ip::address, std::uint16_t> next_port_;
  std::uint64_t last_link_id_ = 0;
  std::uint64_t last_ticket_ = 0;
};

}  // namespace peergraph::detail::memory

#endif  // PEERGRAPH_DETAIL_MEMORY_STATE_HPP
