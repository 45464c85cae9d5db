#!/usr/bin/env python3
"""Faults between real processes: tests/faults/run.py BUILD_DIR [SCENARIO...]

Three fault_node processes (alice, bob, carol), each in its own network
namespace, joined by veth links to a bridge in a fourth one. Alice streams
numbered messages over a direct connection to one of the others while a
fault hits: the receiver killed (SIGKILL) and restarted, its link cut for
0.5 s (shorter than the timeouts) and for 4 s (longer), alice partitioned
from both (iptables DROP) and healed, the receiver paused past the idle
timeout (SIGSTOP/SIGCONT).

Checked for every scenario:
- nothing is lost silently: on each direct connection (session) the
  receiver got an in-order, gap-free prefix of what was sent, and when it
  got less than the sender sent, the sender saw that session fail;
- the stream completes: after the fault, a later session delivers the rest
  and closes cleanly;
- the graph reconverges: every node enumerates exactly the three live nodes;
- a cut shorter than the timeouts costs nothing: one session, no failure.

Needs root (network namespaces, iptables). Prints one line per scenario.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
NODE = os.path.join(BUILD, "tests", "faults", "fault_node")
PEERS = ["alice", "bob", "carol"]
NS = {p: "pgf-" + p for p in PEERS}
HUB = "pgf-hub"
IP = {"alice": "10.88.0.1", "bob": "10.88.0.2", "carol": "10.88.0.3"}
PORT = 7100
COUNT = 2500
GRAPH = "faults"


def run(*args, check=True):
    return subprocess.run(args, check=check, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def teardown():
    for ns in list(NS.values()) + [HUB]:
        run("ip", "netns", "del", ns, check=False)


def setup():
    teardown()
    run("ip", "netns", "add", HUB)
    run("ip", "-n", HUB, "link", "add", "br0", "type", "bridge")
    run("ip", "-n", HUB, "link", "set", "br0", "up")
    for p in PEERS:
        ns, short = NS[p], p[0]
        run("ip", "netns", "add", ns)
        run("ip", "link", "add", "v-" + short, "type", "veth", "peer", "name", "h-" + short)
        run("ip", "link", "set", "v-" + short, "netns", ns)
        run("ip", "link", "set", "h-" + short, "netns", HUB)
        run("ip", "-n", HUB, "link", "set", "h-" + short, "master", "br0")
        run("ip", "-n", HUB, "link", "set", "h-" + short, "up")
        run("ip", "-n", ns, "addr", "add", IP[p] + "/24", "dev", "v-" + short)
        run("ip", "-n", ns, "link", "set", "v-" + short, "up")
        run("ip", "-n", ns, "link", "set", "lo", "up")


class Node:
    def __init__(self, peer, workdir, stream_to=None):
        self.peer = peer
        self.path = os.path.join(workdir, f"{peer}-{time.monotonic_ns()}.jsonl")
        args = ["ip", "netns", "exec", NS[peer], NODE, "--graph", GRAPH, "--peer", peer,
                "--listen", f"{IP[peer]}:{PORT}"]
        if peer == "alice":
            args.append("--create")
        else:
            args += ["--connect", f"{IP['alice']}:{PORT}"]
        if stream_to:
            args += ["--stream-to", stream_to, "--count", str(COUNT), "--size", "1024"]
        self.out = open(self.path, "w")
        # `ip netns exec` execs the node: the pid is the node's.
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=subprocess.STDOUT)

    def events(self):
        with open(self.path) as f:
            lines = f.read().splitlines()
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass  # a line being written, or a diagnostic
        return out

    def last_nodes(self):
        seen = [e["peers"] for e in self.events() if e.get("event") == "nodes"]
        return seen[-1] if seen else []

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def received(receivers):
    by_session = {}
    for node in receivers:
        for e in node.events():
            if e.get("event") == "received":
                by_session.setdefault(e["session"], []).append(e["seq"])
    return by_session


def check_stream(sender, receivers):
    """The no-silent-loss rule, per session, and the stream's completion."""
    sent, failed, done = {}, set(), {}
    for e in sender.events():
        kind = e.get("event")
        if kind == "sent":
            sent[e["session"]] = e["seq"]
        elif kind == "failed":
            failed.add(e["session"])
        elif kind == "done":
            done[e["session"]] = e["seq"]
        elif kind == "opened":
            sent.setdefault(e["session"], 0)
    got = received(receivers)
    lost_with_error = 0
    for session, count in sorted(sent.items()):
        seqs = got.get(session, [])
        if seqs != list(range(1, len(seqs) + 1)):
            raise AssertionError(f"session {session}: received out of order or with gaps: {seqs[:20]}...")
        if len(seqs) > count:
            raise AssertionError(f"session {session}: received {len(seqs)}, more than the {count} sent")
        if len(seqs) < count:
            if session not in failed:
                raise AssertionError(f"session {session}: {count - len(seqs)} messages lost and no error")
            lost_with_error += count - len(seqs)
        if session in done and len(seqs) != done[session]:
            raise AssertionError(f"session {session}: closed cleanly, yet {done[session] - len(seqs)} missing")
    total = sum(sent.values())
    if total < COUNT or not done:
        raise AssertionError(f"the stream did not complete: {total} of {COUNT} sent, sessions {sorted(sent)}")
    return len(sent), sum(1 for s in sent if s in failed), lost_with_error


