#!/usr/bin/env python3
"""Instructions per message, counted by callgrind.

For each system and message size, runs the stream scenario of peergraph-bench
twice under `valgrind --tool=callgrind` with different message counts and
divides the difference in instructions by the difference in messages: what
one more message costs in user space (both ends, one process), independent
of the machine's load and of start-up work. The kernel's share (system calls,
the loopback copy) is not counted.

    benchmarks/instructions.py BENCH_BINARY [--json FILE] [--quick]

Appends one JSON line per figure to FILE:
{"scenario":"instructions","system":...,"size":...,"metric":"instructions_per_msg","value":...}
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

SYSTEMS = ["peergraph", "peergraph-try", "asio"]
SIZES = [64, 1024]


def count_instructions(bench, system, size, messages):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", bench,
               "--scenario", "stream", "--system", system, "--size", str(size),
               "--count", str(messages), "--reps", "1"]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"instructions.py: {' '.join(cmd)} failed:\n{run.stderr[-2000:]}")
        m = re.search(r"Collected : (\d+)", run.stderr)
        if not m:
            sys.exit("instructions.py: no instruction count in callgrind's output")
        return int(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bench")
    ap.add_argument("--json")
    ap.add_argument("--quick", action="store_true", help="fewer messages (a smoke test)")
    args = ap.parse_args()
    low, high = (1000, 3000) if args.quick else (5000, 25000)
    rows = []
    for size in SIZES:
        for system in SYSTEMS:
            a = count_instructions(args.bench, system, size, low)
            b = count_instructions(args.bench, system, size, high)
            per = (b - a) / (high - low)
            rows.append({"scenario": "instructions", "system": system, "size": size,
                         "metric": "instructions_per_msg", "value": round(per, 1)})
            print(f"instructions: {system:14} {size:5} B  {per:8.0f} per message", flush=True)
    for size in SIZES:
        base = next(r["value"] for r in rows if r["size"] == size and r["system"] == "asio")
        for r in rows:
            if r["size"] == size and r["system"] != "asio":
                print(f"instructions: {r['system']:14} {size:5} B  {r['value'] / base:6.2f}x asio")
    if args.json:
        with open(args.json, "a") as f:
            for r in rows:
                f.write(json.dumps(r, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
