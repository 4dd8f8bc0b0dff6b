"""The driver's FIFO on a booted simulated GPU: channels, copies, fences, errors, recovery, exhaustion, leaks."""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np
import pytest

from nova_core.engines import facts as F
from nova_core.engines.fence import Fence, signalled
from nova_core.engines.fifo import ChidAllocator
from nova_core.engines.pushbuf import header
from nova_core.errors import ChannelError, ChannelExhausted, ChannelFault
from nova_core.gsp.boot import GspDevice
from nova_core.hw.clock import US

KINDS = ("sysmem", "vram")


def _buf(space: Any, kind: str, size: int) -> Any:
    return space.alloc_sysmem(size) if kind == "sysmem" else space.alloc_vram(size)


@pytest.mark.parametrize("src_kind", KINDS)
@pytest.mark.parametrize("dst_kind", KINDS)
def test_copy_every_direction(ga102: GspDevice, src_kind: str, dst_kind: str) -> None:
    with ga102.channels.open("ce1") as ch:
        n = (1 << 20) + 12345
        src, dst = _buf(ch.vaspace, src_kind, n), _buf(ch.vaspace, dst_kind, n)
        data = np.random.default_rng(3).bytes(n)
        src.write(data)
        dst.write(bytes(3))  # (VRAM comes back as its last user left it; system memory zeroed)
        fence = ch.copy_engine().copy(dst, src, n - 7, dst_offset=3, src_offset=7)
        assert fence.wait() is fence and fence.done
        got = dst.read()
        assert got[3:n - 4] == data[7:] and got[:3] == bytes(3)


def test_pitch_copy_fill_and_ordering(ga102: GspDevice) -> None:
    with ga102.channels.open("ce0") as ch:
        ce = ch.copy_engine()
        src = ch.vaspace.alloc_sysmem(1 << 16)
        dst = ch.vaspace.alloc_vram(1 << 16)
        data = np.random.default_rng(4).bytes(1 << 16)
        dst.write(bytes(1 << 16))
        src.write(data)
        f1 = ce.fill(dst, 0x01020304, 1 << 16)
        f2 = ce.copy_2d(dst, src, 64, 10, dst_pitch=128, src_pitch=256)
        f2.wait()
        assert f1.done and signalled(ch.semaphore_value(), f1.value)  # in order on one channel
        got = dst.read()
        for line in range(10):
            assert got[line * 128:line * 128 + 64] == data[line * 256:line * 256 + 64]
            assert got[line * 128 + 64:line * 128 + 128] == bytes.fromhex("04030201") * 16
        assert got[10 * 128:10 * 128 + 8] == bytes.fromhex("04030201") * 2


def test_rings_wrap_and_fences_track_many_submissions(ga102: GspDevice) -> None:
    with ga102.channels.open("ce2", entries=8, pushbuf=0x1000) as ch:
        ce = ch.copy_engine()
        src = ch.vaspace.alloc_sysmem(0x1000)
        dst = ch.vaspace.alloc_sysmem(0x1000)
        fences: list[Fence] = []
        for i in range(100):  # 12 times around the GPFIFO ring, dozens of times around the pushbuffer
            src.write(bytes([i]) * 16, offset=16 * (i % 256))
            fences.append(ce.copy(dst, src, 0x1000))
            if i % 7 == 0:
                fences.append(ch.fence())
        fences[-1].wait()
        assert all(f.done for f in fences)
        assert [f.value for f in fences] == list(range(1, len(fences) + 1))
        assert dst.read(16 * 99, 16) == bytes([99]) * 16
        assert ch.submissions == len(fences)
        assert ch.gp_get == ch._gp_put


