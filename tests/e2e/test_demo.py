"""`make demo`'s script, as a user runs it: it starts a node, benchmarks it, prints figures."""
import os
import re
import subprocess
import unittest

from harness import BINARY, ROOT


class Demo(unittest.TestCase):
    def test_demo_prints_figures(self):
        env = dict(os.environ, REPLIKV_BIN=BINARY, DEMO_REQUESTS="3000", DEMO_CLIENTS="10")
        result = subprocess.run([os.path.join(ROOT, "scripts", "demo")], capture_output=True,
                                text=True, timeout=300, env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        for test in ("SET", "GET", "INCR", "MSET"):
            self.assertRegex(result.stdout, rf"(?m)^{test}\S*( \(10 keys\))?\s+1\s+[1-9][0-9]*\s")
        self.assertRegex(result.stdout, r"replikv_replies_released_before_durable: 0")
        syncs = int(re.search(r"replikv_wal_syncs: (\d+)", result.stdout).group(1))
        commits = int(re.search(r"replikv_group_commits: (\d+)", result.stdout).group(1))
        self.assertGreater(commits, 0)
        self.assertGreaterEqual(syncs, commits)


if __name__ == "__main__":
    unittest.main()
