// Unit tests for peergraph/error.hpp and peergraph/protocol/error.hpp:
// categories, messages, HRESULT mapping and error conditions.
#include <peergraph/error.hpp>
#include <peergraph/protocol/error.hpp>

#include <asio/error.hpp>
#include <catch2/catch.hpp>

#include <cstdint>
#include <iterator>
#include <set>
#include <string>
#include <system_error>
#include <vector>

namespace pg = peergraph;
namespace pp = peergraph::protocol;
using pg::condition;
using pg::errc;

namespace {

constexpr std::int32_t hr(std::uint32_t v) { return static_cast<std::int32_t>(v); }

struct documented {
  errc code;
  std::uint32_t hresult;
  const char* name;
};

// The HRESULTs as documented for the Peer Graphing API (winerror.h / p2p.h):
// PEER_E_* = MAKE_HRESULT(SEVERITY_ERROR, FACILITY_P2P = 99, code), except
// PEER_E_ALREADY_EXISTS = HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS = 183) and
// PEER_E_NOT_FOUND = HRESULT_FROM_WIN32(ERROR_NOT_FOUND = 1168).
const std::vector<documented> documented_hresults{
    {errc::invalid_argument, 0x80070057u, "E_INVALIDARG"},
    {errc::out_of_memory, 0x8007000Eu, "E_OUTOFMEMORY"},
    {errc::not_initialized, 0x80630002u, "PEER_E_NOT_INITIALIZED"},
    {errc::unsupported_version, 0x80632090u, "PEER_E_UNSUPPORTED_VERSION"},
    {errc::invalid_graph, 0x80630010u, "PEER_E_INVALID_GRAPH"},
    {errc::duplicate_graph, 0x80630012u, "PEER_E_DUPLICATE_GRAPH"},
    {errc::graph_not_ready, 0x80630013u, "PEER_E_GRAPH_NOT_READY"},
    {errc::graph_shutting_down, 0x80630014u, "PEER_E_GRAPH_SHUTTING_DOWN"},
    {errc::already_listening, 0x80630107u, "PEER_E_ALREADY_LISTENING"},
    {errc::already_exists, 0x800700B7u, "PEER_E_ALREADY_EXISTS"},
    {errc::connect_self, 0x80630106u, "PEER_E_CONNECT_SELF"},
    {errc::connection_refused, 0x8063010Bu, "PEER_E_CONNECTION_REFUSED"},
    {errc::connection_failed, 0x80630109u, "PEER_E_CONNECTION_FAILED"},
    {errc::connection_not_authenticated, 0x8063010Au, "PEER_E_CONNECTION_NOT_AUTHENTICATED"},
    {errc::connection_not_found, 0x80630103u, "PEER_E_CONNECTION_NOT_FOUND"},
    {errc::node_not_found, 0x80630108u, "PEER_E_NODE_NOT_FOUND"},
    {errc::not_found, 0x80070490u, "PEER_E_NOT_FOUND"},
    {errc::timeout, 0x80637005u, "PEER_E_TIMEOUT"},
    {errc::invalid_address, 0x80637007u, "PEER_E_INVALID_ADDRESS"},
    {errc::unable_to_listen, 0x80632096u, "PEER_E_UNABLE_TO_LISTEN"},
    {errc::event_handle_not_found, 0x80630501u, "PEER_E_EVENT_HANDLE_NOT_FOUND"},
    {errc::max_message_size_exceeded, 0x80630304u, "PEER_E_MAX_RECORD_SIZE_EXCEEDED"},
    {errc::access_denied, 0x80070005u, "E_ACCESSDENIED"},
};

constexpr int first_errc = static_cast<int>(errc::invalid_argument);
constexpr int last_errc = static_cast<int>(errc::access_denied);
constexpr int first_protocol_error = static_cast<int>(pp::error::truncated_message);
constexpr int last_protocol_error = static_cast<int>(pp::error::neighbor_evicted);

}  // namespace

TEST_CASE("category names", "[error]") {
  CHECK(std::string(pg::error_category().name()) == "peergraph");
  CHECK(std::string(pp::error_category().name()) == "peergraph.protocol");
  CHECK(std::string(pg::condition_category().name()) == "peergraph.condition");

  const std::error_code a = errc::timeout;
  CHECK(a.category() == pg::error_category());
  const std::error_code b = pp::error::bad_version;
  CHECK(b.category() == pp::error_category());
  const std::error_condition c = condition::closed;
  CHECK(c.category() == pg::condition_category());
}

TEST_CASE("every errc has a distinct non-empty message", "[error]") {
  std::set<std::string> seen;
  const auto unknown = pg::error_category().message(9999);
  for (int v = first_errc; v <= last_errc; ++v) {
    CAPTURE(v);
    const auto msg = pg::make_error_code(static_cast<errc>(v)).message();
    CHECK_FALSE(msg.empty());
    CHECK(msg != unknown);
    CHECK(seen.insert(msg).second);
  }
  CHECK(seen.size() == static_cast<std::size_t>(last_errc - first_errc + 1));
  CHECK_FALSE(unknown.empty());
}

