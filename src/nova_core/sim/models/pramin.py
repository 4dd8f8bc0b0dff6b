"""nova_core.sim.models.pramin: the PRAMIN window: 1 MiB of VRAM (or system memory) at BAR0 + 0x700000.

``NV_PBUS_BAR0_WINDOW`` selects which 64 KiB-aligned part of memory the window shows (BASE = address >> 16,
TARGET = VID_MEM / SYS_MEM_COHERENT / SYS_MEM_NONCOHERENT; ``published/turing/tu102/dev_bus.h``, nouveau
``nv50_instmem``). From Hopper on the window is ``NV_XAL_EP_BAR0_WINDOW`` (BASE only, always VRAM; OpenRM
``kbusSetBAR0WindowVidOffset_GH100``) and ``NV_PBUS_BAR0_WINDOW`` is gone. Reads and writes are 32-bit accesses to
that memory; accesses to protected VRAM (WPR2, GSP-RM's protected regions) are blocked as :mod:`.fb` says (writes
dropped, reads :data:`~.fb.BLOCKED_READ`, each in the fault log). Refused (logged,
:class:`~nova_core.errors.SimViolation`): a window position past the end of VRAM, a system-memory target the
IOMMU does not map, the reserved target value 1, a write of ``NV_PBUS_BAR0_WINDOW`` on a chip that moves the
window through the XAL register.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import SimViolation
from ...regs.pbus import NV_PBUS_BAR0_WINDOW, Bar0WindowTarget
from ...regs.prom import PRAMIN
from ...regs.xal import NV_XAL_EP_BAR0_WINDOW
from .fb import BLOCKED_READ, FbModel

if TYPE_CHECKING:
    from ..gpu import SimGpu

NAME = "pramin"
ORDER = 52


class PraminModel:
    def __init__(self, gpu: SimGpu) -> None:
        self.gpu = gpu
        fb = gpu.models["fb"]
        assert isinstance(fb, FbModel)
        self.fb = fb
        self.accesses = 0
        self.xal = gpu.facts.bar0_window_xal
        self._xal_base = (NV_XAL_EP_BAR0_WINDOW.for_family(gpu.facts.reg_family) if self.xal
                          else NV_XAL_EP_BAR0_WINDOW).field("base_")  # BASE is 21:0 on GH100, 22:0 from GB100
        gpu.bar0.map_register_window(PRAMIN, self._read, self._write, write_block=self._write_block)
        if self.xal:
            gpu.bar0.on_write(NV_PBUS_BAR0_WINDOW.addr(), self._refuse_pbus_window)

    def _refuse_pbus_window(self, off: int, value: int) -> None:
        raise self._refuse(f"write of {value:#x} to NV_PBUS_BAR0_WINDOW: {self.gpu.chipset.name} moves the PRAMIN "
                           f"window with NV_XAL_EP_BAR0_WINDOW")

    def _where(self, rel: int, what: str) -> tuple[str, int]:
        if self.xal:
            win = self.gpu.bar0.peek(NV_XAL_EP_BAR0_WINDOW.addr())
            addr = (self._xal_base.get(win) << 16) + rel
            self.accesses += 1
            if addr + 4 > self.gpu.vram.size:
                raise self._refuse(f"PRAMIN {what} at window offset {rel:#x}: VRAM address {addr:#x} is beyond the "
                                   f"{self.gpu.vram.size:#x} bytes of VRAM (NV_XAL_EP_BAR0_WINDOW {win:#x})")
            return "vid", addr
        win = self.gpu.bar0.peek(NV_PBUS_BAR0_WINDOW.addr())
        base = NV_PBUS_BAR0_WINDOW.base_.get(win) << 16
        target = NV_PBUS_BAR0_WINDOW.target.get(win)
        addr = base + rel
        self.accesses += 1
        if target == Bar0WindowTarget.VID_MEM:
            if addr + 4 > self.gpu.vram.size:
                raise self._refuse(f"PRAMIN {what} at window offset {rel:#x}: VRAM address {addr:#x} is beyond the "
                                   f"{self.gpu.vram.size:#x} bytes of VRAM (NV_PBUS_BAR0_WINDOW {win:#x})")
            return "vid", addr
        if target in (Bar0WindowTarget.SYS_MEM_COHERENT, Bar0WindowTarget.SYS_MEM_NONCOHERENT):
            if self.gpu.sysmem.find(addr) is None:
                raise self._refuse(f"PRAMIN {what}: system memory at bus {addr:#x} is not mapped by the IOMMU")
            return "sys", addr
        raise self._refuse(f"PRAMIN {what}: NV_PBUS_BAR0_WINDOW {win:#x} has the reserved target {target}")

    def _refuse(self, msg: str) -> SimViolation:
        self.gpu.log.error("pramin", msg)
        return SimViolation(f"simulated PRAMIN refused: {msg}")

    def _read(self, rel: int) -> int:
        space, addr = self._where(rel, "read")
        if space == "vid":
            if not self.fb.check_access("PRAMIN", addr, 4, False):
                return BLOCKED_READ
            return self.gpu.vram.read32(addr)
        return int.from_bytes(self.gpu.sysmem.read(addr, 4, who="pramin"), "little")

    def _write_block(self, rel: int, data: bytes) -> None:
        """A block write: the words of ``data`` as :meth:`_write` would write them, checked and written at once."""
        space, addr = self._where(rel, "write")
        self.accesses += (len(data) >> 2) - 1
        if space == "vid":
            if addr + len(data) > self.gpu.vram.size:
                raise self._refuse(f"PRAMIN write of {len(data):#x} bytes at VRAM {addr:#x} runs past the "
                                   f"{self.gpu.vram.size:#x} bytes of VRAM")
            if self.fb.check_access("PRAMIN", addr, len(data), True):
                self.gpu.vram.write(addr, data)
        else:
            self.gpu.sysmem.write(addr, data, who="pramin")

    def _write(self, rel: int, value: int) -> None:
        space, addr = self._where(rel, "write")
        if space == "vid":
            if self.fb.check_access("PRAMIN", addr, 4, True):
                self.gpu.vram.write32(addr, value)
        else:
            self.gpu.sysmem.write(addr, value.to_bytes(4, "little"), who="pramin")


def attach(gpu: SimGpu) -> PraminModel:
    return PraminModel(gpu)
