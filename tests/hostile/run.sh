#!/usr/bin/env bash
# tests/hostile/run.sh BUILD_DIR: each attack of tests/hostile/attack.cpp
# against a fresh peergraph-node (BUILD_DIR/examples/peergraph-node, default
# limits), in separate processes over loopback. Passes when, with the
# attackers still connected, a legitimate neighbor is welcomed within 1 s,
# its presence is in the synchronization it then asks for, that
# synchronization completes within 1 s, and the node's peak resident memory
# (VmHWM) stayed under 64 MiB.
set -euo pipefail

build="${1:?usage: run.sh BUILD_DIR}"
node="$build/examples/peergraph-node"
attack="$build/tests/hostile/attack"
tmp="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

status=0
run_one() {
  local mode="$1" count="$2"
  "$node" --graph hostile --peer victim --create --listen '[::1]:0' >"$tmp/node.out" 2>&1 &
  local node_pid=$!
  pids+=("$node_pid")
  local addr=""
  for _ in $(seq 100); do
    addr="$(sed -n 's/.*"event":"listening","address":"\([^"]*\)".*/\1/p' "$tmp/node.out" | head -n 1)"
    [[ -n "$addr" ]] && break
    sleep 0.05
  done
  [[ -n "$addr" ]] || { echo "hostile: the node did not listen" >&2; cat "$tmp/node.out" >&2; exit 1; }
  rm -f "$tmp/hold"
  mkfifo "$tmp/hold"
  "$attack" "$addr" hostile "$mode" "$count" <"$tmp/hold" >"$tmp/attack.out" &
  local attack_pid=$!
  pids+=("$attack_pid")
  exec 3>"$tmp/hold"  # holds the attackers connected until closed
  for _ in $(seq 300); do
    [[ -s "$tmp/attack.out" ]] && break
    sleep 0.05
  done
  local result rss
  result="$(cat "$tmp/attack.out")"
  rss="$(awk '/VmHWM/ {print $2}' "/proc/$node_pid/status")"
  exec 3>&-
  wait "$attack_pid" || true
  kill "$node_pid"
  wait "$node_pid" || true
  local legit
  legit="$(sed -n 's/.*"legit_ms":\(-\?[0-9]*\).*/\1/p' <<<"$result")"
  printf 'hostile: %-8s %s peak RSS %d KiB\n' "$mode" "$result" "$rss"
  if [[ -z "$legit" || "$legit" -lt 0 || "$legit" -ge 1000 ]]; then
    echo "hostile: $mode: the legitimate peer was not served within 1 s" >&2
    status=1
  fi
  if ! grep -q '"visible":true' <<<"$result"; then
    echo "hostile: $mode: the legitimate peer is not in the node's presence list" >&2
    status=1
  fi
  local sync
  sync="$(sed -n 's/.*"sync_ms":\(-\?[0-9]*\).*/\1/p' <<<"$result")"
  if [[ -z "$sync" || "$sync" -lt 0 || "$sync" -ge 1000 ]]; then
    echo "hostile: $mode: synchronizing with the node took too long" >&2
    status=1
  fi
  if ((rss >= 64 * 1024)); then
    echo "hostile: $mode: the node's peak RSS reached $rss KiB" >&2
    status=1
  fi
}

run_one none 0
run_one solicit 7
run_one announce 20
run_one idle 300
run_one poison 7
exit "$status"
