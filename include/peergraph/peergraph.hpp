// peergraph/peergraph.hpp: everything peergraph offers, in one include.
#ifndef PEERGRAPH_PEERGRAPH_HPP
#define PEERGRAPH_PEERGRAPH_HPP

#include <peergraph/config.hpp>
#include <peergraph/connection.hpp>
#include <peergraph/error.hpp>
#include <peergraph/events.hpp>
#include <peergraph/graph.hpp>
#include <peergraph/guid.hpp>
#include <peergraph/memory_transport.hpp>
#include <peergraph/options.hpp>
#include <peergraph/subscription.hpp>
#include <peergraph/transport.hpp>
#include <peergraph/types.hpp>

#endif  // PEERGRAPH_PEERGRAPH_HPP
