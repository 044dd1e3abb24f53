"""The replikv binary as an operator meets it: --help, configuration, and the admin HTTP port."""
import json
import os
import subprocess
import tempfile
import unittest
import urllib.error
import urllib.request

from harness import SingleNodeTest, BINARY, HOST, Node, free_port, info, raw_exchange


def run(*args):
    return subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=30)


class Cli(unittest.TestCase):
    def test_help_everywhere(self):
        top = run("--help")
        self.assertEqual(top.returncode, 0)
        self.assertIn("server", top.stdout)
        server = run("server", "--help")
        self.assertEqual(server.returncode, 0)
        for flag in ("--port", "--data-dir", "--fsync", "--config", "--admin-port", "--bind"):
            self.assertIn(flag, server.stdout)
        self.assertIn("0.1.0", run("--version").stdout)

    def test_bad_flag_values_are_refused_clearly(self):
        bad = run("server", "--fsync", "sometimes")
        self.assertEqual(bad.returncode, 2)
        self.assertIn("fsync: expected \"always\" or \"never\", got 'sometimes'", bad.stderr)
        port = run("server", "--port", "70000")
        self.assertEqual(port.returncode, 2)
        self.assertIn("port", port.stderr)
        self.assertNotEqual(run("server", "--no-such-flag").returncode, 0)
        # A strategy's boolean is --name or --no-name, as everywhere; either is that strategy's key.
        for flag in ("--redirect", "--no-redirect"):
            other = run("server", flag)
            self.assertEqual(other.returncode, 2, other.stderr)
            self.assertIn("'redirect' is a setting of strategy \"leader\"", other.stderr)
        self.assertNotEqual(run("server", "--strategy", "leader", "--redirect", "true").returncode, 0)

    def test_another_strategys_command_names_it(self):
        node = Node().start()
        try:
            client = node.client()
            with self.assertRaises(Exception) as error:
                client.execute_command("FAILOVER", "TO", "2")
            self.assertIn('FAILOVER is a command of strategy "leader"', str(error.exception))
            self.assertIn('this node\'s strategy is "standalone"', str(error.exception))
            # Not this node's: COMMAND does not list it (a null entry, as for any unknown name).
            self.assertEqual(raw_exchange(node.port, b"COMMAND INFO FAILOVER\r\n", 0.5), b"*1\r\n*-1\r\n")
        finally:
            node.stop()
            node.cleanup()

    def test_config_file_and_flag_override(self):
        with tempfile.TemporaryDirectory() as folder:
            config = os.path.join(folder, "node.toml")
            with open(config, "w") as f:
                f.write('fsync = "never"\nmax_clients = 77\nlog-level = "warn"\n')
            node = Node("--max-clients", "55", config=config).start()
            try:
                self.assertEqual(info(node, "persistence")["replikv_fsync"], "never")
                self.assertEqual(info(node, "clients")["maxclients"], "55")
                self.assertEqual(info(node, "server")["config_file"], config)
            finally:
                node.stop()
                node.cleanup()

    def test_config_errors_name_the_problem(self):
        with tempfile.TemporaryDirectory() as folder:
            config = os.path.join(folder, "node.toml")
            with open(config, "w") as f:
                f.write('fsynk = "always"\n')
            unknown = run("server", "--config", config)
            self.assertEqual(unknown.returncode, 2)
            self.assertIn("unknown configuration key 'fsynk'", unknown.stderr)
            with open(config, "w") as f:
                f.write('port = \n')
            broken = run("server", "--config", config)
            self.assertEqual(broken.returncode, 2)
            self.assertIn("node.toml:1", broken.stderr)

    def test_port_in_use_is_a_clear_error(self):
        node = Node().start()
        try:
            clash = subprocess.run([BINARY, "server", "--port", str(node.port), "--admin-port", "0",
                                    "--engine", "memory"], capture_output=True, text=True, timeout=30)
            self.assertEqual(clash.returncode, 1)
            self.assertIn(f"cannot listen for clients on 127.0.0.1:{node.port}", clash.stderr)
        finally:
            node.stop()
            node.cleanup()


class Admin(SingleNodeTest):
    def get(self, path):
        url = f"http://{HOST}:{self.node.admin_port}{path}"
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers.get("Content-Type"), response.read().decode()

    def test_healthz(self):
        self.assertEqual(self.get("/healthz")[0], 200)

    def test_metrics_are_prometheus_text(self):
        self.node.client().set("m", "1")
        status, content_type, body = self.get("/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(content_type.startswith("text/plain"))
        values = {}
        for line in body.splitlines():
            if line and not line.startswith("#"):
                name, value = line.split(" ")
                values[name] = int(value)
        self.assertGreaterEqual(values["replikv_writes_applied_total"], 1)
        self.assertEqual(values["replikv_replies_released_before_durable_total"], 0)
        self.assertGreaterEqual(values["replikv_wal_syncs_total"], values["replikv_group_commits_total"])
        self.assertIn("# TYPE replikv_keys gauge", body)

    def test_status_is_json(self):
        self.node.client().set("s", "1")
        status, content_type, body = self.get("/status")
        self.assertEqual(content_type, "application/json")
        document = json.loads(body)
        self.assertEqual(document["role"], "leader")
        self.assertGreaterEqual(document["applied_index"], 1)
        self.assertEqual(document["peers"], [])

    def test_unknown_path_is_404(self):
        with self.assertRaises(urllib.error.HTTPError) as error:
            self.get("/nope")
        self.assertEqual(error.exception.code, 404)


if __name__ == "__main__":
    unittest.main()


class Bench(SingleNodeTest):
    """`replikv bench`, the load client bench/ drives every system with."""

    def test_measures_sets_gets_and_waits(self):
        for op in ("set", "get"):
            out = run("bench", "--port", str(self.node.port), "--clients", "2", "--op", op, "--duration-ms", "300",
                      "--warmup-ms", "100", "--json")
            self.assertEqual(out.returncode, 0, out.stderr)
            result = json.loads(out.stdout)
            self.assertGreater(result["ops"], 10, result)
            self.assertEqual(result["errors"], 0, result)
            self.assertGreater(result["p99_ms"], 0, result)
            self.assertGreaterEqual(result["p99_ms"], result["p50_ms"], result)
        self.assertGreater(self.node.client().dbsize(), 10)
        # A standalone node has no replicas: WAIT 1 answers 0 after its timeout, and bench says so.
        out = run("bench", "--port", str(self.node.port), "--clients", "1", "--op", "set-wait", "--wait-replicas", "1",
                  "--wait-timeout-ms", "10", "--duration-ms", "300", "--warmup-ms", "0")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"resp set-wait x1: \d+ ops/s, .* 0 errors, [1-9]\d* WAITs short of 1")

    def test_bad_usage_and_no_server(self):
        self.assertEqual(run("bench", "--op", "delete").returncode, 2)
        self.assertEqual(run("bench", "--protocol", "etcd", "--op", "get").returncode, 2)
        out = run("bench", "--port", str(free_port()), "--duration-ms", "100", "--warmup-ms", "0")
        self.assertEqual(out.returncode, 1)
        self.assertIn("cannot connect to 127.0.0.1:", out.stderr)
