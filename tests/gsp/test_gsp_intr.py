"""The kernel interrupt table (NV2080_CTRL_CMD_INTERNAL_INTR_GET_KERNEL_TABLE) per firmware version, the simulated
GSP-RM's answer and refusals, and the GSP interrupt handler (nouveau r535_gsp_intr / OpenRM kgspService_TU102)."""

from __future__ import annotations

import ctypes

import pytest

from nova_core.errors import GspError, IrqError
from nova_core.gsp import bindings
from nova_core.gsp.fw import GspAbi
from nova_core.gsp.intr import GspInterrupt, engine_names, parse_vector_table
from nova_core.irq import EngineVectors, VectorTable
from nova_core.regs import falcon as F
from nova_core.sim import SimGpu
from nova_core.sim.gsp_rm.intr import engine_vectors, kernel_table

VERSIONS = list(bindings.SUPPORTED)


@pytest.mark.parametrize("version", VERSIONS)
def test_params_layout_is_the_headers(version: str) -> None:
    """Pinned by literals from ctrl2080internal.h (u32 tableLen; 128 x {u16 engineIdx, u32 pmcIntrMask, u32
    vectorStall, u32 vectorNonStall}; 7 x {u8 start, u8 end}), not by the generated module alone."""
    m = bindings.load(version)
    p, e = m.NV2080_CTRL_INTERNAL_INTR_GET_KERNEL_TABLE_PARAMS, m.NV2080_CTRL_INTERNAL_INTR_GET_KERNEL_TABLE_ENTRY
    assert ctypes.sizeof(p) == 0x814 and ctypes.sizeof(e) == 0x10
    assert (p.tableLen.offset, p.table.offset, p.subtreeMap.offset) == (0, 4, 0x804)
    assert (e.engineIdx.offset, e.pmcIntrMask.offset, e.vectorStall.offset, e.vectorNonStall.offset) == (0, 4, 8, 12)
    assert m.NV2080_CTRL_CMD_INTERNAL_INTR_GET_KERNEL_TABLE == 0x20800A5C
    assert m.NV2080_CTRL_INTERNAL_INTR_MAX_TABLE_SIZE == 128 and m.NV_INTR_VECTOR_INVALID == 0xFFFFFFFF


def test_engine_numbering_moved_between_535_and_550() -> None:
    """MC_ENGINE_IDX_* (engine_idx.h): GSP 49 in 535.113.01, 50 from 550 (a reserved index was inserted)."""
    assert bindings.load("535.113.01").MC_ENGINE_IDX_GSP == 49
    assert bindings.load("550.163.01").MC_ENGINE_IDX_GSP == 50 == bindings.load("570.144").MC_ENGINE_IDX_GSP
    for v in VERSIONS:
        names = engine_names(GspAbi.for_version(v))
        assert names[bindings.load(v).MC_ENGINE_IDX_GSP] == "GSP" and "NVENC0" in names.values()


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("chip", ["tu102", "ga100", "ad102", "gh100"])
def test_simulated_table_round_trip(version: str, chip: str) -> None:
    gpu = SimGpu(chip)
    abi = GspAbi.for_version(version)
    table = parse_vector_table(abi, kernel_table(abi.module, gpu.chipset))
    assert [(e.engine, e.stall, e.nonstall) for e in table.entries] == engine_vectors(gpu.chipset)
    table.check(gpu.facts.vfn_leaves)
    assert table.subtrees["ESCHED_DRIVEN_ENGINE"] == (3, 3)
    assert table.subtrees["ESCHED_DRIVEN_ENGINE_NOTIFICATION"] == (0, 0)
    assert ("RUNLIST" in table.subtrees) == (chip == "gh100")  # intrInitSubtreeMap_GH100 only
    assert "DEFAULT" not in table.subtrees  # left NV2080_INTR_INVALID_SUBTREE


def test_malformed_tables_are_refused() -> None:
    abi = GspAbi.for_version("535.113.01")
    p = abi.build("NV2080_CTRL_INTERNAL_INTR_GET_KERNEL_TABLE_PARAMS")
    p.tableLen = 129
    with pytest.raises(GspError, match="tableLen 129 > NV2080_CTRL_INTERNAL_INTR_MAX_TABLE_SIZE 128"):
        parse_vector_table(abi, bytes(p))
    with pytest.raises(GspError):
        parse_vector_table(abi, bytes(16))
    with pytest.raises(IrqError, match="GSP stall vector 256 is outside the 8 leaves"):
        VectorTable((EngineVectors("GSP", 50, 256, None),)).check(8)
    with pytest.raises(IrqError, match="vector 3 is both GR0 stall and CE0 nonstall"):
        VectorTable((EngineVectors("GR0", 84, 3, None), EngineVectors("CE0", 15, 200, 3))).check(8)


# -- the handler ------------------------------------------------------------------------------------------------


def _gsp(chip: str) -> tuple[SimGpu, GspInterrupt]:
    gpu = SimGpu(chip)
    gpu.models["falcon"].gsp.start_riscv()  # type: ignore[attr-defined]  # GSP-RM's routing: SWGEN0|HALT to the host
    return gpu, GspInterrupt(gpu.bar0, gpu.chipset)


@pytest.mark.parametrize("chip", ["tu102", "ga100", "ga102"])
def test_swgen0_is_acknowledged_and_wakes_the_waiters(chip: str) -> None:
    gpu, h = _gsp(chip)
    falcon = gpu.models["falcon"].gsp  # type: ignore[attr-defined]
    assert not h(192) and h.stats.unclaimed == 1  # nothing routed to the host is pending
    falcon.raise_irq(F.IRQ_SWGEN0)
    count = h.wakeup.count
    assert h(192)
    assert falcon.reg(F.NV_PFALCON_FALCON_IRQSTAT) & F.IRQ_SWGEN0 == 0 and h.wakeup.count == count + 1
    assert h.stats.messages == 1 and gpu.log.errors() == []  # TU10x: no retrigger written (it has none)


def test_halt_and_unknown_causes() -> None:
    gpu, h = _gsp("ga102")
    falcon = gpu.models["falcon"].gsp  # type: ignore[attr-defined]
    falcon.raise_irq(F.IRQ_HALT)
    assert h(192) and h.stats.halts == 1 and "HALT" in h.reports[-1]
    assert falcon.reg(F.NV_PFALCON_FALCON_IRQSTAT) == 0
    base2 = F.FALCON.GSP + F.FALCON2_OFFSET
    for reg in (F.NV_PRISCV_RISCV_IRQMASK, F.NV_PRISCV_RISCV_IRQDEST):
        gpu.bar0.poke(reg.addr(base2), gpu.bar0.peek(reg.addr(base2)) | F.IRQ_SWGEN1)
    falcon.raise_irq(F.IRQ_SWGEN1)
    assert h(192) and h.stats.other == 1 and "0x80 not serviced: masked (IRQMCLR)" in h.reports[-1]
    assert falcon.reg(F.NV_PFALCON_FALCON_IRQSTAT) == 0
