"""nova_core.regs.vfn: the virtual-function (VFN) interrupt tree and usermode timer.

Source: open-gpu-kernel-modules ``published/turing/tu102/dev_vm.h`` (NV_VIRTUAL_FUNCTION_FULL_PHYS_OFFSET
window at BAR0 0xB80000-0xBBFFFF; same layout in ``ampere/ga100|ga102/dev_vm.h``); nouveau
``nvkm/subdev/vfn/{tu102,ga100,r535}.c``. A TOP bit covers two LEAF registers; interrupt vector v is
LEAF v/32, bit v%32. One TOP register on every chip; 8 LEAF registers on Turing to Ada, 16 from GH100
(``hopper/gh100/dev_vm.h``, ``blackwell/gb100/dev_vm.h``). GH100's header does not restate the VF base (the
PF sees the VF registers at FULL_PHYS_OFFSET 0xB80000 in the TU102, GA100 and GB100 headers).
"""

from __future__ import annotations

from .core import RO, W1C, WO, Field, Register

VFN_BASE = 0xB80000  #: NV_VIRTUAL_FUNCTION_FULL_PHYS_OFFSET
USERMODE_BASE = 0x030000  #: NV_VIRTUAL_FUNCTION (usermode doorbells and time)


class NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP(Register, offset=VFN_BASE + 0x1600, count=1):
    """Top-level pending bits: bit n set = leaf registers 2n and 2n+1 have pending interrupts."""

    subtree = Field(31, 0, RO, nv="VALUE")


class NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP_EN_SET(Register, offset=VFN_BASE + 0x1608, count=1):
    """Write 1 to enable top-level subtrees."""

    subtree = Field(31, 0, nv="VALUE")


class NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP_EN_CLEAR(Register, offset=VFN_BASE + 0x1610, count=1):
    """Write 1 to disable top-level subtrees."""

    subtree = Field(31, 0, nv="VALUE")


class NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF(Register, offset=VFN_BASE + 0x1000, count=8):
    """Leaf pending bits (write 1 to clear): vector v = leaf v/32, bit v%32."""

    vectors = Field(31, 0, W1C, nv="VALUE")


class NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF_GH100(NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF, chips="GH100+", count=16):
    """Hopper and later: 16 leaves."""


class NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF_EN_SET(Register, offset=VFN_BASE + 0x1200, count=8):
    """Write 1 to enable leaf vectors."""

    vectors = Field(31, 0, nv="VALUE")


class NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF_EN_SET_GH100(NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF_EN_SET,
                                                        chips="GH100+", count=16):
    """Hopper and later: 16 leaves."""


class NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF_EN_CLEAR(Register, offset=VFN_BASE + 0x1400, count=8):
    """Write 1 to disable leaf vectors."""

    vectors = Field(31, 0, nv="VALUE")


class NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF_EN_CLEAR_GH100(NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF_EN_CLEAR,
                                                          chips="GH100+", count=16):
    """Hopper and later: 16 leaves."""


class NV_VIRTUAL_FUNCTION_PRIV_DOORBELL(Register, offset=VFN_BASE + 0x2200):
    """Work-submit doorbell (channel token; write-only)."""

    token = Field(31, 0, WO, nv="HANDLE")


class NV_VIRTUAL_FUNCTION_TIME_0(Register, offset=USERMODE_BASE + 0x080):
    """Usermode copy of the GPU time, low word (nanoseconds 31:5 in place)."""

    nsec = Field(31, 5, RO)


class NV_VIRTUAL_FUNCTION_TIME_1(Register, offset=USERMODE_BASE + 0x084):
    """Usermode copy of the GPU time, high word (bits 60:32 of the time)."""

    nsec = Field(28, 0, RO)
