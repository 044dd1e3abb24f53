"""Redis 7 compatibility, checked against Redis 7 itself.

Each script below runs on a real Redis 7 server (redis_reference.py) and on replikv, and every
reply must be the same — its type, its value, an error's text. A command marked DIFFERS is run
on both but not compared: it is one of the deliberate differences docs/commands.md lists, with
its reason. The scripts run on one node, then at the leader of a 3-node single-leader cluster
(whose replicas must then hold the same data: every command went through the log), then on a
multi-leader cluster and on a leaderless one, where the commands each refuses must say so by
name.
"""
import os
import re
import unittest

from harness import Node, wait_until
from redis_reference import ReferenceRedis, Resp
from test_cluster import Cluster
from test_multi_leader import MultiLeaderCluster

DIFFERS = "differs"  # a command's first word: run on both, compared by neither
# Replies Redis 7 documents as unordered (a hash's fields, a set's members), compared as such:
UNORDERED = "unordered"  # an array compared as a multiset
PAIRS = "pairs"  # a flat array of (field, value) pairs compared as a multiset of pairs
SCAN = "scan"  # a *SCAN page of [cursor, items]: the items as a multiset (of pairs: SCAN_PAIRS)
SCAN_PAIRS = "scan-pairs"
MARKERS = {DIFFERS, UNORDERED, PAIRS, SCAN, SCAN_PAIRS}


def normalized(marker, reply):
    """A reply as `marker` says to compare it (errors and nulls as they are)."""
    kind, value = reply
    if kind != "*" or value is None or marker not in (UNORDERED, PAIRS, SCAN, SCAN_PAIRS):
        return reply
    if marker in (SCAN, SCAN_PAIRS):
        cursor, (items_kind, items) = value
        return kind, [cursor, normalized(PAIRS if marker == SCAN_PAIRS else UNORDERED,
                                         (items_kind, items))]
    if marker == PAIRS:
        return kind, sorted(zip(value[0::2], value[1::2]))
    return kind, sorted(value)

FAR = "4102444800"  # 2100-01-01 in seconds: deadlines that read the same on both servers
FAR_MS = FAR + "000"

