// Precompiled for the test programs: what nearly every test translation unit
// includes, parsed once per build instead of once per file.
#include <peergraph/peergraph.hpp>

#include <asio.hpp>
#include <catch2/catch.hpp>
