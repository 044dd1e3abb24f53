"""Crash and restart: no acknowledged write is lost, and nothing is acknowledged before its sync.

kill -9 leaves the page cache intact, so surviving it shows that nothing was acknowledged before
it was written. That writes were also synced is shown by counting: under fsync "always" the
engine's own WAL-sync count is at least the node's group-commit count, and the count of replies
released before their batch was durable stays zero. (The simulator shows the rest: there, a crash
drops everything unsynced.)
"""
import threading
import time
import unittest

import redis

from harness import Node, info


class Durability(unittest.TestCase):
    def test_kill9_loses_no_acknowledged_write(self):
        node = Node().start()
        try:
            acknowledged = [[] for _ in range(8)]
            stop = threading.Event()

            def writer(worker):
                client = node.client()
                i = 0
                while not stop.is_set() and i < 100000:
                    key = f"w{worker}:{i}"
                    try:
                        client.set(key, f"value-{worker}-{i}")
                    except (redis.ConnectionError, redis.TimeoutError, OSError):
                        return  # the node died mid-request: outcome unknown, not counted
                    acknowledged[worker].append(key)
                    i += 1

            threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 30
            while sum(map(len, acknowledged)) < 3000 and time.monotonic() < deadline:
                time.sleep(0.05)
            persistence = info(node, "persistence")
            node.kill9()
            stop.set()
            for t in threads:
                t.join(timeout=30)
            total = sum(map(len, acknowledged))
            self.assertGreaterEqual(total, 3000, "the writers made too little progress")

            self.assertEqual(persistence["replikv_fsync"], "always")
            self.assertEqual(persistence["replikv_replies_released_before_durable"], "0")
            self.assertGreater(int(persistence["replikv_group_commits"]), 0)
            self.assertGreaterEqual(int(persistence["replikv_wal_syncs"]),
                                    int(persistence["replikv_group_commits"]))

            node.start()
            client = node.client()
            missing = []
            for worker, keys in enumerate(acknowledged):
                values = client.mget(keys) if keys else []
                for key, value in zip(keys, values):
                    i = int(key.split(":")[1])
                    if value != f"value-{worker}-{i}".encode():
                        missing.append(key)
            self.assertEqual(missing, [], f"{len(missing)} of {total} acknowledged writes lost")
            self.assertGreaterEqual(client.dbsize(), total)
        finally:
            node.stop()
            node.cleanup()

    def test_sigterm_is_clean_and_data_persists(self):
        node = Node().start()
        try:
            node.client().mset({f"t:{i}": i for i in range(100)})
            self.assertEqual(node.stop(), 0)
            self.assertIn("replikv stopped", node.read_log())
            node.start()
            self.assertEqual(node.client().dbsize(), 100)
            self.assertEqual(node.client().get("t:42"), b"42")
            self.assertEqual(info(node, "replication")["master_repl_offset"], "1")
        finally:
            node.stop()
            node.cleanup()

    def test_fsync_never_counts_no_group_commits(self):
        node = Node("--fsync", "never").start()
        try:
            for i in range(100):
                node.client().set(f"n:{i}", i)
            persistence = info(node, "persistence")
            self.assertEqual(persistence["replikv_fsync"], "never")
            self.assertEqual(persistence["replikv_group_commits"], "0")
        finally:
            node.stop()
            node.cleanup()


if __name__ == "__main__":
    unittest.main()
