// src/compat/win32_event.hpp: the Win32 event handles, as the rest of the
// library uses them.
//
// The library calls these rather than its exported SetEvent and friends, so
// that an application's own function of the same name is never called from
// inside the library.
#ifndef PEERGRAPH_SRC_COMPAT_WIN32_EVENT_HPP
#define PEERGRAPH_SRC_COMPAT_WIN32_EVENT_HPP

#include <peergraph/compat/p2p.h>

namespace peergraph::compat {

/// True for a handle CreateEvent made and CloseHandle has not closed.
bool is_event(HANDLE h);
/// SetEvent; false for a handle that is no live event.
bool signal_event(HANDLE h);

}  // namespace peergraph::compat

#endif  // PEERGRAPH_SRC_COMPAT_WIN32_EVENT_HPP
