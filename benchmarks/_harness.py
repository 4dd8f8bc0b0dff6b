"""Benchmark harness: interleaved A/B rounds against a reference measured in the same run.

Each ``bench_*.py`` module defines ``run(h: Harness) -> None`` and reports with

- :meth:`Harness.compare`: ours and a reference, both zero-argument callables, called the same way by the same
  loop (so neither side pays a call the other does not);
- :meth:`Harness.compare_stmt`: ours and a reference as *statements* timed inline (``timeit`` compiles each into
  the same loop), for costs of tens of nanoseconds where wrapping one side in a ``def`` would change the figure.
  The empty loop (``pass``), timed in the same rounds, is subtracted from both: the figures are the statements'
  own cost;
- :meth:`Harness.report`: a figure with no reference (optionally a target on it).

How a comparison is timed: ``rounds`` rounds; in each, ``number`` calls of ours and ``number`` of the reference,
alternating which goes first (A B, B A, ...), so a change of machine load hits both sides alike. Every result
gives the minimum (the least disturbed sample) and the median of both sides, and two ratios: ``ratio_min``
(min ours / min reference) and ``ratio_median`` (the median of the per-round ratios, each taken from two
adjacent samples). A target is met only when *both* ratios meet it. Nothing here asserts: benchmarks inform,
tests decide.
"""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import statistics
import sys
import timeit
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Target:
    """What a result must reach: ``ratio <= max_ratio``, ``1 / ratio >= min_speedup``, ``seconds <= max_seconds``,
    or ``per_second >= min_rate``."""

    max_ratio: float | None = None
    min_speedup: float | None = None
    max_seconds: float | None = None
    min_rate: float | None = None

    def text(self) -> str:
        if self.max_ratio is not None:
            return f"<= {self.max_ratio:g}x reference"
        if self.min_speedup is not None:
            return f">= {self.min_speedup:g}x faster"
        if self.max_seconds is not None:
            return f"<= {_fmt(self.max_seconds)}"
        assert self.min_rate is not None
        return f">= {self.min_rate:,.0f}/s"

    def met_by_ratio(self, ratio: float) -> bool:
        if self.max_ratio is not None:
            return ratio <= self.max_ratio
        assert self.min_speedup is not None
        return ratio > 0 and 1 / ratio >= self.min_speedup

    def met_by_seconds(self, seconds: float) -> bool:
        if self.max_seconds is not None:
            return seconds <= self.max_seconds
        assert self.min_rate is not None
        return seconds > 0 and 1 / seconds >= self.min_rate


@dataclass
class Result:
    bench: str
    id: str  #: stable key for machines (``bench.name``)
    name: str
    seconds_min: float  #: ours, per call
    seconds_median: float
    reference: str | None = None
    reference_min: float | None = None
    reference_median: float | None = None
    ratio_min: float | None = None  #: min ours / min reference (lower is better for us)
    ratio_median: float | None = None  #: median of the per-round ratios
    rounds: int = 0
    number: int = 0  #: calls per sample
    target: str | None = None
    met: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Harness:
    def __init__(self, bench: str, *, quick: bool = False, progress: Callable[[str], None] | None = None) -> None:
        self.bench = bench
        self.quick = quick
        self.results: list[Result] = []
        self._progress = progress

    # -- timing ------------------------------------------------------------------------------------

    def _rounds(self, rounds: int | None) -> int:
        if rounds is None:
            rounds = 7
        return max(1, min(rounds, 2)) if self.quick else rounds

    def _number(self, timers: list[timeit.Timer], number: int | None) -> int:
        """Calls per sample: enough that the slowest side's sample takes ~50 ms (5 ms with ``--quick``)."""
        if number is not None:
            return number
        want = 0.005 if self.quick else 0.05
        n = 1
        while True:
            t = max(tm.timeit(n) for tm in timers)
            if t >= want or n >= 10_000_000:
                return n
            n = n * 10 if t < want / 10 else max(n + 1, math.ceil(n * want / max(t, 1e-9)))

    def _interleave(self, timers: list[timeit.Timer], number: int, rounds: int) -> list[list[float]]:
        """``rounds`` samples (seconds per call) of each timer, the order rotating every round."""
        samples: list[list[float]] = [[] for _ in timers]
        order = list(range(len(timers)))
        gc.collect()  # (timeit keeps the collector off while it times)
        for r in range(rounds):
            for i in order if r % 2 == 0 else order[::-1]:
                samples[i].append(timers[i].timeit(number) / number)
        return samples

    def compare(self, name: str, fn: Callable[[], object], reference: str, ref_fn: Callable[[], object], *,
                target: Target | None = None, number: int | None = None, rounds: int | None = None,
                **extra: Any) -> Result:
        """Time ``fn`` against ``ref_fn`` (interleaved); ratio = ours / reference."""
        timers = [timeit.Timer(fn), timeit.Timer(ref_fn)]
        n = self._number(timers, number)
        ours, ref = self._interleave(timers, n, self._rounds(rounds))
        return self._add(name, ours, reference, ref, n, target, extra)

    def compare_stmt(self, name: str, stmt: str, reference: str, ref_stmt: str, namespace: dict[str, Any], *,
                     target: Target | None = None, rounds: int | None = None, **extra: Any) -> Result:
        """Time two statements inline (the same ``timeit`` loop), net of the empty loop."""
        timers = [timeit.Timer(stmt, globals=namespace), timeit.Timer(ref_stmt, globals=namespace),
                  timeit.Timer("pass", globals=namespace)]
        n = self._number(timers[:2], None)
        ours, ref, empty = self._interleave(timers, n, self._rounds(rounds))
        loop = min(empty)
        ours = [max(s - loop, 1e-12) for s in ours]
        ref = [max(s - loop, 1e-12) for s in ref]
        extra = {"stmt": stmt, "reference_stmt": ref_stmt, "loop_ns_subtracted": round(loop * 1e9, 2), **extra}
        return self._add(name, ours, reference, ref, n, target, extra)

    def compare_samples(self, name: str, ours: list[float], reference: str, ref: list[float], *,
                        target: Target | None = None, number: int = 1, **extra: Any) -> Result:
        """A comparison of samples the benchmark took itself, interleaved (``ours[k]`` beside ``ref[k]``)."""
        return self._add(name, ours, reference, ref, number, target, extra)

    def samples(self, fn: Callable[[], object], *, number: int = 1, rounds: int | None = None) -> list[float]:
        """Seconds per call of ``fn``: ``rounds`` samples of ``number`` calls."""
        return self._interleave([timeit.Timer(fn)], number, self._rounds(rounds))[0]

    # -- results -----------------------------------------------------------------------------------

    def _add(self, name: str, ours: list[float], reference: str, ref: list[float], number: int,
             target: Target | None, extra: dict[str, Any]) -> Result:
        ratio_min = min(ours) / min(ref)
        ratio_median = statistics.median(o / r for o, r in zip(ours, ref, strict=True))
        met = None
        if target is not None:
            met = target.met_by_ratio(ratio_min) and target.met_by_ratio(ratio_median)
        r = Result(self.bench, self._id(name), name, min(ours), statistics.median(ours), reference, min(ref),
                   statistics.median(ref), ratio_min, ratio_median, len(ours), number,
                   None if target is None else target.text(), met, extra)
        return self._append(r)

    def report(self, name: str, samples: float | list[float], *, target: Target | None = None,
               met: bool | None = None, target_text: str | None = None, **extra: Any) -> Result:
        """A figure (seconds per operation; one value or samples) with an optional target on it.

        ``target`` judges the seconds (both min and median must meet it); ``met`` with ``target_text`` states
        the verdict of a target that is not about seconds (a fragmentation, a count).
        """
        xs = samples if isinstance(samples, list) else [samples]
        lo, med = min(xs), statistics.median(xs)
        text = target_text
        if target is not None:
            text = target.text()
            met = target.met_by_seconds(lo) and target.met_by_seconds(med)
        r = Result(self.bench, self._id(name), name, lo, med, rounds=len(xs), target=text, met=met, extra=extra)
        return self._append(r)

    def _id(self, name: str) -> str:
        key = "".join(c if c.isalnum() else "_" for c in name.lower())
        while "__" in key:
            key = key.replace("__", "_")
        return f"{self.bench}.{key.strip('_')}"

    def _append(self, r: Result) -> Result:
        self.results.append(r)
        if self._progress is not None:
            self._progress(progress_line(r))
        return r


