"""How long a node takes to start with a large log: a 3-node `async` cluster (fsync "never", log
compaction off so the log only grows) is loaded with SETs until a follower's log holds --log-gib
of segments; that follower is stopped, then started again, timed until it answers PING (its log
scanned, its state rebuilt from the last checkpoint and the entries after it) and until it has
applied everything the leader has. Median of --rounds restarts of the same node.

Usage: /usr/bin/python3 bench/recovery.py [--log-gib G] [--rounds N] [--no-write]
"""
import argparse
import os
import statistics
import subprocess
import time

from bytes_written import info_field
from doc_section import write_section
from replication_compare import DOC, REPLIKV, ReplikvCluster, log, redis_cli, wait_for

SETTINGS = ("log_compact_entries=1000000000", f"log_compact_bytes={1 << 40}")


def directory_bytes(path):
    return sum(os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(path) for name in names)


def applied(port):
    return int(info_field(port, "replication", "replikv_applied_index") or "-1")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log-gib", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    o = parser.parse_args()
    cluster = ReplikvCluster("async", "never", settings=SETTINGS)
    try:
        follower = next(k for k in range(1, 4) if cluster.port + k - 1 != cluster.leader)
        port = cluster.port + follower - 1
        log_dir = os.path.join(cluster.dir, f"n{follower}", "data", "log")
        if not os.path.isdir(log_dir):
            log_dir = next(os.path.join(root, "log") for root, dirs, _ in os.walk(os.path.join(cluster.dir, f"n{follower}"))
                           if "log" in dirs)
        sets = 0
        while directory_bytes(log_dir) < o.log_gib * (1 << 30):
            subprocess.run(["redis-benchmark", "-p", str(cluster.leader), "-t", "set", "-c", "50", "-P", "16",
                            "-n", "1000000", "-d", "100", "-r", "100000", "-q"], capture_output=True, timeout=600)
            sets += 1_000_000
            log(f"{sets:,} SETs: the follower's log holds {directory_bytes(log_dir) / (1 << 30):.2f} GiB")
        log_bytes = directory_bytes(log_dir)
        target = applied(cluster.leader)
        serving, caught_up = [], []
        for rnd in range(o.rounds):
            subprocess.run([REPLIKV, "cluster", "stop", "--dir", cluster.dir, "--node", str(follower)],
                           check=True, capture_output=True, timeout=120)
            wait_for(lambda: redis_cli(port, "ping") != "PONG", "the stopped node still answers")
            started = time.monotonic()
            restart = subprocess.Popen([REPLIKV, "cluster", "restart", "--dir", cluster.dir, "--node",
                                        str(follower), "--timeout-s", "600"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            while redis_cli(port, "ping") != "PONG":
                if restart.poll() is not None and redis_cli(port, "ping") != "PONG":
                    raise RuntimeError(f"cluster restart exited {restart.returncode} and the node does not "
                                       f"answer: {restart.stderr.read()}")
                time.sleep(0.01)
            restart.wait(timeout=600)
            serving.append(time.monotonic() - started)
            while applied(port) < target:
                time.sleep(0.01)
            caught_up.append(time.monotonic() - started)
            log(f"restart {rnd + 1}/{o.rounds}: answering after {serving[-1]:.2f} s, caught up after {caught_up[-1]:.2f} s")
        text = "\n".join([
            f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, median of {o.rounds} restarts of one "
            f"follower of a 3-node `async` cluster (fsync never, log compaction off) after {sets:,} SETs of 100-byte "
            f"values on 100,000 keys; checkpoints at their defaults.\n",
            f"Command: `/usr/bin/python3 bench/recovery.py --log-gib {o.log_gib:g} --rounds {o.rounds}`\n",
            "| log on disk | entries after the last checkpoint | answering PING after | caught up after |",
            "|---:|---:|---:|---:|",
            f"| {log_bytes / (1 << 30):.2f} GiB | {target - int(info_field(port, 'persistence', 'replikv_checkpoint_index') or '0'):,} | "
            f"{statistics.median(serving):.2f} s | {statistics.median(caught_up):.2f} s |",
        ])
        print(text)
        text += "\n"
        if not o.no_write:
            write_section(DOC, "recovery", text)
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
