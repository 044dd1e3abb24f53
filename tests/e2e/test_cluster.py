"""Three real nodes with strategy "leader" (Raft), started by `replikv cluster`, on loopback.

What a user relies on: any node takes any command (forwarding, follower reads, CAS); ROLE and
INFO replication in Redis's shape; a leader killed with SIGKILL is replaced within 30 s and no
acknowledged insert is lost; the old leader rejoins and catches up; a leader cut off by the fault
layer steps down while the majority moves on, and after the heal there is one history; peers of
another cluster and frames that do not decode are refused and counted while the node stays up.
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

import redis

from harness import BINARY, HOST, free_cluster_base, info, raw_exchange, wait_until

ELECTION_TIMEOUT_MS = 1000  # long enough that two shared cores under sanitizers elect no one spuriously


class Cluster:
    def __init__(self, *extra, nodes=3, ack="majority"):
        self.dir = tempfile.mkdtemp(prefix="replikv-cluster-")
        self.base = free_cluster_base(nodes)
        self.extra = list(extra)
        self.nodes = nodes
        self.ack = ack

    @property
    def all(self):
        return tuple(range(1, self.nodes + 1))

    def cli(self, *args, check=True, timeout=120):
        result = subprocess.run([BINARY, "cluster", *args, "--dir", self.dir], capture_output=True, text=True,
                                timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"replikv cluster {' '.join(args)} exited {result.returncode}:\n"
                                 f"{result.stdout}\n{result.stderr}\n{self.logs()}")
        return result

    def start(self):
        self.cli("start", "--nodes", str(self.nodes), "--port", str(self.base), "--strategy", "leader", "--ack", self.ack,
                 "--failover", "auto", "--election-timeout-ms", str(ELECTION_TIMEOUT_MS), "--test-faults",
                 *self.extra)
        return self

    def port(self, node):
        return self.base + node - 1

    def client(self, node, **kwargs):
        kwargs.setdefault("socket_timeout", 15)
        return redis.Redis(host=HOST, port=self.port(node), **kwargs)

    def pid(self, node):
        with open(os.path.join(self.dir, f"n{node}", "replikv.pid")) as f:
            return int(f.read())

    def replication(self, node):
        return info(self.client(node), "replication")

    def leader(self, among=None):
        for node in among or self.all:
            try:
                if self.replication(node).get("replikv_raft_role") == "leader":
                    return node
            except redis.RedisError:
                pass
        return None

    def logs(self):
        out = []
        for node in self.all:
            path = os.path.join(self.dir, f"n{node}", "replikv.log")
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    out.append(f"--- n{node} ---\n" + f.read()[-3000:])
        return "\n".join(out)

    def stop(self):
        self.cli("stop", check=False)
        # Anything still there (a failed test) goes by PID.
        for node in self.all:
            try:
                os.kill(self.pid(node), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


class ClusterCommandsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster().start()

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()

    def test_status_names_one_leader(self):
        result = self.cluster.cli("status")
        rows = [line.split() for line in result.stdout.splitlines()[1:]]
        self.assertEqual([row[2] for row in rows], ["running"] * 3, result.stdout)
        self.assertEqual(sum(1 for row in rows if row[4] == "leader"), 1, result.stdout)

    def test_any_node_takes_writes_and_reads(self):
        leader = wait_until(self.cluster.leader, 30, "a leader")
        follower = leader % 3 + 1
        other = follower % 3 + 1
        self.assertTrue(self.cluster.client(follower).set("fwd", "from-a-follower"))
        # Linearizable reads at every node, the leader's and the followers' alike.
        for node in (1, 2, 3):
            self.assertEqual(self.cluster.client(node).get("fwd"), b"from-a-follower", f"node {node}")
        self.cluster.client(leader).set("lead", "1")
        self.assertEqual(self.cluster.client(other).get("lead"), b"1")
        self.assertEqual(self.cluster.client(follower).incrby("counter", 5), 5)
        # Expiry through a follower: the leader turns "in 100 s" into an instant, every node agrees.
        self.assertTrue(self.cluster.client(follower).expire("fwd", 100))
        for node in (1, 2, 3):
            self.assertIn(self.cluster.client(node).ttl("fwd"), (99, 100), f"node {node}")
        self.assertTrue(self.cluster.client(other).persist("fwd"))
        self.assertEqual(self.cluster.client(leader).ttl("fwd"), -1)
        self.assertGreaterEqual(int(self.cluster.replication(follower)["replikv_writes_forwarded"]), 2)

    def test_cas_is_decided_by_the_leader(self):
        leader = wait_until(self.cluster.leader, 30, "a leader")
        follower = leader % 3 + 1
        f = self.cluster.client(follower)
        self.assertEqual(f.execute_command("CAS", "cas-key", "v1"), 1)        # expected absent
        self.assertEqual(f.execute_command("CAS", "cas-key", "v2"), 0)        # no longer absent
        self.assertEqual(f.execute_command("CAS", "cas-key", "nope", "v2"), 0)
        self.assertEqual(self.cluster.client(leader).execute_command("CAS", "cas-key", "v1", "v2"), 1)
        self.assertEqual(f.get("cas-key"), b"v2")
        with self.assertRaises(redis.ResponseError) as error:
            f.execute_command("CAS", "cas-key")
        self.assertIn("wrong number of arguments", str(error.exception))

    def test_role_and_info_replication_in_redis_shape(self):
        leader = wait_until(self.cluster.leader, 30, "a leader")
        self.cluster.client(leader).set("role-probe", "x")
        role = self.cluster.client(leader).execute_command("ROLE")
        self.assertEqual(role[0], b"master")
        self.assertEqual(len(role[2]), 2)
        ports = sorted(int(entry[1]) for entry in role[2])
        self.assertEqual(ports, sorted(self.cluster.port(n) for n in (1, 2, 3) if n != leader))
        follower = leader % 3 + 1
        follower_role = self.cluster.client(follower).execute_command("ROLE")
        self.assertEqual(follower_role[0], b"slave")
        self.assertEqual(follower_role[1], HOST.encode())
        self.assertEqual(follower_role[2], self.cluster.port(leader))
        self.assertEqual(follower_role[3], b"connected")
        leader_info = self.cluster.replication(leader)
        self.assertEqual(leader_info["role"], "master")
        self.assertEqual(leader_info["connected_slaves"], "2")
        self.assertIn("slave0", leader_info)
        self.assertIn("lag_entries", leader_info["slave0"])  # redis-py parses the line into fields
        follower_info = self.cluster.replication(follower)
        self.assertEqual(follower_info["role"], "slave")
        self.assertEqual(follower_info["master_port"], str(self.cluster.port(leader)))
        self.assertEqual(follower_info["master_link_status"], "up")
        self.assertEqual(follower_info["replikv_term"], leader_info["replikv_term"])

    def test_status_endpoint_shows_positions_and_lag(self):
        leader = wait_until(self.cluster.leader, 30, "a leader")
        self.cluster.client(leader).set("status-probe", "x")
        with urllib.request.urlopen(f"http://{HOST}:{self.cluster.base + 100 + leader - 1}/status", timeout=10) as r:
            status = json.loads(r.read())
        self.assertEqual(status["role"], "leader")
        self.assertEqual(status["strategy"], "leader")
        self.assertGreaterEqual(status["term"], 1)
        self.assertGreaterEqual(status["commit_index"], 1)
        self.assertEqual(len(status["peers"]), 2)
        for peer in status["peers"]:
            self.assertIn("lag_entries", peer)
            self.assertIn("match_index", peer)
        # The strategy's own metrics are in /status, and its command in COMMAND.
        self.assertEqual(status["raft_role"], "leader")
        self.assertGreaterEqual(status["last_index"], status["commit_index"])
        self.assertEqual(status["peer_protocol_violations"], 0)
        failover = raw_exchange(self.cluster.base + leader - 1, b"COMMAND INFO FAILOVER\r\n", 0.5)
        self.assertTrue(failover.startswith(b"*1\r\n*"), failover)
        self.assertIn(b"$8\r\nfailover\r\n", failover)

    def test_fault_command_checks_its_arguments(self):
        c = self.cluster.client(1)
        with self.assertRaises(redis.ResponseError) as error:
            c.execute_command("FAULT", "CUT", "9")
        self.assertIn("no peer '9'", str(error.exception))
        with self.assertRaises(redis.ResponseError):
            c.execute_command("FAULT", "LOSS", "2", "101")
        self.assertTrue(c.execute_command("FAULT", "STATUS"))

    def test_peers_of_another_cluster_and_bad_frames_are_refused(self):
        node = 1
        peer_port = self.cluster.base + 200 + node - 1
        before = self.cluster.replication(node)

        def hello(cluster_id, sender, to):
            body = b"\x08\x01" + b"\x12" + bytes([len(cluster_id)]) + cluster_id + b"\x18" + bytes([sender]) + \
                b"\x20" + bytes([to])
            return struct.pack(">I", len(body)) + body

        def send(payload):
            with socket.create_connection((HOST, peer_port), timeout=5) as s:
                s.sendall(payload)
                s.settimeout(2)
                try:
                    while s.recv(4096):
                        pass
                except (socket.timeout, ConnectionResetError):
                    pass

        send(hello(b"someone-else", 2, node))         # another cluster
        send(hello(b"replikv", 7, node))               # not a member
        send(b"\x00\x00\x00\x03abc")                   # not a hello at all
        send(struct.pack(">I", 0xFFFFFFFF))            # over the frame limit
        # A member's hello, then a frame that does not decode as a message.
        send(hello(b"replikv", node % 3 + 1, node) + struct.pack(">I", 5) + b"\xff\xff\xff\xff\xff")
        after = wait_until(lambda: (lambda i: i if int(i["replikv_peer_malformed_messages"]) >
                                    int(before["replikv_peer_malformed_messages"]) else None)(
                                        self.cluster.replication(node)), 10, "the malformed frame counted")
        self.assertEqual(int(after["replikv_peer_handshakes_refused"]),
                         int(before["replikv_peer_handshakes_refused"]) + 3)
        self.assertEqual(int(after["replikv_peer_frames_refused"]), int(before["replikv_peer_frames_refused"]) + 1)
        self.assertTrue(self.cluster.client(node).ping())
        self.assertTrue(self.cluster.client(node).set("still-up", "1"))


class RedirectTest(unittest.TestCase):
    def test_a_follower_names_the_leader_instead_of_forwarding(self):
        cluster = Cluster("--redirect").start()
        try:
            leader = wait_until(cluster.leader, 30, "a leader")
            follower = leader % 3 + 1
            with self.assertRaises(redis.ResponseError) as error:
                cluster.client(follower).set("k", "v")
            self.assertEqual(str(error.exception),
                             f"NOTLEADER the leader is node {leader} at {HOST}:{cluster.port(leader)}")
            self.assertIsNone(cluster.client(leader).get("k"), "a refused write was not applied")
        finally:
            cluster.stop()


class Inserter(threading.Thread):
    """Inserts unique keys through every node in turn; records the ones acknowledged."""

    def __init__(self, cluster, name):
        super().__init__(daemon=True)
        self.cluster = cluster
        self.name_prefix = name
        self.acknowledged = []
        self.errors = 0
        self.stop_flag = threading.Event()

    def run(self):
        clients = {n: self.cluster.client(n, socket_timeout=8) for n in self.cluster.all}
        i = 0
        while not self.stop_flag.is_set():
            key = f"{self.name_prefix}-{i}"
            node = 1 + i % self.cluster.nodes
            try:
                if clients[node].set(key, "1"):
                    self.acknowledged.append(key)
            except (redis.RedisError, OSError):
                self.errors += 1
                time.sleep(0.02)
            i += 1


class Inserters:
    """A group of Inserter threads, started on entering and stopped (joined) on leaving."""

    def __init__(self, cluster, prefix, count=2):
        self.threads = [Inserter(cluster, f"{prefix}{t}") for t in range(count)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        for t in self.threads:
            t.stop_flag.set()
        for t in self.threads:
            t.join(timeout=30)
        return False

    def count(self):
        return sum(len(t.acknowledged) for t in self.threads)

    def wait_for(self, more, what, timeout_s=30):
        """Waits until `more` inserts beyond the count now are acknowledged."""
        target = self.count() + more
        wait_until(lambda: self.count() >= target, timeout_s, what)

    def acknowledged(self):
        return [key for t in self.threads for key in t.acknowledged]


class FailoverTest(unittest.TestCase):
    def setUp(self):
        self.cluster = Cluster().start()

    def tearDown(self):
        self.cluster.stop()

    def test_kill9_leader_a_new_leader_serves_and_no_acknowledged_insert_is_lost(self):
        cluster = self.cluster
        old = wait_until(cluster.leader, 30, "a leader")
        bench = subprocess.Popen(["redis-benchmark", "-h", HOST, "-p", str(cluster.port(old)), "-t", "set",
                                  "-n", "100000", "-c", "8", "-r", "1000", "-q"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with Inserters(cluster, "ins") as inserters:
                inserters.wait_for(50, "inserts before the crash")
                os.kill(cluster.pid(old), signal.SIGKILL)
                killed_at = time.monotonic()
                others = [n for n in (1, 2, 3) if n != old]
                new = wait_until(lambda: cluster.leader(others), 30, "a new leader after kill -9")
                # It serves writes.
                wait_until(lambda: cluster.client(new).set("after-failover", "1"), 30, "a write on the new leader")
                print(f"\nnew leader n{new} serving {time.monotonic() - killed_at:.2f}s after kill -9 of n{old}")
                inserters.wait_for(20, "inserts after the failover")
        finally:
            bench.kill()
            bench.wait(timeout=10)
        # The old leader rejoins as a follower and catches up.
        cluster.cli("restart", "--node", f"n{old}")
        wait_until(lambda: cluster.replication(old)["replikv_raft_role"] == "follower" and
                   cluster.replication(old)["replikv_leader_id"] != "0", 30, "the old leader following")
        target = int(cluster.replication(new)["replikv_commit_index"])
        wait_until(lambda: int(cluster.replication(old)["replikv_applied_index"]) >= target, 30,
                   "the old leader catching up")
        acknowledged = inserters.acknowledged()
        self.assertGreater(len(acknowledged), 70)
        for node in (1, 2, 3):
            c = cluster.client(node)
            values = []
            for start in range(0, len(acknowledged), 500):
                values += c.mget(acknowledged[start:start + 500])
            missing = [k for k, v in zip(acknowledged, values) if v is None]
            self.assertEqual(missing, [], f"acknowledged inserts missing on n{node}")
        # One history: every node holds the same keys.
        wait_until(lambda: len({cluster.client(n).dbsize() for n in (1, 2, 3)}) == 1, 30, "equal key counts")

    def test_an_isolated_leader_steps_down_and_the_majority_moves_on(self):
        cluster = self.cluster
        old = wait_until(cluster.leader, 30, "a leader")
        old_term = int(cluster.replication(old)["replikv_term"])
        others = [n for n in (1, 2, 3) if n != old]
        cluster.client(old).execute_command("FAULT", "CUT", "*")
        for n in others:
            cluster.client(n).execute_command("FAULT", "CUT", str(old))
        # A write to the cut-off leader cannot commit: it ends in an error, never in OK.
        outcome = None
        try:
            cluster.client(old).set("during-cut", "x")
            outcome = "ok"
        except redis.ResponseError as error:
            outcome = str(error)
        self.assertNotEqual(outcome, "ok")
        wait_until(lambda: cluster.replication(old)["replikv_raft_role"] != "leader", 30, "the old leader stepping down")
        new = wait_until(lambda: cluster.leader(others), 30, "a leader on the majority side")
        self.assertGreater(int(cluster.replication(new)["replikv_term"]), old_term)
        self.assertTrue(cluster.client(new).set("majority-side", "1"))
        for n in (1, 2, 3):
            cluster.client(n).execute_command("FAULT", "HEAL")
        wait_until(lambda: cluster.replication(old)["replikv_leader_id"] == str(new), 30, "the old leader following")
        commit = int(cluster.replication(new)["replikv_commit_index"])
        wait_until(lambda: all(int(cluster.replication(n)["replikv_applied_index"]) >= commit for n in (1, 2, 3)),
                   30, "every node applying the same log")
        for n in (1, 2, 3):
            self.assertEqual(cluster.client(n).get("majority-side"), b"1")
        # A definite error means the write was not applied; TIMEOUT leaves both possible.
        value = cluster.client(new).get("during-cut")
        if not outcome.startswith("TIMEOUT"):
            self.assertIsNone(value, outcome)
        self.assertEqual(len({cluster.client(n).get("during-cut") for n in (1, 2, 3)}), 1)


def digest(client):
    return client.execute_command("DEBUG", "DIGEST")


class SnapshotTest(unittest.TestCase):
    """A follower stopped while the leader compacts its log past it catches up by snapshot (in
    many chunks), then by the log, while the cluster keeps serving; its data equals the
    leader's (DEBUG DIGEST)."""

    def setUp(self):
        # The log is compacted only below the last checkpoint: one every 100 entries lets it
        # compact as it grows past 200 (docs/storage.md).
        self.cluster = Cluster("--set", "log_compact_entries=200", "--set", "log_keep_entries=20",
                               "--set", "checkpoint_entries=100",
                               "--set", "snapshot_chunk_bytes=4096").start()

    def tearDown(self):
        self.cluster.stop()

    def write_batch(self, client, prefix, count, start=0):
        pipe = client.pipeline(transaction=False)
        for i in range(start, start + count):
            pipe.set(f"{prefix}{i}", "x" * 100)
        pipe.execute()

    def test_a_follower_behind_the_compacted_log_catches_up_by_snapshot(self):
        cluster = self.cluster
        leader = wait_until(cluster.leader, 30, "a leader")
        away = leader % 3 + 1
        writer = cluster.client(leader)
        self.write_batch(writer, "before", 300)
        wait_until(lambda: int(cluster.replication(away)["replikv_applied_index"]) >=
                   int(cluster.replication(leader)["replikv_commit_index"]), 30, "the follower caught up")
        cluster.cli("stop", "--node", f"n{away}")
        away_last = int(cluster.replication(leader)["replikv_commit_index"])
        for start in range(0, 2000, 200):
            self.write_batch(writer, "while-away", 200, start)
        writer.set("counter", 5)
        writer.incrby("counter", 37)
        writer.set("expiring", "soon", ex=3600)
        # A follower heard from within an election timeout still holds the log back; once it is
        # gone for longer, the leader compacts past it (at its next checkpoint).
        wait_until(lambda: int(cluster.replication(leader)["replikv_log_first_index"]) > away_last + 1, 30,
                   "the leader compacted past the stopped follower")
        cluster.cli("restart", "--node", f"n{away}")
        # The cluster keeps serving while the follower catches up.
        self.write_batch(writer, "during", 100)
        wait_until(lambda: int(cluster.replication(away)["replikv_snapshots_installed"]) >= 1, 60,
                   "a snapshot installed")
        self.write_batch(writer, "after", 100)
        wait_until(lambda: int(cluster.replication(away)["replikv_applied_index"]) >=
                   int(cluster.replication(leader)["replikv_commit_index"]), 60, "the follower caught up")
        self.assertGreaterEqual(int(cluster.replication(leader)["replikv_snapshots_sent"]), 1)
        self.assertGreater(int(cluster.replication(away)["replikv_snapshot_chunks_received"]), 10,
                           "many chunks")
        self.assertEqual(cluster.replication(away)["replikv_snapshot_installing"], "0")
        wait_until(lambda: len({digest(cluster.client(n)) for n in (1, 2, 3)}) == 1, 30, "equal digests")
        follower = cluster.client(away)
        self.assertEqual(follower.get("counter"), b"42")
        self.assertGreater(follower.ttl("expiring"), 3000)
        keys = ([f"before{i}" for i in range(300)] + [f"while-away{i}" for i in range(2000)] +
                [f"during{i}" for i in range(100)] + [f"after{i}" for i in range(100)])
        self.assertEqual(follower.mget(keys), writer.mget(keys))
        self.assertEqual(follower.dbsize(), writer.dbsize())


