"""nova_core.mm.tlb: GPU TLB invalidation through ``NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE`` (Turing and later).

The sequence is OpenRM's ``kgmmuCommitTlbInvalidate_TU102`` with ``kgmmuSetPdbToInvalidate_TU102``: write the
page directory base to ``MMU_INVALIDATE_PDB`` (address >> 12, aperture) and ``MMU_INVALIDATE_UPPER_PDB``
(address >> 40), then the command to ``MMU_INVALIDATE`` with ``TRIGGER``, then poll until ``TRIGGER`` reads 0.
nouveau's ``tu102_vmm_flush`` (used for Turing to Hopper) does the same, invalidating every VA of that PDB
(``ALL_VA``, its "PAGE_ALL"); OpenRM adds ``SYS_MEMBAR`` and ``ACK_GLOBALLY`` (``kgmmuSetTlbInvalidateMembarWar
Parameters_TU102``) so that PTE downgrades are visible system-wide, and so do we. There is one set of these
registers per GPU, so invalidates are serialised - across every :class:`TlbInvalidator` of the same BAR0 (the
BAR1, BAR2 and channel address spaces each have one; two threads invalidating through two of them at once would
otherwise write MMU_INVALIDATE while the other's is pending).
"""

from __future__ import annotations

import threading
import weakref
from typing import Protocol

from ..hw.bar import Bar
from ..hw.clock import SEC, Clock
from ..regs.mmu import (
    INVALIDATE_PDB_ADDR_ALIGNMENT,
    NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE,
    NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE_PDB,
    NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE_UPPER_PDB,
    InvalidateAck,
    InvalidatePdbAperture,
)

# TIMEOUT: nouveau tu102_vmm_flush polls TRIGGER for 2000 ms (nvkm_msec(device, 2000, ...)).
INVALIDATE_TIMEOUT = 2 * SEC


_REGISTER_LOCKS: weakref.WeakKeyDictionary[Bar, threading.Lock] = weakref.WeakKeyDictionary()
_REGISTER_LOCKS_GUARD = threading.Lock()


def _register_lock(bar0: Bar) -> threading.Lock:
    """The one lock of ``bar0``'s MMU_INVALIDATE registers."""
    with _REGISTER_LOCKS_GUARD:
        lock = _REGISTER_LOCKS.get(bar0)
        if lock is None:
            lock = _REGISTER_LOCKS[bar0] = threading.Lock()
        return lock


class Invalidator(Protocol):
    """What a VMM calls once per batch of page-table changes."""

    def invalidate(self, pdb: int, aperture: InvalidatePdbAperture = InvalidatePdbAperture.VID_MEM) -> None: ...


class TlbInvalidator:
    """Invalidates the GPU TLBs for one page directory base through BAR0; counts what it issued."""

    def __init__(self, bar0: Bar, clock: Clock, *, hub_only: bool = False) -> None:
        self.bar0 = bar0
        self.clock = clock
        self.hub_only = hub_only
        self._lock = _register_lock(bar0)
        #: invalidates issued (tests check one per batch)
        self.count = 0

    def invalidate(self, pdb: int, aperture: InvalidatePdbAperture = InvalidatePdbAperture.VID_MEM) -> None:
        """Drop every cached translation of the address space whose root table is at ``pdb``."""
        lo = (pdb >> INVALIDATE_PDB_ADDR_ALIGNMENT) & NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE_PDB.addr_.max
        hi = pdb >> (INVALIDATE_PDB_ADDR_ALIGNMENT + NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE_PDB.addr_.width)
        with self._lock:
            NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE_PDB.write(self.bar0, aperture=aperture, addr_=lo)
            NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE_UPPER_PDB.write(self.bar0, addr_=hi)
            NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE.write(
                self.bar0, all_va=1, all_pdb=0, hubtlb_only=int(self.hub_only), sys_membar=1,
                ack=InvalidateAck.GLOBALLY, trigger=1,
            )
            NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE.wait(
                self.bar0, self.clock, timeout=INVALIDATE_TIMEOUT, interval=1_000, trigger=0,
                what=f"MMU TLB invalidate of PDB {pdb:#x} to complete (MMU_INVALIDATE.TRIGGER back to 0)",
            )
            self.count += 1
