"""Channel and copy-engine facts, pinned three ways: literals from other sources, the generated bindings (NVIDIA's
headers compiled per release), and NVIDIA's class headers themselves - through the committed table
:mod:`nova_core.engines.reference.r570_144` (``tests/engines/test_class_reference.py`` regenerates it from the headers
when they are at hand)."""

from __future__ import annotations

import pytest

from nova_core.engines import facts as F
from nova_core.engines.reference import r570_144 as ref
from nova_core.gpu.chips import Chipset
from nova_core.gsp import bindings
from nova_core.sim.gsp_rm.objects import ARCH_CLASSES

VERSIONS = ("535.113.01", "550.163.01", "570.144")


def test_class_table_per_chip() -> None:
    want = {  # reference §11 (g_allclasses.h / g_gpu_class_list.c)
        Chipset.TU102: (0xC46F, 0xC5B5, 0xC461), Chipset.TU117: (0xC46F, 0xC5B5, 0xC461),
        Chipset.GA100: (0xC56F, 0xC6B5, 0xC561), Chipset.GA102: (0xC56F, 0xC7B5, 0xC561),
        Chipset.AD102: (0xC56F, 0xC7B5, 0xC561), Chipset.GH100: (0xC86F, 0xC8B5, 0xC661),
        Chipset.GB100: (0xC96F, 0xC9B5, 0xC761), Chipset.GB202: (0xCA6F, 0xCAB5, 0xC761),
    }
    for chip, (gpfifo, ce, user) in want.items():
        c = F.classes_for(chip)
        assert (c.gpfifo, c.copy, c.usermode) == (gpfifo, ce, user), chip
        assert gpfifo in c.gpfifo_all
        # the simulated GSP-RM's own class list (written independently) accepts them
        key = "AMPERE_GA100" if chip is Chipset.GA100 else chip.architecture.name
        assert {gpfifo, ce, user} <= ARCH_CLASSES[key], chip
    assert F.classes_for(Chipset.GB202).gpfifo_all == (0xC96F, 0xCA6F)
    assert F.classes_for(Chipset.TU102).token_has_runlist and not F.classes_for(Chipset.GA102).token_has_runlist
    assert F.classes_for(Chipset.GB202).doorbell_runlist_enable


@pytest.mark.parametrize("version", VERSIONS)
def test_facts_agree_with_the_generated_bindings(version: str) -> None:
    m = bindings.load(version)
    for name in ("FERMI_VASPACE_A", "KEPLER_CHANNEL_GROUP_A", "TURING_CHANNEL_GPFIFO_A", "AMPERE_CHANNEL_GPFIFO_A",
                 "HOPPER_CHANNEL_GPFIFO_A", "BLACKWELL_CHANNEL_GPFIFO_A", "BLACKWELL_CHANNEL_GPFIFO_B",
                 "TURING_DMA_COPY_A", "AMPERE_DMA_COPY_A", "AMPERE_DMA_COPY_B", "HOPPER_DMA_COPY_A",
                 "BLACKWELL_DMA_COPY_A", "BLACKWELL_DMA_COPY_B", "TURING_USERMODE_A", "AMPERE_USERMODE_A",
                 "HOPPER_USERMODE_A", "BLACKWELL_USERMODE_A"):
        if hasattr(m, name):  # the Blackwell classes are not in 535.113.01
            assert getattr(m, name) == getattr(F, name), (version, name)
    assert m.NVC36F_CTRL_CMD_GPFIFO_GET_WORK_SUBMIT_TOKEN >> 16 == F.VOLTA_CHANNEL_GPFIFO_A
    assert m.NVA06F_CTRL_CMD_BIND >> 16 == F.KEPLER_CHANNEL_GPFIFO_A
    assert m.NVA06C_CTRL_CMD_GPFIFO_SCHEDULE >> 16 == F.KEPLER_CHANNEL_GROUP_A
    assert m.ROBUST_CHANNEL_FIFO_ERROR_MMU_ERR_FLT == F.RC_MMU_FAULT
    assert m.ROBUST_CHANNEL_PBDMA_ERROR == F.RC_PBDMA_ERROR and F.RC_CE_ERROR[0] == m.ROBUST_CHANNEL_CE0_ERROR
    assert m.RM_ENGINE_TYPE_COPY0 == m.NV2080_ENGINE_TYPE_COPY0 == 9 and m.RM_ENGINE_TYPE_GR0 == 1
    assert m.RM_ENGINE_TYPE_COPY9 == 9 + 9  # COPY0..9 contiguous (F.CE_MAX_INSTANCES)
    assert m.NV_CHANNELGPFIFO_NOTIFICATION_TYPE_ERROR == 0
    assert m.ctypes.sizeof(m.NvNotification) == F.NOTIFIER_SIZE