class CheckpointTest(unittest.TestCase):
    """The applied state waits in memory for a checkpoint (docs/storage.md): INFO persistence says
    how much; a follower killed with SIGKILL before one restarts from the last and applies the
    log's entries after it again — INCRs included, which show an entry applied twice or missed."""

    def setUp(self):
        self.cluster = Cluster("--set", "checkpoint_entries=1000000",
                               "--set", "checkpoint_interval_ms=3600000").start()

    def tearDown(self):
        self.cluster.stop()

    def test_a_follower_killed_before_a_checkpoint_applies_the_log_again(self):
        cluster = self.cluster
        leader = wait_until(cluster.leader, 30, "a leader")
        away = leader % 3 + 1
        writer = cluster.client(leader)
        pipe = writer.pipeline(transaction=False)
        for i in range(500):
            pipe.set(f"k{i}", f"v{i}")
        for _ in range(100):
            pipe.incr("counter")
        pipe.execute()
        applied = lambda: int(cluster.replication(away)["replikv_applied_index"])
        target = int(cluster.replication(leader)["replikv_commit_index"])
        wait_until(lambda: applied() >= target, 30, "the follower caught up")
        persistence = info(cluster.client(away), "persistence")
        self.assertGreaterEqual(int(persistence["replikv_dirty_records"]), 501)
        self.assertLess(int(persistence["replikv_checkpoint_index"]), applied())
        before = digest(cluster.client(away))
        self.assertEqual(before, digest(writer))

        os.kill(cluster.pid(away), signal.SIGKILL)
        cluster.cli("restart", "--node", f"n{away}")
        follower = cluster.client(away)
        wait_until(lambda: applied() >= target, 30, "the follower applied the log again")
        self.assertEqual(digest(follower), before)
        self.assertEqual(follower.get("counter"), b"100")
        self.assertEqual(follower.dbsize(), 501)
        writer.incr("counter")
        wait_until(lambda: follower.get("counter") == b"101", 30, "the next write on the follower")


