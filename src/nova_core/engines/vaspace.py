"""nova_core.engines.vaspace: GPU address spaces for channels, and the buffers mapped in them.

An :class:`AddressSpace` is GSP-RM's FERMI_VASPACE_A object (``NV_VASPACE_ALLOCATION_PARAMETERS`` index
GPU_NEW, as nouveau ``r535_mmu_promote_vmm``) over page tables the *driver* owns: a
:class:`~nova_core.mm.vmm.Vmm` whose tables come from the VRAM allocator and are written through the device's
one PRAMIN window. A channel that uses the space has its instance block *joined* to it - the page directory
base and VA limit at ``NV_RAMIN_PAGE_DIR_BASE`` and subcontext 0's page directory, every other subcontext
invalid (nouveau ``gv100_vmm_join``, ``published/volta/gv100/dev_ram.h``).

A :class:`Buffer` is memory mapped in a space: VRAM from the allocator (``alloc_vram``) or system memory from
the DMA allocator (``alloc_sysmem``), mapped with the largest page its size allows (2 MiB buffers get 2 MiB
pages - the copy engine then translates one page per 2 MiB). The CPU reaches a system-memory buffer directly
and a VRAM buffer through BAR2 (:class:`VramWindow`: a temporary mapping of the driver's BAR2 space, read and
written with BAR2 block accesses) - a path independent of any channel.

Everything is freed deterministically: ``Buffer.free()`` / ``AddressSpace.close()``, or ``with``.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ..errors import ChannelError, MmError
from ..gsp.client import RmObject
from ..hw.bar import Bar
from ..hw.dma import DmaBuffer
from ..mm.allocator import Placement
from ..mm.instmem import Bar2Space, InstObject, instance_block_page_dir
from ..mm.pte import DEFAULT_FLAGS, PAGE_2M, PAGE_4K, PAGE_64K, PteFlags
from ..mm.vmm import Vmm
from ..regs.mmu import RAMIN_PAGE_DIR_OFFSET
from . import facts as F

if TYPE_CHECKING:
    from .fifo import Fifo

VA_START = PAGE_2M  #: the first 2 MiB of every space stay unmapped (a null pointer faults)
VA_END = F.GP_ENTRY_MAX_ADDRESS  #: 1 TiB: GPFIFO entries and pushbuffers reach 40 bits of address
WINDOW = 8 << 20  #: largest BAR2 window :class:`VramWindow` maps at once


def page_for(size: int) -> int:
    """The page size a buffer of ``size`` bytes is mapped with (and aligned to)."""
    return PAGE_2M if size >= PAGE_2M else PAGE_64K if size >= PAGE_64K else PAGE_4K


def _round(n: int, a: int) -> int:
    return (n + a - 1) & ~(a - 1)


def _check_align(align: int) -> None:
    if align < 0 or align & (align - 1):
        raise ChannelError(f"alignment {align:#x} is not a power of two")


class VramWindow:
    """CPU access to VRAM through temporary mappings in the driver's BAR2 space (at most :data:`WINDOW` at a time).

    Thread-safe: one window at a time per device.
    """

    def __init__(self, space: Bar2Space, bar2: Bar) -> None:
        self.space = space
        self.bar2 = bar2
        self._lock = threading.Lock()

    def _each(self, addr: int, length: int) -> Any:
        vmm = self.space.vmm
        pos = 0
        while pos < length:
            a = addr + pos
            base = a & ~(PAGE_4K - 1)
            k = min(length - pos, WINDOW - (a - base))
            span = _round(a - base + k, PAGE_4K)
            va = vmm.valloc(span, align=PAGE_2M if not base % PAGE_2M and span >= PAGE_2M else PAGE_4K)
            try:
                vmm.map_vram(va, base, span)
                try:
                    yield pos, va + (a - base), k
                finally:
                    vmm.unmap(va, span)
            finally:
                vmm.vfree(va)
            pos += k

    def read(self, addr: int, length: int) -> bytes:
        """``length`` bytes of VRAM at ``addr``."""
        out = bytearray(length)
        with self._lock:
            for pos, off, k in self._each(addr, length):
                lo, hi = off & ~3, _round(off + k, 4)
                out[pos:pos + k] = self.bar2.read_block(lo, hi - lo)[off - lo:off - lo + k]
        return bytes(out)

    def write(self, addr: int, data: bytes | bytearray | memoryview) -> None:
        """Write ``data`` to VRAM at ``addr`` (unaligned edges are read, merged and written back)."""
        mv = memoryview(data).cast("B")
        with self._lock:
            for pos, off, k in self._each(addr, mv.nbytes):
                lo, hi = off & ~3, _round(off + k, 4)
                if (lo, hi) != (off, off + k):
                    block = bytearray(self.bar2.read_block(lo, hi - lo))
                    block[off - lo:off - lo + k] = mv[pos:pos + k]
                    self.bar2.write_block(lo, bytes(block))
                else:
                    self.bar2.write_block(off, bytes(mv[pos:pos + k]))


class Buffer:
    """Memory mapped at ``va`` in an :class:`AddressSpace`: ``kind`` "vram" (at ``phys``) or "sysmem" (``dma``)."""

    def __init__(self, space: AddressSpace, va: int, size: int, kind: str, *, phys: int | None = None,
                 dma: DmaBuffer | None = None, owned: bool = True, name: str = "") -> None:
        self.space = space
        self.va = va
        self.size = size
        self.kind = kind
        self.phys = phys
        self.dma = dma
        self.owned = owned
        self.name = name
        self.freed = False

    def __repr__(self) -> str:
        where = f"phys {self.phys:#x}" if self.phys is not None else f"bus {self.dma.bus_addr:#x}" if self.dma else ""
        freed = " freed" if self.freed else ""
        return f"<Buffer {self.name or self.kind} va={self.va:#x} size={self.size:#x} {where}{freed}>"

    def __enter__(self) -> Buffer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.free()

    def _check(self, offset: int, length: int) -> None:
        if self.freed:
            raise ChannelError(f"{self!r}: used after free")
        if offset < 0 or length < 0 or offset + length > self.size:
            raise ChannelError(f"{self!r}: access [{offset:#x}, +{length:#x}) outside its {self.size:#x} bytes")

    @property
    def view(self) -> memoryview:
        """The CPU's view of a system-memory buffer."""
        if self.dma is None:
            raise ChannelError(f"{self!r}: a VRAM buffer has no CPU view; use read()/write() (through BAR2)")
        self._check(0, 0)
        return self.dma.view[:self.size]

    def read(self, offset: int = 0, length: int | None = None) -> bytes:
        """Bytes of the buffer as the CPU reads them (system memory directly, VRAM through BAR2)."""
        n = self.size - offset if length is None else length
        self._check(offset, n)
        if self.dma is not None:
            return bytes(self.dma.view[offset:offset + n])
        assert self.phys is not None
        return self.space.fifo.vram_window().read(self.phys + offset, n)

    def write(self, data: bytes | bytearray | memoryview, offset: int = 0) -> None:
        n = memoryview(data).nbytes
        self._check(offset, n)
        if self.dma is not None:
            self.dma.view[offset:offset + n] = memoryview(data).cast("B")
            return
        assert self.phys is not None
        self.space.fifo.vram_window().write(self.phys + offset, data)

    def free(self) -> None:
        """Unmap and release (idempotent)."""
        if not self.freed:
            self.space._release(self)


