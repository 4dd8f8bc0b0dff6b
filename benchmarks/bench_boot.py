"""Whole GSP boots on the simulated GPU: wall time, and its split into driver CPU and the simulated GPU.

- ``boot+shutdown``: ``boot_sim`` + ``close`` of an AD102 (synthetic firmware; and the real 535.113.01 set with
  the RTX 4090 ROM where ``NOVA_FIRMWARE_PATH``/``NOVA_VBIOS_DIR`` provide them), against the reference of one
  read of the same GSP-RM image file (what any boot must at least do with it).
- the split, from one profiled boot: the simulated GPU's share is the time under its entry points (BAR
  accesses into the register model, the virtual clock's sleep - where the models and GSP-RM's thread catch
  up - and the simulated IOMMU's allocations); the driver's is the rest of the main thread. The shares are
  applied to the unprofiled wall time. Device time is the virtual time the boot took on the simulated GPU
  (what the hardware's own latencies - FWSEC, booters, scrubbing - would cost).

Target: under 1 s of driver CPU per boot.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import tempfile
import time
from pathlib import Path
from typing import Any

from _harness import Harness, Target
from nova_core.sim import SimGpu
from nova_core.sim_boot import boot_sim

_AD102_ROM = "ada-ad102_2684_asus-strix-rtx4090-nvgi.rom"
#: where the driver enters the simulated GPU: BAR accesses (sim/regfile.py), the simulated IOMMU's allocations
#: (sim/memory.py); and VirtualClock.sleep (hw/clock.py), where the models and GSP-RM's thread catch up
_SIM_ENTRY = {
    ("regfile.py", "read32"), ("regfile.py", "write32"), ("regfile.py", "read_block"), ("regfile.py", "write_block"),
    ("memory.py", "alloc"), ("memory.py", "free"), ("memory.py", "alloc_sg"), ("memory.py", "free_sg"),
    ("memory.py", "map_sg"), ("memory.py", "map_foreign"),
}


def _is_sim_entry(filename: str, func: str) -> bool:
    p = Path(filename)
    if p.parent.name == "sim" and (p.name, func) in _SIM_ENTRY:
        return True
    return p.parent.name == "hw" and p.name == "clock.py" and func == "sleep"


def _one_boot(chip: str, **kw: Any) -> Any:
    g = boot_sim(chip, gpu=SimGpu(chip, vbios=kw.pop("vbios", None)), **kw)
    g.close()
    return g


def _split(chip: str, **kw: Any) -> tuple[float, float, float]:
    """(total, simulated GPU, driver) seconds of one profiled boot, main thread."""
    prof = cProfile.Profile()
    prof.enable()
    _one_boot(chip, **dict(kw))
    prof.disable()
    st = pstats.Stats(prof)
    total = st.total_tt  # type: ignore[attr-defined]
    sim = 0.0
    for (filename, _line, func), (_cc, _nc, _tt, ct, _callers) in st.stats.items():  # type: ignore[attr-defined]
        if _is_sim_entry(filename, func):
            sim += ct
    return total, sim, total - sim


def _case(h: Harness, label: str, chip: str, image: Path, **kw: Any) -> None:
    g = _one_boot(chip, **dict(kw))  # warm: firmware generated/opened, modules imported
    fw_note = "synthetic" if g.firmware is not None and g.firmware.synthetic else "real"
    dev_s = sum(s.device_ns for s in g.stages + g.shutdown_stages) / 1e9
    r = h.compare(f"{label}: boot+shutdown ({fw_note} firmware)", lambda: _one_boot(chip, **dict(kw)),
                  f"one read of {image.name} ({image.stat().st_size >> 20} MiB)", image.read_bytes,
                  number=1, rounds=3 if h.quick else 5)
    total, sim, driver = _split(chip, **kw)
    wall = r.seconds_median
    driver_s = wall * driver / total
    sim_s = wall * sim / total
    h.report(f"{label}: driver CPU per boot (estimated)", driver_s, target=Target(max_seconds=1.0),
             sim_share=f"{sim / total:.0%}", device_time_ms=round(dev_s * 1e3, 1))
    h.report(f"{label}: simulated GPU per boot (estimated)", sim_s)


def run(h: Harness) -> None:
    with tempfile.TemporaryDirectory() as cache:
        old = os.environ.get("NOVA_CACHE")
        os.environ["NOVA_CACHE"] = cache
        try:
            t0 = time.perf_counter()
            g = _one_boot("ad102", synthetic=True)
            h.report("first boot incl. generating the synthetic AD102 firmware", time.perf_counter() - t0)
            image = next(f.path for k, f in g.firmware.files.items() if k.value == "gsp")  # type: ignore[union-attr]
            _case(h, "AD102", "ad102", image, synthetic=True)
            fw_root = os.environ.get("NOVA_FIRMWARE_PATH")
            rom_dir = os.environ.get("NOVA_VBIOS_DIR")
            if fw_root and rom_dir and (Path(rom_dir) / _AD102_ROM).is_file():
                real = _one_boot("ad102", synthetic=False, vbios=Path(rom_dir) / _AD102_ROM)
                image = next(f.real_path for k, f in real.firmware.files.items()  # type: ignore[union-attr]
                             if k.value == "gsp")
                _case(h, "AD102 + RTX 4090 ROM", "ad102", image, synthetic=False, vbios=Path(rom_dir) / _AD102_ROM)
            else:
                print("  (real firmware/ROM not available: set NOVA_FIRMWARE_PATH and NOVA_VBIOS_DIR, or ./dev bench)")
        finally:
            if old is None:
                os.environ.pop("NOVA_CACHE", None)
            else:
                os.environ["NOVA_CACHE"] = old
