// peergraph/impl/graph.hpp: the bodies of basic_graph and its initiation object.
#ifndef PEERGRAPH_IMPL_GRAPH_HPP
#define PEERGRAPH_IMPL_GRAPH_HPP

#include <peergraph/detail/graph_impl.hpp>
#include <peergraph/detail/ids.hpp>
#include <peergraph/graph.hpp>

namespace peergraph {
namespace detail {

/// Starts a connect or open_direct; the completion gets a handle to the
/// established connection.
template <typename Executor, typename Transport>
struct initiate_open {
  using impl_type = graph_impl<Executor, Transport>;
  using connection_type = basic_connection<Executor, Transport>;

  std::shared_ptr<impl_type> impl;
  connection_kind kind;

  using executor_type = Executor;
  executor_type get_executor() const noexcept { return impl->executor(); }

  template <typename Handler>
  void operator()(Handler&& handler, const endpoint& ep, const connect_options& opts) const {
    using conn_impl = typename impl_type::connection_type;
    typename impl_type::open_completion c(std::forward<Handler>(handler), impl->executor(),
                                          [](auto&& h, std::error_code ec, std::shared_ptr<conn_impl> p) {
                                            std::move(h)(ec, connection_type(std::move(p)));
                                          });
    impl->connect(ep, opts, kind, std::move(c));
  }
};

/// Starts a wait_synchronized, wait_node or wait_nodes; `invoke` turns the
/// nodes that satisfied the wait into the operation's own signature.
template <typename Executor, typename Transport>
struct initiate_wait {
  std::shared_ptr<graph_impl<Executor, Transport>> impl;

  using executor_type = Executor;
  executor_type get_executor() const noexcept { return impl->executor(); }

  template <typename Handler, typename Invoke>
  void operator()(Handler&& handler, Invoke invoke, wait_condition cond,
                  std::optional<std::chrono::milliseconds> timeout) const {
    typename graph_impl<Executor, Transport>::wait_completion c(std::forward<Handler>(handler), impl->executor(),
                                                                std::move(invoke));
    if (cond.kind == wait_condition::peer && !valid_id(cond.peer_id)) return c.complete(errc::invalid_argument, {});
    impl->wait_for(std::move(cond), timeout, std::move(c));
  }
};

/// Starts an async_close.
template <typename Executor, typename Transport>
struct initiate_graceful_close {
  std::shared_ptr<graph_impl<Executor, Transport>> impl;

  using executor_type = Executor;
  executor_type get_executor() const noexcept { return impl->executor(); }

