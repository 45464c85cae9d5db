#!/usr/bin/env python3
"""The compile-time figure: CPU seconds to compile the README quickstart
against a plain Asio coroutine program of the same size.

    benchmarks/compile_time.py [--cxx g++] [--json FILE] [--reps N]

Both are compiled with `CXX -std=c++20 -O2 -c` (and the flags Asio needs
with Clang and libstdc++); the figure is the user + system CPU time of the
compiler, the median of --reps runs (default 3). Appends one JSON line per
figure to FILE:
{"scenario":"compile","system":...,"size":0,"metric":"cpu_s","value":...}
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def quickstart(path):
    subprocess.run([sys.executable, os.path.join(ROOT, "tests/compile/extract_snippet.py"),
                    os.path.join(ROOT, "README.md"), path], check=True)


def cpu_seconds(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = subprocess.run(cmd, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode != 0:
        sys.exit(f"compile_time.py: {' '.join(cmd)} failed:\n{run.stderr[-3000:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cxx", default=os.environ.get("CXX", "c++"))
    ap.add_argument("--json")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    flags = ["-std=c++20", "-O2", "-c", "-DASIO_HAS_CO_AWAIT=1", "-DASIO_HAS_STD_COROUTINE=1",
             "-I" + os.path.join(ROOT, "include")]
    with tempfile.TemporaryDirectory() as tmp:
        qs = os.path.join(tmp, "quickstart.cpp")
        quickstart(qs)
        programs = [
            ("asio", os.path.join(ROOT, "benchmarks/compile/asio_echo.cpp"), []),
            ("peergraph", qs, []),
        ]
        rows = []
        for system, src, extra in programs:
            times = [cpu_seconds([args.cxx, *flags, *extra, src, "-o", os.path.join(tmp, "out.o")])
                     for _ in range(args.reps)]
            value = statistics.median(times)
            rows.append({"scenario": "compile", "system": system, "size": 0, "metric": "cpu_s",
                         "value": round(value, 2)})
            print(f"compile: {system:20} {value:6.2f} s CPU", flush=True)
    base = rows[0]["value"]
    for r in rows[1:]:
        print(f"compile: {r['system']:20} {r['value'] / base:6.2f}x asio", flush=True)
    if args.json:
        with open(args.json, "a") as f:
            for r in rows:
                f.write(json.dumps(r, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
