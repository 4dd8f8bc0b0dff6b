"""The simulated host and copy engine on their own (no GSP-RM): what they execute, and what they refuse."""

from __future__ import annotations

import numpy as np
import pytest
from sim_helpers import BUF_VA, RING_VA, Rig, rig

from nova_core.engines import facts as F
from nova_core.engines.pushbuf import header
from nova_core.hw.clock import SEC, US
from nova_core.mm.pte import PteFlags
from nova_core.sim import SimGpu
from nova_core.sim.engines.host import ACQUIRE_TIMEOUT_NS

CE = F.SUBCHANNEL_COPY_ENGINE


def _copy(r: Rig, dst: int, src: int, n: int, *, sem_value: int = 1, launch: int | None = None) -> list[int]:
    pb = r.pushbuffer()
    if CE not in r.ch.subchannels:
        pb.set_object(CE, r.ch.ce_class)
    pb.method(CE, "OFFSET_IN_UPPER", src >> 32, src & 0xFFFFFFFF, dst >> 32, dst & 0xFFFFFFFF)
    pb.method(CE, "LINE_LENGTH_IN", n)
    pb.method(CE, "SET_SEMAPHORE_A", r.sem_va >> 32, r.sem_va & 0xFFFFFFFF, sem_value)
    fmt = F.launch_dma_format(r.ch.ce_class)
    if launch is None:
        launch = fmt.encode(data_transfer_type=F.CeTransferType.NON_PIPELINED, src_memory_layout=F.CeLayout.PITCH,
                            dst_memory_layout=F.CeLayout.PITCH, flush_enable=1,
                            semaphore_type=F.CeSemaphoreType.RELEASE_ONE_WORD,
                            interrupt_type=F.CeInterruptType.NON_BLOCKING)
    pb.method(CE, "LAUNCH_DMA", launch)
    return pb.words


def _stop(r: Rig) -> str:
    assert r.ch.error is not None, "the channel should have been stopped"
    return str(r.ch.error)


# -- what it executes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("chip", ["tu102", "ga100", "ga102", "ad102", "gh100", "gb202"])
def test_copy_sysmem_to_vram_with_semaphore_and_interrupt(chip: str) -> None:
    r = rig(chip)
    src = r.sys_buffer("src", 1 << 21, BUF_VA)
    phys = r.vram_buffer("dst", 1 << 21, BUF_VA + (1 << 21))
    data = np.random.default_rng(5).bytes(1 << 21)
    src.write(0, data)
    seen: list[tuple[int, int]] = []
    r.host.nonstall_listeners.append(lambda rl, eng: seen.append((rl, eng)))
    r.put(_copy(r, BUF_VA + (1 << 21), BUF_VA, 1 << 21, sem_value=0x1234))
    assert r.ch.error is None, r.ch.error
    assert r.gpu.vram.read(phys, 1 << 21) == data
    assert r.sem() == 0x1234
    assert r.gp_get() == 1
    assert seen == [(r.ch.runlist, r.ch.rm_engine_type)]
    assert r.host.nonstall_counts["CE1"] == 1
    # USERD GET/TOP_LEVEL_GET follow the end of the segment just fetched
    get = r.gpu.vram.read32(r.userd + F.USERD_GET) | r.gpu.vram.read32(r.userd + F.USERD_GET_HI) << 32
    assert get == r.gpu.vram.read32(r.userd + F.USERD_TOP_LEVEL_GET) | (
        r.gpu.vram.read32(r.userd + F.USERD_TOP_LEVEL_GET_HI) << 32)
    assert RING_VA < get < RING_VA + r.ring.size


