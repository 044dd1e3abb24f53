"""replikv vs Redis, one node each, the same redis-benchmark load, alternating A B A B.

Configurations (equal durability side by side):
  redis  appendonly yes, appendfsync always   vs  replikv fsync "always"
  redis  appendonly yes, appendfsync everysec vs  replikv fsync "never"
(everysec may lose up to a second of acknowledged writes on power loss; replikv "never" leaves
flushing to the OS and may lose more — neither loses anything to kill -9.)

Load: redis-benchmark -c 50, -P 1 and -P 16, SET and GET, 100-byte values, 100k random keys.
Each round starts every server fresh, runs them one after the other in alternating order, and
the table reports the median of the rounds. Results go to docs/benchmarks.md between markers.

Usage: bench/run [--rounds N] [--requests N] [--no-write]
"""
import argparse
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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, kind, durability):
        self.kind, self.durability = kind, durability
        self.dir = tempfile.mkdtemp(prefix=f"bench-{kind}-")
        self.port = free_port()
        if kind == "redis":
            args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                    "--dir", self.dir, "--appendonly", "yes", "--appendfsync", durability,
                    "--save", "", "--daemonize", "no", "--logfile", ""]
        else:
            args = [REPLIKV, "server", "--port", str(self.port), "--admin-port", "0",
                    "--data-dir", os.path.join(self.dir, "data"), "--fsync", durability,
                    "--log-level", "warn"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            if subprocess.run(["redis-cli", "-p", str(self.port), "ping"],
                              capture_output=True).stdout.strip() == b"PONG":
                return
            time.sleep(0.05)
        raise RuntimeError(f"{kind} did not start")

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def benchmark(port, pipeline, requests):
    """SET then GET; returns {test: (ops/s, p50 ms, p99 ms)}."""
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-t", "set,get", "-c", "50", "-P", str(pipeline),
         "-n", str(requests), "-d", "100", "-r", "100000", "--csv"],
        capture_output=True, text=True, timeout=600).stdout
    results = {}
    for line in out.splitlines()[1:]:
        fields = [f.strip('"') for f in line.split(",")]
        results[fields[0]] = (float(fields[1]), float(fields[4]), float(fields[6]))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=200000, help="per test at -P 1 (x4 at -P 16)")
    parser.add_argument("--no-write", action="store_true", help="print only, leave docs/ alone")
    options = parser.parse_args()
    if not os.access(REPLIKV, os.X_OK):
        sys.exit(f"{REPLIKV} is missing: run 'make build'")
    pairs = [("always", "always"), ("everysec", "never")]
    samples = {}  # (pair index, kind, pipeline, test) -> [(ops, p50, p99)]
    for round_index in range(options.rounds):
        for pair_index, (redis_mode, replikv_mode) in enumerate(pairs):
            order = [("redis", redis_mode), ("replikv", replikv_mode)]
            if round_index % 2 == 1:
                order.reverse()
            for kind, mode in order:
                for pipeline in (1, 16):
                    server = Server(kind, mode)
                    try:
                        n = options.requests * (4 if pipeline == 16 else 1)
                        for test, value in benchmark(server.port, pipeline, n).items():
                            samples.setdefault((pair_index, kind, pipeline, test), []).append(value)
                    finally:
                        server.stop()
                    print(f"round {round_index + 1}/{options.rounds}: {kind} {mode} -P {pipeline} done",
                          file=sys.stderr, flush=True)

    def median(key, field):
        return statistics.median(v[field] for v in samples[key])

    lines = ["| durability | test | pipeline | Redis ops/s | replikv ops/s | ratio | Redis p50 / p99 ms | replikv p50 / p99 ms |",
             "|---|---|---|---:|---:|---:|---|---|"]
    for pair_index, (redis_mode, replikv_mode) in enumerate(pairs):
        for test in ("SET", "GET"):
            for pipeline in (1, 16):
                r, k = (pair_index, "redis", pipeline, test), (pair_index, "replikv", pipeline, test)
                ratio = median(k, 0) / median(r, 0)
                lines.append(
                    f"| Redis `{redis_mode}` / replikv `{replikv_mode}` | {test} | {pipeline} | "
                    f"{median(r, 0):,.0f} | {median(k, 0):,.0f} | {ratio:.2f}x | "
                    f"{median(r, 1):.3f} / {median(r, 2):.3f} | {median(k, 1):.3f} / {median(k, 2):.3f} |")
    redis_version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()[2]
    header = (f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, {redis_version}, "
              f"median of {options.rounds} alternating rounds, {options.requests:,} requests per test "
              f"at -P 1 and {options.requests * 4:,} at -P 16.\n\n"
              f"Command: `make bench` (or `bench/run --rounds {options.rounds} --requests {options.requests}`)\n")
    table = header + "\n" + "\n".join(lines) + "\n"
    print(table)
    if options.no_write:
        return
    write_section(DOC, "redis-compare", table)
    print(f"written to {os.path.relpath(DOC, ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
