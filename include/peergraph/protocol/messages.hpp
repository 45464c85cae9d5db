// peergraph/protocol/messages.hpp: every [MS-PPGRH] message peergraph speaks, in one include.
//
// Sans-I/O: encoders append bytes, decoders check a complete frame and fill a
// struct; nothing here knows about sockets, executors or time.
#ifndef PEERGRAPH_PROTOCOL_MESSAGES_HPP
#define PEERGRAPH_PROTOCOL_MESSAGES_HPP

#include <peergraph/protocol/address.hpp>
#include <peergraph/protocol/handshake_messages.hpp>
#include <peergraph/protocol/header.hpp>
#include <peergraph/protocol/pt2pt.hpp>

#endif  // PEERGRAPH_PROTOCOL_MESSAGES_HPP