def test_copy_vram_to_sysmem_and_vram_to_vram_and_odd_sizes() -> None:
    r = rig()
    a = r.vram_buffer("a", 1 << 16, BUF_VA)
    r.vram_buffer("b", 1 << 16, BUF_VA + (1 << 16))
    out = r.sys_buffer("out", 1 << 16, BUF_VA + (2 << 16))
    data = np.random.default_rng(1).bytes(1 << 16)
    r.gpu.vram.write(a, data)
    r.put(_copy(r, BUF_VA + (1 << 16) + 3, BUF_VA + 5, 40001, sem_value=1))
    r.put(_copy(r, BUF_VA + (2 << 16), BUF_VA + (1 << 16), 1 << 16, sem_value=2))
    assert r.ch.error is None, r.ch.error
    got = out.read(0, 1 << 16)
    assert got[3:3 + 40001] == data[5:5 + 40001]
    assert got[:3] == bytes(3)
    assert r.sem() == 2


def test_pitch_copy_and_memset() -> None:
    r = rig()
    src = r.sys_buffer("src", 1 << 16, BUF_VA)
    dst = r.sys_buffer("dst", 1 << 16, BUF_VA + (1 << 16))
    data = np.random.default_rng(2).bytes(1 << 16)
    src.write(0, data)
    pb = r.pushbuffer().set_object(CE, r.ch.ce_class)
    pb.method(CE, "OFFSET_IN_UPPER", BUF_VA >> 32, BUF_VA & 0xFFFFFFFF, BUF_VA >> 32, (BUF_VA + (1 << 16)) & 0xFFFFFFFF,
              300, 200, 100, 7)  # PITCH_IN, PITCH_OUT, LINE_LENGTH_IN, LINE_COUNT
    fmt = F.launch_dma_format(r.ch.ce_class)
    pb.method(CE, "LAUNCH_DMA", fmt.encode(data_transfer_type=F.CeTransferType.NON_PIPELINED, multi_line_enable=1,
                                           src_memory_layout=F.CeLayout.PITCH, dst_memory_layout=F.CeLayout.PITCH))
    # memset_4 as UVM pushes it: CONST_B, DST_X = CONST_B, four-byte components, one component
    pb.method(CE, "SET_REMAP_CONST_B", 0xA1B2C3D4, 5 | 3 << 16)
    fill = BUF_VA + (1 << 16) + 0x8000
    pb.method(CE, "OFFSET_OUT_UPPER", fill >> 32, fill & 0xFFFFFFFF)
    pb.method(CE, "LINE_LENGTH_IN", 10)
    pb.method(CE, "LAUNCH_DMA", fmt.encode(data_transfer_type=F.CeTransferType.NON_PIPELINED, remap_enable=1,
                                           src_memory_layout=F.CeLayout.PITCH, dst_memory_layout=F.CeLayout.PITCH))
    r.put(pb.words)
    assert r.ch.error is None, r.ch.error
    got = dst.read(0, 1 << 16)
    for line in range(7):
        assert got[line * 200:line * 200 + 100] == data[line * 300:line * 300 + 100]
        assert got[line * 200 + 100:line * 200 + 200] == bytes(100)
    assert got[0x8000:0x8000 + 40] == bytes.fromhex("d4c3b2a1") * 10
    assert got[0x8000 + 40:0x8000 + 44] == bytes(4)


def test_physical_copy() -> None:
    r = rig()
    src = r.gpu.sysmem.alloc(0x1000, name="phys src")
    src.write(0, b"\x5a" * 0x1000)
    dst = r.alloc.alloc(0x1000, tag="phys dst")
    pb = r.pushbuffer().set_object(CE, r.ch.ce_class)
    pb.method(CE, "SET_SRC_PHYS_MODE", F.PhysTarget.COHERENT_SYSMEM, F.PhysTarget.LOCAL_FB)
    pb.method(CE, "OFFSET_IN_UPPER", src.bus_addr >> 32, src.bus_addr & 0xFFFFFFFF, dst >> 32, dst & 0xFFFFFFFF)
    pb.method(CE, "LINE_LENGTH_IN", 0x1000)
    fmt = F.launch_dma_format(r.ch.ce_class)
    pb.method(CE, "LAUNCH_DMA", fmt.encode(data_transfer_type=F.CeTransferType.NON_PIPELINED,
                                           src_type=F.CeAddressType.PHYSICAL, dst_type=F.CeAddressType.PHYSICAL,
                                           src_memory_layout=F.CeLayout.PITCH, dst_memory_layout=F.CeLayout.PITCH))
    r.put(pb.words)
    assert r.ch.error is None, r.ch.error
    assert r.gpu.vram.read(dst, 0x1000) == b"\x5a" * 0x1000