class EmptyDataDirectoryTest(unittest.TestCase):
    """A follower whose data directory is deleted (a replaced disk) and restarted catches up as a
    non-voter: its data equals the leader's, it says it is a non-voter, and it counts toward no
    quorum — with the other follower stopped, the leader cannot commit."""

    def setUp(self):
        self.cluster = Cluster("--set", "log_compact_entries=200", "--set", "log_keep_entries=20",
                               "--set", "request_timeout_ms=1500").start()

    def tearDown(self):
        self.cluster.stop()

    def test_a_node_back_with_an_empty_data_directory_is_a_non_voter(self):
        cluster = self.cluster
        leader = wait_until(cluster.leader, 30, "a leader")
        wiped = leader % 3 + 1
        other = 6 - leader - wiped
        writer = cluster.client(leader)
        for start in range(0, 1000, 200):
            pipe = writer.pipeline(transaction=False)
            for i in range(start, start + 200):
                pipe.set(f"key{i}", i)
            pipe.execute()
        self.assertEqual(cluster.replication(wiped)["replikv_voter"], "1")
        # The log compacted (at the next checkpoint): the new node cannot be caught up by entries.
        wait_until(lambda: int(cluster.replication(leader)["replikv_log_first_index"]) > 1, 30,
                   "the leader's log compacted")
        cluster.cli("stop", "--node", f"n{wiped}")
        shutil.rmtree(os.path.join(cluster.dir, f"n{wiped}", "data"))
        cluster.cli("restart", "--node", f"n{wiped}")
        wait_until(lambda: int(cluster.replication(wiped)["replikv_snapshots_installed"]) >= 1, 60,
                   "a snapshot installed")
        wait_until(lambda: int(cluster.replication(wiped)["replikv_applied_index"]) >=
                   int(cluster.replication(leader)["replikv_commit_index"]), 60, "the new node caught up")
        self.assertEqual(cluster.replication(wiped)["replikv_voter"], "0")
        wait_until(lambda: len({digest(cluster.client(n)) for n in (1, 2, 3)}) == 1, 30, "equal digests")
        self.assertEqual(cluster.client(wiped).dbsize(), 1000)
        status = json.loads(urllib.request.urlopen(
            f"http://{HOST}:{cluster.base + 100 + leader - 1}/status", timeout=10).read())
        voters = {row["node_id"]: row["voter"] for row in status["peers"]}
        self.assertEqual(voters, {wiped: False, other: True}, status)
        with open(os.path.join(cluster.dir, f"n{wiped}", "replikv.log"), errors="replace") as f:
            self.assertIn("non-voter", f.read())
        # The leader and the non-voter are no majority: with the other follower stopped, the leader
        # hears from no majority and steps down (check-quorum), and writes are refused.
        cluster.cli("stop", "--node", f"n{other}")
        wait_until(lambda: cluster.replication(leader)["replikv_raft_role"] != "leader", 30,
                   "the leader stepping down")
        with self.assertRaises(redis.exceptions.ResponseError) as refused:
            writer.set("unconfirmed", "1")
        self.assertRegex(str(refused.exception), "NOTLEADER|TIMEOUT")
        self.assertEqual(cluster.replication(wiped)["replikv_raft_role"], "follower")
        cluster.cli("restart", "--node", f"n{other}")
        leader = wait_until(cluster.leader, 30, "a leader again")
        self.assertNotEqual(leader, wiped, "a non-voter never leads")
        cluster.client(leader).set("after", "1")
        wait_until(lambda: len({digest(cluster.client(n)) for n in (1, 2, 3)}) == 1, 30, "equal digests")


