"""Real Redis clients against one node: redis-cli, redis-benchmark and redis-py."""
import subprocess
import time
import unittest

import redis

from harness import SingleNodeTest, HOST, Node, info


class RealClients(SingleNodeTest):
    def cli(self, *args):
        result = subprocess.run(["redis-cli", "-h", HOST, "-p", str(self.node.port), *args],
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout.strip()

    def test_redis_cli_basic_commands(self):
        self.assertEqual(self.cli("set", "cli:k", "hello"), "OK")
        self.assertEqual(self.cli("get", "cli:k"), "hello")
        self.assertEqual(self.cli("incr", "cli:n"), "1")
        self.assertEqual(self.cli("incr", "cli:n"), "2")
        self.assertEqual(self.cli("del", "cli:k", "cli:missing"), "1")
        self.assertEqual(self.cli("get", "cli:k"), "")
        self.assertEqual(self.cli("ping"), "PONG")

    def test_redis_cli_info_replication_and_role(self):
        replication = self.cli("info", "replication")
        self.assertIn("# Replication", replication)
        self.assertIn("role:master", replication)
        self.assertIn("master_repl_offset:", replication)
        self.assertEqual(self.cli("role").splitlines()[0], "master")

    def test_redis_cli_info_memory(self):
        def memory():
            fields = dict(line.split(":", 1) for line in self.cli("info", "memory").splitlines()
                          if ":" in line)
            return fields
        before = memory()
        # The release binary runs on jemalloc; sanitizer builds on their runtime's allocator.
        self.assertRegex(before["mem_allocator"], r"^(jemalloc-\d|libc$|sanitizer$)")
        self.assertGreater(int(before["used_memory_rss"]), 0)
        client = self.node.client()
        for i in range(200):
            client.mset({f"mem:{i}:{j}": "x" * 1000 for j in range(10)})
        after = memory()
        # 2,000 values of 1 kB now sit in the record cache (and RocksDB's memtable).
        self.assertGreater(int(after["used_memory"]), int(before["used_memory"]) + 1_000_000)
        self.assertGreater(int(after["replikv_cache_bytes"]), 2_000_000)

    def test_redis_cli_errors_in_redis_words(self):
        self.cli("set", "cli:text", "abc")
        self.assertEqual(self.cli("incr", "cli:text"), "ERR value is not an integer or out of range")
        self.assertEqual(self.cli("get"), "ERR wrong number of arguments for 'get' command")
        self.assertIn("ERR unknown command 'nosuch'", self.cli("nosuch", "x"))
        self.assertEqual(self.cli("select", "1"), "ERR DB index is out of range")

    def test_redis_benchmark_runs_without_errors(self):
        result = subprocess.run(
            ["redis-benchmark", "-h", HOST, "-p", str(self.node.port), "-t", "set,get,incr,mset",
             "-n", "3000", "-c", "10", "-r", "1000", "-d", "100", "-q"],
            capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)
        output = (result.stdout + result.stderr).replace("\r", "\n")
        self.assertNotIn("ERR", output)
        self.assertNotIn("WARNING", output)
        for test in ("SET", "GET", "INCR", "MSET"):
            self.assertRegex(output, rf"{test}[^\n]*: [0-9.]+ requests per second")

    def test_redis_py_commands(self):
        r = self.node.client(decode_responses=True)
        self.assertTrue(r.set("py:k", "v"))
        self.assertEqual(r.get("py:k"), "v")
        self.assertIsNone(r.set("py:k", "w", nx=True))
        self.assertTrue(r.set("py:k", "w", xx=True))
        self.assertEqual(r.set("py:k", "x", get=True), "w")
        self.assertTrue(r.mset({"py:a": "1", "py:b": "2"}))
        self.assertEqual(r.mget(["py:a", "py:b", "py:none"]), ["1", "2", None])
        self.assertEqual(r.exists("py:a", "py:b", "py:none"), 2)
        self.assertEqual(r.incrby("py:a", 10), 11)
        self.assertEqual(r.decr("py:a"), 10)
        self.assertEqual(r.decrby("py:a", 3), 7)
        self.assertEqual(r.delete("py:a", "py:b"), 2)
        self.assertTrue(r.client_setname("tester"))
        self.assertEqual(r.client_getname(), "tester")
        self.assertIsInstance(r.client_id(), int)
        self.assertEqual(r.echo("hi"), "hi")

    def test_expiry(self):
        r = self.node.client(decode_responses=True)
        r.set("py:ttl", "v", px=300)
        self.assertGreater(r.pttl("py:ttl"), 0)
        self.assertEqual(r.ttl("py:plain"), -2)
        deadline = time.monotonic() + 5
        while r.get("py:ttl") is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIsNone(r.get("py:ttl"))

    def test_pipeline_keeps_order(self):
        r = self.node.client(decode_responses=True)
        pipe = r.pipeline(transaction=False)
        for i in range(500):
            pipe.set(f"pipe:{i}", i)
            pipe.ping()
            pipe.get(f"pipe:{i}")
        results = pipe.execute()
        for i in range(500):
            self.assertEqual(results[3 * i], True)
            self.assertEqual(results[3 * i + 1], True)
            self.assertEqual(results[3 * i + 2], str(i))

    def test_scan_visits_every_key(self):
        r = self.node.client(decode_responses=True)
        r.mset({f"scan:{i}": i for i in range(1000)})
        seen = set(r.scan_iter(match="scan:*", count=50))
        self.assertEqual(seen, {f"scan:{i}" for i in range(1000)})
        self.assertEqual(len(r.keys("scan:1??")), 100)

    def test_dbsize_and_keyspace(self):
        r = self.node.client()
        before = r.dbsize()
        r.set("size:new", "1")
        self.assertEqual(r.dbsize(), before + 1)
        self.assertIn("db0", info(self.node, "keyspace"))

    def test_large_value_round_trip(self):
        r = self.node.client()
        value = bytes(range(256)) * 4096  # 1 MiB of every byte value
        r.set("big", value)
        self.assertEqual(r.get("big"), value)

    def test_hello_command_and_config(self):
        r = self.node.client()
        hello = r.execute_command("HELLO", "2")
        self.assertIn(b"proto", hello)
        with self.assertRaisesRegex(redis.ResponseError, "NOPROTO"):
            r.execute_command("HELLO", "3")
        self.assertGreater(r.command_count(), 10)
        self.assertIn("get", r.command())
        self.assertEqual(r.config_get("appendonly"), {"appendonly": "yes"})
        self.assertEqual(r.config_get("fsync"), {"fsync": "always"})


if __name__ == "__main__":
    unittest.main()
