// peergraph/detail/random.hpp: seeds from the operating system's random generator.
#ifndef PEERGRAPH_DETAIL_RANDOM_HPP
#define PEERGRAPH_DETAIL_RANDOM_HPP

#include <cstdint>
#include <random>

namespace peergraph::detail {

/// 64 random bits from the kernel's generator, for seeding what must be
/// unique graph-wide (node ids, connection ids).
///
/// Why not `std::random_device{}()`: it gives 32 bits, so a graph of 10,000
/// nodes seeded from it has a one in a hundred chance of two nodes with the
/// same id; and libstdc++'s default source on x86 is RDSEED, which on a
/// virtual machine here repeated values eighty times more often than chance
/// (two nodes of one 2,000-node graph routinely got the same id).
inline std::uint64_t os_random64() {
  auto draw = [](std::random_device& rd) { return (std::uint64_t{rd()} << 32) | rd(); };
  try {
    std::random_device rd("/dev/urandom");
    return draw(rd);
  } catch (...) {
    std::random_device rd;  // a platform without /dev/urandom
    return draw(rd);
  }
}

}  // namespace peergraph::detail

#endif  // PEERGRAPH_DETAIL_RANDOM_HPP
