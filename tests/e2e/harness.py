"""Start and stop real `replikv server` processes on loopback for end-to-end tests.

Every node gets free ports on 127.0.0.1 and its own temporary data directory; it is stopped by
PID (SIGTERM, then SIGKILL after a bounded wait). Every wait is a bounded loop.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import redis

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("REPLIKV_BIN", os.path.join(ROOT, "build", "release", "replikv"))
HOST = "127.0.0.1"


def ephemeral_port_range():
    """The kernel's range for outgoing connections' local ports (Linux; a common default else)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
            return low, high
    except (OSError, ValueError):
        return 32768, 60999


_next_port = [0]


def wait_until(predicate, timeout_s, what):
    """Polls `predicate` every 50 ms until it returns something true (returned), or fails after
    `timeout_s` naming `what` and the last Redis or socket error seen."""
    deadline = time.monotonic() + timeout_s
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (redis.RedisError, OSError) as error:
            last_error = error
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what} (last error: {last_error})")


def free_port():
    """A port free now, below the ephemeral range (see free_cluster_base for why)."""
    low, _ = ephemeral_port_range()
    span = max(1000, low - 10000)
    for _ in range(1000):
        port = 10000 + (os.getpid() * 13 + _next_port[0] * 97 + 5000) % span
        _next_port[0] += 1
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((HOST, port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port")


def free_cluster_base(count=3):
    """A base port P for `replikv cluster start --port P`: P..P+count-1 (clients), P+100.. (admin)
    and P+200.. (peers) all free now — and below the ephemeral range, so that a node restarted by
    a test finds its ports still free: inside it, any outgoing connection (a peer reconnecting to
    the stopped node, a benchmark client) may take one of them as its local port meanwhile."""
    low, _ = ephemeral_port_range()
    span = max(1000, low - 10000 - 300)
    for attempt in range(200):
        base = 10000 + (os.getpid() * 7 + attempt * 331) % span
        sockets = []
        try:
            for port in [base + offset + i for offset in (0, 100, 200) for i in range(count)]:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sockets.append(s)
                s.bind((HOST, port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free port range for a cluster")


class Node:
    """One replikv server process."""

    def __init__(self, *extra_args, data_dir=None, config=None):
        self.port = free_port()
        self.admin_port = free_port()
        self.own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="replikv-e2e-")
        self.extra_args = list(extra_args)
        self.config = config
        self.process = None
        self.log_path = os.path.join(self.data_dir + ".log") if not self.own_dir else os.path.join(self.data_dir, "server.log")

    def args(self):
        args = [BINARY, "server", "--port", str(self.port), "--admin-port", str(self.admin_port),
                "--data-dir", os.path.join(self.data_dir, "db")]
        if self.config:
            args += ["--config", self.config]
        return args + self.extra_args

    def start(self, timeout_s=20):
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(self.args(), stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"replikv exited with {self.process.returncode}: {self.read_log()}")
            try:
                if self.client().ping():
                    return self
            except (redis.ConnectionError, ConnectionRefusedError):
                time.sleep(0.05)
        raise RuntimeError(f"replikv did not answer PING within {timeout_s}s: {self.read_log()}")

    def client(self, **kwargs):
        return redis.Redis(host=HOST, port=self.port, socket_timeout=10, **kwargs)

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self, timeout_s=20):
        """SIGTERM and wait; returns the exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout_s)
            raise RuntimeError("replikv did not stop on SIGTERM")
        finally:
            self.log.close()

    def kill9(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=20)
        self.log.close()

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def cleanup(self):
        if self.alive():
            self.process.kill()
            self.process.wait(timeout=20)
        if self.own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def info(node, section):
    """INFO section as a dict of strings, from a Node or a redis client."""
    client = node.client() if isinstance(node, Node) else node
    raw = client.execute_command("INFO", section)
    if isinstance(raw, bytes):
        raw = raw.decode()
    if isinstance(raw, dict):
        return {k: str(v) for k, v in raw.items()}
    out = {}
    for line in raw.splitlines():
        if ":" in line and not line.startswith("#"):
            key, _, value = line.partition(":")
            out[key] = value
    return out


def raw_exchange(port, payload, read_timeout_s=2.0):
    """Sends raw bytes, returns everything the server sends until it closes or goes quiet."""
    with socket.create_connection((HOST, port), timeout=read_timeout_s) as s:
        s.sendall(payload)
        chunks = []
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    break
                chunks.append(data)
        except socket.timeout:
            pass
        return b"".join(chunks)


class SingleNodeTest(unittest.TestCase):
    """A test class that shares one node, started with `node_args`, among its tests."""
    node_args = ()

    @classmethod
    def setUpClass(cls):
        cls.node = Node(*cls.node_args).start()

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()
        cls.node.cleanup()
