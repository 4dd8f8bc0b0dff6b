#!/usr/bin/env python3
"""Run the benchmarks: ``./dev bench`` (all), ``./dev bench regs`` (bench_regs.py), ``--quick``, ``--json F``.

Every figure is a ratio against a reference measured in the same run (a raw memoryview read, a plain
copy, tinygrad's equivalent), so results compare across machines.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _harness import Harness, Result, dump, environment  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("names", nargs="*", help="benchmarks to run (bench_NAME.py); all by default")
    ap.add_argument("--quick", action="store_true", help="fewer iterations (smoke run)")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = ap.parse_args(argv)
    available = {p.stem.removeprefix("bench_"): p for p in sorted(HERE.glob("bench_*.py"))}
    names = args.names or list(available)
    unknown = [n for n in names if n not in available]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {', '.join(available)}", file=sys.stderr)
        return 2
    print(f"environment: {environment()}")
    results: list[Result] = []
    for name in names:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", available[name])
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        print(f"\n[{name}] {(mod.__doc__ or '').strip().splitlines()[0] if mod.__doc__ else ''}")
        h = Harness(name, quick=args.quick)
        mod.run(h)
        results += h.results
    if args.json:
        Path(args.json).write_text(dump(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
