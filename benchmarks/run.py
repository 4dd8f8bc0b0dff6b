#!/usr/bin/env python3
"""Run the benchmarks: ``./dev bench`` (all), ``./dev bench regs mm`` (bench_regs.py, bench_mm.py), ``--quick``.

Prints one table (progress goes to stderr while it runs); ``--json`` prints the results as JSON instead, and
``--out FILE`` also writes them there. Every figure is timed in interleaved rounds against a reference measured
in the same run (see ``_harness.py``), so results compare across machines; every target is printed beside its
figure, met or not met.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _harness import Harness, Result, dump, environment, table  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("names", nargs="*", help="benchmarks to run (bench_NAME.py); all by default")
    ap.add_argument("--quick", action="store_true", help="fewer rounds and iterations (a smoke run)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON (for machines)")
    ap.add_argument("--out", metavar="FILE", help="also write the results as JSON to FILE")
    args = ap.parse_args(argv)
    available = {p.stem.removeprefix("bench_"): p for p in sorted(HERE.glob("bench_*.py"))}
    names = args.names or list(available)
    unknown = [n for n in names if n not in available]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {', '.join(available)}", file=sys.stderr)
        return 2

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    progress(f"environment: {environment()}")
    results: list[Result] = []
    for name in names:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", available[name])
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        doc = (mod.__doc__ or "").strip().splitlines()
        progress(f"[{name}] {doc[0] if doc else ''}")
        h = Harness(name, quick=args.quick, progress=progress)
        try:
            mod.run(h)
        except Exception as exc:  # one broken benchmark must not hide the others' results: it is a row, NOT met
            progress(f"  FAILED: {type(exc).__name__}: {exc}")
            h.report(f"(benchmark failed: {type(exc).__name__})", 0.0, target_text="runs", met=False, error=str(exc))
        results += h.results
    if args.out:
        Path(args.out).write_text(dump(results))
    print(dump(results) if args.json else table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