def test_an_mmu_fault_stops_only_its_channel_and_recovery_works(ga102: GspDevice) -> None:
    fifo = ga102.channels
    sim = ga102.dev.sim
    with fifo.open("ce0") as good:
        bad = fifo.open("ce0")
        src = bad.vaspace.alloc_sysmem(0x1000)
        with pytest.raises(ChannelFault) as err:
            bad.copy_engine().copy(0x77_0000_0000, src, 0x1000).wait()
        rep = err.value.report
        assert (rep.chid, rep.engine, rep.rc, rep.source) == (bad.chid, "CE0", F.RC_MMU_FAULT, "RC_TRIGGERED")
        assert rep.mmu_fault_queued  # MMU_FAULT_QUEUED came first, as nouveau expects
        assert rep.fault_address is None  # 535.113.01's RC_TRIGGERED has no fault address
        assert str(rep) == (f"channel {bad.chid} (CE0): ROBUST_CHANNEL_FIFO_ERROR_MMU_ERR_FLT, fault address not "
                            f"reported [RC_TRIGGERED]")
        assert fifo.errors[-1] == rep
        # the error notifier GSP-RM wrote (OpenRM notifyFillNvNotification)
        rec = fifo.abi.parse("NvNotification", bad.notifier.read(0, 16))
        assert (rec.info32, rec.info16, rec.status) == (31, 9, 0xFFFF)
        assert rec.timeStamp.nanoseconds[0] << 32 | rec.timeStamp.nanoseconds[1] > 0
        with pytest.raises(ChannelFault):
            bad.fence()  # a stopped channel takes no more work
        # the other channel works on
        s, d = good.vaspace.alloc_sysmem(4096), good.vaspace.alloc_vram(4096)
        s.write(b"\xab" * 4096)
        good.copy_engine().copy(d, s, 4096).wait()
        assert d.read(0, 4) == b"\xab" * 4
        # recovery: free the stopped channel, a new one works on the same device
        chid = bad.chid
        bad.close()
        assert chid not in sim.models["fifo"].channels
        with fifo.open("ce0") as again:
            s2, d2 = again.vaspace.alloc_sysmem(4096), again.vaspace.alloc_sysmem(4096)
            s2.write(b"\x5c" * 4096)
            again.copy_engine().copy(d2, s2, 4096).wait()
            assert d2.read(0, 4096) == b"\x5c" * 4096 and again.error is None


def test_r570_reports_the_fault_address(booter: Any) -> None:
    gpu = booter("ga102", "570.144")
    with gpu.channels.open("ce0") as ch:
        src = ch.vaspace.alloc_sysmem(0x1000)
        with pytest.raises(ChannelFault) as err:
            ch.copy_engine().copy(src, 0x66_0000_1000, 0x1000).wait()
        rep = err.value.report
        assert rep.fault_address == 0x66_0000_1000 and rep.fault_type == "INVALID_PDE"
        assert str(rep) == (f"channel {ch.chid} (CE0): ROBUST_CHANNEL_FIFO_ERROR_MMU_ERR_FLT (INVALID_PDE), fault "
                            f"address 0x6600001000 [RC_TRIGGERED]")


@pytest.mark.parametrize("chip", ["tu102", "gh100", "gb202"])
def test_fault_and_recovery_on_other_generations(booter: Any, chip: str) -> None:
    """Turing (MMU v2, the runlist in the token), Hopper and Blackwell (MMU v3, booted through the FSP, 570.144):
    a copy, a fault that stops only its channel, and a new channel after it."""
    gpu = booter(chip)
    fifo = gpu.channels
    with fifo.open("ce1") as good:
        bad = fifo.open("ce1")
        with pytest.raises(ChannelFault) as err:
            bad.copy_engine().copy(bad.vaspace.alloc_sysmem(0x1000), 0x55_0000_0000, 0x1000).wait()
        rep = err.value.report
        assert (rep.chid, rep.engine, rep.rc) == (bad.chid, "CE1", F.RC_MMU_FAULT)
        assert rep.fault_address == (0x55_0000_0000 if gpu.info()["firmware_version"] == "570.144" else None)
        bad.close()
        for ch in (good, fifo.open("ce1")):
            src, dst = ch.vaspace.alloc_vram(3 << 20), ch.vaspace.alloc_sysmem(3 << 20)
            data = np.random.default_rng(ch.chid).bytes(3 << 20)
            src.write(data)
            ch.copy_engine().copy(dst, src, 3 << 20).wait()
            assert dst.read() == data and ch.error is None
            if ch is not good:
                ch.close()
    assert fifo.stats()["channels"] == 0


