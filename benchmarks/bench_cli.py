"""CLI start-up: ``nova --help`` and ``nova probe --sim ad102 --json`` against ``python -c pass``, in the same run.

Each round runs the three commands as fresh processes (the installed ``nova`` console script, the same
interpreter), in rotating order; a command's figure is its wall time, and its start-up cost is the time above
``python -c pass`` of the same round (the interpreter's own start, which no command can avoid). Targets (issue
14): ``nova --help`` <= 0.25 s and ``nova probe --sim ad102 --json`` <= 0.4 s above ``python -c pass``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from _harness import Harness, Target


def _nova() -> list[str]:
    script = Path(sys.executable).with_name("nova")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from nova_core.cli.main import run; run()"]


def _wall(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def run(h: Harness) -> None:
    nova = _nova()
    cases = [("python -c pass", [sys.executable, "-c", "pass"]), ("nova --help", [*nova, "--help"]),
             ("nova probe --sim ad102 --json", [*nova, "probe", "--sim", "ad102", "--json"])]
    for _, argv in cases:  # warm the page cache and the bytecode caches
        _wall(argv)
    walls: dict[str, list[float]] = {name: [] for name, _ in cases}
    for r in range(3 if h.quick else 9):
        order = cases if r % 2 == 0 else cases[::-1]
        for name, argv in order:
            walls[name].append(_wall(argv))
    base = walls["python -c pass"]
    h.report("python -c pass (the interpreter's start)", base)
    for name, limit in (("nova --help", 0.25), ("nova probe --sim ad102 --json", 0.4)):
        excess = [w - b for w, b in zip(walls[name], base, strict=True)]
        h.report(f"{name}: start-up above python -c pass", excess, target=Target(max_seconds=limit),
                 wall_min=f"{min(walls[name]):.3f} s", wall_median=f"{statistics.median(walls[name]):.3f} s")
