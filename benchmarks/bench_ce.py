"""Copy engine and channels: CE copy throughput vs memcpy, submission cost per GPFIFO entry vs an RPC round trip.

Everything runs on a booted simulated GA102 (synthetic firmware), host wall-clock time:

- **copy**: ``CopyEngine.copy(dst, src, n).wait()`` - the pushbuffer, the GPFIFO entry, GP_PUT through BAR2, the
  doorbell, the simulated PBDMA fetching through the channel's page tables, the simulated CE translating per
  2 MiB page and moving whole runs, the semaphore release, the fence - against a plain copy of the same ``n``
  bytes between two already-touched host buffers (``bytearray`` slice assignment: one memcpy). System memory to
  VRAM and VRAM to system memory, 1 MiB to 256 MiB. Target (issue 16): at least 0.25x memcpy's throughput from
  16 MiB on, i.e. at most 4x its time.
- **submission**: the cost of one GPFIFO entry (a host semaphore release: pushbuffer, entry, GP_PUT through BAR2,
  doorbell), ``K`` entries submitted back to back and the last fence waited for, against one NOP RPC round trip
  with the simulated GSP-RM - both with the simulated side's work included (the host fetching and executing
  the entry; GSP-RM answering). The driver's own share of an entry is reported too: the same loop with the time
  the simulated host spent executing taken out.
"""

from __future__ import annotations

import os
import time
from typing import Any

from _harness import Harness, Target
from nova_core.gsp.fw import Nop
from nova_core.sim_boot import boot_sim

MiB = 1 << 20


def run(h: Harness) -> None:
    gpu = boot_sim("ga102", synthetic=True)
    try:
        _run(h, gpu)
    finally:
        gpu.close()


def _run(h: Harness, gpu: Any) -> None:
    fifo = gpu.channels
    ch = fifo.open("ce0")
    ce = ch.copy_engine()
    sizes = [1, 16] if h.quick else [1, 16, 64, 256]
    for mib in sizes:
        n = mib * MiB
        src = ch.vaspace.alloc_sysmem(n, name="bench src")
        dst = ch.vaspace.alloc_vram(n, name="bench dst")
        src.write(os.urandom(n))
        a, b = bytearray(n), bytearray(os.urandom(n))
        a[:] = b  # both touched: the reference is a copy, not page faults
        target = 4.0 if mib >= 16 else None
        for label, d, s in (("system memory -> VRAM", dst, src), ("VRAM -> system memory", src, dst)):
            r = h.compare(f"CE copy {mib} MiB, {label}", lambda d=d, s=s, n=n: ce.copy(d, s, n).wait(),
                          f"memcpy {mib} MiB", lambda a=a, b=b: a.__setitem__(slice(None), b),
                          target=None if target is None else Target(max_ratio=target), number=1,
                          rounds=3 if mib >= 64 else 5)
            if r.ratio_min:
                r.extra["throughput_vs_memcpy"] = f"{1 / r.ratio_min:.2f}x"
                r.extra["GiB_per_s"] = f"{n / r.seconds_min / (1 << 30):.2f}"
        src.free()
        dst.free()

    k = 50 if h.quick else 500
    host = gpu.dev.sim.models["fifo"]
    executing = [0.0]
    run = host.run

    def timed_run(c: Any) -> None:
        t = time.perf_counter()
        run(c)
        executing[0] += time.perf_counter() - t

    def entries() -> None:
        last = None
        for _ in range(k):
            last = ch.submit()
        assert last is not None
        last.wait()

    rpc = gpu.rpc
    nop = Nop(b"")
    host.run = timed_run
    per_entry: list[float] = []
    driver_share: list[float] = []
    round_trip: list[float] = []
    try:
        for r in range(2 if h.quick else 5):  # interleaved with the reference (A B, B A, ...)
            for side in ("entries", "rpc")[::1 if r % 2 == 0 else -1]:
                if side == "entries":
                    executing[0] = 0.0
                    t0 = time.perf_counter()
                    entries()
                    total = time.perf_counter() - t0
                    per_entry.append(total / k)
                    driver_share.append((total - executing[0]) / k)
                else:
                    t1 = time.perf_counter()
                    for _ in range(k // 5):
                        rpc.call(nop)
                    round_trip.append((time.perf_counter() - t1) / (k // 5))
    finally:
        host.run = run
    ref = "one NOP RPC round trip with the simulated GSP-RM"
    h.compare_samples("submission of one GPFIFO entry (host semaphore release)", per_entry, ref, round_trip,
                      per_second=f"{1 / min(per_entry):,.0f}")
    h.compare_samples("... the driver's share of it (simulated host's execution taken out)", driver_share, ref,
                      round_trip, per_second=f"{1 / min(driver_share):,.0f}")
    ch.close()
