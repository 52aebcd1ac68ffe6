"""The benchmarks still run: ``python -m benchmarks --smoke`` (tiny sizes, no local cloud).

Checks the structure of what it writes, never the numbers: no timed
assertion belongs in a test run on a shared, noisy machine.  The real run is
``make bench`` (see the README's Benchmarks section).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.common import Row, check, info, table
from benchmarks.loadgen import parse_wrk

ROOT = Path(__file__).resolve().parents[1]
FIELDS = {"name", "value", "unit", "target", "met"}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], list[dict]]:
    out = tmp_path_factory.mktemp("bench") / "smoke.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--smoke", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done, json.loads(out.read_text())


def test_every_row_has_the_fields(smoke):
    _, rows = smoke
    assert isinstance(rows, list) and rows
    for row in rows:
        assert FIELDS <= set(row), row
        assert isinstance(row["name"], str) and row["name"]
        assert row["value"] is None or isinstance(row["value"], (int, float))
        assert isinstance(row["unit"], str)
        assert row["target"] is None or isinstance(row["target"], str)
        assert row["met"] in (True, False, None)
        assert (row["target"] is None) == (row["met"] is None), row
    names = [row["name"] for row in rows]
    assert len(names) == len(set(names))


def test_the_smoke_run_covers_every_part_but_the_cloud(smoke):
    _, rows = smoke
    names = {row["name"] for row in rows}
    assert not any(name.endswith(".error") for name in names), [r for r in rows if r["name"].endswith(".error")]
    assert {"overhead.small.cost_ratio", "overhead.small.ours_added_p50", "streaming.download.ratio",
            "streaming.upload.ratio", "streaming.peak_rss.ours_minus_bare", "render.memory_growth",
            "run.seconds"} <= names
    assert any(name.startswith("render.doubling_") for name in names)
    assert any(name.startswith("render.") and name.endswith(".vs_parse") for name in names)
    assert not any(name.startswith(("overhead.glance.", "cli.")) for name in names)


def test_the_table_marks_each_target(smoke):
    done, rows = smoke
    for row in rows:
        assert row["name"] in done.stdout
    assert "targets missed:" in done.stdout


def test_table_and_rows_helpers():
    rows = [check("a.ratio", 1.0, "x", "<=", 1.25), check("b.ratio", 2.0, "x", "<=", 1.25),
            check("c.none", None, "x", "<=", 1.0, "not measured"), info("d.rps", 1234.5, "req/s")]
    assert [r.met for r in rows] == [True, False, False, None]
    text = table(rows)
    assert "NO" in text and "yes" in text and "not measured" in text
    assert Row("x", 1, "s").as_dict() == {"name": "x", "value": 1, "unit": "s", "target": None, "met": None,
                                           "note": ""}


def test_wrk_output_is_parsed():
    output = """Running 2s test @ http://127.0.0.1:18081/json
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.71ms    0.90ms   9.63ms   75.63%
    Req/Sec     2.97k   423.91     3.56k    55.00%
  Latency Distribution
     50%  321.00us
     75%    3.12ms
     90%    3.88ms
     99%    1.31s
  5912 requests in 2.00s, 4.05MB read
  Non-2xx or 3xx responses: 3
Requests/sec:   2954.08
Transfer/sec:      2.03MB
"""
    result = parse_wrk(output)
    assert (result.rps, result.p50_ms, result.p99_ms, result.requests, result.errors) == (2954.08, 0.321, 1310.0,
                                                                                         5912, 3)


def test_committed_results_have_the_same_structure():
    latest = ROOT / "benchmarks" / "results" / "latest.json"
    rows = json.loads(latest.read_text())
    assert rows and all(FIELDS <= set(row) for row in rows)
