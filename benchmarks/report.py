#!/usr/bin/env python3
"""Renders peergraph-bench results (JSON lines) as markdown and plots.

    report.py table RESULTS.jsonl              the results and targets tables (markdown) on stdout
    report.py plots RESULTS.jsonl OUT_DIR      PNG plots into OUT_DIR (needs python3-matplotlib)
    report.py update-doc RESULTS.jsonl DOC.md [--build-dir DIR] [--plots-dir DIR]
        rewrites the part of DOC.md between the '<!-- results:begin -->' and
        '<!-- results:end -->' markers: run date and commit, the machine, the
        tables and links to the plots (made too, if matplotlib is installed).

Each input line is {"scenario", "system", "size", "metric", "value"}.
"""

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys

SYSTEMS = ["peergraph", "asio", "zeromq"]
# Ways of using peergraph, each a row of its own: awaited sends (peergraph),
# try_send with receive_some (peergraph-try), vectors handed over (peergraph-owned).
VARIANTS = ["peergraph", "peergraph-try", "peergraph-owned"]
COLORS = {"peergraph": "#1f77b4", "peergraph-try": "#2ca02c", "peergraph-owned": "#9467bd",
          "asio": "#7f7f7f", "zeromq": "#ff7f0e"}
BEGIN = "<!-- results:begin -->"
END = "<!-- results:end -->"

# (scenario, system, size, metric, baseline, comparison, bound, description)
#   comparison ">=": system / baseline must be at least `bound`;
#   "<=": at most `bound`. Baseline None: an absolute bound on the system's value.
TARGETS = [
    ("stream", "peergraph-try", 64, "msgs_per_s", "zeromq", ">=", 2.0,
     "stream 64 B with try_send: messages/s at least 2x ZeroMQ"),
    ("instructions", "peergraph-try", 64, "instructions_per_msg", "asio", "<=", 2.0,
     "stream 64 B with try_send: at most 2x raw Asio's instructions per message"),
    ("stream", "peergraph-try", 1024, "bytes_per_s", "asio", ">=", 0.8, "stream 1 KiB: bytes/s at least 0.8x raw Asio"),
    ("stream", "peergraph", 65536, "bytes_per_s", "asio", ">=", 0.9,
     "stream 64 KiB, copying send: bytes/s at least 0.9x raw Asio"),
    ("stream", "peergraph-owned", 65536, "bytes_per_s", "asio", ">=", 0.95,
     "stream 64 KiB, owned send: bytes/s at least 0.95x raw Asio"),
    ("stream", "peergraph", 1048576, "bytes_per_s", "asio", ">=", 0.9,
     "stream 1 MiB, copying send: bytes/s at least 0.9x raw Asio"),
    ("stream", "peergraph-owned", 1048576, "bytes_per_s", "asio", ">=", 0.95,
     "stream 1 MiB, owned send: bytes/s at least 0.95x raw Asio"),
    ("events", "peergraph-try", 0, "events_per_s", "zeromq", ">=", 2.0,
     "events with receive_some: at least 2x ZeroMQ"),
    ("pingpong", "peergraph", 64, "rtt_p50_us", "asio", "<=", 1.2, "ping-pong 64 B: p50 at most 1.2x raw Asio"),
    ("pingpong", "peergraph", 65536, "rtt_p50_us", "asio", "<=", 1.2, "ping-pong 64 KiB: p50 at most 1.2x raw Asio"),
    ("connect", "peergraph", 0, "setup_p50_us", "asio", "<=", 2.0,
     "connect: at most 2x TCP connect + one round trip"),
    ("open_direct", "peergraph", 0, "setup_p50_us", "asio", "<=", 3.0,
     "open_direct: at most 3x TCP connect + one round trip"),
    ("idle_memory", "peergraph", 0, "bytes_per_conn", None, "<=", 8192.0,
     "idle neighbor connection: at most 8 KiB each"),
    ("compile", "peergraph", 0, "cpu_s", "asio", "<=", 1.5, "quickstart compile CPU time: at most 1.5x plain Asio"),
    ("presence", "peergraph", 200, "converge_s", None, "<=", 2.0, "presence, 200 nodes: converged within 2 s"),
    ("presence", "peergraph", 200, "flood_msgs_per_link", None, "<=", 3.0,
     "presence: at most 3 flood messages per link and update"),
]


def load(path):
    figures = {}
    order = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            x = json.loads(line)
            key = (x["scenario"], x["size"], x["metric"])
            if key not in order:
                order.append(key)
            figures[(x["scenario"], x["system"], x["size"], x["metric"])] = float(x["value"])
    return figures, order


def size_name(n):
    if n == 0:
        return "-"
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20} MiB"
    if n >= 1024 and n % 1024 == 0:
        return f"{n >> 10} KiB"
    return f"{n} B"


