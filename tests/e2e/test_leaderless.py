"""Five real nodes with strategy "leaderless" (N = 3, W = R = 2), started by `replikv cluster`, on
loopback.

What a user relies on so far: any node takes any request and every node reads what another
wrote; the replica counts of CONSISTENCY / READ and WCONSISTENCY are taken, and refused past N;
with one node killed (kill -9) writes at W = 2 and reads at R = 2 go on from every node left, and
a write that cannot reach W replicas is answered -TIMEOUT, never OK; siblings come back through
VGET and merge with VSET; what the strategy does not offer (INCR, CAS, WAIT) is refused with a
clear error.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import unittest

import redis

from harness import BINARY, HOST, free_cluster_base, info, wait_until

NODES = 5


class LeaderlessCluster:
    def __init__(self, *settings, nodes=NODES, extra=()):
        self.dir = tempfile.mkdtemp(prefix="replikv-leaderless-")
        self.nodes = nodes
        self.extra = list(extra)
        self.base = free_cluster_base(nodes)
        self.settings = [arg for setting in settings for arg in ("--set", setting)]

    def cli(self, *args):
        result = subprocess.run([BINARY, "cluster", *args, "--dir", self.dir], capture_output=True, text=True,
                                timeout=120)
        if result.returncode != 0:
            raise AssertionError(f"replikv cluster {' '.join(args)} exited {result.returncode}:\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def start(self):
        self.cli("start", "--nodes", str(self.nodes), "--port", str(self.base), "--strategy", "leaderless",
                 "--set", "n=3", "--set", "w=2", "--set", "r=2", "--set", "request_timeout_ms=2000",
                 *self.settings, *self.extra)
        return self

    def client(self, node):
        return redis.Redis(host=HOST, port=self.base + node - 1, socket_timeout=15)

    def kill(self, node):
        with open(os.path.join(self.dir, f"n{node}", "replikv.pid")) as f:
            os.kill(int(f.read()), signal.SIGKILL)

    def stop(self):
        subprocess.run([BINARY, "cluster", "stop", "--dir", self.dir], capture_output=True, timeout=120)
        for node in range(1, self.nodes + 1):
            try:
                self.kill(node)
            except (OSError, ValueError):
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


class LeaderlessTest(unittest.TestCase):
    def setUp(self):
        self.cluster = LeaderlessCluster().start()

    def tearDown(self):
        self.cluster.stop()

    def test_any_node_takes_any_request(self):
        keys = [f"key{i}" for i in range(40)]
        for i, key in enumerate(keys):
            self.assertTrue(self.cluster.client(i % NODES + 1).set(key, f"v{i}"))
        for node in range(1, NODES + 1):
            values = self.cluster.client(node).mget(keys)
            self.assertEqual(values, [f"v{i}".encode() for i in range(len(keys))])
        c = self.cluster.client(2)
        self.assertEqual(c.delete("key0", "key1", "missing"), 2)
        self.assertEqual(self.cluster.client(4).exists("key0", "key1", "key2"), 1)
        self.assertTrue(c.set("ttl", "x", px=60000))
        self.assertGreater(self.cluster.client(5).pttl("ttl"), 50000)

    def test_replica_counts_are_per_connection_and_bounded_by_n(self):
        c = self.cluster.client(1)
        self.assertEqual(c.execute_command("WCONSISTENCY"), b"default")
        self.assertTrue(c.execute_command("WCONSISTENCY", "all"))
        self.assertEqual(c.execute_command("WCONSISTENCY"), b"all")
        self.assertTrue(c.set("k", "v"))
        self.assertTrue(c.execute_command("CONSISTENCY", "one"))
        self.assertEqual(c.get("k"), b"v")
        self.assertEqual(c.execute_command("READ", "all", "GET", "k"), b"v")
        for command in (("WCONSISTENCY", "4"), ("CONSISTENCY", "4"), ("READ", "5", "GET", "k")):
            with self.assertRaises(redis.ResponseError) as raised:
                c.execute_command(*command)
            self.assertIn("exceeds n = 3", str(raised.exception))
        with self.assertRaises(redis.ResponseError) as raised:
            c.execute_command("CONSISTENCY", "session")
        self.assertIn("one, quorum, all", str(raised.exception))

    def test_one_node_down_writes_and_reads_go_on(self):
        self.cluster.kill(3)
        survivors = [1, 2, 4, 5]
        for i in range(60):
            self.assertTrue(self.cluster.client(survivors[i % 4]).set(f"d{i}", str(i)))
        for node in survivors:
            self.assertEqual(self.cluster.client(node).mget([f"d{i}" for i in range(60)]),
                             [str(i).encode() for i in range(60)])
        # W = all cannot be met for a key node 3 holds a replica of: -TIMEOUT, not OK.
        c = self.cluster.client(1)
        c.execute_command("WCONSISTENCY", "all")
        timeouts = 0
        for i in range(40):  # 3 of 5 keys have a replica on node 3
            try:
                c.set(f"all{i}", "x")
            except redis.ResponseError as error:
                self.assertIn("TIMEOUT", str(error))
                self.assertIn("may still take effect", str(error))
                timeouts += 1
                break
        self.assertGreater(timeouts, 0)

    def test_a_returning_replica_gets_its_writes_from_hints(self):
        self.cluster.kill(3)
        survivors = [1, 2, 4, 5]
        keys = [f"h{i}" for i in range(60)]
        for i, key in enumerate(keys):
            self.assertTrue(self.cluster.client(survivors[i % 4]).set(key, str(i)))

        def hints():
            return sum(int(info(self.cluster.client(n), "replication").get("replikv_hints", "0"))
                       for n in survivors)

        # The writes node 3 missed wait as hints once their requests' time is up.
        wait_until(lambda: hints() > 0, 15, "hints for node 3")
        self.cluster.cli("restart", "--node", "3")
        wait_until(lambda: hints() == 0, 30, "every hint replayed to node 3")
        # Every key now has its N = 3 copies: the five nodes hold 3 × 60 between them.
        copies = sum(self.cluster.client(n).dbsize() for n in range(1, NODES + 1))
        self.assertEqual(copies, 3 * len(keys))

    def test_anti_entropy_repairs_what_no_hint_carried(self):
        # No hints kept: only anti-entropy brings node 3 the writes it missed.
        self.cluster.stop()
        self.cluster = LeaderlessCluster("hints_max=0", "anti_entropy_interval_ms=200").start()
        self.cluster.kill(3)
        survivors = [1, 2, 4, 5]
        keys = [f"ae{i}" for i in range(60)]
        for i, key in enumerate(keys):
            self.assertTrue(self.cluster.client(survivors[i % 4]).set(key, str(i)))

        def settled():
            # Every coordinator gave up on node 3 (its resends stop; no hint kept): only
            # anti-entropy can bring node 3 the writes now.
            infos = [info(self.cluster.client(n), "replication") for n in survivors]
            return (all(i["replikv_requests_in_flight"] == "0" for i in infos)
                    and sum(int(i["replikv_hints_dropped"]) for i in infos) > 0)

        wait_until(settled, 30, "the coordinators to give up on node 3")
        self.cluster.cli("restart", "--node", "3")

        def roots(node):
            text = info(self.cluster.client(node), "replication")["replikv_anti_entropy_roots"]
            return dict(item.split(":") for item in text.split(","))

        def in_sync():
            if sum(self.cluster.client(n).dbsize() for n in range(1, NODES + 1)) != 3 * len(keys):
                return False
            # Every pair's trees of the keys both replicate have the same root.
            tree = {n: roots(n) for n in range(1, NODES + 1)}
            return all(tree[a][str(b)] == tree[b][str(a)]
                       for a in range(1, NODES + 1) for b in range(1, NODES + 1) if a != b)

        wait_until(in_sync, 30, "node 3 repaired by anti-entropy")
        exchanged = sum(int(info(self.cluster.client(n), "replication")["replikv_anti_entropy_keys"])
                        for n in range(1, NODES + 1))
        self.assertGreater(exchanged, 0)

    def test_sloppy_quorums_count_fallbacks_and_hand_over(self):
        # With sloppy_quorum on, a write whose replica is down goes to a fallback: W = all is met
        # with node 3 down (strict quorums answer -TIMEOUT, test above); node 3 gets its copies
        # back from the fallbacks when it returns.
        self.cluster.stop()
        self.cluster = LeaderlessCluster("sloppy_quorum=true", "heartbeat_interval_ms=100").start()
        self.cluster.kill(3)
        survivors = [1, 2, 4, 5]

        def gauge(name, nodes):
            return sum(int(info(self.cluster.client(n), "replication")[name]) for n in nodes)

        # A peer silent for five heartbeats is down: then the fallbacks step in.
        c = self.cluster.client(1)
        c.execute_command("WCONSISTENCY", "all")
        keys = [f"s{i}" for i in range(40)]

        def all_written():
            try:
                for key in keys:
                    c.set(key, "v")
                return True
            except redis.ResponseError:
                return False

        wait_until(all_written, 30, "writes at W = all through fallbacks")
        self.assertGreater(gauge("replikv_writes_sloppy", survivors), 0)
        self.assertGreater(gauge("replikv_fallback_copies", survivors), 0)
        self.cluster.cli("restart", "--node", "3")
        wait_until(lambda: gauge("replikv_fallback_copies", survivors) == 0, 30,
                   "every fallback copy handed over to node 3")
        # Every key now has its N = 3 copies, on its own replicas.
        copies = sum(self.cluster.client(n).dbsize() for n in range(1, NODES + 1))
        self.assertEqual(copies, 3 * len(keys))

    def test_deleted_keys_tombstones_are_collected(self):
        # Anti-entropy every 200 ms, a grace of 1 s: a delete every replica acknowledged is
        # collected after twice the request timeout and one anti-entropy cycle (about 5 s here).
        self.cluster.stop()
        self.cluster = LeaderlessCluster("anti_entropy_interval_ms=200", "tombstone_grace_ms=1000").start()
        c = self.cluster.client(1)
        keys = [f"t{i}" for i in range(30)]
        for key in keys:
            self.assertTrue(c.set(key, "v"))
        self.assertEqual(c.delete(*keys), len(keys))

        def tombstones():
            return sum(int(info(self.cluster.client(n), "replication")["replikv_tombstones"])
                       for n in range(1, NODES + 1))

        self.assertGreater(tombstones(), 0)
        try:
            wait_until(lambda: tombstones() == 0, 30, "every tombstone collected")
        except AssertionError:
            for n in range(1, NODES + 1):
                i = info(self.cluster.client(n), "replication")
                print(n, {k: v for k, v in i.items() if "tomb" in k or "reap" in k or "peer" in k})
            raise
        reaped = sum(int(info(self.cluster.client(n), "replication")["replikv_tombstones_reaped"])
                     for n in range(1, NODES + 1))
        self.assertEqual(reaped, 3 * len(keys))  # each key's 3 copies
        for node in range(1, NODES + 1):
            self.assertEqual(self.cluster.client(node).mget(keys), [None] * len(keys))
        # A key written again after its tombstone went is a new key like any other.
        self.assertTrue(self.cluster.client(2).set("t0", "again"))
        self.assertEqual(self.cluster.client(4).get("t0"), b"again")

    def test_linearizable_mode(self):
        self.cluster.stop()
        self.cluster = LeaderlessCluster("mode=linearizable").start()
        c = self.cluster.client(1)
        for i in range(20):
            self.assertTrue(self.cluster.client(i % NODES + 1).set(f"l{i}", str(i)))
        for node in range(1, NODES + 1):
            self.assertEqual(self.cluster.client(node).mget([f"l{i}" for i in range(20)]),
                             [str(i).encode() for i in range(20)])
        self.assertEqual(self.cluster.client(3).delete("l0", "missing"), 1)
        for command, words in ((("SET", "k", "v", "NX"), "needs consensus"),
                               (("SET", "k", "v", "EX", "10"), "times to live"),
                               (("EXPIRE", "l1", "10"), "times to live"),
                               (("VSET", "k", "-", "v"), "one value per key"),
                               (("WCONSISTENCY", "one"), "majority"),
                               (("CONSISTENCY", "one"), "majority")):
            with self.assertRaises(redis.ResponseError) as raised:
                c.execute_command(*command)
            self.assertIn(words, str(raised.exception))
        # One node down: majorities of every key's three replicas remain.
        self.cluster.kill(2)
        for i in range(20):
            self.assertTrue(self.cluster.client([1, 3, 4, 5][i % 4]).set(f"l{i}", f"x{i}"))
        for node in (1, 3, 4, 5):
            self.assertEqual(self.cluster.client(node).get("l7"), b"x7")

    def test_siblings_merge_with_vset(self):
        self.cluster.stop()
        self.cluster = LeaderlessCluster("conflict=siblings").start()
        c = self.cluster.client(1)
        c.set("s", "first")
        context, values = c.execute_command("VGET", "s")
        self.assertEqual(values, [b"first"])
        # Two writes from the same stale context: siblings.
        self.assertTrue(c.execute_command("VSET", "s", context, "left"))
        self.assertTrue(self.cluster.client(4).execute_command("VSET", "s", context, "right"))
        context, values = wait_until(lambda: self.cluster.client(2).execute_command("VGET", "s"), 10,
                                     "VGET s")
        self.assertEqual(sorted(values), [b"left", b"right"])
        self.assertTrue(self.cluster.client(5).execute_command("VSET", "s", context, "merged"))
        for node in range(1, NODES + 1):
            self.assertEqual(self.cluster.client(node).execute_command("VGET", "s")[1], [b"merged"])

    def test_what_it_does_not_offer_is_refused_clearly(self):
        c = self.cluster.client(1)
        for command, words in ((("INCR", "n"), "counters are not offered"),
                               (("CAS", "k", "a", "b"), "CAS needs consensus"),
                               (("WAIT", "1", "100"), "WAIT is not offered"),
                               (("VSET", "k", "not-a-context", "v"), "not a causal context")):
            with self.assertRaises(redis.ResponseError) as raised:
                c.execute_command(*command)
            self.assertIn(words, str(raised.exception))
        self.assertEqual(c.ping(), True)

    def test_hostile_contexts_leave_every_node_up(self):
        c = self.cluster.client(1)
        c.set("h", "1")
        context, _ = c.execute_command("VGET", "h")
        actor = context.decode().split(",")[0].rsplit(":", 1)[0]
        # A counter of 0, and one far ahead of anything its node wrote.
        self.assertTrue(c.execute_command("VSET", "h", f"{actor}:0", "zero"))
        self.assertTrue(c.execute_command("VSET", "h", f"{actor}:1000000000000", "ahead"))
        for node in range(1, NODES + 1):
            client = self.cluster.client(node)
            self.assertTrue(client.set("h", f"after{node}"))
            self.assertEqual(client.get("h"), f"after{node}".encode())
        for node in range(1, NODES + 1):
            self.assertEqual(self.cluster.client(node).ping(), True)


class CollectionsTest(unittest.TestCase):
    """Three nodes, N = 3 (every node a replica of every key), writes and reads at one replica:
    each side of a partition takes writes on its own copies, and the copies merge element by
    element once it heals (anti-entropy every 300 ms)."""


    def setUp(self):
        # (Read repair in the background: a read at one replica inside the partition cannot write
        # back to two.)
        self.cluster = LeaderlessCluster("anti_entropy_interval_ms=300", "read_repair=async", nodes=3,
                                         extra=["--test-faults"]).start()

    def tearDown(self):
        self.cluster.stop()

    def local(self, node):
        """A client of `node` that writes and reads at one replica: its own copy, while cut off."""
        client = self.cluster.client(node)
        client.execute_command("WCONSISTENCY", "one")
        client.execute_command("CONSISTENCY", "one")
        return client

    def partition(self, alone):
        self.cluster.client(alone).execute_command("FAULT", "CUT", "*")
        for node in (1, 2, 3):
            if node != alone:
                self.cluster.client(node).execute_command("FAULT", "CUT", str(alone))

    def heal(self):
        for node in (1, 2, 3):
            self.cluster.client(node).execute_command("FAULT", "HEAL")

    def test_a_partition_heals_into_add_wins_sets_and_every_increment(self):
        c1, c2, c3 = (self.local(n) for n in (1, 2, 3))
        self.assertEqual(self.cluster.client(1).sadd("s", "a", "b"), 2)  # at W = 2
        self.cluster.client(1).hset("h", "n", 10)
        self.cluster.client(1).zadd("z", {"m": 1.5})
        wait_until(lambda: all(self.local(n).smembers("s") == {b"a", b"b"} for n in (1, 2, 3)), 30,
                   "the set on every replica")
        wait_until(lambda: all(self.local(n).zscore("z", "m") == 1.5 for n in (1, 2, 3)), 30,
                   "the sorted set on every replica")
        wait_until(lambda: all(self.local(n).hget("h", "n") == b"10" for n in (1, 2, 3)), 30,
                   "the hash on every replica")
        self.partition(1)
        # Side 1 removes a and adds c; side 2 adds a again — concurrent with the removal — and
        # removes b. Both sides count.
        self.assertEqual(c1.srem("s", "a"), 1)
        self.assertEqual(c1.sadd("s", "c"), 1)
        self.assertEqual(c2.sadd("s", "a"), 0)  # a member there: an add all the same
        self.assertEqual(c2.srem("s", "b"), 1)
        for _ in range(3):
            c1.hincrby("h", "n", 5)
        self.assertEqual(c2.hincrby("h", "n", -2), 8)
        c3.hincrby("h", "n", 10)
        self.assertEqual(c1.zincrby("z", 0.5, "m"), 2.0)
        c1.zincrby("z", 0.5, "m")
        c3.zincrby("z", 1.25, "m")
        c1.hset("h", "g", "left")
        c2.hset("h", "g", "right")
        self.assertEqual(c1.smembers("s"), {b"b", b"c"}, "n1 alone has not seen the re-add")
        self.heal()
        expected = {"s": {b"a", b"c"}, "n": b"33", "m": 3.75}

        def merged(node):
            c = self.local(node)
            return {"s": c.smembers("s"), "n": c.hget("h", "n"), "m": c.zscore("z", "m")}

        wait_until(lambda: all(merged(n) == expected for n in (1, 2, 3)), 30,
                   "every replica's copy merged: a's add won, b is gone, 10 + 15 - 2 + 10, "
                   "1.5 + 0.5 + 0.5 + 1.25")
        for node in (1, 2, 3):
            self.assertEqual(self.local(node).scard("s"), 2)
        wait_until(lambda: len({self.local(n).hget("h", "g") for n in (1, 2, 3)}) == 1, 30,
                   "one value of the field written on both sides, the same on every replica")
        self.assertIn(self.local(1).hget("h", "g"), (b"left", b"right"))

    def test_the_families_answer_as_redis_and_what_takes_a_position_is_refused(self):
        c = self.cluster.client(2)
        self.assertEqual(c.hset("user", mapping={"name": "ada", "visits": 1}), 2)
        self.assertEqual(c.hincrby("user", "visits", 41), 42)
        self.assertEqual(self.cluster.client(3).hgetall("user"), {b"name": b"ada", b"visits": b"42"})
        self.assertEqual(c.type("user"), b"hash")
        with self.assertRaises(redis.ResponseError) as wrong:
            c.get("user")
        self.assertIn("WRONGTYPE", str(wrong.exception))
        c.zadd("board", {"ann": 10, "bob": 20, "cy": 15})
        self.assertEqual(self.cluster.client(1).zrange("board", 0, -1, desc=True, withscores=True),
                         [(b"bob", 20.0), (b"cy", 15.0), (b"ann", 10.0)])
        self.assertEqual(self.cluster.client(1).zrank("board", "cy"), 1)
        c.sadd("x", "1", "2", "3")
        c.sadd("y", "2", "3", "4")
        self.assertEqual(self.cluster.client(3).sinter("x", "y"), {b"2", b"3"})
        self.assertEqual(self.cluster.client(3).sunion("x", "y"), {b"1", b"2", b"3", b"4"})
        self.assertEqual(c.delete("x"), 1)
        self.assertEqual(self.cluster.client(1).smembers("x"), set())
        # SET over a hash replaces it, as in Redis.
        self.assertTrue(c.set("user", "plain"))
        self.assertEqual(self.cluster.client(1).get("user"), b"plain")
        with self.assertRaises(redis.ResponseError) as wrong:
            self.cluster.client(1).hgetall("user")
        self.assertIn("WRONGTYPE", str(wrong.exception))
        for words, says in ((["LPUSH", "l", "x"], "by its position"),
                            (["SPOP", "y"], "by its position"),
                            (["ZPOPMIN", "board"], "by its position"),
                            (["SMOVE", "y", "x", "2"], "several keys"),
                            (["SUNIONSTORE", "d", "x", "y"], "several keys"),
                            (["HINCRBYFLOAT", "user2", "f", "1.5"], "HINCRBYFLOAT"),
                            (["EXPIRE", "board", "10"], "time to live on a collection"),
                            (["FLUSHALL"], "no write spans the ring")):
            with self.assertRaises(redis.ResponseError) as refused:
                c.execute_command(*words)
            self.assertIn("leaderless", str(refused.exception))
            self.assertIn(says, str(refused.exception))
        self.assertEqual(c.zcard("board"), 3)
        self.assertEqual(c.ping(), True)


if __name__ == "__main__":
    unittest.main()