def test_header_kinds_and_a_method_split_across_segments() -> None:
    r = rig()
    # NON_INC: three writes to SET_REFERENCE (the last one stays); IMMD: SET_REFERENCE again with 13 bits
    r.put([header(F.SecOp.NON_INC_METHOD, 0, 0x50, 3), 1, 2, 3])
    assert r.gpu.vram.read32(r.userd + F.USERD_REF) == 3
    r.put([header(F.SecOp.IMMD_DATA_METHOD, 0, 0x50, 0x1ABC)])
    assert r.gpu.vram.read32(r.userd + F.USERD_REF) == 0x1ABC
    # an INC of 5 host-semaphore words whose data continues in the next GPFIFO entry, then END_PB_SEGMENT
    va = r.sem_va + 8
    sem_exec = F.SemExecute.encode(operation=F.SemExecuteOp.RELEASE, payload_size=1)
    r.put([header(F.SecOp.INC_METHOD, 0, 0x5C, 5), va & 0xFFFFFFFF, va >> 32], ring=False)
    r.put([0xCAFEF00D, 0x12345678, sem_exec, header(F.SecOp.END_PB_SEGMENT, 0, 0, 0), 0xFFFFFFFF])
    assert r.ch.error is None, r.ch.error
    assert r.sem(8, 8) == 0x12345678_CAFEF00D
    # ONE_INC: SEM_PAYLOAD_LO gets the first word, SEM_PAYLOAD_HI the rest
    r.put([header(F.SecOp.ONE_INC, 0, 0x64, 3), 7, 8, 9, header(F.SecOp.INC_METHOD, 0, 0x6C, 1), sem_exec])
    assert r.sem(8, 8) == 9 << 32 | 7
    # a SUBROUTINE-level segment executes alike (tinygrad submits these), TOP_LEVEL_GET stays
    top = r.gpu.vram.read32(r.userd + F.USERD_TOP_LEVEL_GET)
    r.put([header(F.SecOp.IMMD_DATA_METHOD, 0, 0x50, 0x77)], level=1)
    assert r.gpu.vram.read32(r.userd + F.USERD_REF) == 0x77
    assert r.gpu.vram.read32(r.userd + F.USERD_TOP_LEVEL_GET) == top
    assert r.ch.error is None


def test_timestamped_release_and_legacy_semaphore() -> None:
    r = rig()
    va = r.sem_va + 0x100
    pb = r.pushbuffer().method(0, "SEM_ADDR_LO", va & 0xFFFFFFFF, va >> 32, 0xAB, 0,
                               F.SemExecute.encode(operation=F.SemExecuteOp.RELEASE, release_timestamp=1))
    va2 = r.sem_va + 0x200
    pb.method(0, "SEMAPHOREA", va2 >> 32, va2 & 0xFFFFFFFF, 0x55, F.SemaphoreDOp.RELEASE)  # 16-byte release
    r.put(pb.words)
    assert r.ch.error is None, r.ch.error
    assert r.sem(0x100, 8) == 0xAB and 0 < r.sem(0x108, 8) <= r.gpu.clock.now()
    assert r.sem(0x200, 4) == 0x55 and r.sem(0x204, 4) == 0 and r.sem(0x208, 8) > 0


