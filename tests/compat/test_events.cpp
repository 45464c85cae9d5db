// The <p2p.h> shim: Win32 events, registrations, draining, filtering.
#include "compat/compat_support.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace compat_test;

TEST_CASE("Win32 events: auto- and manual-reset, timeouts, pollable descriptor", "[compat][win32]") {
  HANDLE a = CreateEvent(nullptr, FALSE, FALSE, nullptr);
  HANDLE m = CreateEvent(nullptr, TRUE, TRUE, nullptr);
  REQUIRE(a);
  REQUIRE(m);
  CHECK(CreateEvent(nullptr, FALSE, FALSE, L"named") == nullptr);
  CHECK(WaitForSingleObject(a, 0) == WAIT_TIMEOUT);
  CHECK(WaitForSingleObject(a, 20) == WAIT_TIMEOUT);
  CHECK(SetEvent(a));
  CHECK(SetEvent(a));
  CHECK(WaitForSingleObject(a, INFINITE) == WAIT_OBJECT_0);
  CHECK(WaitForSingleObject(a, 0) == WAIT_TIMEOUT);   // auto-reset: one wait takes it
  CHECK(WaitForSingleObject(m, 0) == WAIT_OBJECT_0);  // initially set
  CHECK(WaitForSingleObject(m, 0) == WAIT_OBJECT_0);  // manual: stays set
  CHECK(ResetEvent(m));
  CHECK(WaitForSingleObject(m, 0) == WAIT_TIMEOUT);
  CHECK(PeerCompatEventFd(a) >= 0);
  CHECK(PeerCompatEventFd(nullptr) == -1);

  std::thread setter([a] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    SetEvent(a);
  });
  CHECK(WaitForSingleObject(a, 5000) == WAIT_OBJECT_0);
  setter.join();

  CHECK(CloseHandle(a));
  CHECK_FALSE(CloseHandle(a));
  CHECK_FALSE(SetEvent(a));
  CHECK(WaitForSingleObject(a, 0) == WAIT_FAILED);
  CHECK(CloseHandle(m));
}

TEST_CASE("events are signalled and drained until PEER_S_NO_EVENT_DATA", "[compat][events]") {
  started t(L"events-", L"me");
  auto& [s, id, me, props] = t;
  node n;
  REQUIRE(PeerGraphCreate(&props, L"events.db", nullptr, &n.graph) == S_OK);
  PEER_GRAPH_EVENT_REGISTRATION r[] = {{PEER_GRAPH_EVENT_STATUS_CHANGED, nullptr},
                                       {PEER_GRAPH_EVENT_NODE_CHANGED, nullptr},  // never for the local node
                                       {PEER_GRAPH_EVENT_RECORD_CHANGED, &other_type}};
  REQUIRE(PeerGraphRegisterEvent(n.graph, n.event, 3, r, &n.reg) == S_OK);

  PEER_GRAPH_EVENT_DATA* data = nullptr;
  REQUIRE(PeerGraphGetEventData(n.reg, &data) == PEER_S_NO_EVENT_DATA);
  REQUIRE(data == nullptr);
  REQUIRE(WaitForSingleObject(n.event, 0) == WAIT_TIMEOUT);

  REQUIRE(PeerGraphListen(n.graph, PEER_GRAPH_SCOPE_LOOPBACK, 0, 0) == S_OK);
  REQUIRE(WaitForSingleObject(n.event, 5000) == WAIT_OBJECT_0);
  REQUIRE(PeerGraphGetEventData(n.reg, &data) == S_OK);
  REQUIRE(data != nullptr);
  CHECK(data->eventType == PEER_GRAPH_EVENT_STATUS_CHANGED);
  CHECK((data->dwStatus & PEER_GRAPH_STATUS_LISTENING) != 0);
  CHECK((data->dwStatus & PEER_GRAPH_STATUS_SYNCHRONIZED) != 0);
  PeerGraphFreeData(data);
  REQUIRE(PeerGraphGetEventData(n.reg, &data) == PEER_S_NO_EVENT_DATA);

  DWORD status = 0;
  REQUIRE(PeerGraphGetStatus(n.graph, &status) == S_OK);
  CHECK(status == (PEER_GRAPH_STATUS_LISTENING | PEER_GRAPH_STATUS_SYNCHRONIZED));

  // Closing the graph reports the final status; the registration can still be drained.
  REQUIRE(PeerGraphClose(n.graph) == S_OK);
  REQUIRE(wait_for(n.event, n.reg, [](const PEER_GRAPH_EVENT_DATA& e) {
    return e.eventType == PEER_GRAPH_EVENT_STATUS_CHANGED && (e.dwStatus & PEER_GRAPH_STATUS_LISTENING) == 0;
  }));
  n.graph = nullptr;
  REQUIRE(PeerGraphDelete(id.c_str(), L"me", L"events.db") == S_OK);
}

