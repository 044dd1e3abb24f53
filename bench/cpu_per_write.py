"""CPU time per SET, per process: replikv `async` (3 nodes, fsync never) against Redis 7 with two
replicas (appendfsync everysec), under the same redis-benchmark load — where each system spends
the machine's two cores. Alternates the systems A B, B A round after round; medians.

Throughput on a machine whose cores the servers and the load share is bound by the CPU each write
costs across all three processes, so this is the number the profile work tries to lower; it
reads each process's user + system time from /proc/PID/stat before and after the load.

With --baseline BINARY, another replikv build (an earlier commit's) takes Redis's place: before
and after a change, same load, alternating; that mode only prints.

Usage: /usr/bin/python3 bench/cpu_per_write.py [--rounds N] [--no-write]
       /usr/bin/python3 bench/cpu_per_write.py --baseline PATH [--rounds N]
"""
import argparse
import os
import statistics
import sys
import time

from doc_section import write_section
from replication_compare import DOC, RedisReplicas, ReplikvCluster, log, redis_benchmark

TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S  # utime + stime


def replikv_pids(cluster):
    pids = []
    for k in range(1, cluster.nodes + 1):
        with open(os.path.join(cluster.dir, f"n{k}", "replikv.pid")) as f:
            pids.append(int(f.read().strip()))
    return pids


def measure(port, pids, leader_pid, pipeline):
    """Runs redis-benchmark SET against `port`; returns (ops/s, leader µs/SET, [others µs/SET])."""
    requests = 300_000 if pipeline == 1 else 1_600_000
    before = {pid: cpu_seconds(pid) for pid in pids}
    rate = redis_benchmark(port, pipeline, requests, tests="set").get("SET", (0.0,))[0]
    used = {pid: (cpu_seconds(pid) - before[pid]) * 1e6 / requests for pid in pids}
    others = sorted(v for pid, v in used.items() if pid != leader_pid)
    return rate, used[leader_pid], others


def run_replikv(pipeline, binary=None):
    cluster = ReplikvCluster("async", "never", binary=binary)
    try:
        pids = replikv_pids(cluster)
        leader_pid = pids[cluster.leader - cluster.port]
        return measure(cluster.leader, pids, leader_pid, pipeline)
    finally:
        cluster.stop()


def run_redis(pipeline):
    redis = RedisReplicas("everysec")
    try:
        pids = [p.pid for p in redis.processes]
        return measure(redis.leader, pids, pids[0], pipeline)
    finally:
        redis.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--baseline", help="another replikv binary, measured in Redis's place")
    args = parser.parse_args()
    peer = ("Redis", run_redis)
    if args.baseline:
        peer = ("baseline", lambda pipeline: run_replikv(pipeline, args.baseline))
        args.no_write = True
    results = {}
    for round_ in range(args.rounds):
        order = [peer, ("replikv", run_replikv)]
        if round_ % 2:
            order.reverse()
        for pipeline in (1, 16):
            for name, run in order:
                rate, leader, others = run(pipeline)
                log(f"round {round_ + 1} -P {pipeline} {name}: {rate:,.0f} SET/s, leader {leader:.1f} us, "
                    f"others {', '.join(f'{v:.1f}' for v in others)} us per SET")
                results.setdefault((name, pipeline), []).append((rate, leader, others))

    def med(values):
        return statistics.median(values)

    lines = ["| pipeline | system | SET/s | leader / primary µs per SET | each follower / replica µs | "
             "all three µs |", "|---:|---|---:|---:|---|---:|"]
    for pipeline in (1, 16):
        for name in (peer[0], "replikv"):
            runs = results[(name, pipeline)]
            rate = med([r[0] for r in runs])
            leader = med([r[1] for r in runs])
            others = [med([r[2][k] for r in runs]) for k in range(2)]
            lines.append(f"| {pipeline} | {name} | {rate:,.0f} | {leader:.1f} | "
                         f"{others[0]:.1f}, {others[1]:.1f} | {leader + sum(others):.1f} |")
    text = (f"Measured {time.strftime('%Y-%m-%d')} on 2 cores (servers and load share them), median of "
            f"{args.rounds} alternating rounds; redis-benchmark -t set -c 50 -d 100 -r 100000 "
            f"against the leader / primary; replikv `async` fsync never, Redis appendfsync everysec.\n\n"
            f"Command: `/usr/bin/python3 bench/cpu_per_write.py --rounds {args.rounds}`\n\n"
            + "\n".join(lines) + "\n")
    print(text)
    if not args.no_write:
        write_section(DOC, "cpu-per-write", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