@pytest.mark.parametrize("words, rc", [
    ([header(F.SecOp.INC_METHOD, 4, 0x1F0, 1), 0], F.RC_CE_ERROR[1]),  # unknown CE method (CE1)
    ([header(F.SecOp.INC_METHOD, 6, 0x300, 1), 0], F.RC_PBDMA_ERROR),  # a subchannel nothing is bound to
    ([header(F.SecOp.INC_METHOD, 0, 0x44, 1), 0], F.RC_PBDMA_ERROR),  # not a host method
])
def test_method_errors_stop_the_channel(ga102: GspDevice, words: list[int], rc: int) -> None:
    with ga102.channels.open("ce1") as ch:
        ch.copy_engine().fill(ch.vaspace.alloc_sysmem(4096), 0, 4096).wait()  # binds subchannel 4
        with pytest.raises(ChannelFault) as err:
            ch.submit(ch.pushbuffer().raw(*words)).wait()
        assert err.value.report.rc == rc and err.value.report.chid == ch.chid


def test_a_stale_token_does_nothing(ga102: GspDevice) -> None:
    fifo = ga102.channels
    host = ga102.dev.sim.models["fifo"]
    ch = fifo.open("ce3")
    token = ch.token
    ch.close()
    before = host.doorbells
    ga102.dev.bar0.write32(0xBB0090, token)  # the freed channel's token
    ga102.dev.clock.sleep(10 * US)
    assert host.doorbells == before + 1 and f"no channel {token & 0xFFF}" in host.ignored[-1]


def test_exhaustion_is_refused_cleanly(ga102: GspDevice) -> None:
    fifo = ga102.channels
    full = fifo.chids
    fifo.chids = ChidAllocator(3)
    try:
        space = fifo.address_space("exhaust")
        chans = [fifo.open("ce0", vaspace=space) for _ in range(3)]
        with pytest.raises(ChannelExhausted, match="all 3 channel ids are in use"):
            fifo.open("ce0", vaspace=space)
        assert space.users == 3  # the refused open took nothing
        chans.pop().close()
        with fifo.open("ce0", vaspace=space) as ch:
            assert ch.chid == 2
        for c in chans:
            c.close()
        space.close()
    finally:
        fifo.chids = full


def _footprint(gpu: GspDevice) -> dict[str, Any]:
    fifo = gpu.channels
    sim = gpu.dev.sim
    assert gpu.bars is not None and gpu.client is not None
    return {"fifo": fifo.stats(), "vram": gpu.bars.allocator.stats().as_json(),
            "instmem": len(fifo.instmem.objects()), "sysmem": sim.sysmem.allocated_bytes,
            "rm_objects": len(gpu.client.objects()), "sim_rm": sim.models["gsp_rm"].objects.count(),
            "sim_channels": len(sim.models["fifo"].channels), "bar2_maps": len(fifo.bar2_space.vmm.mappings())}


def test_open_close_leaks_nothing(ga102: GspDevice) -> None:
    """NOVA_LEAK_CYCLES open/close cycles (default 500; the issue's figure is 10,000) change nothing."""
    fifo = ga102.channels
    cycles = int(os.environ.get("NOVA_LEAK_CYCLES", "500"))
    space = fifo.address_space("leak")
    keep = space.alloc_sysmem(1 << 16)  # a buffer the space keeps, as a user's would
    with fifo.open("ce0", vaspace=space):  # the first channel allocates the FIFO's USERD page
        pass
    before = _footprint(ga102)
    for i in range(cycles):
        with fifo.open("ce0" if i % 2 else "ce4", vaspace=space) as ch:
            if i % 100 == 0:
                ch.copy_engine().fill(keep, i, 4096).wait()
    assert _footprint(ga102) == before
    keep.free()
    space.close()
    mid = _footprint(ga102)
    assert mid["fifo"]["spaces"] == before["fifo"]["spaces"] - 1
    assert mid["vram"]["allocations"] < before["vram"]["allocations"] and mid["sysmem"] < before["sysmem"]
    own = [fifo.open("ce1") for _ in range(3)]  # each with its own address space
    for c in own:
        c.close()
    assert _footprint(ga102) == mid