TEST_CASE("every protocol error has a distinct non-empty message", "[error]") {
  std::set<std::string> seen;
  const auto unknown = pp::error_category().message(9999);
  for (int v = first_protocol_error; v <= last_protocol_error; ++v) {
    CAPTURE(v);
    const auto msg = pp::make_error_code(static_cast<pp::error>(v)).message();
    CHECK_FALSE(msg.empty());
    CHECK(msg != unknown);
    CHECK(seen.insert(msg).second);
  }
  CHECK(seen.size() == static_cast<std::size_t>(last_protocol_error - first_protocol_error + 1));
}

TEST_CASE("condition messages", "[error]") {
  std::set<std::string> seen;
  for (auto c : {condition::refused, condition::timed_out, condition::closed, condition::protocol_violation}) {
    const auto msg = pg::make_error_condition(c).message();
    CHECK_FALSE(msg.empty());
    CHECK(seen.insert(msg).second);
  }
}

TEST_CASE("to_hresult of every errc is the documented HRESULT", "[error]") {
  // The list above covers every errc value exactly once.
  REQUIRE(documented_hresults.size() == static_cast<std::size_t>(last_errc - first_errc + 1));
  for (std::size_t i = 0; i < documented_hresults.size(); ++i)
    REQUIRE(static_cast<int>(documented_hresults[i].code) == first_errc + static_cast<int>(i));

  for (const auto& d : documented_hresults) {
    CAPTURE(d.name);
    CHECK(pg::to_hresult(d.code) == hr(d.hresult));
    CHECK(std::string(pg::hresult_name(d.code)) == d.name);
  }
}

TEST_CASE("to_hresult spot checks", "[error]") {
  CHECK(pg::to_hresult(errc::invalid_argument) == hr(0x80070057u));
  CHECK(pg::to_hresult(errc::already_exists) == hr(0x800700B7u));
  CHECK(pg::to_hresult(errc::connect_self) == hr(0x80630106u));
  CHECK(pg::to_hresult(errc::connection_refused) == hr(0x8063010Bu));
  CHECK(pg::to_hresult(errc::connection_failed) == hr(0x80630109u));
  CHECK(pg::to_hresult(errc::connection_not_found) == hr(0x80630103u));
  CHECK(pg::to_hresult(errc::invalid_graph) == hr(0x80630010u));
  CHECK(pg::to_hresult(errc::not_initialized) == hr(0x80630002u));
  CHECK(pg::to_hresult(errc::graph_not_ready) == hr(0x80630013u));
  CHECK(pg::to_hresult(errc::timeout) == hr(0x80637005u));
  CHECK(pg::to_hresult(errc::timeout) < 0);  // failure HRESULTs are negative
}

TEST_CASE("the HRESULT table has no duplicates and covers every errc", "[error]") {
  const auto& table = pg::detail::hresult_table;
  CHECK(std::size(table) == static_cast<std::size_t>(last_errc - first_errc + 1));
  std::set<int> codes;
  std::set<std::int32_t> hresults;
  std::set<std::string> names;
  for (const auto& row : table) {
    CAPTURE(row.name);
    CHECK(codes.insert(static_cast<int>(row.code)).second);
    CHECK(hresults.insert(row.hresult).second);
    CHECK(names.insert(row.name).second);
    CHECK(static_cast<int>(row.code) >= first_errc);
    CHECK(static_cast<int>(row.code) <= last_errc);
  }
}

TEST_CASE("to_hresult of other errors", "[error]") {
  const auto connection_failed = hr(0x80630109u);
  const auto timeout = hr(0x80637005u);

  CHECK(pg::to_hresult(std::error_code{}) == 0);

  SECTION("protocol errors") {
    for (int v = first_protocol_error; v <= last_protocol_error; ++v) {
      CAPTURE(v);
      const auto e = static_cast<pp::error>(v);
      if (e == pp::error::handshake_timeout)
        CHECK(pg::to_hresult(e) == timeout);
      else if (e == pp::error::self_connection)
        CHECK(pg::to_hresult(e) == hr(0x80630106u));
      else if (e == pp::error::direct_connection_disallowed)
        CHECK(pg::to_hresult(e) == hr(0x8063010Bu));  // PEER_E_CONNECTION_REFUSED
      else if (e == pp::error::wrong_graph_id || e == pp::error::wrong_peer_id)
        CHECK(pg::to_hresult(e) == hr(0x8063010Au));  // PEER_E_CONNECTION_NOT_AUTHENTICATED
      else
        CHECK(pg::to_hresult(e) == connection_failed);
    }
  }
  SECTION("Asio and system errors") {
    CHECK(pg::to_hresult(asio::error::operation_aborted) == hr(0x80004004u));  // E_ABORT
    CHECK(pg::to_hresult(asio::error::connection_refused) == hr(0x8063010Bu));
    CHECK(pg::to_hresult(asio::error::eof) == connection_failed);
    CHECK(pg::to_hresult(asio::error::connection_reset) == connection_failed);
    CHECK(pg::to_hresult(std::make_error_code(std::errc::host_unreachable)) == connection_failed);
  }
  SECTION("a value outside the errc enumeration") {
    CHECK(pg::to_hresult(std::error_code(9999, pg::error_category())) == hr(0x80004005u));  // E_FAIL
    CHECK(std::string(pg::hresult_name(static_cast<errc>(9999))) == "E_FAIL");
  }
}