def test_acquire_waits_for_the_cpu_then_times_out() -> None:
    r = rig()
    va = r.sem_va + 0x40
    acq = F.SemExecute.encode(operation=F.SemExecuteOp.ACQ_STRICT_GEQ)
    rel = F.SemExecute.encode(operation=F.SemExecuteOp.RELEASE)
    pb = r.pushbuffer().method(0, "SEM_ADDR_LO", va & 0xFFFFFFFF, va >> 32, 5, 0, acq)
    pb.method(0, "SEM_ADDR_LO", r.sem_va & 0xFFFFFFFF, r.sem_va >> 32, 99, 0, rel)
    r.put(pb.words)
    assert r.sem() == 0 and r.ch.acquire is not None  # blocked: the release after it has not run
    r.ring.write(r.ring.size - 0x1000 + 0x40, (5).to_bytes(4, "little"))
    r.gpu.clock.sleep(50 * US)
    assert r.sem() == 99 and r.ch.acquire is None and r.ch.error is None
    # nobody releases this one: after ACQUIRE_TIMEOUT_NS the channel ends with a PBDMA error
    r.put(r.pushbuffer().method(0, "SEM_ADDR_LO", va & 0xFFFFFFFF, va >> 32, 6, 0, acq).words)
    r.gpu.clock.sleep(ACQUIRE_TIMEOUT_NS + SEC // 10)
    assert "ROBUST_CHANNEL_PBDMA_ERROR" in _stop(r) and "not satisfied" in _stop(r)


def test_control_entries_and_ring_bounds() -> None:
    r = rig()
    nop = F.GpEntry.encode(length=0, get_hi=F.GpEntryOpcode.NOP)
    r.ring.write(0, nop.to_bytes(8, "little"))
    r.gp_put = 1
    r.kick()
    assert r.ch.error is None and r.gp_get() == 1
    r.gpu.vram.write32(r.userd + F.USERD_GP_PUT, r.entries)  # one past the ring
    r.gp_put = r.entries
    r.gpu.bar0.write32(0xBB0090, r.ch.chid | r.ch.runlist << 16)
    r.gpu.clock.sleep(10 * US)
    assert "GP_PUT 16 is outside the GPFIFO ring of 16 entries" in _stop(r)


def test_only_the_faulting_channel_stops() -> None:
    gpu = SimGpu("ga102")
    a = rig(gpu=gpu, chid=3, engine=0)
    b = rig(gpu=gpu, chid=9, engine=0, alloc=a.alloc)
    b.sys_buffer("src", 0x1000, BUF_VA).write(0, b"\x11" * 0x1000)
    b_dst = b.sys_buffer("dst", 0x1000, BUF_VA + 0x1000)
    a.sys_buffer("dst", 0x1000, BUF_VA + 0x1000)
    a.put(_copy(a, BUF_VA + 0x1000, 0x7F_0000_0000, 0x1000))  # nothing mapped at the source in a's space
    assert "ROBUST_CHANNEL_FIFO_ERROR_MMU_ERR_FLT (INVALID_PDE) at VA 0x7f00000000 in CE0" in _stop(a)
    b.put(_copy(b, BUF_VA + 0x1000, BUF_VA, 0x1000, sem_value=7))
    assert b.ch.error is None and b.sem() == 7 and b_dst.read(0, 4) == b"\x11" * 4
    # the stopped channel runs nothing more: its doorbell is ignored
    before = len(a.host.ignored)
    a.put([header(F.SecOp.IMMD_DATA_METHOD, 0, 0x50, 1)])
    assert len(a.host.ignored) == before + 1 and "errored" in a.host.ignored[-1]


# -- what it refuses ---------------------------------------------------------------------------------------


def _refused(r: Rig, words: list[int]) -> str:
    r.put(words)
    return _stop(r)


def test_refuses_unknown_host_method() -> None:
    r = rig()
    assert "host method 0x0044 = 0x1 (subchannel 0) is not a method of AMPERE_CHANNEL_GPFIFO_A" in _refused(
        r, [header(F.SecOp.INC_METHOD, 0, 0x44, 1), 1])


def test_refuses_legacy_semaphore_on_blackwell() -> None:
    r = rig("gb202")
    assert "host method 0x0010" in _refused(r, [header(F.SecOp.INC_METHOD, 0, 0x10, 1), 0])


def test_refuses_method_on_unbound_subchannel() -> None:
    r = rig()
    msg = _refused(r, [header(F.SecOp.INC_METHOD, 5, 0x300, 1), 0])
    assert "ROBUST_CHANNEL_PBDMA_ERROR" in msg and "subchannel 5, to which no object is bound" in msg


def test_refuses_unknown_ce_method() -> None:
    r = rig()
    pb = r.pushbuffer().set_object(CE, r.ch.ce_class).raw(header(F.SecOp.INC_METHOD, CE, 0x1F0, 1), 0)
    msg = _refused(r, pb.words)
    assert "ROBUST_CHANNEL_CE1_ERROR" in msg and "method 0x01f0 is not a method of AMPERE_DMA_COPY_B" in msg


@pytest.mark.parametrize("cls, why", [(0xC6B5, "whose class is 0xc7b5"), (0x1234, "whose class is 0xc7b5")])
def test_refuses_set_object_of_another_class(cls: int, why: str) -> None:
    r = rig()
    assert why in _refused(r, r.pushbuffer().set_object(CE, cls).words)


def test_refuses_set_object_without_the_rm_object() -> None:
    r = rig()
    r.ch.objects.clear()
    assert "no object of that class was allocated under channel 3" in _refused(
        r, r.pushbuffer().set_object(CE, r.ch.ce_class).words)


@pytest.mark.parametrize("op", [F.SecOp.GRP2_USE_TERT, F.SecOp.RESERVED6])
def test_refuses_reserved_header(op: F.SecOp) -> None:
    r = rig()
    assert f"SEC_OP {op.name} is reserved or not modelled" in _refused(r, [op << 29 | 0x10000])


def test_refuses_illegal_control_entry() -> None:
    r = rig()
    r.ring.write(0, F.GpEntry.encode(get_hi=F.GpEntryOpcode.ILLEGAL).to_bytes(8, "little"))
    r.gp_put = 1
    r.kick()
    assert "control GPFIFO entry" in _stop(r) and "ILLEGAL" in _stop(r)


def test_refuses_an_instance_block_nobody_joined() -> None:
    r = rig(join=False)
    msg = _refused(r, [header(F.SecOp.IMMD_DATA_METHOD, 0, 0x50, 1)])
    assert "UNBOUND_INST_BLOCK" in msg and "did not join" in msg


def test_refuses_a_ramfc_gsp_rm_did_not_write() -> None:
    r = rig()
    r.gpu.vram.write32(r.inst + F.RAMFC_SIGNATURE, 0)
    assert "signature 0x0 (0xface expected)" in _refused(r, [header(F.SecOp.IMMD_DATA_METHOD, 0, 0x50, 1)])


def test_mmu_fault_on_the_pushbuffer() -> None:
    r = rig()
    far = 0x30_0000_0000
    r.ring.write(0, (F.GpEntry.encode(get=(far >> 2) & 0x3FFFFFFF, get_hi=far >> 32, length=4)).to_bytes(8, "little"))
    r.gp_put = 1
    r.kick()
    assert r.ch.error is not None and r.ch.error.fault_va == far and r.ch.error.unit == "PBDMA"
    assert r.ch.error.fault_type is F.MmuFaultType.INVALID_PDE


def test_mmu_fault_writing_read_only_memory() -> None:
    r = rig()
    r.sys_buffer("src", 0x1000, BUF_VA)
    r.sys_buffer("ro", 0x1000, BUF_VA + 0x1000, read_only=True)
    r.put(_copy(r, BUF_VA + 0x1000, BUF_VA, 0x1000))
    assert r.ch.error is not None and r.ch.error.fault_type is F.MmuFaultType.WRITE
    assert r.ch.error.fault_va == BUF_VA + 0x1000


@pytest.mark.parametrize("fields, why", [
    ({"src_memory_layout": 0}, "BLOCKLINEAR"),
    ({"semaphore_reduction_enable": 1}, "SEMAPHORE_REDUCTION_ENABLE"),
    ({"interrupt_type": F.CeInterruptType.BLOCKING}, "BLOCKING"),
    ({"semaphore_type": F.CeSemaphoreType.RELEASE_CONDITIONAL_INTR}, "CONDITIONAL_INTR"),
])
def test_ce_refuses_what_it_does_not_model(fields: dict[str, int], why: str) -> None:
    r = rig()
    r.sys_buffer("src", 0x1000, BUF_VA)
    r.sys_buffer("dst", 0x1000, BUF_VA + 0x1000)
    base = {"data_transfer_type": F.CeTransferType.NON_PIPELINED, "src_memory_layout": F.CeLayout.PITCH,
            "dst_memory_layout": F.CeLayout.PITCH}
    launch = F.launch_dma_format(r.ch.ce_class).encode(**(base | fields))
    msg = _refused(r, _copy(r, BUF_VA + 0x1000, BUF_VA, 0x100, launch=launch))
    assert "ROBUST_CHANNEL_CE1_ERROR" in msg and why in msg


def test_ce_refuses_a_misaligned_semaphore() -> None:
    r = rig()
    pb = r.pushbuffer().set_object(CE, r.ch.ce_class)
    pb.method(CE, "SET_SEMAPHORE_A", r.sem_va >> 32, (r.sem_va + 2) & 0xFFFFFFFF, 1)
    pb.method(CE, "LAUNCH_DMA", F.launch_dma_format(r.ch.ce_class).encode(
        semaphore_type=F.CeSemaphoreType.RELEASE_ONE_WORD))
    assert "not 4-byte aligned" in _refused(r, pb.words)


# -- the doorbell ---------------------------------------------------------------------------------------------


def test_stale_and_foreign_tokens_do_nothing() -> None:
    r = rig()
    words = [header(F.SecOp.IMMD_DATA_METHOD, 0, 0x50, 0x42)]
    r.put(words, ring=False)
    r.gpu.vram.write32(r.userd + F.USERD_GP_PUT, r.gp_put)
    bar = r.gpu.bar0
    for token, why in [(r.ch.chid | (r.ch.runlist + 1) << 16, "a stale token"), (77 | 1 << 16, "no channel 77")]:
        bar.write32(0xBB0090, token)
        r.gpu.clock.sleep(10 * US)
        assert why in r.host.ignored[-1]
        assert r.gp_get() == 0 and r.gpu.vram.read32(r.userd + F.USERD_REF) == 0
    r.ch.scheduled = False
    bar.write32(0xBB0090, r.ch.chid | r.ch.runlist << 16)
    r.gpu.clock.sleep(10 * US)
    assert "not scheduled" in r.host.ignored[-1] and r.gp_get() == 0
    r.ch.scheduled = True
    r.kick()  # the right token: the work runs
    assert r.gp_get() == 1 and r.gpu.vram.read32(r.userd + F.USERD_REF) == 0x42


def test_gb20x_doorbell_needs_runlist_doorbell() -> None:
    r = rig("gb202")  # (BLACKWELL_CHANNEL_GPFIFO_B has no SET_REFERENCE: a semaphore release shows the run)
    r.put(r.pushbuffer().method(0, "SEM_ADDR_LO", r.sem_va & 0xFFFFFFFF, r.sem_va >> 32, 9, 0,
                                F.SemExecute.encode(operation=F.SemExecuteOp.RELEASE)).words, ring=False)
    r.gpu.vram.write32(r.userd + F.USERD_GP_PUT, r.gp_put)
    r.gpu.bar0.write32(0xBB0090, r.ch.chid | r.ch.runlist << 16)  # without bit 30
    r.gpu.clock.sleep(10 * US)
    assert "RUNLIST_DOORBELL (bit 30) is not set" in r.host.ignored[-1] and r.gp_get() == 0
    r.gpu.bar0.write32(0xBB0090, r.token)
    r.gpu.clock.sleep(10 * US)
    assert r.gp_get() == 1 and r.sem() == 9


def test_read_only_mapping_flag_is_honoured_by_the_helper() -> None:
    # guard for the fault test above: PteFlags(read_only=True) really produces a read-only PTE the MMU sees
    r = rig()
    r.sys_buffer("ro", 0x1000, BUF_VA, read_only=True)
    w = r.host.mmu.walk(r.vmm.pdb, BUF_VA)
    assert w.read_only and PteFlags(read_only=True).read_only
