// The one list of event kinds and the masks derived from it.
#include <peergraph/events.hpp>

#include <catch2/catch.hpp>

#include <variant>

namespace pg = peergraph;

namespace {

// Every alternative of any_event sits at the index event_index gives it.
template <std::size_t... I>
constexpr bool indices_agree(std::index_sequence<I...>) {
  return ((pg::event_index<std::variant_alternative_t<I, pg::any_event>> == I) && ...);
}
static_assert(indices_agree(std::make_index_sequence<std::variant_size_v<pg::any_event>>{}));
static_assert(pg::graph_event<pg::incoming_data_event>);
static_assert(!pg::graph_event<int>);
static_assert(!pg::graph_event<pg::any_event>);

}  // namespace

TEST_CASE("event masks are built from the event types", "[events][mask]") {
  constexpr auto m = pg::event_mask::of<pg::neighbor_connection_event, pg::incoming_data_event>();
  static_assert(m.contains<pg::neighbor_connection_event>());
  static_assert(!m.contains<pg::status_changed_event>());
  CHECK(m.bits() ==
        ((1u << pg::event_index<pg::neighbor_connection_event>) | (1u << pg::event_index<pg::incoming_data_event>)));
  CHECK((m | pg::event_mask::of<pg::status_changed_event>()).contains<pg::status_changed_event>());
  CHECK((m & pg::event_mask::of<pg::incoming_data_event>()) == pg::event_mask::of<pg::incoming_data_event>());
  CHECK(pg::event_mask{}.empty());
  CHECK_FALSE(m.empty());

  const pg::any_event data = pg::incoming_data_event{};
  const pg::any_event status = pg::status_changed_event{};
  CHECK(m.contains(data));
  CHECK_FALSE(m.contains(status));

  // all() has one bit per kind; from_bits drops bits beyond them.
  const auto all = pg::event_mask::all();
  CHECK(all.bits() == (1u << std::variant_size_v<pg::any_event>)-1);
  CHECK(pg::event_mask::from_bits(0xFFFFFFFFu) == all);
  CHECK_FALSE(all.contains_index(std::variant_size_v<pg::any_event>));
  CHECK_FALSE(all.contains_index(40));
}
