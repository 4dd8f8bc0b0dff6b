"""CLI start-up: ``nova --help`` and ``nova probe --sim ad102 --json`` against ``python -c pass``, in the same run.

Each round runs the commands as fresh processes (the installed ``nova`` console script, the same interpreter), in
rotating order; a command's figure is its wall time, and its start-up cost is the time above ``python -c pass`` of
the same round (the interpreter's own start, which no command can avoid). Targets (issue 14): ``nova --help`` <=
0.25 s and ``nova probe --sim ad102 --json`` <= 0.4 s above ``python -c pass``.

Bytecode: every process runs with its bytecode caches written and used (``PYTHONPYCACHEPREFIX`` set to a directory
of this run, ``PYTHONDONTWRITEBYTECODE`` removed), as an installed package runs - pip compiles a wheel's modules at
install, and an editable install writes them on first use. An environment that forbids them (this project's
machines set ``PYTHONDONTWRITEBYTECODE=1``) compiles every module of the command on every start; that figure is
reported too, without a target.

The floor: a typer app of one command with a string option and a flag, invoked the same way - what the CLI
framework (typer, click, rich, and the pydantic typer loads to convert parameters) costs before nova does
anything. Its figure is reported without a target: nova cannot go below it.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import Harness, Target

FLOOR = """\
import typer
app = typer.Typer(add_completion=False)
@app.command()
def main(sim: str = typer.Option("ad102", "--sim"), json_: bool = typer.Option(False, "--json")) -> None:
    print('{"chipset": "%s"}' % sim.upper())
app(["--sim", "ad102", "--json"], standalone_mode=False)
"""


def _nova() -> list[str]:
    script = Path(sys.executable).with_name("nova")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from nova_core.cli.main import run; run()"]


def _wall(argv: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env)
    return time.perf_counter() - t0


def _rounds(h: Harness, cases: list[tuple[str, list[str]]], env: dict[str, str]) -> dict[str, list[float]]:
    for _, argv in cases:  # warm the page cache (and write the bytecode caches where they are allowed)
        _wall(argv, env)
    walls: dict[str, list[float]] = {name: [] for name, _ in cases}
    for r in range(3 if h.quick else 9):
        order = cases if r % 2 == 0 else cases[::-1]
        for name, argv in order:
            walls[name].append(_wall(argv, env))
    return walls


def _above(walls: dict[str, list[float]], name: str) -> list[float]:
    return [w - b for w, b in zip(walls[name], walls["python -c pass"], strict=True)]


def run(h: Harness) -> None:
    nova = _nova()
    cases = [("python -c pass", [sys.executable, "-c", "pass"]), ("nova --help", [*nova, "--help"]),
             ("nova probe --sim ad102 --json", [*nova, "probe", "--sim", "ad102", "--json"]),
             ("typer floor", [sys.executable, "-c", FLOOR])]
    with tempfile.TemporaryDirectory(prefix="nova-bench-pyc-") as pyc:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = pyc
        walls = _rounds(h, cases, env)
    h.report("python -c pass (the interpreter's start)", walls["python -c pass"])
    h.report("typer floor: one typer command with an option and a flag, above python -c pass",
             _above(walls, "typer floor"), note="what the CLI framework costs before nova does anything")
    for name, limit in (("nova --help", 0.25), ("nova probe --sim ad102 --json", 0.4)):
        excess = _above(walls, name)
        h.report(f"{name}: start-up above python -c pass", excess, target=Target(max_seconds=limit),
                 wall_min=f"{min(walls[name]):.3f} s", wall_median=f"{statistics.median(walls[name]):.3f} s",
                 above_floor=f"{min(excess) - min(_above(walls, 'typer floor')):.3f} s", bytecode="cached")
    nocache = {k: v for k, v in os.environ.items() if k != "PYTHONPYCACHEPREFIX"}
    nocache["PYTHONDONTWRITEBYTECODE"] = "1"
    cold = _rounds(h, cases[:3], nocache)
    for name in ("nova --help", "nova probe --sim ad102 --json"):
        h.report(f"{name}: start-up above python -c pass, no bytecode caches (every module compiled)",
                 _above(cold, name), bytecode="PYTHONDONTWRITEBYTECODE=1, no __pycache__ to read")
