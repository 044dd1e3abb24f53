"""replikv's checkpoints against writing the applied state at every batch, side by side, alternating
A B A B so a drifting machine favours neither; medians of the rounds to docs/benchmarks.md.

The same binary, two settings (docs/storage.md): `checkpoint_entries = 1` — a checkpoint in every
batch, as every node wrote its applied state before checkpoints existed — against the defaults
(a checkpoint every 65536 entries, 16 MiB or second). Three nodes:
  - `async`, fsync "never": redis-benchmark SET -P 1 and -P 16, GET -P 16 (-c 50, 100-byte
    values, 100,000 keys) against the leader;
  - `majority`, fsync "always": `replikv bench` SET from 16 connections — p99 shows what a
    checkpoint written on the loop costs the writes that wait behind it.

With --baseline BINARY it compares builds instead: another replikv binary (an earlier commit's,
built elsewhere) against this build, both with the defaults — before and after a change. That
mode only prints (the numbers go to docs/ by hand, with the two commits).

Usage: /usr/bin/python3 bench/checkpoint_compare.py [--rounds N] [--seconds S] [--no-write]
       /usr/bin/python3 bench/checkpoint_compare.py --baseline PATH [--rounds N]
"""
import argparse
import statistics
import sys

from doc_section import write_section
from replication_compare import DOC, ReplikvCluster, bench_client, log, redis_benchmark

SETTINGS = {
    "every batch": ("checkpoint_entries=1",),
    "checkpoints": (),
}


def run_async(settings, requests, binary=None):
    cluster = ReplikvCluster("async", "never", settings=settings, binary=binary)
    try:
        p1 = redis_benchmark(cluster.leader, 1, requests, "set")
        p16 = redis_benchmark(cluster.leader, 16, requests * 4, "set,get")
        return {"SET -P 1": p1.get("SET"), "SET -P 16": p16.get("SET"), "GET -P 16": p16.get("GET")}
    finally:
        cluster.stop()


def run_majority(settings, seconds, binary=None):
    cluster = ReplikvCluster("majority", "always", settings=settings, binary=binary)
    try:
        return {"majority SET, 16 connections": bench_client(cluster.leader, 16, seconds)}
    finally:
        cluster.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5, help="measured seconds per run of replikv bench")
    parser.add_argument("--requests", type=int, default=100000, help="redis-benchmark requests at -P 1 (x4 at -P 16)")
    parser.add_argument("--no-write", action="store_true", help="print only, leave docs/ alone")
    parser.add_argument("--baseline", help="another replikv binary: compare it (defaults) with this build")
    args = parser.parse_args()

    # name -> (settings, binary); the first is A, the second B.
    variants = {name: (settings, None) for name, settings in SETTINGS.items()}
    if args.baseline:
        variants = {"baseline": ((), args.baseline), "this build": ((), None)}
        args.no_write = True
    names = list(variants)
    samples = {name: {} for name in names}
    for round_ in range(args.rounds):
        # A B, then B A: a drifting machine favours neither.
        for name in names if round_ % 2 == 0 else reversed(names):
            settings, binary = variants[name]
            log(f"round {round_ + 1}/{args.rounds}: {name}")
            results = run_async(settings, args.requests, binary)
            results.update(run_majority(settings, args.seconds, binary))
            for row, value in results.items():
                if value:
                    samples[name].setdefault(row, []).append(value)
                    log(f"  {row}: {value[0]:,.0f}/s p50 {value[1]:.3f} p99 {value[2]:.3f} ms")

    def median(name, row, i):
        values = [v[i] for v in samples[name].get(row, [])]
        return statistics.median(values) if values else float("nan")

    first, second = names
    rows = list(samples[second].keys())
    headers = ("every batch (`checkpoint_entries = 1`)", "checkpoints (defaults)") if not args.baseline else names
    lines = [
        "Command: `/usr/bin/python3 bench/checkpoint_compare.py"
        + (f" --rounds {args.rounds}" if args.rounds != 3 else "") + "` — medians of "
        f"{args.rounds} alternating rounds, 3 nodes on this machine.\n",
        f"| load | {headers[0]} | {headers[1]} | ratio |",
        "|---|---:|---:|---:|",
    ]
    for row in rows:
        a, b = median(first, row, 0), median(second, row, 0)
        lines.append(f"| {row} | {a:,.0f}/s, p99 {median(first, row, 2):.2f} ms | "
                     f"{b:,.0f}/s, p99 {median(second, row, 2):.2f} ms | {b / a:.2f}x |")
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        write_section(DOC, "checkpoints", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
