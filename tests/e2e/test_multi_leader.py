"""Three real nodes with strategy "multi-leader", started by `replikv cluster`, on loopback.

What a user relies on: every node takes writes, also while cut off from the others; after a
partition of 1 | 2 heals every node holds the same data (DEBUG DIGEST); under `siblings` both
sides' values of a key written on both sides are kept (VGET), and VSET with VGET's context
resolves them everywhere; under `lww` one value wins on every node and the discarded write is
counted exactly once; counters sum every increment from both sides; a key deleted on one side
stays deleted; bad input gets a clear error. Collections merge element by element: a set's add
concurrent with a remove wins on every node, HINCRBY and ZINCRBY from both sides all count, and
what takes a position (lists, SPOP) is refused naming the strategy.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import unittest

import redis

from harness import BINARY, HOST, free_cluster_base, info, wait_until



class MultiLeaderCluster:
    def __init__(self, conflict, *extra):
        self.dir = tempfile.mkdtemp(prefix="replikv-multi-")
        self.base = free_cluster_base(3)
        self.conflict = conflict
        self.extra = list(extra)

    def cli(self, *args):
        result = subprocess.run([BINARY, "cluster", *args, "--dir", self.dir], capture_output=True, text=True,
                                timeout=120)
        if result.returncode != 0:
            raise AssertionError(f"replikv cluster {' '.join(args)} exited {result.returncode}:\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def start(self):
        self.cli("start", "--nodes", "3", "--port", str(self.base), "--strategy", "multi-leader",
                 "--conflict", self.conflict, "--test-faults", *self.extra)
        return self

    def client(self, node):
        return redis.Redis(host=HOST, port=self.base + node - 1, socket_timeout=15)

    def replication(self, node):
        return info(self.client(node), "replication")

    def partition(self, alone):
        """Cuts node `alone` off from the two others, both ways."""
        self.client(alone).execute_command("FAULT", "CUT", "*")
        for node in (1, 2, 3):
            if node != alone:
                self.client(node).execute_command("FAULT", "CUT", str(alone))

    def heal(self):
        for node in (1, 2, 3):
            self.client(node).execute_command("FAULT", "HEAL")

    def converged(self):
        digests = {self.client(n).execute_command("DEBUG", "DIGEST") for n in (1, 2, 3)}
        vectors = {self.replication(n)["replikv_applied_vector"] for n in (1, 2, 3)}
        return len(digests) == 1 and len(vectors) == 1

    def stop(self):
        subprocess.run([BINARY, "cluster", "stop", "--dir", self.dir], capture_output=True, timeout=120)
        for node in (1, 2, 3):
            try:
                with open(os.path.join(self.dir, f"n{node}", "replikv.pid")) as f:
                    os.kill(int(f.read()), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


def partitioned_writes(cluster):
    """Before: a=1, gone=x everywhere. During 1 | 2,3: both sides write k and count; n2 deletes
    `gone`; n1 writes only-left. Returns once every node has converged after the heal."""
    c1 = cluster.client(1)
    c1.set("a", "1")
    c1.set("gone", "x")
    wait_until(lambda: all(cluster.client(n).get("gone") == b"x" for n in (1, 2, 3)), 30, "the first writes everywhere")
    cluster.partition(1)
    # Both sides take writes while cut off: multi-leader stays available.
    assert c1.set("k", "left")
    assert cluster.client(2).set("k", "right")
    for _ in range(3):
        c1.incr("count")
    cluster.client(3).incrby("count", 4)
    cluster.client(2).decr("count")
    assert cluster.client(2).delete("gone") == 1
    c1.set("only-left", "L")
    assert c1.get("gone") == b"x"  # n1 has not heard of the delete
    cluster.heal()
    wait_until(cluster.converged, 30, "every node converged after the heal")


class ClusterTest(unittest.TestCase):
    """A test class with one cluster of its own: `conflict` and `extra` flags for `cluster start`."""
    conflict = "lww"
    extra = ()

    @classmethod
    def setUpClass(cls):
        cls.cluster = MultiLeaderCluster(cls.conflict, *cls.extra).start()

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()


class SiblingsTest(ClusterTest):
    conflict = "siblings"

    def test_a_partition_heals_into_siblings_that_vset_resolves(self):
        cluster = self.cluster
        partitioned_writes(cluster)
        for node in (1, 2, 3):
            c = cluster.client(node)
            context, values = c.execute_command("VGET", "k")
            self.assertEqual(sorted(values), [b"left", b"right"], f"n{node} keeps both concurrent values")
            self.assertIn(c.get("k"), (b"left", b"right"))
            self.assertEqual(c.get("count"), b"6", "3 + 4 - 1: every increment from both sides")
            self.assertIsNone(c.get("gone"), "the delete holds after the heal")
            self.assertEqual(c.get("only-left"), b"L")
        # GET's winner is the same on every node.
        self.assertEqual(len({cluster.client(n).get("k") for n in (1, 2, 3)}), 1)
        # The client merges and writes back with the context it read: one value everywhere.
        context, _ = cluster.client(3).execute_command("VGET", "k")
        self.assertEqual(cluster.client(3).execute_command("VSET", "k", context, "left+right"), b"OK")
        wait_until(lambda: all(cluster.client(n).execute_command("VGET", "k")[1] == [b"left+right"]
                               for n in (1, 2, 3)), 30, "the merge everywhere")
        self.assertEqual(int(cluster.replication(1)["replikv_conflicts_discarded_total"]), 0)

    def test_an_increment_retried_with_its_id_counts_once_where_it_was_seen(self):
        cluster = self.cluster
        c1, c2 = cluster.client(1), cluster.client(2)
        self.assertEqual(c1.execute_command("INCRBY", "visits", "5", "ID", "req-1"), 5)
        self.assertEqual(c1.execute_command("INCRBY", "visits", "5", "ID", "req-1"), 5)  # a retry
        wait_until(lambda: c2.get("visits") == b"5", 30, "n2 applying it")
        self.assertEqual(c2.execute_command("INCRBY", "visits", "5", "ID", "req-1"), 5)  # elsewhere
        self.assertEqual(c2.execute_command("INCR", "visits", "ID", "req-2"), 6)
        # A node that has not seen the first attempt cannot tell a retry: both count.
        wait_until(lambda: cluster.client(3).get("visits") == b"6", 30, "n3 applying both")
        cluster.partition(3)
        self.assertEqual(c1.execute_command("INCRBY", "visits", "10", "ID", "req-3"), 16)
        self.assertEqual(cluster.client(3).execute_command("INCRBY", "visits", "10", "ID", "req-3"), 16)
        cluster.heal()
        wait_until(cluster.converged, 30, "convergence")
        self.assertEqual(cluster.client(3).get("visits"), b"26")
        retried = sum(int(cluster.replication(n)["replikv_increments_retried_total"]) for n in (1, 2, 3))
        self.assertEqual(retried, 2)
        with self.assertRaisesRegex(redis.ResponseError, "wrong number of arguments"):
            c1.execute_command("INCRBY", "visits", "1", "IDX", "a")  # as Redis answers extra words
        with self.assertRaisesRegex(redis.ResponseError, "the only option is ID"):
            c1.execute_command("INCRBY", "visits", "1", "ID")

    def test_a_merge_on_a_counter_must_have_seen_every_increment(self):
        c = self.cluster.client(1)
        c.incrby("merged-counter", 5)
        context, values = c.execute_command("VGET", "merged-counter")
        self.assertEqual(values, [b"5"])
        c.incrby("merged-counter", 2)  # the context has not seen this one
        with self.assertRaisesRegex(redis.ResponseError, "CONFLICT the counter has increments"):
            c.execute_command("VSET", "merged-counter", context, "100")
        self.assertEqual(c.get("merged-counter"), b"7")
        context, _ = c.execute_command("VGET", "merged-counter")
        self.assertEqual(c.execute_command("VSET", "merged-counter", context, "100"), b"OK")
        self.assertEqual(c.get("merged-counter"), b"100")
        self.assertEqual(int(self.cluster.replication(1)["replikv_merges_refused_total"]), 1)

    def test_bad_input_gets_a_clear_error_and_the_node_stays_up(self):
        c = self.cluster.client(1)
        with self.assertRaisesRegex(redis.ResponseError, "not a causal context"):
            c.execute_command("VSET", "k", "nonsense", "v")
        with self.assertRaisesRegex(redis.ResponseError, "eventual or session"):
            c.execute_command("CONSISTENCY", "linearizable")
        with self.assertRaisesRegex(redis.ResponseError, "wrong number of arguments"):
            c.execute_command("VGET")
        self.assertTrue(c.ping())


class LastWriterWinsTest(ClusterTest):
    conflict = "lww"

    def test_a_partition_heals_into_one_value_and_the_loser_is_counted(self):
        cluster = self.cluster
        partitioned_writes(cluster)
        values = {cluster.client(n).get("k") for n in (1, 2, 3)}
        self.assertEqual(len(values), 1, "every node keeps the same one value")
        self.assertIn(values.pop(), (b"left", b"right"))
        for node in (1, 2, 3):
            _, kept = cluster.client(node).execute_command("VGET", "k")
            self.assertEqual(len(kept), 1)
            self.assertEqual(cluster.client(node).get("count"), b"6")
            self.assertIsNone(cluster.client(node).get("gone"))
        # The discarded write is counted once, at the node that took it.
        discarded = lambda: sum(int(cluster.replication(n)["replikv_conflicts_discarded_total"]) for n in (1, 2, 3))
        wait_until(lambda: discarded() == 1, 30, "one discarded write counted")



class LostDiskTest(ClusterTest):
    """n3 loses its data directory and comes back (`cluster restart`: no --bootstrap) while n2 is
    down: it serves reads and takes INCR, but refuses SET and DEL until every member has told it
    what it had — n2 too — and has caught up; then everything converges."""

    def test_a_node_that_lost_its_disk_catches_up_before_it_replaces_values(self):
        cluster = self.cluster
        c1 = cluster.client(1)
        c1.set("a", "1")
        c1.incrby("visits", 5)
        wait_until(cluster.converged, 30, "convergence before the loss")
        cluster.cli("stop", "--node", "n2")
        cluster.cli("stop", "--node", "n3")
        shutil.rmtree(os.path.join(cluster.dir, "n3", "data"))
        cluster.cli("restart", "--node", "n3")
        c3 = cluster.client(3)
        wait_until(lambda: c3.get("a") == b"1", 30, "n3 catching up from n1")
        self.assertEqual(cluster.replication(3)["replikv_recovering"], "1")
        with self.assertRaisesRegex(redis.ResponseError, r"TRYAGAIN this node lost its data .*waiting for 2"):
            c3.set("a", "2")
        with self.assertRaisesRegex(redis.ResponseError, "TRYAGAIN"):
            c3.delete("a")
        self.assertEqual(c3.incrby("visits", 1), 6)  # increments reset nothing: taken
        self.assertGreater(int(cluster.replication(3)["replikv_recovering_refused_total"]), 1)
        cluster.cli("restart", "--node", "n2")
        wait_until(lambda: cluster.replication(3)["replikv_recovering"] == "0", 60, "n3 recovered")
        self.assertTrue(c3.set("a", "2"))
        wait_until(cluster.converged, 60, "convergence after the loss")
        for node in (1, 2, 3):
            self.assertEqual(cluster.client(node).get("a"), b"2")
            self.assertEqual(cluster.client(node).get("visits"), b"6")


class ClockSkewTest(ClusterTest):
    """Node 1's clock runs 5 s ahead (FAULT SKEW): under lww its writes carry later timestamps
    than anything the others stamp for 5 s. Still, a write that had seen one of them — because its
    node had applied it, or because the client's session had read it (within max_clock_offset_ms,
    10 s here) — replaces it."""

    extra = ("--max-clock-offset-ms", "10000")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cluster.client(1).execute_command("FAULT", "SKEW", "5000")

    def test_a_causally_later_write_beats_a_skewed_earlier_one(self):
        cluster = self.cluster
        cluster.client(1).set("skewed", "early")  # stamped 5 s ahead
        wait_until(lambda: cluster.client(2).get("skewed") == b"early", 30, "n2 applying it")
        cluster.client(2).set("skewed", "later")  # n2 had applied it: supersedes it
        wait_until(cluster.converged, 30, "convergence")
        for node in (1, 2, 3):
            self.assertEqual(cluster.client(node).get("skewed"), b"later")

    def test_a_session_that_read_the_fast_node_is_not_overruled_by_what_it_read(self):
        cluster = self.cluster
        cluster.partition(3)  # n3 will not have heard of what the client reads at n1
        reader = cluster.client(1)
        reader.set("session-key", "seen")
        self.assertEqual(reader.get("session-key"), b"seen")
        position = reader.execute_command("SESSION")
        writer = cluster.client(3)
        writer.execute_command("SESSION", position)  # the client moves to n3, its session with it
        writer.set("session-key", "mine")  # n3 has not applied "seen": concurrent, but stamped later
        cluster.heal()
        wait_until(cluster.converged, 30, "convergence")
        for node in (1, 2, 3):
            self.assertEqual(cluster.client(node).get("session-key"), b"mine")
        # Within the offset the nodes take the fast clock's timestamps: nothing refused.
        self.assertEqual(int(cluster.replication(3)["replikv_hlc_refused_total"]), 0)


class CollectionsTest(ClusterTest):
    def test_a_partition_heals_into_add_wins_sets_and_every_increment(self):
        cluster = self.cluster
        c1, c2, c3 = (cluster.client(n) for n in (1, 2, 3))
        self.assertEqual(c1.sadd("s", "a", "b"), 2)
        c1.hset("h", "n", 10)
        c1.zadd("z", {"m": 1.5})
        wait_until(lambda: all(cluster.client(n).smembers("s") == {b"a", b"b"} for n in (1, 2, 3)),
                   30, "the set everywhere")
        cluster.partition(1)
        # Side 1 removes a and adds c; side 2 adds a again — concurrent with the remove — and
        # removes b. Both sides count.
        self.assertEqual(c1.srem("s", "a"), 1)
        self.assertEqual(c1.sadd("s", "c"), 1)
        self.assertEqual(c2.sadd("s", "a"), 0)  # a member there: an add all the same
        self.assertEqual(c2.srem("s", "b"), 1)
        for _ in range(3):
            c1.hincrby("h", "n", 5)
        c2.hincrby("h", "n", -2)
        c3.hincrby("h", "n", 10)
        self.assertEqual(c1.zincrby("z", 0.5, "m"), 2.0)
        c1.zincrby("z", 0.5, "m")
        c3.zincrby("z", 1.25, "m")
        c1.hset("h", "g", "left")
        c2.hset("h", "g", "right")
        self.assertEqual(c1.smembers("s"), {b"b", b"c"}, "n1 alone has not seen the re-add")
        cluster.heal()
        wait_until(cluster.converged, 30, "every node converged after the heal")
        for node in (1, 2, 3):
            c = cluster.client(node)
            self.assertEqual(c.smembers("s"), {b"a", b"c"}, f"n{node}: the add of a won, b is gone")
            self.assertEqual(c.hget("h", "n"), b"33", f"n{node}: 10 + 15 - 2 + 10")
            self.assertEqual(c.zscore("z", "m"), 3.75, f"n{node}: 1.5 + 0.5 + 0.5 + 1.25")
            self.assertEqual(c.scard("s"), 2)
        self.assertEqual(len({cluster.client(n).hget("h", "g") for n in (1, 2, 3)}), 1,
                         "one value of the field written on both sides, the same everywhere")
        # What takes a position is refused, naming the strategy; the node stays up.
        for words in (["LPUSH", "l", "x"], ["SPOP", "s"], ["ZPOPMIN", "z"], ["EXPIRE", "s", "10"]):
            with self.assertRaises(redis.ResponseError) as refused:
                c1.execute_command(*words)
            self.assertIn("multi-leader", str(refused.exception))
        self.assertEqual(c1.smembers("s"), {b"a", b"c"})


if __name__ == "__main__":
    unittest.main()
