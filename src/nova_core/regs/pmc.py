"""nova_core.regs.pmc: PMC, master control: chip identification.

Source: open-gpu-kernel-modules 570.144 ``src/common/inc/swref/published/nv_ref.h``; Linux nova-core
``regs.rs`` (derives the chipset from BOOT_42). Architecture = (ARCHITECTURE_1 << 5) | ARCHITECTURE_0.
"""

from __future__ import annotations

from .core import RO, Field, Register


class NV_PMC_BOOT_0(Register, offset=0x000000):
    """Boot register 0: architecture, implementation and revision (pre-Turing chipset id)."""

    minor_revision = Field(3, 0, RO, doc="minor revision (the 1 of A1)")
    major_revision = Field(7, 4, RO, doc="major revision (0xA = A, 0xB = B, ...)")
    architecture_1 = Field(8, 8, RO, doc="most significant bit of the architecture")
    implementation = Field(23, 20, RO, doc="implementation within the architecture")
    architecture_0 = Field(28, 24, RO, doc="low five bits of the architecture")


class NV_PMC_BOOT_42(Register, offset=0x000A00):
    """Boot register 42: the chip id (architecture << 4 | implementation) used since Turing."""

    minor_extended_revision = Field(11, 8, RO)
    minor_revision = Field(15, 12, RO)
    major_revision = Field(19, 16, RO)
    implementation = Field(23, 20, RO)
    architecture = Field(29, 24, RO, doc="architecture id (0x16 Turing ... 0x1B Blackwell GB20x)")
