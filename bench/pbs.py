#!/usr/bin/python3
"""Leaderless staleness against PBS (Bailis et al., VLDB 2012): `replikv pbs` over a grid of
(N, W, R), measured miss rates against the closed form C(N-W,R)/C(N,R); then, at N = 3 and
W = R = 1, the miss rate by the time since the acknowledgement (t-visibility) and the versions
behind (k-staleness), with writes delivered to exactly W replicas (PBS's assumptions) and to all
(Dynamo's way). Every run is deterministic per seed. Results go to docs/leaderless.md between
markers.
Usage: bench/pbs.py [--reads N] [--seed S]
"""
import argparse
import json
import os
import subprocess
import tempfile

from doc_section import write_section

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.environ.get("REPLIKV_BIN", os.path.join(ROOT, "build", "release", "replikv"))
DOC = os.path.join(ROOT, "docs", "leaderless.md")


def pbs(args):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([BINARY, "pbs", *args, "--json", out.name], check=False,
                       stdout=subprocess.DEVNULL)
        with open(out.name) as f:
            return json.load(f)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reads", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    common = ["--reads", str(options.reads), "--seed", str(options.seed)]
    lines = ["Measured by `bench/pbs.py` (`replikv pbs --n N --w W --r R --nodes N+2 --reads "
             f"{options.reads} --seed {options.seed}`; each write delivered to exactly W "
             "replicas drawn uniformly, each read asking R drawn uniformly, repair, hints and "
             "anti-entropy off, no faults, the writes' coordinator no replica of the key):", "",
             "| N | W | R | reads | missed (measured) | C(N−W,R)/C(N,R) | 99% interval | within |",
             "|---:|---:|---:|---:|---:|---:|---|---|"]
    for n in (3, 5):
        for w in range(1, n + 1):
            for r in range(1, n + 1):
                if n == 5 and (w > 3 or r > 3):
                    continue
                d = pbs(["--n", str(n), "--w", str(w), "--r", str(r), "--nodes", str(n + 2),
                         *common])
                low, high = d["interval_99"]
                lines.append(f"| {n} | {w} | {r} | {d['reads']:,} | {d['miss_rate']:.4f} | "
                             f"{d['predicted']:.4f} | [{low:.4f}, {high:.4f}] | "
                             f"{'yes' if low <= d['miss_rate'] <= high else '**no**'} |")
    exact = pbs(["--n", "3", "--w", "1", "--r", "1", *common])
    to_all = pbs(["--n", "3", "--w", "1", "--r", "1", "--write-to-all", *common])
    lines += ["", "t-visibility at N = 3, W = R = 1 (`replikv pbs` and `replikv pbs "
              "--write-to-all`): the share of reads started t ms after the acknowledgement that "
              "missed the write.", "",
              "| t ms | missed, exactly W | missed, every replica | closed form |",
              "|---:|---:|---:|---:|"]
    for a, b in zip(exact["t_visibility"], to_all["t_visibility"]):
        lines.append(f"| {a['delay_ms']:g} | {a['miss_rate']:.4f} ({a['misses']:,} of "
                     f"{a['reads']:,}) | {b['miss_rate']:.4f} ({b['misses']:,} of {b['reads']:,}) "
                     f"| {exact['predicted']:.4f} |")
    lines += ["", "k-staleness at N = 3, W = R = 1, exactly W: the share of reads k or more "
              "versions behind.", "", "| k | measured | predicted (closed form^k) |",
              "|---:|---:|---:|"]
    for row in exact["k_staleness"][:5]:
        lines.append(f"| {row['k']} | {row['measured']:.4f} | {row['predicted']:.4f} |")
    write_section(DOC, "pbs", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