def scenario(name, workdir):
    target = "carol" if name == "kill" else "bob"
    alice = Node("alice", workdir, stream_to=target)
    time.sleep(0.3)
    nodes = {"alice": alice, "bob": Node("bob", workdir), "carol": Node("carol", workdir)}
    receivers = [nodes[target]]
    everyone = sorted(PEERS)
    try:
        wait_for(lambda: all(n.last_nodes() == everyone for n in nodes.values()), 20, "the three nodes to meet")
        wait_for(lambda: sum(map(len, received(receivers).values())) >= 300, 20, "the stream to start")
        start = time.monotonic()
        if name == "kill":
            nodes[target].signal(signal.SIGKILL)
            nodes[target].proc.wait()
            time.sleep(1)
            nodes[target] = Node(target, workdir)
            receivers.append(nodes[target])
        elif name in ("cut", "blip"):
            run("ip", "-n", NS[target], "link", "set", "v-" + target[0], "down")
            time.sleep(4 if name == "cut" else 0.5)
            run("ip", "-n", NS[target], "link", "set", "v-" + target[0], "up")
        elif name == "partition":
            rules = []
            for other in ("bob", "carol"):
                rules += [["INPUT", "-s", IP[other]], ["OUTPUT", "-d", IP[other]]]
            for r in rules:
                run("ip", "netns", "exec", NS["alice"], "iptables", "-I", *r, "-j", "DROP")
            time.sleep(4)
            for r in rules:
                run("ip", "netns", "exec", NS["alice"], "iptables", "-D", *r, "-j", "DROP")
        elif name == "pause":
            nodes[target].signal(signal.SIGSTOP)
            time.sleep(4)
            nodes[target].signal(signal.SIGCONT)
        wait_for(lambda: any(e.get("event") == "done" for e in alice.events()), 60, "the stream to complete")
        wait_for(lambda: all(n.last_nodes() == everyone for n in nodes.values()), 30, "the graph to reconverge")
        healed = time.monotonic() - start
        sessions, failed, lost = check_stream(alice, receivers)
        if name == "blip" and (sessions != 1 or failed != 0):
            raise AssertionError(f"a 0.5 s cut ended the stream: {sessions} sessions, {failed} failed")
        print(f"faults: {name:<9} ok: {sessions} sessions, {failed} failed with an error "
              f"({lost} messages not delivered, all reported), stream done and graph reconverged "
              f"{healed:.1f} s after the fault began")
    finally:
        for n in nodes.values():
            n.stop()
        for n in receivers:
            if n not in nodes.values():
                n.stop()


def main():
    if os.geteuid() != 0:
        print("faults: needs root (network namespaces, iptables)", file=sys.stderr)
        return 1
    wanted = sys.argv[2:] or ["kill", "blip", "cut", "partition", "pause"]
    status = 0
    workdir = tempfile.mkdtemp(prefix="pg-faults-")
    try:
        setup()
        for name in wanted:
            try:
                scenario(name, workdir)
            except AssertionError as e:
                print(f"faults: {name}: FAILED: {e} (logs in {workdir})", file=sys.stderr)
                status = 1
    finally:
        teardown()
    return status


if __name__ == "__main__":
    sys.exit(main())
