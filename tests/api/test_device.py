"""The base API on a booted simulated GA102: information, buffer objects, CPU mappings through BAR1, VA spaces,
channels and fences, the RM-control allowlist, events, release of everything, threads."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import pytest

from nova_core.api import (
    USER_VA_START,
    ApiError,
    Busy,
    Event,
    EventKind,
    NotAllowed,
    NovaCore,
    OutOfMemory,
    Placement,
    Revoked,
)
from nova_core.engines import facts as F
from nova_core.engines.pushbuf import Pushbuffer
from nova_core.errors import ChannelFault, SimViolation

KiB, MiB = 1 << 10, 1 << 20


def sim(core: NovaCore) -> Any:
    return core.gpu.dev.sim


def test_info(core: NovaCore) -> None:
    dev = core.device("info")
    info = dev.info()
    assert (info.chipset, info.chipset_id, info.architecture) == ("GA102", 0x172, "Ampere")
    assert info.vram_bar_bytes == 256 * MiB  # GA102's PCI BAR1 (the sim's GeForce default)
    assert info.vram_bytes == core.gpu.vram_size and info.gpu_name == "NVIDIA GeForce RTX 3090"
    assert info.engines[0] == "GR0" and "CE0" in info.engines
    assert (info.gpfifo_class, info.copy_class) == (F.AMPERE_CHANNEL_GPFIFO_A, F.AMPERE_DMA_COPY_B)
    assert info.page_sizes == (512 * MiB, 2 * MiB, 64 * KiB, 4 * KiB)
    assert info.as_json()["engines"] == list(info.engines)
    assert [e.name for e in dev.engines()] == list(info.engines)
    dev.close()


def test_alloc_placement_alignment_and_refusals(core: NovaCore) -> None:
    dev = core.device("alloc")
    alloc = core.gpu.bars.allocator
    free = alloc.stats().free
    v = dev.alloc(5000)
    assert (v.size, v.align, v.placement) == (8 * KiB, 4 * KiB, Placement.VRAM)
    big = dev.alloc(3 * MiB)
    assert big.align == 2 * MiB and big.addr % (2 * MiB) == 0  # the largest page that fits
    odd = dev.alloc(4096, align=1 << 20)
    assert odd.addr % (1 << 20) == 0
    s = dev.alloc(100, placement="sysmem")
    assert s.placement is Placement.SYSMEM and s.read() == bytes(4096)
    for bad in (0, -1, 1 << 41, "1"):
        with pytest.raises(ApiError, match="buffer size") as ei:
            dev.alloc(bad)  # type: ignore[arg-type]
        assert ei.value.errno == 22
    with pytest.raises(ApiError, match="alignment"):
        dev.alloc(4096, align=3 * 4096)
    with pytest.raises(ApiError, match="placement 'gart'"):
        dev.alloc(4096, placement="gart")
    with pytest.raises(OutOfMemory) as ei:
        dev.alloc(1 << 40)
    assert ei.value.errno == 12
    dev.close()
    assert alloc.stats().free == free


def test_cpu_mapping_goes_through_bar1(core: NovaCore) -> None:
    dev = core.device("bar1")
    bo = dev.alloc(64 * KiB)
    data = os.urandom(10_000)
    with bo.map() as m:
        assert m.via == "bar1" and m.bar1_offset is not None and (m.offset, m.size) == (0, 64 * KiB)
        assert m.bar1_offset % (64 * KiB) == 0 and m.bar1_offset + 64 * KiB <= 256 * MiB
        walk = core.gpu.bars.bar1.walk(m.bar1_offset)  # the driver's PTE under GSP-RM's BAR1 root
        assert walk.phys == bo.addr
        m.write(data, 3)
        assert m.read(3, len(data)) == data
        at = m.bar1_offset
    assert sim(core).vram.read(bo.addr + 3, len(data)) == data  # it reached VRAM
    bar1 = sim(core).models["bar1"]
    with pytest.raises(SimViolation, match=f"MMU fault: VA {at:#x}"):  # unmapped and invalidated: it faults
        core.gpu.dev.bar1.read32(at)
    assert bar1.accesses > 0
    with pytest.raises(Revoked):
        m.read(0, 4)
    dev.close()


def test_a_buffer_larger_than_bar1_is_reached_through_windows(core: NovaCore) -> None:
    dev = core.device("big")
    bo = dev.alloc(300 * MiB)  # more than the 256 MiB BAR1
    with pytest.raises(OutOfMemory, match="BAR1 space"):
        bo.map()
    tail = os.urandom(3 * MiB)
    bo.write(tail, 300 * MiB - len(tail) - 5)  # across windows, none larger than MAP_WINDOW
    assert bo.read(300 * MiB - len(tail) - 5, len(tail)) == tail
    assert sim(core).vram.read(bo.addr + 300 * MiB - 5 - len(tail), 16) == tail[:16]
    with bo.map(17 * MiB + 3, 10) as m:  # a piece: whole pages around it
        assert (m.offset, m.size) == (17 * MiB, 4 * KiB)
        m.write(b"0123456789", 17 * MiB + 3)
        with pytest.raises(ApiError, match="outside the mapped"):
            m.read(17 * MiB + 4 * KiB, 1)
    assert bo.read(17 * MiB + 3, 10) == b"0123456789"
    with pytest.raises(ApiError, match="not inside"):
        bo.map(300 * MiB - 4, 8)
    dev.close()


def test_sysmem_mapping_and_clear(core: NovaCore) -> None:
    dev = core.device("sys")
    bo = dev.alloc(8 * KiB, placement=Placement.SYSMEM)
    with bo.map() as m:
        assert m.via == "sysmem"
        m.view[:4] = b"abcd"
        assert bo.read(0, 4) == b"abcd"
    bo.clear()
    assert bo.read() == bytes(8 * KiB)
    v = dev.alloc(8 * KiB)
    v.write(b"\xff" * 8 * KiB)
    v.clear()
    assert v.read() == bytes(8 * KiB)
    with pytest.raises(ApiError, match="outside"):
        v.read(8 * KiB - 1, 2)
    dev.close()


def test_free_is_refused_while_bound_or_mapped(core: NovaCore) -> None:
    dev = core.device("busy")
    bo = dev.alloc(64 * KiB)
    vm = dev.vaspace()
    b = vm.bind(bo)
    with pytest.raises(Busy, match="bound 1 time") as ei:
        bo.free()
    assert ei.value.errno == 16
    vm.unbind(b.va)
    m = bo.map()
    with pytest.raises(Busy, match="CPU-mapped 1 time"):
        bo.free()
    m.close()
    bo.free()
    with pytest.raises(Revoked):  # freed: a second free finds nothing to free
        bo.free()
    dev.close()


@pytest.mark.parametrize("page", [4 * KiB, 64 * KiB, 2 * MiB])
def test_bind_with_a_chosen_page_size(core: NovaCore, page: int) -> None:
    dev = core.device("pages")
    bo = dev.alloc(4 * MiB, align=2 * MiB)
    vm = dev.vaspace()
    b = vm.bind(bo, USER_VA_START + 2 * MiB, page_size=page)
    assert (b.va, b.size, b.page_size) == (USER_VA_START + 2 * MiB, 4 * MiB, page)
    with vm._r.access() as s:  # the PTEs the MMU walks: that page size, that memory
        for off in (0, 3 * MiB + 4 * KiB):
            t = s.vmm.walk(b.va + off)
            assert t.page_size == page and t.phys == bo.addr + off
    assert vm.lookup(b.va + 5) == b and vm.lookup(b.va - 1) is None
    vm.unbind(b.va)
    assert vm.bindings() == []
    dev.close()


def test_bind_default_page_and_refusals(core: NovaCore) -> None:
    dev = core.device("bind")
    bo = dev.alloc(2 * MiB)
    vm = dev.vaspace()
    b = vm.bind(bo)
    assert b.va == USER_VA_START and b.page_size == 2 * MiB
    cases: list[tuple[Callable[[], object], type[ApiError], str]] = [
        (lambda: vm.bind(bo, USER_VA_START + MiB), Busy, "overlaps"),
        (lambda: vm.bind(bo, USER_VA_START + 4 * MiB, page_size=8 * KiB), ApiError, "page size 8192"),
        (lambda: vm.bind(bo, USER_VA_START + 4 * MiB + 4 * KiB, page_size=64 * KiB), ApiError, "not a multiple"),
        (lambda: vm.bind(bo, USER_VA_START - 2 * MiB), ApiError, r"GPU VAs for binds are \[0x100000000"),
        (lambda: vm.bind(bo, vm.end - MiB), ApiError, "GPU VAs for binds"),
        (lambda: vm.bind(bo, USER_VA_START + 4 * MiB, offset=2 * MiB), ApiError, "offset"),
        (lambda: vm.bind(bo, USER_VA_START + 4 * MiB, size=3 * MiB), ApiError, "is not inside"),
        (lambda: vm.unbind(USER_VA_START + 4 * KiB), ApiError, "no binding starts"),
    ]
    for call, kind, text in cases:
        with pytest.raises(kind, match=text):
            call()
    with pytest.raises(ApiError) as ei:
        vm.unbind(USER_VA_START + 4 * KiB)
    assert ei.value.errno == 2
    part = vm.bind(bo, USER_VA_START + 4 * MiB, offset=1 * MiB, size=64 * KiB)  # a piece of it elsewhere
    assert part.page_size == 64 * KiB
    other = core.device("other")
    with pytest.raises(ApiError, match="another device handle"):
        other.vaspace().bind(bo)
    other.close()
    dev.close()


def test_copy_fill_and_a_caller_pushbuffer(core: NovaCore) -> None:
    dev = core.device("copy")
    vm = dev.vaspace()
    src = dev.alloc(MiB, placement="sysmem")
    dst = dev.alloc(MiB)
    data = os.urandom(MiB)
    src.write(data)
    a, b = vm.bind(src), vm.bind(dst, page_size=4 * KiB)
    ch = dev.channel("ce1", vm)
    assert ch.engine == "CE1" and ch.vaspace is vm
    fence = ch.copy(b, a, MiB)
    assert fence.wait().done
    assert dst.read() == data
    ch.fill(b, 0x11223344, 64 * KiB, dst_offset=4096).wait()
    assert dst.read(4096, 8) == bytes.fromhex("4433221144332211")
    # a pushbuffer the caller wrote into its own memory, fetched by the GPU through the channel's page tables
    info = dev.info()
    assert info.copy_class is not None and info.gpfifo_class is not None
    pb = Pushbuffer(info.gpfifo_class).set_object(4, info.copy_class)
    pb.method(4, "OFFSET_OUT_UPPER", b.va >> 32, b.va & 0xFFFFFFFF)
    pb.method(4, "SET_REMAP_CONST_B", 0xCAFEF00D, 5 | 3 << 16)
    pb.method(4, "LINE_LENGTH_IN", 16)
    pb.method(4, "LAUNCH_DMA", F.launch_dma_format(info.copy_class).encode(
        data_transfer_type=F.CeTransferType.NON_PIPELINED, flush_enable=1, remap_enable=1,
        src_memory_layout=F.CeLayout.PITCH, dst_memory_layout=F.CeLayout.PITCH))
    words = pb.to_bytes()
    cmd = dev.alloc(4096, placement="sysmem")
    cmd.write(words)
    c = vm.bind(cmd)
    ch.submit_entries([(c.va, len(words))]).wait()
    assert dst.read(0, 8) == bytes.fromhex("0df0feca0df0feca")
    with pytest.raises(ApiError, match="not inside a binding"):
        ch.copy(b, a, 2 * MiB)
    ch.close()
    with pytest.raises(Revoked):
        fence.wait()
    dev.close()


def test_rm_control_allowlist(core: NovaCore) -> None:
    dev = core.device("rm")
    assert dev.rm_control("NV0000_CTRL_CMD_NULL", b"ping", target="client") == b"ping"
    assert dev.rm_control(0, b"pong") == b"pong"
    rpcs = len(core.gpu.timeline.of_kind("rpc"))
    for cmd, target in (("NVA06F_CTRL_CMD_BIND", "subdevice"), (0x20801112, "device"), (0xDEAD, "subdevice"),
                        ("NO_SUCH_CONTROL", "subdevice")):
        with pytest.raises(NotAllowed, match="not in the base API's allowlist") as ei:
            dev.rm_control(cmd, b"", target=target)
        assert ei.value.errno == 1
    assert len(core.gpu.timeline.of_kind("rpc")) == rpcs  # nothing was sent
    with pytest.raises(ApiError, match="target 'engine'"):
        dev.rm_control(0, target="engine")
    with pytest.raises(ApiError, match="at most 0x10000"):
        dev.rm_control(0, bytes(0x10001))
    dev.close()


def test_events_for_its_own_channels(core: NovaCore) -> None:
    dev, other = core.device("events"), core.device("bystander")
    seen: list[Event] = []
    heard_other: list[Event] = []
    dev.subscribe(None, seen.append)
    other.subscribe(None, heard_other.append)
    vm = dev.vaspace()
    ch = dev.channel("ce0", vm)
    b = vm.bind(dev.alloc(4096, placement="sysmem"))
    ch.fill(b, 1, 4096).wait()  # the copy engine's non-stall interrupt, delivered through the GSP's vector table
    assert [(e.kind, e.detail["runlist"]) for e in seen] == [(EventKind.NONSTALL, ch.runlist)]
    bad = ch.copy(b, USER_VA_START + 512 * MiB, 4096)  # nothing is mapped there: an MMU fault
    with pytest.raises(ChannelFault, match="MMU"):
        bad.wait()
    errors = [e for e in seen if e.kind is EventKind.CHANNEL_ERROR]
    assert errors and errors[0].detail["chid"] == ch.chid
    assert heard_other == []  # another handle's channel, another handle's engine
    dev.close()
    assert seen[-1].kind is EventKind.REVOKED
    other.close()


def test_close_releases_everything(core: NovaCore) -> None:
    alloc = core.gpu.bars.allocator
    fifo = core.gpu.fifo
    free, held = alloc.stats().free, fifo.stats()
    dma = len(sim(core).sysmem.mappings())
    dev = core.device("leak")
    vm = dev.vaspace()
    bos = [dev.alloc(s, placement=p) for s in (4096, 70 * KiB, 3 * MiB) for p in ("vram", "sysmem")]
    for bo in bos:
        vm.bind(bo)
    bos[0].map()
    dev.channel("ce0", vm)
    dev.channel("ce2")
    assert len(dev.resources()) == 1 + 6 + 1 + 2
    dev.close()
    assert alloc.stats().free == free and fifo.stats() == held
    assert len(sim(core).sysmem.mappings()) == dma
    assert dev.revoked and dev.resources() == []


def test_many_threads_on_one_handle(core: NovaCore) -> None:
    dev = core.device("threads")
    vm = dev.vaspace()
    ch = dev.channel("ce3", vm)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for _ in range(3):
                src, dst = dev.alloc(64 * KiB, placement="sysmem"), dev.alloc(64 * KiB)
                data = bytes([i]) * (64 * KiB)
                src.write(data)
                a, b = vm.bind(src), vm.bind(dst)
                ch.copy(b, a, 64 * KiB).wait()
                assert dst.read() == data
                vm.unbind(a.va)
                vm.unbind(b.va)
                src.free()
                dst.free()
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert vm.bindings() == []
    dev.close()