TEST_CASE("a registration filters incoming data by type", "[compat][events][filter]") {
  session s;
  REQUIRE(s.started == S_OK);
  pair p;
  p.connect();
  HANDLE ev = CreateEvent(nullptr, TRUE, FALSE, nullptr);  // manual-reset this time
  GUID wanted = whisper;
  PEER_GRAPH_EVENT_REGISTRATION r{PEER_GRAPH_EVENT_INCOMING_DATA, &wanted};
  HPEEREVENT only_whisper = nullptr;
  REQUIRE(PeerGraphRegisterEvent(p.bob.graph, ev, 1, &r, &only_whisper) == S_OK);

  const auto ids = connection_ids(p.alice.graph, PEER_CONNECTION_NEIGHBOR);
  REQUIRE(ids.size() == 1);
  const ULONGLONG id = ids[0];

  int one = 1, two = 2;
  REQUIRE(PeerGraphSendData(p.alice.graph, id, &other_type, sizeof one, &one) == S_OK);
  REQUIRE(PeerGraphSendData(p.alice.graph, id, &whisper, sizeof two, &two) == S_OK);
  // The unfiltered registration sees both, in order.
  int seen = 0;
  REQUIRE(p.bob.wait([&](const PEER_GRAPH_EVENT_DATA& e) {
    if (e.eventType == PEER_GRAPH_EVENT_INCOMING_DATA) ++seen;
    return seen == 2;
  }));
  // The filtered one only the whisper.
  REQUIRE(WaitForSingleObject(ev, 5000) == WAIT_OBJECT_0);
  ResetEvent(ev);
  PEER_GRAPH_EVENT_DATA* data = nullptr;
  REQUIRE(PeerGraphGetEventData(only_whisper, &data) == S_OK);
  CHECK(data->eventType == PEER_GRAPH_EVENT_INCOMING_DATA);
  CHECK(same(data->incomingData.type, whisper));
  CHECK(*reinterpret_cast<int*>(data->incomingData.data.pbData) == 2);
  PeerGraphFreeData(data);
  CHECK(PeerGraphGetEventData(only_whisper, &data) == PEER_S_NO_EVENT_DATA);
  REQUIRE(PeerGraphUnregisterEvent(only_whisper) == S_OK);
  CloseHandle(ev);
}

TEST_CASE("a node that loses its last neighbor is told a connection is required", "[compat][events][required]") {
  session s;
  REQUIRE(s.started == S_OK);
  pair p;
  p.connect();
  ULONGLONG alice_id = 0;
  REQUIRE(p.bob.wait([&](const PEER_GRAPH_EVENT_DATA& e) {
    if (e.eventType != PEER_GRAPH_EVENT_NODE_CHANGED || e.nodeChangeData.changeType != PEER_NODE_CHANGE_CONNECTED)
      return false;
    CHECK(std::wstring(e.nodeChangeData.pwzPeerId) == L"alice");
    alice_id = e.nodeChangeData.ullNodeId;
    return true;
  }));
  REQUIRE(PeerGraphClose(p.alice.graph) == S_OK);
  p.alice.graph = nullptr;
  bool gone = false, required = false;
  REQUIRE(p.bob.wait([&](const PEER_GRAPH_EVENT_DATA& e) {
    gone = gone || is_node_change(e, PEER_NODE_CHANGE_DISCONNECTED, alice_id);
    required = required || e.eventType == PEER_GRAPH_EVENT_CONNECTION_REQUIRED;
    return gone && required;
  }));
}
