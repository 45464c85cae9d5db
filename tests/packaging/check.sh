#!/usr/bin/env bash
# tests/packaging/check.sh: peergraph as its users get it.
#
#   1. `meson install` into a temporary prefix; build tests/packaging/consumer
#      against it through pkg-config, with Meson and with a plain compiler
#      command, and run both programs.
#      The same for tests/packaging/compat_consumer.c through
#      peergraph-compat.pc, as C++ and as C, and compat_two_nodes.c as C: a
#      listener and a sender, two processes that talk through <p2p.h>.
#      Of the shim only its C headers are installed, and its library exports
#      only the functions they declare PEERGRAPH_COMPAT_API
#      (tests/packaging/check_symbols.sh).
#      Also: peergraph.pc sets no -std, C++17 stops with peergraph's #error,
#      and -Dcompat=disabled installs the headers alone.
#   2. Build the same consumer with the repository as its subproject
#      (subprojects/peergraph), where dependency('peergraph') is the one that
#      peergraph's meson.build declares with meson.override_dependency().
#
# Everything happens in a temporary directory, removed at the end. CXX is
# respected (default c++), and CC for the C consumer (default cc).
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
consumer="$repo/tests/packaging/consumer"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

step() { printf '\n--- packaging: %s\n' "$*"; }

# expect_dependency LOG TYPE: the consumer's configure log shows how
# dependency('peergraph') was resolved.
expect_dependency() {
  if ! grep -q "peergraph dependency: $2\$" "$1"; then
    echo "packaging: expected peergraph as a '$2' dependency; configure log:" >&2
    cat "$1" >&2
    exit 1
  fi
}

step "install into a temporary prefix"
prefix="$tmp/prefix"
# Unoptimized and without debug information: what is checked here is what
# gets installed, not how fast it runs.
meson setup "$tmp/build" "$repo" --prefix="$prefix" -Doptimization=0 -Ddebug=false \
  -Dtests=false -Dexamples=false -Dbenchmarks=false >"$tmp/setup.log" ||
  { cat "$tmp/setup.log"; exit 1; }
meson install -C "$tmp/build" >"$tmp/install.log" || { cat "$tmp/install.log"; exit 1; }
pc="$(find "$prefix" -name peergraph.pc -path '*/pkgconfig/*' | head -n 1)"
if [[ -z "$pc" ]]; then
  echo "packaging: no peergraph.pc installed under $prefix" >&2
  exit 1
fi
[[ -f "$prefix/include/peergraph/peergraph.hpp" ]] || { echo "packaging: headers not installed" >&2; exit 1; }
echo "installed $(find "$prefix" -type f | wc -l) files; ${pc#"$tmp"/}"
PKG_CONFIG_PATH="$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export PKG_CONFIG_PATH
pkg-config --modversion peergraph
echo "pkg-config --cflags --libs peergraph: $(pkg-config --cflags --libs peergraph)"

step "Meson consumer, peergraph found through pkg-config"
# nofallback: must come from the installed peergraph.pc, never a subproject.
meson setup "$tmp/consumer-build" "$consumer" --wrap-mode=nofallback >"$tmp/consumer-setup.log" ||
  { cat "$tmp/consumer-setup.log"; exit 1; }
expect_dependency "$tmp/consumer-setup.log" pkgconfig
ninja -C "$tmp/consumer-build"
"$tmp/consumer-build/consumer"

step "plain compiler command with pkg-config"
# The user's language level stands: peergraph.pc must not bring a -std of
# its own (after a user's -std=c++23 it would lower it).
if pkg-config --cflags peergraph | grep -q -- '-std='; then
  echo "packaging: peergraph.pc sets the language level: $(pkg-config --cflags peergraph)" >&2
  exit 1
fi
# shellcheck disable=SC2046 # pkg-config's output is meant to be split.
"${CXX:-c++}" -std=c++20 -Wall -Wextra -o "$tmp/consumer-direct" "$consumer/main.cpp" \
  $(pkg-config --cflags --libs peergraph)
"$tmp/consumer-direct"
# Below C++20 the build stops with peergraph's own message.
# shellcheck disable=SC2046
if "${CXX:-c++}" -std=c++17 -fsyntax-only "$consumer/main.cpp" $(pkg-config --cflags peergraph) \
  >"$tmp/cxx17.log" 2>&1; then
  echo "packaging: the consumer compiled as C++17" >&2
  exit 1
fi
grep -q "peergraph needs C++20" "$tmp/cxx17.log" ||
  { echo "packaging: C++17 failed without peergraph's #error:" >&2; head -20 "$tmp/cxx17.log" >&2; exit 1; }
echo "C++17: stopped with peergraph's #error"

step "the <p2p.h> shim: its C headers only, and a library exporting only their functions"
[[ -f "$prefix/include/peergraph/detail/graph_impl.hpp" ]] ||
  { echo "packaging: the core's detail/ headers are not installed" >&2; exit 1; }
