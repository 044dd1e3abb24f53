"""The dial on real processes (`replikv cluster`, loopback): reads at each consistency through
redis-py as a user types them in redis-cli, WAIT, manual failover under load, and kill -9 of the
leader under recorded load in every ack mode — acknowledged inserts lost counted, zero wherever
the mode waits for followers (as the simulator says), and every node converging after the heal.
"""
import os
import signal
import subprocess
import time
import unittest

import redis

from harness import BINARY
from test_cluster import Cluster, Inserters, wait_until, digest


def missing_on(cluster, node, keys):
    client = cluster.client(node)
    values = []
    for start in range(0, len(keys), 500):
        values += client.mget(keys[start:start + 500])
    return [k for k, v in zip(keys, values) if v is None]


class ReadConsistencyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster().start()
        cls.leader = wait_until(cls.cluster.leader, 30, "a leader")
        cls.follower = cls.leader % 3 + 1

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()

    def test_a_session_follows_its_writes_from_node_to_node(self):
        writer = self.cluster.client(self.follower)
        self.assertTrue(writer.set("s1", "v1"))
        token = writer.execute_command("SESSION").decode()
        term, index = (int(part) for part in token.split(":"))
        self.assertGreater(index, 0)
        other = self.cluster.client(self.follower % 3 + 1)
        other.execute_command("SESSION", token)
        self.assertEqual(other.execute_command("READ", "session", "GET", "s1"), b"v1")
        self.assertGreaterEqual(int(other.execute_command("SESSION").decode().split(":")[1]), index)
        # A token no node reached: the read waits, then says how far behind the node is.
        stuck = self.cluster.client(self.follower, socket_timeout=30)
        stuck.execute_command("SESSION", f"{term}:{index + 10**9}")
        with self.assertRaises(redis.exceptions.ResponseError) as error:
            stuck.execute_command("READ", "session", "GET", "s1")
        self.assertIn("TIMEOUT this node has applied up to", str(error.exception))
        stuck.execute_command("SESSION", "RESET")
        self.assertIsNone(stuck.execute_command("SESSION"))

    def test_bounded_and_eventual_reads_at_a_follower(self):
        self.assertTrue(self.cluster.client(self.leader).set("b1", "v"))
        reader = self.cluster.client(self.follower)
        wait_until(lambda: reader.execute_command("READ", "eventual", "GET", "b1") == b"v", 10, "the follower applying")
        self.assertEqual(reader.execute_command("READ", "bounded:2000", "GET", "b1"), b"v")
        reader.execute_command("CONSISTENCY", "bounded:1")
        self.assertEqual(reader.execute_command("CONSISTENCY"), b"bounded:1")
        with self.assertRaises(redis.exceptions.ResponseError) as error:
            reader.get("b1")
        self.assertIn("STALE this node may lag the leader by", str(error.exception))
        reader.execute_command("CONSISTENCY", "default")
        self.assertEqual(reader.get("b1"), b"v")
        lag = int(self.cluster.replication(self.follower)["replikv_lag_ms"])
        self.assertGreaterEqual(lag, 0)

    def test_bad_consistencies_and_writes_in_read_are_refused(self):
        client = self.cluster.client(self.follower)
        for args, words in [(("READ", "sometimes", "GET", "k"), "unknown consistency 'sometimes'"),
                            (("READ", "bounded:0", "GET", "k"), "unknown consistency"),
                            (("READ", "session", "SET", "k", "v"), "READ takes a read command"),
                            (("CONSISTENCY", "strong"), "unknown consistency 'strong'"),
                            (("SESSION", "x:y"), "invalid session token"),
                            (("WAIT", "1", "-1"), "timeout is negative")]:
            with self.assertRaises(redis.exceptions.ResponseError) as error:
                client.execute_command(*args)
            self.assertIn(words, str(error.exception))
        self.assertTrue(client.ping())

    def test_wait_counts_followers_through_the_leader(self):
        for node in (self.leader, self.follower):
            client = self.cluster.client(node)
            self.assertTrue(client.set(f"w{node}", "1"))
            self.assertEqual(client.execute_command("WAIT", "2", "5000"), 2, f"WAIT on n{node}")


