"""The GR engine on the simulated GPU: GSP-RM's context-buffer description, the golden context made once per device,
each channel's buffers allocated, mapped and promoted, the compute class on the channel, its semaphores and fences,
a refused shader launch, teardown and the leak test (issue 17)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import pytest

from nova_core.engines.gr import facts as G
from nova_core.engines.gr.context import PHYS_ATTR_VIDMEM, Graphics
from nova_core.errors import BootError, ChannelError, ChannelFault, GrError
from nova_core.gsp.boot import GspDevice
from nova_core.regs.mmu import PteAperture
from nova_core.sim.gsp_rm.gr import GOLDEN_MAGIC, GrRm

Booter = Callable[..., GspDevice]
CHIPS = {"tu102": (0xC5C0, "535.113.01"), "ga100": (0xC6C0, "535.113.01"), "ga102": (0xC7C0, "535.113.01"),
         "ad102": (0xC9C0, "535.113.01"), "gh100": (0xCBC0, "570.144"), "gb202": (0xCEC0, "570.144")}


def _sim_gr(gpu: GspDevice) -> GrRm:
    gr = gpu.dev.sim.models["gsp_rm"].gr
    assert isinstance(gr, GrRm)
    return gr


@pytest.mark.parametrize("chip", sorted(CHIPS))
def test_compute_semaphore_on_every_chip(chip: str, booter: Booter) -> None:
    compute_class, version = CHIPS[chip]
    gpu = booter(chip)
    assert gpu.firmware is not None and gpu.firmware.version == version
    gr = gpu.gr
    info = gr.info()
    assert len(info.entries) == (0x19 if version == "535.113.01" else 0x1A)  # GRAPHICS_SETUP from 550
    assert {e.name for e in info.entries if e.supported} >= {"GRAPHICS", "GRAPHICS_PATCH", "GRAPHICS_ATTRIBUTE_CB"}
    golden = gr.golden_context()
    assert golden.promoted and [b.name for b in golden.buffers] == [k.name for k in G.CTX_BUFFERS]
    with gpu.channels.open("gr0") as ch:
        compute = ch.compute()
        assert compute.compute_class == compute_class
        sem = ch.vaspace.alloc_sysmem(0x1000)
        compute.semaphore_release(sem, 0xC0FFEE).wait()
        assert sem.read(0, 4) == (0xC0FFEE).to_bytes(4, "little")
        assert [b["name"] for b in compute.context.as_json()] == [k.name for k in G.CTX_BUFFERS if not k.golden_only]
    assert _sim_gr(gpu).golden_builds == 1


def test_description_sizes_the_buffers(ga102: GspDevice) -> None:
    gr = ga102.gr
    info = gr.info()
    sim = _sim_gr(ga102)
    assert [(e.size, e.alignment) for e in info.entries] == sim.table  # what GSP-RM answered, entry by entry
    specs = {s.kind.name: s for s in gr.specs()}
    main = info.entry(G.EngineCtxId.GRAPHICS)
    assert main is not None and specs["MAIN"].size == G.main_buffer_size(main.size)
    attrib = specs["ATTRIBUTE_CB"]
    assert attrib.alignment == 1 << (attrib.size - 1).bit_length()  # mapped at an offset aligned to its size
    assert info.entry(G.EngineCtxId.VLD) is None and info.entry(0x40) is None
    for s in specs.values():
        assert s.place >= s.alignment and s.place % s.alignment == 0


def test_golden_context_is_made_once_and_reused(ga102: GspDevice) -> None:
    gr = ga102.gr
    sim = _sim_gr(ga102)
    golden = gr.golden_context()
    promotions = gr.promotions
    chans = [ga102.channels.open("gr0") for _ in range(3)]
    try:
        computes = [c.compute() for c in chans]
        assert gr.golden_context() is golden and sim.golden_builds == 1
        assert gr.promotions == promotions + 3  # one per channel, none for the golden context again
        globals_: dict[str, set[int]] = {}
        for ch, compute in zip(chans, computes, strict=True):
            main = compute.context.buffers[0]
            header = main.read(0, 32)  # GSP-RM started the channel's context from the golden image
            assert header.startswith(GOLDEN_MAGIC)
            assert int.from_bytes(header[16:20], "little") == golden.chid
            assert int.from_bytes(header[24:28], "little") == ch.chid
            for buf in compute.context.buffers:
                m = ch.vaspace.vmm.lookup(buf.va)
                assert m is not None and m.segments[0].aperture is PteAperture.VIDEO_MEMORY
                name = buf.name.removeprefix("gr ")
                globals_.setdefault(name, set()).add(m.segments[0].addr)
        kinds = {k.name: k for k in G.CTX_BUFFERS}
        for name, phys in globals_.items():  # global buffers: the same memory in every channel; the others their own
            assert len(phys) == (1 if kinds[name].global_ else 3), name
    finally:
        for c in chans:
            c.close()


def test_buffers_mapped_with_the_reported_alignment_and_attributes(ga102: GspDevice) -> None:
    gr = ga102.gr
    specs = {s.kind.name: s for s in gr.specs()}
    with ga102.channels.open("gr0") as ch:
        promoted = ch.compute().context.promoted
        for p in promoted:
            s = specs[p.name]
            m = ch.vaspace.vmm.lookup(p.va or 0)
            assert p.va is not None and m is not None and p.va % s.alignment == 0 and p.size == s.size
            assert m.segments[0].addr % s.alignment == 0
            assert m.flags.privileged and m.flags.read_only == (p.name == "PRIV_ACCESS_MAP")
            assert (p.phys is not None) == (p.name in ("MAIN", "PATCH"))  # globals were initialized with the golden
    golden = {b.name: b for b in gr.golden_context().buffers}
    assert golden["PRIV_ACCESS_MAP"].va is None and golden["PRIV_ACCESS_MAP"].phys is not None
    assert PHYS_ATTR_VIDMEM == 4  # nouveau and tinygrad: VIDMEM, GPU_CACHEABLE_NO


def test_fence_on_a_compute_channel(ga102: GspDevice) -> None:
    sim = ga102.dev.sim
    with ga102.channels.open("gr0") as ch:
        compute = ch.compute()
        before = sim.models["fifo"].nonstall_counts["GR0"]
        fence = compute.fence()
        fence.wait()
        assert fence.done and ch.semaphore_value() == fence.value and ch.irq_driven
        assert sim.models["fifo"].nonstall_counts["GR0"] == before + 1
        assert sim.models["fifo"].graphics[1].semaphores >= 1  # the compute class released it, not host
        sem = ch.vaspace.alloc_sysmem(0x1000)
        t0 = sim.clock.now()
        compute.semaphore_release(sem, 7, offset=0x100, timestamp=True).wait()
        data = sem.read(0x100, 16)
        assert data[:8] == (7).to_bytes(8, "little") and int.from_bytes(data[8:], "little") >= t0
        # the host's own semaphore release works on the same channel (the default release of a submission)
        ch.fence().wait()


def test_shader_launch_is_refused_and_stops_only_its_channel(ga102: GspDevice) -> None:
    fifo = ga102.channels
    with fifo.open("gr0") as other, fifo.open("gr0") as ch:
        other.compute().fence().wait()
        compute = ch.compute()
        qmd = ch.vaspace.alloc_sysmem(0x1000)
        with pytest.raises(ChannelFault) as exc:
            compute.launch(qmd).wait()
        report = exc.value.report
        assert report.rc == G.RC_GR_EXCEPTION and "ROBUST_CHANNEL_GR_EXCEPTION" in str(report)
        stops = ga102.dev.sim.models["fifo"].errors
        assert "SEND_SIGNALING_PCAS2_B" in stops[-1][1].reason and "shader execution is not simulated" in \
            stops[-1][1].reason and f"{qmd.va:#x}" in stops[-1][1].reason
        other.compute().fence().wait()  # the other GR channel goes on


def test_compute_needs_a_gr_channel(ga102: GspDevice) -> None:
    with ga102.channels.open("ce0") as ch, pytest.raises(ChannelError, match="runs CE0, not a GR engine"):
        ch.compute()
    with ga102.channels.open("gr0") as ch, pytest.raises(ChannelError, match="not a copy engine"):
        ch.copy_engine()


def test_compute_arguments_are_checked(ga102: GspDevice) -> None:
    with ga102.channels.open("gr0") as ch:
        compute = ch.compute()
        sem = ch.vaspace.alloc_sysmem(0x1000)
        with pytest.raises(ChannelError, match="not 4-byte aligned"):
            compute.semaphore_release(sem, 1, offset=2)
        with pytest.raises(ChannelError, match="outside"):
            compute.semaphore_release(sem, 1, offset=0x1000)
        with pytest.raises(ChannelError, match="32-bit"):
            compute.semaphore_release(sem, 1 << 32)
        with pytest.raises(ChannelError, match="256-byte aligned"):
            compute.launch(sem.va + 0x10)
        with ga102.channels.open("gr0") as other, pytest.raises(ChannelError, match="another address space"):
            compute.semaphore_release(other.vaspace.alloc_sysmem(0x1000), 1)
        assert compute.fence().wait().done  # nothing was submitted by the refused calls


def test_a_shared_address_space(ga102: GspDevice) -> None:
    fifo = ga102.channels
    with fifo.address_space("gr-shared") as space:
        with fifo.open("gr0", vaspace=space) as a, fifo.open("gr0", vaspace=space) as b:
            sem = space.alloc_sysmem(0x1000)
            a.compute().semaphore_release(sem, 1).wait()
            b.compute().semaphore_release(sem, 2, offset=4).wait()
            assert sem.read(0, 8) == (1).to_bytes(4, "little") + (2).to_bytes(4, "little")
            n = len(space.buffers())
        assert len(space.buffers()) == n - 2 * 8 - 2  # each context's 8 buffers (and both rings) went with it


def _footprint(gpu: GspDevice) -> dict[str, Any]:
    fifo = gpu.channels
    sim = gpu.dev.sim
    assert gpu.bars is not None and gpu.client is not None
    return {"fifo": fifo.stats(), "gr": gpu.gr.stats(), "vram": gpu.bars.allocator.stats().as_json(),
            "instmem": len(fifo.instmem.objects()), "sysmem": sim.sysmem.allocated_bytes,
            "rm_objects": len(gpu.client.objects()), "sim_rm": sim.models["gsp_rm"].objects.count(),
            "sim_channels": len(sim.models["fifo"].channels), "sim_gr": len(_sim_gr(gpu).channels),
            "bar2_maps": len(fifo.bar2_space.vmm.mappings())}


def test_create_destroy_cycles_leak_nothing(ga102: GspDevice) -> None:
    """NOVA_GR_LEAK_CYCLES compute channels opened, promoted and closed (default 1,000, the issue's figure) leave the
    allocators, the RM handles on both sides and the simulated GPU as they were."""
    fifo = ga102.channels
    cycles = int(os.environ.get("NOVA_GR_LEAK_CYCLES", "1000"))
    with fifo.open("gr0") as ch:  # the golden context, the FIFO's USERD page
        ch.compute()
    before = _footprint(ga102)
    t0 = time.perf_counter()
    for i in range(cycles):
        with fifo.open("gr0") as ch:
            compute = ch.compute()
            if i % 100 == 0:
                compute.fence().wait()
    seconds = time.perf_counter() - t0
    assert _footprint(ga102) == before
    assert _sim_gr(ga102).golden_builds == 1
    print(f"{cycles} GR channel create/destroy cycles in {seconds:.1f} s ({seconds / cycles * 1e3:.1f} ms each)")


def test_teardown_frees_the_global_buffers(booter: Booter) -> None:
    gpu = booter("tu102")
    gr = gpu.gr
    assert gpu.bars is not None
    gpu.channels.open("gr0").close()  # the FIFO's USERD page (kept until the FIFO closes)
    bar2 = gpu.channels.bar2_space.vmm  # its idle page tables are a cache (freed on pressure), not GR's: trimmed
    bar2.trim()
    start = gpu.bars.allocator.stats().as_json()
    ch = gpu.channels.open("gr0")
    ch.compute().fence().wait()
    assert gr.stats() == {"contexts": 1, "global_buffers": 7, "golden": 1}
    with pytest.raises(GrError, match="still use the GR context buffers"):
        gr.close()
    ch.close()
    assert gr.stats()["contexts"] == 0
    gr.close()
    assert gr.closed and gr.stats()["global_buffers"] == 0
    bar2.trim()
    assert gpu.bars.allocator.stats().as_json() == start
    with pytest.raises(GrError, match="closed"):
        gr.golden_context()
    gpu.close()
    assert gpu.teardown_status == "clean"
    with pytest.raises(BootError):
        _ = gpu.gr


def test_device_close_with_open_compute_channels(booter: Booter) -> None:
    gpu = booter("ga100")
    gr: Graphics = gpu.gr
    chans = [gpu.channels.open("gr0") for _ in range(2)]
    for c in chans:
        c.compute().fence().wait()
    gpu.close()  # the FIFO closes the channels, then the GR engine frees its global buffers
    assert gr.closed and gr.stats() == {"contexts": 0, "global_buffers": 0, "golden": 1}
    assert all(c.closed for c in chans)
