// The Catch2 runner shared by every test executable.
#if defined(__GNUC__) && !defined(__clang__)
// Catch2's implementation pulls in <regex>; with -fsanitize=address,undefined
// GCC 12 reports false -Wmaybe-uninitialized warnings inside libstdc++'s regex.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