class AsyncReadsTest(unittest.TestCase):
    def test_linearizable_is_refused_and_a_plain_get_goes_to_the_leader(self):
        cluster = Cluster(ack="async").start()
        try:
            leader = wait_until(cluster.leader, 30, "a leader")
            follower = leader % 3 + 1
            client = cluster.client(follower)
            self.assertTrue(client.set("a", "1"))
            self.assertEqual(client.get("a"), b"1")
            self.assertEqual(client.execute_command("CONSISTENCY"), b"default (leader)")
            for args in (("READ", "linearizable", "GET", "a"), ("CONSISTENCY", "linearizable")):
                with self.assertRaises(redis.exceptions.ResponseError) as error:
                    client.execute_command(*args)
                self.assertIn("not offered with ack async", str(error.exception))
        finally:
            cluster.stop()


class ManualFailoverTest(unittest.TestCase):
    def setUp(self):
        self.cluster = Cluster().start()

    def tearDown(self):
        self.cluster.stop()

    def failover(self, *args):
        return subprocess.run([BINARY, "failover", "--dir", self.cluster.dir, *args], capture_output=True, text=True,
                              timeout=60)

    def test_a_handover_under_load_loses_nothing(self):
        cluster = self.cluster
        old = wait_until(cluster.leader, 30, "a leader")
        target = old % 3 + 1
        with Inserters(cluster, "h") as inserters:
            inserters.wait_for(50, "inserts before the handover")
            result = self.failover("--to", f"n{target}")
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            self.assertIn(f"n{target} leads", result.stdout)
            self.assertEqual(cluster.leader(), target)
            inserters.wait_for(20, "inserts after it")
        acknowledged = inserters.acknowledged()
        for node in cluster.all:
            wait_until(lambda: not missing_on(cluster, node, acknowledged), 30, f"every acknowledged insert on n{node}")

    def test_a_forced_promotion_when_the_leader_is_gone(self):
        cluster = self.cluster
        old = wait_until(cluster.leader, 30, "a leader")
        target = old % 3 + 1
        self.assertTrue(cluster.client(old).set("before", "1"))
        os.kill(cluster.pid(old), signal.SIGKILL)
        result = self.failover("--to", f"n{target}", "--force")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual(cluster.leader([n for n in cluster.all if n != old]), target)
        self.assertEqual(cluster.client(target).get("before"), b"1")
        # A node that is not in the cluster, and a bad flag: usage errors, exit 2.
        self.assertEqual(self.failover("--to", "n7").returncode, 2)


class DataLossPromotionTest(unittest.TestCase):
    def test_force_refuses_a_node_missing_writes_unless_data_loss_is_accepted(self):
        cluster = Cluster().start()
        try:
            old = wait_until(cluster.leader, 30, "a leader")
            target = old % 3 + 1
            leader = cluster.client(old)
            leader.execute_command("FAULT", "CUT", str(target), "OUT")  # the target misses what follows
            keys = [f"only-two-{i}" for i in range(20)]
            for key in keys:
                self.assertTrue(leader.set(key, "1"))  # acknowledged: the leader and the other follower
            other = target % 3 + 1
            # The other follower cannot reach the target either: nothing it holds gets there.
            cluster.client(other).execute_command("FAULT", "CUT", str(target), "OUT")
            os.kill(cluster.pid(old), signal.SIGKILL)

            def failover(*extra):
                return subprocess.run([BINARY, "failover", "--dir", cluster.dir, "--to", f"n{target}", "--force",
                                       "--timeout-ms", "2000", *extra], capture_output=True, text=True, timeout=60)

            refused = failover()
            self.assertEqual(refused.returncode, 1, refused.stdout + refused.stderr)
            self.assertIn("forced promotion", refused.stderr)
            accepted = failover("--accept-data-loss")
            self.assertEqual(accepted.returncode, 0, accepted.stdout + accepted.stderr)
            self.assertEqual(cluster.replication(target)["replikv_raft_role"], "leader")
            cluster.client(other).execute_command("FAULT", "HEAL")
            cluster.cli("restart", "--node", f"n{old}")
            wait_until(lambda: len({digest(cluster.client(n)) for n in cluster.all}) == 1, 60, "every node agreeing")
            lost = missing_on(cluster, target, keys)
            rolled_back = sum(int(cluster.replication(n)["replikv_rollback_entries"]) for n in cluster.all)
            print(f"\naccepting data loss: {len(lost)} of {len(keys)} acknowledged writes lost, "
                  f"{rolled_back} entries rolled back")
            self.assertEqual(len(lost), len(keys))
            self.assertGreaterEqual(rolled_back, len(keys))
        finally:
            cluster.stop()


