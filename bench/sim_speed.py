#!/usr/bin/python3
"""The simulator's speed with Raft: simulated client operations per wall second.

Runs each command five times and keeps the median run (the simulator reports its own wall time
for the simulation, apart from the checkers'). The runs are deterministic, so only the wall time
varies between them. Results go to docs/benchmarks.md between markers.
Usage: bench/sim_speed.py [--runs N]
"""
import argparse
import datetime
import os
import re
import statistics
import subprocess

from doc_section import write_section

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.environ.get("REPLIKV_BIN", os.path.join(ROOT, "build", "release", "replikv"))
DOC = os.path.join(ROOT, "docs", "benchmarks.md")

COMMANDS = [
    ("`replikv sim --strategy leader --seed 9` (2,000 operations, the default)", ["--seed", "9"]),
    ("`replikv sim --strategy leader --seed 9 --ops 20000`", ["--seed", "9", "--ops", "20000"]),
    ("`… --ops 20000 --faults none`", ["--seed", "9", "--ops", "20000", "--faults", "none"]),
    ("`… --ops 20000 --reorder-all` (every message reordered)", ["--seed", "9", "--ops", "20000", "--reorder-all"]),
    ("`… --ops 100000`", ["--seed", "9", "--ops", "100000"]),
    ("`… --nodes 5 --ops 20000`", ["--seed", "9", "--ops", "20000", "--nodes", "5"]),
]

OPERATIONS = re.compile(r"operations\s+(\d+) invoked and (\d+) final reads")
TIME = re.compile(r"time\s+([\d.]+) s virtual; ([\d.]+) s wall simulating \((\d+) simulated ops/s\)")


def run(arguments):
    output = subprocess.run([BINARY, "sim", "--strategy", "leader", *arguments], capture_output=True,
                            text=True, timeout=600).stdout
    operations, time = OPERATIONS.search(output), TIME.search(output)
    if not operations or not time or not output.rstrip().endswith("PASS"):
        raise SystemExit(f"replikv sim {' '.join(arguments)} did not pass:\n{output}")
    return {"invoked": int(operations.group(1)), "final": int(operations.group(2)),
            "virtual_s": float(time.group(1)), "wall_s": float(time.group(2)), "ops_s": int(time.group(3))}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rows = []
    for label, arguments in COMMANDS:
        results = sorted((run(arguments) for _ in range(args.runs)), key=lambda r: r["ops_s"])
        median = results[len(results) // 2]
        spread = f"{results[0]['ops_s']:,}–{results[-1]['ops_s']:,}"
        rows.append(f"| {label} | {median['invoked']:,} (+{median['final']:,}) | {median['virtual_s']:.1f} s "
                    f"| {median['wall_s']:.2f} s | {median['ops_s']:,} | {spread} |")
        print(rows[-1], flush=True)
    text = ("| command | operations (+ final reads) | virtual time | simulating | simulated ops/s (median) "
            "| range |\n|---|---:|---:|---:|---:|---:|\n" + "\n".join(rows) + "\n\n"
            f"Command: `bench/sim_speed.py --runs {args.runs}` ({datetime.date.today()}, median of "
            f"{args.runs} runs each).\n")
    write_section(DOC, "sim-raft", text)
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
