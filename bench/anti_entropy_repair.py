"""What leaderless anti-entropy costs the foreground while it repairs real differences
(docs/leaderless.md, "Anti-entropy"; riak_kv#689 is the complaint: trees rebuilt at full speed
halved throughput).

Each run: 5 nodes, N = 3, W = R = 2, fsync "always", hints off (`hints_max = 0`, so anti-entropy
alone repairs); node 5 stopped; `replikv bench` writes for --outage seconds at node 1 (the keys
node 5 replicates — 3 in 5 — miss their copy there); node 5 restarted; then SETs measured at node 1
for --seconds while anti-entropy repairs node 5, against the same with anti-entropy off (node 5
stays behind, no repair traffic). Also: the copies anti-entropy sent and how long after the
restart every pair of nodes' digests agreed. (No GETs: a quorum read repairs what it reads, and
would do anti-entropy's work.) Configurations alternate A B C, C B A, …;
medians to docs/benchmarks.md.

Usage: /usr/bin/python3 bench/anti_entropy_repair.py [--rounds N] [--outage S] [--seconds S]
       [--no-write]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

from doc_section import write_section
from replication_compare import DOC, REPLIKV, ReplikvCluster, bench_client, log, redis_cli

CONFIGS = [
    ("anti-entropy every 100 ms, 1,000 copies an exchange", ("anti_entropy_interval_ms=100",)),
    ("anti-entropy every 1 s, 1,000 copies an exchange", ("anti_entropy_interval_ms=1000",)),
    ("anti-entropy off", ("anti_entropy_interval_ms=0",)),
]


def info_counter(port, name):
    for line in redis_cli(port, "info").splitlines():
        if line.startswith(f"replikv_{name}:"):
            return int(float(line.split(":", 1)[1]))
    return 0


def digests_agree(ports):
    """Every pair's roots equal: node a's root for b is b's root for a ("peers 2:<hex> 3:<hex> …")."""
    roots = {}
    for k, port in enumerate(ports, start=1):
        text = redis_cli(port, "debug", "digest").strip()
        if not text.startswith("peers"):
            return False
        roots[k] = dict(item.split(":", 1) for item in text.split()[1:])
    for a, mine in roots.items():
        for b, root in mine.items():
            if roots.get(int(b), {}).get(str(a)) != root:
                return False
    return True


def one_run(settings, outage_s, seconds, converge_s):
    cluster = ReplikvCluster("", "always", 5, strategy="leaderless",
                             settings=("n=3", "w=2", "r=2", "hints_max=0", *settings))
    try:
        subprocess.run([REPLIKV, "cluster", "stop", "--dir", cluster.dir, "--node", "n5"], check=True,
                       capture_output=True, timeout=60)
        bench_client(cluster.port, 16, outage_s, op="set")
        subprocess.run([REPLIKV, "cluster", "restart", "--dir", cluster.dir, "--node", "n5"], check=True,
                       capture_output=True, timeout=120)
        restarted = time.monotonic()
        sets = bench_client(cluster.port, 16, seconds, op="set")
        agreed_s = None
        while time.monotonic() - restarted < converge_s:
            if digests_agree(cluster.ports):
                agreed_s = time.monotonic() - restarted
                break
            time.sleep(0.5)
        sent = sum(info_counter(port, "anti_entropy_keys") for port in cluster.ports)
        return sets, agreed_s, sent
    finally:
        cluster.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--outage", type=float, default=8, help="seconds of writes while node 5 is down")
    parser.add_argument("--seconds", type=float, default=4, help="measured seconds of SETs after the restart")
    parser.add_argument("--converge", type=float, default=60, help="seconds to wait for the digests to agree")
    parser.add_argument("--no-write", action="store_true", help="print only, leave docs/ alone")
    o = parser.parse_args()
    if not os.access(REPLIKV, os.X_OK):
        sys.exit(f"{REPLIKV} is missing: run 'make build'")
    samples = {}
    for rnd in range(o.rounds):
        order = CONFIGS if rnd % 2 == 0 else list(reversed(CONFIGS))
        for name, settings in order:
            samples.setdefault(name, []).append(one_run(settings, o.outage, o.seconds, o.converge))
            log(f"round {rnd + 1}/{o.rounds}: {name} done")
    out = [f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores (servers and load share them), median of "
           f"{o.rounds} alternating rounds; `replikv bench` warms up 1 s, then measures {o.seconds:g} s of SETs, from "
           "node 5's restart.\n",
           f"Command: `/usr/bin/python3 bench/anti_entropy_repair.py --rounds {o.rounds}` (part of `make bench`)\n",
           f"\n**Leaderless repair by anti-entropy** (5 nodes, N = 3, W = R = 2, fsync always, hints off; node 5 "
           f"down for {o.outage:g} s of SETs by 16 connections at node 1 on random keys of 100,000, then restarted; "
           "the load at node 1)\n",
           "| configuration | SETs/s, p50 / p99 ms while repairing | copies sent | digests agreed after |",
           "|---|---|---:|---|"]
    for name, _ in CONFIGS:
        runs = samples[name]
        cell = (f"{statistics.median(r[0][0] for r in runs):,.0f}, "
                f"{statistics.median(r[0][1] for r in runs):.3f} / {statistics.median(r[0][2] for r in runs):.3f}")
        agreed = [r[1] for r in runs]
        agreed_text = (f"{statistics.median(agreed):.1f} s" if all(a is not None for a in agreed)
                       else f"not within {o.converge:g} s in {sum(a is None for a in agreed)} of {len(runs)}")
        sent = statistics.median(r[2] for r in runs)
        out.append(f"| {name} | {cell} | {sent:,.0f} | {agreed_text} |")
    text = "\n".join(out) + "\n"
    print(text)
    if not o.no_write:
        write_section(DOC, "leaderless-repair", text)
        log(f"written to {os.path.relpath(DOC, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))}")


if __name__ == "__main__":
    main()
