"""Register access cost: a read through the register layer vs a raw memoryview read of the same mmap."""

from __future__ import annotations

import mmap
import tempfile

from _harness import Harness
from nova_core.hw.bar import MmapBar
from nova_core.regs.falcon import FALCON, NV_PFALCON_FALCON_CPUCTL
from nova_core.regs.pmc import NV_PMC_BOOT_42


def run(h: Harness) -> None:
    with tempfile.NamedTemporaryFile(suffix=".bar") as f:
        f.write(bytes(16 << 20))
        f.flush()
        bar = MmapBar(f.name)
        with open(f.name, "rb") as fh:
            raw = mmap.mmap(fh.fileno(), 0, prot=mmap.PROT_READ)
        words = memoryview(raw).cast("I")
        idx = NV_PMC_BOOT_42.addr() >> 2
        gsp = FALCON.GSP
        cpuctl = NV_PFALCON_FALCON_CPUCTL.addr(gsp) >> 2

        def raw_read() -> int:
            return words[idx]

        def reg_read() -> int:
            return NV_PMC_BOOT_42.read(bar)

        def bar_read() -> int:
            return bar.read32(0xA00)

        def raw_read_rel() -> int:
            return words[cpuctl]

        def reg_read_rel() -> int:
            return NV_PFALCON_FALCON_CPUCTL.read(bar, base=gsp)

        def raw_read_field() -> int:
            return (words[idx] >> 24) & 0x3F

        def reg_read_field() -> int:
            return NV_PMC_BOOT_42.architecture.get(NV_PMC_BOOT_42.read(bar))

        boot42 = NV_PMC_BOOT_42.bind(bar)
        cpuctl_bound = NV_PFALCON_FALCON_CPUCTL.bind(bar, base=gsp)

        h.compare("NV_PMC_BOOT_42.bind(bar).read()", boot42.read, "raw memoryview read", raw_read, max_ratio=3)
        h.compare("CPUCTL.bind(bar, base=GSP).read()", cpuctl_bound.read, "raw memoryview read", raw_read_rel,
                  max_ratio=3)
        h.compare("Bar.read32 (MmapBar)", bar_read, "raw memoryview read", raw_read, max_ratio=3)
        h.compare("NV_PMC_BOOT_42.read(bar)", reg_read, "raw memoryview read", raw_read, max_ratio=3)
        h.compare("CPUCTL.read(bar, base=GSP) (engine-relative)", reg_read_rel, "raw memoryview read",
                  raw_read_rel, max_ratio=3)
        h.compare("BOOT_42.architecture.get(BOOT_42.read(bar))", reg_read_field, "raw read + shift/mask",
                  raw_read_field, max_ratio=3)
        words.release()
        raw.close()
        bar.close()
