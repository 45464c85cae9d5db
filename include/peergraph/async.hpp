// peergraph/async.hpp: what every asynchronous peergraph operation shares.
#ifndef PEERGRAPH_ASYNC_HPP
#define PEERGRAPH_ASYNC_HPP

#include <peergraph/config.hpp>

#include <asio/use_awaitable.hpp>

namespace peergraph {

/// The completion token used when none is given, so that
/// `co_await g.connect(ep)` needs none. Any other Asio completion token
/// (a callback, `asio::use_future`, Asio's deferred and as_tuple adapters)
/// may be passed instead.
using default_token = asio::use_awaitable_t<>;

template <typename Executor, typename Transport>
class basic_graph;

}  // namespace peergraph

#endif  // PEERGRAPH_ASYNC_HPP
