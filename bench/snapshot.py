#!/usr/bin/python3
"""Snapshot transfer and install on real processes: a 3-node `leader` cluster on loopback.

One follower is stopped; KEYS keys of VALUE_BYTES bytes are written (redis-cli --pipe), so the
leader compacts its log far past the stopped follower; then the follower's data directory is
deleted (a replaced disk: it must take everything by snapshot) and it is started again. Measured:
  - catch-up: from the restart until the follower has installed the snapshot (INFO, every 20 ms);
  - the nodes' own figures: the leader's time to send the snapshot whole, the follower's time to
    receive it (first chunk to last) and to move it into place (replikv_snapshot_last_*_ms);
  - peak memory (VmHWM) of the sender and of the receiver during the transfer: the sender's peak
    is reset (/proc/PID/clear_refs) after loading, the receiver is a fresh process;
  - both nodes' DEBUG DIGEST, which must be equal.
Snapshot settings are the defaults (1 MiB chunks, 4 in flight, 4 MiB moving steps); fsync always.

Usage: bench/snapshot.py [--keys N] [--value-bytes N]   (writes docs/benchmarks.md, section
"snapshot")
"""
import argparse
import os
import shutil
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


def cli(directory, *args):
    return subprocess.run([BINARY, "cluster", *args, "--dir", directory], check=True, capture_output=True,
                          text=True, timeout=600)


def info(port):
    return redis.Redis(host=HOST, port=port, socket_timeout=5).info("replication")


def peak_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def pid_of(directory, node):
    with open(os.path.join(directory, f"n{node}", "replikv.pid")) as f:
        return int(f.read())


def read_retrying(directory, port, *command, timeout_s=60):
    """A read at a node, asked again while it answers NOTLEADER or TRYAGAIN (a leadership change
    or an install finishing under this load); each refusal is printed with the nodes' Raft log."""
    started = time.monotonic()
    while True:
        try:
            return redis.Redis(host=HOST, port=port, socket_timeout=60).execute_command(*command)
        except redis.exceptions.ResponseError as error:
            if not str(error).startswith(("NOTLEADER", "TRYAGAIN")) or time.monotonic() - started > timeout_s:
                raise
            print(f"note: {' '.join(command)} at port {port}: {error}; asking again", flush=True)
            for node in sorted(os.listdir(directory)):
                log_path = os.path.join(directory, node, "replikv.log")
                if os.path.exists(log_path):
                    with open(log_path) as f:
                        print("".join(f"  {node}: {line}" for line in f if " leader: " in line), end="")
            time.sleep(0.2)


def load(port, keys, value_bytes):
    """KEYS SETs of key:<n> to VALUE_BYTES bytes, through redis-cli --pipe."""
    value = b"v" * value_bytes
    chunks = []
    for n in range(keys):
        key = b"key:%08d" % n
        chunks.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(value), value))
    data = b"".join(chunks)
    started = time.monotonic()
    result = subprocess.run(["redis-cli", "-h", HOST, "-p", str(port), "--pipe"], input=data, capture_output=True,
                            timeout=1800)
    if result.returncode != 0 or b"errors: 0" not in result.stdout:
        raise SystemExit(f"loading failed: {result.stdout!r} {result.stderr!r}")
    return time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--value-bytes", type=int, default=100)
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="replikv-snapshot-bench-")
    base = free_cluster_base()
    try:
        cli(directory, "start", "--nodes", "3", "--port", str(base), "--strategy", "leader", "--ack", "majority",
            "--failover", "auto")
        leader = next(n for n in (1, 2, 3) if info(base + n - 1).get("replikv_raft_role") == "leader")
        away = leader % 3 + 1
        cli(directory, "stop", "--node", f"n{away}")
        load_s = load(base + leader - 1, args.keys, args.value_bytes)
        leader_info = info(base + leader - 1)
        print(f"loaded {args.keys} keys in {load_s:.1f} s; leader log starts at {leader_info['replikv_log_first_index']}"
              f" (commit {leader_info['replikv_commit_index']})", flush=True)
        shutil.rmtree(os.path.join(directory, f"n{away}", "data"))
        leader_pid = pid_of(directory, leader)
        with open(f"/proc/{leader_pid}/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current resident size
        sender_before = peak_kib(leader_pid)
        started = time.monotonic()
        cli(directory, "restart", "--node", f"n{away}")
        port = base + away - 1
        while True:
            follower = info(port)
            if int(follower.get("replikv_snapshots_installed", 0)) >= 1:
                break
            if time.monotonic() - started > 1800:
                raise SystemExit("no snapshot installed within 30 minutes")
            time.sleep(0.02)
        catch_up_s = time.monotonic() - started
        sender_peak = peak_kib(leader_pid)
        receiver_peak = peak_kib(pid_of(directory, away))
        leader_info = info(base + leader - 1)
        digests = {read_retrying(directory, base + n - 1, "DEBUG", "DIGEST") for n in (leader, away)}
        keys = int(read_retrying(directory, port, "DBSIZE"))
    finally:
        subprocess.run([BINARY, "cluster", "stop", "--dir", directory], capture_output=True, timeout=120)
        shutil.rmtree(directory, ignore_errors=True)
    data_mb = args.keys * (args.value_bytes + 12) / 1e6
    rows = [
        ("keys × value bytes", f"{args.keys:,} × {args.value_bytes}"),
        ("catch-up (restart → snapshot installed)", f"{catch_up_s:.1f} s"),
        ("leader: snapshot sent whole", f"{int(leader_info['replikv_snapshot_last_send_ms']) / 1000:.1f} s"),
        ("follower: received (first chunk → last)", f"{int(follower['replikv_snapshot_last_receive_ms']) / 1000:.1f} s"),
        ("follower: moved into place", f"{int(follower['replikv_snapshot_last_move_ms']) / 1000:.1f} s"),
        ("chunks sent (1 MiB each)", leader_info["replikv_snapshot_chunks_sent"]),
        ("throughput (key and value bytes / catch-up)", f"{data_mb / catch_up_s:.0f} MB/s"),
        ("sender peak RSS during the transfer (before it)", f"{sender_peak / 1024:.0f} MiB ({sender_before / 1024:.0f} MiB)"),
        ("receiver peak RSS (a fresh process)", f"{receiver_peak / 1024:.0f} MiB"),
        ("keys on the follower; digests equal", f"{keys:,}; {'yes' if len(digests) == 1 else 'NO'}"),
    ]
    table = "| | |\n|---|---|\n" + "".join(f"| {name} | {value} |\n" for name, value in rows)
    text = (f"Measured with `bench/snapshot.py --keys {args.keys} --value-bytes {args.value_bytes}` "
            f"(loading took {load_s:.0f} s through `redis-cli --pipe`).\n\n{table}")
    print(text)
    write_section(DOC, "snapshot", text)
    if len(digests) != 1:
        raise SystemExit("the follower's digest differs from the leader's")


if __name__ == "__main__":
    main()