class AckPolicyTest(unittest.TestCase):
    """ack = "sync": a write waits for every follower; with one stopped it is answered -TIMEOUT
    (unconfirmed: it may still take effect) within the request timeout, the node stays healthy,
    and writes go through again once the follower is back."""

    def setUp(self):
        self.cluster = Cluster()

    def tearDown(self):
        self.cluster.stop()

    def test_sync_times_out_without_every_follower(self):
        cluster = self.cluster
        cluster.cli("start", "--nodes", "3", "--port", str(cluster.base), "--strategy", "leader", "--ack", "sync",
                    "--failover", "auto", "--election-timeout-ms", str(ELECTION_TIMEOUT_MS), "--set",
                    "request_timeout_ms=1500")
        leader = wait_until(cluster.leader, 30, "a leader")
        writer = cluster.client(leader)
        self.assertTrue(writer.set("before", "1"))
        self.assertEqual(cluster.replication(leader)["replikv_ack"], "sync")
        stopped = leader % 3 + 1
        cluster.cli("stop", "--node", f"n{stopped}")
        started = time.monotonic()
        with self.assertRaises(redis.exceptions.ResponseError) as timeout:
            writer.set("unconfirmed", "1")
        waited = time.monotonic() - started
        self.assertIn("TIMEOUT", str(timeout.exception))
        self.assertLess(waited, 10, "answered within its timeout (1.5 s), not held")
        self.assertEqual(writer.ping(), True)
        cluster.cli("restart", "--node", f"n{stopped}")
        leader = wait_until(cluster.leader, 30, "a leader")
        wait_until(lambda: cluster.client(leader).set("after", "1"), 30, "a sync write with every follower back")
        self.assertEqual(cluster.client(stopped).get("after"), b"1")

    def test_a_bad_ack_is_refused_before_anything_starts(self):
        result = self.cluster.cli("start", "--nodes", "3", "--port", str(self.cluster.base), "--strategy", "leader",
                                  "--ack", "3", check=False)
        self.assertEqual(result.returncode, 2)
        self.assertIn("ack: expected \"majority\", \"async\", \"sync\" or a follower count from 1 to 2", result.stderr)


class ClusterConfigTest(unittest.TestCase):
    def test_leader_without_peers_is_refused(self):
        result = subprocess.run([BINARY, "server", "--strategy", "leader", "--port", "0", "--admin-port", "0"],
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 2)
        self.assertIn("peers", result.stderr)

    def test_a_node_missing_from_its_member_list_is_refused(self):
        result = subprocess.run([BINARY, "server", "--strategy", "leader", "--node-id", "4", "--peers",
                                 "1=127.0.0.1:1,2=127.0.0.1:2", "--port", "0", "--admin-port", "0"],
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 2)
        self.assertIn("not in the member list", result.stderr)

    def test_status_of_a_missing_cluster_says_so(self):
        empty = tempfile.mkdtemp(prefix="replikv-nocluster-")
        try:
            result = subprocess.run([BINARY, "cluster", "status", "--dir", empty], capture_output=True, text=True,
                                    timeout=30)
            self.assertEqual(result.returncode, 1)
            self.assertIn("no cluster", result.stderr)
        finally:
            shutil.rmtree(empty, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
