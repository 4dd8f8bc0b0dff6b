"""Benchmark harness: time callables, compare against a reference measured in the same run.

Each ``bench_*.py`` module defines ``run(h: Harness) -> None`` and reports with :meth:`Harness.compare`
(a ratio against a reference, with an optional target) or :meth:`Harness.report` (a plain figure).
Timing is the minimum over ``repeat`` runs of ``number`` calls (``timeit`` semantics): the least
disturbed measurement. Nothing here asserts: benchmarks inform, tests decide.
"""

from __future__ import annotations

import json
import platform
import sys
import timeit
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Result:
    bench: str
    name: str
    seconds: float
    reference: str | None = None
    reference_seconds: float | None = None
    ratio: float | None = None  #: seconds / reference_seconds (lower is better for us)
    target: str | None = None
    met: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Harness:
    def __init__(self, bench: str, *, quick: bool = False) -> None:
        self.bench = bench
        self.quick = quick
        self.results: list[Result] = []

    def time(self, fn: Callable[[], object], *, number: int | None = None, repeat: int = 5) -> float:
        """Seconds per call of ``fn`` (min over ``repeat`` runs; ``number`` auto-sized to ~0.2 s)."""
        t = timeit.Timer(fn)
        if number is None:
            number, _ = t.autorange()
            if self.quick:
                number = max(1, number // 10)
        if self.quick:
            repeat = min(repeat, 2)
        return min(t.repeat(repeat=repeat, number=number)) / number

    def compare(self, name: str, fn: Callable[[], object], reference: str, ref_fn: Callable[[], object], *,
                max_ratio: float | None = None, min_speedup: float | None = None, number: int | None = None,
                repeat: int = 5, **extra: Any) -> Result:
        """Time ``fn`` and ``ref_fn`` in this run; ratio = ours / theirs.

        ``max_ratio``: target "at most N times the reference" (ours may be slower, within N).
        ``min_speedup``: target "at least N times faster than the reference".
        """
        ref = self.time(ref_fn, number=number, repeat=repeat)
        ours = self.time(fn, number=number, repeat=repeat)
        ratio = ours / ref if ref > 0 else float("inf")
        target, met = None, None
        if max_ratio is not None:
            target, met = f"<= {max_ratio:g}x reference", ratio <= max_ratio
        if min_speedup is not None:
            target, met = f">= {min_speedup:g}x faster", (1 / ratio if ratio else float("inf")) >= min_speedup
        r = Result(self.bench, name, ours, reference, ref, ratio, target, met, extra)
        self.results.append(r)
        self._print(r)
        return r

    def report(self, name: str, seconds: float, **extra: Any) -> Result:
        r = Result(self.bench, name, seconds, extra=extra)
        self.results.append(r)
        self._print(r)
        return r

    @staticmethod
    def _print(r: Result) -> None:
        line = f"  {r.name:<52} {_fmt(r.seconds):>10}"
        if r.reference is not None and r.ratio is not None and r.reference_seconds is not None:
            speed = f"{1 / r.ratio:.2f}x faster" if r.ratio < 1 else f"{r.ratio:.2f}x slower"
            line += f"  vs {r.reference} {_fmt(r.reference_seconds)}: ratio {r.ratio:.3f} ({speed})"
        if r.target is not None:
            line += f"  [target {r.target}: {'met' if r.met else 'NOT met'}]"
        for k, v in r.extra.items():
            line += f"  {k}={v}"
        print(line, flush=True)


def _fmt(s: float) -> str:
    if s >= 1:
        return f"{s:.3f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3f} ms"
    if s >= 1e-6:
        return f"{s * 1e6:.3f} us"
    return f"{s * 1e9:.1f} ns"


def environment() -> dict[str, str]:
    return {"python": sys.version.split()[0], "machine": platform.machine(), "platform": platform.platform()}


def dump(results: list[Result]) -> str:
    return json.dumps({"environment": environment(), "results": [asdict(r) for r in results]}, indent=2)
