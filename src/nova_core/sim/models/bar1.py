"""nova_core.sim.models.bar1: BAR1 of the simulated GPU - the VRAM BAR - reaching VRAM through GSP-RM's BAR1 tables.

BAR1 (PCI BAR 1; 256 MiB on GeForce boards unless resized, the VRAM size rounded up to a power of two on compute
boards - :mod:`.pci`) shows the GPU virtual address space of the instance block bound in
``NV_VIRTUAL_FUNCTION_PRIV_BAR1_BLOCK`` (Turing to Ada) or ``_PRIV_FUNC_BAR1_BLOCK_LOW_ADDR``/``_HIGH_ADDR``
(Hopper and later). It is the same machinery as BAR2 (:class:`~.bar2.Bar2Model`: bind checks, the MMU walk of
every access, a TLB only invalidates flush, protected VRAM blocked), with BAR1's registers and size.

**GSP-RM owns BAR1 while it runs** (OpenRM ``kbusPatchBar1Pdb_GSPCLIENT``; nouveau ``r535_bar_bar1_init`` only
reuses the root table static info reports as ``bar1PdeBase``): the simulated GSP-RM binds it at boot to an
instance block of its own whose page directory is that root table, and releases it when it unloads; meanwhile a
CPU write to the BAR1 block register is refused. The driver maps VRAM into BAR1 by writing PTEs under GSP-RM's
root (the tables below the root are the driver's) followed by an MMU invalidate - the TLB here holds a
translation until one comes.

Refused (logged, :class:`~nova_core.errors.SimViolation`): as for BAR2 - a CPU bind while GSP-RM owns BAR1, an
access while BAR1 is unbound, beyond the aperture or the VA limit, through a missing/invalid/read-only mapping
(an MMU fault), or through a translation changed without an invalidate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...regs.core import Register
from ...regs.mmu import (
    NV_VIRTUAL_FUNCTION_PRIV_BAR1_BLOCK,
    NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR1_BLOCK_HIGH_ADDR,
    NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR1_BLOCK_LOW_ADDR,
)
from .bar2 import Bar2Model
from .pci import SimPciFunction

if TYPE_CHECKING:
    from ..gpu import SimGpu

NAME = "bar1"
ORDER = 52  # after bar2 (which answers the shared bind-status register) and pci (the BAR's size)

BAR1_FALLBACK = 256 << 20  #: the aperture when no PCI model says otherwise (a sim choice; GeForce's default)


class Bar1Model(Bar2Model):
    """BAR1: its bind registers, the aperture (:attr:`bar`) and its TLB."""

    LABEL = "BAR1"
    LOG = "bar1"
    BLOCK: type[Register] = NV_VIRTUAL_FUNCTION_PRIV_BAR1_BLOCK
    LOW: type[Register] = NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR1_BLOCK_LOW_ADDR
    HIGH: type[Register] = NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR1_BLOCK_HIGH_ADDR
    OWNS_BIND_STATUS = False  # BAR2's model answers NV_VIRTUAL_FUNCTION_PRIV_BIND_STATUS for both
    OWNER_NOTE = ("OpenRM kbusPatchBar1Pdb_GSPCLIENT: GSP-RM keeps BAR1 on its own root table; the driver maps "
                  "into it under static info's bar1PdeBase")

    @property
    def size(self) -> int:
        """The PCI BAR1 size as the function's config space decodes it now (it follows a resize)."""
        pci = self.gpu.models.get("pci")
        return pci.bar1_size() if isinstance(pci, SimPciFunction) else BAR1_FALLBACK


def attach(gpu: SimGpu) -> Bar1Model:
    return Bar1Model(gpu)