def test_threads_copy_concurrently(ga102: GspDevice) -> None:
    fifo = ga102.channels
    errors: list[BaseException] = []
    space = fifo.address_space("threads")
    shared = fifo.open("ce0", vaspace=space)

    def work(seed: int, own: bool) -> None:
        try:
            ch = fifo.open(f"ce{seed % 5}") if own else shared
            ce = ch.copy_engine()
            src, dst = ch.vaspace.alloc_sysmem(1 << 16), ch.vaspace.alloc_vram(1 << 16)
            for k in range(5):
                data = np.random.default_rng(seed * 10 + k).bytes(1 << 16)
                src.write(data)
                ce.copy(dst, src, 1 << 16).wait()
                assert dst.read() == data
            src.free()
            dst.free()
            if own:
                ch.close()
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i, i % 2 == 0)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    shared.close()
    space.close()
    assert not errors, errors


def test_nonstall_interrupt_wakes_waiters(ga102: GspDevice) -> None:
    """The engine's non-stall vector (GSP-RM's interrupt table) is allowed while a channel on it is open; every
    submission's interrupt reaches the fence's waiters - the CE's LAUNCH_DMA and host's NON_STALL_INTERRUPT."""
    fifo = ga102.channels
    assert ga102.vfn is not None and ga102.nonstall is not None
    heard: list[tuple[int, int]] = []
    remove = fifo.nonstall.on_notify(lambda rl, eng: heard.append((rl, eng)))
    intr = ga102.dev.sim.models["intr"]
    vector = ga102.nonstall.table.engine("CE2").nonstall
    assert vector is not None
    try:
        with fifo.open("ce2") as ch:
            assert ch.irq_driven and ga102.vfn.vector(vector).allowed
            me = (ch.engine.runlist, ch.engine.rm_engine_type)
            wakes, raised = fifo.nonstall.wakeup.count, intr.raised.get(vector, 0)
            delivered = ga102.nonstall.delivered.get("CE2", 0)
            ch.copy_engine().fill(ch.vaspace.alloc_sysmem(4096), 7, 4096).wait()
            assert heard == [me] and fifo.nonstall.wakeup.count == wakes + 1
            assert intr.raised[vector] == raised + 1 and ga102.nonstall.delivered["CE2"] == delivered + 1
            ch.submit().wait()  # a host semaphore release, then NON_STALL_INTERRUPT
            assert heard == [me, me] and intr.raised[vector] == raised + 2
        assert not ga102.vfn.vector(vector).allowed  # no listener left: blocked again, as nouveau's nvkm_event
    finally:
        remove()


def test_without_interrupts_fences_poll(ga102: GspDevice) -> None:
    fifo = ga102.channels
    saved, fifo.interrupts = fifo.interrupts, None
    try:
        with fifo.open("ce1") as ch:
            assert not ch.irq_driven
            ch.copy_engine().fill(ch.vaspace.alloc_sysmem(4096), 7, 4096).wait()
            assert ch.submit().wait().done
    finally:
        fifo.interrupts = saved


def test_misuse_is_refused(ga102: GspDevice) -> None:
    fifo = ga102.channels
    with pytest.raises(ChannelError, match="no engine 'ce9'"):
        fifo.open("ce9")
    with pytest.raises(ChannelError, match="a power of two"):
        fifo.open("ce0", entries=6)
    with fifo.open("ce0") as a, fifo.open("ce1") as b:
        other = b.vaspace.alloc_sysmem(4096)
        with pytest.raises(ChannelError, match="another address space"):
            a.copy_engine().copy(other, other, 16)
        mine = a.vaspace.alloc_sysmem(4096)
        with pytest.raises(ChannelError, match="outside"):
            a.copy_engine().copy(mine, mine, 4097)
        with pytest.raises(ChannelError, match="used by 1 channel"):
            a.vaspace.close()
    with pytest.raises(ChannelError, match="is closed"):
        a.fence()
    gr = fifo.open("gr0")
    with pytest.raises(ChannelError, match="not a copy engine"):
        gr.copy_engine()
    gr.close()


def test_boot_json_lists_engines(ga102: GspDevice) -> None:
    info = ga102.info()
    assert [e["name"] for e in info["engines"]] == [e.name for e in ga102.channels.engines]
    assert info["stages"][-1]["name"] == "engines" and info["stages"][-1]["ok"]