TEST_CASE("error conditions", "[error]") {
  SECTION("refused") {
    CHECK(std::error_code(errc::connection_refused) == condition::refused);
    CHECK(std::error_code(errc::already_exists) == condition::refused);
    CHECK(std::error_code(errc::connect_self) == condition::refused);
    CHECK(std::error_code(asio::error::connection_refused) == condition::refused);
    CHECK(std::error_code(pp::error::self_connection) == condition::refused);
    // Not admitted: another graph, another peer, no direct connections.
    CHECK(std::error_code(errc::connection_not_authenticated) == condition::refused);
    CHECK(std::error_code(pp::error::wrong_graph_id) == condition::refused);
    CHECK(std::error_code(pp::error::wrong_peer_id) == condition::refused);
    CHECK(std::error_code(pp::error::direct_connection_disallowed) == condition::refused);
    CHECK_FALSE(std::error_code(pp::error::malformed_message) == condition::refused);
    CHECK_FALSE(std::error_code(errc::connection_failed) == condition::refused);
    CHECK_FALSE(std::error_code(errc::timeout) == condition::refused);
  }
  SECTION("timed_out") {
    CHECK(std::error_code(pp::error::handshake_timeout) == condition::timed_out);
    CHECK(std::error_code(pp::error::keepalive_timeout) == condition::timed_out);
    CHECK(std::error_code(errc::timeout) == condition::timed_out);
    CHECK(std::error_code(asio::error::timed_out) == condition::timed_out);
    CHECK(std::error_code(pp::error::malformed_message) != condition::timed_out);
    CHECK(std::error_code(errc::connection_refused) != condition::timed_out);
  }
  SECTION("closed") {
    CHECK(std::error_code(asio::error::eof) == condition::closed);
    CHECK(std::error_code(asio::error::connection_reset) == condition::closed);
    CHECK(std::error_code(asio::error::broken_pipe) == condition::closed);
    CHECK(std::error_code(asio::error::operation_aborted) == condition::closed);
    CHECK(std::error_code(pp::error::peer_disconnected) == condition::closed);
    CHECK(std::error_code(pp::error::connection_closed) == condition::closed);
    CHECK(std::error_code(errc::invalid_graph) == condition::closed);
    CHECK(std::error_code(errc::graph_shutting_down) == condition::closed);
    CHECK(std::error_code(pp::error::malformed_message) != condition::closed);
  }
  SECTION("protocol_violation") {
    CHECK(std::error_code(pp::error::malformed_message) == condition::protocol_violation);
    CHECK(std::error_code(pp::error::malformed_message) != condition::timed_out);
    const std::set<pp::error> not_violations{pp::error::handshake_timeout, pp::error::keepalive_timeout,
                                             pp::error::peer_disconnected, pp::error::connection_closed,
                                             pp::error::self_connection,   pp::error::wrong_graph_id,
                                             pp::error::wrong_peer_id,     pp::error::direct_connection_disallowed,
                                             pp::error::backlog_exceeded,  pp::error::neighbor_evicted};
    for (int v = first_protocol_error; v <= last_protocol_error; ++v) {
      CAPTURE(v);
      const std::error_code ec = static_cast<pp::error>(v);
      CHECK((ec == condition::protocol_violation) == (not_violations.count(static_cast<pp::error>(v)) == 0));
    }
    for (int v = first_errc; v <= last_errc; ++v) {
      CAPTURE(v);
      CHECK(std::error_code(static_cast<errc>(v)) != condition::protocol_violation);
    }
    CHECK(std::error_code(asio::error::eof) != condition::protocol_violation);
  }
  SECTION("limit_reached") {
    // Only the errors of this node's own resource limits.
    for (int v = first_protocol_error; v <= last_protocol_error; ++v) {
      CAPTURE(v);
      const std::error_code ec = static_cast<pp::error>(v);
      CHECK((ec == condition::limit_reached) ==
            (ec == pp::error::backlog_exceeded || ec == pp::error::neighbor_evicted));
    }
    for (int v = first_errc; v <= last_errc; ++v)
      CHECK(std::error_code(static_cast<errc>(v)) != condition::limit_reached);
    CHECK(std::error_code(asio::error::no_buffer_space) != condition::limit_reached);
    CHECK(pg::make_error_condition(condition::limit_reached).message() == "resource limit reached");
  }
}
