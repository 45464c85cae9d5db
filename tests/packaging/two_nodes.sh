#!/usr/bin/env bash
# tests/packaging/two_nodes.sh PROGRAM: runs the two roles of
# compat_two_nodes.c as two processes. The listener starts in the background
# and writes its port to a file; once the file is there, the sender runs.
# Both must exit 0, each within 30 s; the listener is killed on failure.
set -euo pipefail

prog="$1"
dir="$(mktemp -d)"
listener=""
cleanup() {
  if [[ -n "$listener" ]]; then
    kill "$listener" 2>/dev/null || true
    wait "$listener" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

timeout 30 "$prog" listen "$dir/port" &
listener=$!
for _ in $(seq 150); do
  [[ -s "$dir/port" ]] && break
  kill -0 "$listener" 2>/dev/null || break
  sleep 0.1
done
if [[ ! -s "$dir/port" ]]; then
  echo "two nodes: the listener wrote no port" >&2
  exit 1
fi
if ! timeout 30 "$prog" send "$(cat "$dir/port")"; then
  echo "two nodes: the sender failed" >&2
  exit 1
fi
status=0
wait "$listener" || status=$?
listener=""
if [[ $status -ne 0 ]]; then
  echo "two nodes: the listener failed (exit status $status)" >&2
  exit 1
fi
echo "two nodes: ok"
