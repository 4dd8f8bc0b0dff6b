"""nova_core.gsp.libos: the libos argument page GSP-RM boots from, its log buffers and RMARGS.

GSP-RM finds everything from one 4 KiB page whose bus address the driver writes to the GSP falcon's
MAILBOX0 (low) and MAILBOX1 (high) before the booter runs (OpenRM ``kgspProgramLibosBootArgsAddr``,
reference §6). The page is an array of ``LibosMemoryRegionInitArgument`` (id8, pa, size, kind, loc);
nouveau's, which this follows:

====  ========  =======  ==============================================================================
 [0]  LOGINIT   64 KiB   init-task log ring: u64 put pointer, then the bus address of each of its pages
 [1]  LOGINTR   64 KiB   interrupt-task log ring (same shape)
 [2]  LOGRM     64 KiB   RM-task log ring (same shape)
 [3]  RMARGS    4 KiB    ``GSP_ARGUMENTS_CACHED``: where the message queues are
====  ========  =======  ==============================================================================

All regions are CONTIGUOUS in SYSMEM. The log rings' record format is in reference §6; GSP-RM
overwrites the page list once it has mapped the buffer.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import GspError
from ..hw.dma import PAGE_SIZE, DmaAllocator, DmaBuffer
from .cmdq import SharedMemory
from .fw import GspAbi, LibosKind, LibosLoc, libos_region

LOG_SIZE = 0x10000  #: each log ring (OpenRM release builds and nouveau use 64 KiB)
LOG_NAMES = ("LOGINIT", "LOGINTR", "LOGRM")
RMARGS_SIZE = PAGE_SIZE


@dataclass
class LogBuffer:
    name: str
    buf: DmaBuffer

    @property
    def put(self) -> int:
        """Words written so far (GSP-RM's put pointer, u64 at offset 0)."""
        return self.buf.read_u64(0)


class LibosArgs:
    """The libos argument page, the three log rings and RMARGS, allocated and filled.

    Args:
        dma: the device's DMA allocator.
        abi: the firmware version (GSP_ARGUMENTS_CACHED differs between versions).
        shm: the message queues RMARGS points at.
        log_size: bytes per log ring (a multiple of 4 KiB).
        **rmargs: further ``GspAbi.arguments_cached`` keywords (``dmem_stack=True`` on r570).
    """

    def __init__(self, dma: DmaAllocator, abi: GspAbi, shm: SharedMemory, *, log_size: int = LOG_SIZE,
                 **rmargs: int | bool) -> None:
        if log_size % PAGE_SIZE or log_size < PAGE_SIZE or (log_size // PAGE_SIZE + 1) * 8 > log_size:
            raise GspError(f"libos log size {log_size:#x}: a multiple of 4 KiB whose page list fits in it")
        self._dma = dma
        self.abi = abi
        self.logs: dict[str, LogBuffer] = {}
        for name in LOG_NAMES:
            buf = dma.alloc(log_size, name=f"gsp {name}")
            buf.write_u64(0, 0)
            for i, addr in enumerate(buf.page_addrs()):
                buf.write_u64(8 * (i + 1), addr)
            self.logs[name] = LogBuffer(name, buf)
        self.rmargs = dma.alloc(RMARGS_SIZE, name="gsp RMARGS")
        self.rmargs.write(0, shm.arguments_cached(**rmargs))
        self.page = dma.alloc(PAGE_SIZE, name="gsp libos args")
        regions = [(name, lb.buf.bus_addr, lb.buf.size) for name, lb in self.logs.items()]
        regions.append(("RMARGS", self.rmargs.bus_addr, self.rmargs.size))
        off = 0
        for name, pa, size in regions:
            entry = libos_region(name, pa, size, kind=LibosKind.CONTIGUOUS, loc=LibosLoc.SYSMEM, abi=abi)
            self.page.write(off, entry)
            off += len(entry)

    @property
    def bus_addr(self) -> int:
        """What goes into the GSP falcon's MAILBOX0 (low 32 bits) and MAILBOX1 (high)."""
        return self.page.bus_addr

    def free(self) -> None:
        for lb in self.logs.values():
            self._dma.free(lb.buf)
        self._dma.free(self.rmargs)
        self._dma.free(self.page)
        self.logs = {}