SCRIPTS = {
    "append": [
        ["APPEND", "s", "hello"], ["APPEND", "s", " world"], ["GET", "s"], ["APPEND", "s"],
        ["SET", "t", "x", "EXAT", FAR], ["APPEND", "t", "y"], ["EXPIRETIME", "t"],
    ],
    "strlen": [["STRLEN", "none"], ["SET", "s", "abc"], ["STRLEN", "s"], ["STRLEN"]],
    "getrange": [
        ["GETRANGE", "none", "0", "-1"], ["SET", "s", "This is a string"],
        ["GETRANGE", "s", "0", "3"], ["GETRANGE", "s", "-3", "-1"], ["GETRANGE", "s", "0", "-1"],
        ["GETRANGE", "s", "10", "100"], ["GETRANGE", "s", "5", "2"], ["GETRANGE", "s", "-1", "-5"],
        ["GETRANGE", "s", "-100", "2"], ["GETRANGE", "s", "x", "2"], ["SUBSTR", "s", "0", "1"],
        ["SET", "e", ""], ["GETRANGE", "e", "0", "-1"],
    ],
    "setrange": [
        ["SET", "s", "Hello World"], ["SETRANGE", "s", "6", "Redis"], ["GET", "s"],
        ["SETRANGE", "p", "5", "x"], ["GET", "p"], ["SETRANGE", "q", "3", ""], ["EXISTS", "q"],
        ["SETRANGE", "s", "0", ""], ["SETRANGE", "s", "-1", "x"],
        ["SETRANGE", "s", "536870911", "xx"], ["SETRANGE", "s", "abc", "x"],
        ["SET", "t", "ab", "EXAT", FAR], ["SETRANGE", "t", "1", "c"], ["EXPIRETIME", "t"],
    ],
    "getdel": [["SET", "s", "v"], ["GETDEL", "s"], ["GETDEL", "s"], ["EXISTS", "s"]],
    "getex": [
        ["SET", "s", "v"], ["GETEX", "s"], ["GETEX", "s", "EXAT", FAR], ["EXPIRETIME", "s"],
        ["GETEX", "s", "PXAT", FAR_MS + "1"], ["PEXPIRETIME", "s"], ["GETEX", "s", "PERSIST"],
        ["TTL", "s"], ["GETEX", "s", "EX", "100"], ["TTL", "s"], ["GETEX", "s", "EX", "0"],
        ["GETEX", "s", "EX", "-1"], ["GETEX", "s", "EX", "x"], ["GETEX", "s", "EX"],
        ["GETEX", "s", "EX", "10", "PX", "10"], ["GETEX", "s", "PERSIST", "EX", "10"],
        ["GETEX", "s", "BOGUS"], ["GETEX", "none", "EX", "10"], ["GETEX", "s", "EX", "5", "EX", "200"],
        ["TTL", "s"], ["GETEX", "s", "PERSIST", "PERSIST"], ["TTL", "s"],
        ["SET", "s", "v", "EX", "5", "EX", "300"], ["TTL", "s"], ["SET", "s", "v", "NX", "NX"],
        ["SET", "s", "v", "GET", "GET"], ["SET", "s", "v", "KEEPTTL", "KEEPTTL"], ["TTL", "s"],
        ["SET", "s", "v", "EX", "5", "PX", "100"], ["GETEX", "s", "PXAT", "1"],
        ["EXISTS", "s"],
    ],
    "setnx-setex-psetex-getset": [
        ["SETNX", "s", "1"], ["SETNX", "s", "2"], ["GET", "s"], ["SETEX", "e", "100", "v"],
        ["TTL", "e"], ["SETEX", "e", "0", "v"], ["SETEX", "e", "-5", "v"], ["SETEX", "e", "x", "v"],
        ["PSETEX", "p", "100000", "v"], ["TTL", "p"], ["PSETEX", "p", "0", "v"],
        ["GETSET", "s", "3"], ["GETSET", "none", "1"], ["GET", "none"], ["SET", "t", "a", "EX", "100"],
        ["GETSET", "t", "b"], ["TTL", "t"], ["SETEX", "e"],
    ],
    "msetnx": [
        ["MSETNX", "a", "1", "b", "2"], ["MGET", "a", "b"], ["MSETNX", "b", "3", "c", "4"],
        ["EXISTS", "c"], ["MSETNX", "a", "1", "b"], ["MSETNX", "a"],
    ],
    "incrbyfloat": [
        ["SET", "f", "10.50"], ["INCRBYFLOAT", "f", "0.1"], ["INCRBYFLOAT", "f", "-5"],
        ["SET", "g", "5.0e3"], ["INCRBYFLOAT", "g", "2.0e2"], ["INCRBYFLOAT", "n", "3"],
        ["INCRBYFLOAT", "n", "abc"], ["INCRBYFLOAT", "n", " 1"], ["INCRBYFLOAT", "n", "1e5000"],
        ["SET", "s", "abc"], ["INCRBYFLOAT", "s", "1"], ["INCRBYFLOAT", "n", "-3"],
        ["INCRBYFLOAT", "n", "1.5e-10"], ["SET", "t", "1", "EXAT", FAR],
        ["INCRBYFLOAT", "t", "1"], ["EXPIRETIME", "t"],
    ],
    "rename": [
        ["RENAME", "none", "x"], ["SET", "a", "1", "EXAT", FAR], ["RENAME", "a", "b"],
        ["EXISTS", "a"], ["GET", "b"], ["EXPIRETIME", "b"], ["RENAME", "b", "b"],
        ["SET", "c", "3"], ["RENAMENX", "b", "c"], ["RENAMENX", "b", "d"], ["GET", "d"],
        ["RENAMENX", "d", "d"], ["RENAMENX", "none", "x"], ["RENAME", "c", "d"], ["GET", "d"],
        ["EXPIRETIME", "d"],
    ],
    "copy": [
        ["COPY", "none", "x"], ["SET", "a", "1", "EXAT", FAR], ["COPY", "a", "b"], ["GET", "b"],
        ["EXPIRETIME", "b"], ["SET", "c", "3"], ["COPY", "c", "b"], ["COPY", "c", "b", "REPLACE"],
        ["GET", "b"], ["EXPIRETIME", "b"], ["COPY", "a", "a"], ["COPY", "a", "b", "BOGUS"],
        ["COPY", "a", "b", "DB", "x"], ["COPY", "a", "b", "DB", "0", "REPLACE"],
        [DIFFERS, "COPY", "a", "b", "DB", "1"],
    ],
    "type-touch-exists": [
        ["TYPE", "none"], ["SET", "s", "v"], ["TYPE", "s"], ["TOUCH", "s", "none", "s"],
        ["TOUCH"], ["UNLINK", "s", "none"], ["UNLINK", "s"], ["TYPE", "s"],
    ],
    "expiretime": [
        ["EXPIRETIME", "none"], ["PEXPIRETIME", "none"], ["SET", "s", "v"], ["EXPIRETIME", "s"],
        ["EXPIREAT", "s", FAR], ["EXPIRETIME", "s"], ["PEXPIRETIME", "s"],
        ["PEXPIREAT", "s", FAR_MS + "999"], ["EXPIRETIME", "s"], ["PEXPIRETIME", "s"],
    ],
    "object": [
        ["OBJECT", "ENCODING", "none"], ["SET", "i", "12345"], ["OBJECT", "ENCODING", "i"],
        ["SET", "e", "short"], ["OBJECT", "ENCODING", "e"], ["SET", "r", "x" * 45],
        ["OBJECT", "ENCODING", "r"], ["SET", "big", "123456789012345678901"],
        ["OBJECT", "ENCODING", "big"], ["OBJECT", "REFCOUNT", "e"], ["OBJECT", "REFCOUNT", "none"],
        ["OBJECT", "REFCOUNT", "i"], ["SET", "small", "42"], ["OBJECT", "REFCOUNT", "small"],
        ["SET", "zero", "0"], ["OBJECT", "REFCOUNT", "zero"], ["SET", "neg", "-1"],
        ["OBJECT", "REFCOUNT", "neg"], ["SET", "edge", "9999"], ["OBJECT", "REFCOUNT", "edge"],
        ["SET", "over", "10000"], ["OBJECT", "REFCOUNT", "over"],
        ["OBJECT", "FREQ", "e"], ["OBJECT", "BOGUS", "e"], ["OBJECT", "ENCODING"],
        ["OBJECT", "ENCODING", "e", "x"], [DIFFERS, "OBJECT", "IDLETIME", "e"],
        [DIFFERS, "OBJECT", "HELP"],
    ],
    "randomkey-dbsize": [
        ["RANDOMKEY"], ["SET", "only", "v"], ["RANDOMKEY"], ["DBSIZE"], ["RANDOMKEY", "x"],
    ],
    "flush": [
        ["MSET", "a", "1", "b", "2"], ["SET", "t", "v", "EX", "100"], ["FLUSHDB"], ["DBSIZE"],
        ["GET", "a"], ["SET", "c", "3"], ["FLUSHALL", "ASYNC"], [UNORDERED, "KEYS", "*"], ["SET", "d", "4"],
        ["FLUSHALL", "SYNC"], ["FLUSHALL", "BOGUS"], ["FLUSHDB", "SYNC", "x"], ["DBSIZE"],
    ],
    "transactions": [
        ["MULTI"], ["SET", "a", "1"], ["INCR", "a"], ["PING"], ["ECHO", "hi"], ["GET", "a"],
        ["EXEC"], ["EXEC"], ["DISCARD"], ["MULTI"], ["MULTI"], ["WATCH", "x"], ["UNWATCH"],
        ["SET", "a", "b", "c", "d"], ["INCR", "a"], ["APPEND", "a", "x"], ["EXEC"], ["GET", "a"],
        ["MULTI"], ["BOGUSCOMMAND"], ["SET", "a"], ["GET", "a"], ["EXEC"], ["MULTI"], ["EXEC"],
        ["MULTI"], ["SET", "q", "1"], ["DISCARD"], ["EXISTS", "q"], ["MULTI"],
        [DIFFERS, "WAIT", "0", "0"], [DIFFERS, "EXEC"],
    ],
    "watch": [
        ["SET", "w", "1"], ["WATCH", "w"], ["GET", "w"], ["MULTI"], ["INCR", "w"], ["EXEC"],
        ["WATCH", "w"], ["SET", "w", "5"], ["MULTI"], ["INCR", "w"], ["EXEC"], ["GET", "w"],
        ["WATCH", "w"], ["SET", "w", "5"], ["MULTI"], ["EXEC"], ["WATCH", "w"], ["DEL", "w"],
        ["MULTI"], ["EXEC"], ["WATCH", "none"], ["MULTI"], ["SET", "none", "1"], ["EXEC"],
        ["WATCH", "gone"], ["SET", "gone", "1"], ["DEL", "gone"], ["MULTI"], ["EXEC"],
        ["WATCH", "absent"], ["SET", "other", "1"], ["DEL", "other"], ["MULTI"], ["EXEC"],
        ["SET", "t", "1", "PX", "1"], ["WATCH", "w", "t"], ["UNWATCH"], ["SET", "w", "2"],
        ["MULTI"], ["GET", "w"], ["EXEC"], ["WATCH", "w"], ["MULTI"], ["DISCARD"],
        ["SET", "w", "3"], ["MULTI"], ["GET", "w"], ["EXEC"], ["WATCH", "w"], ["FLUSHALL"],
        ["MULTI"], ["PING"], ["EXEC"],
    ],
    "hashes": [
        ["HSET", "h", "a", "1", "b", "2", "c", "3"], ["HSET", "h", "a", "10"], ["HSET", "h", "x"],
        ["HGET", "h", "a"], ["HGET", "h", "zz"], ["HGET", "none", "a"], ["HMGET", "h", "a", "zz", "b"],
        ["HLEN", "h"], ["HLEN", "none"], ["HEXISTS", "h", "a"], ["HEXISTS", "h", "zz"],
        ["HSTRLEN", "h", "a"], ["HSETNX", "h", "a", "5"], ["HSETNX", "h", "d", "5"],
        ["HINCRBY", "h", "a", "5"], ["HINCRBY", "h", "zz", "9223372036854775807"],
        ["HINCRBY", "h", "zz", "1"], ["HINCRBY", "h", "a", "x"], ["HINCRBY", "h", "d", "x"],
        ["HSET", "h", "s", "text"], ["HINCRBY", "h", "s", "1"], ["HINCRBYFLOAT", "h", "f", "1.5"],
        ["HINCRBYFLOAT", "h", "f", "0.1"], ["HINCRBYFLOAT", "h", "f", "x"],
        ["HINCRBYFLOAT", "h", "s", "1"], ["HMSET", "h", "q", "1", "r", "2"], ["HMSET", "h", "q"],
        [PAIRS, "HGETALL", "h"], [UNORDERED, "HKEYS", "h"], [UNORDERED, "HVALS", "h"],
        ["HGETALL", "none"], ["HDEL", "h", "a", "zz"], ["HDEL", "h", "nope"], ["HDEL", "none", "a"],
        [SCAN_PAIRS, "HSCAN", "h", "0"], [SCAN_PAIRS, "HSCAN", "h", "0", "MATCH", "[qr]"],
        ["HSCAN", "h", "x"], ["HSCAN", "h", "0", "COUNT", "0"], ["HSCAN", "h", "0", "BOGUS", "1"],
        ["HRANDFIELD", "none"], ["HRANDFIELD", "none", "3"], ["HRANDFIELD", "h", "0"],
        ["HRANDFIELD", "h", "-9223372036854775808"],
        ["HRANDFIELD", "h", "-5000000000000000000", "WITHVALUES"],
        ["HRANDFIELD", "h", "1", "WITHVALUE"], [PAIRS, "HRANDFIELD", "h", "100", "WITHVALUES"],
        ["HSET", "one", "f", "v"], ["HRANDFIELD", "one"], ["HRANDFIELD", "one", "-3", "WITHVALUES"],
        ["TYPE", "h"], ["OBJECT", "ENCODING", "h"], ["HSET", "long", "f", "x" * 65],
        ["OBJECT", "ENCODING", "long"], ["HDEL", "one", "f"], ["EXISTS", "one"],
    ],
    "sets": [
        ["SADD", "s", "a", "b", "c", "1"], ["SADD", "s", "a"], ["SCARD", "s"], ["SCARD", "none"],
        ["SISMEMBER", "s", "a"], ["SISMEMBER", "s", "z"], ["SMISMEMBER", "s", "a", "z"],
        [UNORDERED, "SMEMBERS", "s"], ["SMEMBERS", "none"], ["SREM", "s", "a", "z"],
        ["SREM", "none", "a"], ["SPOP", "none"], ["SPOP", "none", "3"], ["SPOP", "s", "-1"],
        ["SPOP", "s", "0"], ["SPOP", "s", "1", "2"], ["SRANDMEMBER", "none"],
        ["SRANDMEMBER", "none", "3"], ["SRANDMEMBER", "s", "-9223372036854775808"],
        [UNORDERED, "SRANDMEMBER", "s", "10"], ["SADD", "single", "x"], ["SRANDMEMBER", "single"],
        ["SRANDMEMBER", "single", "-2"], ["SPOP", "single"], ["EXISTS", "single"],
        ["SADD", "t", "c", "d"], ["SMOVE", "s", "t", "b"], ["SMOVE", "s", "t", "zz"],
        ["SMOVE", "s", "s", "c"], [UNORDERED, "SINTER", "s", "t"], [UNORDERED, "SUNION", "s", "t"],
        [UNORDERED, "SDIFF", "t", "s"], ["SINTER", "s", "none"], [UNORDERED, "SUNION", "none", "s"],
        ["SINTERSTORE", "d", "s", "t"], [UNORDERED, "SMEMBERS", "d"], ["SUNIONSTORE", "d", "s", "t"],
        ["SCARD", "d"], ["SDIFFSTORE", "d", "s", "s"], ["EXISTS", "d"], ["SINTERCARD", "0", "s"],
        ["SINTERCARD", "3", "s"], ["SINTERCARD", "1", "s", "LIMIT", "-1"],
        ["SINTERCARD", "2", "s", "t", "LIMIT", "1"], ["SINTERCARD", "2", "s", "t"],
        ["SINTERCARD", "1", "s", "BOGUS"], [SCAN, "SSCAN", "t", "0"], ["SSCAN", "t", "x"],
        ["SADD", "ints", "1", "2", "3"], ["OBJECT", "ENCODING", "ints"], ["OBJECT", "ENCODING", "s"],
        ["TYPE", "s"],
    ],
    "sorted-sets": [
        ["ZADD", "z", "1", "a", "2", "b", "3", "c", "3", "d", "5", "e"], ["ZADD", "z", "1", "a"],
        ["ZADD", "z", "CH", "10", "a"], ["ZADD", "z", "NX", "XX", "1", "a"],
        ["ZADD", "z", "GT", "LT", "1", "a"], ["ZADD", "z", "NX", "GT", "1", "a"],
        ["ZADD", "z", "INCR", "1", "a", "2", "b"], ["ZADD", "z", "1"], ["ZADD", "z", "x", "a"],
        ["ZADD", "z", "INCR", "5", "a"], ["ZADD", "z", "XX", "INCR", "5", "new"],
        ["ZADD", "z", "GT", "CH", "1", "a", "100", "b"], ["ZADD", "z", "-0", "neg"],
        ["ZSCORE", "z", "neg"], ["ZSCORE", "z", "nope"], ["ZMSCORE", "z", "a", "nope", "b"],
        ["ZCARD", "z"], ["ZCOUNT", "z", "1", "3"], ["ZCOUNT", "z", "(1", "3"],
        ["ZCOUNT", "z", "-inf", "+inf"], ["ZCOUNT", "z", "x", "3"], ["ZRANK", "z", "c"],
        ["ZRANK", "z", "nope"], ["ZREVRANK", "z", "c"], ["ZRANK", "z", "c", "extra"],
        ["ZRANGE", "z", "0", "-1"], ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        ["ZRANGE", "z", "1", "2", "REV", "WITHSCORES"], ["ZRANGE", "z", "-2", "-1"],
        ["ZRANGE", "z", "5", "1"], ["ZRANGE", "z", "0", "-1", "LIMIT", "0", "1"],
        ["ZRANGE", "z", "0", "-1", "BYLEX", "WITHSCORES"],
        ["ZRANGE", "z", "(1", "5", "BYSCORE", "WITHSCORES"],
        ["ZRANGE", "z", "5", "(1", "BYSCORE", "REV", "WITHSCORES"],
        ["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "2"],
        ["ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "1", "2"],
        ["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "-1", "2"],
        ["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "0", "-1"],
        ["ZRANGE", "z", "x", "y", "BYSCORE"], ["ZRANGE", "z", "0", "1", "BOGUS"],
        ["ZRANGE", "z", "0", "-1", "REV", "REV"], ["ZRANGE", "z", "0", "-1", "BYSCORE", "BYLEX"],
        ["ZREVRANGE", "z", "0", "1", "WITHSCORES"], ["ZREVRANGE", "z", "0", "1", "LIMIT", "0", "1"],
        ["ZRANGEBYSCORE", "z", "2", "20", "WITHSCORES", "LIMIT", "0", "2"],
        ["ZREVRANGEBYSCORE", "z", "20", "2", "WITHSCORES"], ["ZRANGEBYSCORE", "z", "0", "10", "REV"],
        ["ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e"],
        ["ZRANGEBYLEX", "l", "-", "+"], ["ZRANGEBYLEX", "l", "[b", "(d"],
        ["ZREVRANGEBYLEX", "l", "(d", "[b"], ["ZREVRANGEBYLEX", "l", "+", "-", "LIMIT", "1", "2"],
        ["ZRANGEBYLEX", "l", "b", "d"], ["ZRANGEBYLEX", "l", "-", "+", "WITHSCORES"],
        ["ZLEXCOUNT", "l", "[b", "+"], ["ZRANGESTORE", "dst", "z", "0", "1"],
        ["ZRANGE", "dst", "0", "-1", "WITHSCORES"], ["ZRANGESTORE", "dst", "z", "10", "20"],
        ["EXISTS", "dst"], ["ZRANGESTORE", "dst", "z", "0", "-1", "WITHSCORES"],
        ["ZINCRBY", "z", "2.5", "c"], ["ZINCRBY", "z", "x", "c"], ["ZINCRBY", "z", "1", "fresh"],
        ["ZADD", "inf", "0", "a"], ["ZINCRBY", "inf", "+inf", "a"], ["ZINCRBY", "inf", "-inf", "a"],
        ["ZADD", "f", "1.1", "x", "1e300", "y"], ["ZRANGE", "f", "0", "-1", "WITHSCORES"],
        ["ZREM", "z", "a", "nope"], ["ZPOPMIN", "z"], ["ZPOPMAX", "z", "2"], ["ZPOPMIN", "z", "-1"],
        ["ZPOPMIN", "none"], ["ZPOPMIN", "none", "2"], ["ZREMRANGEBYRANK", "z", "0", "0"],
        ["ZREMRANGEBYSCORE", "z", "-inf", "3"], ["ZREMRANGEBYLEX", "l", "[a", "[b"],
        ["ZRANGE", "l", "0", "-1"], ["ZRANDMEMBER", "none"], ["ZRANDMEMBER", "none", "5"],
        ["ZRANDMEMBER", "l", "0"], [PAIRS, "ZRANDMEMBER", "l", "10", "WITHSCORES"],
        [SCAN_PAIRS, "ZSCAN", "l", "0"], ["TYPE", "l"], ["OBJECT", "ENCODING", "l"],
    ],
    "sorted-set-algebra": [
        ["ZADD", "a", "1", "x", "2", "y", "3", "z"], ["ZADD", "b", "10", "y", "20", "z", "30", "w"],
        ["SADD", "s", "x", "w", "v"], ["SET", "str", "v"],
        ["ZUNION", "2", "a", "b"], ["ZUNION", "2", "a", "b", "WITHSCORES"],
        ["ZUNION", "3", "a", "b", "s", "WITHSCORES"], ["ZINTER", "2", "a", "b", "WITHSCORES"],
        ["ZINTER", "2", "a", "s", "WITHSCORES"], ["ZDIFF", "2", "a", "b", "WITHSCORES"],
        ["ZDIFF", "2", "b", "s"], ["ZUNION", "2", "a", "b", "WEIGHTS", "2", "0.5", "WITHSCORES"],
        ["ZUNION", "2", "a", "b", "AGGREGATE", "MAX", "WITHSCORES"],
        ["ZINTER", "2", "a", "b", "AGGREGATE", "min", "WITHSCORES"],
        ["ZUNION", "2", "a", "none", "WITHSCORES"], ["ZINTER", "2", "a", "none"],
        ["ZUNION", "0", "a"], ["ZUNION", "-1", "a"], ["ZUNION", "x", "a"], ["ZUNION", "3", "a", "b"],
        ["ZUNION", "2", "a", "b", "WEIGHTS", "1"], ["ZUNION", "2", "a", "b", "WEIGHTS", "1", "x"],
        ["ZUNION", "2", "a", "b", "AGGREGATE", "AVG"], ["ZUNION", "2", "a", "b", "BOGUS"],
        ["ZDIFF", "2", "a", "b", "WEIGHTS", "1", "1"], ["ZUNION", "2", "a", "str"],
        ["ZUNION", "2", "a", "str", "BOGUS"],
        ["ZUNIONSTORE", "d", "2", "a", "b"], ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
        ["ZINTERSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "-1"],
        ["ZRANGE", "d", "0", "-1", "WITHSCORES"], ["ZDIFFSTORE", "d", "2", "a", "b"],
        ["ZRANGE", "d", "0", "-1", "WITHSCORES"], ["ZINTERSTORE", "d", "2", "a", "none"],
        ["EXISTS", "d"], ["ZUNIONSTORE", "str", "1", "a"], ["TYPE", "str"],
        ["ZUNIONSTORE", "d", "2", "a", "b", "WITHSCORES"], ["ZDIFFSTORE", "d", "1", "a", "AGGREGATE", "SUM"],
        ["ZADD", "inf", "+inf", "x"], ["ZADD", "ninf", "-inf", "x"],
        ["ZUNION", "2", "inf", "ninf", "WITHSCORES"], ["ZUNION", "1", "inf", "WEIGHTS", "0", "WITHSCORES"],
        ["ZINTERCARD", "2", "a", "b"], ["ZINTERCARD", "2", "a", "b", "LIMIT", "1"],
        ["ZINTERCARD", "2", "a", "b", "LIMIT", "-1"], ["ZINTERCARD", "2", "a", "b", "WITHSCORES"],
        ["ZINTERCARD", "0", "a"], ["ZINTERCARD", "1", "str"],
        ["ZADD", "na", "5", "x"], ["ZADD", "nb", "inf", "x", "1", "y"],
        ["ZINTER", "2", "na", "nb", "WEIGHTS", "1", "0", "WITHSCORES"],
        ["ZINTER", "2", "na", "nb", "WEIGHTS", "1", "0", "AGGREGATE", "MIN", "WITHSCORES"],
        ["ZINTER", "2", "nb", "na", "WEIGHTS", "0", "1", "AGGREGATE", "MAX", "WITHSCORES"],
        ["ZUNION", "2", "na", "nb", "WEIGHTS", "1", "0", "WITHSCORES"],
    ],
    "lists": [
        ["RPUSH", "l", "a", "b", "c", "d", "e"], ["LPUSH", "l", "z", "y"], ["LPUSHX", "none", "a"],
        ["RPUSHX", "l", "f"], ["LLEN", "l"], ["LRANGE", "l", "0", "-1"], ["LRANGE", "l", "-3", "-1"],
        ["LRANGE", "l", "5", "2"], ["LRANGE", "l", "0", "100"], ["LRANGE", "l", "x", "1"],
        ["LINDEX", "l", "0"], ["LINDEX", "l", "-1"], ["LINDEX", "l", "100"], ["LSET", "l", "0", "Z"],
        ["LSET", "l", "100", "x"], ["LSET", "none", "0", "x"], ["LINSERT", "l", "BEFORE", "c", "C"],
        ["LINSERT", "l", "AFTER", "e", "E"], ["LINSERT", "l", "AFTER", "nope", "x"],
        ["LINSERT", "none", "AFTER", "a", "x"], ["LINSERT", "l", "MIDDLE", "a", "x"],
        ["LRANGE", "l", "0", "-1"], ["RPUSH", "r", "a", "b", "a", "c", "a", "d", "a"],
        ["LREM", "r", "2", "a"], ["LRANGE", "r", "0", "-1"], ["LREM", "r", "-1", "a"],
        ["LRANGE", "r", "0", "-1"], ["LREM", "r", "0", "a"], ["LRANGE", "r", "0", "-1"],
        ["LPOS", "l", "c"], ["LPOS", "l", "nope"], ["RPUSH", "p", "a", "b", "a", "c", "a"],
        ["LPOS", "p", "a", "RANK", "2"], ["LPOS", "p", "a", "RANK", "-1"],
        ["LPOS", "p", "a", "COUNT", "0"], ["LPOS", "p", "a", "COUNT", "2", "RANK", "-1"],
        ["LPOS", "p", "a", "MAXLEN", "2", "COUNT", "0"], ["LPOS", "p", "a", "RANK", "0"],
        ["LPOS", "p", "a", "COUNT", "-1"], ["LPOS", "p", "a", "MAXLEN", "-1"],
        ["LPOS", "p", "a", "BOGUS", "1"], ["LTRIM", "l", "1", "-2"], ["LRANGE", "l", "0", "-1"],
        ["LTRIM", "l", "5", "2"], ["EXISTS", "l"], ["LPOP", "p"], ["RPOP", "p", "2"],
        ["LPOP", "p", "0"], ["LPOP", "p", "-1"], ["LPOP", "none", "2"], ["LPOP", "none"],
        ["LPOP", "p", "1", "2"], ["RPUSH", "m", "1", "2", "3"], ["LMOVE", "m", "m2", "LEFT", "RIGHT"],
        ["LMOVE", "m", "m", "RIGHT", "LEFT"], ["LRANGE", "m", "0", "-1"], ["RPOPLPUSH", "m", "m2"],
        ["LRANGE", "m2", "0", "-1"], ["LMOVE", "none", "m2", "LEFT", "LEFT"],
        ["LMOVE", "m", "m2", "UP", "LEFT"], ["SET", "str", "x"], ["LMOVE", "m", "str", "LEFT", "LEFT"],
        ["LRANGE", "m", "0", "-1"], ["LMPOP", "2", "none", "m2", "LEFT", "COUNT", "5"],
        ["LMPOP", "1", "none", "RIGHT"], ["LMPOP", "0", "m", "LEFT"],
        ["LMPOP", "1", "m", "LEFT", "COUNT", "0"], ["LMPOP", "2", "m", "LEFT"], ["LPUSH", "str", "a"],
        ["TYPE", "m2"], ["OBJECT", "ENCODING", "p"], ["RPUSH", "one", "x"],
        ["LMOVE", "one", "one", "LEFT", "RIGHT"], ["LRANGE", "one", "0", "-1"],
    ],
    "blocking-pops-with-elements": [
        ["RPUSH", "q", "a", "b", "c"], ["BLPOP", "none", "q", "0"], ["BRPOP", "q", "1.5"],
        ["BLMOVE", "q", "d", "LEFT", "RIGHT", "0"], ["BRPOPLPUSH", "d", "q", "0"],
        ["LRANGE", "q", "0", "-1"], ["BLMPOP", "0", "2", "none", "q", "RIGHT", "COUNT", "5"],
        ["BLPOP", "q", "-1"], ["BLPOP", "q", "x"], ["BLMOVE", "q", "d", "UP", "LEFT", "0"],
        ["BLMPOP", "0", "0", "q", "LEFT"], ["BLMPOP", "-1", "1", "q", "LEFT"], ["SET", "s", "v"],
        ["BLPOP", "s", "0"], ["BLPOP", "q"], ["MULTI"], ["BLPOP", "none", "0"], ["EXEC"],
    ],
    "repeated-in-one-command": [
        ["HSET", "nh", "f", "1", "f", "2"], ["HLEN", "nh"], ["HGET", "nh", "f"],
        ["SADD", "ns", "a", "a"], ["SCARD", "ns"], ["SPOP", "ns"], ["SPOP", "ns"], ["EXISTS", "ns"],
        ["ZADD", "nz", "1", "a", "2", "a"], ["ZRANGE", "nz", "0", "-1", "WITHSCORES"],
        ["ZCARD", "nz"], ["ZREM", "nz", "a"], ["EXISTS", "nz"], ["SET", "strkey", "v"],
        ["SMOVE", "missing", "strkey", "m"], ["SADD", "src", "m"], ["SMOVE", "src", "strkey", "m"],
        ["ZADD", "z", "1", "a"], ["ZPOPMIN", "z", "x"], ["ZPOPMAX", "z", "-2"],
    ],
    "types": [
        ["SET", "s", "v"], ["HSET", "h", "f", "v"], ["SADD", "st", "m"], ["ZADD", "z", "1", "m"],
        ["RPUSH", "l", "e"], ["TYPE", "s"], ["TYPE", "h"], ["TYPE", "st"], ["TYPE", "z"],
        ["TYPE", "l"], ["TYPE", "none"], ["GET", "h"], ["HGET", "s", "f"], ["SADD", "h", "x"],
        ["ZADD", "st", "1", "x"], ["LPUSH", "z", "x"], ["APPEND", "l", "x"], ["INCR", "h"],
        ["STRLEN", "st"], ["GETRANGE", "z", "0", "1"], ["SET", "h", "x", "GET"], ["GETDEL", "l"],
        ["MGET", "s", "h", "l"], ["SETNX", "h", "v"], [UNORDERED, "KEYS", "*"], ["DBSIZE"],
        [SCAN, "SCAN", "0", "TYPE", "hash"], [SCAN, "SCAN", "0", "TYPE", "zset"],
        [SCAN, "SCAN", "0", "TYPE", "string"], [SCAN, "SCAN", "0", "TYPE", "bogus"],
        ["EXPIRE", "h", "100"], ["TTL", "h"], ["TYPE", "h"], ["PERSIST", "h"], ["TTL", "h"],
        ["HGET", "h", "f"], ["RENAME", "h", "h2"], ["HGET", "h2", "f"], ["EXISTS", "h"],
        ["COPY", "h2", "h3"], ["HSET", "h3", "g", "w"], ["HLEN", "h2"], ["HLEN", "h3"],
        ["COPY", "z", "h3"], ["COPY", "z", "h3", "REPLACE"], ["TYPE", "h3"], ["ZSCORE", "h3", "m"],
        ["RENAMENX", "l", "s"], ["RENAME", "l", "s"], ["LRANGE", "s", "0", "-1"], ["SET", "s", "v"],
        ["TYPE", "s"], ["DEL", "st", "z"], ["EXISTS", "st", "z"], ["HSET", "x", "f", "v"],
        ["EXPIRE", "x", "0"], ["EXISTS", "x"], ["HGET", "x", "f"], ["DBSIZE"],
    ],
}


def delete_every_key(port):
    """FLUSHALL where a strategy refuses it: every key the node lists, deleted."""
    with Resp(port) as c:
        kind, keys = c.call("KEYS", "*")
        if keys:
            c.call("DEL", *[value for _, value in keys])


def refused_by(reply, strategy):
    return reply[0] == "-" and strategy in reply[1]


class Compatibility:
    """Mixed into a test class with `replikv_port()` and `clean()`: runs every script there and on
    the reference Redis, reply by reply. `refused` names commands the strategy refuses: such a
    step must be refused naming the strategy, and is not sent to Redis, so the rest of the script
    is compared on equal states."""
    strategy = None
    refused = set()

    def refuses(self, words, ours):
        """Whether the strategy refuses this step (`ours`: the connection to replikv)."""
        return words[0].lower() in self.refused

    def run_scripts(self):
        named = 0  # refusals that name the strategy
        for name, script in SCRIPTS.items():
            with self.subTest(script=name):
                self.clean()
                with Resp(self.redis.port) as reference, Resp(self.replikv_port()) as ours:
                    reference.call("FLUSHALL")
                    for command in script:
                        marker = command[0] if command[0] in MARKERS else None
                        compare = marker != DIFFERS
                        words = command[1:] if marker else command
                        if self.refuses(words, ours):
                            # Refused here and not sent to Redis either: both stay alike and the
                            # rest of the script is compared.
                            # (Bad arguments are answered first, as Redis would answer them.)
                            mine = normalized(marker, ours.call(*words))
                            self.assertEqual(mine[0], "-", f"{words}: {mine} should be refused")
                            named += refused_by(mine, self.strategy)
                            if words[0].lower() == "multi":
                                break  # (what follows is queued here, run there: not comparable)
                            continue
                        theirs = normalized(marker, reference.call(*words))
                        mine = normalized(marker, ours.call(*words))
                        if compare:
                            self.assertEqual(mine, theirs, f"{name}: {words}")
        if self.refused:
            self.assertGreater(named, 10, "refusals name the strategy")


class SingleNode(Compatibility, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.redis = ReferenceRedis().start()
        cls.node = Node().start()

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()
        cls.node.cleanup()
        cls.redis.stop()

    def replikv_port(self):
        return self.node.port

    def clean(self):
        with Resp(self.node.port) as c:
            c.call("FLUSHALL")

    def test_every_script_answers_as_redis_7(self):
        self.run_scripts()

    def test_blocking_pops_wait_for_a_push_and_time_out_as_redis_7(self):
        """A client in BLPOP is served by another's RPUSH, oldest waiter first; BRPOP with a
        timeout answers a null array; BLMOVE hands the element on — on Redis 7 and here alike."""
        import threading
        import time as clock
        for port in (self.redis.port, self.node.port):
            with Resp(port) as first, Resp(port) as second, Resp(port) as pusher:
                pusher.call("DEL", "q", "d")
                got = {}
                def wait(name, client, *words):
                    got[name] = client.call(*words)
                a = threading.Thread(target=wait, args=("a", first, "BLPOP", "q", "5"))
                a.start()
                clock.sleep(0.2)
                b = threading.Thread(target=wait, args=("b", second, "BLMOVE", "q", "d", "RIGHT", "LEFT", "5"))
                b.start()
                clock.sleep(0.2)
                self.assertEqual(pusher.call("RPUSH", "q", "x", "y"), (":", 2), port)
                a.join(10)
                b.join(10)
                self.assertEqual(got["a"], ("*", [("$", b"q"), ("$", b"x")]), port)
                self.assertEqual(got["b"], ("$", b"y"), port)
                self.assertEqual(pusher.call("LRANGE", "d", "0", "-1"), ("*", [("$", b"y")]), port)
                started = clock.monotonic()
                self.assertEqual(first.call("BRPOP", "empty", "0.3"), ("*", None), port)
                self.assertGreaterEqual(clock.monotonic() - started, 0.25, port)
                kind, info = pusher.call("INFO", "clients")
                self.assertIn(b"blocked_clients:0", info, port)

    def test_time_is_the_clock(self):
        with Resp(self.node.port) as c:
            kind, fields = c.call("TIME")
        self.assertEqual(kind, "*")
        seconds, micros = int(fields[0][1]), int(fields[1][1])
        import time as clock
        self.assertLess(abs(seconds + micros / 1e6 - clock.time()), 5)
        self.assertLess(micros, 1_000_000)

    def test_client_kill(self):
        with Resp(self.node.port) as me, Resp(self.node.port) as victim:
            victim_id = victim.call("CLIENT", "ID")[1]
            self.assertEqual(me.call("CLIENT", "KILL", "ID", str(victim_id)), (":", 1))
            with self.assertRaises((ConnectionError, OSError)):
                victim.call("PING")
            self.assertEqual(me.call("CLIENT", "KILL", "ID", str(victim_id)), (":", 0))
            self.assertEqual(me.call("CLIENT", "KILL", "1.2.3.4:5"), ("-", "ERR No such client"))
            self.assertEqual(me.call("CLIENT", "KILL", "TYPE", "bogus"),
                             ("-", "ERR Unknown client type 'bogus'"))
            self.assertEqual(me.call("CLIENT", "KILL", "ID", "0"),
                             ("-", "ERR client-id should be greater than 0"))
            self.assertEqual(me.call("CLIENT", "KILL", "SKIPME", "yes"), (":", 0))
            self.assertEqual(me.call("PING"), ("+", "PONG"), "SKIPME yes spares the caller")

    def test_watch_sees_another_connections_write(self):
        for port in (self.redis.port, self.node.port):
            with Resp(port) as a, Resp(port) as b:
                a.call("SET", "shared", "1")
                self.assertEqual(a.call("WATCH", "shared"), ("+", "OK"))
                b.call("INCR", "shared")
                a.call("MULTI")
                a.call("SET", "shared", "mine")
                self.assertEqual(a.call("EXEC"), ("*", None), port)
                self.assertEqual(a.call("GET", "shared"), ("$", b"2"), port)
                # Unwatched by the failed EXEC: the next transaction runs.
                a.call("MULTI")
                a.call("SET", "shared", "mine")
                self.assertEqual(a.call("EXEC"), ("*", [("+", "OK")]), port)

    def test_a_watch_pipelined_with_its_transaction_still_guards_it(self):
        """WATCH, a write, MULTI … EXEC sent in one write: EXEC sees what WATCH saw."""
        def pipelined(port):
            commands = [["SET", "p", "1"], ["WATCH", "p"], ["SET", "p", "2"], ["MULTI"],
                        ["SET", "p", "3"], ["EXEC"], ["GET", "p"], ["WATCH", "p"], ["UNWATCH"],
                        ["SET", "p", "4"], ["MULTI"], ["SET", "p", "5"], ["EXEC"], ["GET", "p"]]
            with Resp(port) as c:
                payload = b""
                for words in commands:
                    payload += f"*{len(words)}\r\n".encode()
                    for word in words:
                        payload += f"${len(word)}\r\n{word}\r\n".encode()
                c.sock.sendall(payload)
                return [c._reply() for _ in commands]
        theirs = pipelined(self.redis.port)
        self.assertEqual(theirs[5], ("*", None))
        self.assertEqual(pipelined(self.node.port), theirs)

    def test_a_flush_survives_a_restart(self):
        with Resp(self.node.port) as c:
            for i in range(200):
                c.call("SET", f"k{i}", "v", "EX", "1000")
            c.call("FLUSHALL")
            c.call("SET", "after", "v")
        self.node.stop()
        self.node.start()
        with Resp(self.node.port) as c:
            self.assertEqual(c.call("DBSIZE"), (":", 1))
            self.assertEqual(c.call("KEYS", "*"), ("*", [("$", b"after")]))


class SingleLeaderCluster(Compatibility, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.redis = ReferenceRedis().start()
        cls.cluster = Cluster().start()
        wait_until(lambda: cls.cluster.leader() is not None, 30, "a leader")

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()
        cls.redis.stop()

    def replikv_port(self):
        return self.cluster.port(self.cluster.leader())

    def clean(self):
        with Resp(self.replikv_port()) as c:
            c.call("FLUSHALL")

    def test_every_script_answers_as_redis_7_and_every_replica_applies_it(self):
        self.run_scripts()
        with Resp(self.replikv_port()) as c:
            for name, script in SCRIPTS.items():  # every script's end state, side by side
                for command in script:
                    c.call(*(command[1:] if command[0] in MARKERS else command))

        def digests():
            out = set()
            for node in self.cluster.all:
                with Resp(self.cluster.port(node)) as c:
                    out.add(c.call("DEBUG", "DIGEST")[1])
            return out
        wait_until(lambda: len(digests()) == 1, 30, "every replica with the leader's data")

    def test_blocking_pops_are_served_by_the_leader(self):
        """A follower refuses a blocking pop naming the leader; at the leader a waiting client is
        served by a push made at a follower, and every replica applies the pop."""
        import threading
        import time as clock
        leader = self.cluster.leader()
        follower = next(n for n in range(1, 4) if n != leader)
        with Resp(self.cluster.port(follower)) as c:
            kind, text = c.call("BLPOP", "bq", "1")
            self.assertEqual(kind, "-")
            self.assertTrue(text.startswith("NOTLEADER"), text)
        got = {}
        with Resp(self.cluster.port(leader)) as waiter:
            t = threading.Thread(target=lambda: got.setdefault("r", waiter.call("BLPOP", "bq", "10")))
            t.start()
            clock.sleep(0.3)
            with Resp(self.cluster.port(follower)) as c:
                self.assertEqual(c.call("RPUSH", "bq", "one", "two"), (":", 2))
            t.join(15)
        self.assertEqual(got.get("r"), ("*", [("$", b"bq"), ("$", b"one")]))
        def lengths():
            out = []
            for n in range(1, 4):
                with Resp(self.cluster.port(n)) as c:
                    out.append(c.call("READ", "eventual", "LLEN", "bq"))
            return out
        wait_until(lambda: lengths() == [(":", 1)] * 3, 30, "every replica applied the pop")


class TransactionsUnderKill9(unittest.TestCase):
    """A leader killed with SIGKILL while transactions stream in: every transaction is on every
    replica whole or not at all, and every one answered is there."""

    def test_a_transaction_is_applied_whole_or_not_at_all_across_a_kill9(self):
        import os
        import signal
        import threading
        import time
        cluster = Cluster().start()
        try:
            wait_until(lambda: cluster.leader() is not None, 30, "a leader")
            acknowledged, attempted, stop = set(), [0], threading.Event()

            def writer():
                i = 0
                while not stop.is_set() and i < 100_000:
                    leader = cluster.leader()
                    if leader is None:
                        time.sleep(0.05)
                        continue
                    try:
                        with Resp(cluster.port(leader), timeout_s=5) as c:
                            while not stop.is_set():
                                attempted[0] = i + 1
                                c.call("MULTI")
                                for part in ("a", "b", "c"):
                                    c.call("SET", f"t{i}:{part}", str(i))
                                c.call("INCRBY", f"t{i}:n", "3")
                                reply = c.call("EXEC")
                                if reply[0] == "*" and reply[1] is not None:
                                    acknowledged.add(i)
                                i += 1
                    except (ConnectionError, OSError):
                        i += 1  # its outcome is unknown: a new transaction, on the next leader
                        time.sleep(0.05)

            thread = threading.Thread(target=writer)
            thread.start()
            wait_until(lambda: len(acknowledged) >= 300, 60, "transactions acknowledged")
            old = cluster.leader()
            os.kill(cluster.pid(old), signal.SIGKILL)
            others = [n for n in cluster.all if n != old]
            wait_until(lambda: cluster.leader(others) is not None, 30, "a new leader")
            wait_until(lambda: len(acknowledged) >= 600, 60, "transactions at the new leader")
            stop.set()
            thread.join(timeout=60)
            cluster.cli("restart", "--node", f"n{old}")

            def digests():
                out = set()
                for node in cluster.all:
                    with Resp(cluster.port(node)) as c:
                        out.add(c.call("DEBUG", "DIGEST")[1])
                return out
            wait_until(lambda: len(digests()) == 1, 60, "every replica with the same data")
            for node in cluster.all:
                with Resp(cluster.port(node)) as c:
                    whole = 0
                    for i in range(attempted[0]):
                        kind, values = c.call("READ", "eventual", "MGET", f"t{i}:a", f"t{i}:b",
                                              f"t{i}:c", f"t{i}:n")
                        got = [value for _, value in values]
                        if got == [None] * 4:
                            self.assertNotIn(i, acknowledged, f"n{node}: answered transaction {i} lost")
                        else:
                            self.assertEqual(got, [str(i).encode()] * 3 + [b"3"],
                                             f"n{node}: transaction {i} applied in part")
                            whole += 1
                    self.assertGreaterEqual(whole, len(acknowledged))
        finally:
            cluster.stop()


class MultiLeader(Compatibility, unittest.TestCase):
    strategy = "multi-leader"
    refused = {"flushall", "flushdb", "incrbyfloat", "hincrbyfloat", "multi", "watch",
               # What takes or uses a position (docs/multi-leader.md, "Collections"): lists,
               # and the pops and moves of sets and sorted sets.
               "lpush", "rpush", "lpushx", "rpushx", "lpop", "rpop", "lmove", "lset", "linsert",
               "lrem", "ltrim", "lmpop", "rpoplpush", "blpop", "brpop", "blmove", "brpoplpush",
               "blmpop", "spop", "smove", "zpopmin", "zpopmax"}
    # A collection's key as a whole: its time to live, a rename, a copy.
    whole_key = {"expire", "pexpire", "expireat", "pexpireat", "persist", "rename", "renamenx",
                 "copy"}

    def refuses(self, words, ours):
        if words[0].lower() in self.whole_key:
            return ours.call("TYPE", words[1])[1] in ("hash", "set", "zset", "list")
        return super().refuses(words, ours)

    @classmethod
    def setUpClass(cls):
        cls.redis = ReferenceRedis().start()
        cls.cluster = MultiLeaderCluster("lww").start()

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()
        cls.redis.stop()

    def replikv_port(self):
        return self.cluster.base

    def clean(self):
        delete_every_key(self.cluster.base)

    def test_every_script_answers_as_redis_7_or_is_refused_by_name(self):
        self.run_scripts()
        wait_until(self.cluster.converged, 30, "every node converged")


class Leaderless(Compatibility, unittest.TestCase):
    """Three nodes, N = 3, W = R = 2: every script at node 1, each key's reads at a quorum."""
    strategy = "leaderless"
    refused = MultiLeader.refused | {
        # Several keys changed together: no quorum write spans replicas (docs/leaderless.md).
        "rename", "renamenx", "copy", "msetnx", "smove", "sunionstore", "sinterstore",
        "sdiffstore", "zunionstore", "zinterstore", "zdiffstore", "zrangestore",
        # A read-modify-write of one copy would lose concurrent increments; CAS needs consensus.
        "incr", "incrby", "decr", "decrby", "cas", "unwatch", "discard", "exec", "wait",
        # Lists are not offered at all: their reads are refused too.
        "llen", "lrange", "lindex", "lpos",
        # A rank is a position: two coordinators would remove different members.
        "zremrangebyrank"}
    whole_key = {"expire", "pexpire", "expireat", "pexpireat", "persist"}

    def refuses(self, words, ours):
        if words[0].lower() in self.whole_key:
            return ours.call("TYPE", words[1])[1] in ("hash", "set", "zset", "list")
        return super().refuses(words, ours)

    @classmethod
    def setUpClass(cls):
        from test_leaderless import LeaderlessCluster
        cls.redis = ReferenceRedis().start()
        cls.cluster = LeaderlessCluster(nodes=3).start()

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()
        cls.redis.stop()

    def replikv_port(self):
        return self.cluster.base

    def clean(self):
        delete_every_key(self.cluster.base)

    def test_every_script_answers_as_redis_7_or_is_refused_by_name(self):
        self.run_scripts()

    def test_randomkey_draws_from_this_nodes_copies_and_multi_is_refused(self):
        with Resp(self.cluster.base) as c:
            kind, text = c.call("MULTI")
            self.assertEqual(kind, "-")
            self.assertIn("leaderless strategy", text)
            # What was pipelined behind the refused MULTI does not run on its own.
            self.assertEqual(c.call("SET", "k", "queued"), ("+", "QUEUED"))
            self.assertEqual(c.call("EXEC")[0], "-")
            self.assertEqual(c.call("SETEX", "k", "100", "v"), ("+", "OK"))
            self.assertEqual(c.call("GETSET", "k", "w"), ("$", b"v"))
            self.assertEqual(c.call("UNLINK", "k"), (":", 1))
            # RANDOMKEY draws from the copies this node holds, as DBSIZE counts them.
            for i in range(20):
                c.call("SET", f"r{i}", "v")
            self.assertRegex(c.call("RANDOMKEY")[1], rb"^r\d+$")


if __name__ == "__main__":
    unittest.main()