class Kill9PerAckModeTest(unittest.TestCase):
    """kill -9 of the leader under unique-key inserts, restart, heal: acknowledged inserts lost are
    counted. Zero in every mode that waits for followers; async may lose some (printed)."""

    def run_mode(self, ack, nodes):
        cluster = Cluster(nodes=nodes, ack=ack).start()
        try:
            old = wait_until(cluster.leader, 30, "a leader")
            with Inserters(cluster, f"{ack}-") as inserters:
                inserters.wait_for(100, "inserts before the crash")
                os.kill(cluster.pid(old), signal.SIGKILL)
                others = [n for n in cluster.all if n != old]
                new = wait_until(lambda: cluster.leader(others), 30, "a new leader")
                if ack == "sync":
                    # Every node must hold a write: none commits until the old leader is back.
                    cluster.cli("restart", "--node", f"n{old}")
                inserters.wait_for(20, "inserts after it")
            if ack != "sync":
                cluster.cli("restart", "--node", f"n{old}")
            target = int(cluster.replication(new)["replikv_commit_index"])
            wait_until(lambda: int(cluster.replication(old)["replikv_applied_index"]) >= target, 60,
                       "the old leader catching up")
            wait_until(lambda: len({digest(cluster.client(n)) for n in cluster.all}) == 1, 60, "every node agreeing")
            acknowledged = inserters.acknowledged()
            lost = missing_on(cluster, new, acknowledged)
            rolled_back = sum(int(cluster.replication(n)["replikv_rollback_entries"]) for n in cluster.all)
            print(f"\nack {ack}, {nodes} nodes: {len(acknowledged)} inserts acknowledged, {len(lost)} lost, "
                  f"{rolled_back} entries rolled back")
            # What is lost is lost everywhere: every node misses the same acknowledged inserts.
            for n in cluster.all:
                self.assertEqual(missing_on(cluster, n, acknowledged), lost, f"node {n}")
            self.rolled_back = rolled_back
            return acknowledged, lost
        finally:
            cluster.stop()

    def test_majority_loses_nothing(self):
        acknowledged, lost = self.run_mode("majority", 3)
        self.assertGreater(len(acknowledged), 100)
        self.assertEqual(lost, [])

    def test_sync_loses_nothing(self):
        acknowledged, lost = self.run_mode("sync", 3)
        self.assertEqual(lost, [])

    def test_one_follower_of_five_loses_nothing(self):
        acknowledged, lost = self.run_mode("1", 5)
        self.assertEqual(lost, [])

    def test_async_loses_what_only_the_leader_held_and_rolls_it_back(self):
        """The leader's outgoing links cut (the fault layer), then kill -9: what it acknowledged
        alone meanwhile is lost, and on its return it rolls those entries back, counted."""
        cluster = Cluster(ack="async").start()
        try:
            old = wait_until(cluster.leader, 30, "a leader")
            writer = cluster.client(old, socket_timeout=5)
            self.assertTrue(writer.set("before", "1"))
            cluster.client(old).execute_command("FAULT", "CUT", "*", "OUT")
            acknowledged = []
            started = time.monotonic()
            while time.monotonic() - started < 0.6:
                key = f"alone-{len(acknowledged)}"
                if writer.set(key, "1"):
                    acknowledged.append(key)
            os.kill(cluster.pid(old), signal.SIGKILL)
            others = [n for n in cluster.all if n != old]
            new = wait_until(lambda: cluster.leader(others), 30, "a new leader")
            self.assertTrue(cluster.client(new).set("after", "1"))
            cluster.cli("restart", "--node", f"n{old}")
            wait_until(lambda: len({digest(cluster.client(n)) for n in cluster.all}) == 1, 60, "every node agreeing")
            lost = missing_on(cluster, old, acknowledged)
            rolled_back = int(cluster.replication(old)["replikv_rollback_entries"])
            print(f"\nasync, leader cut off then killed: {len(acknowledged)} acknowledged by it alone, {len(lost)} lost, "
                  f"{rolled_back} entries rolled back on its return")
            self.assertGreater(len(acknowledged), 10)
            self.assertEqual(len(lost), len(acknowledged), "nothing it held alone survived")
            self.assertGreaterEqual(rolled_back, len(lost))
            self.assertEqual(cluster.client(old).get("before"), b"1")
            self.assertEqual(cluster.client(old).get("after"), b"1")
        finally:
            cluster.stop()

    def test_async_losses_are_counted_and_the_nodes_converge(self):
        acknowledged, lost = self.run_mode("async", 3)
        self.assertGreater(len(acknowledged), 100)
        # Counted: every acknowledged insert that is gone was rolled back where it was held (the
        # old leader kept it on disk), and the count says so.
        self.assertGreaterEqual(self.rolled_back, len(lost))


if __name__ == "__main__":
    unittest.main()
