"""The Hopper/Blackwell register facts (FSP, THERM I2CS scratch, XAL BAR0 window, VFN interrupt tree sizes) against
NVIDIA's 570.144 headers, parsed where a tree is at hand (``NOVA_OGKM_TREE`` or ``ogkm/570.144`` beside the checkouts),
and the chip facts that pick them."""

from __future__ import annotations

import re

import pytest

from nova_core.gpu.chips import CHIPS, BootPath, Chipset
from nova_core.regs import falcon as fl
from nova_core.regs import fsp, pfb, therm, vfn, xal
from nova_core.regs.core import Register
from ogkm_tree import PUBLISHED, ogkm_570_tree


def _defines(header: str) -> dict[str, str]:
    tree = ogkm_570_tree()
    if tree is None:
        pytest.skip("no open-gpu-kernel-modules 570.144 tree (NOVA_OGKM_TREE, or ogkm/570.144 beside the checkouts)")
    text = (tree / PUBLISHED / header).read_text()
    defines = re.finditer(r"^#define[ \t]+(\w+(?:\(i\))?)[ \t]+(\S+)", text, re.M)
    return {m.group(1): m.group(2).strip() for m in defines}


def _array_base(expr: str) -> tuple[int, int]:
    m = re.fullmatch(r"\((0x[0-9a-fA-F]+)\+\(i\)\*(\d+)\)", expr)
    assert m, expr
    return int(m.group(1), 16), int(m.group(2))


@pytest.mark.parametrize(("name", "reg"), [
    ("NV_PFSP_EMEMC(i)", fsp.NV_PFSP_EMEMC), ("NV_PFSP_EMEMD(i)", fsp.NV_PFSP_EMEMD),
    ("NV_PFSP_QUEUE_HEAD(i)", fsp.NV_PFSP_QUEUE_HEAD), ("NV_PFSP_QUEUE_TAIL(i)", fsp.NV_PFSP_QUEUE_TAIL),
    ("NV_PFSP_MSGQ_HEAD(i)", fsp.NV_PFSP_MSGQ_HEAD), ("NV_PFSP_MSGQ_TAIL(i)", fsp.NV_PFSP_MSGQ_TAIL),
    ("NV_PFSP_FALCON_COMMON_SCRATCH_GROUP_2(i)", fsp.NV_PFSP_FALCON_COMMON_SCRATCH_GROUP_2),
    ("NV_PFSP_FALCON_COMMON_SCRATCH_GROUP_3(i)", fsp.NV_PFSP_FALCON_COMMON_SCRATCH_GROUP_3),
])
def test_fsp_registers_are_dev_fsp_pri_h(name: str, reg: type[Register]) -> None:
    d = _defines("hopper/gh100/dev_fsp_pri.h")
    base, stride = _array_base(d[name])
    size = int(d[name.replace("(i)", "__SIZE_1")])
    assert (reg.addr(i=0), reg.STRIDE, reg.COUNT) == (base, stride, size)


def test_emem_fields_and_channel() -> None:
    d = _defines("hopper/gh100/dev_fsp_pri.h")
    for field in ("OFFS", "BLK", "AINCW", "AINCR"):
        assert d[f"NV_PFSP_EMEMC_{field}"] == fsp.NV_PFSP_EMEMC.field(field.lower()).bits()


@pytest.mark.parametrize(("header", "reg"), [("hopper/gh100/dev_therm.h", therm.NV_THERM_I2CS_SCRATCH),
                                             ("blackwell/gb100/dev_therm.h", therm.NV_THERM_I2CS_SCRATCH),
                                             ("blackwell/gb202/dev_therm.h", therm.NV_THERM_I2CS_SCRATCH_GB202)])
def test_fsp_boot_scratch_per_chip(header: str, reg: type[Register]) -> None:
    assert int(_defines(header)["NV_THERM_I2CS_SCRATCH"], 16) == reg.addr()


def test_xal_bar0_window_and_lockdown_bit() -> None:
    for chip in ("hopper/gh100", "blackwell/gb100", "blackwell/gb202"):
        assert int(_defines(f"{chip}/pri_nv_xal_ep.h")["NV_XAL_EP_BAR0_WINDOW"], 16) == xal.NV_XAL_EP_BAR0_WINDOW.addr()
    assert _defines("blackwell/gb100/pri_nv_xal_ep.h")["NV_XAL_EP_BAR0_WINDOW_BASE"] == "22:0"
    assert _defines("hopper/gh100/dev_falcon_v4.h")["NV_PFALCON_FALCON_HWCFG2_RISCV_BR_PRIV_LOCKDOWN"] == \
        fl.NV_PFALCON_FALCON_HWCFG2_GH100.riscv_br_priv_lockdown.bits()


@pytest.mark.parametrize(("header", "leaves"), [("turing/tu102/dev_vm.h", 8), ("ampere/ga102/dev_vm.h", 8),
                                                ("hopper/gh100/dev_vm.h", 16), ("blackwell/gb100/dev_vm.h", 16)])
def test_vfn_interrupt_tree_sizes(header: str, leaves: int) -> None:
    d = _defines(header)
    assert int(d["NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF__SIZE_1"]) == leaves
    family = header.split("/")[1].upper()
    assert leaves == vfn.NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF.for_family(family).COUNT
    if "NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP__SIZE_1" in d:
        top = vfn.NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP
        assert int(d["NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP__SIZE_1"]) == top.COUNT


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
    d = _defines(header)
    for name in regs:
        reg = getattr(pfb, name)
        assert int(d[name], 16) + base == reg.addr(), name
        assert d[f"{name}_ADR"] == reg.field("adr").bits() == "31:0"
        mask = d.get(f"{name}_ADR_MASK")
        if name.endswith("_HI"):
            assert mask is not None and int(mask, 16) == (1 << (52 - 32)) - 1
        elif mask is not None:
            assert int(mask, 16) == 0xFFFFFF00


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
