// src/compat/win32_event.cpp: CreateEvent, SetEvent, ResetEvent,
// WaitForSingleObject and CloseHandle on a Linux eventfd, and
// PeerCompatEventFd. They need no PeerGraphStartup.
#include "win32_event.hpp"

#include <peergraph/compat/p2p.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <new>
#include <optional>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <unordered_set>

namespace peergraph::compat {

namespace {

struct win_event {
  int fd;
  bool manual;
};

/// The live event handles, so that a bad handle is refused rather than followed.
class event_table {
 public:
  static event_table& get() {
    static event_table t;
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
    // EAGAIN: the counter is full, so the event is signalled already.
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

bool reset_fd(int fd) {
  std::uint64_t v;
  return ::read(fd, &v, sizeof v) == sizeof v || errno == EAGAIN;
}

DWORD wait_event(HANDLE h, DWORD ms) {
  const auto ev = event_table::get().find(h);
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
    // Another waiter took this auto-reset signal first; wait on.
  }
}

}  // namespace

bool is_event(HANDLE h) { return event_table::get().find(h).has_value(); }

bool signal_event(HANDLE h) { return event_table::get().set(h); }

}  // namespace peergraph::compat

using peergraph::compat::event_table;

extern "C" {

HANDLE CreateEventW(LPSECURITY_ATTRIBUTES, BOOL bManualReset, BOOL bInitialState, LPCWSTR lpName) {
  if (lpName) return nullptr;  // named events are not supported
  return event_table::get().create(bManualReset != FALSE, bInitialState != FALSE);
}

HANDLE CreateEventA(LPSECURITY_ATTRIBUTES, BOOL bManualReset, BOOL bInitialState, LPCSTR lpName) {
  if (lpName) return nullptr;
  return event_table::get().create(bManualReset != FALSE, bInitialState != FALSE);
}

BOOL SetEvent(HANDLE hEvent) { return event_table::get().set(hEvent) ? TRUE : FALSE; }

BOOL ResetEvent(HANDLE hEvent) {
  const auto ev = event_table::get().find(hEvent);
  return ev && peergraph::compat::reset_fd(ev->fd) ? TRUE : FALSE;
}

DWORD WaitForSingleObject(HANDLE hHandle, DWORD dwMilliseconds) {
  return peergraph::compat::wait_event(hHandle, dwMilliseconds);
}

BOOL CloseHandle(HANDLE hObject) { return event_table::get().close(hObject) ? TRUE : FALSE; }

int PeerCompatEventFd(HANDLE hEvent) {
  const auto ev = event_table::get().find(hEvent);
  return ev ? ev->fd : -1;
}

}  // extern "C"
