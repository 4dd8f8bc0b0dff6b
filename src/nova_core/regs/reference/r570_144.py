"""Register facts of NVIDIA's published headers, open-gpu-kernel-modules 570.144 (generated: do not edit).

Written by ``tools/gen_reg_reference.py`` from ``src/common/inc/swref/published`` (240 header files), for the
105 register names nova_core.regs declares: 99 published, 6 not published (their
entries say where the fact was taken from). See :mod:`nova_core.regs.reference` for the record types.
"""

from __future__ import annotations

from . import RefBase, RefField, RefRegister

SOURCE = "NVIDIA/open-gpu-kernel-modules"
SOURCE_TAG = "570.144"
GENERATOR_SHA256 = "b850fc7adcfcaf00e280fe40a6eeff4645f7641c37e3856f6b07f10c0bf1bf72"
INPUTS_SHA256 = "76cd110fdfa720b56977080e39ac6cf143cfa870cac7f9979f136d258844174e"  # the 240 header files read

#: register family -> the directories of src/common/inc/swref/published its registers were looked up in, newest first
CHAINS: dict[str, tuple[str, ...]] = {
    "TU102": (
        "turing/tu102", "turing/tu104", "disp/v04_00", "volta/gv100", "pascal/gp102", "pascal/gp100", "maxwell/gm200",
        "maxwell/gm107", "kepler/gk104", ".",
    ),
    "GA100": (
        "ampere/ga100", "turing/tu102", "turing/tu104", "volta/gv100", "pascal/gp102", "pascal/gp100", "maxwell/gm200",
        "maxwell/gm107", "kepler/gk104", ".",
    ),
    "GA102": (
        "ampere/ga102", "disp/v04_01", "ampere/ga100", "turing/tu102", "turing/tu104", "volta/gv100", "pascal/gp102",
        "pascal/gp100", "maxwell/gm200", "maxwell/gm107", "kepler/gk104", ".",
    ),
    "AD102": (
        "ada/ad102", "ampere/ga102", "disp/v04_01", "ampere/ga100", "turing/tu102", "turing/tu104", "volta/gv100",
        "pascal/gp102", "pascal/gp100", "maxwell/gm200", "maxwell/gm107", "kepler/gk104", ".",
    ),
    "GH100": (
        "hopper/gh100", "ampere/ga102", "ampere/ga100", "turing/tu102", "turing/tu104", "volta/gv100", "pascal/gp102",
        "pascal/gp100", "maxwell/gm200", "maxwell/gm107", "kepler/gk104", ".",
    ),
    "GB100": (
        "blackwell/gb100", "hopper/gh100", "ampere/ga102", "ampere/ga100", "turing/tu102", "turing/tu104",
        "volta/gv100", "pascal/gp102", "pascal/gp100", "maxwell/gm200", "maxwell/gm107", "kepler/gk104", ".",
    ),
    "GB202": (
        "blackwell/gb202", "blackwell/gb100", "blackwell/gb10b/dev_fbhub.h", "disp/v05_01", "hopper/gh100",
        "ada/ad102", "ampere/ga102", "ampere/ga100", "turing/tu102", "turing/tu104", "volta/gv100", "pascal/gp102",
        "pascal/gp100", "maxwell/gm200", "maxwell/gm107", "kepler/gk104", ".",
    ),
}

#: (block, engine) -> where that engine's block starts
BLOCKS: dict[tuple[str, str], tuple[RefBase, ...]] = {
    ("falcon", "GSP"): (
        RefBase(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102 GA100: turing/tu102/dev_gsp.h; GA102 AD102: ampere/ga102/dev_gsp.h; GH100 GB100 GB202: "
                "hopper/gh100/dev_gsp.h"
            ),
            published=True, define="NV_PGSP", address=0x110000,
        ),
    ),
    ("falcon", "SEC2"): (
        RefBase(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102: turing/tu102/dev_sec_pri.h; GA100: ampere/ga100/dev_sec_pri.h; GA102 AD102 GH100 GB100 GB202: "
                "ampere/ga102/dev_sec_pri.h"
            ),
            published=True, define="NV_PSEC", address=0x840000,
        ),
    ),
    ("falcon", "FSP"): (
        RefBase(
            families=("GH100", "GB100", "GB202"),
            source=(
                "Linux nova-core drivers/gpu/nova-core/falcon/fsp.rs (Fsp BASE 0x8f2000); hopper/gh100/dev_fsp_pri.h "
                "has NV_PFSP_EMEMC(0) at 0x8F2AC0, base + 0xAC0 as NV_PGSP_EMEMC(0) is for the GSP"
            ),
            published=False, define="FSP falcon", address=0x8f2000,
        ),
    ),
    ("fbif", "GSP"): (
        RefBase(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102 GA100: turing/tu102/dev_gsp_addendum.h; GA102 AD102 GH100 GB100 GB202: "
                "ampere/ga102/dev_gsp_addendum.h"
            ),
            published=True, define="NV_PGSP_FBIF_BASE", address=0x110600,
        ),
    ),
    ("fbif", "SEC2"): (
        RefBase(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102: turing/tu102/dev_sec_addendum.h; GA100: ampere/ga100/dev_sec_addendum.h; GA102 AD102 GH100 "
                "GB100 GB202: ampere/ga102/dev_sec_addendum.h"
            ),
            published=True, define="NV_PSEC_FBIF_BASE", address=0x840600,
        ),
    ),
    ("falcon2", "GSP"): (
        RefBase(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102: turing/tu102/dev_riscv_pri.h; GA100: ampere/ga100/dev_riscv_pri.h; GA102 AD102 GH100 GB100 "
                "GB202: ampere/ga102/dev_riscv_pri.h"
            ),
            published=True, define="NV_FALCON2_GSP_BASE", address=0x111000,
        ),
    ),
    ("falcon2", "SEC2"): (
        RefBase(
            families=("GA102", "AD102", "GH100", "GB100", "GB202"),
            source="ampere/ga102/dev_falcon_second_pri.h",
            published=True, define="NV_FALCON2_SEC_BASE", address=0x841000,
        ),
    ),
    ("falcon2", "FSP"): (
        RefBase(
            families=("GH100", "GB100", "GB202"),
            source=(
                "Linux nova-core drivers/gpu/nova-core/falcon.rs (PFalcon2Base: the falcon base + 0x1000, as "
                "NV_FALCON2_GSP_BASE/NV_FALCON2_SEC_BASE)"
            ),
            published=False, define="FSP falcon2", address=0x8f3000,
        ),
    ),
}

