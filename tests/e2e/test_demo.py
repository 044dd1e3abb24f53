"""`make demo`'s script as a user runs it: every preset through the same scenario, the table, and
report.html — whose charts a real browser (Debian's Chromium, headless) must draw."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import BINARY, ROOT

PRESETS = ("async", "sync", "majority", "k1of5", "multi-lww", "multi-siblings", "quorum-1-1",
           "quorum-2-2", "quorum-linearizable")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class Demo(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="replikv-demo-test-")
        env = dict(os.environ, REPLIKV_BIN=BINARY, DEMO_DURATION_MS="5000")
        cls.demo = subprocess.run([os.path.join(ROOT, "scripts", "demo")], capture_output=True, text=True,
                                 timeout=600, env=env, cwd=cls.dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_demo_prints_the_table_and_what_it_means(self):
        out = self.demo.stdout
        self.assertEqual(self.demo.returncode, 0, out + self.demo.stderr)
        rows = {}
        for preset in PRESETS:
            # preset nodes settings ops/s write read lost/acked discarded siblings stale session linear
            match = re.search(rf"(?m)^{preset}\s+(\d)\s+\S+\s+(\d+)\s+\S+\s+\S+\s+(\d+)/(\d+)\s+(\d+)\s+(\d+)"
                              rf"\s+(\d+)\s+(\d+)\s+(yes|NO|\?)", out)
            self.assertIsNotNone(match, f"no row for {preset}:\n{out}")
            rows[preset] = match
            self.assertGreater(int(match.group(2)), 0, out)  # ops/s
            self.assertGreater(int(match.group(4)), 0, out)  # acknowledged inserts
        for preset in ("sync", "majority", "k1of5"):
            self.assertEqual(rows[preset].group(3), "0", f"{preset} lost acknowledged writes:\n{out}")
            self.assertEqual(rows[preset].group(9), "yes", f"{preset} not linearizable:\n{out}")
            self.assertEqual(rows[preset].group(5), "0", f"{preset} discards nothing:\n{out}")
        # Multi-leader: no acknowledged insert lost (unique keys never conflict); what conflicts
        # cost on the registers is in its own columns — lww discards, siblings keep.
        for preset in ("multi-lww", "multi-siblings"):
            self.assertEqual(rows[preset].group(3), "0", f"{preset} lost acknowledged inserts:\n{out}")
        self.assertEqual(rows["multi-siblings"].group(5), "0", out)
        # Leaderless: a kill takes one replica of a key, W = 2 of 3 goes on, nothing acknowledged
        # is lost; ABD's histories are linearizable.
        for preset in ("quorum-2-2", "quorum-linearizable"):
            self.assertEqual(rows[preset].group(3), "0", f"{preset} lost acknowledged inserts:\n{out}")
        self.assertEqual(rows["quorum-linearizable"].group(9), "yes", out)
        self.assertIn("none of its", out)  # the paragraph, in words
        self.assertRegex(out, r"async: writes answered in [\d.]+ ms at the median")
        self.assertIn("report: report.html", out)

    def test_the_raw_results_match_the_table(self):
        with open(os.path.join(self.dir, "report.json")) as f:
            demo = json.load(f)
        # The PBS experiments: under PBS's assumptions (writes to exactly W) the measured miss
        # rate lies in the 99% interval around the closed form; to every replica, below it.
        self.assertEqual(len(demo["pbs"]), 4)
        for e in demo["pbs"]:
            low, high = e["interval_99"]
            self.assertGreaterEqual(e["reads"], 10000)
            if e["delivery"] == "exactly W":
                self.assertTrue(low <= e["miss_rate"] <= high, e)
            else:
                self.assertLess(e["miss_rate"], low, e)
        self.assertEqual([r["preset"] for r in demo["runs"]], list(PRESETS))
        for r in demo["runs"]:
            self.assertIn(f"{r['preset']:<14}", demo["table"])
            self.assertTrue(r["faults"], r["preset"])  # the scenario's faults happened
            self.assertGreater(len(r["throughput"]["writes"]), 10)

    def test_report_charts_draw_in_a_headless_browser(self):
        chromium = shutil.which("chromium")
        self.assertIsNotNone(chromium, "chromium is missing: scripts/bootstrap installs it")
        report = os.path.join(self.dir, "report.html")
        self.assertTrue(os.path.exists(report))
        with tempfile.TemporaryDirectory() as profile:
            run = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom",
                                  "file://" + report], capture_output=True, text=True, timeout=120)
        dom = run.stdout
        self.assertEqual(run.returncode, 0, run.stderr[-2000:])
        presets = len(PRESETS)
        # Two latency charts, a throughput chart per preset, the anomaly chart, the conflicts chart,
        # the PBS chart.
        self.assertIn(f'data-charts-drawn="{5 + presets}"', dom)
        self.assertEqual(dom.count('data-drawn="true"'), 5 + presets)
        # PBS: a measured line and a predicted one per experiment.
        self.assertGreaterEqual(dom.count('class="predicted"'), 4)
        # A line per preset in each latency chart, two per throughput chart, one per multi-leader
        # preset in the conflicts chart.
        self.assertGreaterEqual(len(re.findall(r'<polyline class="series"', dom)), 4 * presets + 2)
        # Five bars per preset (lost, stale, session, discarded, siblings), the fault windows shaded.
        self.assertEqual(len(re.findall(r'<rect class="bar"', dom)), 5 * presets)
        self.assertGreaterEqual(len(re.findall(r'<rect class="fault"', dom)), presets)
        # The polylines hold real points, not empty attributes.
        points = re.findall(r'<polyline class="series"[^>]*points="([^"]*)"', dom)
        self.assertTrue(all(len(p.split()) >= 2 for p in points), points[:3])


if __name__ == "__main__":
    unittest.main()
