"""A real Redis 7 server on loopback, as the reference replikv's replies are compared with, and a
raw RESP client that keeps the reply's type (a status and a bulk string differ; redis-py would
show both as bytes).

The server binary comes with redis-tools (a base package of scripts/bootstrap): Debian ships it
as redis-check-rdb, which runs as the server when its name is redis-server.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time

from harness import HOST, free_port


def redis_server_binary(workdir):
    for path in ("/usr/bin/redis-server", shutil.which("redis-server") or ""):
        if path and os.path.exists(path):
            return path
    check_rdb = shutil.which("redis-check-rdb") or "/usr/bin/redis-check-rdb"
    if not os.path.exists(check_rdb):
        raise RuntimeError("no redis-server or redis-check-rdb: run scripts/bootstrap")
    link = os.path.join(workdir, "redis-server")
    os.symlink(check_rdb, link)
    return link


class ReferenceRedis:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="replikv-redis-ref-")
        self.port = free_port()
        self.process = None

    def start(self, timeout_s=20):
        binary = redis_server_binary(self.dir)
        self.log = open(os.path.join(self.dir, "redis.log"), "wb")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no",
             "--dir", self.dir, "--daemonize", "no"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            try:
                with Resp(self.port) as client:
                    if client.call("PING") == ("+", "PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not answer PING")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
        if self.process is not None:
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Resp:
    """One connection; call() sends a command and returns its reply as (type, value): ("+", str),
    ("-", str), (":", int), ("$", bytes or None), ("*", list or None)."""

    def __init__(self, port, timeout_s=15):
        self.sock = socket.create_connection((HOST, port), timeout=timeout_s)
        self.buffer = b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    def call(self, *args):
        payload = [f"*{len(args)}\r\n".encode()]
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            payload.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.sock.sendall(b"".join(payload))
        return self._reply()

    def _line(self):
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def _exact(self, n):
        while len(self.buffer) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n + 2:]
        return data

    def _reply(self):
        line = self._line()
        kind, rest = chr(line[0]), line[1:]
        if kind in "+-":
            return (kind, rest.decode(errors="replace"))
        if kind == ":":
            return (kind, int(rest))
        if kind == "$":
            n = int(rest)
            return (kind, None if n < 0 else self._exact(n))
        if kind == "*":
            n = int(rest)
            return (kind, None if n < 0 else [self._reply() for _ in range(n)])
        raise ValueError(f"unexpected RESP line {line!r}")