  template <typename Handler>
  void operator()(Handler&& handler, std::chrono::milliseconds linger) const {
    impl->close_gracefully(linger, close_tally::completion_type(std::forward<Handler>(handler), impl->executor()));
  }
};

inline void throw_if(const std::error_code& ec, const char* what) {
  if (ec) throw std::system_error(ec, what);
}

}  // namespace detail

template <typename Executor, typename Transport>
basic_graph<Executor, Transport> basic_graph<Executor, Transport>::create(const executor_type& ex,
                                                                          graph_properties props, graph_options opts,
                                                                          Transport transport) {
  if (!detail::valid_id(props.graph_id) || !detail::valid_id(props.creator_id) ||
      !detail::valid_name(props.friendly_name) || !detail::valid_comment(props.comment) ||
      !detail::valid_name(opts.friendly_name))
    throw std::system_error(errc::invalid_argument, "peergraph::graph::create: bad id, name or comment");
  auto peer = props.creator_id;
  return basic_graph(
      std::make_shared<impl_type>(ex, std::move(transport), std::move(props), std::move(peer), true, std::move(opts)));
}

template <typename Executor, typename Transport>
basic_graph<Executor, Transport> basic_graph<Executor, Transport>::open(const executor_type& ex, std::string graph_id,
                                                                        std::string peer_id, graph_options opts,
                                                                        Transport transport) {
  if (!detail::valid_id(graph_id) || !detail::valid_id(peer_id) || !detail::valid_name(opts.friendly_name))
    throw std::system_error(errc::invalid_argument, "peergraph::graph::open: bad id or name");
  graph_properties props;
  props.graph_id = std::move(graph_id);
  return basic_graph(std::make_shared<impl_type>(ex, std::move(transport), std::move(props), std::move(peer_id), false,
                                                 std::move(opts)));
}

template <typename Executor, typename Transport>
basic_graph<Executor, Transport>& basic_graph<Executor, Transport>::operator=(basic_graph&& other) noexcept {
  if (this != &other) {
    close();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

template <typename Executor, typename Transport>
auto basic_graph<Executor, Transport>::get_executor() const noexcept -> executor_type {
  return impl_->executor();
}

template <typename Executor, typename Transport>
const std::string& basic_graph<Executor, Transport>::graph_id() const noexcept {
  return impl_->graph_id();
}

template <typename Executor, typename Transport>
const std::string& basic_graph<Executor, Transport>::peer_id() const noexcept {
  return impl_->peer_id();
}

template <typename Executor, typename Transport>
node_id basic_graph<Executor, Transport>::id() const noexcept {
  return impl_->node();
}

template <typename Executor, typename Transport>
const graph_properties& basic_graph<Executor, Transport>::properties() const noexcept {
  return impl_->properties();
}

template <typename Executor, typename Transport>
void basic_graph<Executor, Transport>::set_properties(const graph_properties& props) {
  std::error_code ec;
  set_properties(props, ec);
  detail::throw_if(ec, "peergraph::graph::set_properties");
}

template <typename Executor, typename Transport>
void basic_graph<Executor, Transport>::set_properties(const graph_properties& props, std::error_code& ec) {
  impl_->set_properties(props, ec);
}

template <typename Executor, typename Transport>
const graph_options& basic_graph<Executor, Transport>::options() const noexcept {
  return impl_->options();
}

template <typename Executor, typename Transport>
graph_status basic_graph<Executor, Transport>::status() const noexcept {
  return impl_->status();
}

template <typename Executor, typename Transport>
bool basic_graph<Executor, Transport>::is_open() const noexcept {
  return impl_ && impl_->is_open();
}

template <typename Executor, typename Transport>
endpoint basic_graph<Executor, Transport>::listen(const endpoint& ep) {
  std::error_code ec;
  auto bound = listen(ep, ec);
  detail::throw_if(ec, "peergraph::graph::listen");
  return bound;
}

template <typename Executor, typename Transport>
endpoint basic_graph<Executor, Transport>::listen(const endpoint& ep, std::error_code& ec) {
  return impl_->listen(ep, ec);
}

template <typename Executor, typename Transport>
std::vector<endpoint> basic_graph<Executor, Transport>::local_endpoints() const {
  return impl_->local_endpoints();
}

template <typename Executor, typename Transport>
connection_id basic_graph<Executor, Transport>::new_connection_id() {
  return impl_->new_connection_id();
}

template <typename Executor, typename Transport>
std::vector<connection_info> basic_graph<Executor, Transport>::connections(std::optional<connection_kind> kind) const {
  return impl_->connections(kind);
}

template <typename Executor, typename Transport>
auto basic_graph<Executor, Transport>::find_connection(connection_id id) const -> connection_type {
  auto c = impl_->find(id);
  return connection_type(c && c->is_established() ? c : nullptr);
}

template <typename Executor, typename Transport>
auto basic_graph<Executor, Transport>::subscribe(event_mask kinds, subscribe_options opts)
    -> subscription_type<any_event> {
  if (kinds.empty()) throw std::system_error(errc::invalid_argument, "peergraph::graph::subscribe: empty event mask");
  return subscription_type<any_event>(make_subscription(kinds, std::move(opts)), get_executor());
}

template <typename Executor, typename Transport>
std::shared_ptr<detail::subscription_state> basic_graph<Executor, Transport>::make_subscription(
    event_mask kinds, subscribe_options opts) {
  auto state = std::make_shared<detail::subscription_state>(kinds, std::move(opts));
  impl_->router().add(state);
  return state;
}

template <typename Executor, typename Transport>
bool basic_graph<Executor, Transport>::accepts_direct_connections() const {
  return impl_->is_open() && impl_->accepts_direct();
}

template <typename Executor, typename Transport>
std::vector<node_info> basic_graph<Executor, Transport>::nodes(std::optional<std::string_view> peer_id) const {
  return impl_->nodes(peer_id);
}

template <typename Executor, typename Transport>
node_info basic_graph<Executor, Transport>::node_info(node_id id) const {
  std::error_code ec;
  auto info = impl_->get_node_info(id, ec);
  detail::throw_if(ec, "peergraph::graph::node_info");
  return info;
}

template <typename Executor, typename Transport>
node_info basic_graph<Executor, Transport>::node_info(node_id id, std::error_code& ec) const {
  return impl_->get_node_info(id, ec);
}

template <typename Executor, typename Transport>
void basic_graph<Executor, Transport>::set_node_attributes(std::string attributes) {
  std::error_code ec;
  set_node_attributes(std::move(attributes), ec);
  detail::throw_if(ec, "peergraph::graph::set_node_attributes");
}

template <typename Executor, typename Transport>
void basic_graph<Executor, Transport>::set_node_attributes(std::string attributes, std::error_code& ec) {
  impl_->set_node_attributes(std::move(attributes), ec);
}

template <typename Executor, typename Transport>
void basic_graph<Executor, Transport>::set_presence(bool present) {
  std::error_code ec;
  impl_->set_presence(present, ec);
  detail::throw_if(ec, "peergraph::graph::set_presence");
}

template <typename Executor, typename Transport>
graph_stats basic_graph<Executor, Transport>::stats() const noexcept {
  return impl_->stats();
}

template <typename Executor, typename Transport>
void basic_graph<Executor, Transport>::close() noexcept {
  if (impl_) impl_->close();
}

}  // namespace peergraph

#endif  // PEERGRAPH_IMPL_GRAPH_HPP
