"""The data families' commands against Redis 7: redis-benchmark -t lpush,lpop,sadd,hset,zadd.

Two comparisons, alternating A B, B A round by round, the median of the rounds reported:
  one node      Redis appendonly yes, appendfsync everysec   vs  replikv fsync "never"
  replicated    Redis primary + 2 replicas (AOF everysec)    vs  3-node `async` cluster, fsync
                "never", the load at the leader / primary
(the pairing of comparison 1 of docs/benchmarks.md: no fsync on either reply path).
With --strategies, the replicated comparison is run instead against a 3-node multi-leader cluster
(lww) and a 3-node leaderless one (N = 3, W = R = 2), fsync "never", the load at one node — their
collections merge element by element (LPUSH and LPOP are refused there: lists take positions).

Load: redis-benchmark -c 50 at -P 1 and -P 16, 100-byte values, -r 100000: each test writes one
collection of its own (LPUSH and LPOP one list, SADD one set of up to 100,000 members, HSET one
hash, ZADD one sorted set) — in replikv one record per element plus the collection's header.
Results go to docs/benchmarks.md between markers.

Usage: bench/families_compare.py [--rounds N] [--requests N] [--strategies] [--no-write]
"""
import argparse
import os
import statistics
import sys
import time

from doc_section import write_section
from redis_compare import Server
from replication_compare import RedisReplicas, ReplikvCluster, log, redis_benchmark

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "benchmarks.md")
TESTS = "lpush,lpop,sadd,hset,zadd"


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=100000,
                        help="per test at -P 1 (x4 at -P 16)")
    parser.add_argument("--strategies", action="store_true",
                        help="multi-leader and leaderless clusters against Redis with replicas")
    parser.add_argument("--no-write", action="store_true", help="print only, leave docs/ alone")
    options = parser.parse_args()
    setups = {
        ("one node", "redis"): lambda: Server("redis", "everysec"),
        ("one node", "replikv"): lambda: Server("replikv", "never"),
        ("replicated", "redis"): lambda: RedisReplicas("everysec"),
        ("replicated", "replikv"): lambda: ReplikvCluster("async", "never"),
        ("multi-leader", "redis"): lambda: RedisReplicas("everysec"),
        ("multi-leader", "replikv"): lambda: ReplikvCluster("lww", "never", strategy="multi-leader"),
        ("leaderless", "redis"): lambda: RedisReplicas("everysec"),
        ("leaderless", "replikv"): lambda: ReplikvCluster("", "never", strategy="leaderless"),
    }
    order_of_setups = ("multi-leader", "leaderless") if options.strategies else ("one node", "replicated")
    tests_of = {"leaderless": "sadd,hset,zadd", "multi-leader": "sadd,hset,zadd"}
    samples = {}  # (setup, kind, pipeline, test) -> [(ops, p50, p99)]
    for round_index in range(options.rounds):
        for setup in order_of_setups:
            order = ["redis", "replikv"] if round_index % 2 == 0 else ["replikv", "redis"]
            for kind in order:
                for pipeline in (1, 16):
                    server = setups[(setup, kind)]()
                    port = getattr(server, "leader", None) or server.port
                    try:
                        n = options.requests * (4 if pipeline == 16 else 1)
                        tests = tests_of.get(setup, TESTS)
                        for test, value in redis_benchmark(port, pipeline, n, tests).items():
                            samples.setdefault((setup, kind, pipeline, test), []).append(value)
                    finally:
                        server.stop()
                    log(f"round {round_index + 1}/{options.rounds}: {setup} {kind} -P {pipeline} done")

    def median(key, field):
        return statistics.median(v[field] for v in samples[key])

    lines = ["| setup | test | pipeline | Redis ops/s | replikv ops/s | ratio | Redis p50 / p99 ms | replikv p50 / p99 ms |",
             "|---|---|---|---:|---:|---:|---|---|"]
    for setup in order_of_setups:
        for test in TESTS.upper().split(","):
            for pipeline in (1, 16):
                r, k = (setup, "redis", pipeline, test), (setup, "replikv", pipeline, test)
                if r not in samples or k not in samples:
                    continue
                lines.append(
                    f"| {setup} | {test} | {pipeline} | {median(r, 0):,.0f} | {median(k, 0):,.0f} | "
                    f"{median(k, 0) / median(r, 0):.2f}x | {median(r, 1):.3f} / {median(r, 2):.3f} | "
                    f"{median(k, 1):.3f} / {median(k, 2):.3f} |")
    against = ("multi-leader: a 3-node multi-leader cluster (lww); leaderless: a 3-node leaderless "
               "cluster (N = 3, W = R = 2); each against Redis primary + 2 replicas, fsync never"
               if options.strategies else
               "one node: Redis AOF everysec vs replikv fsync never; replicated: Redis primary + 2 "
               "replicas vs a 3-node `async` cluster")
    flag = " --strategies" if options.strategies else ""
    header = (f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, median of "
              f"{options.rounds} alternating rounds, {options.requests:,} requests per test at -P 1 "
              f"and {options.requests * 4:,} at -P 16; {against}.\n\n"
              f"Command: `bench/families_compare.py{flag} --rounds {options.rounds} --requests {options.requests}`\n")
    table = header + "\n" + "\n".join(lines) + "\n"
    print(table)
    if not options.no_write:
        write_section(DOC, "families-strategies-compare" if options.strategies else "families-compare",
                      table)
        print(f"written to {os.path.relpath(DOC, ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
