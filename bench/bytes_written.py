"""Bytes written to disk per byte of client data: replikv `async` (3 nodes, fsync "never", the log
in segment files) against Redis 7 primary + 2 replicas (AOF on every one, appendfsync everysec),
under the same redis-benchmark load, alternating A B then B A round after round; medians to
docs/benchmarks.md.

The load: SET, -c 50, -P 16, 100-byte values on 100,000 keys. What is counted is every byte the
three processes caused to be written (/proc/PID/io write_bytes — pages dirtied, so a page appended
to many times counts once; Redis's AOF rewrites run in children, whose counts join the parent's
when it reaps them) from just before the load until the work it left is done:

  - replikv: every node has checkpointed what the load wrote (no dirty record, no checkpoint in
    flight), then 3 s more for RocksDB's flushes and compactions of what the checkpoints ingested;
  - Redis: no AOF rewrite running or scheduled on any node, then 3 s more.

Client data is the key and value bytes of the SETs. The log of each system is counted in full:
it is what makes the writes durable; so are checkpoints (replikv) and AOF rewrites (Redis).

Usage: /usr/bin/python3 bench/bytes_written.py [--rounds N] [--requests N] [--no-write]
"""
import argparse
import os
import statistics
import time

from cpu_per_write import replikv_pids
from doc_section import write_section
from log_store_compare import KEY_BYTES, VALUE_BYTES, written_bytes
from replication_compare import DOC, RedisReplicas, ReplikvCluster, log, redis_benchmark, redis_cli, wait_for

SETTLE_S = 3


def info_field(port, section, field):
    for line in redis_cli(port, "info", section).splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    return None


def replikv_settled(cluster):
    return all(info_field(port, "persistence", "replikv_dirty_records") == "0" and
               info_field(port, "persistence", "replikv_checkpoint_in_flight") == "0"
               for port in cluster.ports)


def redis_settled(redis):
    return all(info_field(port, "persistence", "aof_rewrite_in_progress") == "0" and
               info_field(port, "persistence", "aof_rewrite_scheduled") == "0"
               for port in redis.ports)


def measure(system, pids, settled, requests):
    """Bytes written per client byte, and SETs/s, for one load against `system`."""
    before = sum(written_bytes(pid) for pid in pids)
    rate = redis_benchmark(system.leader, 16, requests, tests="set").get("SET", (0.0,))[0]
    wait_for(lambda: settled(system), "the load's work did not settle", timeout_s=120)
    time.sleep(SETTLE_S)
    written = sum(written_bytes(pid) for pid in pids) - before
    return written / (requests * (KEY_BYTES + VALUE_BYTES)), rate


def run(kind, requests):
    if kind == "redis":
        system = RedisReplicas("everysec")
        try:
            return measure(system, [p.pid for p in system.processes], redis_settled, requests)
        finally:
            system.stop()
    system = ReplikvCluster("async", "never")
    try:
        return measure(system, replikv_pids(system), replikv_settled, requests)
    finally:
        system.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=1_600_000)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    o = parser.parse_args()
    results = {"redis": [], "replikv": []}
    for rnd in range(o.rounds):
        order = ["redis", "replikv"] if rnd % 2 == 0 else ["replikv", "redis"]
        for kind in order:
            per_byte, rate = run(kind, o.requests)
            results[kind].append((per_byte, rate))
            log(f"round {rnd + 1}/{o.rounds} {kind}: {per_byte:.2f} bytes written per client byte, {rate:,.0f} SET/s")

    def med(kind, i):
        return statistics.median(r[i] for r in results[kind])

    text = "\n".join([
        f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, median of {o.rounds} alternating rounds; "
        f"redis-benchmark SET -c 50 -P 16 -d {VALUE_BYTES} -r 100000 -n {o.requests:,} against the leader / primary, "
        "all three processes counted until the load's work settled (checkpoints written; AOF rewrites done), "
        f"then {SETTLE_S} s more.\n",
        f"Command: `/usr/bin/python3 bench/bytes_written.py --rounds {o.rounds}`\n",
        "| system | bytes written per client byte | SET/s |",
        "|---|---:|---:|",
        f"| Redis primary + 2 replicas, AOF everysec | {med('redis', 0):.2f} | {med('redis', 1):,.0f} |",
        f"| replikv `async`, fsync never | {med('replikv', 0):.2f} | {med('replikv', 1):,.0f} |",
    ])
    print(text)
    text += "\n"
    if not o.no_write:
        write_section(DOC, "bytes-written", text)


if __name__ == "__main__":
    main()
