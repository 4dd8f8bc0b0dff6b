"""nova_core.sim.models.bar2: BAR2 of the simulated GPU: a ``Bar`` that reaches VRAM through the BAR2 page tables.

BAR2 (PCI BAR 3, 32 MiB on GeForce boards) shows the GPU virtual address space of the instance block bound in
``NV_VIRTUAL_FUNCTION_PRIV_BAR2_BLOCK`` (Turing to Ada; nouveau ``tu102_bar_bar2_init``) or
``NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR2_BLOCK_LOW_ADDR``/``_HIGH_ADDR`` (Hopper and later). A bind reads the
instance block's page-directory words (``NV_RAMIN_PAGE_DIR_BASE`` at byte 0x200) and sets the bind status
busy for :data:`BIND_LATENCY_NS`. Every access to :attr:`Bar2Model.bar` is translated by the simulated
MMU's own walker (:mod:`.mmu`) and cached in a TLB that only MMU invalidates flush.

**GSP-RM owns BAR2 while it runs**: it binds BAR2 itself at boot (:meth:`Bar2Model.bind_for_gsp`, to the instance
block of its own tables) and releases it when it unloads; meanwhile a CPU write to the BAR2 block register is
refused (OpenRM ``kern_bus.c``: "only GSP-RM's BAR2 table will be bound to HW"). Accesses into protected VRAM are
blocked as :mod:`.fb` says (writes dropped, reads the blocked pattern, each in the fault log); the VRAM ranges
written through BAR2 are kept in :attr:`Bar2Model.vram_writes`.

Refused (logged, :class:`~nova_core.errors.SimViolation`): a CPU write to the block register while GSP-RM owns
BAR2; an access while BAR2 is not bound; a bind to an
instance block outside memory, one without the new page-table format, with 128 KiB big pages, or whose page
directory is outside memory; the other chip family's bind register; an access beyond the address limit or
through a missing/invalid/read-only mapping (an MMU fault); and a translation that changed under the TLB
without an invalidate (real hardware would use the stale one; the sim names the missing invalidate).
"""

from __future__ import annotations

import collections
import threading
from typing import TYPE_CHECKING

from ...errors import SimViolation
from ...gpu.chips import Architecture
from ...hw.bar import check_block
from ...regs.core import Register
from ...regs.mmu import (
    NV_RAMIN_PAGE_DIR_BASE,
    NV_VIRTUAL_FUNCTION_PRIV_BAR2_BLOCK,
    NV_VIRTUAL_FUNCTION_PRIV_BIND_STATUS,
    NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR2_BLOCK_HIGH_ADDR,
    NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR2_BLOCK_LOW_ADDR,
    RAMIN_PAGE_DIR_OFFSET,
    RAMIN_SIZE,
    BarBlockMode,
    BigPageSize,
    InstTarget,
)
from .fb import BLOCKED_READ, FbModel
from .mmu import SYS, VID, SimMmu, SimTlb, Walked

if TYPE_CHECKING:
    from ..gpu import SimGpu

NAME = "bar2"
ORDER = 51

BAR2_SIZE = 32 << 20  #: PCI BAR 3 of the boards nova-core supports (lspci: "Region 3 ... [size=32M]")
BIND_LATENCY_NS = 1_000  #: how long the bind status reads busy after a bind (virtual time)
PAGE = 4096
VRAM_WRITE_LOG = 1 << 16


