"""Chip identification from BOOT_0/BOOT_42, and the chip facts table."""

from __future__ import annotations

import pytest

from nova_core.errors import ChipError, DeviceLost
from nova_core.gpu import CHIPS, Architecture, Chipset, decode_boot, identify
from nova_core.gpu.chips import BootPath, FalconHal
from nova_core.gpu.identify import Revision
from nova_core.hw.bar import BufferBar
from nova_core.regs.pmc import NV_PMC_BOOT_0, NV_PMC_BOOT_42

# reference §1: every chipset id from TU102 0x162 to GB207 0x1b7
REFERENCE_IDS = {
    "TU102": 0x162, "TU104": 0x164, "TU106": 0x166, "TU117": 0x167, "TU116": 0x168,
    "GA100": 0x170, "GA102": 0x172, "GA103": 0x173, "GA104": 0x174, "GA106": 0x176, "GA107": 0x177,
    "GH100": 0x180, "AD102": 0x192, "AD103": 0x193, "AD104": 0x194, "AD106": 0x196, "AD107": 0x197,
    "GB100": 0x1A0, "GB102": 0x1A2, "GB202": 0x1B2, "GB203": 0x1B3, "GB205": 0x1B5, "GB206": 0x1B6,
    "GB207": 0x1B7,
}


def boot_values(arch: int, impl: int, major: int = 0xA, minor: int = 1) -> tuple[int, int]:
    b0 = NV_PMC_BOOT_0.encode(minor_revision=minor, major_revision=major, architecture_1=arch >> 5,
                              implementation=impl, architecture_0=arch & 0x1F)
    b42 = NV_PMC_BOOT_42.encode(minor_revision=minor, major_revision=major, implementation=impl,
                                architecture=arch)
    return b0, b42


def test_chipset_ids_match_the_reference() -> None:
    assert {c.name: c.value for c in Chipset} == REFERENCE_IDS
    assert {a.name: a.value for a in Architecture} == {
        "TURING": 0x16, "AMPERE": 0x17, "HOPPER": 0x18, "ADA": 0x19, "BLACKWELL_GB10X": 0x1A,
        "BLACKWELL_GB20X": 0x1B}


@pytest.mark.parametrize("chip", list(Chipset))
def test_decode_every_chip(chip: Chipset) -> None:
    b0, b42 = boot_values(chip.architecture, chip.implementation, 0xB, 2)
    spec = decode_boot(b0, b42)
    assert spec.chipset is chip and spec.revision == Revision(0xB, 2) and str(spec.revision) == "B2"
    assert spec.facts.chipset is chip


def test_from_id_error_names_value_and_known_ones() -> None:
    with pytest.raises(ChipError, match=r"unknown chipset id 0x165; known chipsets: TU102=0x162, .*GB207=0x1b7"):
        Chipset.from_id(0x165)


def test_parse_name_and_id() -> None:
    assert Chipset.parse("ga102") is Chipset.GA102
    assert Chipset.parse("0x194") is Chipset.AD104
    assert Chipset.parse(0x1B6) is Chipset.GB206
    with pytest.raises(ChipError, match="did you mean 'GA102'"):
        Chipset.parse("ga12")


def test_pre_turing_refused_with_both_registers() -> None:
    b0, b42 = boot_values(0x14, 0x0)  # GV100
    with pytest.raises(ChipError, match=r"Volta \(GV100\) GPU \(architecture 0x14\) is not supported.*"
                                        r"BOOT_0=0x140000a1, BOOT_42=0x140a1000"):
        decode_boot(b0, b42)
    # a Pascal part whose BOOT_42 reads zero is still recognised by BOOT_0
    b0, _ = boot_values(0x13, 0x2)
    with pytest.raises(ChipError, match="Pascal"):
        decode_boot(b0, 0)


def test_unknown_architecture_and_implementation() -> None:
    b0, b42 = boot_values(0x1C, 0x2)
    with pytest.raises(ChipError, match=r"unknown GPU architecture 0x1c \(BOOT_0=0x1c2000a1"):
        decode_boot(b0, b42)
    b0, b42 = boot_values(0x19, 0x5)  # AD105 does not exist
    with pytest.raises(ChipError, match=r"unknown chipset id 0x195.*BOOT_42=0x195a1000"):
        decode_boot(b0, b42)


def test_lost_device() -> None:
    with pytest.raises(DeviceLost, match="BOOT_0=0xffffffff"):
        decode_boot(0xFFFFFFFF, 0xFFFFFFFF)
    bar = BufferBar(bytearray(b"\xff" * 0x1000))
    with pytest.raises(DeviceLost):
        identify(bar)


def test_facts_table_columns() -> None:
    assert CHIPS[Chipset.TU116].gsp_sig_section == ".fwsignature_tu11x"
    assert CHIPS[Chipset.TU104].gsp_sig_section == ".fwsignature_tu10x"
    assert CHIPS[Chipset.GA100].gsp_sig_section == ".fwsignature_ga100"
    assert CHIPS[Chipset.GA107].gsp_sig_section == ".fwsignature_ga10x"
    assert CHIPS[Chipset.AD106].gsp_sig_section == ".fwsignature_ad10x"
    assert CHIPS[Chipset.GA100].falcon_hal is FalconHal.TU102 and CHIPS[Chipset.GA100].needs_fwsec_bootloader
    assert CHIPS[Chipset.GA102].falcon_hal is FalconHal.GA102 and not CHIPS[Chipset.GA102].needs_fwsec_bootloader
    assert CHIPS[Chipset.GH100].boot_path is BootPath.FSP
    assert CHIPS[Chipset.AD102].boot_path is BootPath.SEC2_BOOTER
    assert CHIPS[Chipset.AD102].fw_dir == "ad102" and CHIPS[Chipset.GA100].libos == 2
    assert all(CHIPS[c].chipset is c for c in Chipset)
