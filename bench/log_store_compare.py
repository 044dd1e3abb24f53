"""The replication log in segment files against the log in RocksDB (`log_store`), side by side:
the same build, the same 3-node `leader` cluster, alternating A B then B A round after round;
medians to docs/benchmarks.md.

  1. `async`, fsync "never": redis-benchmark SET, -c 50, -P 1 and -P 16, 100-byte values, against
     the leader — SETs/s, and the CPU time each SET cost the three processes (user + system, from
     /proc/PID/stat) and the bytes they wrote to disk per byte of client data (/proc/PID/io
     write_bytes over the load and the 3 s after it, key and value bytes counted as client data).
  2. `majority`, fsync "always": `replikv bench` SETs, 16 connections, 5 s.

Usage: /usr/bin/python3 bench/log_store_compare.py [--rounds N] [--no-write]
"""
import argparse
import os
import statistics
import time

from cpu_per_write import cpu_seconds, replikv_pids
from doc_section import write_section
from replication_compare import DOC, ReplikvCluster, bench_client, log, redis_benchmark

STORES = ("segments", "rocksdb")
VALUE_BYTES = 100
KEY_BYTES = len("key:000000000000")  # redis-benchmark -r: key:<12 digits>


def written_bytes(pid):
    for line in open(f"/proc/{pid}/io"):
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    return 0


def run_async(store, pipeline):
    cluster = ReplikvCluster("async", "never", settings=[f"log_store={store}"])
    try:
        pids = replikv_pids(cluster)
        requests = 300_000 if pipeline == 1 else 1_600_000
        cpu_before = sum(cpu_seconds(pid) for pid in pids)
        io_before = sum(written_bytes(pid) for pid in pids)
        rate = redis_benchmark(cluster.leader, pipeline, requests, tests="set").get("SET", (0.0, 0.0, 0.0))
        cpu_us = (sum(cpu_seconds(pid) for pid in pids) - cpu_before) * 1e6 / requests
        time.sleep(3)  # what the load left to write (checkpoints, flushes)
        io_per_byte = (sum(written_bytes(pid) for pid in pids) - io_before) / (requests * (KEY_BYTES + VALUE_BYTES))
        return rate, cpu_us, io_per_byte
    finally:
        cluster.stop()


def run_majority(store):
    cluster = ReplikvCluster("majority", "always", settings=[f"log_store={store}"])
    try:
        return bench_client(cluster.leader, 16, 5)
    finally:
        cluster.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    results = {}
    for round_ in range(args.rounds):
        order = STORES if round_ % 2 == 0 else tuple(reversed(STORES))
        for store in order:
            for pipeline in (1, 16):
                r = run_async(store, pipeline)
                results.setdefault(("async", store, pipeline), []).append(r)
                log(f"round {round_ + 1} {store} async -P {pipeline}: {r[0][0]:,.0f} SET/s, "
                    f"{r[1]:.1f} µs CPU/SET, {r[2]:.2f} bytes written per client byte")
            r = run_majority(store)
            results.setdefault(("majority", store), []).append(r)
            log(f"round {round_ + 1} {store} majority: {r[0]:,.0f} SET/s, p50 {r[1]:.3f} p99 {r[2]:.3f} ms")

    def med(values):
        return statistics.median(values)

    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores (servers and load share them), "
        f"median of {args.rounds} alternating rounds, one build.",
        "",
        "Command: `/usr/bin/python3 bench/log_store_compare.py --rounds " + str(args.rounds) + "`",
        "",
        "**`async`, fsync never** (redis-benchmark SET -c 50, 100-byte values, at the leader; CPU and "
        "bytes written over all three processes)",
        "",
        "| log in | pipeline | SETs/s | p50 / p99 ms | CPU µs per SET | bytes written per client byte |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for pipeline in (1, 16):
        for store in STORES:
            rs = results[("async", store, pipeline)]
            lines.append(
                f"| {store} | {pipeline} | {med([r[0][0] for r in rs]):,.0f} | "
                f"{med([r[0][1] for r in rs]):.3f} / {med([r[0][2] for r in rs]):.3f} | "
                f"{med([r[1] for r in rs]):.1f} | {med([r[2] for r in rs]):.2f} |")
    lines += [
        "",
        "**`majority`, fsync always** (`replikv bench`, 16 connections, SET at the leader)",
        "",
        "| log in | SETs/s | p50 / p99 ms |",
        "|---|---:|---|",
    ]
    for store in STORES:
        rs = results[("majority", store)]
        lines.append(f"| {store} | {med([r[0] for r in rs]):,.0f} | "
                     f"{med([r[1] for r in rs]):.3f} / {med([r[2] for r in rs]):.3f} |")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section(DOC, "log-store-compare", text + "\n")


if __name__ == "__main__":
    main()