def _blocked(n: int) -> bytes:
    return BLOCKED_READ.to_bytes(4, "little") * (n // 4) + bytes(n % 4)


class SimBar2:
    """The BAR2 (or BAR1) aperture as a :class:`~nova_core.hw.bar.Bar` (32-bit accesses, page-wise block copies)."""

    #: not buffer-backed: register reads come through :meth:`read32` (see ``regs.core._make_read``)
    words32: memoryview | None = None

    def __init__(self, model: Bar2Model) -> None:
        self._m = model

    @property
    def size(self) -> int:
        return self._m.size

    def read32(self, offset: int) -> int:
        self._m.check(offset, 4, "read32")
        return int.from_bytes(self._m.access(offset, 4, None), "little")

    def write32(self, offset: int, value: int) -> None:
        self._m.check(offset, 4, "write32")
        if not 0 <= value <= 0xFFFFFFFF:
            raise SimViolation(f"{self._m.LABEL} write32({offset:#x}, {value:#x}): value is not 32-bit")
        self._m.access(offset, 4, value.to_bytes(4, "little"))

    def read_block(self, offset: int, length: int) -> bytes:
        check_block(self._m.size, offset, length, f"sim {self._m.LABEL}")
        return self._m.access(offset, length, None)

    def write_block(self, offset: int, data: bytes) -> None:
        check_block(self._m.size, offset, len(data), f"sim {self._m.LABEL}")
        self._m.access(offset, len(data), bytes(data))

    def __repr__(self) -> str:
        return f"<Sim{self._m.LABEL.title()} size={self._m.size:#x} bound={self._m.bound is not None}>"


class Bar2Model:
    """BAR2 binding registers, the BAR2 aperture (:attr:`bar`) and its TLB.

    The class attributes name the BAR and its registers; :class:`~.bar1.Bar1Model` is the same machinery for BAR1.
    """

    LABEL = "BAR2"  #: the BAR in messages
    LOG = "bar2"  #: the log component, TLB name and bind-status field prefix
    BLOCK: type[Register] = NV_VIRTUAL_FUNCTION_PRIV_BAR2_BLOCK  #: the bind register (Turing to Ada)
    LOW: type[Register] = NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR2_BLOCK_LOW_ADDR  #: ... Hopper and later, low word
    HIGH: type[Register] = NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR2_BLOCK_HIGH_ADDR  #: ... high word
    OWNS_BIND_STATUS = True  #: answers NV_VIRTUAL_FUNCTION_PRIV_BIND_STATUS (both BARs' bits)
    #: why GSP-RM's ownership refuses the CPU's bind
    OWNER_NOTE = ("OpenRM kern_bus.c: only GSP-RM's BAR2 table is bound to the hardware; share BAR2 through "
                  "UPDATE_BAR_PDE")

    @property
    def size(self) -> int:
        """Bytes of the aperture."""
        return BAR2_SIZE

    def __init__(self, gpu: SimGpu) -> None:
        self.gpu = gpu
        mmu = gpu.models["mmu"]
        assert isinstance(mmu, SimMmu)
        self.mmu = mmu
        arch = gpu.chipset.architecture
        self.hopper_regs = arch in (Architecture.HOPPER, Architecture.BLACKWELL_GB10X, Architecture.BLACKWELL_GB20X)
        self.tlb = SimTlb(self.LOG)
        mmu.tlbs.append(self.tlb)
        self.bound: tuple[int, int, bool, int] | None = None  # (instance block, PDB, PDB in sysmem, VA limit)
        #: who bound BAR2 and owns it now ("GSP-RM"), refusing the CPU's writes to the block register; None: the CPU
        self.gsp_owner: str | None = None
        self.binds = 0
        self.accesses = 0
        fb = gpu.models["fb"]
        assert isinstance(fb, FbModel)
        self.fb = fb
        #: the VRAM ranges written through BAR2 (address, length), newest last, at most VRAM_WRITE_LOG kept
        self.vram_writes: collections.deque[tuple[int, int]] = collections.deque(maxlen=VRAM_WRITE_LOG)
        self._busy_until = -1
        self._lock = threading.RLock()
        self.bar = SimBar2(self)
        bar0 = gpu.bar0
        old: tuple[type[Register], ...] = (self.BLOCK,)
        if self.OWNS_BIND_STATUS:
            old += (NV_VIRTUAL_FUNCTION_PRIV_BIND_STATUS,)
        new = (self.LOW, self.HIGH)
        for reg in old if self.hopper_regs else new:
            bar0.on_write(reg.addr(), self._absent)
            bar0.on_read(reg.addr(), self._absent_read)
        if self.hopper_regs:
            bar0.on_write(self.LOW.addr(), self._on_low_addr)
            bar0.on_read(self.LOW.addr(), self._read_low_addr)
        else:
            bar0.on_write(self.BLOCK.addr(), self._on_block)
            if self.OWNS_BIND_STATUS:
                bar0.on_read(NV_VIRTUAL_FUNCTION_PRIV_BIND_STATUS.addr(), self._read_bind_status)

    # -- helpers --------------------------------------------------------------------------------

    def _refuse(self, msg: str) -> SimViolation:
        self.gpu.log.error(self.LOG, msg)
        return SimViolation(f"simulated {self.LABEL} refused: {msg}")

    def _raise_or_log(self, msg: str) -> None:
        err = self._refuse(msg)
        if self.gpu.bar0.strict:
            raise err

    def _absent(self, offset: int, value: int) -> None:
        family = "Turing-Ada" if not self.hopper_regs else "Hopper and later"
        self._raise_or_log(f"write of {value:#x} to {self.gpu.bar0.label(offset)}: that register does not exist on "
                           f"{self.gpu.chipset.name} (its {self.LABEL} bind register is the {family} one)")

    def _absent_read(self, offset: int) -> int:
        self.gpu.log.warning(self.LOG, f"read of {self.gpu.bar0.label(offset)}, absent on {self.gpu.chipset.name}")
        return 0xBADF1100

    def _busy(self) -> bool:
        return self.gpu.clock.now() < self._busy_until

    # -- binding --------------------------------------------------------------------------------

    def _gsp_owned(self, offset: int, value: int) -> bool:
        if self.gsp_owner is None:
            return False
        self._raise_or_log(f"write of {value:#x} to {self.gpu.bar0.label(offset)} refused: {self.LABEL} belongs to "
                           f"{self.gsp_owner}, which bound it to its own page tables ({self.OWNER_NOTE})")
        return True

    def bind_for_gsp(self, inst: int, owner: str = "GSP-RM") -> None:
        """GSP-RM binds the BAR to its instance block (it writes the register itself; the CPU may not from now on)."""
        with self._lock:
            self.gsp_owner = None
            if self.hopper_regs:
                reg = self.LOW
                value = reg.encode(mode=BarBlockMode.VIRTUAL, target=InstTarget.VID_MEM,
                                   ptr=(inst >> 12) & reg.field("ptr").max)
                self.gpu.bar0.poke(self.HIGH.addr(), inst >> 32)
            else:
                reg = self.BLOCK
                value = reg.encode(mode=BarBlockMode.VIRTUAL, target=InstTarget.VID_MEM, ptr=inst >> 12)
            self.gpu.bar0.poke(reg.addr(), value)
            self._bind(BarBlockMode.VIRTUAL, InstTarget.VID_MEM, inst, value)
            self.gsp_owner = owner if self.bound is not None else None

    def release_from_gsp(self) -> None:
        """GSP-RM unbinds the BAR as it unloads: the register is the CPU's again."""
        with self._lock:
            if self.gsp_owner is None:
                return
            self.gsp_owner = None
            self._bind(BarBlockMode.PHYSICAL, InstTarget.VID_MEM, 0, 0)

    def _on_block(self, offset: int, value: int) -> None:
        if self._gsp_owned(offset, value):
            return
        reg = self.BLOCK
        self.gpu.bar0.poke(offset, value)
        self._bind(reg.field("mode").get(value), reg.field("target").get(value), reg.field("ptr").get(value) << 12,
                   value)

    def _on_low_addr(self, offset: int, value: int) -> None:
        if self._gsp_owned(offset, value):
            return
        reg = self.LOW
        pending, outstanding = reg.field(f"{self.LOG}_pending"), reg.field(f"{self.LOG}_outstanding")
        value = pending.put(outstanding.put(value, 0), 0)
        self.gpu.bar0.poke(offset, value)
        hi = self.HIGH.field("ptr").get(self.gpu.bar0.peek(self.HIGH.addr()))
        self._bind(reg.field("mode").get(value), reg.field("target").get(value),
                   (reg.field("ptr").get(value) << 12) | (hi << 32), value)

    def _read_low_addr(self, offset: int) -> int:
        reg = self.LOW
        busy = int(self._busy())
        pending, outstanding = reg.field(f"{self.LOG}_pending"), reg.field(f"{self.LOG}_outstanding")
        return outstanding.put(pending.put(self.gpu.bar0.peek(offset), busy), busy)

    def _read_bind_status(self, offset: int) -> int:
        busy = int(self._busy())
        bar1 = self.gpu.models.get("bar1")
        busy1 = int(isinstance(bar1, Bar2Model) and bar1._busy())
        return NV_VIRTUAL_FUNCTION_PRIV_BIND_STATUS.encode(bar2_pending=busy, bar2_outstanding=busy,
                                                           bar1_pending=busy1, bar1_outstanding=busy1)

    def _bind(self, mode: int, target: int, inst: int, raw: int) -> None:
        with self._lock:
            self.tlb.flush()
            if mode == BarBlockMode.PHYSICAL:
                self.bound = None
                self.tlb.pdb = None
                self.gpu.log.info(self.LOG, f"{self.LABEL} unbound (block {raw:#010x}, mode PHYSICAL)")
                return
            if target not in (InstTarget.VID_MEM, InstTarget.SYS_MEM_COHERENT, InstTarget.SYS_MEM_NONCOHERENT):
                self._raise_or_log(f"{self.LABEL} block {raw:#010x}: target {target} is not VID_MEM or SYS_MEM")
                return
            space = VID if target == InstTarget.VID_MEM else SYS
            problem = self.mmu._memory_problem(space, inst, RAMIN_SIZE)
            if problem or inst & (RAMIN_SIZE - 1):
                self._raise_or_log(f"{self.LABEL} block {raw:#010x}: instance block {inst:#x}: "
                                   f"{problem or 'not 4 KiB aligned'}")
                return
            words = int.from_bytes(self.mmu.read(space, inst + RAMIN_PAGE_DIR_OFFSET, 16), "little")
            pd = NV_RAMIN_PAGE_DIR_BASE
            why = None
            if not pd.use_ver2_pt_format.get(words):
                why = "USE_VER2_PT_FORMAT is 0 (the legacy page-table format is not modelled)"
            elif pd.big_page_size.get(words) != BigPageSize.SIZE_64KB:
                why = "BIG_PAGE_SIZE is 128 KiB (only 64 KiB big pages are modelled)"
            elif pd.target.get(words) not in (InstTarget.VID_MEM, InstTarget.SYS_MEM_COHERENT,
                                               InstTarget.SYS_MEM_NONCOHERENT):
                why = f"PAGE_DIR_BASE_TARGET {pd.target.get(words)} is not a memory target"
            pdb = (pd.lo.get(words) << 12) | (pd.hi.get(words) << 32)
            pdb_sys = pd.target.get(words) != InstTarget.VID_MEM
            limit = (pd.adr_limit_lo.get(words) << 12) | (pd.adr_limit_hi.get(words) << 32) | 0xFFF
            if why is None:
                why = self.mmu._memory_problem(SYS if pdb_sys else VID, pdb, 4096)
                if why is not None:
                    why = f"page directory {pdb:#x}: {why}"
            if why is not None:
                self._raise_or_log(f"{self.LABEL} bind to instance block {inst:#x} (words {words:#034x}): {why}")
                return
            self.bound = (inst, pdb, pdb_sys, limit)
            self.tlb.pdb = pdb
            self.binds += 1
            self._busy_until = self.gpu.clock.now() + BIND_LATENCY_NS
            self.gpu.log.info(self.LOG, f"{self.LABEL} bound to instance block {inst:#x}: PDB {pdb:#x}, VA limit "
                                        f"{limit:#x}")

    # -- accesses -------------------------------------------------------------------------------

    def check(self, offset: int, length: int, what: str) -> None:
        size = self.size
        if offset < 0 or offset & 3 or offset + length > size:
            msg = f"{what} at {offset:#x}: " + ("unaligned" if offset & 3 else
                                                 f"outside {self.LABEL} (size {size:#x})")
            self.gpu.log.error(self.LOG, msg)
            raise SimViolation(f"{self.LABEL} {msg}")

    def _translate(self, va: int, write: bool) -> Walked:
        assert self.bound is not None
        _, pdb, pdb_sys, limit = self.bound
        if va > limit:
            raise self.mmu.fault(f"{self.LABEL} offset {va:#x} is beyond the instance block's VA limit {limit:#x}")
        page = va & ~(PAGE - 1)
        cached = self.tlb.entries.get(page)
        try:
            fresh = self.mmu.walk(pdb, va, pdb_sysmem=pdb_sys, write=write)
        except SimViolation as fault:
            if cached is None or "read-only" in str(fault):
                raise
            raise self._refuse(
                f"{self.LABEL} offset {va:#x}: the page tables no longer map it ({fault}), but the TLB still holds "
                f"{cached.space} {cached.page:#x}: the page tables changed without an MMU TLB invalidate"
            ) from None
        here = Walked(fresh.space, fresh.addr(page), PAGE, fresh.read_only)
        if cached is not None and cached != here:
            raise self._refuse(
                f"{self.LABEL} offset {va:#x}: the page tables now map it to {here.space} {here.page:#x}"
                f"{' (read-only)' if here.read_only else ''}, but the TLB still holds {cached.space} "
                f"{cached.page:#x}: the page tables changed without an MMU TLB invalidate"
            )
        self.tlb.entries[page] = here
        return here

    def access(self, offset: int, length: int, data: bytes | None) -> bytes:
        """Read (``data`` None) or write ``length`` bytes at ``offset`` of the aperture, page by page."""
        self.gpu.clock.advance(self.gpu.bar0.read_cost if data is None else self.gpu.bar0.write_cost)
        with self._lock:
            if self.bound is None:
                raise self._refuse(f"{'write' if data else 'read'} at {self.LABEL} offset {offset:#x} while "
                                   f"{self.LABEL} is not bound "
                                   f"to an instance block")
            self.accesses += 1
            out = bytearray()
            pos = 0
            while pos < length:
                va = offset + pos
                n = min(length - pos, PAGE - (va & (PAGE - 1)))
                tr = self._translate(va, data is not None)
                addr = tr.page + (va & (PAGE - 1))
                allowed = tr.space != VID or self.fb.check_access(self.LABEL, addr, n, data is not None)
                if data is None:
                    out += self.mmu.read(tr.space, addr, n) if allowed else _blocked(n)
                elif allowed:
                    self.mmu.write(tr.space, addr, data[pos:pos + n])
                    if tr.space == VID:
                        self.vram_writes.append((addr, n))
                pos += n
            return bytes(out)


def attach(gpu: SimGpu) -> Bar2Model:
    return Bar2Model(gpu)
