"""nova_core.mm.vram: how the driver reaches VRAM to write page tables and instance blocks.

``VramAccess`` is the small interface the VMM and instance memory write through: ``read(addr, length)`` and
``write(addr, data)`` by VRAM address. Implementations:

- the simulated GPU's VRAM (:class:`nova_core.sim.memory.SparseMemory` has exactly these two methods), for
  tests and the CLI;
- :class:`PraminVram`: the 1 MiB PRAMIN window at BAR0 + 0x700000, moved over VRAM in 64 KiB steps by
  ``NV_PBUS_BAR0_WINDOW`` (nouveau ``nv50_instmem``/``gk20a``, nova-core's MM series) - from Hopper on by
  ``NV_XAL_EP_BAR0_WINDOW`` (always VRAM; OpenRM ``kbusSetBAR0WindowVidOffset_GH100``): what a driver uses
  before BAR2 works, every access a 32-bit MMIO access.
"""

from __future__ import annotations

import threading
from typing import Protocol, runtime_checkable

from ..errors import MmError
from ..gpu.chips import Chipset
from ..hw.bar import Bar
from ..regs.pbus import NV_PBUS_BAR0_WINDOW, Bar0WindowTarget
from ..regs.prom import PRAMIN
from ..regs.xal import NV_XAL_EP_BAR0_WINDOW

PRAMIN_WINDOW_SHIFT = 16  #: NV_PBUS_BAR0_WINDOW_BASE is in 64 KiB units


@runtime_checkable
class VramAccess(Protocol):
    """Byte access to VRAM by VRAM address."""

    def read(self, addr: int, length: int) -> bytes: ...

    def write(self, addr: int, data: bytes | bytearray | memoryview) -> None: ...


class PraminVram:
    """VRAM through the PRAMIN window of BAR0 (32-bit accesses; one window position at a time).

    Args:
        bar0: the device's BAR0.
        vram_size: bytes of VRAM (accesses beyond are refused before touching the device).
        chipset: picks the window register (``ChipFacts.bar0_window_xal``); the PBUS one when not given.
    """

    def __init__(self, bar0: Bar, vram_size: int, *, chipset: Chipset | None = None) -> None:
        self.bar0 = bar0
        self.xal = chipset is not None and chipset.facts.bar0_window_xal
        #: the chip's XAL window register (its BASE width differs per family)
        self._xal_window = NV_XAL_EP_BAR0_WINDOW.for_family(chipset.facts.reg_family) if self.xal and chipset \
            else NV_XAL_EP_BAR0_WINDOW
        self.vram_size = vram_size
        self._lock = threading.Lock()
        self._base: int | None = None

    def _check(self, addr: int, length: int) -> None:
        if addr < 0 or length < 0 or addr + length > self.vram_size:
            raise MmError(f"PRAMIN: VRAM access [{addr:#x}, {addr + length:#x}) outside {self.vram_size:#x} bytes")
        if addr & 3 or length & 3:
            raise MmError(f"PRAMIN: VRAM access [{addr:#x}, +{length:#x}) is not 32-bit aligned and sized")

    def _chunks(self, addr: int, length: int) -> list[tuple[int, int, int]]:
        """``(window base, offset in window, length)`` pieces of the access."""
        out = []
        while length:
            base = addr >> PRAMIN_WINDOW_SHIFT
            rel = addr - (base << PRAMIN_WINDOW_SHIFT)
            n = min(length, PRAMIN.size - rel)
            out.append((base, rel, n))
            addr += n
            length -= n
        return out

    def _move(self, base: int) -> None:
        if self._base != base:
            # (the field is called BASE, which write()'s base= keyword would take: encode first)
            if self.xal:
                self._xal_window.write(self.bar0, base_=base)
            else:
                NV_PBUS_BAR0_WINDOW.write(self.bar0, base_=base, target=Bar0WindowTarget.VID_MEM)
            self._base = base

    def read(self, addr: int, length: int) -> bytes:
        self._check(addr, length)
        out = bytearray()
        with self._lock:
            for base, rel, n in self._chunks(addr, length):
                self._move(base)
                out += self.bar0.read_block(PRAMIN.start + rel, n)
        return bytes(out)

    def write(self, addr: int, data: bytes | bytearray | memoryview) -> None:
        mv = memoryview(data).cast("B")
        self._check(addr, mv.nbytes)
        pos = 0
        with self._lock:
            for base, rel, n in self._chunks(addr, mv.nbytes):
                self._move(base)
                self.bar0.write_block(PRAMIN.start + rel, bytes(mv[pos:pos + n]))
                pos += n
