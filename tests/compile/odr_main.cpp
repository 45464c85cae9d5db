// ODR check: odr_a.cpp and odr_b.cpp, both made from odr_unit.cpp.in,
// include every public header and use the same templates. Anything a header
// defines that is not inline (a function, a variable, a specialization) is
// then defined twice and the link fails.
#include <cstdint>
#include <cstdio>

std::uint64_t odr_a();
std::uint64_t odr_b();

int main() {
  const auto a = odr_a();
  const auto b = odr_b();
  if (a == 0 || b == 0 || a == b) {
    std::fprintf(stderr, "odr: unexpected node ids %llx and %llx\n", static_cast<unsigned long long>(a),
                 static_cast<unsigned long long>(b));
    return 1;
  }
  return 0;
}
