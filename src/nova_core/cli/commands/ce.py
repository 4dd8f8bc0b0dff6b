"""``nova ce``: the copy engine - copy a buffer with the GPU's CE and check every byte arrived.

``nova ce copy --sim CHIP --size N --seed S`` boots the simulated GPU, opens a channel on a copy engine, fills a
source buffer with ``numpy.random.default_rng(S).bytes(N)``, copies it with the CE into a destination buffer of
the other memory kind (system memory -> VRAM by default), reads the destination back through a path the copy did
not use (VRAM through a BAR2 mapping, system memory through the CPU's view) and prints what arrived::

    {"chip", "channel": {"chid", "class", "runlist"}, "ce_class", "bytes", "dst_sha256", "seconds",
     "bytes_per_second"}

``seconds`` is the host time from submitting the copy to its fence; a destination that differs from the source
is an error (exit status 1).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import typer

from ...errors import NovaError
from ..common import (
    DEFAULT_SIM,
    FirmwareVersionOpt,
    JsonOpt,
    SimOpt,
    SyntheticOpt,
    VbiosOpt,
    console,
    human_bytes,
    print_json,
)

app = typer.Typer(help="The copy engine: copies through a GPU channel, checked byte for byte.", no_args_is_help=True)

DIRECTIONS = {"h2d": ("sysmem", "vram"), "d2h": ("vram", "sysmem"), "d2d": ("vram", "vram"),
              "h2h": ("sysmem", "sysmem")}
_SUFFIX = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
#: the largest copy: the source, the destination and the read-back are each held in host memory (the simulated
#: GPU's VRAM and system memory are host memory too)
MAX_SIZE = 2 << 30


def parse_size(text: str) -> int:
    """``4096``, ``0x1000``, ``16M``, ``16MiB``, ``1g``; positive and at most :data:`MAX_SIZE`."""
    t = text.strip().lower().removesuffix("ib").removesuffix("b")
    mult = 1
    if t and t[-1] in _SUFFIX:
        mult, t = _SUFFIX[t[-1]], t[:-1]
    try:
        n = int(t.replace("_", ""), 0) * mult
    except ValueError:
        raise NovaError(f"--size {text!r} is not a size (bytes, 0x.., or with K/M/G: 16M)") from None
    if n <= 0:
        raise NovaError(f"--size {text!r}: the size must be positive")
    if n > MAX_SIZE:
        raise NovaError(f"--size {text!r}: at most {human_bytes(MAX_SIZE)} ({MAX_SIZE} bytes)")
    return n


def run_copy(chip: str, size: int, seed: int, *, direction: str = "h2d", engine: str = "ce0",
             vbios: Path | None = None, firmware_version: str | None = None,
             synthetic: bool | None = None) -> dict[str, Any]:
    """Boot, copy ``size`` random bytes with the CE, read them back; the result ``nova ce copy --json`` prints."""
    import numpy as np

    from ...sim_boot import boot_sim

    if seed < 0:
        raise NovaError(f"--seed {seed}: a seed is a non-negative integer")
    if direction not in DIRECTIONS:
        raise NovaError(f"--direction {direction!r}: one of {', '.join(DIRECTIONS)}")
    src_kind, dst_kind = DIRECTIONS[direction]
    data = np.random.default_rng(seed).bytes(size)
    want = hashlib.sha256(data).hexdigest()
    with boot_sim(chip, vbios=vbios, firmware_version=firmware_version, synthetic=synthetic) as gpu:
        fifo = gpu.channels
        with fifo.open(engine) as ch:
            space = ch.vaspace
            src = space.alloc_sysmem(size, name="src") if src_kind == "sysmem" else space.alloc_vram(size, name="src")
            dst = space.alloc_sysmem(size, name="dst") if dst_kind == "sysmem" else space.alloc_vram(size, name="dst")
            src.write(data)  # system memory: the CPU's view; VRAM: through BAR2
            ce = ch.copy_engine()
            t0 = time.perf_counter()
            ce.copy(dst, src, size).wait()
            seconds = time.perf_counter() - t0
            got = hashlib.sha256(dst.read()).hexdigest()  # a path the copy engine did not use
            result = {"chip": gpu.spec.chipset.name.lower() if gpu.spec else chip,
                      "channel": {"chid": ch.chid, "class": ch.gpfifo_class, "runlist": ch.engine.runlist},
                      "ce_class": ce.ce_class, "bytes": size, "dst_sha256": got, "seconds": seconds,
                      "bytes_per_second": size / seconds if seconds > 0 else None}
    if got != want:
        raise NovaError(f"{chip}: the destination's sha256 {got} differs from the source's {want} after a "
                        f"{size}-byte {direction} copy")
    return result


@app.command("copy")
def copy(
    sim: str | None = SimOpt,
    size: str = typer.Option("16M", "--size", metavar="N", help="Bytes to copy (0x.., or with K/M/G)."),
    seed: int = typer.Option(0, "--seed", metavar="S", help="numpy.random.default_rng seed of the source bytes."),
    direction: str = typer.Option("h2d", "--direction",
                                  help="h2d (system memory to VRAM), d2h, d2d or h2h."),
    engine: str = typer.Option("ce0", "--engine", help="The copy engine (ce0, ce1, ...)."),
    vbios: Path | None = VbiosOpt,
    firmware_version: str | None = FirmwareVersionOpt,
    synthetic: bool | None = SyntheticOpt,
    json_: bool = JsonOpt,
) -> None:
    """Boot the simulated GPU, copy N random bytes with the copy engine, and check the destination."""
    n = parse_size(size)
    r = run_copy(sim or DEFAULT_SIM, n, seed, direction=direction, engine=engine, vbios=vbios,
                 firmware_version=firmware_version, synthetic=synthetic)
    if json_:
        print_json(r)
        return
    out = console()
    ch = r["channel"]
    out.print(f"[bold]{r['chip']}[/bold]: channel {ch['chid']} (class {ch['class']:#06x}, runlist {ch['runlist']}), "
              f"copy engine class {r['ce_class']:#06x}")
    rate = r["bytes_per_second"]
    out.print(f"  {human_bytes(r['bytes'])} copied ({direction}) in {r['seconds'] * 1e3:.2f} ms"
              + (f" ({rate / (1 << 30):.2f} GiB/s on the simulated GPU)" if rate else ""))
    out.print(f"  destination sha256 {r['dst_sha256']} (equal to the source's)")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="ce")