def test_memory_layout_literals() -> None:
    # nouveau gpfifogv100.c: RAMFC words; dev_ram.h: USERD GP_GET/GP_PUT words 34/35; gv100_vmm_join offsets
    assert (F.RAMFC_USERD, F.RAMFC_SIGNATURE, F.RAMFC_GP_BASE, F.RAMFC_GP_BASE_HI, F.RAMFC_CHID) == (
        0x8, 0x10, 0x48, 0x4C, 0xE8)
    assert (F.USERD_GP_GET, F.USERD_GP_PUT) == (0x88, 0x8C)
    assert (F.RAMIN_SC_PDB_VALID, F.RAMIN_SC_PAGE_DIR_BASE, F.RAMIN_METHOD_BUFFER) == (0x298, 0x2A0, 0x220)


def test_method_header_and_gp_entry_match_other_drivers() -> None:
    # tinygrad ops_nv.py nvm(): (2 << 28) | (len << 16) | (subc << 13) | (mthd >> 2)
    assert F.PbHeader.encode(address=0x300 >> 2, subchannel=4, count=3, sec_op=F.SecOp.INC_METHOD) == (
        2 << 28 | 3 << 16 | 4 << 13 | 0x300 >> 2)
    # tinygrad _submit_to_gpfifo: (addr // 4 << 2) | (len << 42) | (1 << 41)  (a SUBROUTINE entry)
    addr, n = 0x12_3456_7890, 77
    assert F.GpEntry.encode(get=(addr >> 2) & 0x3FFFFFFF, get_hi=addr >> 32, length=n, level=1) == (
        (addr // 4) << 2 | n << 42 | 1 << 41)


# -- against NVIDIA's class headers (the committed table tools/gen_class_reference.py writes from 570.144) --------


UVM = "kernel-open/nvidia-uvm"
PUB = "src/common/inc/swref/published"


def _methods(header: str, prefix: str) -> dict[str, int]:
    """The methods of a uvm class header - parenthesised offsets whose name has fields (``NAME_FIELD hi:lo``) under
    it - without the class prefix."""
    return {n.removeprefix(f"{prefix}_"): v for n, v in ref.METHODS[header].items()}


def _fields(header: str, prefix: str) -> dict[str, tuple[int, int]]:
    return {n.removeprefix(f"{prefix}_"): v for n, v in ref.FIELDS[header].items() if n.startswith(f"{prefix}_")}


@pytest.mark.parametrize("cls, header, prefix", [
    (0xC46F, "clc46f.h", "NVC46F"), (0xC56F, "clc56f.h", "NVC56F"), (0xC86F, "clc86f.h", "NVC86F"),
    (0xC96F, "clc96f.h", "NVC96F")])
def test_host_methods_match_the_class_headers(cls: int, header: str, prefix: str) -> None:
    found = _methods(f"{UVM}/{header}", prefix)
    found.pop("QUADRO_VERIFY", None)  # not a method a channel of ours sends (left out of the facts)
    assert found == F.HOST_METHODS[cls]


@pytest.mark.parametrize("cls, header, prefix", [
    (0xC5B5, "clc5b5.h", "NVC5B5"), (0xC6B5, "clc6b5.h", "NVC6B5"), (0xC7B5, "clc7b5.h", "NVC7B5"),
    (0xC8B5, "clc8b5.h", "NVC8B5"), (0xC9B5, "clc9b5.h", "NVC9B5")])
def test_ce_methods_match_the_class_headers(cls: int, header: str, prefix: str) -> None:
    assert _methods(f"{UVM}/{header}", prefix) == F.CE_METHODS[cls]


def test_cab5_and_ca6f_deltas() -> None:
    ca6f = _methods(f"{UVM}/clca6f.h", "NVCA6F")
    assert ca6f and all(F.HOST_METHODS[0xCA6F][k] == v for k, v in ca6f.items())
    cab5 = _methods(f"{UVM}/clcab5.h", "NVCAB5")
    assert cab5 and cab5.items() <= F.CE_METHODS[0xCAB5].items()


@pytest.mark.parametrize("header, prefix, fmt", [
    ("clc5b5.h", "NVC5B5", F.LaunchDma), ("clc7b5.h", "NVC7B5", F.LaunchDmaC7B5),
    ("clc8b5.h", "NVC8B5", F.LaunchDmaC8B5)])
def test_launch_dma_fields_match(header: str, prefix: str, fmt: type[F.LaunchDma]) -> None:
    fields = _fields(f"{UVM}/{header}", prefix)
    for f in fmt.FIELDS:
        assert fields[f"LAUNCH_DMA_{f.name.upper()}"] == (f.hi, f.lo), f.name


def test_host_bitfields_match() -> None:
    fields = _fields(f"{UVM}/clc56f.h", "NVC56F")
    for f in F.SemExecute.FIELDS:
        assert fields[f"SEM_EXECUTE_{f.name.upper()}"] == (f.hi, f.lo), f.name
    assert fields["DMA_METHOD_ADDRESS"] == (F.PbHeader.address.hi, F.PbHeader.address.lo)
    assert fields["DMA_METHOD_SUBCHANNEL"] == (F.PbHeader.subchannel.hi, F.PbHeader.subchannel.lo)
    assert fields["DMA_METHOD_COUNT"] == (F.PbHeader.count.hi, F.PbHeader.count.lo)
    assert fields["DMA_SEC_OP"] == (F.PbHeader.sec_op.hi, F.PbHeader.sec_op.lo)
    assert fields["GP_ENTRY1_LENGTH"] == (F.GpEntry.length.hi - 32, F.GpEntry.length.lo - 32)
    assert fields["GP_ENTRY0_GET"] == (F.GpEntry.get.hi, F.GpEntry.get.lo)
    assert fields["GP_ENTRY1_GET_HI"] == (F.GpEntry.get_hi.hi - 32, F.GpEntry.get_hi.lo - 32)


def test_flags_and_token_match() -> None:
    fields = _fields("src/common/sdk/nvidia/inc/alloc/alloc_channel.h", "NVOS04_FLAGS")
    for f in F.Nvos04Flags.FIELDS:
        assert fields[f.name.upper()] == (f.hi, f.lo), f.name
    ctrl = _fields(f"{PUB}/turing/tu102/dev_ctrl.h", "NV_CTRL_VF_DOORBELL")
    assert ctrl["VECTOR"] == (11, 0) and ctrl["RUNLIST_ID"] == (22, 16)
    vm = _fields(f"{PUB}/blackwell/gb202/dev_vm.h", "NV_VIRTUAL_FUNCTION_DOORBELL")
    assert vm["RUNLIST_DOORBELL"] == (30, 30)
    assert ref.NUMBERS[f"{PUB}/turing/tu102/dev_vm.h"]["NV_VIRTUAL_FUNCTION_DOORBELL"] == 0x30090
