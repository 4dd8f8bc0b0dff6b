"""nova_core.regs.vfn: the virtual-function (VFN) interrupt tree and usermode timer.

Source: open-gpu-kernel-modules ``published/turing/tu102/dev_vm.h`` (NV_VIRTUAL_FUNCTION_FULL_PHYS_OFFSET
window at BAR0 0xB80000-0xBBFFFF; same layout in ``ampere/ga100|ga102/dev_vm.h``); nouveau
``nvkm/subdev/vfn/{tu102,ga100,r535}.c``. A TOP bit covers two LEAF registers; interrupt vector v is
LEAF v/32, bit v%32. The tree is larger from Hopper on: 16 leaves (``hopper/gh100/dev_vm.h``,
``blackwell/gb100/dev_vm.h`` ``LEAF__SIZE_1`` 16; 8 in ``turing/tu102`` and ``ampere/ga102``; the count of a chip
is ``ChipFacts.vfn_intr_leaves``), at the same offsets in the same window (GB100's ``dev_vm.h`` gives
FULL_PHYS_OFFSET 0xB80000 too); one TOP register (``TOP__SIZE_1`` 1 everywhere), 4 or 8 of its subtree bits
used. The arrays here are declared at the largest size.
"""

from __future__ import annotations

from .core import RO, W1C, Field, Register

VFN_BASE = 0xB80000  #: NV_VIRTUAL_FUNCTION_FULL_PHYS_OFFSET
USERMODE_BASE = 0x030000  #: NV_VIRTUAL_FUNCTION (usermode doorbells and time)


class NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP(Register, offset=VFN_BASE + 0x1600, count=1):
    """Top-level pending bits: bit n set = leaf registers 2n and 2n+1 have pending interrupts."""

    subtree = Field(31, 0, RO)


class NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP_EN_SET(Register, offset=VFN_BASE + 0x1608, count=1):
    """Write 1 to enable top-level subtrees."""

    subtree = Field(31, 0)


class NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP_EN_CLEAR(Register, offset=VFN_BASE + 0x1610, count=1):
    """Write 1 to disable top-level subtrees."""

    subtree = Field(31, 0)


class NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF(Register, offset=VFN_BASE + 0x1000, count=16):
    """Leaf pending bits (write 1 to clear): vector v = leaf v/32, bit v%32."""

    vectors = Field(31, 0, W1C)


class NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF_EN_SET(Register, offset=VFN_BASE + 0x1200, count=16):
    """Write 1 to enable leaf vectors."""

    vectors = Field(31, 0)


class NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF_EN_CLEAR(Register, offset=VFN_BASE + 0x1400, count=16):
    """Write 1 to disable leaf vectors."""

    vectors = Field(31, 0)


class NV_VIRTUAL_FUNCTION_PRIV_DOORBELL(Register, offset=VFN_BASE + 0x2200):
    """Work-submit doorbell (channel token)."""

    token = Field(31, 0)


class NV_VIRTUAL_FUNCTION_TIME_0(Register, offset=USERMODE_BASE + 0x080):
    """Usermode copy of the GPU time, low word."""

    nsec = Field(31, 0, RO)


class NV_VIRTUAL_FUNCTION_TIME_1(Register, offset=USERMODE_BASE + 0x084):
    """Usermode copy of the GPU time, high word."""

    nsec = Field(31, 0, RO)
