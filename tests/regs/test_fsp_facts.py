"""The Hopper/Blackwell register facts (FSP, THERM I2CS scratch, XAL BAR0 window, VFN interrupt tree sizes, flush
page registers) against NVIDIA's 570.144 headers - through the committed register reference
:mod:`nova_core.regs.reference.r570_144` (``tests/regs/test_reference.py`` regenerates it from the headers when they
are at hand), each fact from the header named here - and the chip facts that pick them."""

from __future__ import annotations

import pytest

from nova_core.gpu.chips import CHIPS, BootPath, Chipset
from nova_core.regs import falcon as fl
from nova_core.regs import fsp, pfb, therm, vfn, xal
from nova_core.regs.core import Register
from nova_core.regs.reference import RefRegister
from nova_core.regs.reference import r570_144 as ref


def _entry(name: str, family: str, header: str | None) -> RefRegister:
    """The reference's published facts of ``name`` on ``family``, which ``header`` decided (None: any header)."""
    (entry,) = [e for e in ref.REGISTERS[name] if family in e.families and e.published]
    decided = entry.source
    for part in entry.source.split("; "):  # "GH100: hopper/gh100/dev_vm.h, turing/tu102/dev_vm.h; GB100 ...: ..."
        fams, sep, headers = part.partition(": ")
        if sep and family in fams.split():
            decided = headers
    assert header is None or header in decided, (name, family, entry.source)
    return entry


def _bits(entry: RefRegister, field: str) -> str:
    (f,) = [f for f in entry.fields if f.name == field]
    return f"{f.hi}:{f.lo}"


def _family(header: str) -> str:
    return header.split("/")[1].upper()


@pytest.mark.parametrize(("name", "reg"), [
    ("NV_PFSP_EMEMC", fsp.NV_PFSP_EMEMC), ("NV_PFSP_EMEMD", fsp.NV_PFSP_EMEMD),
    ("NV_PFSP_QUEUE_HEAD", fsp.NV_PFSP_QUEUE_HEAD), ("NV_PFSP_QUEUE_TAIL", fsp.NV_PFSP_QUEUE_TAIL),
    ("NV_PFSP_MSGQ_HEAD", fsp.NV_PFSP_MSGQ_HEAD), ("NV_PFSP_MSGQ_TAIL", fsp.NV_PFSP_MSGQ_TAIL),
    ("NV_PFSP_FALCON_COMMON_SCRATCH_GROUP_2", fsp.NV_PFSP_FALCON_COMMON_SCRATCH_GROUP_2),
    ("NV_PFSP_FALCON_COMMON_SCRATCH_GROUP_3", fsp.NV_PFSP_FALCON_COMMON_SCRATCH_GROUP_3),
])
def test_fsp_registers_are_dev_fsp_pri_h(name: str, reg: type[Register]) -> None:
    e = _entry(name, "GH100", "hopper/gh100/dev_fsp_pri.h")
    assert e.where == (("", reg.addr(i=0)),)
    assert (e.stride, e.entries) == (reg.STRIDE, reg.COUNT)


def test_emem_fields_and_channel() -> None:
    e = _entry("NV_PFSP_EMEMC", "GH100", "hopper/gh100/dev_fsp_pri.h")
    for field in ("OFFS", "BLK", "AINCW", "AINCR"):
        assert _bits(e, field) == fsp.NV_PFSP_EMEMC.field(field.lower()).bits()


@pytest.mark.parametrize(("header", "reg"), [("hopper/gh100/dev_therm.h", therm.NV_THERM_I2CS_SCRATCH),
                                             ("blackwell/gb100/dev_therm.h", therm.NV_THERM_I2CS_SCRATCH),
                                             ("blackwell/gb202/dev_therm.h", therm.NV_THERM_I2CS_SCRATCH_GB202)])
def test_fsp_boot_scratch_per_chip(header: str, reg: type[Register]) -> None:
    assert _entry("NV_THERM_I2CS_SCRATCH", _family(header), header).where == (("", reg.addr()),)


def test_xal_bar0_window_and_lockdown_bit() -> None:
    for chip in ("hopper/gh100", "blackwell/gb100", "blackwell/gb202"):
        e = _entry("NV_XAL_EP_BAR0_WINDOW", _family(f"{chip}/"), f"{chip}/pri_nv_xal_ep.h")
        assert e.where == (("", xal.NV_XAL_EP_BAR0_WINDOW.addr()),)
    assert _bits(_entry("NV_XAL_EP_BAR0_WINDOW", "GB100", "blackwell/gb100/pri_nv_xal_ep.h"), "BASE") == "22:0"
    hwcfg2 = _entry("NV_PFALCON_FALCON_HWCFG2", "GH100", "hopper/gh100/dev_falcon_v4.h")
    assert _bits(hwcfg2, "RISCV_BR_PRIV_LOCKDOWN") == fl.NV_PFALCON_FALCON_HWCFG2_GH100.riscv_br_priv_lockdown.bits()


@pytest.mark.parametrize(("header", "leaves"), [("turing/tu102/dev_vm.h", 8), ("ampere/ga102/dev_vm.h", 8),
                                                ("hopper/gh100/dev_vm.h", 16), ("blackwell/gb100/dev_vm.h", 16)])