class AddressSpace:
    """A channel address space: FERMI_VASPACE_A in GSP-RM, page tables in the driver (:meth:`Fifo.address_space`)."""

    def __init__(self, fifo: Fifo, name: str = "vas") -> None:
        self.fifo = fifo
        self.name = name
        self._lock = threading.Lock()
        self._buffers: dict[int, Buffer] = {}
        self.users = 0  #: channels using the space
        self.closed = False
        m = fifo.abi.module
        params = fifo.abi.pack("NV_VASPACE_ALLOCATION_PARAMETERS", index=int(m.NV_VASPACE_ALLOCATION_INDEX_GPU_NEW))
        self.rm: RmObject = fifo.device.alloc(F.FERMI_VASPACE_A, params)
        try:
            self.vmm = Vmm(fifo.mmu_format, fifo.vram, fifo.allocator, fifo.tlb, va_start=VA_START, va_end=VA_END,
                           name=name)
        except BaseException:
            self.rm.free()
            raise

    def __repr__(self) -> str:
        return f"<AddressSpace {self.name} pdb={self.vmm.pdb:#x} buffers={len(self._buffers)} users={self.users}>"

    def __enter__(self) -> AddressSpace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pdb(self) -> int:
        return self.vmm.pdb

    def _live(self) -> None:
        if self.closed:
            raise ChannelError(f"address space {self.name!r} is closed")

    # -- instance blocks ------------------------------------------------------------------------------

    def join(self, inst: InstObject) -> None:
        """Point an instance block at this space: page directory, VA limit, subcontext 0 (gv100_vmm_join)."""
        pd = instance_block_page_dir(self.vmm.pdb, self.vmm.va_end - 1)
        inst.write(RAMIN_PAGE_DIR_OFFSET, pd)
        lo, hi = pd[0:4], pd[4:8]
        table = bytearray(F.RAMIN_SUBCONTEXTS * F.RAMIN_SC_STRIDE)
        invalid = F.RAMIN_SC_INVALID.to_bytes(4, "little")
        for i in range(F.RAMIN_SUBCONTEXTS):
            e = i * F.RAMIN_SC_STRIDE
            table[e:e + 8] = lo + hi if i == 0 else invalid + invalid
        inst.write32(F.RAMIN_SC_CTX_WORD, 0)
        inst.write(F.RAMIN_SC_PAGE_DIR_BASE, table)
        inst.write64(F.RAMIN_SC_PDB_VALID, 1)  # subcontext 0 only

    # -- buffers -----------------------------------------------------------------------------------------

    def _map(self, size: int, kind: str, name: str, phys: int | None, dma: DmaBuffer | None, owned: bool, *,
             align: int = 0, flags: PteFlags = DEFAULT_FLAGS) -> Buffer:
        page = max(page_for(size), align)
        span = _round(size, PAGE_4K)
        # bottom-up: buffers and channel rings share page directories (a new directory chain costs a table
        # written through PRAMIN per level)
        va = self.vmm.va_allocator.alloc(span, align=page, placement=Placement.LOW, tag=name or kind)
        try:
            if phys is not None:
                self.vmm.map_vram(va, phys, span, flags)
            else:
                assert dma is not None
                self.vmm.map_sys(va, [(dma.bus_addr, span)], flags)
        except BaseException:
            self.vmm.vfree(va)
            raise
        buf = Buffer(self, va, size, kind, phys=phys, dma=dma, owned=owned, name=name)
        with self._lock:
            self._buffers[va] = buf
        return buf

    def alloc_vram(self, size: int, *, name: str = "", align: int = 0, flags: PteFlags = DEFAULT_FLAGS) -> Buffer:
        """``size`` bytes of VRAM (from the driver's allocator) mapped in this space; not cleared (VRAM holds what
        its last user left, as on hardware: :meth:`CopyEngine.fill` clears it at the GPU's speed).

        ``align`` (a power of two) raises the alignment of both the physical and the virtual address above the
        page the size gets; ``flags`` are the mapping's attributes (privileged, read-only, ...).
        """
        self._live()
        if size <= 0:
            raise ChannelError(f"buffer size {size} must be positive")
        _check_align(align)
        page = max(page_for(size), align)
        phys = self.fifo.allocator.alloc(_round(size, PAGE_4K), align=page, tag=f"{self.name} {name or 'buffer'}")
        try:
            return self._map(size, "vram", name, phys, None, True, align=align, flags=flags)
        except BaseException:
            self.fifo.allocator.free(phys)
            raise

    def map_vram(self, phys: int, size: int, *, name: str = "", align: int = 0,
                 flags: PteFlags = DEFAULT_FLAGS) -> Buffer:
        """Map ``size`` bytes of VRAM at ``phys`` that the caller owns (not freed with the mapping), at a VA aligned
        to ``align`` (and to the page the size gets): one buffer shared by several address spaces."""
        self._live()
        if size <= 0 or phys < 0 or phys % PAGE_4K:
            raise ChannelError(f"VRAM mapping of {size} bytes at {phys:#x}: a positive size at a 4 KiB-aligned address")
        _check_align(align)
        return self._map(size, "vram", name, phys, None, False, align=align, flags=flags)

    def alloc_sysmem(self, size: int, *, name: str = "") -> Buffer:
        """``size`` bytes of zeroed system memory (DMA, bus-contiguous) mapped in this space."""
        self._live()
        if size <= 0:
            raise ChannelError(f"buffer size {size} must be positive")
        dma = self.fifo.dma.alloc(_round(size, PAGE_4K), align=page_for(size), name=f"{self.name} {name}")
        try:
            return self._map(size, "sysmem", name, None, dma, True)
        except BaseException:
            self.fifo.dma.free(dma)
            raise

    def map_dma(self, dma: DmaBuffer, *, name: str = "") -> Buffer:
        """Map a DMA buffer the caller owns (it is not freed with the mapping)."""
        self._live()
        return self._map(dma.size, "sysmem", name or dma.name, None, dma, False)

    def _release(self, buf: Buffer) -> None:
        with self._lock:
            if self._buffers.get(buf.va) is not buf:
                raise ChannelError(f"{buf!r} is not mapped in {self.name} (double free?)")
            del self._buffers[buf.va]
        buf.freed = True
        span = _round(buf.size, PAGE_4K)
        try:
            self.vmm.unmap(buf.va, span)
            self.vmm.vfree(buf.va)
        finally:
            if buf.owned and buf.phys is not None:
                self.fifo.allocator.free(buf.phys)
            elif buf.owned and buf.dma is not None:
                self.fifo.dma.free(buf.dma)

    def buffers(self) -> list[Buffer]:
        with self._lock:
            return list(self._buffers.values())

    def close(self) -> None:
        """Free every buffer, the page tables and the RM object (idempotent). Refused while channels use it."""
        if self.closed:
            return
        if self.users:
            raise ChannelError(f"address space {self.name!r} is used by {self.users} channel(s): close them first")
        self.closed = True
        problems: list[str] = []
        for buf in self.buffers():
            try:
                buf.free()
            except (ChannelError, MmError) as e:
                problems.append(str(e))
        try:
            self.vmm.close()  # the page tables it keeps for reuse, and the root table
        except MmError as e:
            problems.append(str(e))
        self.rm.free()
        self.fifo._forget_space(self)
        if problems:
            raise ChannelError(f"address space {self.name!r} closed with problems: {'; '.join(problems)}")
