// The peergraph_compat library: the <p2p.h> functions, compiled once.
#include <peergraph/compat/detail/shim.hpp>
