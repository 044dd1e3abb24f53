#!/usr/bin/python3
"""Failover time of a 3-node `leader`/`majority` cluster on real processes, on loopback.

Each round starts a cluster (`replikv cluster start`), keeps one client writing through a
follower, and then either kills the leader with SIGKILL or cuts it off with the fault layer. It
measures, from the fault:
  - election: until another node says it leads (INFO replication, polled every 10 ms);
  - first write: until a write sent to the new leader is acknowledged.
The cluster's election timeout is the default (1000 ms, randomized up to 2000 ms): a follower
waits that long without hearing the leader before it asks for votes, so the figures are
dominated by it, by design — shorter timeouts elect faster and risk spurious elections.

Results (median and max of the rounds) go to docs/benchmarks.md between markers.
Usage: bench/failover.py [--rounds N]
"""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import redis

from doc_section import write_section

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "e2e"))
from harness import free_cluster_base  # noqa: E402  (the tests' port finder)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.environ.get("REPLIKV_BIN", os.path.join(ROOT, "build", "release", "replikv"))
DOC = os.path.join(ROOT, "docs", "benchmarks.md")
HOST = "127.0.0.1"


def role(base, node):
    try:
        info = redis.Redis(host=HOST, port=base + node - 1, socket_timeout=0.5).info("replication")
        return info.get("replikv_raft_role")
    except (redis.RedisError, OSError):
        return None


def one_round(fault):
    directory = tempfile.mkdtemp(prefix="replikv-failover-")
    base = free_cluster_base()
    try:
        subprocess.run([BINARY, "cluster", "start", "--nodes", "3", "--dir", directory, "--port", str(base),
                        "--strategy", "leader", "--ack", "majority", "--failover", "auto", "--test-faults"],
                       check=True, capture_output=True, timeout=120)
        leader = next(n for n in (1, 2, 3) if role(base, n) == "leader")
        others = [n for n in (1, 2, 3) if n != leader]
        redis.Redis(host=HOST, port=base + others[0] - 1).set("warm", "1")
        if fault == "kill -9":
            with open(os.path.join(directory, f"n{leader}", "replikv.pid")) as f:
                pid = int(f.read())
            started = time.monotonic()
            os.kill(pid, signal.SIGKILL)
        else:
            redis.Redis(host=HOST, port=base + leader - 1).execute_command("FAULT", "CUT", "*")
            started = time.monotonic()
            for n in others:
                redis.Redis(host=HOST, port=base + n - 1).execute_command("FAULT", "CUT", str(leader))
        new = None
        while new is None and time.monotonic() - started < 30:
            new = next((n for n in others if role(base, n) == "leader"), None)
            if new is None:
                time.sleep(0.01)
        elected = time.monotonic() - started
        client = redis.Redis(host=HOST, port=base + new - 1, socket_timeout=5)
        while time.monotonic() - started < 30:
            try:
                if client.set("after", "1"):
                    break
            except redis.RedisError:
                time.sleep(0.01)
        written = time.monotonic() - started
        return elected, written
    finally:
        subprocess.run([BINARY, "cluster", "stop", "--dir", directory], capture_output=True, timeout=120)
        shutil.rmtree(directory, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rows = []
    for fault in ("kill -9", "cut off"):
        results = []
        for i in range(args.rounds):
            elected, written = one_round(fault)
            results.append((elected, written))
            print(f"{fault:8} round {i + 1}: new leader after {elected * 1000:.0f} ms, first write after "
                  f"{written * 1000:.0f} ms", flush=True)
        elections = [r[0] * 1000 for r in results]
        writes = [r[1] * 1000 for r in results]
        rows.append(f"| {fault} the leader | {args.rounds} | {statistics.median(elections):.0f} | "
                    f"{max(elections):.0f} | {statistics.median(writes):.0f} | {max(writes):.0f} |")
    table = ("| fault | rounds | new leader, median ms | max ms | first acknowledged write, median ms | max ms |\n"
             "|---|---:|---:|---:|---:|---:|\n" + "\n".join(rows) + "\n\n"
             f"Command: `bench/failover.py --rounds {args.rounds}` ({time.strftime('%Y-%m-%d')}, "
             f"election timeout 1000–2000 ms, heartbeat 100 ms).\n")
    print(table)
    write_section(DOC, "failover", table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
