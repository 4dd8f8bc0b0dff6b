"""The falcon emulator: instructions per second in a tight loop, and the whole FWSEC-FRTS run on the real ROMs.

- ``tight loop``: ``sub b32 $r1 1; bra nz`` (two instructions per iteration, flags computed as the hardware
  does) on the emulator - against the same count of decrement-and-test steps in a bare Python loop, the
  least any interpreter of those instructions could cost; the figure is emulated instructions per second
  (target: at least 1 M/s);
- ``arith/memory loop``: a loop with loads, stores, an add with flags, a compare and two branches - the mix of
  compiled code, against the same work written as Python statements;
- ``FWSEC-FRTS``: ``nova falcon run`` on each real ROM found (``NOVA_VBIOS_DIR``, else ``../shared/vbios``):
  the driver's load plus the emulated run (on Turing the generic bootloader when the firmware is installed,
  then FWSEC's non-secure loader, up to its encrypted HS code); reported with the instructions executed.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
from pathlib import Path

from _harness import Harness, Target
from nova_core.falcon_isa import asm
from nova_core.sim.falcon_emu.core import Block, FalconCore


class _NoBus:
    def io_read(self, addr: int, pc: int) -> int:
        return 0

    def io_write(self, addr: int, value: int, pc: int) -> None:
        pass

    def xfer_read(self, port: int, ext: int, n: int, pc: int) -> bytes:  # pragma: no cover - not used
        raise AssertionError

    def xfer_write(self, port: int, ext: int, data: bytes, pc: int) -> None:  # pragma: no cover - not used
        raise AssertionError


def _core(code: bytes) -> FalconCore:
    imem = bytearray(0x10000)
    imem[:len(code)] = code
    bus = _NoBus()
    core = FalconCore(imem, bytearray(0x10000), [Block(i, True, False) for i in range(256)], bus, bus)
    core.sp = 0xFFFC
    return core


def _run(code: bytes) -> int:
    core = _core(code)
    stop = core.run(100_000_000)
    assert stop.reason.value == "halted", stop
    return core.stats.instructions


def run(h: Harness) -> None:
    n = 20_000 if h.quick else 200_000
    p = asm.Program()
    p.emit(asm.mov(1, n))
    p.label("loop").emit(asm.alu_imm("sub", 32, 1, 1))
    p.branch("nz", "loop")
    p.emit(asm.exit_())
    tight = p.assemble()

    def reference() -> None:
        r = n
        while True:
            r = (r - 1) & 0xFFFFFFFF
            if not r:
                break

    insns = _run(tight)
    res = h.compare("emulated tight loop (sub b32 + bra nz)", lambda: _run(tight), "bare Python decrement loop",
                    reference, number=1, rounds=5, instructions=insns)
    h.report("emulated instructions per second (tight loop)", [res.seconds_min / insns, res.seconds_median / insns],
             target=Target(min_rate=1e6), rate=f"{insns / res.seconds_min / 1e6:.2f} M/s")

    m = n // 10
    q = asm.Program()
    q.emit(asm.mov(1, m), asm.mov(2, 0x100), asm.mov(3, 0))
    q.label("loop").emit(asm.ld(32, 4, 2, 0), asm.alu_rr("add", 32, 3, 3, 4), asm.st(32, 2, 1, 3),
                         asm.alu_imm("sub", 32, 1, 1), asm.cmp_imm("cmp", 32, 1, 0))
    q.branch("ne", "loop")
    q.emit(asm.exit_())
    mixed = q.assemble()

    def reference_mixed() -> None:
        mem = [0] * 0x400
        r1, r3 = m, 0
        while True:
            r4 = mem[0x40]
            r3 = (r3 + r4) & 0xFFFFFFFF
            mem[0x41] = r3
            r1 = (r1 - 1) & 0xFFFFFFFF
            if r1 == 0:
                break

    insns = _run(mixed)
    h.compare("emulated arith/memory loop (ld, add, st, sub, cmp, bra)", lambda: _run(mixed),
              "the same work as Python statements", reference_mixed, number=1, rounds=3, instructions=insns)

    vbios_dir = Path(os.environ.get("NOVA_VBIOS_DIR") or Path(__file__).resolve().parents[2] / "shared" / "vbios")
    roms = sorted(p for p in vbios_dir.glob("*.rom") if not p.name.startswith(("blackwell", "ampere-ga102_2206")))
    if not roms:
        print("  (no real ROMs: the FWSEC-FRTS run is not measured)", file=sys.stderr)
        return
    from nova_core.cli.main import main

    for rom in roms:
        t0 = time.perf_counter()
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rc = main(["falcon", "run", "--vbios", str(rom), "--json"])
        wall = time.perf_counter() - t0
        j = json.loads(out.getvalue()) if rc == 0 else {}
        h.report(f"FWSEC-FRTS on {rom.name}", wall, instructions=j.get("instructions"),
                 emulated_seconds=round(j.get("host_seconds", 0.0), 4), stop=j.get("stop_reason"),
                 executed=j.get("executed"))
