"""Replicated replikv against Redis with replicas and against etcd, side by side, alternating
A B A B so a drifting machine favours neither; medians of the rounds to docs/benchmarks.md.

  1. replikv `async` (3 nodes) vs Redis 7 primary + 2 replicas — redis-benchmark SET and GET,
     -c 50, -P 1 and -P 16, 100-byte values, against the leader / the primary. Two durability
     pairs: replikv fsync "never" vs Redis appendfsync everysec, and fsync "always" vs always.
  2. replikv `sync` vs Redis SET + `WAIT 2 1000` per operation — the same client
     (`replikv bench --op set-wait`) against both, 1 and 16 connections. Redis's replicas
     acknowledge without fsync, so the equal-durability row is replikv `sync` with fsync "never"
     on every node; replikv with fsync "always" is its own row. A replikv `sync` SET is answered
     only once every node has it, so its WAIT answers at once and adds a round trip a replikv
     client would not make: replikv `sync` with SET alone (`--op set`) has a column too.
  3. replikv `majority` (fsync "always") vs etcd 3.4, 3 members — the same client
     (`replikv bench`: RESP SET against replikv's leader, a v3 put through etcd's JSON gateway
     against etcd's leader), 16 and 64 connections.
  4. Write latency per ack mode from one client (fsync "always"), and the floor: one loopback
     round trip plus one fsync.
  5. Multi-leader (`conflict = "lww"`, 3 nodes) with the load spread over every node — one
     redis-benchmark per node, SETs on random keys of one space (so nodes write the same keys
     concurrently and lww resolves them), -c 17 each — against `async`
     with the same spread load (followers forward to the leader) and against Redis primary +
     2 replicas with all the load at the primary (its replicas take no writes); fsync "never" /
     appendfsync everysec.
  6. Leaderless (5 nodes, N = 3, fsync "always") per choice of W and R, and the linearizable
     (ABD) mode, against `majority` (Raft, 3 nodes) and etcd (3 members, puts only) — the same
     client (`replikv bench`, 16 connections, at node 1: any leaderless node coordinates, the
     leader for the others), SETs then GETs; and W = R = 2 with anti-entropy every 100 ms against
     anti-entropy off: what the background exchanges cost the foreground.

Usage: bench/run (all benchmarks) or /usr/bin/python3 bench/replication_compare.py [--rounds N]
       [--seconds S] [--no-write]
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from doc_section import write_section

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPLIKV = os.path.join(ROOT, "build", "release", "replikv")
DOC = os.path.join(ROOT, "docs", "benchmarks.md")


def log(text):
    print(text, file=sys.stderr, flush=True)


def free_base(count):
    """A base port whose BASE.., BASE+100.., BASE+200.. are free, below the ephemeral range."""
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    for attempt in range(200):
        base = 11000 + (os.getpid() * 17 + attempt * 541) % max(1000, low - 12000)
        ok = True
        for port in [base + off + k for off in (0, 100, 200) for k in range(count)]:
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free ports")


def wait_for(check, what, timeout_s=30):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} within {timeout_s} s")


def redis_cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True,
                          timeout=30).stdout.strip()


def stop_processes(processes, directory):
    """SIGTERM every process, SIGKILL what has not exited within 30 s, then remove `directory`."""
    for p in processes:
        p.send_signal(signal.SIGTERM)
    for p in processes:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
    shutil.rmtree(directory, ignore_errors=True)


class ReplikvCluster:
    def __init__(self, ack, fsync, nodes=3, settings=(), binary=None, strategy="leader"):
        self.binary = binary or REPLIKV
        self.dir = tempfile.mkdtemp(prefix="bench-replikv-")
        self.port = free_base(nodes)
        self.nodes = nodes
        self.ports = [self.port + k for k in range(nodes)]
        mode = ["--ack", ack] if strategy == "leader" else [] if strategy == "leaderless" else ["--conflict", ack]
        subprocess.run([self.binary, "cluster", "start", "--dir", self.dir, "--nodes", str(nodes), "--port", str(self.port),
                        "--strategy", strategy, *mode, "--fsync", fsync, "--set", "log_level=warn",
                        *[arg for setting in settings for arg in ("--set", setting)]],
                       check=True, capture_output=True, timeout=120)
        self.leader = None
        if strategy == "leader":
            wait_for(self.find_leader, "no replikv leader")
        elif strategy == "leaderless":
            self.leader = self.port  # any node coordinates

    def find_leader(self):
        for k in range(self.nodes):
            if "replikv_raft_role:leader" in redis_cli(self.port + k, "info", "replication"):
                self.leader = self.port + k
                return True
        return False

    def stop(self):
        subprocess.run([self.binary, "cluster", "stop", "--dir", self.dir], capture_output=True, timeout=120)
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisReplicas:
    """A primary and two replicas (or `replicas`), the primary with AOF at the given appendfsync."""

    def __init__(self, appendfsync, replicas=2):
        self.dir = tempfile.mkdtemp(prefix="bench-redis-")
        base = free_base(replicas + 1)
        self.ports = [base + k for k in range(replicas + 1)]
        self.leader = base
        self.processes = []
        for k, port in enumerate(self.ports):
            data = os.path.join(self.dir, f"r{k}")
            os.makedirs(data)
            args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", data, "--save", "",
                    "--appendonly", "yes", "--appendfsync", appendfsync, "--daemonize", "no", "--logfile", ""]
            if k > 0:
                args += ["--replicaof", "127.0.0.1", str(base)]
            self.processes.append(subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for port in self.ports:
            wait_for(lambda: redis_cli(port, "ping") == "PONG", "redis did not start")
        # Connected is not enough: a replica acknowledges (WAIT) only once its initial sync is done.
        wait_for(lambda: redis_cli(base, "info", "replication").count("state=online") == replicas,
                 "replicas did not come online")

    def stop(self):
        stop_processes(self.processes, self.dir)


class EtcdCluster:
    """Three etcd members on loopback (Debian's etcd-server, 3.4)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="bench-etcd-")
        base = free_base(3)
        clients = [base + k for k in range(3)]
        peers = [base + 200 + k for k in range(3)]
        initial = ",".join(f"e{k}=http://127.0.0.1:{peers[k]}" for k in range(3))
        self.processes = []
        binary = shutil.which("etcd") or "/usr/bin/etcd"
        for k in range(3):
            args = [binary, "--name", f"e{k}", "--data-dir", os.path.join(self.dir, f"e{k}"),
                    "--listen-client-urls", f"http://127.0.0.1:{clients[k]}",
                    "--advertise-client-urls", f"http://127.0.0.1:{clients[k]}",
                    "--listen-peer-urls", f"http://127.0.0.1:{peers[k]}",
                    "--initial-advertise-peer-urls", f"http://127.0.0.1:{peers[k]}",
                    "--initial-cluster", initial, "--initial-cluster-state", "new",
                    "--initial-cluster-token", "bench", "--log-level", "error"]
            self.processes.append(subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self.clients = clients
        self.leader = None
        wait_for(self.find_leader, "no etcd leader")

    def find_leader(self):
        for port in self.clients:
            try:
                out = subprocess.run(["curl", "-s", "-m", "2", "-X", "POST", f"http://127.0.0.1:{port}/v3/maintenance/status",
                                      "-d", "{}"], capture_output=True, text=True, timeout=10).stdout
                status = json.loads(out)
                if status.get("leader") == status.get("header", {}).get("member_id"):
                    self.leader = port
                    return True
            except (ValueError, subprocess.TimeoutExpired):
                pass
        return False

    def stop(self):
        stop_processes(self.processes, self.dir)


def bench_client(port, clients, seconds, op="set", protocol="resp"):
    out = subprocess.run([REPLIKV, "bench", "--port", str(port), "--clients", str(clients), "--op", op,
                          "--protocol", protocol, "--duration-ms", str(int(seconds * 1000)), "--warmup-ms", "1000",
                          "--json"], capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    r = json.loads(out.stdout)
    if r["errors"] or r["short_waits"]:
        log(f"  note: {r['errors']} errors, {r['short_waits']} short WAITs")
    return (r["ops_per_s"], r["p50_ms"], r["p99_ms"])


def redis_benchmark(port, pipeline, requests, tests="set,get"):
    """{test: (ops/s, p50 ms, p99 ms)} for each of `tests` (redis-benchmark -c 50, 100-byte values)."""
    expected = tests.upper().split(",")
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-t", tests, "-c", "50", "-P", str(pipeline),
                          "-n", str(requests), "-d", "100", "-r", "100000", "--csv"],
                         capture_output=True, text=True, timeout=600).stdout
    results = {}
    for line in out.splitlines()[1:]:
        fields = [f.strip('"') for f in line.split(",")]
        if len(fields) >= 7 and fields[0] in expected:
            results[fields[0]] = (float(fields[1]), float(fields[4]), float(fields[6]))
    if len(results) < len(expected):
        log(f"  redis-benchmark -P {pipeline} on port {port} gave {sorted(results)} only:\n{out[-500:]}")
    return results


def spread_benchmark(ports, pipeline, requests, clients_total=51):
    """SETs from one redis-benchmark per port at once (-c clients_total / len(ports) each, random
    keys of one space of 100,000, so nodes write the same keys concurrently): (total ops/s, the
    slowest process's p50 ms, its p99 ms)."""
    per = max(1, clients_total // len(ports))
    processes = []
    for port in ports:
        processes.append(subprocess.Popen(
            ["redis-benchmark", "-p", str(port), "-t", "set", "-c", str(per), "-P", str(pipeline),
             "-n", str(requests // len(ports)), "-d", "100", "-r", "100000", "--csv"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True))
    total, p50, p99 = 0.0, 0.0, 0.0
    for process in processes:
        out, _ = process.communicate(timeout=600)
        for line in out.splitlines()[1:]:
            fields = [f.strip('"') for f in line.split(",")]
            if len(fields) >= 7 and fields[0] == "SET":
                total += float(fields[1])
                p50, p99 = max(p50, float(fields[4])), max(p99, float(fields[6]))
    return (total, p50, p99)


def fsync_floor_ms(samples=2000):
    """The median of `samples` fsyncs of a 4 KiB append in this machine's temporary directory."""
    with tempfile.NamedTemporaryFile(dir=tempfile.gettempdir()) as f:
        times = []
        for _ in range(samples):
            f.write(b"x" * 4096)
            f.flush()
            start = time.perf_counter()
            os.fsync(f.fileno())
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


# Comparison 6: (row name, leaderless settings); "majority" and "etcd" are the single leaders.
LEADERLESS = [
    ("leaderless W=1 R=1", ("n=3", "w=1", "r=1")),
    ("leaderless W=2 R=2", ("n=3", "w=2", "r=2")),
    ("leaderless W=3 R=1", ("n=3", "w=3", "r=1")),
    ("leaderless W=2 R=2, anti-entropy every 100 ms", ("n=3", "w=2", "r=2", "anti_entropy_interval_ms=100")),
    ("leaderless W=2 R=2, anti-entropy off", ("n=3", "w=2", "r=2", "anti_entropy_interval_ms=0")),
    ("leaderless linearizable (ABD)", ("n=3", "mode=linearizable")),
    ("majority", ()),
    ("etcd", ()),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5, help="measured seconds per run of replikv bench")
    parser.add_argument("--requests", type=int, default=100000, help="redis-benchmark requests at -P 1 (x4 at -P 16)")
    parser.add_argument("--only", default="1,2,3,4,5,6", help="which comparisons (1,2,3,4,5,6)")
    parser.add_argument("--no-write", action="store_true", help="print only, leave docs/ alone")
    parser.add_argument("--samples", default=os.path.join(tempfile.gettempdir(), "replikv-replication-samples.json"),
                        help="where the raw samples go after each round")
    o = parser.parse_args()
    only = set(o.only.split(","))
    if not os.access(REPLIKV, os.X_OK):
        sys.exit(f"{REPLIKV} is missing: run 'make build'")
    samples = {}

    def add(key, value):
        samples.setdefault(key, []).append(value)

    def med(key, field):
        values = [v[field] for v in samples.get(key, [])]
        return statistics.median(values) if values else float("nan")  # shown as — (no result)

    for rnd in range(o.rounds):
        flip = rnd % 2 == 1
        if "1" in only:
            for pair, (redis_mode, replikv_mode) in enumerate([("everysec", "never"), ("always", "always")]):
                order = [("redis", redis_mode), ("replikv", replikv_mode)]
                for kind, mode in (reversed(order) if flip else order):
                    system = RedisReplicas(mode) if kind == "redis" else ReplikvCluster("async", mode)
                    try:
                        for pipeline in (1, 16):
                            n = o.requests * (4 if pipeline == 16 else 1)
                            for test, value in redis_benchmark(system.leader, pipeline, n).items():
                                add(("1", pair, kind, pipeline, test), value)
                    finally:
                        system.stop()
                    log(f"round {rnd + 1}/{o.rounds}: 1. {kind} {mode} done")
        if "2" in only:
            configs = [("redis", None), ("replikv", "never"), ("replikv", "always")]
            for kind, fsync in (reversed(configs) if flip else configs):
                system = RedisReplicas("everysec") if kind == "redis" else ReplikvCluster("sync", fsync)
                try:
                    for clients in (1, 16):
                        add(("2", kind, fsync, clients), bench_client(system.leader, clients, o.seconds, op="set-wait"))
                        if kind == "replikv" and fsync == "never":
                            add(("2", kind, fsync, clients, "set"),
                                bench_client(system.leader, clients, o.seconds, op="set"))
                finally:
                    system.stop()
                log(f"round {rnd + 1}/{o.rounds}: 2. {kind} {fsync or ''} done")
        if "3" in only:
            configs = ["etcd", "replikv"]
            for kind in (reversed(configs) if flip else configs):
                system = EtcdCluster() if kind == "etcd" else ReplikvCluster("majority", "always")
                try:
                    for clients in (16, 64):
                        add(("3", kind, clients), bench_client(system.leader, clients, o.seconds,
                                                               protocol="etcd" if kind == "etcd" else "resp"))
                finally:
                    system.stop()
                log(f"round {rnd + 1}/{o.rounds}: 3. {kind} done")
        if "4" in only:
            modes = ["async", "1", "majority", "sync"]
            for ack in (reversed(modes) if flip else modes):
                nodes = 5 if ack == "1" else 3
                system = ReplikvCluster(ack, "always", nodes)
                try:
                    add(("4", ack), bench_client(system.leader, 1, o.seconds))
                finally:
                    system.stop()
            add(("4", "fsync"), (0, fsync_floor_ms(), 0))
            # One loopback round trip, through the same client: a GET against a lone Redis (a
            # server that does nothing else), one client.
            redis = RedisReplicas("everysec", replicas=0)
            try:
                add(("4", "rtt"), bench_client(redis.leader, 1, o.seconds, op="get"))
            finally:
                redis.stop()
            log(f"round {rnd + 1}/{o.rounds}: 4. done")
        if "5" in only:
            configs = ["redis", "async", "multi"]
            for kind in (reversed(configs) if flip else configs):
                if kind == "redis":
                    system = RedisReplicas("everysec")
                    ports = [system.leader]
                elif kind == "async":
                    system = ReplikvCluster("async", "never")
                    ports = system.ports
                else:
                    system = ReplikvCluster("lww", "never", strategy="multi-leader")
                    ports = system.ports
                try:
                    for pipeline in (1, 16):
                        n = o.requests * (4 if pipeline == 16 else 1)
                        add(("5", kind, pipeline), spread_benchmark(ports, pipeline, n))
                finally:
                    system.stop()
                log(f"round {rnd + 1}/{o.rounds}: 5. {kind} done")
        if "6" in only:
            for name, settings in (reversed(LEADERLESS) if flip else LEADERLESS):
                if name == "etcd":
                    system = EtcdCluster()
                elif name == "majority":
                    system = ReplikvCluster("majority", "always")
                else:
                    system = ReplikvCluster("", "always", 5, settings=settings, strategy="leaderless")
                try:
                    add(("6", name, "set"), bench_client(system.leader, 16, o.seconds,
                                                         protocol="etcd" if name == "etcd" else "resp"))
                    if name != "etcd":
                        add(("6", name, "get"), bench_client(system.leader, 16, o.seconds, op="get"))
                finally:
                    system.stop()
                log(f"round {rnd + 1}/{o.rounds}: 6. {name} done")
        with open(o.samples, "w") as f:  # the raw samples so far, should a later step fail
            json.dump([[list(map(str, key)), values] for key, values in samples.items()], f)

    out = [f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores (servers and load share them), "
           f"median of {o.rounds} alternating rounds; `replikv bench` runs {o.seconds:g} s after a 1 s warm-up.\n",
           f"Command: `make bench` (or `/usr/bin/python3 bench/replication_compare.py --rounds {o.rounds}`)\n"]
    if "1" in only:
        out += ["\n**1. `async`, 3 nodes, vs Redis primary + 2 replicas** (redis-benchmark -c 50, 100-byte values, "
                "against the leader / primary)\n",
                "| durability | test | pipeline | Redis ops/s | replikv ops/s | ratio | Redis p50 / p99 ms | replikv p50 / p99 ms |",
                "|---|---|---:|---:|---:|---:|---|---|"]
        for pair, (redis_mode, replikv_mode) in enumerate([("everysec", "never"), ("always", "always")]):
            for test in ("SET", "GET"):
                for pipeline in (1, 16):
                    r, k = ("1", pair, "redis", pipeline, test), ("1", pair, "replikv", pipeline, test)
                    out.append(f"| Redis `{redis_mode}` / replikv `{replikv_mode}` | {test} | {pipeline} | "
                               f"{med(r, 0):,.0f} | {med(k, 0):,.0f} | {med(k, 0) / med(r, 0):.2f}x | "
                               f"{med(r, 1):.3f} / {med(r, 2):.3f} | {med(k, 1):.3f} / {med(k, 2):.3f} |")
    if "2" in only:
        out += ["\n**2. `sync` vs Redis SET + `WAIT 2 1000`** (the same client, `replikv bench --op set-wait`: SET then "
                "WAIT per operation, against both; and replikv `sync` with SET alone, `--op set`, whose answer already "
                "means every node has the write)\n",
                "| clients | Redis (replicas ack without fsync) ops/s, p50 / p99 ms | replikv `sync`, fsync never, "
                "SET + WAIT | ratio | same, SET alone | ratio | replikv `sync`, fsync always, SET + WAIT | ratio |",
                "|---:|---|---|---:|---|---:|---|---:|"]
        for clients in (1, 16):
            r, n, a = ("2", "redis", None, clients), ("2", "replikv", "never", clients), ("2", "replikv", "always", clients)
            alone = ("2", "replikv", "never", clients, "set")
            cell = lambda key: f"{med(key, 0):,.0f}, {med(key, 1):.3f} / {med(key, 2):.3f}"
            out.append(f"| {clients} | {cell(r)} | {cell(n)} | {med(n, 0) / med(r, 0):.2f}x | {cell(alone)} | "
                       f"{med(alone, 0) / med(r, 0):.2f}x | {cell(a)} | {med(a, 0) / med(r, 0):.2f}x |")
    if "3" in only:
        etcd_version = subprocess.run(["etcd", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
        out += [f"\n**3. `majority` (fsync always) vs etcd, 3 members** ({etcd_version}; the same client, "
                "`replikv bench`: a RESP SET at replikv's leader, a v3 put through etcd's JSON gateway at etcd's leader, "
                "100-byte values)\n",
                "| connections | etcd puts/s, p50 / p99 ms | replikv SETs/s, p50 / p99 ms | ratio |",
                "|---:|---|---|---:|"]
        for clients in (16, 64):
            e, k = ("3", "etcd", clients), ("3", "replikv", clients)
            out.append(f"| {clients} | {med(e, 0):,.0f}, {med(e, 1):.3f} / {med(e, 2):.3f} | "
                       f"{med(k, 0):,.0f}, {med(k, 1):.3f} / {med(k, 2):.3f} | {med(k, 0) / med(e, 0):.2f}x |")
    if "4" in only:
        fsync, rtt = med(("4", "fsync"), 1), med(("4", "rtt"), 1)
        floor = fsync + rtt
        out += ["\n**4. Write latency per ack mode, one client, fsync always** (3 nodes; k = 1 on 5), "
                "against the floor: one fsync plus one loopback round trip\n",
                "| ack | ops/s | p50 ms | p99 ms | p50 / floor |", "|---|---:|---:|---:|---:|"]
        for ack in ["async", "1", "majority", "sync"]:
            key = ("4", ack)
            out.append(f"| `{ack}` | {med(key, 0):,.0f} | {med(key, 1):.3f} | {med(key, 2):.3f} | "
                       f"{med(key, 1) / floor:.2f}x |")
        out.append(f"\nThe floor here: {floor:.3f} ms — one fsync of a 4 KiB append {fsync:.3f} ms (median of "
                   f"2,000) plus one loopback round trip {rtt:.3f} ms (p50 of GETs from the same client against a "
                   f"lone Redis).")
    out5 = []
    if "5" in only:
        out5 += [f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores (servers and load share them), "
                 f"median of {o.rounds} alternating rounds.\n",
                 f"Command: `make bench` (or `/usr/bin/python3 bench/replication_compare.py --only 5 --rounds {o.rounds}`)\n",
                 "\n**5. Multi-leader with the load spread over every node** (3 nodes; SET, 100-byte values, "
                "redis-benchmark -c 17 on each node at once, random keys of one space of 100,000; replikv fsync never, Redis "
                "appendfsync everysec with all 51 clients at the primary — its replicas take no writes; `async` "
                "with the same spread load, its followers forwarding to the leader)\n",
                "| pipeline | Redis primary + 2 replicas ops/s, p50 / p99 ms | replikv `async`, spread | ratio | "
                "replikv multi-leader `lww`, spread | ratio to Redis | ratio to `async` |",
                "|---:|---|---|---:|---|---:|---:|"]
        for pipeline in (1, 16):
            r, a, m = ("5", "redis", pipeline), ("5", "async", pipeline), ("5", "multi", pipeline)
            cell = lambda key: f"{med(key, 0):,.0f}, {med(key, 1):.3f} / {med(key, 2):.3f}"
            out5.append(f"| {pipeline} | {cell(r)} | {cell(a)} | {med(a, 0) / med(r, 0):.2f}x | {cell(m)} | "
                       f"{med(m, 0) / med(r, 0):.2f}x | {med(m, 0) / med(a, 0):.2f}x |")
    out6 = []
    if "6" in only:
        out6 += [f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores (servers and load share them), "
                 f"median of {o.rounds} alternating rounds; `replikv bench` runs {o.seconds:g} s after a 1 s warm-up.\n",
                 f"Command: `make bench` (or `/usr/bin/python3 bench/replication_compare.py --only 6 --rounds {o.rounds}`)\n",
                 "\n**6. Leaderless per W and R** (5 nodes, N = 3, fsync always, 16 connections at node 1, 100-byte "
                 "values on random keys of 100,000; the writes' coordinator is a replica of 3 in 5 of the keys and "
                 "forwards the others; `majority`: Raft, 3 nodes, at the leader; etcd 3 members, puts through its "
                 "JSON gateway)\n",
                 "| configuration | SETs/s, p50 / p99 ms | GETs/s, p50 / p99 ms |", "|---|---|---|"]
        for name, _ in LEADERLESS:
            cell = lambda key: (f"{med(key, 0):,.0f}, {med(key, 1):.3f} / {med(key, 2):.3f}"
                                if key in samples else "—")
            out6.append(f"| {name} | {cell(('6', name, 'set'))} | {cell(('6', name, 'get'))} |")
    clean = lambda lines: ("\n".join(lines) + "\n").replace("| nan | nanx | ", "| — | — | ").replace(" nan / nan |", " — |")
    text = clean(out) if only & {"1", "2", "3", "4"} else ""
    print(text + (clean(out5) if out5 else "") + (clean(out6) if out6 else ""))
    if not o.no_write:
        if text:
            write_section(DOC, "replication-compare", text)
        if out5:
            write_section(DOC, "multi-leader-compare", clean(out5))
        if out6:
            write_section(DOC, "leaderless-compare", clean(out6))
        log(f"written to {os.path.relpath(DOC, ROOT)}")


if __name__ == "__main__":
    main()
