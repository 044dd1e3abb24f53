"""`replikv check` on the hand-written histories in tests/histories: the file name says the
expected verdict (valid-*.jsonl exits 0, invalid-*.jsonl exits 1)."""
import glob
import os
import subprocess
import tempfile
import unittest

from harness import BINARY, ROOT

HISTORIES = os.path.join(ROOT, "tests", "histories")


def check(*args, stdin=None):
    return subprocess.run([BINARY, "check", *args], capture_output=True, text=True, timeout=120,
                          input=stdin)


class Check(unittest.TestCase):
    def test_every_hand_written_history_gets_its_verdict(self):
        files = sorted(glob.glob(os.path.join(HISTORIES, "*.jsonl")))
        self.assertGreaterEqual(len(files), 8)
        for path in files:
            expected = 0 if os.path.basename(path).startswith("valid-") else 1
            result = check(path)
            self.assertEqual(result.returncode, expected, f"{path}:\n{result.stdout}{result.stderr}")
            self.assertIn("linearizable", result.stdout)

    def test_violation_report_names_the_window(self):
        result = check(os.path.join(HISTORIES, "invalid-stale-read.jsonl"))
        self.assertIn("no order explains line 3: process 1 read null", result.stdout)
        self.assertIn("line 1: process 0 write 1", result.stdout)

    def test_all_checkers_and_stdin(self):
        with open(os.path.join(HISTORIES, "valid-concurrent-write-read.jsonl")) as f:
            result = check("--checkers", "all", "-", stdin=f.read())
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        for name in ("linearizable", "lost-writes", "stale-reads", "sessions", "convergence"):
            self.assertIn(name, result.stdout)

    def test_unreadable_input_and_bad_usage(self):
        missing = check("/nonexistent/history.jsonl")
        self.assertEqual(missing.returncode, 3)
        self.assertIn("cannot open", missing.stderr)
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            f.write('{"process": 0, "type": "invoke", "f": "read", "time": 0}\n{"oops"\n')
        try:
            broken = check(f.name)
            self.assertEqual(broken.returncode, 3)
            self.assertIn(f"{f.name}:2: not a JSON object", broken.stderr)
        finally:
            os.unlink(f.name)
        self.assertEqual(check("--checkers", "nosuch", os.path.join(HISTORIES, "valid-cas-register.jsonl")).returncode, 4)
        self.assertEqual(check().returncode, 4)


if __name__ == "__main__":
    unittest.main()
