// src/compat/runtime.cpp: the io thread, its reference count, and calls onto it.
#include "runtime.hpp"

#include "convert.hpp"

#include <asio/post.hpp>

#include <chrono>
#include <exception>
#include <new>
#include <system_error>

namespace peergraph::compat {

namespace {

HRESULT guarded(runtime::body fn, void* ctx) noexcept {
  try {
    return fn(ctx);
  } catch (const std::bad_alloc&) {
    return E_OUTOFMEMORY;
  } catch (const std::system_error& e) {
    return to_hr(e.code());
  } catch (...) {
    return E_FAIL;
  }
}

}  // namespace

runtime& runtime::get() {
  // Never destroyed: a process that exits without its last PeerGraphShutdown
  // must not end in std::terminate from a joinable thread's destructor.
  static runtime* const rt = new runtime;
  return *rt;
}

HRESULT runtime::startup() {
  std::unique_lock lk(life_);
  try {
    if (refs_ == 0) start();
  } catch (const std::bad_alloc&) {
    return E_OUTOFMEMORY;
  } catch (...) {
    return E_FAIL;
  }
  ++refs_;
  return S_OK;
}

HRESULT runtime::shutdown() {
  std::unique_lock lk(life_);
  if (refs_ == 0) return PEER_E_NOT_INITIALIZED;
  if (--refs_ == 0) stop();
  return S_OK;
}

HRESULT runtime::run(body fn, void* ctx) {
  std::shared_lock lk(life_);
  if (refs_ == 0) return PEER_E_NOT_INITIALIZED;
  if (std::this_thread::get_id() == io_thread_) return guarded(fn, ctx);
  try {
    std::promise<HRESULT> done;
    auto result = done.get_future();
    asio::post(*io_, [&done, fn, ctx] { done.set_value(guarded(fn, ctx)); });
    return result.get();
  } catch (const std::bad_alloc&) {
    return E_OUTOFMEMORY;
  } catch (...) {
    return E_FAIL;
  }
}

void runtime::start() {
  io_ = std::make_unique<asio::io_context>(1);
  work_.emplace(io_->get_executor());
  std::promise<void> ran_out;
  ran_out_ = ran_out.get_future();
  thread_ = std::thread([io = io_.get(), ran_out = std::move(ran_out)]() mutable {
    io->run();
    ran_out.set_value();
  });
  io_thread_ = thread_.get_id();
}

void runtime::stop() {
  std::promise<void> closed;
  auto done = closed.get_future();
  asio::post(*io_, [this, &closed] {
    graphs.for_each([](graph_entry& ge) { ge.graph.close(); });
    closed.set_value();
  });
  done.wait();
  // Without the guard the thread runs out once the closes have been written
  // (DISCONNECT, the withdrawal of presence); a connection that lingers
  // longer is cut rather than holding up Shutdown.
  work_.reset();
  if (ran_out_.wait_for(std::chrono::milliseconds(500)) != std::future_status::ready) io_->stop();
  thread_.join();
  events.clear();
  enumerations.clear();
  graphs.clear();
  io_.reset();
}

}  // namespace peergraph::compat