#: register name -> its facts, one entry per group of families that agree
REGISTERS: dict[str, tuple[RefRegister, ...]] = {
    "NV_FUSE_OPT_FPF_GSP_UCODE1_VERSION": (
        RefRegister(
            families=("GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="ampere/ga100/dev_fuse.h",
            published=True, where=(("", 0x8241c0),), entries=16, stride=0x4, access="RW",
            fields=(
                RefField("DATA", 15, 0, "RW"),
            ),
        ),
    ),
    "NV_FUSE_OPT_FPF_NVDEC_UCODE1_VERSION": (
        RefRegister(
            families=("GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="ampere/ga100/dev_fuse.h",
            published=True, where=(("", 0x824100),), entries=16, stride=0x4, access="RW",
            fields=(
                RefField("DATA", 15, 0, "RW"),
            ),
        ),
    ),
    "NV_FUSE_OPT_FPF_SEC2_UCODE1_VERSION": (
        RefRegister(
            families=("GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="ampere/ga100/dev_fuse.h",
            published=True, where=(("", 0x824140),), entries=16, stride=0x4, access="RW",
            fields=(
                RefField("DATA", 15, 0, "RW"),
            ),
        ),
    ),
    "NV_FUSE_STATUS_OPT_DISPLAY": (
        RefRegister(
            families=("TU102",),
            source="maxwell/gm107/dev_fuse.h",
            published=True, where=(("", 0x21c04),), entries=None, stride=0x4, access="RO",
            fields=(
                RefField("DATA", 0, 0, "RO", (("ENABLE", 0x0),)),
            ),
        ),
        RefRegister(
            families=("GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="ampere/ga100/dev_fuse.h",
            published=True, where=(("", 0x820c04),), entries=None, stride=0x4, access="RO",
            fields=(
                RefField("DATA", 0, 0, "RO", (("ENABLE", 0x0),)),
            ),
        ),
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "Linux nova-core drivers/gpu/nova-core/regs.rs NV_FUSE_STATUS_OPT_DISPLAY 0:0 display_disabled (1: the "
                "display engine is fused off; the headers name only DATA_ENABLE 0)"
            ),
            published=False, where=(), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("DATA", 0, 0, "", (("DISABLE", 0x1),)),
            ),
        ),
    ),
    "NV_PBUS_BAR0_WINDOW": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="maxwell/gm107/dev_bus.h",
            published=True, where=(("", 0x1700),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("BASE", 23, 0, "RW", (("0", 0x0), ("SHIFT", 0x10))),
                RefField("TARGET", 25, 24, "RW", (
                    ("VID_MEM", 0x0),
                    ("SYS_MEM_COHERENT", 0x2),
                    ("SYS_MEM_NONCOHERENT", 0x3),
                )),
            ),
        ),
    ),
    "NV_PBUS_SW_SCRATCH": (
        RefRegister(
            families=("TU102",),
            source="turing/tu102/dev_bus.h",
            published=True, where=(("", 0x1400),), entries=0, stride=0x4, access="RW",
            fields=(),
        ),
        RefRegister(
            families=("GA100", "GA102", "GH100", "GB100", "GB202"),
            source=(
                "GA100 GA102: ampere/ga100/dev_bus.h; GH100: hopper/gh100/dev_bus.h; GB100 GB202: "
                "blackwell/gb100/dev_bus.h"
            ),
            published=True, where=(("", 0x1400),), entries=64, stride=0x4, access="RW",
            fields=(
                RefField("FIELD", 31, 0, "RW", (("INIT", 0x0),)),
            ),
        ),
        RefRegister(
            families=("AD102",),
            source="ada/ad102/dev_bus.h, ada/ad102/dev_bus_addendum.h",
            published=True, where=(("", 0x1400),), entries=64, stride=0x4, access="RW",
            fields=(
                RefField("FIELD", 31, 0, "RW", (("INIT", 0x0),)),
                RefField("NV_PBUS_SW_GLOBAL_EROT_GRANT(0)_VALID", 3, 3, "", (("NO", 0x0), ("YES", 0x1))),
                RefField("NV_PBUS_SW_GLOBAL_EROT_GRANT(0)_REQUEST", 4, 4, "", (("CLEAR", 0x0), ("SET", 0x1))),
                RefField("NV_PBUS_SW_GLOBAL_EROT_GRANT(0)_ALLOW", 5, 5, "", (("NO", 0x0), ("YES", 0x1))),
            ),
        ),
        RefRegister(
            families=("TU102",),
            source="Linux nova-core drivers/gpu/nova-core/regs.rs NV_PBUS_SW_SCRATCH(u32)[64]",
            published=False, where=(), entries=64, stride=0x4, access="RW",
            fields=(),
        ),
    ),
    "NV_PDISP_VGA_WORKSPACE_BASE": (
        RefRegister(
            families=("TU102",),
            source="disp/v04_00/dev_disp.h",
            published=True, where=(("", 0x625f04),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("STATUS", 3, 3, "RW", (("VALID", 0x1),)),
                RefField("ADDR", 31, 8, "RW"),
            ),
        ),
        RefRegister(
            families=("GA102", "AD102", "GB202"),
            source=(
                "Linux nova-core drivers/gpu/nova-core/regs.rs NV_PDISP_VGA_WORKSPACE_BASE, read by fb.rs on every "
                "chip with a display; nouveau tu102_gsp_oneinit"
            ),
            published=False, where=(("", 0x625f04),), entries=None, stride=0x4, access="",
            fields=(
                RefField("STATUS", 3, 3, "", (("VALID", 0x1),)),
                RefField("ADDR", 31, 8, ""),
            ),
        ),
    ),
    "NV_PFALCON2_FALCON_BROM_CURR_UCODE_ID": (
        RefRegister(
            families=("GA102", "AD102", "GH100", "GB100", "GB202"),
            source="ampere/ga102/dev_falcon_second_pri.h",
            published=True, where=(("falcon2", 0x198),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("VAL", 7, 0, "RW"),
            ),
        ),
    ),
    "NV_PFALCON2_FALCON_BROM_ENGIDMASK": (
        RefRegister(
            families=("GA102", "AD102", "GH100", "GB100", "GB202"),
            source="ampere/ga102/dev_falcon_second_pri.h",
            published=True, where=(("falcon2", 0x19c),), entries=None, stride=0x4, access="RW",
            fields=(),
        ),
    ),
    "NV_PFALCON2_FALCON_BROM_PARAADDR": (
        RefRegister(
            families=("GA102", "AD102", "GH100", "GB100", "GB202"),
            source="ampere/ga102/dev_falcon_second_pri.h",
            published=True, where=(("falcon2", 0x210),), entries=0, stride=0x4, access="RW",
            fields=(),
        ),
        RefRegister(
            families=("GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "Linux nova-core drivers/gpu/nova-core/regs.rs NV_PFALCON2_FALCON_BROM_PARAADDR[1] (the header "
                "declares no size; OpenRM and nova-core use entry 0 only)"
            ),
            published=False, where=(), entries=1, stride=0x4, access="RW",
            fields=(),
        ),
    ),
    "NV_PFALCON2_FALCON_MOD_SEL": (
        RefRegister(
            families=("GA102", "AD102", "GH100", "GB100", "GB202"),
            source="ampere/ga102/dev_falcon_second_pri.h",
            published=True, where=(("falcon2", 0x180),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("ALGO", 7, 0, "RW", (("RSA3K", 0x1),)),
            ),
        ),
        RefRegister(
            families=("GA102", "AD102", "GH100", "GB100", "GB202"),
            source="Linux nova-core drivers/gpu/nova-core/falcon.rs FalconModSelAlgo (Aes 0)",
            published=False, where=(), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("ALGO", 7, 0, "", (("AES", 0x0),)),
            ),
        ),
    ),
    "NV_PFALCON_BAR0_ADDR": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="envytools docs/hw/pm/pdaemon/mmio.rst (MMIO_ADDR, next to MMIO_CTRL), as the GSP's FWSEC uses it",
            published=False, where=(("falcon", 0x704),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("ADDR", 31, 0, ""),
            ),
        ),
    ),
    "NV_PFALCON_BAR0_CSR": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "envytools docs/hw/pm/pdaemon/mmio.rst (the PMU's MMIO_CTRL: command 1:0, byte mask 7:4, status 14:12 "
                "- 1 busy, 2 timeout, 4 fault) with the trigger at bit 31 as the GSP's FWSEC writes it (0x800000f1 "
                "read, 0x800000f2 write); nova-core's names"
            ),
            published=False, where=(("falcon", 0x700),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("CMD", 1, 0, "", (("READ", 0x1), ("WRITE", 0x2))),
                RefField("BYTE_MASK", 7, 4, ""),
                RefField("STATUS", 14, 12, "RO", (("IDLE", 0x0), ("BUSY", 0x1), ("TIMEOUT", 0x2), ("FAULT", 0x4))),
                RefField("TRIGGER", 31, 31, ""),
            ),
        ),
    ),
    "NV_PFALCON_BAR0_DATA": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="envytools docs/hw/pm/pdaemon/mmio.rst (MMIO_WRDATA/MMIO_RDDATA), as the GSP's FWSEC uses it",
            published=False, where=(("falcon", 0x708),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("DATA", 31, 0, ""),
            ),
        ),
    ),
    "NV_PFALCON_BAR0_TMOUT": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "nvswitch/ls10/dev_soe_ip.h NV_SOE_BAR0_TMOUT 0x70c, CYCLES 31:0 (the SOE falcon's; not published for "
                "GPUs)"
            ),
            published=False, where=(("falcon", 0x70c),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("CYCLES", 31, 0, ""),
            ),
        ),
    ),
    "NV_PFALCON_FALCON_BOOTVEC": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102: turing/tu102/dev_falcon_v4.h; GA100: ampere/ga100/dev_falcon_v4.h; GA102 AD102 GH100 GB100 "
                "GB202: ampere/ga102/dev_falcon_v4.h"
            ),
            published=True, where=(("falcon", 0x104),), entries=None, stride=0x4, access="RW",
            fields=(),
        ),
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="nvswitch/lr10/dev_falcon_v4.h (NVSwitch LR10's falcon v4; not published for GPUs)",
            published=False, where=(), entries=None, stride=0x4, access="",
            fields=(
                RefField("VEC", 31, 0, "RW", (("INIT", 0x0),)),
            ),
        ),
    ),
    "NV_PFALCON_FALCON_CPUCTL": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102: turing/tu102/dev_falcon_v4.h; GA100: ampere/ga100/dev_falcon_v4.h; GA102 AD102 GH100 GB100 "
                "GB202: ampere/ga102/dev_falcon_v4.h"
            ),
            published=True, where=(("falcon", 0x100),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("STARTCPU", 1, 1, "WO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("HALTED", 4, 4, "RO", (("TRUE", 0x1),)),
                RefField("ALIAS_EN", 6, 6, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
            ),
        ),
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="nvswitch/lr10/dev_falcon_v4.h (NVSwitch LR10's falcon v4; not published for GPUs)",
            published=False, where=(), entries=None, stride=0x4, access="",
            fields=(
                RefField("IINVAL", 0, 0, "WO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("SRESET", 2, 2, "WO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("HRESET", 3, 3, "WO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("HALTED", 4, 4, "RO", (("FALSE", 0x0),)),
                RefField("STOPPED", 5, 5, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("ALIAS_EN", 6, 6, "RW", (("INIT", 0x0),)),
            ),
        ),
    ),
    "NV_PFALCON_FALCON_CPUCTL_ALIAS": (
        RefRegister(
            families=("TU102",),
            source="turing/tu102/dev_falcon_v4.h",
            published=True, where=(("falcon", 0x130),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("STARTCPU", 1, 1, "WO", (("FALSE", 0x0), ("TRUE", 0x1))),
            ),
        ),
        RefRegister(
            families=("GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="GA100: ampere/ga100/dev_falcon_v4.h; GA102 AD102 GH100 GB100 GB202: ampere/ga102/dev_falcon_v4.h",
            published=True, where=(("falcon", 0x130),), entries=None, stride=0x4, access="WO",
            fields=(
                RefField("STARTCPU", 1, 1, "WO", (("FALSE", 0x0), ("TRUE", 0x1))),
            ),
        ),
    ),
    "NV_PFALCON_FALCON_DMACTL": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102: turing/tu102/dev_falcon_v4.h; GA100: ampere/ga100/dev_falcon_v4.h; GA102 AD102 GH100 GB100 "
                "GB202: ampere/ga102/dev_falcon_v4.h"
            ),
            published=True, where=(("falcon", 0x10c),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("REQUIRE_CTX", 0, 0, "RW", (("FALSE", 0x0),)),
                RefField("DMEM_SCRUBBING", 1, 1, "RO", (("DONE", 0x0),)),
                RefField("IMEM_SCRUBBING", 2, 2, "RO", (("DONE", 0x0),)),
            ),
        ),
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="nvswitch/lr10/dev_falcon_v4.h (NVSwitch LR10's falcon v4; not published for GPUs)",
            published=False, where=(), entries=None, stride=0x4, access="",
            fields=(
                RefField("REQUIRE_CTX", 0, 0, "RW", (("INIT", 0x1), ("TRUE", 0x1))),
                RefField("DMEM_SCRUBBING", 1, 1, "RO", (("PENDING", 0x1),)),
                RefField("IMEM_SCRUBBING", 2, 2, "RO", (("PENDING", 0x1),)),
                RefField("DMAQ_NUM", 6, 3, "RO"),
                RefField("SECURE_STAT", 7, 7, "RO"),
            ),
        ),
    ),
    "NV_PFALCON_FALCON_DMATRFBASE": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102: turing/tu102/dev_falcon_v4.h; GA100: ampere/ga100/dev_falcon_v4.h; GA102 AD102 GH100 GB100 "
                "GB202: ampere/ga102/dev_falcon_v4.h"
            ),
            published=True, where=(("falcon", 0x110),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("BASE", 31, 0, "RW"),
            ),
        ),
    ),
    "NV_PFALCON_FALCON_DMATRFBASE1": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102: turing/tu102/dev_falcon_v4.h; GA100: ampere/ga100/dev_falcon_v4.h; GA102 AD102 GH100 GB100 "
                "GB202: ampere/ga102/dev_falcon_v4.h"
            ),
            published=True, where=(("falcon", 0x128),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("BASE", 8, 0, "RW"),
            ),
        ),
    ),
    "NV_PFALCON_FALCON_DMATRFCMD": (
        RefRegister(
            families=("TU102", "GA100"),
            source="TU102: turing/tu102/dev_falcon_v4.h; GA100: ampere/ga100/dev_falcon_v4.h",
            published=True, where=(("falcon", 0x118),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("FULL", 0, 0, "RO", (("TRUE", 0x1),)),
                RefField("IDLE", 1, 1, "RO", (("FALSE", 0x0),)),
                RefField("SEC", 3, 2, "RW"),
                RefField("IMEM", 4, 4, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("WRITE", 5, 5, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("SIZE", 10, 8, "RW", (("256B", 0x6),)),
                RefField("CTXDMA", 14, 12, "RW"),
                RefField("SET_DMTAG", 16, 16, "RW", (("TRUE", 0x1),)),
            ),
        ),
        RefRegister(
            families=("GA102", "AD102", "GH100", "GB100", "GB202"),
            source="ampere/ga102/dev_falcon_v4.h",
            published=True, where=(("falcon", 0x118),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("FULL", 0, 0, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("IDLE", 1, 1, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("SEC", 3, 2, "RW"),
                RefField("IMEM", 4, 4, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("WRITE", 5, 5, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("SIZE", 10, 8, "RW", (("256B", 0x6),)),
                RefField("CTXDMA", 14, 12, "RW"),
                RefField("SET_DMTAG", 16, 16, "RW", (("TRUE", 0x1),)),
            ),
        ),
    ),
    "NV_PFALCON_FALCON_DMATRFFBOFFS": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102: turing/tu102/dev_falcon_v4.h; GA100: ampere/ga100/dev_falcon_v4.h; GA102 AD102 GH100 GB100 "
                "GB202: ampere/ga102/dev_falcon_v4.h"
            ),
            published=True, where=(("falcon", 0x11c),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("OFFS", 31, 0, "RW"),
            ),
        ),
    ),
    "NV_PFALCON_FALCON_DMATRFMOFFS": (
        RefRegister(
            families=("TU102",),
            source="turing/tu102/dev_falcon_v4.h",
            published=True, where=(("falcon", 0x114),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("OFFS", 15, 0, "RW"),
            ),
        ),
        RefRegister(
            families=("GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="GA100: ampere/ga100/dev_falcon_v4.h; GA102 AD102 GH100 GB100 GB202: ampere/ga102/dev_falcon_v4.h",
            published=True, where=(("falcon", 0x114),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("OFFS", 23, 0, "RW"),
            ),
        ),
    ),
    "NV_PFALCON_FALCON_DMEMC": (
        RefRegister(
            families=("TU102",),
            source="turing/tu102/dev_falcon_v4.h",
            published=True, where=(("falcon", 0x1c0),), entries=0, stride=0x8, access="RW",
            fields=(
                RefField("OFFS", 7, 2, "RW"),
                RefField("BLK", 15, 8, "RW"),
                RefField("AINCW", 24, 24, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("AINCR", 25, 25, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
            ),
        ),
        RefRegister(
            families=("GA100",),
            source="ampere/ga100/dev_falcon_v4.h, turing/tu102/dev_falcon_v4.h",
            published=True, where=(("falcon", 0x1c0),), entries=0, stride=0x8, access="RW",
            fields=(
                RefField("OFFS", 7, 2, "RW"),
                RefField("BLK", 23, 8, "RW"),
                RefField("AINCW", 24, 24, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("AINCR", 25, 25, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
            ),
        ),
        RefRegister(
            families=("GA102", "AD102", "GH100", "GB100", "GB202"),
            source="ampere/ga102/dev_falcon_v4.h, turing/tu102/dev_falcon_v4.h",
            published=True, where=(("falcon", 0x1c0),), entries=0, stride=0x8, access="RW",
            fields=(
                RefField("OFFS", 7, 2, ""),
                RefField("BLK", 23, 8, ""),
                RefField("AINCW", 24, 24, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("AINCR", 25, 25, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
            ),
        ),
        RefRegister(
            families=("TU102",),
            source="nvswitch/lr10/dev_falcon_v4.h (NVSwitch LR10's falcon v4; not published for GPUs)",
            published=False, where=(), entries=8, stride=0x8, access="",
            fields=(
                RefField("ADDRESS", 23, 0, "RW", (("INIT", 0x0),)),
                RefField("OFFS", 7, 2, "RW", (("INIT", 0x0),)),
                RefField("BLK", 15, 8, "RW", (("INIT", 0x0),)),
                RefField("AINCW", 24, 24, "RW", (("INIT", 0x0),)),
                RefField("AINCR", 25, 25, "RW", (("INIT", 0x0),)),
                RefField("SETTAG", 26, 26, "RW", (("FALSE", 0x0), ("INIT", 0x0), ("TRUE", 0x1))),
                RefField("SETLVL", 27, 27, "RW", (("FALSE", 0x0), ("INIT", 0x0), ("TRUE", 0x1))),
                RefField("VA", 28, 28, "RW", (("FALSE", 0x0), ("INIT", 0x0), ("TRUE", 0x1))),
                RefField("MISS", 29, 29, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("MULTIHIT", 30, 30, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("LVLERR", 31, 31, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
            ),
        ),
        RefRegister(
            families=("GA100",),
            source="nvswitch/lr10/dev_falcon_v4.h (NVSwitch LR10's falcon v4; not published for GPUs)",
            published=False, where=(), entries=8, stride=0x8, access="",
            fields=(
                RefField("ADDRESS", 23, 0, "RW", (("INIT", 0x0),)),
                RefField("OFFS", 7, 2, "RW", (("INIT", 0x0),)),
                RefField("BLK", 23, 8, "RW", (("INIT", 0x0),)),
                RefField("AINCW", 24, 24, "RW", (("INIT", 0x0),)),
                RefField("AINCR", 25, 25, "RW", (("INIT", 0x0),)),
                RefField("SETTAG", 26, 26, "RW", (("FALSE", 0x0), ("INIT", 0x0), ("TRUE", 0x1))),
                RefField("SETLVL", 27, 27, "RW", (("FALSE", 0x0), ("INIT", 0x0), ("TRUE", 0x1))),
                RefField("VA", 28, 28, "RW", (("FALSE", 0x0), ("INIT", 0x0), ("TRUE", 0x1))),
                RefField("MISS", 29, 29, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("MULTIHIT", 30, 30, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("LVLERR", 31, 31, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
            ),
        ),
        RefRegister(
            families=("GA102", "AD102", "GH100", "GB100", "GB202"),
            source="nvswitch/lr10/dev_falcon_v4.h (NVSwitch LR10's falcon v4; not published for GPUs)",
            published=False, where=(), entries=8, stride=0x8, access="",
            fields=(
                RefField("ADDRESS", 23, 0, "RW", (("INIT", 0x0),)),
                RefField("OFFS", 7, 2, "", (("INIT", 0x0),)),
                RefField("BLK", 23, 8, "", (("INIT", 0x0),)),
                RefField("AINCW", 24, 24, "RW", (("INIT", 0x0),)),
                RefField("AINCR", 25, 25, "RW", (("INIT", 0x0),)),
                RefField("SETTAG", 26, 26, "RW", (("FALSE", 0x0), ("INIT", 0x0), ("TRUE", 0x1))),
                RefField("SETLVL", 27, 27, "RW", (("FALSE", 0x0), ("INIT", 0x0), ("TRUE", 0x1))),
                RefField("VA", 28, 28, "RW", (("FALSE", 0x0), ("INIT", 0x0), ("TRUE", 0x1))),
                RefField("MISS", 29, 29, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("MULTIHIT", 30, 30, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("LVLERR", 31, 31, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
            ),
        ),
    ),
    "NV_PFALCON_FALCON_DMEMD": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102: turing/tu102/dev_falcon_v4.h; GA100: ampere/ga100/dev_falcon_v4.h; GA102 AD102 GH100 GB100 "
                "GB202: ampere/ga102/dev_falcon_v4.h"
            ),
            published=True, where=(("falcon", 0x1c4),), entries=0, stride=0x8, access="RW",
            fields=(
                RefField("DATA", 31, 0, "RW"),
            ),
        ),
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="nvswitch/lr10/dev_falcon_v4.h (NVSwitch LR10's falcon v4; not published for GPUs)",
            published=False, where=(), entries=8, stride=0x8, access="",
            fields=(),
        ),
    ),
    "NV_PFALCON_FALCON_ENGINE": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102"),
            source=(
                "TU102: turing/tu102/dev_gsp.h, turing/tu102/dev_sec_pri.h; GA100: ampere/ga100/dev_sec_pri.h, "
                "turing/tu102/dev_gsp.h; GA102 AD102: ampere/ga102/dev_gsp.h, ampere/ga102/dev_sec_pri.h"
            ),
            published=True, where=(("GSP", 0x1103c0), ("SEC2", 0x8403c0)), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("RESET", 0, 0, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
            ),
        ),
        RefRegister(
            families=("GH100", "GB100", "GB202"),
            source=(
                "GH100: ampere/ga102/dev_sec_pri.h, hopper/gh100/dev_gsp.h; GB100 GB202: ampere/ga102/dev_sec_pri.h, "
                "blackwell/gb100/dev_gsp.h"
            ),
            published=True, where=(("GSP", 0x1103c0), ("SEC2", 0x8403c0)), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("RESET", 0, 0, "RW", (("DEASSERT", 0x0), ("ASSERT", 0x1))),
                RefField("RESET_STATUS", 10, 8, "RO", (("ASSERTED", 0x0), ("DEASSERTED", 0x2))),
            ),
        ),
    ),
    "NV_PFALCON_FALCON_HWCFG": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102: turing/tu102/dev_falcon_v4.h; GA100: ampere/ga100/dev_falcon_v4.h; GA102 AD102 GH100 GB100 "
                "GB202: ampere/ga102/dev_falcon_v4.h"
            ),
            published=True, where=(("falcon", 0x108),), entries=None, stride=0x4, access="RO",
            fields=(
                RefField("IMEM_SIZE", 8, 0, "RO"),
            ),
        ),
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="nouveau nvkm/engine/falcon.c nvkm_falcon_oneinit: data.limit = (HWCFG & 0x0003fe00) >> 1",
            published=False, where=(), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("DMEM_SIZE", 17, 9, ""),
            ),
        ),
    ),
    "NV_PFALCON_FALCON_HWCFG1": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="nvswitch/lr10/dev_falcon_v4.h (NVSwitch LR10's falcon v4; not published for GPUs)",
            published=False, where=(("falcon", 0x12c),), entries=None, stride=0x4, access="RO",
            fields=(
                RefField("CORE_REV", 3, 0, "RO", (
                    ("1_0", 0x1),
                    ("2_0", 0x2),
                    ("3_0", 0x3),
                    ("4_0", 0x4),
                    ("5_0", 0x5),
                    ("6_0", 0x6),
                    ("INIT", 0x6),
                    ("7_0", 0x7),
                )),
                RefField("SECURITY_MODEL", 5, 4, "RO", (("NONE", 0x0), ("LIGHT", 0x2), ("HEAVY", 0x3), ("INIT", 0x3))),
                RefField("CORE_REV_SUBVERSION", 7, 6, "RO", (
                    ("0", 0x0),
                    ("INIT", 0x0),
                    ("1", 0x1),
                    ("2", 0x2),
                    ("3", 0x3),
                )),
                RefField("IMEM_PORTS", 11, 8, "RO", (("INIT", 0x1),)),
                RefField("DMEM_PORTS", 15, 12, "RO", (("INIT", 0x1),)),
                RefField("TAG_WIDTH", 20, 16, "RO", (("INIT", 0x10),)),
                RefField("DMEM_TAG_WIDTH", 25, 21, "RO", (("INIT", 0x10),)),
                RefField("DBG_PRIV_BUS", 27, 27, "RO", (("DISABLE", 0x0), ("ENABLE", 0x1), ("INIT", 0x1))),
                RefField("CSB_SIZE_16M", 28, 28, "RO", (("FALSE", 0x0), ("INIT", 0x0), ("TRUE", 0x1))),
                RefField("PRIV_DIRECT", 29, 29, "RO", (("FALSE", 0x0), ("INIT", 0x0), ("TRUE", 0x1))),
                RefField("DMEM_APERTURES", 30, 30, "RO", (("DISABLE", 0x0), ("ENABLE", 0x1), ("INIT", 0x1))),
                RefField("IMEM_AUTOFILL", 31, 31, "RO", (("DISABLE", 0x0), ("ENABLE", 0x1), ("INIT", 0x1))),
            ),
        ),
    ),
    "NV_PFALCON_FALCON_HWCFG2": (
        RefRegister(
            families=("TU102", "GA100"),
            source="TU102: turing/tu102/dev_falcon_v4.h; GA100: ampere/ga100/dev_falcon_v4.h",
            published=True, where=(("falcon", 0xf4),), entries=None, stride=0x4, access="RO",
            fields=(
                RefField("RISCV", 10, 10, "RO", (("ENABLE", 0x1),)),
            ),
        ),
        RefRegister(
            families=("GA102", "AD102"),
            source="ampere/ga102/dev_falcon_v4.h, ampere/ga102/dev_falcon_v4_addendum.h",
            published=True, where=(("falcon", 0xf4),), entries=None, stride=0x4, access="RO",
            fields=(
                RefField("RISCV", 10, 10, "RO", (("ENABLE", 0x1),)),
                RefField("MEM_SCRUBBING", 12, 12, "RO", (("DONE", 0x0),)),
                RefField("RESET_READY", 31, 31, "", (("FALSE", 0x0), ("TRUE", 0x1))),
            ),
        ),
        RefRegister(
            families=("GH100", "GB100", "GB202"),
            source="hopper/gh100/dev_falcon_v4.h",
            published=True, where=(("falcon", 0xf4),), entries=None, stride=0x4, access="RO",
            fields=(
                RefField("SHA", 0, 0, "RO", (("DISABLE", 0x0), ("ENABLE", 0x1))),
                RefField("BMEM", 1, 1, "RO", (("DISABLE", 0x0), ("ENABLE", 0x1))),
                RefField("PKCBOOT", 2, 2, "RO", (("DISABLE", 0x0), ("ENABLE", 0x1))),
                RefField("DBGMODE", 3, 3, "RO", (("DISABLE", 0x0), ("ENABLE", 0x1))),
                RefField("KMEM", 4, 4, "RO", (("DISABLE", 0x0), ("ENABLE", 0x1))),
                RefField("HSCODE_REVOCATION", 5, 5, "RO", (("DISABLE", 0x0), ("ENABLE", 0x1))),
                RefField("STRAP_FUN", 6, 6, "RO", (("DISABLE", 0x0), ("ENABLE", 0x1))),
                RefField("VHR", 7, 7, "RO", (("DISABLE", 0x0), ("ENABLE", 0x1))),
                RefField("HS", 8, 8, "RO", (("DISABLE", 0x0), ("ENABLE", 0x1))),
                RefField("SECUREBUS", 9, 9, "RO", (("DISABLE", 0x0), ("ENABLE", 0x1))),
                RefField("RISCV", 10, 10, "RO", (("DISABLE", 0x0), ("ENABLE", 0x1))),
                RefField("RISCV_PL3_DISABLE", 11, 11, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("MEM_SCRUBBING", 12, 12, "RO", (("DONE", 0x0), ("PENDING", 0x1))),
                RefField("RISCV_BR_PRIV_LOCKDOWN", 13, 13, "RO", (("UNLOCK", 0x0), ("LOCK", 0x1))),
                RefField("BOOT_FROM_HS", 14, 14, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("RISCV_BR_ADPAIR", 15, 15, "RO", (("DISABLE", 0x0), ("ENABLE", 0x1))),
                RefField("SCP", 16, 16, "RO", (("DISABLE", 0x0), ("ENABLE", 0x1))),
                RefField("GDMA", 17, 17, "RO", (("DISABLE", 0x0), ("ENABLE", 0x1))),
                RefField("SE_LITE", 18, 18, "RO", (("DISABLE", 0x0), ("ENABLE", 0x1))),
                RefField("PRGN_RSVD_FUSE", 31, 24, "RO", (("DEFAULT", 0x0),)),
            ),
        ),
    ),
    "NV_PFALCON_FALCON_IMEMC": (
        RefRegister(
            families=("TU102",),
            source="turing/tu102/dev_falcon_v4.h",
            published=True, where=(("falcon", 0x180),), entries=0, stride=0x10, access="RW",
            fields=(
                RefField("OFFS", 7, 2, "RW"),
                RefField("BLK", 15, 8, "RW"),
                RefField("AINCW", 24, 24, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("SECURE", 28, 28, "RW"),
            ),
        ),
        RefRegister(
            families=("GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="GA100: ampere/ga100/dev_falcon_v4.h; GA102 AD102 GH100 GB100 GB202: ampere/ga102/dev_falcon_v4.h",
            published=True, where=(("falcon", 0x180),), entries=0, stride=0x10, access="RW",
            fields=(
                RefField("OFFS", 7, 2, "RW"),
                RefField("BLK", 23, 8, "RW"),
                RefField("AINCW", 24, 24, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("SECURE", 28, 28, "RW"),
            ),
        ),
        RefRegister(
            families=("TU102",),
            source="nvswitch/lr10/dev_falcon_v4.h (NVSwitch LR10's falcon v4; not published for GPUs)",
            published=False, where=(), entries=4, stride=0x10, access="",
            fields=(
                RefField("OFFS", 7, 2, "RW", (("INIT", 0x0),)),
                RefField("BLK", 15, 8, "RW", (("INIT", 0x0),)),
                RefField("AINCW", 24, 24, "RW", (("INIT", 0x0),)),
                RefField("AINCR", 25, 25, "RW", (("FALSE", 0x0), ("INIT", 0x0), ("TRUE", 0x1))),
                RefField("SECURE", 28, 28, "RW", (("INIT", 0x0),)),
                RefField("SEC_ATOMIC", 29, 29, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("SEC_WR_VIO", 30, 30, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("SEC_LOCK", 31, 31, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
            ),
        ),
        RefRegister(
            families=("GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="nvswitch/lr10/dev_falcon_v4.h (NVSwitch LR10's falcon v4; not published for GPUs)",
            published=False, where=(), entries=4, stride=0x10, access="",
            fields=(
                RefField("OFFS", 7, 2, "RW", (("INIT", 0x0),)),
                RefField("BLK", 23, 8, "RW", (("INIT", 0x0),)),
                RefField("AINCW", 24, 24, "RW", (("INIT", 0x0),)),
                RefField("AINCR", 25, 25, "RW", (("FALSE", 0x0), ("INIT", 0x0), ("TRUE", 0x1))),
                RefField("SECURE", 28, 28, "RW", (("INIT", 0x0),)),
                RefField("SEC_ATOMIC", 29, 29, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("SEC_WR_VIO", 30, 30, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("SEC_LOCK", 31, 31, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
            ),
        ),
    ),
    "NV_PFALCON_FALCON_IMEMD": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102: turing/tu102/dev_falcon_v4.h; GA100: ampere/ga100/dev_falcon_v4.h; GA102 AD102 GH100 GB100 "
                "GB202: ampere/ga102/dev_falcon_v4.h"
            ),
            published=True, where=(("falcon", 0x184),), entries=0, stride=0x10, access="RW",
            fields=(
                RefField("DATA", 31, 0, "RW"),
            ),
        ),
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="nvswitch/lr10/dev_falcon_v4.h (NVSwitch LR10's falcon v4; not published for GPUs)",
            published=False, where=(), entries=4, stride=0x10, access="",
            fields=(),
        ),
    ),
    "NV_PFALCON_FALCON_IMEMT": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102: turing/tu102/dev_falcon_v4.h; GA100: ampere/ga100/dev_falcon_v4.h; GA102 AD102 GH100 GB100 "
                "GB202: ampere/ga102/dev_falcon_v4.h"
            ),
            published=True, where=(("falcon", 0x188),), entries=0, stride=0x10, access="RW",
            fields=(
                RefField("TAG", 15, 0, "RW"),
            ),
        ),
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="nvswitch/lr10/dev_falcon_v4.h (NVSwitch LR10's falcon v4; not published for GPUs)",
            published=False, where=(), entries=4, stride=0x10, access="",
            fields=(),
        ),
    ),
    "NV_PFALCON_FALCON_INTR_RETRIGGER": (
        RefRegister(
            families=("GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="GA100: ampere/ga100/dev_falcon_v4.h; GA102 AD102 GH100 GB100 GB202: ampere/ga102/dev_falcon_v4.h",
            published=True, where=(("falcon", 0x3e8),), entries=2, stride=0x4, access="WO",
            fields=(
                RefField("TRIGGER", 0, 0, "WO", (("TRUE", 0x1),)),
            ),
        ),
        RefRegister(
            families=("TU102",),
            source="nvswitch/lr10/dev_falcon_v4.h (NVSwitch LR10's falcon v4; not published for GPUs)",
            published=False, where=(("falcon", 0x3e8),), entries=2, stride=0x4, access="WO",
            fields=(
                RefField("TRIGGER", 0, 0, "WO", (("TRUE", 0x1),)),
            ),
        ),
    ),
    "NV_PFALCON_FALCON_IRQMCLR": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102: turing/tu102/dev_falcon_v4.h; GA100: ampere/ga100/dev_falcon_v4.h; GA102 AD102 GH100 GB100 "
                "GB202: ampere/ga102/dev_falcon_v4.h"
            ),
            published=True, where=(("falcon", 0x14),), entries=None, stride=0x4, access="WO",
            fields=(),
        ),
    ),
    "NV_PFALCON_FALCON_IRQSCLR": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102: turing/tu102/dev_falcon_v4.h; GA100: ampere/ga100/dev_falcon_v4.h; GA102 AD102 GH100 GB100 "
                "GB202: ampere/ga102/dev_falcon_v4.h"
            ),
            published=True, where=(("falcon", 0x4),), entries=None, stride=0x4, access="WO",
            fields=(
                RefField("HALT", 4, 4, "WO", (("SET", 0x1),)),
                RefField("SWGEN0", 6, 6, "WO", (("SET", 0x1),)),
            ),
        ),
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="nvswitch/lr10/dev_falcon_v4.h (NVSwitch LR10's falcon v4; not published for GPUs)",
            published=False, where=(), entries=None, stride=0x4, access="",
            fields=(
                RefField("GPTMR", 0, 0, "WO", (("SET", 0x1),)),
                RefField("WDTMR", 1, 1, "WO", (("SET", 0x1),)),
                RefField("MTHD", 2, 2, "WO", (("SET", 0x1),)),
                RefField("CTXSW", 3, 3, "WO", (("SET", 0x1),)),
                RefField("EXTERR", 5, 5, "WO", (("SET", 0x1),)),
                RefField("SWGEN1", 7, 7, "WO", (("SET", 0x1),)),
                RefField("EXT", 15, 8, ""),
                RefField("DMA", 16, 16, "WO", (("SET", 0x1),)),
                RefField("SHA", 17, 17, "WO", (("SET", 0x1),)),
                RefField("MEMERR", 18, 18, "WO", (("SET", 0x1),)),
                RefField("FALCON", 19, 19, "WO", (("SET", 0x1),)),
                RefField("RISCV", 20, 20, "WO", (("SET", 0x1),)),
                RefField("TRACE", 21, 21, "WO", (("SET", 0x1),)),
            ),
        ),
    ),
    "NV_PFALCON_FALCON_IRQSSET": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="nvswitch/lr10/dev_falcon_v4.h (NVSwitch LR10's falcon v4; not published for GPUs)",
            published=False, where=(("falcon", 0x0),), entries=None, stride=0x4, access="WO",
            fields=(
                RefField("GPTMR", 0, 0, "WO", (("SET", 0x1),)),
                RefField("WDTMR", 1, 1, "WO", (("SET", 0x1),)),
                RefField("MTHD", 2, 2, "WO", (("SET", 0x1),)),
                RefField("CTXSW", 3, 3, "WO", (("SET", 0x1),)),
                RefField("HALT", 4, 4, "WO", (("SET", 0x1),)),
                RefField("EXTERR", 5, 5, "WO", (("SET", 0x1),)),
                RefField("SWGEN0", 6, 6, "WO", (("SET", 0x1),)),
                RefField("SWGEN1", 7, 7, "WO", (("SET", 0x1),)),
                RefField("EXT", 15, 8, "WO"),
                RefField("DMA", 16, 16, "WO", (("SET", 0x1),)),
                RefField("SHA", 17, 17, "WO", (("SET", 0x1),)),
                RefField("MEMERR", 18, 18, "WO", (("SET", 0x1),)),
                RefField("FALCON", 19, 19, "WO", (("SET", 0x1),)),
                RefField("RISCV", 20, 20, "WO", (("SET", 0x1),)),
                RefField("TRACE", 21, 21, "WO", (("SET", 0x1),)),
            ),
        ),
    ),
    "NV_PFALCON_FALCON_IRQSTAT": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100"),
            source=(
                "TU102: turing/tu102/dev_falcon_v4.h; GA100: ampere/ga100/dev_falcon_v4.h; GA102 AD102 GH100: "
                "ampere/ga102/dev_falcon_v4.h"
            ),
            published=True, where=(("falcon", 0x8),), entries=None, stride=0x4, access="RO",
            fields=(
                RefField("HALT", 4, 4, "RO", (("TRUE", 0x1),)),
                RefField("SWGEN0", 6, 6, "RO", (("TRUE", 0x1),)),
            ),
        ),
        RefRegister(
            families=("GB100", "GB202"),
            source="ampere/ga102/dev_falcon_v4.h, blackwell/gb100/dev_falcon_v4.h",
            published=True, where=(("falcon", 0x8),), entries=None, stride=0x4, access="RO",
            fields=(
                RefField("HALT", 4, 4, "RO", (("TRUE", 0x1),)),
                RefField("SWGEN0", 6, 6, "RO", (("TRUE", 0x1),)),
                RefField("EXT_EXTIRQ7", 14, 14, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
            ),
        ),
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="nvswitch/lr10/dev_falcon_v4.h (NVSwitch LR10's falcon v4; not published for GPUs)",
            published=False, where=(), entries=None, stride=0x4, access="",
            fields=(
                RefField("GPTMR", 0, 0, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("WDTMR", 1, 1, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("MTHD", 2, 2, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("CTXSW", 3, 3, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("HALT", 4, 4, "RO", (("FALSE", 0x0),)),
                RefField("EXTERR", 5, 5, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("SWGEN0", 6, 6, "RO", (("FALSE", 0x0),)),
                RefField("SWGEN1", 7, 7, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("EXT", 15, 8, ""),
                RefField("DMA", 16, 16, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("SHA", 17, 17, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("MEMERR", 18, 18, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("FALCON", 19, 19, "RO", (("FALSE", 0x0), ("TURE", 0x1))),
                RefField("RISCV", 20, 20, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("TRACE", 21, 21, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
            ),
        ),
    ),
    "NV_PFALCON_FALCON_MAILBOX0": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102"),
            source=(
                "TU102: turing/tu102/dev_falcon_v4.h; GA100: ampere/ga100/dev_falcon_v4.h; GA102 AD102: "
                "ampere/ga102/dev_falcon_v4.h"
            ),
            published=True, where=(("falcon", 0x40),), entries=None, stride=0x4, access="RW",
            fields=(),
        ),
        RefRegister(
            families=("GH100", "GB100", "GB202"),
            source="hopper/gh100/dev_falcon_v4.h",
            published=True, where=(("falcon", 0x40),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("DATA", 31, 0, "RW", (("INIT", 0x0),)),
            ),
        ),
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102"),
            source="nvswitch/lr10/dev_falcon_v4.h (NVSwitch LR10's falcon v4; not published for GPUs)",
            published=False, where=(), entries=None, stride=0x4, access="",
            fields=(
                RefField("DATA", 31, 0, "RW", (("INIT", 0x0),)),
            ),
        ),
    ),
    "NV_PFALCON_FALCON_MAILBOX1": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102"),
            source=(
                "TU102: turing/tu102/dev_falcon_v4.h; GA100: ampere/ga100/dev_falcon_v4.h; GA102 AD102: "
                "ampere/ga102/dev_falcon_v4.h"
            ),
            published=True, where=(("falcon", 0x44),), entries=None, stride=0x4, access="RW",
            fields=(),
        ),
        RefRegister(
            families=("GH100", "GB100", "GB202"),
            source="hopper/gh100/dev_falcon_v4.h",
            published=True, where=(("falcon", 0x44),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("DATA", 31, 0, "RW", (("INIT", 0x0),)),
            ),
        ),
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102"),
            source="nvswitch/lr10/dev_falcon_v4.h (NVSwitch LR10's falcon v4; not published for GPUs)",
            published=False, where=(), entries=None, stride=0x4, access="",
            fields=(
                RefField("DATA", 31, 0, "RW", (("INIT", 0x0),)),
            ),
        ),
    ),
    "NV_PFALCON_FALCON_OS": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102"),
            source=(
                "TU102: turing/tu102/dev_falcon_v4.h; GA100: ampere/ga100/dev_falcon_v4.h; GA102 AD102: "
                "ampere/ga102/dev_falcon_v4.h"
            ),
            published=True, where=(("falcon", 0x80),), entries=None, stride=0x4, access="RW",
            fields=(),
        ),
        RefRegister(
            families=("GH100", "GB100", "GB202"),
            source="hopper/gh100/dev_falcon_v4.h",
            published=True, where=(("falcon", 0x80),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("VERSION", 31, 0, "RW", (("INIT", 0x0),)),
            ),
        ),
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102"),
            source="nvswitch/lr10/dev_falcon_v4.h (NVSwitch LR10's falcon v4; not published for GPUs)",
            published=False, where=(), entries=None, stride=0x4, access="",
            fields=(
                RefField("VERSION", 31, 0, "RW", (("INIT", 0x0),)),
            ),
        ),
    ),
    "NV_PFALCON_FALCON_RM": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102: turing/tu102/dev_falcon_v4.h; GA100: ampere/ga100/dev_falcon_v4.h; GA102 AD102 GH100 GB100 "
                "GB202: ampere/ga102/dev_falcon_v4.h"
            ),
            published=True, where=(("falcon", 0x84),), entries=None, stride=0x4, access="RW",
            fields=(),
        ),
    ),
    "NV_PFALCON_FBIF_CTL": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102: turing/tu102/dev_fbif_v4.h; GA100: ampere/ga100/dev_fbif_v4.h; GA102 AD102 GH100 GB100 GB202: "
                "ampere/ga102/dev_fbif_v4.h"
            ),
            published=True, where=(("fbif", 0x24),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("ALLOW_PHYS_NO_CTX", 7, 7, "RW", (("ALLOW", 0x1),)),
            ),
        ),
    ),
    "NV_PFALCON_FBIF_TRANSCFG": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102: turing/tu102/dev_fbif_v4.h; GA100: ampere/ga100/dev_fbif_v4.h; GA102 AD102 GH100 GB100 GB202: "
                "ampere/ga102/dev_fbif_v4.h"
            ),
            published=True, where=(("fbif", 0x0),), entries=8, stride=0x4, access="RW",
            fields=(
                RefField("TARGET", 1, 0, "RW", (("COHERENT_SYSMEM", 0x1),)),
                RefField("MEM_TYPE", 2, 2, "RW", (("PHYSICAL", 0x1),)),
            ),
        ),
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "Linux nova-core drivers/gpu/nova-core/falcon.rs FalconFbifTarget (LocalFb 0, NoncoherentSysmem 2), "
                "FalconFbifMemType (Virtual 0)"
            ),
            published=False, where=(), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("TARGET", 1, 0, "", (("LOCAL_FB", 0x0), ("NONCOHERENT_SYSMEM", 0x2))),
                RefField("MEM_TYPE", 2, 2, "", (("VIRTUAL", 0x0),)),
            ),
        ),
    ),
    "NV_PFB_FBHUB0_PCIE_FLUSH_SYSMEM_ADDR_HI": (
        RefRegister(
            families=("GB202",),
            source="blackwell/gb10b/dev_fbhub.h",
            published=True, where=(("", 0x8a1d5c),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("ADR", 31, 0, "RW", (("INIT", 0x0), ("MASK", 0xfffff))),
            ),
        ),
    ),
    "NV_PFB_FBHUB0_PCIE_FLUSH_SYSMEM_ADDR_LO": (
        RefRegister(
            families=("GB202",),
            source="blackwell/gb10b/dev_fbhub.h",
            published=True, where=(("", 0x8a1d58),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("ADR", 31, 0, "RW", (("INIT", 0x0), ("MASK", 0xffffff00))),
            ),
        ),
    ),
    "NV_PFB_FBHUB_PCIE_FLUSH_SYSMEM_ADDR_HI": (
        RefRegister(
            families=("GH100", "GB100", "GB202"),
            source="hopper/gh100/dev_fb.h",
            published=True, where=(("", 0x100a38),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("ADR", 31, 0, "RW", (("MASK", 0xfffff),)),
            ),
        ),
    ),
    "NV_PFB_FBHUB_PCIE_FLUSH_SYSMEM_ADDR_LO": (
        RefRegister(
            families=("GH100", "GB100", "GB202"),
            source="hopper/gh100/dev_fb.h",
            published=True, where=(("", 0x100a34),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("ADR", 31, 0, "RW"),
            ),
        ),
    ),
    "NV_PFB_HSHUB_EG_PCIE_FLUSH_SYSMEM_ADDR_HI": (
        RefRegister(
            families=("GB100", "GB202"),
            source=(
                "blackwell/gb100/dev_hshub_base.h, NV_PFB_HSHUB0 0x870000: OpenRM 570.144 "
                "src/nvidia/src/kernel/gpu/mem_sys/arch/blackwell/kern_mem_sys_gb100.c "
                "_kmemsysInitHshub0Aperture_GB100 (#define NV_PFB_HSHUB0 0x00870fff:0x00870000); nova-core "
                "fb/hal/gb100.rs"
            ),
            published=True, where=(("", 0x8706c4),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("ADR", 31, 0, "RW", (("INIT", 0x0), ("MASK", 0xfffff))),
            ),
        ),
    ),
    "NV_PFB_HSHUB_EG_PCIE_FLUSH_SYSMEM_ADDR_LO": (
        RefRegister(
            families=("GB100", "GB202"),
            source=(
                "blackwell/gb100/dev_hshub_base.h, NV_PFB_HSHUB0 0x870000: OpenRM 570.144 "
                "src/nvidia/src/kernel/gpu/mem_sys/arch/blackwell/kern_mem_sys_gb100.c "
                "_kmemsysInitHshub0Aperture_GB100 (#define NV_PFB_HSHUB0 0x00870fff:0x00870000); nova-core "
                "fb/hal/gb100.rs"
            ),
            published=True, where=(("", 0x8706c0),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("ADR", 31, 0, "RW", (("INIT", 0x0), ("MASK", 0xffffff00))),
            ),
        ),
    ),
    "NV_PFB_HSHUB_PCIE_FLUSH_SYSMEM_ADDR_HI": (
        RefRegister(
            families=("GB100", "GB202"),
            source=(
                "blackwell/gb100/dev_hshub_base.h, NV_PFB_HSHUB0 0x870000: OpenRM 570.144 "
                "src/nvidia/src/kernel/gpu/mem_sys/arch/blackwell/kern_mem_sys_gb100.c "
                "_kmemsysInitHshub0Aperture_GB100 (#define NV_PFB_HSHUB0 0x00870fff:0x00870000); nova-core "
                "fb/hal/gb100.rs"
            ),
            published=True, where=(("", 0x870e54),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("ADR", 31, 0, "RW", (("INIT", 0x0), ("MASK", 0xfffff))),
            ),
        ),
    ),
    "NV_PFB_HSHUB_PCIE_FLUSH_SYSMEM_ADDR_LO": (
        RefRegister(
            families=("GB100", "GB202"),
            source=(
                "blackwell/gb100/dev_hshub_base.h, NV_PFB_HSHUB0 0x870000: OpenRM 570.144 "
                "src/nvidia/src/kernel/gpu/mem_sys/arch/blackwell/kern_mem_sys_gb100.c "
                "_kmemsysInitHshub0Aperture_GB100 (#define NV_PFB_HSHUB0 0x00870fff:0x00870000); nova-core "
                "fb/hal/gb100.rs"
            ),
            published=True, where=(("", 0x870e50),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("ADR", 31, 0, "RW", (("INIT", 0x0), ("MASK", 0xffffff00))),
            ),
        ),
    ),
    "NV_PFB_NISO_FLUSH_SYSMEM_ADDR": (
        RefRegister(
            families=("TU102",),
            source="maxwell/gm107/dev_fb.h",
            published=True, where=(("", 0x100c10),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("ADR_39_08", 31, 0, "RW"),
            ),
        ),
        RefRegister(
            families=("GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="ampere/ga100/dev_fb.h",
            published=True, where=(("", 0x100c10),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("ADR_39_08", 31, 0, "RW", (("INIT", 0x0),)),
            ),
        ),
    ),
    "NV_PFB_NISO_FLUSH_SYSMEM_ADDR_HI": (
        RefRegister(
            families=("GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="ampere/ga100/dev_fb.h",
            published=True, where=(("", 0x100c40),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("ADR_63_40", 23, 0, "RW"),
            ),
        ),
    ),
    "NV_PFB_PRI_MMU_LOCAL_MEMORY_RANGE": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="pascal/gp102/dev_fb.h",
            published=True, where=(("", 0x100ce0),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("LOWER_SCALE", 3, 0, "RW"),
                RefField("LOWER_MAG", 9, 4, "RW"),
                RefField("ECC_MODE", 30, 30, "RW", (("DISABLED", 0x0), ("ENABLED", 0x1))),
            ),
        ),
    ),
    "NV_PFB_PRI_MMU_WPR2_ADDR_HI": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="turing/tu102/dev_fb.h",
            published=True, where=(("", 0x1fa828),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("VAL", 31, 4, "RW"),
            ),
        ),
    ),
    "NV_PFB_PRI_MMU_WPR2_ADDR_LO": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="turing/tu102/dev_fb.h",
            published=True, where=(("", 0x1fa824),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("VAL", 31, 4, "RW"),
            ),
        ),
    ),
    "NV_PFSP_EMEMC": (
        RefRegister(
            families=("GH100", "GB100", "GB202"),
            source="hopper/gh100/dev_fsp_pri.h",
            published=True, where=(("", 0x8f2ac0),), entries=8, stride=0x8, access="RW",
            fields=(
                RefField("OFFS", 7, 2, "RW", (("INIT", 0x0),)),
                RefField("BLK", 15, 8, "RW", (("INIT", 0x0),)),
                RefField("AINCW", 24, 24, "RW", (("FALSE", 0x0), ("INIT", 0x0), ("TRUE", 0x1))),
                RefField("AINCR", 25, 25, "RW", (("FALSE", 0x0), ("INIT", 0x0), ("TRUE", 0x1))),
            ),
        ),
    ),
    "NV_PFSP_EMEMD": (
        RefRegister(
            families=("GH100", "GB100", "GB202"),
            source="hopper/gh100/dev_fsp_pri.h",
            published=True, where=(("", 0x8f2ac4),), entries=8, stride=0x8, access="RW",
            fields=(
                RefField("DATA", 31, 0, "RW"),
            ),
        ),
    ),
    "NV_PFSP_FALCON_COMMON_SCRATCH_GROUP_2": (
        RefRegister(
            families=("GH100", "GB100", "GB202"),
            source=(
                "GH100: hopper/gh100/dev_fsp_pri.h; GB100: blackwell/gb100/dev_fsp_pri.h; GB202: "
                "blackwell/gb202/dev_fsp_pri.h"
            ),
            published=True, where=(("", 0x8f0320),), entries=4, stride=0x4, access="RW",
            fields=(
                RefField("VAL", 31, 0, "RW", (("INIT", 0x0),)),
            ),
        ),
    ),
    "NV_PFSP_FALCON_COMMON_SCRATCH_GROUP_3": (
        RefRegister(
            families=("GH100", "GB202"),
            source=(
                "GH100: hopper/gh100/dev_fsp_pri.h, hopper/gh100/dev_fsp_addendum.h; GB202: "
                "blackwell/gb202/dev_fsp_pri.h, blackwell/gb202/dev_fsp_addendum.h"
            ),
            published=True, where=(("", 0x8f0330),), entries=4, stride=0x4, access="RW",
            fields=(
                RefField("NV_GFW_FSP_UCODE_VERSION(1)_MINOR", 7, 0, ""),
                RefField("NV_GFW_FSP_UCODE_VERSION(1)_FULL", 11, 0, ""),
                RefField("VAL", 31, 0, "RW", (("INIT", 0x0),)),
                RefField("NV_GFW_FSP_UCODE_VERSION(1)_MAJOR", 11, 8, ""),
            ),
        ),
        RefRegister(
            families=("GB100",),
            source="blackwell/gb100/dev_fsp_pri.h, blackwell/gb100/dev_fsp_addendum.h",
            published=True, where=(("", 0x8f0330),), entries=4, stride=0x4, access="RW",
            fields=(
                RefField("NV_GFW_FSP_UCODE_VERSION(1)_MINOR", 7, 0, ""),
                RefField("NV_GFW_FSP_UCODE_VERSION(1)_FULL", 11, 0, ""),
                RefField("NV_PFSP_FUSE_ERROR_CHECK(3)_STATUS", 31, 0, "", (("SUCCESS", 0x0),)),
                RefField("VAL", 31, 0, "RW", (("INIT", 0x0),)),
                RefField("NV_GFW_FSP_UCODE_VERSION(1)_MAJOR", 11, 8, ""),
            ),
        ),
    ),
    "NV_PFSP_MSGQ_HEAD": (
        RefRegister(
            families=("GH100", "GB100", "GB202"),
            source="hopper/gh100/dev_fsp_pri.h",
            published=True, where=(("", 0x8f2c80),), entries=8, stride=0x8, access="RW",
            fields=(
                RefField("VAL", 31, 0, "RW", (("INIT", 0x0),)),
            ),
        ),
    ),
    "NV_PFSP_MSGQ_TAIL": (
        RefRegister(
            families=("GH100", "GB100", "GB202"),
            source="hopper/gh100/dev_fsp_pri.h",
            published=True, where=(("", 0x8f2c84),), entries=8, stride=0x8, access="RW",
            fields=(
                RefField("VAL", 31, 0, "RW", (("INIT", 0x0),)),
            ),
        ),
    ),
    "NV_PFSP_QUEUE_HEAD": (
        RefRegister(
            families=("GH100", "GB100", "GB202"),
            source="hopper/gh100/dev_fsp_pri.h",
            published=True, where=(("", 0x8f2c00),), entries=8, stride=0x8, access="RW",
            fields=(
                RefField("ADDRESS", 31, 0, "RW", (("INIT", 0x0),)),
            ),
        ),
    ),
    "NV_PFSP_QUEUE_TAIL": (
        RefRegister(
            families=("GH100", "GB100", "GB202"),
            source="hopper/gh100/dev_fsp_pri.h",
            published=True, where=(("", 0x8f2c04),), entries=8, stride=0x8, access="RW",
            fields=(
                RefField("ADDRESS", 31, 0, "RW", (("INIT", 0x0),)),
            ),
        ),
    ),
    "NV_PGC6_AON_SECURE_SCRATCH_GROUP_05": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102 GA100: turing/tu102/dev_gc6_island.h, turing/tu102/dev_gc6_island_addendum.h; GA102 AD102 GH100 "
                "GB100 GB202: ampere/ga102/dev_gc6_island.h, ampere/ga102/dev_gc6_island_addendum.h"
            ),
            published=True, where=(("", 0x118234),), entries=0, stride=0x4, access="RW",
            fields=(
                RefField("0_GFW_BOOT_PROGRESS", 7, 0, "", (("COMPLETED", 0xff),)),
            ),
        ),
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "Linux nova-core drivers/gpu/nova-core/regs.rs NV_PGC6_AON_SECURE_SCRATCH_GROUP_05(u32)[1] (the header "
                "declares no size; entry 0 is the only one named)"
            ),
            published=False, where=(), entries=1, stride=0x4, access="RW",
            fields=(),
        ),
    ),
    "NV_PGC6_AON_SECURE_SCRATCH_GROUP_05_PRIV_LEVEL_MASK": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102 GA100: turing/tu102/dev_gc6_island.h; GA102 AD102 GH100 GB100 GB202: "
                "ampere/ga102/dev_gc6_island.h"
            ),
            published=True, where=(("", 0x118128),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("READ_PROTECTION_LEVEL0", 0, 0, "", (("DISABLE", 0x0), ("ENABLE", 0x1))),
                RefField("READ_PROTECTION", 3, 0, "RW"),
            ),
        ),
    ),
    "NV_PGC6_AON_SECURE_SCRATCH_GROUP_42": (
        RefRegister(
            families=("GA102", "AD102", "GH100", "GB100", "GB202"),
            source="ampere/ga102/dev_gc6_island.h, ampere/ga102/dev_gc6_island_addendum.h",
            published=True, where=(("", 0x1183a4),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("NV_USABLE_FB_SIZE_IN_MB_VALUE", 31, 0, "", (("INIT", 0x0),)),
            ),
        ),
    ),
    "NV_PGC6_BSI_SECURE_SCRATCH_14": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102 GA100: turing/tu102/dev_gc6_island.h, turing/tu102/dev_gc6_island_addendum.h; GA102 AD102 GH100 "
                "GB100 GB202: ampere/ga102/dev_gc6_island.h, ampere/ga102/dev_gc6_island_addendum.h"
            ),
            published=True, where=(("", 0x1180f8),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("BOOT_STAGE_3_HANDOFF", 26, 26, "", (("VALUE_INIT", 0x0), ("VALUE_DONE", 0x1))),
            ),
        ),
    ),
    "NV_PGSP_EMEMC": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102"),
            source="turing/tu102/dev_gsp.h",
            published=True, where=(("", 0x110ac0),), entries=4, stride=0x8, access="RW",
            fields=(
                RefField("OFFS", 7, 2, "RW", (("INIT", 0x0),)),
                RefField("BLK", 15, 8, "RW", (("INIT", 0x0),)),
                RefField("AINCW", 24, 24, "RW", (("FALSE", 0x0), ("INIT", 0x0), ("TRUE", 0x1))),
                RefField("AINCR", 25, 25, "RW", (("FALSE", 0x0), ("INIT", 0x0), ("TRUE", 0x1))),
            ),
        ),
        RefRegister(
            families=("GH100", "GB100", "GB202"),
            source="GH100: hopper/gh100/dev_gsp.h; GB100 GB202: blackwell/gb100/dev_gsp.h",
            published=True, where=(("", 0x110ac0),), entries=8, stride=0x8, access="RW",
            fields=(
                RefField("OFFS", 7, 2, "RW", (("INIT", 0x0),)),
                RefField("BLK", 15, 8, "RW", (("INIT", 0x0),)),
                RefField("AINCW", 24, 24, "RW", (("FALSE", 0x0), ("INIT", 0x0), ("TRUE", 0x1))),
                RefField("AINCR", 25, 25, "RW", (("FALSE", 0x0), ("INIT", 0x0), ("TRUE", 0x1))),
            ),
        ),
    ),
    "NV_PGSP_EMEMD": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102"),
            source="turing/tu102/dev_gsp.h",
            published=True, where=(("", 0x110ac4),), entries=4, stride=0x8, access="RW",
            fields=(
                RefField("DATA", 31, 0, "RW"),
            ),
        ),
        RefRegister(
            families=("GH100", "GB100", "GB202"),
            source="GH100: hopper/gh100/dev_gsp.h; GB100 GB202: blackwell/gb100/dev_gsp.h",
            published=True, where=(("", 0x110ac4),), entries=8, stride=0x8, access="RW",
            fields=(
                RefField("DATA", 31, 0, "RW"),
            ),
        ),
    ),
    "NV_PGSP_MAILBOX": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102 GA100: turing/tu102/dev_gsp.h; GA102 AD102: ampere/ga102/dev_gsp.h; GH100: "
                "hopper/gh100/dev_gsp.h, ampere/ga102/dev_gsp.h; GB100 GB202: blackwell/gb100/dev_gsp.h, "
                "ampere/ga102/dev_gsp.h"
            ),
            published=True, where=(("", 0x110804),), entries=4, stride=0x4, access="RW",
            fields=(
                RefField("DATA", 31, 0, "RW"),
            ),
        ),
    ),
    "NV_PGSP_QUEUE_HEAD": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="TU102 GA100: turing/tu102/dev_gsp.h; GA102 AD102 GH100 GB100 GB202: ampere/ga102/dev_gsp.h",
            published=True, where=(("", 0x110c00),), entries=8, stride=0x8, access="RW",
            fields=(
                RefField("ADDRESS", 31, 0, "RW"),
            ),
        ),
    ),
    "NV_PMC_BOOT_0": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102: maxwell/gm107/dev_boot.h, nv_ref.h; GA100 GA102 AD102: ampere/ga100/dev_boot.h, nv_ref.h; "
                "GH100 GB100 GB202: hopper/gh100/dev_pmc.h, nv_ref.h"
            ),
            published=True, where=(("", 0x0),), entries=None, stride=0x4, access="RO",
            fields=(
                RefField("MINOR_REVISION", 3, 0, "RO"),
                RefField("MAJOR_REVISION", 7, 4, "RO"),
                RefField("ARCHITECTURE_1", 8, 8, "RO"),
                RefField("IMPLEMENTATION", 23, 20, "RO", (
                    ("0", 0x0),
                    ("1", 0x1),
                    ("2", 0x2),
                    ("3", 0x3),
                    ("4", 0x4),
                    ("5", 0x5),
                    ("6", 0x6),
                    ("7", 0x7),
                    ("8", 0x8),
                    ("9", 0x9),
                    ("A", 0xa),
                    ("B", 0xb),
                    ("C", 0xc),
                    ("D", 0xd),
                    ("E", 0xe),
                    ("F", 0xf),
                )),
                RefField("ARCHITECTURE_0", 28, 24, "RO"),
            ),
        ),
    ),
    "NV_PMC_BOOT_42": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="nv_ref.h",
            published=True, where=(("", 0xa00),), entries=None, stride=0x4, access="RO",
            fields=(
                RefField("MINOR_EXTENDED_REVISION", 11, 8, "RO"),
                RefField("MINOR_REVISION", 15, 12, "RO"),
                RefField("MAJOR_REVISION", 19, 16, "RO"),
                RefField("IMPLEMENTATION", 23, 20, ""),
                RefField("CHIP_ID", 29, 20, "RO", (("GA100", 0x170),)),
                RefField("ARCHITECTURE", 29, 24, "", (
                    ("GM100", 0x11),
                    ("GM200", 0x12),
                    ("GP100", 0x13),
                    ("GV100", 0x14),
                    ("GV110", 0x15),
                    ("TU100", 0x16),
                    ("GA100", 0x17),
                    ("GH100", 0x18),
                    ("AD100", 0x19),
                    ("GB100", 0x1a),
                    ("GB200", 0x1b),
                    ("AMODEL", 0x1f),
                )),
            ),
        ),
    ),
    "NV_PRISCV_RISCV_BCR_CTRL": (
        RefRegister(
            families=("GA102", "AD102", "GH100", "GB100", "GB202"),
            source="ampere/ga102/dev_riscv_pri.h",
            published=True, where=(("falcon2", 0x668),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("VALID", 0, 0, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("CORE_SELECT", 4, 4, "RW", (("FALCON", 0x0), ("RISCV", 0x1))),
                RefField("BRFETCH", 8, 8, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
            ),
        ),
    ),
    "NV_PRISCV_RISCV_CORE_SWITCH_RISCV_STATUS": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102: turing/tu102/dev_riscv_pri.h; GA100 GA102 AD102 GH100 GB100 GB202: ampere/ga100/dev_riscv_pri.h"
            ),
            published=True, where=(("falcon2", 0x240),), entries=None, stride=0x4, access="RO",
            fields=(
                RefField("ACTIVE_STAT", 0, 0, "RO", (("ACTIVE", 0x1),)),
            ),
        ),
    ),
    "NV_PRISCV_RISCV_CPUCTL": (
        RefRegister(
            families=("GA102", "AD102"),
            source="ampere/ga102/dev_riscv_pri.h",
            published=True, where=(("falcon2", 0x388),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("HALTED", 4, 4, "RO"),
                RefField("ACTIVE_STAT", 7, 7, "RO", (("ACTIVE", 0x1),)),
            ),
        ),
        RefRegister(
            families=("GH100", "GB100", "GB202"),
            source="hopper/gh100/dev_riscv_pri.h",
            published=True, where=(("falcon2", 0x388),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("STARTCPU", 0, 0, "WO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("HALTED", 4, 4, "RO", (("FALSE", 0x0), ("INIT", 0x1), ("TRUE", 0x1))),
                RefField("STOPPED", 5, 5, "RO", (("INIT", 0x0),)),
                RefField("ACTIVE_STAT", 7, 7, "RO", (("INACTIVE", 0x0), ("ACTIVE", 0x1))),
            ),
        ),
    ),
    "NV_PRISCV_RISCV_IRQDEST": (
        RefRegister(
            families=("TU102", "GA100"),
            source="TU102: turing/tu102/dev_riscv_pri.h; GA100: ampere/ga100/dev_riscv_pri.h",
            published=True, where=(("falcon2", 0x2b8),), entries=None, stride=0x4, access="RW",
            fields=(),
        ),
        RefRegister(
            families=("GA102", "AD102", "GH100", "GB100", "GB202"),
            source="ampere/ga102/dev_riscv_pri.h",
            published=True, where=(("falcon2", 0x52c),), entries=None, stride=0x4, access="RW",
            fields=(),
        ),
    ),
    "NV_PRISCV_RISCV_IRQMASK": (
        RefRegister(
            families=("TU102", "GA100"),
            source="TU102: turing/tu102/dev_riscv_pri.h; GA100: ampere/ga100/dev_riscv_pri.h",
            published=True, where=(("falcon2", 0x2b4),), entries=None, stride=0x4, access="RO",
            fields=(),
        ),
        RefRegister(
            families=("GA102", "AD102", "GH100", "GB100", "GB202"),
            source="ampere/ga102/dev_riscv_pri.h",
            published=True, where=(("falcon2", 0x528),), entries=None, stride=0x4, access="RO",
            fields=(),
        ),
    ),
    "NV_PTIMER_TIME_0": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102"),
            source="volta/gv100/dev_timer.h, maxwell/gm107/dev_timer.h",
            published=True, where=(("", 0x9400),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("NSEC", 31, 5, "RW"),
            ),
        ),
        RefRegister(
            families=("GH100", "GB100", "GB202"),
            source="volta/gv100/dev_timer.h, hopper/gh100/dev_timer.h",
            published=True, where=(("", 0x9400),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("NSEC", 31, 5, "RO"),
            ),
        ),
    ),
    "NV_PTIMER_TIME_1": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="volta/gv100/dev_timer.h, maxwell/gm107/dev_timer.h",
            published=True, where=(("", 0x9410),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("NSEC", 28, 0, "RW"),
            ),
        ),
    ),
    "NV_THERM_I2CS_SCRATCH": (
        RefRegister(
            families=("GH100", "GB100"),
            source=(
                "GH100: hopper/gh100/dev_therm.h, hopper/gh100/dev_therm_addendum.h; GB100: "
                "blackwell/gb100/dev_therm.h, blackwell/gb100/dev_therm_addendum.h"
            ),
            published=True, where=(("", 0x200bc),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("DATA", 31, 0, "RW", (("INIT", 0x0),)),
                RefField("FSP_BOOT_COMPLETE_STATUS", 31, 0, "", (("FAILED", 0x0), ("SUCCESS", 0xff))),
            ),
        ),
        RefRegister(
            families=("GB202",),
            source="blackwell/gb202/dev_therm.h, blackwell/gb202/dev_therm_addendum.h",
            published=True, where=(("", 0xad00bc),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("DATA", 31, 0, "RW", (("INIT", 0x0),)),
                RefField("FSP_BOOT_COMPLETE_STATUS", 31, 0, "", (("FAILED", 0x0), ("SUCCESS", 0xff))),
            ),
        ),
    ),
    "NV_VIRTUAL_FUNCTION_DOORBELL": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100"),
            source=(
                "TU102: turing/tu102/dev_vm.h, NV_CTRL_VF_DOORBELL fields: turing/tu102/dev_ctrl.h; GA100 GA102 AD102 "
                "GH100: turing/tu102/dev_vm.h, NV_CTRL_VF_DOORBELL fields: ampere/ga100/dev_ctrl.h"
            ),
            published=True, where=(("", 0xbb0090),), entries=None, stride=0x4, access="WO",
            fields=(
                RefField("VECTOR", 11, 0, "WO"),
                RefField("RUNLIST_ID", 22, 16, "WO"),
            ),
        ),
        RefRegister(
            families=("GB100",),
            source="blackwell/gb100/dev_vm.h",
            published=True, where=(("", 0xbb0090),), entries=None, stride=0x4, access="WO",
            fields=(
                RefField("VECTOR", 11, 0, "WO"),
                RefField("HANDLE", 31, 0, ""),
                RefField("RSVD", 15, 12, "WO"),
                RefField("RUNLIST_ID", 22, 16, "WO", (("INVALID_RUNLIST", 0x7f),)),
                RefField("RUNLIST_DOORBELL", 22, 22, "", (("ENABLE", 0x0), ("DISABLE", 0x1))),
                RefField("RSVD2", 31, 23, "WO"),
                RefField("GSP_DOORBELL", 31, 31, "", (("ENABLE", 0x0), ("DISABLE", 0x1))),
            ),
        ),
        RefRegister(
            families=("GB202",),
            source="blackwell/gb202/dev_vm.h, blackwell/gb100/dev_vm.h",
            published=True, where=(("", 0xbb0090),), entries=None, stride=0x4, access="WO",
            fields=(
                RefField("VECTOR", 11, 0, "WO"),
                RefField("RSVD", 15, 12, "WO"),
                RefField("RUNLIST_ID", 22, 16, "WO"),
                RefField("RUNLIST_DOORBELL", 30, 30, "WO", (("DISABLE", 0x0), ("ENABLE", 0x1))),
                RefField("GSP_DOORBELL", 31, 31, "", (("ENABLE", 0x0), ("DISABLE", 0x1))),
            ),
        ),
    ),
    "NV_VIRTUAL_FUNCTION_PRIV_BAR1_BLOCK": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102 GA100 GA102 AD102 GH100: turing/tu102/dev_vm.h; GB100 GB202: turing/tu102/dev_vm.h, "
                "blackwell/gb100/dev_vm.h"
            ),
            published=True, where=(("", 0xb80f40),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("PTR", 27, 0, "RW", (("0", 0x0),)),
                RefField("MAP", 29, 0, ""),
                RefField("TARGET", 29, 28, "RW", (
                    ("VID_MEM", 0x0),
                    ("SYS_MEM_COHERENT", 0x2),
                    ("SYS_MEM_NONCOHERENT", 0x3),
                )),
                RefField("MODE", 31, 31, "RW", (("PHYSICAL", 0x0), ("VIRTUAL", 0x1))),
            ),
        ),
    ),
    "NV_VIRTUAL_FUNCTION_PRIV_BAR2_BLOCK": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102 GA100 GA102 AD102 GH100: turing/tu102/dev_vm.h; GB100 GB202: turing/tu102/dev_vm.h, "
                "blackwell/gb100/dev_vm.h"
            ),
            published=True, where=(("", 0xb80f48),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("PTR", 27, 0, "RW", (("0", 0x0),)),
                RefField("MAP", 29, 0, ""),
                RefField("TARGET", 29, 28, "RW", (
                    ("VID_MEM", 0x0),
                    ("SYS_MEM_COHERENT", 0x2),
                    ("SYS_MEM_NONCOHERENT", 0x3),
                )),
                RefField("DEBUG_CYA", 30, 30, "RW", (("ON", 0x0), ("INIT", 0x1), ("OFF", 0x1))),
                RefField("MODE", 31, 31, "RW", (("PHYSICAL", 0x0), ("VIRTUAL", 0x1))),
            ),
        ),
    ),
    "NV_VIRTUAL_FUNCTION_PRIV_BIND_STATUS": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102 GA100 GA102 AD102 GH100: turing/tu102/dev_vm.h; GB100 GB202: turing/tu102/dev_vm.h, "
                "blackwell/gb100/dev_vm.h"
            ),
            published=True, where=(("", 0xb80f50),), entries=None, stride=0x4, access="RO",
            fields=(
                RefField("BAR1_PENDING", 0, 0, "RO", (("EMPTY", 0x0), ("BUSY", 0x1))),
                RefField("BAR1_OUTSTANDING", 1, 1, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("BAR2_PENDING", 2, 2, "RO", (("EMPTY", 0x0), ("BUSY", 0x1))),
                RefField("BAR2_OUTSTANDING", 3, 3, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
            ),
        ),
    ),
    "NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102"),
            source=(
                "TU102: turing/tu102/dev_vm.h; GA100: ampere/ga100/dev_vm.h, turing/tu102/dev_vm.h; GA102 AD102: "
                "ampere/ga102/dev_vm.h, turing/tu102/dev_vm.h"
            ),
            published=True, where=(("", 0xb81000),), entries=8, stride=0x4, access="RW",
            fields=(
                RefField("VALUE", 31, 0, "RW", (("INIT", 0x0),)),
            ),
        ),
        RefRegister(
            families=("GH100", "GB100", "GB202"),
            source="GH100: hopper/gh100/dev_vm.h, turing/tu102/dev_vm.h; GB100 GB202: blackwell/gb100/dev_vm.h",
            published=True, where=(("", 0xb81000),), entries=16, stride=0x4, access="RW",
            fields=(
                RefField("VALUE", 31, 0, "RW", (("INIT", 0x0),)),
            ),
        ),
    ),
    "NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF_EN_CLEAR": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102"),
            source=(
                "TU102: turing/tu102/dev_vm.h; GA100: ampere/ga100/dev_vm.h, turing/tu102/dev_vm.h; GA102 AD102: "
                "ampere/ga102/dev_vm.h, turing/tu102/dev_vm.h"
            ),
            published=True, where=(("", 0xb81400),), entries=8, stride=0x4, access="RW",
            fields=(
                RefField("VALUE", 31, 0, "RW", (("INIT", 0x0),)),
            ),
        ),
        RefRegister(
            families=("GH100", "GB100", "GB202"),
            source="GH100: hopper/gh100/dev_vm.h, turing/tu102/dev_vm.h; GB100 GB202: blackwell/gb100/dev_vm.h",
            published=True, where=(("", 0xb81400),), entries=16, stride=0x4, access="RW",
            fields=(
                RefField("VALUE", 31, 0, "RW", (("INIT", 0x0),)),
            ),
        ),
    ),
    "NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF_EN_SET": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102"),
            source=(
                "TU102: turing/tu102/dev_vm.h; GA100: ampere/ga100/dev_vm.h, turing/tu102/dev_vm.h; GA102 AD102: "
                "ampere/ga102/dev_vm.h, turing/tu102/dev_vm.h"
            ),
            published=True, where=(("", 0xb81200),), entries=8, stride=0x4, access="RW",
            fields=(
                RefField("VALUE", 31, 0, "RW", (("INIT", 0x0),)),
            ),
        ),
        RefRegister(
            families=("GH100", "GB100", "GB202"),
            source="GH100: hopper/gh100/dev_vm.h, turing/tu102/dev_vm.h; GB100 GB202: blackwell/gb100/dev_vm.h",
            published=True, where=(("", 0xb81200),), entries=16, stride=0x4, access="RW",
            fields=(
                RefField("VALUE", 31, 0, "RW", (("INIT", 0x0),)),
            ),
        ),
    ),
    "NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102: turing/tu102/dev_vm.h; GA100: ampere/ga100/dev_vm.h, turing/tu102/dev_vm.h; GA102 AD102 GH100: "
                "ampere/ga102/dev_vm.h, turing/tu102/dev_vm.h; GB100 GB202: blackwell/gb100/dev_vm.h"
            ),
            published=True, where=(("", 0xb81600),), entries=1, stride=0x4, access="RO",
            fields=(
                RefField("VALUE", 31, 0, "RO"),
            ),
        ),
    ),
    "NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP_EN_CLEAR": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100"),
            source=(
                "TU102: turing/tu102/dev_vm.h; GA100: ampere/ga100/dev_vm.h, turing/tu102/dev_vm.h; GA102 AD102 GH100: "
                "ampere/ga102/dev_vm.h, turing/tu102/dev_vm.h"
            ),
            published=True, where=(("", 0xb81610),), entries=1, stride=0x4, access="RW",
            fields=(
                RefField("VALUE", 31, 0, "RW"),
            ),
        ),
        RefRegister(
            families=("GB100", "GB202"),
            source="blackwell/gb100/dev_vm.h",
            published=True, where=(("", 0xb81610),), entries=1, stride=0x4, access="RW",
            fields=(
                RefField("VALUE", 31, 0, "RW", (("INIT", 0x0),)),
            ),
        ),
    ),
    "NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP_EN_SET": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100"),
            source=(
                "TU102: turing/tu102/dev_vm.h; GA100: ampere/ga100/dev_vm.h, turing/tu102/dev_vm.h; GA102 AD102 GH100: "
                "ampere/ga102/dev_vm.h, turing/tu102/dev_vm.h"
            ),
            published=True, where=(("", 0xb81608),), entries=1, stride=0x4, access="RW",
            fields=(
                RefField("VALUE", 31, 0, "RW"),
            ),
        ),
        RefRegister(
            families=("GB100", "GB202"),
            source="blackwell/gb100/dev_vm.h",
            published=True, where=(("", 0xb81608),), entries=1, stride=0x4, access="RW",
            fields=(
                RefField("VALUE", 31, 0, "RW", (("INIT", 0x0),)),
            ),
        ),
    ),
    "NV_VIRTUAL_FUNCTION_PRIV_DOORBELL": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100"),
            source=(
                "TU102: turing/tu102/dev_vm.h; GA100: ampere/ga100/dev_vm.h, turing/tu102/dev_vm.h; GA102 AD102: "
                "ampere/ga102/dev_vm.h, turing/tu102/dev_vm.h; GH100: hopper/gh100/dev_vm.h, turing/tu102/dev_vm.h"
            ),
            published=True, where=(("", 0xb82200),), entries=None, stride=0x4, access="WO",
            fields=(),
        ),
        RefRegister(
            families=("GB100", "GB202"),
            source="blackwell/gb100/dev_vm.h",
            published=True, where=(("", 0xb82200),), entries=None, stride=0x4, access="WO",
            fields=(
                RefField("VECTOR", 11, 0, "WO"),
                RefField("HANDLE", 31, 0, ""),
                RefField("RSVD", 30, 12, "WO"),
                RefField("CPU_NOTIFICATION", 31, 31, "WO", (("FALSE", 0x0), ("TRUE", 0x1))),
            ),
        ),
    ),
    "NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR1_BLOCK_HIGH_ADDR": (
        RefRegister(
            families=("GH100", "GB100", "GB202"),
            source=(
                "GH100: hopper/gh100/dev_vm.h, turing/tu102/dev_vm.h; GB100 GB202: hopper/gh100/dev_vm.h, "
                "blackwell/gb100/dev_vm.h"
            ),
            published=True, where=(("", 0xb80f64),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("PTR", 31, 0, "RW", (("0", 0x0),)),
            ),
        ),
    ),
    "NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR1_BLOCK_LOW_ADDR": (
        RefRegister(
            families=("GH100", "GB100", "GB202"),
            source=(
                "GH100: hopper/gh100/dev_vm.h, turing/tu102/dev_vm.h; GB100 GB202: hopper/gh100/dev_vm.h, "
                "blackwell/gb100/dev_vm.h"
            ),
            published=True, where=(("", 0xb80f60),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("BAR1_PENDING", 0, 0, "RO", (("EMPTY", 0x0), ("BUSY", 0x1))),
                RefField("BAR1_OUTSTANDING", 1, 1, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("MODE", 9, 9, "RW", (("PHYSICAL", 0x0), ("VIRTUAL", 0x1))),
                RefField("TARGET", 11, 10, "RW", (
                    ("VID_MEM", 0x0),
                    ("SYS_MEM_COHERENT", 0x2),
                    ("SYS_MEM_NONCOHERENT", 0x3),
                )),
                RefField("MAP", 31, 10, ""),
                RefField("PTR", 31, 12, "RW", (("0", 0x0),)),
            ),
        ),
    ),
    "NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR2_BLOCK_HIGH_ADDR": (
        RefRegister(
            families=("GH100", "GB100", "GB202"),
            source=(
                "GH100: hopper/gh100/dev_vm.h, turing/tu102/dev_vm.h; GB100 GB202: hopper/gh100/dev_vm.h, "
                "blackwell/gb100/dev_vm.h"
            ),
            published=True, where=(("", 0xb80f74),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("PTR", 19, 0, "RW", (("0", 0x0),)),
            ),
        ),
    ),
    "NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR2_BLOCK_LOW_ADDR": (
        RefRegister(
            families=("GH100", "GB100", "GB202"),
            source="GH100: hopper/gh100/dev_vm.h, turing/tu102/dev_vm.h; GB100 GB202: blackwell/gb100/dev_vm.h",
            published=True, where=(("", 0xb80f70),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("BAR2_PENDING", 0, 0, "RO", (("EMPTY", 0x0), ("BUSY", 0x1))),
                RefField("BAR2_OUTSTANDING", 1, 1, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("MODE", 9, 9, "RW", (("PHYSICAL", 0x0), ("VIRTUAL", 0x1))),
                RefField("TARGET", 11, 10, "RW", (
                    ("VID_MEM", 0x0),
                    ("SYS_MEM_COHERENT", 0x2),
                    ("SYS_MEM_NONCOHERENT", 0x3),
                )),
                RefField("MAP", 31, 10, ""),
                RefField("PTR", 31, 12, "RW", (("0", 0x0),)),
            ),
        ),
    ),
    "NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE": (
        RefRegister(
            families=("TU102",),
            source="turing/tu102/dev_vm.h",
            published=True, where=(("", 0xb830b0),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("ALL_VA", 0, 0, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("ALL_PDB", 1, 1, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("HUBTLB_ONLY", 2, 2, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("REPLAY", 5, 3, "RW", (
                    ("NONE", 0x0),
                    ("START", 0x1),
                    ("START_ACK_ALL", 0x2),
                    ("CANCEL_TARGETED", 0x3),
                    ("CANCEL_GLOBAL", 0x4),
                    ("CANCEL_VA_GLOBAL", 0x5),
                )),
                RefField("SYS_MEMBAR", 6, 6, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("ACK", 8, 7, "RW", (("NONE_REQUIRED", 0x0), ("GLOBALLY", 0x1), ("INTRANODE", 0x2))),
                RefField("CANCEL_CLIENT_ID", 14, 9, "RW"),
                RefField("CANCEL_GPC_ID", 19, 15, "RW"),
                RefField("CANCEL_CLIENT_TYPE", 20, 20, "RW", (("GPC", 0x0), ("HUB", 0x1))),
                RefField("USE_PASID", 21, 21, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("USE_SIZE", 22, 22, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("PROP_FLUSH", 23, 23, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("CACHE_LEVEL", 26, 24, "RW", (
                    ("ALL", 0x0),
                    ("CANCEL_READ", 0x0),
                    ("CANCEL_WRITE", 0x1),
                    ("PTE_ONLY", 0x1),
                    ("CANCEL_ATOMIC_STRONG", 0x2),
                    ("UP_TO_PDE0", 0x2),
                    ("CANCEL_RSVRVD", 0x3),
                    ("UP_TO_PDE1", 0x3),
                    ("CANCEL_ATOMIC_WEAK", 0x4),
                    ("UP_TO_PDE2", 0x4),
                    ("CANCEL_ATOMIC_ALL", 0x5),
                    ("UP_TO_PDE3", 0x5),
                    ("CANCEL_WRITE_AND_ATOMIC", 0x6),
                    ("UP_TO_PDE4", 0x6),
                    ("CANCEL_ALL", 0x7),
                    ("UP_TO_PDE5", 0x7),
                )),
                RefField("TRIGGER", 31, 31, "WO", (("FALSE", 0x0), ("TRUE", 0x1))),
            ),
        ),
        RefRegister(
            families=("GA100", "GA102", "AD102", "GH100"),
            source="ampere/ga100/dev_vm.h, turing/tu102/dev_vm.h",
            published=True, where=(("", 0xb830b0),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("ALL_VA", 0, 0, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("ALL_PDB", 1, 1, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("HUBTLB_ONLY", 2, 2, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("REPLAY", 5, 3, "RW", (
                    ("NONE", 0x0),
                    ("START", 0x1),
                    ("START_ACK_ALL", 0x2),
                    ("CANCEL_TARGETED", 0x3),
                    ("CANCEL_GLOBAL", 0x4),
                    ("CANCEL_VA_GLOBAL", 0x5),
                )),
                RefField("SYS_MEMBAR", 6, 6, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("ACK", 8, 7, "RW", (("NONE_REQUIRED", 0x0), ("GLOBALLY", 0x1), ("INTRANODE", 0x2))),
                RefField("CANCEL_CLIENT_ID", 14, 9, "RW"),
                RefField("INVAL_SCOPE", 16, 15, "RW", (("ALL_TLBS", 0x0), ("LINK_TLBS", 0x1), ("NON_LINK_TLBS", 0x2))),
                RefField("CANCEL_GPC_ID", 19, 15, "RW"),
                RefField("CANCEL_CLIENT_TYPE", 20, 20, "RW", (("GPC", 0x0), ("HUB", 0x1))),
                RefField("USE_PASID", 21, 21, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("USE_SIZE", 22, 22, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("PROP_FLUSH", 23, 23, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("CACHE_LEVEL", 26, 24, "RW", (
                    ("ALL", 0x0),
                    ("CANCEL_READ", 0x0),
                    ("CANCEL_WRITE", 0x1),
                    ("PTE_ONLY", 0x1),
                    ("CANCEL_ATOMIC_STRONG", 0x2),
                    ("UP_TO_PDE0", 0x2),
                    ("CANCEL_RSVRVD", 0x3),
                    ("UP_TO_PDE1", 0x3),
                    ("CANCEL_ATOMIC_WEAK", 0x4),
                    ("UP_TO_PDE2", 0x4),
                    ("CANCEL_ATOMIC_ALL", 0x5),
                    ("UP_TO_PDE3", 0x5),
                    ("CANCEL_WRITE_AND_ATOMIC", 0x6),
                    ("UP_TO_PDE4", 0x6),
                    ("CANCEL_ALL", 0x7),
                    ("UP_TO_PDE5", 0x7),
                )),
                RefField("TRIGGER", 31, 31, "WO", (("FALSE", 0x0), ("TRUE", 0x1))),
            ),
        ),
        RefRegister(
            families=("GB100", "GB202"),
            source="blackwell/gb100/dev_vm.h",
            published=True, where=(("", 0xb830b0),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("ALL_VA", 0, 0, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("ALL_PDB", 1, 1, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("HUBTLB_ONLY", 2, 2, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("REPLAY", 5, 3, "RW", (
                    ("NONE", 0x0),
                    ("START", 0x1),
                    ("START_ACK_ALL", 0x2),
                    ("CANCEL_TARGETED", 0x3),
                    ("CANCEL_GLOBAL", 0x4),
                    ("CANCEL_VA_GLOBAL", 0x5),
                )),
                RefField("SYS_MEMBAR", 6, 6, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("ACK", 8, 7, "RW", (("NONE_REQUIRED", 0x0), ("GLOBALLY", 0x1), ("INTRANODE", 0x2))),
                RefField("CANCEL_CLIENT_ID", 14, 9, "RW"),
                RefField("INVAL_SCOPE", 16, 15, "RW", (("ALL_TLBS", 0x0), ("LINK_TLBS", 0x1), ("NON_LINK_TLBS", 0x2))),
                RefField("CANCEL_GPC_ID", 19, 15, "RW"),
                RefField("CANCEL_CLIENT_TYPE", 20, 20, "RW", (("GPC", 0x0), ("HUB", 0x1))),
                RefField("USE_PASID", 21, 21, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("USE_SIZE", 22, 22, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("PROP_FLUSH", 23, 23, "RW", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("CACHE_LEVEL", 26, 24, "RW", (
                    ("ALL", 0x0),
                    ("CANCEL_READ", 0x0),
                    ("CANCEL_WRITE", 0x1),
                    ("PTE_ONLY", 0x1),
                    ("CANCEL_ATOMIC_STRONG", 0x2),
                    ("UP_TO_PDE0", 0x2),
                    ("CANCEL_RSVRVD", 0x3),
                    ("UP_TO_PDE1", 0x3),
                    ("CANCEL_ATOMIC_WEAK", 0x4),
                    ("UP_TO_PDE2", 0x4),
                    ("CANCEL_ATOMIC_ALL", 0x5),
                    ("UP_TO_PDE3", 0x5),
                    ("CANCEL_WRITE_AND_ATOMIC", 0x6),
                    ("UP_TO_PDE4", 0x6),
                    ("CANCEL_ALL", 0x7),
                    ("UP_TO_PDE5", 0x7),
                )),
                RefField("SKIPPED", 30, 30, "RO", (("FALSE", 0x0), ("TRUE", 0x1))),
                RefField("TRIGGER", 31, 31, "WO", (("FALSE", 0x0), ("TRUE", 0x1))),
            ),
        ),
    ),
    "NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE_PDB": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="TU102 GA100 GA102 AD102 GH100: turing/tu102/dev_vm.h; GB100 GB202: blackwell/gb100/dev_vm.h",
            published=True, where=(("", 0xb830a0),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("APERTURE", 1, 1, "RW", (("INIT", 0x0), ("VID_MEM", 0x0), ("SYS_MEM", 0x1))),
                RefField("ADDR", 31, 4, "RW", (("INIT", 0x0), ("ALIGNMENT", 0xc))),
            ),
        ),
    ),
    "NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE_UPPER_PDB": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source="TU102 GA100 GA102 AD102 GH100: turing/tu102/dev_vm.h; GB100 GB202: blackwell/gb100/dev_vm.h",
            published=True, where=(("", 0xb830a4),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("ADDR", 19, 0, "RW", (("INIT", 0x0),)),
            ),
        ),
    ),
    "NV_VIRTUAL_FUNCTION_TIME_0": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102: turing/tu102/dev_vm.h; GA100 GA102 AD102 GH100: ampere/ga100/dev_vm.h; GB100 GB202: "
                "blackwell/gb100/dev_vm.h"
            ),
            published=True, where=(("", 0x30080),), entries=None, stride=0x4, access="RO",
            fields=(
                RefField("NSEC", 31, 5, "RO"),
            ),
        ),
    ),
    "NV_VIRTUAL_FUNCTION_TIME_1": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102: turing/tu102/dev_vm.h; GA100 GA102 AD102 GH100: ampere/ga100/dev_vm.h; GB100 GB202: "
                "blackwell/gb100/dev_vm.h"
            ),
            published=True, where=(("", 0x30084),), entries=None, stride=0x4, access="RO",
            fields=(
                RefField("NSEC", 28, 0, "RO"),
            ),
        ),
    ),
    "NV_XAL_EP_BAR0_WINDOW": (
        RefRegister(
            families=("GH100",),
            source="hopper/gh100/pri_nv_xal_ep.h",
            published=True, where=(("", 0x10fd40),), entries=None, stride=0x4, access="",
            fields=(
                RefField("BASE", 21, 0, ""),
            ),
        ),
        RefRegister(
            families=("GB100", "GB202"),
            source=(
                "GB100: blackwell/gb100/pri_nv_xal_ep.h; GB202: blackwell/gb202/pri_nv_xal_ep.h, "
                "blackwell/gb100/pri_nv_xal_ep.h"
            ),
            published=True, where=(("", 0x10fd40),), entries=None, stride=0x4, access="RW",
            fields=(
                RefField("BASE", 22, 0, "RW", (("0", 0x0), ("SHIFT", 0x10))),
            ),
        ),
    ),
    "NV_XVE_CYA_2": (
        RefRegister(
            families=("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202"),
            source=(
                "TU102: maxwell/gm107/dev_nv_xve.h, turing/tu102/dev_nv_xve.h; GA100 GA102 AD102 GH100 GB100 GB202: "
                "maxwell/gm107/dev_nv_xve.h, ampere/ga100/dev_nv_xve_addendum.h"
            ),
            published=True, where=(("", 0x88704),), entries=None, stride=0x4, access="RW",
            fields=(),
        ),
    ),
}
