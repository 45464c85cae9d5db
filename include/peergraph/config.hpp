// peergraph/config.hpp: the one place that prepares Asio and fmt for peergraph.
//
// Every peergraph header includes this first, so Asio sees these definitions
// before any of its own headers no matter which peergraph header a user
// includes first.
#ifndef PEERGRAPH_CONFIG_HPP
#define PEERGRAPH_CONFIG_HPP

#if !defined(__cpp_impl_coroutine) || __cplusplus < 202002L
#error "peergraph needs C++20 with coroutine support (-std=c++20)"
#endif

// Asio 1.22 only detects coroutines on Clang when it is paired with libc++.
// With libstdc++ the support is there but undetected; tell Asio so. That
// only works before Asio's own configuration is read: the Meson dependency
// and peergraph.pc pass these definitions on the command line, so that the
// order of the includes does not matter.
#if defined(ASIO_DETAIL_CONFIG_HPP) && !defined(ASIO_HAS_CO_AWAIT)
#error \
    "peergraph: Asio was included before peergraph and without C++20 coroutine support (Clang with libstdc++ \
is not detected by Asio 1.22). Include a peergraph header first, or compile with \
-DASIO_HAS_CO_AWAIT=1 -DASIO_HAS_STD_COROUTINE=1 (pkg-config --cflags peergraph and the Meson dependency add them)."
#endif
#if defined(__clang__) && defined(__cpp_impl_coroutine)
#ifndef ASIO_HAS_CO_AWAIT
#define ASIO_HAS_CO_AWAIT 1
#endif
#ifndef ASIO_HAS_STD_COROUTINE
#define ASIO_HAS_STD_COROUTINE 1
#endif
#endif

#ifndef ASIO_STANDALONE
#define ASIO_STANDALONE 1
#endif
#ifndef ASIO_NO_DEPRECATED
#define ASIO_NO_DEPRECATED 1
#endif

#include <asio/version.hpp>
#if ASIO_VERSION < 102201
#error "peergraph needs standalone Asio 1.22.1 or newer"
#endif

#define PEERGRAPH_VERSION_MAJOR 0
#define PEERGRAPH_VERSION_MINOR 1
#define PEERGRAPH_VERSION_PATCH 0
#define PEERGRAPH_VERSION_STRING "0.1.0"

#endif  // PEERGRAPH_CONFIG_HPP
