"""Helpers of the mm tests: a simulated GPU with a VRAM allocator and an address space on it."""

from __future__ import annotations

from dataclasses import dataclass

from nova_core.hw.device import Device
from nova_core.mm.allocator import VramAllocator
from nova_core.mm.pte import format_for
from nova_core.mm.tlb import TlbInvalidator
from nova_core.mm.vmm import Vmm
from nova_core.sim import SimGpu
from nova_core.sim.models.mmu import SimMmu

#: physical VRAM the tests map (the allocator keeps page tables out of it)
DATA_BASE = 0x1000_0000
DATA_SIZE = 0x4000_0000


@dataclass
class Space:
    gpu: SimGpu
    dev: Device
    alloc: VramAllocator
    vmm: Vmm
    inv: TlbInvalidator

    @property
    def mmu(self) -> SimMmu:
        m = self.gpu.models["mmu"]
        assert isinstance(m, SimMmu)
        return m

    def sim_translate(self, va: int) -> tuple[str, int, int] | None:
        """The simulated MMU's own answer: (space, address, page size), or None for a fault."""
        from nova_core.errors import SimViolation

        try:
            w = self.mmu.walk(self.vmm.pdb, va)
        except SimViolation:
            return None
        return w.space, w.addr(va), w.page_size


def make_space(chip: str = "ad102", *, vram_mib: int | None = None) -> Space:
    gpu = SimGpu(chip, vram_mib=vram_mib)
    dev = gpu.device()
    alloc = VramAllocator(gpu.vram.size, [(DATA_BASE, DATA_SIZE, "test data")])
    inv = TlbInvalidator(dev.bar0, dev.clock)
    vmm = Vmm(format_for(gpu.chipset), gpu.vram, alloc, inv, name="test")
    return Space(gpu, dev, alloc, vmm, inv)