def fmt_value(metric, v):
    if v is None:
        return "-"
    if metric in ("msgs_per_s", "events_per_s"):
        return f"{v / 1e6:.2f} M/s" if v >= 1e6 else f"{v / 1e3:.1f} k/s"
    if metric == "bytes_per_s":
        return f"{v / (1 << 20):.0f} MiB/s"
    if metric in ("bytes_per_conn", "heap_bytes_per_node", "rss_bytes_per_node"):
        return f"{v:,.0f} B"
    if metric in ("converge_s", "build_s"):
        return f"{v:.3f} s"
    if metric in ("flood_msgs_per_link", "scaling"):
        return f"{v:.2f}"
    if metric == "instructions_per_msg":
        return f"{v:,.0f}"
    if metric == "cpu_s":
        return f"{v:.1f} s"
    return f"{v:.1f} µs"


METRIC_NAMES = {
    "msgs_per_s": "messages/s",
    "bytes_per_s": "bytes/s",
    "rtt_p50_us": "round trip p50",
    "rtt_p99_us": "round trip p99",
    "setup_p50_us": "setup p50",
    "events_per_s": "events/s",
    "bytes_per_conn": "bytes per connection end",
    "converge_s": "convergence",
    "build_s": "build",
    "flood_msgs_per_link": "flood messages per link",
    "heap_bytes_per_node": "heap per node",
    "rss_bytes_per_node": "RSS per node",
    "instructions_per_msg": "instructions per message",
    "cpu_s": "compile CPU time",
    "scaling": "two threads / one",
}


def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "-"


def results_table(figures, order):
    out = ["| scenario | size | metric | peergraph | asio | zeromq | peergraph / asio | peergraph / zeromq |",
           "|---|---:|---|---:|---:|---:|---:|---:|"]
    for scenario, size, metric in order:
        if scenario in ("presence", "scale"):
            shown_size = f"{size} nodes"
        elif scenario == "multicore":
            shown_size = f"{size} thread" + ("s" if size > 1 else "")
        else:
            shown_size = size_name(size)
        base = {s: figures.get((scenario, s, size, metric)) for s in ("asio", "zeromq")}
        rows = [(v, figures.get((scenario, v, size, metric))) for v in VARIANTS]
        rows = [(v, x) for v, x in rows if x is not None]
        for variant, value in rows:
            label = scenario if variant == "peergraph" else f"{scenario} ({variant})"
            out.append(f"| {label} | {shown_size} | {METRIC_NAMES.get(metric, metric)} | {fmt_value(metric, value)} | "
                       f"{fmt_value(metric, base['asio'])} | {fmt_value(metric, base['zeromq'])} | "
                       f"{ratio(value, base['asio'])} | {ratio(value, base['zeromq'])} |")
        unframed = figures.get((scenario, "asio-bytes", size, metric))
        if unframed is not None:
            out.append(f"| {scenario} (asio-bytes, unframed) | {shown_size} | {METRIC_NAMES.get(metric, metric)} | - | "
                       f"{fmt_value(metric, unframed)} | - | - | - |")
    return "\n".join(out)


def evaluate(figures, target):
    """(measured ratio or value, fraction of target achieved (>= 1: met)) or None if not measured."""
    scenario, system, size, metric, baseline, cmp, bound, _ = target
    pg = figures.get((scenario, system, size, metric))
    if pg is None:
        return None
    if baseline is None:
        measured = pg
    else:
        base = figures.get((scenario, baseline, size, metric))
        if not base:
            return None
        measured = pg / base
    if cmp == ">=":
        achieved = measured / bound
    else:
        achieved = bound / measured if measured > 0 else float("inf")
    return measured, achieved


def targets_table(figures):
    out = ["| target | measured | met |", "|---|---:|:---:|"]
    for t in TARGETS:
        r = evaluate(figures, t)
        scenario, system, size, metric, baseline, cmp, bound, desc = t
        if r is None:
            out.append(f"| {desc} | not measured | - |")
            continue
        measured, achieved = r
        shown = fmt_value(metric, measured) if baseline is None else f"{measured:.2f}x {baseline}"
        out.append(f"| {desc} | {shown} | {'yes' if achieved >= 1 else '**no**'} |")
    return "\n".join(out)


# ------------------------------------------------------------------ plots


