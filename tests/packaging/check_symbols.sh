#!/usr/bin/env bash
# tests/packaging/check_symbols.sh LIBRARY HEADER_DIR: the dynamic symbols
# LIBRARY defines are exactly the functions the headers in HEADER_DIR
# declare PEERGRAPH_COMPAT_API (the documented PeerGraph* functions, the
# Win32 event calls and PeerCompatEventFd): no C++ symbol, nothing of Asio or
# libstdc++. Lists what is unexpected or missing, and fails if anything is.
set -euo pipefail

lib="$1"
headers="$2"
win32="CloseHandle CreateEventA CreateEventW PeerCompatEventFd ResetEvent SetEvent WaitForSingleObject"

# Declarations start with the macro; the name is what precedes the "(".
declared="$(cat "$headers"/*.h | grep '^PEERGRAPH_COMPAT_API ' |
  sed -E 's/^[^(]*[ *]([A-Za-z_][A-Za-z0-9_]*)\(.*/\1/' | sort -u)"
exported="$(nm -D --defined-only "$lib" | awk '{ print $NF }' | sort -u)"

status=0
if [[ -z "$declared" ]]; then
  echo "symbols: no PEERGRAPH_COMPAT_API declaration found in $headers" >&2
  exit 1
fi
# The macro must mark nothing but the API.
not_api="$(grep -v -x -E 'PeerGraph[A-Za-z]+' <<<"$declared" | grep -v -x -F -f <(tr ' ' '\n' <<<"$win32") || true)"
if [[ -n "$not_api" ]]; then
  echo "symbols: PEERGRAPH_COMPAT_API on functions that are neither PeerGraph* nor the Win32 event calls:" >&2
  sed 's/^/  /' <<<"$not_api" >&2
  status=1
fi
unexpected="$(comm -13 <(echo "$declared") <(echo "$exported"))"
if [[ -n "$unexpected" ]]; then
  echo "symbols: $lib exports $(wc -l <<<"$unexpected") unexpected symbol(s):" >&2
  sed 's/^/  /' <<<"$unexpected" | c++filt >&2
  status=1
fi
missing="$(comm -23 <(echo "$declared") <(echo "$exported"))"
if [[ -n "$missing" ]]; then
  echo "symbols: $lib does not export these declared functions:" >&2
  sed 's/^/  /' <<<"$missing" >&2
  status=1
fi
if [[ $status -eq 0 ]]; then
  echo "symbols: $(basename "$lib") exports exactly the $(wc -l <<<"$declared") declared functions"
fi
exit $status
