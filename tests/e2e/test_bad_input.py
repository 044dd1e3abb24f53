"""Garbage, truncated and oversized input: Redis-style errors, no crash, nothing lost."""
import os
import socket
import time
import unittest

import redis

from harness import SingleNodeTest, HOST, Node, raw_exchange


class BadInput(SingleNodeTest):
    node_args = ("--max-bulk-bytes", "1024", "--max-array-length", "100", "--max-clients", "20")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.node.client().set("sentinel", "still here")

    def assert_healthy(self):
        self.assertTrue(self.node.alive(), self.node.read_log())
        self.assertEqual(self.node.client().get("sentinel"), b"still here")

    def test_garbage_gets_protocol_error_and_close(self):
        reply = raw_exchange(self.node.port, b"*abc\r\n")
        self.assertEqual(reply, b"-ERR Protocol error: invalid multibulk length\r\n")
        reply = raw_exchange(self.node.port, b"*1\r\n:12\r\n")
        self.assertEqual(reply, b"-ERR Protocol error: expected '$', got ':'\r\n")
        reply = raw_exchange(self.node.port, b'SET "open\r\n')
        self.assertEqual(reply, b"-ERR Protocol error: unbalanced quotes in request\r\n")
        self.assert_healthy()

    def test_random_bytes_never_crash(self):
        rng = __import__("random").Random(7)
        for _ in range(40):
            payload = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
            raw_exchange(self.node.port, payload, read_timeout_s=0.1)
        self.assert_healthy()

    def test_truncated_request_waits_then_client_leaves(self):
        reply = raw_exchange(self.node.port, b"*3\r\n$3\r\nSET\r\n$8\r\nsentinel\r\n$3\r\nba",
                             read_timeout_s=0.3)
        self.assertEqual(reply, b"")
        self.assert_healthy()  # the half-sent SET never ran

    def test_oversized_bulk_is_refused(self):
        reply = raw_exchange(self.node.port, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1025\r\n")
        self.assertEqual(reply, b"-ERR Protocol error: invalid bulk length\r\n")
        with self.assertRaisesRegex(redis.ResponseError, "invalid bulk length"):
            self.node.client().set("k", b"x" * 2000)
        self.assertEqual(self.node.client().set("k", b"x" * 1000), True)
        self.assert_healthy()

    def test_oversized_array_is_refused(self):
        reply = raw_exchange(self.node.port, b"*101\r\n")
        self.assertEqual(reply, b"-ERR Protocol error: invalid multibulk length\r\n")
        self.assert_healthy()

    def test_inline_line_too_long(self):
        reply = raw_exchange(self.node.port, b"GET " + b"a" * 70000)
        self.assertEqual(reply, b"-ERR Protocol error: too big inline request\r\n")
        self.assert_healthy()

    def test_errors_do_not_close_the_connection(self):
        reply = raw_exchange(self.node.port,
                             b"NOSUCH a b\r\nGET\r\nINCR sentinel\r\nSET k v EX 0\r\nPING\r\n",
                             read_timeout_s=0.3)
        self.assertEqual(reply,
                         b"-ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' \r\n"
                         b"-ERR wrong number of arguments for 'get' command\r\n"
                         b"-ERR value is not an integer or out of range\r\n"
                         b"-ERR invalid expire time in 'set' command\r\n"
                         b"+PONG\r\n")
        self.assert_healthy()

    def test_too_many_clients(self):
        sockets = []
        try:
            refused = None
            for _ in range(40):
                s = socket.create_connection((HOST, self.node.port), timeout=2)
                sockets.append(s)
                s.sendall(b"PING\r\n")
                reply = s.recv(100)
                if reply.startswith(b"-"):
                    refused = reply
                    break
            self.assertEqual(refused, b"-ERR max number of clients reached\r\n")
        finally:
            for s in sockets:
                s.close()
        # The node notices the closed connections on its own schedule; wait (bounded) for a slot.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                self.node.client().ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        self.assert_healthy()

    def test_requests_split_across_packets(self):
        with socket.create_connection((HOST, self.node.port), timeout=2) as s:
            request = b"*3\r\n$3\r\nSET\r\n$5\r\nsplit\r\n$5\r\nvalue\r\n*2\r\n$3\r\nGET\r\n$5\r\nsplit\r\n"
            for byte in request:
                s.sendall(bytes([byte]))
            data = b""
            while data.count(b"\r\n") < 3:
                data += s.recv(100)
        self.assertEqual(data, b"+OK\r\n$5\r\nvalue\r\n")
        self.assert_healthy()


if __name__ == "__main__":
    unittest.main()