def make_plots(figures, out_dir):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report.py: matplotlib is not installed (apt-get install python3-matplotlib); no plots",
              file=sys.stderr)
        return []
    os.makedirs(out_dir, exist_ok=True)
    written = []

    def grouped(ax, categories, series, log=True):
        width = 0.8 / max(len(series), 1)
        for i, (system, values) in enumerate(series):
            xs = [c + (i - (len(series) - 1) / 2) * width for c in range(len(categories))]
            ys = [v if v is not None else 0 for v in values]
            ax.bar(xs, ys, width, label=system, color=COLORS.get(system))
        ax.set_xticks(range(len(categories)))
        ax.set_xticklabels(categories)
        if log:
            ax.set_yscale("log")
        ax.grid(axis="y", which="both", alpha=0.3)
        ax.legend()

    def save(fig, name):
        path = os.path.join(out_dir, name)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(name)

    # Stream: messages/s and bytes/s by message size.
    sizes = sorted({k[2] for k in figures if k[0] == "stream"})
    if sizes:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
        for ax, metric, label, scale in ((a1, "msgs_per_s", "messages/s", 1.0),
                                         (a2, "bytes_per_s", "MiB/s", 1.0 / (1 << 20))):
            systems = ["peergraph", "peergraph-try", "asio", "zeromq"]
            series = [(s, [figures.get(("stream", s, n, metric)) for n in sizes]) for s in systems]
            series = [(s, [v * scale if v is not None else None for v in vals]) for s, vals in series
                      if any(v is not None for v in vals)]
            grouped(ax, [size_name(n) for n in sizes], series)
            line = [v for (sc, sy, _, m), v in figures.items()
                    if sc == "stream" and sy == "asio-bytes" and m == "bytes_per_s"]
            if line and metric == "bytes_per_s":
                ax.axhline(line[0] * scale, color="black", linestyle="--", linewidth=1,
                           label="unframed Asio byte stream")
                ax.legend()
            ax.set_xlabel("message size")
            ax.set_ylabel(label + " (log scale)")
            ax.set_title(f"one-way stream: {label} (higher is better)")
        save(fig, "stream.png")

    # Ping-pong: p50 and p99 by size.
    sizes = sorted({k[2] for k in figures if k[0] == "pingpong"})
    if sizes:
        fig, ax = plt.subplots(figsize=(8, 4.2))
        cats, series = [], {s: [] for s in SYSTEMS}
        for n in sizes:
            for metric, tag in (("rtt_p50_us", "p50"), ("rtt_p99_us", "p99")):
                cats.append(f"{size_name(n)}\n{tag}")
                for s in SYSTEMS:
                    series[s].append(figures.get(("pingpong", s, n, metric)))
        grouped(ax, cats, [(s, v) for s, v in series.items() if any(x is not None for x in v)])
        ax.set_ylabel("round trip, µs (log scale)")
        ax.set_title("ping-pong round trip (lower is better)")
        save(fig, "pingpong.png")

    # Setup, events and idle memory side by side.
    panels = [
        ("connection setup p50, µs", [("connect", "setup_p50_us"), ("open_direct", "setup_p50_us")], False),
        ("events/s", [("events", "events_per_s")], True),
        ("idle memory, bytes per connection end", [("idle_memory", "bytes_per_conn")], False),
    ]
    panels = [p for p in panels if any((sc, s, 0, m) in figures for sc, m in p[1] for s in SYSTEMS)]
    if panels:
        fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.2))
        if len(panels) == 1:
            axes = [axes]
        for ax, (title, keys, log) in zip(axes, panels):
            series = [(s, [figures.get((sc, s, 0, m)) for sc, m in keys]) for s in ["peergraph", "peergraph-try", "asio", "zeromq"]]
            series = [(s, v) for s, v in series if any(x is not None for x in v)]
            grouped(ax, [sc for sc, _ in keys], series, log=log)
            ax.set_title(title, fontsize=10)
        save(fig, "setup_events_memory.png")

    # Presence: convergence and flood cost by node count (peergraph only).
    nodes = sorted({k[2] for k in figures if k[0] == "presence" and k[1] == "peergraph"})
    if nodes:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.8))
        for ax, metric, label, bound, bound_label in (
                (a1, "converge_s", "convergence, s", 2.0, "target for 200 nodes: 2 s"),
                (a2, "flood_msgs_per_link", "FLOODs per link and update", 3.0, "target: 3")):
            ys = [figures.get(("presence", "peergraph", n, metric)) for n in nodes]
            ax.bar(range(len(nodes)), [y if y is not None else 0 for y in ys], 0.5, color=COLORS["peergraph"])
            ax.axhline(bound, color="#d62728", linestyle="--", linewidth=1, label=bound_label)
            ax.set_xticks(range(len(nodes)))
            ax.set_xticklabels([f"{n} nodes" for n in nodes])
            ax.set_ylabel(label)
            ax.set_title(f"presence: {label} (lower is better)", fontsize=10)
            ax.grid(axis="y", alpha=0.3)
            ax.legend(fontsize=8)
        save(fig, "presence.png")

    # Targets: the fraction of each target achieved (1 = exactly met).
    rows = [(t[7], evaluate(figures, t)) for t in TARGETS]
    rows = [(d, r) for d, r in rows if r is not None]
    if rows:
        fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.3))
        labels = [d for d, _ in rows][::-1]
        values = [r[1] for _, r in rows][::-1]
        colors = ["#2ca02c" if v >= 1 else "#d62728" for v in values]
        ax.barh(range(len(values)), values, color=colors)
        ax.axvline(1.0, color="black", linewidth=1)
        ax.set_yticks(range(len(values)))
        ax.set_yticklabels(labels, fontsize=9)
        ax.set_xscale("log")
        ax.set_xlabel("achieved / required (log scale; right of the line: target met)")
        ax.set_title("peergraph against its targets")
        for i, v in enumerate(values):
            ax.text(v, i, f" {v:.2f}", va="center", fontsize=8)
        save(fig, "targets.png")
    return written