def test_vfn_interrupt_tree_sizes(header: str, leaves: int) -> None:
    family = _family(header)
    assert _entry("NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF", family, header).entries == leaves
    assert leaves == vfn.NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF.for_family(family).COUNT
    top = _entry("NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP", family, None)  # hopper/gh100/dev_vm.h inherits ga102's
    assert top.entries == vfn.NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP.for_family(family).COUNT


def test_chip_columns_of_the_fsp_path() -> None:
    for chip, f in CHIPS.items():
        fsp_chip = f.boot_path is BootPath.FSP
        assert (f.vfn_leaves == 16) == fsp_chip and f.bar0_window_xal == fsp_chip
        assert (f.fsp_boot_scratch is not None) == fsp_chip == bool(f.cot_version)
        assert f.pci_config_mirror == (0x92000 if fsp_chip else 0x88000)
        if fsp_chip:
            assert (f.cot_version, f.cot_public_key_size, f.cot_signature_size) == (
                (1, 384, 384) if chip is Chipset.GH100 else (2, 97, 96))
    assert CHIPS[Chipset.GB202].fsp_boot_scratch is therm.NV_THERM_I2CS_SCRATCH_GB202
    assert CHIPS[Chipset.GB202].non_wpr_heap_size == 0x220000 and CHIPS[Chipset.GH100].non_wpr_heap_size == 2 << 20
    assert CHIPS[Chipset.GB100].pmu_reserved_size == 0x1820000 and CHIPS[Chipset.GH100].pmu_reserved_size == 0
    assert [c.name for c in Chipset if CHIPS[c].fsp_fuse_error_check] == ["GB100", "GB102"]


@pytest.mark.parametrize(("header", "regs", "base"), [
    ("hopper/gh100/dev_fb.h", ("NV_PFB_FBHUB_PCIE_FLUSH_SYSMEM_ADDR_LO", "NV_PFB_FBHUB_PCIE_FLUSH_SYSMEM_ADDR_HI"), 0),
    ("blackwell/gb100/dev_hshub_base.h", ("NV_PFB_HSHUB_PCIE_FLUSH_SYSMEM_ADDR_LO",
                                          "NV_PFB_HSHUB_PCIE_FLUSH_SYSMEM_ADDR_HI",
                                          "NV_PFB_HSHUB_EG_PCIE_FLUSH_SYSMEM_ADDR_LO",
                                          "NV_PFB_HSHUB_EG_PCIE_FLUSH_SYSMEM_ADDR_HI"), pfb.HSHUB0_BASE),
    ("blackwell/gb10b/dev_fbhub.h", ("NV_PFB_FBHUB0_PCIE_FLUSH_SYSMEM_ADDR_LO",
                                     "NV_PFB_FBHUB0_PCIE_FLUSH_SYSMEM_ADDR_HI"), 0),
])
def test_hopper_and_blackwell_flush_page_registers(header: str, regs: tuple[str, ...], base: int) -> None:
    """The hub registers the flush page goes in from Hopper on, against the headers (the HSHUB ones are relative to
    an HSHUB; HSHUB0 is at 0x870000, OpenRM's NV_PFB_HSHUB0); LO keeps bits 31:8 or 31:0, HI bits 51:32."""
    family = "GB202" if "gb10b" in header else _family(header)
    for name in regs:
        reg = getattr(pfb, name)
        e = _entry(name, family, header)
        if base:  # the reference's address is the header's offset plus the HSHUB0 base OpenRM defines
            assert f"NV_PFB_HSHUB0 {base:#x}" in e.source, e.source
        assert e.where == (("", reg.addr()),), name
        assert _bits(e, "ADR") == reg.field("adr").bits() == "31:0"
        (adr,) = [f for f in e.fields if f.name == "ADR"]
        mask = dict(adr.values).get("MASK")
        if name.endswith("_HI"):
            assert mask is not None and mask == (1 << (52 - 32)) - 1
        elif mask is not None:
            assert mask == 0xFFFFFF00


def test_flush_page_registers_per_chip() -> None:
    """OpenRM 570.144 g_kern_mem_sys_nvoc.c: kmemsysProgramSysmemFlushBuffer_GM107 on TU10x, _GA100 up to Ada, _GH100,
    _GB100 on GB100/GB102, _GB10B on GB202-GB207."""
    want = {Chipset.TU102: pfb.FlushPageScheme.NISO_GM107, Chipset.TU117: pfb.FlushPageScheme.NISO_GM107,
            Chipset.GA100: pfb.FlushPageScheme.NISO_GA100, Chipset.AD102: pfb.FlushPageScheme.NISO_GA100,
            Chipset.GH100: pfb.FlushPageScheme.FBHUB_GH100, Chipset.GB100: pfb.FlushPageScheme.HSHUB_GB100,
            Chipset.GB102: pfb.FlushPageScheme.HSHUB_GB100, Chipset.GB202: pfb.FlushPageScheme.FBHUB0_GB10B,
            Chipset.GB207: pfb.FlushPageScheme.FBHUB0_GB10B}
    for chip, scheme in want.items():
        assert CHIPS[chip].sysmem_flush is pfb.FLUSH_PAGE_REGS[scheme], chip
    assert CHIPS[Chipset.GB100].sysmem_flush.pairs[1][0] is pfb.NV_PFB_HSHUB_EG_PCIE_FLUSH_SYSMEM_ADDR_LO