# -- output ----------------------------------------------------------------------------------------


def _fmt(s: float) -> str:
    if s >= 1:
        return f"{s:.3f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3f} ms"
    if s >= 1e-6:
        return f"{s * 1e6:.2f} us"
    return f"{s * 1e9:.1f} ns"


def _ratio(r: Result) -> str:
    if r.ratio_min is None or r.ratio_median is None:
        return ""
    if (r.target is not None and "faster" in r.target) or (r.ratio_min < 1 and r.ratio_median < 1):
        return f"{1 / r.ratio_min:.1f}x / {1 / r.ratio_median:.1f}x faster"
    return f"{r.ratio_min:.2f}x / {r.ratio_median:.2f}x"


def _verdict(r: Result) -> str:
    if r.target is None:
        return ""
    return f"{r.target}: {'met' if r.met else 'NOT met'}"


def progress_line(r: Result) -> str:
    line = f"  {r.name}: {_fmt(r.seconds_min)} (median {_fmt(r.seconds_median)})"
    if r.reference is not None and r.reference_min is not None:
        line += f" vs {r.reference} {_fmt(r.reference_min)}: {_ratio(r)} (min / median)"
    if r.target is not None:
        line += f"  [{_verdict(r)}]"
    return line


def table(results: list[Result]) -> str:
    """One table: what, ours (min / median), the reference (min / median), the ratios, the target and verdict."""
    head = ("benchmark", "ours min / median", "reference", "ref min / median", "ratio min / median", "target")
    rows = [head]
    for r in results:
        ours = f"{_fmt(r.seconds_min)} / {_fmt(r.seconds_median)}"
        ref = "" if r.reference_min is None or r.reference_median is None else (
            f"{_fmt(r.reference_min)} / {_fmt(r.reference_median)}")
        rows.append((f"{r.bench}: {r.name}", ours, r.reference or "", ref, _ratio(r), _verdict(r)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = []
    for k, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    extras = [f"  {r.bench}: {r.name}: " + ", ".join(f"{k}={v}" for k, v in r.extra.items())
              for r in results if r.extra]
    if extras:
        lines += ["", "notes:", *extras]
    missed = [r for r in results if r.met is False]
    lines += ["", f"{sum(1 for r in results if r.met)} target(s) met, {len(missed)} not met"
              + (": " + "; ".join(f"{r.bench}: {r.name}" for r in missed) if missed else "")]
    return "\n".join(lines)


def environment() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"python": sys.version.split()[0], "machine": platform.machine(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "loadavg": None if load is None else [round(x, 2) for x in load]}


def dump(results: list[Result]) -> str:
    return json.dumps({"environment": environment(), "results": [asdict(r) for r in results]}, indent=2)