# ------------------------------------------------------------------ the document


def run(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def machine(build_dir):
    lines = []
    lscpu = run(["lscpu"])
    info = {}
    for line in lscpu.splitlines():
        k, _, v = line.partition(":")
        info[k.strip()] = v.strip()
    cpu = info.get("Model name", platform.processor() or "unknown CPU")
    lines.append(f"- CPU: {cpu}, {info.get('CPU(s)', '?')} logical CPUs"
                 + (f" ({info['Hypervisor vendor']} guest)" if info.get("Hypervisor vendor") else ""))
    mem = run(["sh", "-c", "grep MemTotal /proc/meminfo"])
    if mem:
        kib = int(re.findall(r"\d+", mem)[0])
        lines.append(f"- memory: {kib / (1 << 20):.1f} GiB")
    lines.append(f"- kernel: {platform.system()} {platform.release()}")
    os_name = run(["sh", "-c", ". /etc/os-release && echo \"$PRETTY_NAME\""])
    if os_name:
        lines.append(f"- system: {os_name}")
    compiler = ""
    if build_dir:
        try:
            with open(os.path.join(build_dir, "meson-logs", "meson-log.txt")) as f:
                m = re.search(r"C\+\+ compiler for the host machine: \S+ \((\S+ [^ ]+) \"(.*)\"\)", f.read())
            if m:
                compiler = m.group(2)
        except OSError:
            pass
    if compiler:
        lines.append(f"- compiler: {compiler}, release build (`-O3`, `NDEBUG`, no sanitizers)")
    zmq = run(["pkg-config", "--modversion", "libzmq"])
    if zmq:
        lines.append(f"- libzmq {zmq}")
    return "\n".join(lines)


def update_doc(results, doc, build_dir, plots_dir, note):
    figures, order = load(results)
    doc_dir = os.path.dirname(os.path.abspath(doc))
    plots = make_plots(figures, plots_dir) if plots_dir else []
    commit = run(["git", "rev-parse", "--short", "HEAD"]) or "unknown"
    if run(["git", "status", "--porcelain", "--untracked-files=no"]):
        commit += " (with uncommitted changes)"
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        BEGIN,
        "<!-- Generated by benchmarks/report.py from "
        + os.path.relpath(os.path.abspath(results))
        + "; `script/bench --report` rewrites everything up to results:end. -->",
        "",
        f"**Run of {date}, commit {commit}.**",
        "",
        machine(build_dir),
        "",
    ]
    if note:
        parts += [note, ""]
    parts += [
        "### Results",
        "",
        results_table(figures, order),
        "",
        "### Targets",
        "",
        targets_table(figures),
        "",
    ]
    if plots:
        parts += ["### Plots", ""]
        for p in plots:
            rel = os.path.relpath(os.path.join(plots_dir, p), doc_dir)
            parts += [f"![{os.path.splitext(p)[0]}]({rel})", ""]
    parts.append(END)
    text = open(doc).read()
    i, j = text.find(BEGIN), text.find(END)
    if i < 0 or j < 0:
        sys.exit(f"report.py: {doc} has no {BEGIN} ... {END} section")
    text = text[:i] + "\n".join(parts) + text[j + len(END):]
    with open(doc, "w") as f:
        f.write(text)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("table")
    t.add_argument("results")
    pl = sub.add_parser("plots")
    pl.add_argument("results")
    pl.add_argument("out_dir")
    u = sub.add_parser("update-doc")
    u.add_argument("results")
    u.add_argument("doc")
    u.add_argument("--build-dir")
    u.add_argument("--plots-dir")
    u.add_argument("--note", help="a remark on the run, shown under the machine")
    a = p.parse_args()
    if a.cmd == "table":
        figures, order = load(a.results)
        print(results_table(figures, order))
        print()
        print(targets_table(figures))
    elif a.cmd == "plots":
        figures, _ = load(a.results)
        for name in make_plots(figures, a.out_dir):
            print(os.path.join(a.out_dir, name))
    else:
        update_doc(a.results, a.doc, a.build_dir, a.plots_dir, a.note)


if __name__ == "__main__":
    main()
