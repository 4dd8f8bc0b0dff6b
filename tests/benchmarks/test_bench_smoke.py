"""Every benchmark runs: ``benchmarks/run.py --quick`` (a smoke run, fewer rounds) ends with a row from each
``bench_*.py`` and no "(benchmark failed: ...)" row.

Targets are not asserted here: timing on a shared CI machine says little, and the figures belong to ``./dev bench``.
What this catches is a benchmark that no longer runs against the code it measures (a changed API, a simulator that
now refuses what the benchmark's reference does) - which otherwise shows only when someone runs ``./dev bench``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "benchmarks"


def test_every_benchmark_runs(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    # TIMEOUT: the quick run takes about a minute on a 2-core machine; ten is a hang.
    proc = subprocess.run([sys.executable, str(BENCH / "run.py"), "--quick", "--json", "--out", str(out)],
                          check=False, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = json.loads(out.read_text())["results"]
    failed = {r["bench"]: r["extra"].get("error") for r in results if r["name"].startswith("(benchmark failed")}
    assert not failed, f"benchmarks that no longer run: {failed}"
    files = {p.stem.removeprefix("bench_") for p in BENCH.glob("bench_*.py")}
    assert files, "no benchmarks found"
    missing = files - {r["bench"] for r in results}
    assert not missing, f"benchmarks that produced no row: {sorted(missing)}"
    for r in results:
        if r["reference"] is not None:  # a comparison: both sides were timed
            assert r["seconds_min"] > 0 and r["reference_min"] > 0, r