compat_headers="$prefix/include/peergraph/compat"
[[ ! -e "$compat_headers/detail" ]] ||
  { echo "packaging: the shim's implementation is installed ($compat_headers/detail)" >&2; exit 1; }
installed_compat="$(cd "$compat_headers" && find . -mindepth 1 | sed 's|^\./||' | sort | tr '\n' ' ')"
if [[ "$installed_compat" != "p2p.h peergraph_wintypes.h " ]]; then
  echo "packaging: expected only p2p.h and peergraph_wintypes.h in $compat_headers, found: $installed_compat" >&2
  exit 1
fi
compat_lib="$(find "$prefix" -name 'libpeergraph_compat.so' | head -n 1)"
[[ -n "$compat_lib" ]] || { echo "packaging: libpeergraph_compat.so not installed" >&2; exit 1; }
bash "$repo/tests/packaging/check_symbols.sh" "$(readlink -f "$compat_lib")" "$compat_headers"

step "<p2p.h> consumer through peergraph-compat.pc, as C++ and as C"
echo "pkg-config --cflags --libs peergraph-compat: $(pkg-config --cflags --libs peergraph-compat)"
cp "$repo/tests/packaging/compat_consumer.c" "$tmp/compat_consumer.cpp"
# shellcheck disable=SC2046
"${CXX:-c++}" -Wall -Wextra -o "$tmp/compat-cxx" "$tmp/compat_consumer.cpp" \
  $(pkg-config --cflags --libs peergraph-compat)
# shellcheck disable=SC2046
"${CC:-cc}" -std=c11 -Wall -Wextra -pedantic -o "$tmp/compat-c" "$repo/tests/packaging/compat_consumer.c" \
  $(pkg-config --cflags --libs peergraph-compat)
libdir="$(pkg-config --variable=libdir peergraph-compat)"
LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$tmp/compat-cxx"
LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$tmp/compat-c"

step "two processes talking through <p2p.h>, built as C against peergraph-compat.pc"
# shellcheck disable=SC2046
"${CC:-cc}" -std=c11 -Wall -Wextra -pedantic -o "$tmp/compat-two-nodes" "$repo/tests/packaging/compat_two_nodes.c" \
  $(pkg-config --cflags --libs peergraph-compat)
# A listener in the background, a sender once the port file is there; both
# must exit 0 (tests/packaging/two_nodes.sh).
LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" timeout 120 \
  bash "$repo/tests/packaging/two_nodes.sh" "$tmp/compat-two-nodes"

step "header-only install (-Dcompat=disabled): headers and peergraph.pc, nothing compiled"
start=$SECONDS
meson setup "$tmp/headers-build" "$repo" --prefix="$tmp/headers-prefix" -Dcompat=disabled \
  -Dtests=false -Dexamples=false -Dbenchmarks=false >"$tmp/headers-setup.log" ||
  { cat "$tmp/headers-setup.log"; exit 1; }
meson install -C "$tmp/headers-build" >"$tmp/headers-install.log" || { cat "$tmp/headers-install.log"; exit 1; }
[[ -f "$tmp/headers-prefix/include/peergraph/peergraph.hpp" ]] ||
  { echo "packaging: header-only install has no headers" >&2; exit 1; }
if [[ -e "$tmp/headers-prefix/include/peergraph/compat" ]] ||
  [[ -n "$(find "$tmp/headers-prefix" -name 'libpeergraph_compat*' -o -name 'peergraph-compat.pc')" ]]; then
  echo "packaging: -Dcompat=disabled still installed the shim" >&2
  exit 1
fi
echo "header-only: $(find "$tmp/headers-prefix" -type f | wc -l) files in $((SECONDS - start)) s"

step "Meson consumer, peergraph as a subproject"
sub="$tmp/consumer-sub"
mkdir -p "$sub/subprojects"
cp "$consumer/meson.build" "$consumer/main.cpp" "$sub/"
ln -s "$repo" "$sub/subprojects/peergraph"
# forcefallback: use the subproject even if a peergraph.pc is installed.
meson setup "$tmp/consumer-sub-build" "$sub" --force-fallback-for=peergraph >"$tmp/consumer-sub-setup.log" ||
  { cat "$tmp/consumer-sub-setup.log"; exit 1; }
expect_dependency "$tmp/consumer-sub-setup.log" internal
ninja -C "$tmp/consumer-sub-build" consumer
"$tmp/consumer-sub-build/consumer"
# As a subproject the shim is off unless asked for (compat=auto).
if ninja -C "$tmp/consumer-sub-build" -t targets all | grep -q peergraph_compat; then
  echo "packaging: the subproject build has the <p2p.h> library though compat is auto" >&2
  exit 1
fi

step "ok"
