#!/usr/bin/env bash
# tests/compile/asio_first.sh CXX... -- SOURCE INCLUDE_DIR: compiles SOURCE
# (Asio included before peergraph) without the coroutine definitions that
# the Meson dependency and peergraph.pc add. Where Asio cannot see C++20
# coroutines on its own (Clang with libstdc++), peergraph must stop the build
# with an #error that says what to do; elsewhere the source must compile.
set -euo pipefail
cxx=()
while [[ "$1" != "--" ]]; do cxx+=("$1"); shift; done
shift
source="$1" include="$2"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
if "${cxx[@]}" -std=c++20 -fsyntax-only -I "$include" "$source" >"$out" 2>&1; then
  if "${cxx[@]}" --version | grep -qi clang; then
    echo "asio_first: expected Clang to stop with peergraph's #error, but it compiled" >&2
    exit 1
  fi
  echo "asio_first: compiles without the definitions"
  exit 0
fi
if grep -q "peergraph: Asio was included before peergraph" "$out"; then
  echo "asio_first: stopped with peergraph's #error, as it should"
  exit 0
fi
echo "asio_first: failed without peergraph's explanation:" >&2
head -20 "$out" >&2
exit 1
