"""The declared register facts: checked against the reference, round-tripped, reverse-looked-up."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nova_core import regs
from nova_core.regs import REGISTRY, Register, gc6, gsp, pbus, pdisp, pfb, pmc, prom, ptimer
from nova_core.regs import falcon as fl

ALL = sorted(REGISTRY, key=lambda r: r.NAME)


# Offsets and fields from shared/reference/nvidia-facts.md §1, §2, §7, §9 (NVIDIA headers).
@pytest.mark.parametrize(("reg", "where"), [
    (pmc.NV_PMC_BOOT_0, 0x000000),
    (pmc.NV_PMC_BOOT_42, 0x000A00),
    (ptimer.NV_PTIMER_TIME_0, 0x9400),
    (ptimer.NV_PTIMER_TIME_1, 0x9410),
    (pfb.NV_PFB_PRI_MMU_WPR2_ADDR_LO, 0x1FA824),
    (pfb.NV_PFB_PRI_MMU_WPR2_ADDR_HI, 0x1FA828),
    (pfb.NV_PFB_PRI_MMU_LOCAL_MEMORY_RANGE, 0x100CE0),
    (pfb.NV_PFB_NISO_FLUSH_SYSMEM_ADDR, 0x100C10),
    (pfb.NV_PFB_NISO_FLUSH_SYSMEM_ADDR_HI, 0x100C40),
    (gc6.NV_PGC6_AON_SECURE_SCRATCH_GROUP_42, 0x1183A4),
    (gc6.NV_PGC6_AON_SECURE_SCRATCH_GROUP_05_PRIV_LEVEL_MASK, 0x118128),
    (gc6.NV_PGC6_BSI_SECURE_SCRATCH_14, 0x1180F8),
    (pdisp.NV_PDISP_VGA_WORKSPACE_BASE, 0x625F04),
])
def test_absolute_offsets(reg: type[Register], where: int) -> None:
    assert reg.addr() == where


def test_arrays_and_engine_relative_offsets() -> None:
    assert pbus.NV_PBUS_SW_SCRATCH.addr(i=pbus.FRTS_ERR_SCRATCH) == 0x1438
    assert gc6.NV_PGC6_AON_SECURE_SCRATCH_GROUP_05.addr(i=0) == 0x118234
    assert gsp.NV_PGSP_QUEUE_HEAD.addr(i=0) == 0x110C00
    assert gsp.NV_PGSP_MAILBOX.addr(i=0) == 0x110804
    gspb, sec2 = fl.FALCON.GSP, fl.FALCON.SEC2
    assert (gspb, sec2) == (0x110000, 0x840000)
    assert fl.NV_PFALCON_FALCON_ENGINE.addr(gspb) == 0x1103C0
    assert fl.NV_PFALCON_FALCON_ENGINE.addr(sec2) == 0x8403C0
    assert fl.NV_PFALCON_FALCON_CPUCTL.addr(sec2) == 0x840100
    assert fl.NV_PFALCON_FALCON_IMEMC.addr(gspb, 1) == 0x110190
    assert fl.NV_PFALCON_FALCON_DMEMD.addr(gspb, 0) == 0x1101C4
    assert fl.NV_PFALCON_FBIF_TRANSCFG.addr(gspb, 0) == 0x110600
    assert fl.NV_PFALCON_FBIF_CTL.addr(gspb) == 0x110624
    assert fl.NV_PRISCV_RISCV_BCR_CTRL.addr(fl.FALCON2.GSP) == 0x111668
    assert fl.NV_PFALCON2_FALCON_BROM_PARAADDR.addr(fl.FALCON2.SEC2, 0) == 0x841210
    assert fl.NV_PRISCV_RISCV_CPUCTL.addr(fl.FALCON2.GSP) == 0x111388
    assert prom.PROM.start == 0x300000 and prom.PROM.size == 1 << 20


def test_field_positions_from_the_reference() -> None:
    b42 = pmc.NV_PMC_BOOT_42
    assert (b42.architecture.hi, b42.architecture.lo) == (29, 24)
    assert (b42.implementation.hi, b42.implementation.lo) == (23, 20)
    assert pfb.NV_PFB_PRI_MMU_WPR2_ADDR_LO.val.bits() == "31:4"
    assert fl.NV_PFALCON_FALCON_HWCFG2.for_family("GA102").field("mem_scrubbing").bits() == "12:12"
    assert fl.NV_PFALCON_FALCON_HWCFG2.for_family("GA102").field("reset_ready").bits() == "31:31"
    assert fl.NV_PFALCON_FALCON_CPUCTL.halted.bits() == "4:4"
    assert fl.NV_PFALCON_FALCON_DMATRFCMD.size.bits() == "10:8"
    assert fl.NV_PRISCV_RISCV_BCR_CTRL.core_select.bits() == "4:4"
    assert gc6.NV_PGC6_BSI_SECURE_SCRATCH_14.boot_stage_3_handoff.bits() == "26:26"


def test_example_from_the_issue_decodes() -> None:
    # `nova regs decode 0x0 0x192000a1`: AD102 revision A1
    d = pmc.NV_PMC_BOOT_0.decode(0x192000A1)
    assert d == {"minor_revision": 1, "major_revision": 0xA, "architecture_1": 0, "implementation": 2,
                 "architecture_0": 0x19}


def test_every_location_reverse_looks_up_to_its_register() -> None:
    n = 0
    for reg in ALL:
        for off, inst, idx in reg.locations():
            loc = REGISTRY.lookup(off)
            assert loc is not None and loc.register is reg and loc.instance == inst and loc.index == idx
            n += 1
        for v in reg.VARIANTS:  # a variant's locations the register lacks (a longer array, another offset)
            for off, inst, idx in v.locations():
                loc = REGISTRY.lookup(off)
                assert loc is not None and loc.register in (reg, v) and loc.instance == inst and loc.index == idx
                n += loc.register is v
    assert n == len(REGISTRY.by_offset) and n > 300


def test_all_modules_are_registered() -> None:
    modules = {r.__module__.rsplit(".", 1)[-1] for r in REGISTRY}
    assert {"pmc", "ptimer", "pbus", "pfb", "gc6", "pdisp", "fuse", "falcon", "gsp", "vfn"} <= modules
    assert regs.REGISTRY is REGISTRY


@st.composite
def register_and_fields(draw: st.DrawFn) -> tuple[type[Register], dict[str, int]]:
    reg = draw(st.sampled_from(ALL))
    fields = {f.name: draw(st.integers(0, f.max)) for f in reg.FIELDS}
    return reg, fields


@settings(max_examples=500, deadline=None)
@given(register_and_fields())
def test_decode_encode_roundtrip_every_register(case: tuple[type[Register], dict[str, int]]) -> None:
    reg, fields = case
    assert reg.decode(reg.encode(**fields)) == fields


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ALL), st.integers(0, 0xFFFFFFFF))
def test_encode_decode_roundtrip_every_value(reg: type[Register], value: int) -> None:
    declared = value & ~reg.undeclared_bits(value)
    assert reg.encode(**reg.decode(value)) == declared
