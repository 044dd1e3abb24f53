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
        for preset in ("async", "sync", "majority", "k1of5"):
            match = re.search(rf"(?m)^{preset}\s+(\d)\s+\S+\s+(\d+)\s+\S+\s+\S+\s+(\d+)/(\d+)\s+(\d+)\s+(\d+)\s+(yes|NO|\?)",
                              out)
            self.assertIsNotNone(match, f"no row for {preset}:\n{out}")
            rows[preset] = match
            self.assertGreater(int(match.group(2)), 0, out)  # ops/s
            self.assertGreater(int(match.group(4)), 0, out)  # acknowledged inserts
        for preset in ("sync", "majority", "k1of5"):
            self.assertEqual(rows[preset].group(3), "0", f"{preset} lost acknowledged writes:\n{out}")
            self.assertEqual(rows[preset].group(7), "yes", f"{preset} not linearizable:\n{out}")
        self.assertIn("none of its", out)  # the paragraph, in words
        self.assertRegex(out, r"async: writes answered in [\d.]+ ms at the median")
        self.assertIn("report: report.html", out)

    def test_the_raw_results_match_the_table(self):
        with open(os.path.join(self.dir, "report.json")) as f:
            demo = json.load(f)
        self.assertEqual([r["preset"] for r in demo["runs"]], ["async", "sync", "majority", "k1of5"])
        for r in demo["runs"]:
            self.assertIn(f"{r['preset']:<9}", demo["table"])
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
        presets = 4
        # Two latency charts, a throughput chart per preset, the anomaly chart.
        self.assertIn(f'data-charts-drawn="{3 + presets}"', dom)
        self.assertEqual(dom.count('data-drawn="true"'), 3 + presets)
        # A line per preset in each latency chart, two per throughput chart.
        self.assertGreaterEqual(len(re.findall(r'<polyline class="series"', dom)), 2 * presets + 2 * presets)
        # Three bars per preset, and the fault windows shaded.
        self.assertEqual(len(re.findall(r'<rect class="bar"', dom)), 3 * presets)
        self.assertGreaterEqual(len(re.findall(r'<rect class="fault"', dom)), presets)
        # The polylines hold real points, not empty attributes.
        points = re.findall(r'<polyline class="series"[^>]*points="([^"]*)"', dom)
        self.assertTrue(all(len(p.split()) >= 2 for p in points), points[:3])


if __name__ == "__main__":
    unittest.main()
