"""`replikv sim` as a user runs it, and the same seed giving the same history in every build."""
import filecmp
import os
import subprocess
import tempfile
import unittest

from harness import BINARY, ROOT


def sim(*args, binary=BINARY):
    return subprocess.run([binary, "sim", *args], capture_output=True, text=True, timeout=300)


class Sim(unittest.TestCase):
    def test_a_seed_alone_is_a_full_run(self):
        result = sim("--seed", "3")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        for word in ("operations", "faults", "linearizable", "lost-writes", "convergence", "PASS"):
            self.assertIn(word, result.stdout)

    def test_broken_replica_fails_with_a_replay_command(self):
        result = sim("--seed", "1", "--faults", "kill", "--broken", "ack-before-sync")
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("FAIL: seed 1", result.stdout)
        self.assertIn("Replay: replikv sim --strategy standalone --nodes 1 --seed 1", result.stdout)

    def test_history_and_schedule_replay(self):
        with tempfile.TemporaryDirectory() as folder:
            first, second = os.path.join(folder, "a.jsonl"), os.path.join(folder, "b.jsonl")
            printed = sim("--seed", "8", "--ops", "500", "--history", first, "--print-schedule")
            self.assertEqual(printed.returncode, 0, printed.stdout)
            schedule = os.path.join(folder, "schedule.txt")
            with open(schedule, "w") as f:
                f.write("".join(l + "\n" for l in printed.stdout.splitlines() if l[:1].isdigit()))
            replay = sim("--seed", "8", "--ops", "500", "--history", second, "--schedule", schedule)
            self.assertEqual(replay.returncode, 0, replay.stdout)
            self.assertTrue(filecmp.cmp(first, second, shallow=False))
            checked = subprocess.run([BINARY, "check", "--checkers", "all", first],
                                     capture_output=True, text=True, timeout=120)
            self.assertEqual(checked.returncode, 0, checked.stdout)

    def test_release_and_sanitizer_builds_write_the_same_history(self):
        # Runs in the sanitizer phase of `make test`, against the release build made just before
        # (in the release phase an ASan binary, if any, may be older than the code).
        if os.path.basename(os.path.dirname(os.path.abspath(BINARY))) != "asan":
            self.skipTest("runs in the ASan phase of make test")
        builds = [os.path.join(ROOT, "build", name, "replikv") for name in ("release", "asan")]
        present = [b for b in builds if os.access(b, os.X_OK)]
        if len(present) < 2:
            self.skipTest("needs both the release and the asan build (make test builds both)")
        with tempfile.TemporaryDirectory() as folder:
            outputs = []
            for index, binary in enumerate(present):
                path = os.path.join(folder, f"{index}.jsonl")
                result = sim("--seed", "77", "--ops", "800", "--history", path, binary=binary)
                self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
                outputs.append(path)
            self.assertTrue(filecmp.cmp(outputs[0], outputs[1], shallow=False),
                            "the release and ASan builds disagree on seed 77")

    def test_bad_usage(self):
        self.assertEqual(sim("--strategy", "nosuch").returncode, 2)
        self.assertEqual(sim("--faults", "meteor").returncode, 2)
        self.assertEqual(sim("--fsync", "sometimes").returncode, 2)


if __name__ == "__main__":
    unittest.main()
