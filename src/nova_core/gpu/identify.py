"""nova_core.gpu.identify: which GPU is this? Decode NV_PMC_BOOT_0 and NV_PMC_BOOT_42.

Since Turing the chip id comes from BOOT_42 (architecture << 4 | implementation); BOOT_0 still carries
the architecture and is what pre-Turing chips are recognised (and refused) by. A device that reads
0xffffffff is lost (off the bus or in reset), which is reported as such, not as an unknown chip.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ChipError, DeviceLost
from ..hw.bar import Bar
from ..regs.pmc import NV_PMC_BOOT_0, NV_PMC_BOOT_42
from .chips import PRE_TURING_ARCHITECTURES, Architecture, ChipFacts, Chipset

_ALL_ONES = 0xFFFFFFFF


@dataclass(frozen=True, order=True)
class Revision:
    """Chip revision: major 0xA and minor 1 print as ``"A1"``."""

    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major:X}{self.minor:X}"


@dataclass(frozen=True)
class Spec:
    """The identity of a GPU, as read from its boot registers."""

    chipset: Chipset
    revision: Revision
    boot0: int
    boot42: int

    @property
    def architecture(self) -> Architecture:
        return self.chipset.architecture

    @property
    def facts(self) -> ChipFacts:
        return self.chipset.facts

    def __str__(self) -> str:
        return (f"NVIDIA {self.chipset.name} ({self.architecture.family}, architecture "
                f"{self.architecture.value:#x}), revision {self.revision}")


def boot0_architecture(boot0: int) -> int:
    """Architecture id from BOOT_0: (ARCHITECTURE_1 << 5) | ARCHITECTURE_0."""
    return (NV_PMC_BOOT_0.architecture_1.get(boot0) << 5) | NV_PMC_BOOT_0.architecture_0.get(boot0)


def decode_boot(boot0: int, boot42: int) -> Spec:
    """Identify a chip from its BOOT_0 and BOOT_42 values.

    Raises:
        DeviceLost: BOOT_0 reads 0xffffffff.
        ChipError: pre-Turing, unknown architecture or unknown chipset; the message shows both
            registers.
    """
    regs = f"BOOT_0={boot0:#010x}, BOOT_42={boot42:#010x}"
    if boot0 == _ALL_ONES:
        raise DeviceLost(f"the GPU does not answer: {regs} (fell off the bus, or in reset)")
    arch0 = boot0_architecture(boot0)
    if arch0 in PRE_TURING_ARCHITECTURES:
        raise ChipError(
            f"{PRE_TURING_ARCHITECTURES[arch0]} GPU (architecture {arch0:#x}) is not supported: "
            f"nova-core needs a GSP, i.e. Turing (0x16) or later ({regs})"
        )
    arch = NV_PMC_BOOT_42.architecture.get(boot42)
    if arch in PRE_TURING_ARCHITECTURES:
        raise ChipError(
            f"{PRE_TURING_ARCHITECTURES[arch]} GPU (architecture {arch:#x}) is not supported: "
            f"nova-core needs Turing (0x16) or later ({regs})"
        )
    try:
        Architecture(arch)
    except ValueError:
        known = ", ".join(f"{a.name}={a.value:#x}" for a in Architecture)
        raise ChipError(f"unknown GPU architecture {arch:#x} ({regs}); known: {known}") from None
    chip_id = (arch << 4) | NV_PMC_BOOT_42.implementation.get(boot42)
    try:
        chipset = Chipset.from_id(chip_id)
    except ChipError as exc:
        raise ChipError(f"{exc} ({regs})") from None
    rev = Revision(NV_PMC_BOOT_42.major_revision.get(boot42), NV_PMC_BOOT_42.minor_revision.get(boot42))
    return Spec(chipset=chipset, revision=rev, boot0=boot0, boot42=boot42)


def identify(bar: Bar) -> Spec:
    """Read BOOT_0 and BOOT_42 from ``bar`` and identify the chip (see :func:`decode_boot`)."""
    boot0 = NV_PMC_BOOT_0.read(bar)
    if boot0 == _ALL_ONES:
        return decode_boot(boot0, _ALL_ONES)
    return decode_boot(boot0, NV_PMC_BOOT_42.read(bar))
