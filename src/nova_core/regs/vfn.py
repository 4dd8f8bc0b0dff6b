"""nova_core.regs.vfn: the virtual-function (VFN) interrupt tree and usermode timer.

Source: open-gpu-kernel-modules 570.144 ``published/turing/tu102/dev_vm.h`` (NV_VIRTUAL_FUNCTION_FULL_PHYS_OFFSET
window at BAR0 0xB80000-0xBBFFFF; same layout in ``ampere/ga100|ga102/dev_vm.h`` and ``blackwell/gb100/dev_vm.h``);
nouveau ``nvkm/subdev/vfn/{tu102,ga100,r535}.c``. One TOP register (``PRIV_CPU_INTR_TOP__SIZE_1`` = 1 in every
header that declares it); TOP bit n (a *subtree*) covers LEAF registers 2n and 2n+1; interrupt vector v is LEAF
v/32, bit v%32 (nouveau ``nvkm_intr_xlat``). The number of leaves differs per register family - the LEAF arrays'
per-family variants below, which ``ChipFacts.vfn_leaves`` reads: 8 on Turing, Ampere and Ada (``LEAF__SIZE_1`` in
the tu102/ga100/ga102 headers; OpenRM's ``intrGetLeafSize_TU102`` serves TU102..AD107), 16 on Hopper and Blackwell
(gh100 and gb100 headers; ``intrGetLeafSize_GH100`` for the rest), at the same offsets in the same window (GB100's
``dev_vm.h`` gives FULL_PHYS_OFFSET 0xB80000 too); 4 or 8 of the TOP register's subtree bits are used. The gh100
header does not repeat the TOP registers nor the 0xB80000 base (it describes the VF's own view); both are taken
from gb100.
"""

from __future__ import annotations

from ..errors import RegisterError
from .core import RO, W1C, WO, Field, Register

VFN_BASE = 0xB80000  #: NV_VIRTUAL_FUNCTION_FULL_PHYS_OFFSET
USERMODE_BASE = 0x030000  #: NV_VIRTUAL_FUNCTION (usermode doorbells and time)


LEAVES_PER_SUBTREE = 2  #: a TOP bit covers two LEAF registers (NV_CTRL_INTR_SUBTREE_TO_LEAF_IDX_*)


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


#: the largest LEAF__SIZE_1 (gh100, gb100): the arrays' extent in BAR0 on any chip
MAX_LEAVES = max(NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF_GH100.COUNT or 0,
                 NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF.COUNT or 0)


def leaf_registers(leaves: int) -> tuple[type[Register], type[Register], type[Register]]:
    """LEAF, LEAF_EN_SET and LEAF_EN_CLEAR as the register family with ``leaves`` leaves declares them (8: Turing to
    Ada, 16: Hopper and later); a :class:`~nova_core.errors.RegisterError` for a count no family has."""
    out: list[type[Register]] = []
    arrays: tuple[type[Register], ...] = (NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF,
                                          NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF_EN_SET,
                                          NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF_EN_CLEAR)
    for reg in arrays:
        decl = next((d for d in (reg, *reg.VARIANTS) if leaves == d.COUNT), None)
        if decl is None:
            raise RegisterError(f"no register family has {leaves} VFN interrupt leaves (the {reg.NAME} arrays: "
                                f"{', '.join(str(d.COUNT) for d in (reg, *reg.VARIANTS))})")
        out.append(decl)
    return out[0], out[1], out[2]
