"""What the simulated GSP-RM and GR refuse (issue 17), one negative test each: a promotion with a missing buffer, a
wrong size or alignment, an unmapped VA, a buffer in the wrong aperture; a GR object before promotion; and the
compute class's methods the simulated GR does not execute - a shader launch above all. Each refusal is logged with its
reason; the tests read it from the simulated GSP-RM's refusals or the host's channel stops."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from nova_core.engines import facts as F
from nova_core.engines.fifo import Channel
from nova_core.engines.gr import facts as G
from nova_core.engines.gr.compute import ComputeEngine
from nova_core.engines.pushbuf import header
from nova_core.errors import ChannelFault, GrError, RpcError
from nova_core.gsp.boot import GspDevice
from nova_core.gsp.fw import RmControl

Entries = list[dict[str, int]]


def _refusal(gpu: GspDevice) -> str:
    return str(gpu.dev.sim.models["gsp_rm"].refusals[-1])


def _entry(entries: Entries, bid: G.PromoteId) -> dict[str, int]:
    return next(e for e in entries if e["bufferId"] == bid)


@pytest.fixture
def prepared(ga102: GspDevice) -> Iterator[Callable[..., str]]:
    """``promote(mutate, status)``: a GR channel's buffers allocated and mapped, the entries changed by ``mutate``,
    sent; the promotion must fail with ``status``; returns GSP-RM's reason."""
    gr = ga102.gr
    gr.golden_context()
    chans: list[Channel] = []

    def promote(mutate: Callable[[Channel, Entries], Any], status: str, engine: str = "gr0") -> str:
        ch = ga102.channels.open(engine)
        chans.append(ch)
        ctx, entries = gr._prepare(ch)
        mutate(ch, entries)
        try:
            with pytest.raises(GrError, match=status):
                gr._promote(ch, entries)
        finally:
            ctx.release()
        return _refusal(ga102)

    yield promote
    for ch in chans:
        ch.close()


# -- promotions ----------------------------------------------------------------------------------------------


def test_missing_buffer(prepared: Callable[..., str]) -> None:
    why = prepared(lambda ch, es: es.remove(_entry(es, G.PromoteId.PATCH)), "NV_ERR_INVALID_ARGUMENT")
    assert "would miss PATCH (VA), PATCH (initialized)" in why


def test_missing_global_buffer_mapping(prepared: Callable[..., str]) -> None:
    why = prepared(lambda ch, es: es.remove(_entry(es, G.PromoteId.BUFFER_BUNDLE_CB)), "NV_ERR_INVALID_ARGUMENT")
    assert "would miss BUFFER_BUNDLE_CB (VA)" in why


def test_missing_access_map(prepared: Callable[..., str]) -> None:
    why = prepared(lambda ch, es: es.remove(_entry(es, G.PromoteId.PRIV_ACCESS_MAP)), "NV_ERR_INVALID_ARGUMENT")
    assert "an access map (VA)" in why


def test_split_promotion_is_refused(prepared: Callable[..., str]) -> None:
    """Physical addresses first, VAs later (tinygrad's way): the first half leaves the context incomplete."""

    def physical_only(ch: Channel, es: Entries) -> None:
        for e in es:
            if e.get("bInitialize"):
                e["bNonmapped"] = 1
                e.pop("gpuVirtAddr")
        es[:] = [e for e in es if e.get("bInitialize")]

    assert "would miss MAIN (VA), PATCH (VA)" in prepared(physical_only, "NV_ERR_INVALID_ARGUMENT")


def test_wrong_size(prepared: Callable[..., str]) -> None:
    def shrink(ch: Channel, es: Entries) -> None:
        _entry(es, G.PromoteId.MAIN)["size"] -= 0x1000

    why = prepared(shrink, "NV_ERR_INVALID_ARGUMENT")
    assert "channel" in why and "MAIN: size" in why and "(a wrong size)" in why


def test_wrong_physical_alignment(prepared: Callable[..., str]) -> None:
    def misalign(ch: Channel, es: Entries) -> None:
        _entry(es, G.PromoteId.PATCH)["gpuPhysAddr"] += 0x800

    why = prepared(misalign, "NV_ERR_INVALID_ARGUMENT")
    assert "PATCH: physical address" in why and "is not aligned to 0x1000 (a wrong alignment)" in why


def test_wrong_virtual_alignment(prepared: Callable[..., str]) -> None:
    def misalign(ch: Channel, es: Entries) -> None:
        _entry(es, G.PromoteId.ATTRIBUTE_CB)["gpuVirtAddr"] += 0x10000

    why = prepared(misalign, "NV_ERR_INVALID_ARGUMENT")
    assert "ATTRIBUTE_CB: VA" in why and "is not aligned to 0x200000 (a wrong alignment)" in why


def test_unmapped_va(prepared: Callable[..., str]) -> None:
    def unmapped(ch: Channel, es: Entries) -> None:
        _entry(es, G.PromoteId.RTV_CB_GLOBAL)["gpuVirtAddr"] = 0x80_0000_0000

    why = prepared(unmapped, "NV_ERR_INVALID_ADDRESS")
    assert "RTV_CB_GLOBAL: [0x8000000000, +0x4000) is not mapped in the channel's address space (an unmapped VA)" in why


def test_va_of_other_memory(prepared: Callable[..., str]) -> None:
    def swapped(ch: Channel, es: Entries) -> None:
        _entry(es, G.PromoteId.PATCH)["gpuVirtAddr"] = _entry(es, G.PromoteId.MAIN)["gpuVirtAddr"]

    why = prepared(swapped, "NV_ERR_INVALID_ADDRESS")
    assert "PATCH: VA" in why and "not the buffer at" in why


def test_no_aperture(prepared: Callable[..., str]) -> None:
    def bad_attr(ch: Channel, es: Entries) -> None:
        _entry(es, G.PromoteId.MAIN)["physAttr"] = G.PhysAttr.encode(aperture=3, gpu_cacheable=1)

    assert "APERTURE 3 is none" in prepared(bad_attr, "NV_ERR_INVALID_ADDRESS")


def test_buffer_in_the_wrong_aperture(prepared: Callable[..., str]) -> None:
    """MAIN in system memory (mapped there), promoted as video memory."""
    def in_sysmem(ch: Channel, es: Entries) -> None:
        e = _entry(es, G.PromoteId.MAIN)
        buf = ch.vaspace.alloc_sysmem(e["size"], name="main in sysmem")
        assert buf.dma is not None
        e["gpuVirtAddr"], e["gpuPhysAddr"] = buf.va, buf.dma.bus_addr

    why = prepared(in_sysmem, "NV_ERR_INVALID_ADDRESS")
    assert "MAIN" in why and "the wrong aperture" in why


def test_aperture_claims_system_memory_for_video_memory(prepared: Callable[..., str]) -> None:
    def coherent(ch: Channel, es: Entries) -> None:
        _entry(es, G.PromoteId.PATCH)["physAttr"] = G.PhysAttr.encode(aperture=G.CtxAperture.COH_SYS)

    why = prepared(coherent, "NV_ERR_INVALID_ADDRESS")
    assert "in system memory" in why and "physAttr COH_SYS: the wrong aperture or memory" in why


def test_nonmapped_needs_initialize(prepared: Callable[..., str]) -> None:
    def nonmapped(ch: Channel, es: Entries) -> None:
        _entry(es, G.PromoteId.PAGEPOOL)["bNonmapped"] = 1

    assert "PAGEPOOL: bNonmapped without bInitialize" in prepared(nonmapped, "NV_ERR_INVALID_ARGUMENT")


def test_duplicate_and_unmodelled_buffers(prepared: Callable[..., str]) -> None:
    assert "bufferId 0 twice" in prepared(lambda ch, es: es.append(dict(es[0])), "NV_ERR_INVALID_ARGUMENT")
    pm = {"bufferId": G.PromoteId.PM, "gpuVirtAddr": 0x20_0000}
    assert "PM is not modelled" in prepared(lambda ch, es: es.append(pm), "NV_ERR_NOT_SUPPORTED")
    assert "bufferId 99 is not" in prepared(lambda ch, es: es.append({"bufferId": 99}), "NV_ERR_INVALID_ARGUMENT")


def test_global_buffer_initialized_once_per_device(prepared: Callable[..., str]) -> None:
    def reinit(ch: Channel, es: Entries) -> None:
        e = _entry(es, G.PromoteId.FECS_EVENT)
        other = ch.vaspace.alloc_vram(0x10000 * 2, align=0x1000)
        assert other.phys is not None
        e |= {"gpuVirtAddr": other.va, "gpuPhysAddr": other.phys, "size": other.size, "physAttr": 4, "bInitialize": 1}

    why = prepared(reinit, "NV_ERR_STATE_IN_USE")
    assert "the device's global FECS_EVENT is already initialized at vid" in why


def test_promotion_of_a_copy_channel(prepared: Callable[..., str]) -> None:
    assert "runs engine 0x9, not GR0" in prepared(lambda ch, es: None, "NV_ERR_INVALID_ARGUMENT", engine="ce0")


def test_promotion_parameters(ga102: GspDevice) -> None:
    gr = ga102.gr
    gr.golden_context()
    fifo = ga102.channels
    abi = fifo.abi
    cmd = int(abi.module.NV2080_CTRL_CMD_GPU_PROMOTE_CTX)
    with fifo.open("gr0") as ch:
        ctx, entries = gr._prepare(ch)
        try:
            def send(**over: Any) -> str:
                values = {"engineType": 1, "hChanClient": fifo.client.handle, "hObject": ch.rm.handle,
                          "entryCount": len(entries), "promoteEntry": entries} | over
                with pytest.raises(RpcError):
                    fifo.subdevice.control(cmd, abi.pack("NV2080_CTRL_GPU_PROMOTE_CTX_PARAMS", **values))
                return _refusal(ga102)

            assert "engineType 0x2 (GR0 = 0x1" in send(engineType=2)
            assert "is not the calling client" in send(hChanClient=0x1234)
            assert "promotion to a group is not modelled" in send(hObject=ch.group.handle)
            assert "is not a channel of client" in send(hObject=fifo.device.handle)
            assert "entryCount 17" in send(entryCount=17)
            assert "entryCount 0" in send(entryCount=0)
            with pytest.raises(RpcError, match="NV_ERR_INVALID_PARAM_STRUCT"):
                fifo.subdevice.control(cmd, b"\0" * 8)
        finally:
            ctx.release()


# -- the description ------------------------------------------------------------------------------------------


def test_description_is_an_internal_command(ga102: GspDevice) -> None:
    fifo = ga102.channels
    abi = fifo.abi
    cmd = int(abi.module.NV2080_CTRL_CMD_INTERNAL_STATIC_KGR_GET_CONTEXT_BUFFERS_INFO)
    size = abi.sizeof("NV2080_CTRL_INTERNAL_STATIC_GR_GET_CONTEXT_BUFFERS_INFO_PARAMS")
    with pytest.raises(RpcError, match="NV_ERR_INSUFFICIENT_PERMISSIONS"):
        fifo.subdevice.control(cmd, bytes(size))
    assert "internal commands go to GSP-RM's own subdevice" in _refusal(ga102)
    st = ga102.static
    assert st is not None and ga102.rpc is not None
    with pytest.raises(RpcError, match="NV_ERR_INVALID_PARAM_STRUCT"):
        ga102.rpc.call(RmControl(st.internal_client, st.internal_subdevice, cmd, bytes(size - 8)))
    assert f"params of {size - 8:#x} bytes, the structure is {size:#x}" in _refusal(ga102)
    with pytest.raises(RpcError, match="NV_ERR_NOT_SUPPORTED"):  # on a device, not a subdevice
        ga102.rpc.call(RmControl(st.internal_client, st.internal_device, cmd, bytes(size)))


# -- GR objects ----------------------------------------------------------------------------------------------


def test_object_refused_before_promotion(ga102: GspDevice) -> None:
    cls = G.gr_classes_for(ga102.channels.chipset).compute
    with ga102.channels.open("gr0") as ch:
        with pytest.raises(RpcError, match="NV_ERR_INVALID_STATE"):
            ch.rm.alloc(cls)
        why = _refusal(ga102)
        assert f"channel {ch.chid}'s GR context is not promoted (NV2080_CTRL_CMD_GPU_PROMOTE_CTX first)" in why
        ch.compute()  # promoted: now it is allocated


def test_object_under_a_copy_channel(ga102: GspDevice) -> None:
    classes = G.gr_classes_for(ga102.channels.chipset)
    with ga102.channels.open("ce1") as ch:
        for cls in (classes.compute, classes.threed):
            with pytest.raises(RpcError, match="NV_ERR_INVALID_ARGUMENT"):
                ch.rm.alloc(cls)
            assert "runs engine 0xa, not GR0" in _refusal(ga102)
        with pytest.raises(RpcError, match="NV_ERR_INVALID_OBJECT_PARENT"):
            ga102.channels.device.alloc(classes.compute)


# -- the simulated GR ----------------------------------------------------------------------------------------


def _stopped(ga102: GspDevice, build: Callable[[ComputeEngine, Channel], list[int]]) -> str:
    """Submit the words ``build`` gives (after SET_OBJECT of the compute class); the channel must stop."""
    with ga102.channels.open("gr0") as ch:
        compute = ch.compute()
        pb = ch.pushbuffer().set_object(1, compute.compute_class).raw(*build(compute, ch))
        with pytest.raises(ChannelFault) as exc:
            ch.submit(pb).wait()
        stop = ga102.dev.sim.models["fifo"].errors[-1][1]
        assert exc.value.report.rc == stop.rc
        return str(stop)


def _d(**fields: int) -> int:
    return G.ReportSemaphoreD.encode(**({"structure_size": 1} | fields))


def _report(compute: ComputeEngine, va: int, d: int) -> list[int]:
    return [header(F.SecOp.INC_METHOD, 1, 0x1B00, 4), va >> 32, va & 0xFFFFFFFF, 5, d]


def test_report_semaphore_options_not_modelled(ga102: GspDevice) -> None:
    def sem(ch: Channel) -> int:
        return ch.vaspace.alloc_sysmem(0x1000).va

    for fields, says in (({"awaken_enable": 1}, "AWAKEN_ENABLE is not modelled"),
                         ({"operation": G.ReportSemaphoreOp.TRAP}, "OPERATION 3 is not modelled"),
                         ({"reduction_enable": 1}, "REDUCTION_ENABLE is not modelled")):
        why = _stopped(ga102, lambda c, ch, f=fields: _report(c, sem(ch), _d(**f)))
        assert "ROBUST_CHANNEL_GR_EXCEPTION" in why and says in why and "in GR0" in why


def test_report_semaphore_faults_and_alignment(ga102: GspDevice) -> None:
    why = _stopped(ga102, lambda c, ch: _report(c, 0x80_0000_0000, _d()))
    assert "ROBUST_CHANNEL_FIFO_ERROR_MMU_ERR_FLT" in why and "0x8000000000" in why and "in GR0" in why
    why = _stopped(ga102, lambda c, ch: _report(c, ch.vaspace.alloc_sysmem(0x1000).va + 8, _d(structure_size=0)))
    assert "is not 16-byte aligned for a 16-byte release" in why


def test_methods_not_modelled(ga102: GspDevice) -> None:
    why = _stopped(ga102, lambda c, ch: [header(F.SecOp.INC_METHOD, 1, 0x1F0, 1), 0])
    assert "method 0x01f0 = 0x0 of AMPERE_COMPUTE_B is not modelled by the simulated GR" in why
    why = _stopped(ga102, lambda c, ch: [header(F.SecOp.INC_METHOD, 1, 0x168, 1), 0])
    assert "REPORT_SEMAPHORE_EXECUTE = 0x0 of AMPERE_COMPUTE_B is not modelled" in why
    why = _stopped(ga102, lambda c, ch: [header(F.SecOp.INC_METHOD, 1, 0x1B0, 1), 0])
    assert "LAUNCH_DMA = 0x0 of AMPERE_COMPUTE_B is not modelled" in why  # inline-to-memory


@pytest.mark.parametrize("method, value", [(0x2B8, 0), (0x2BC, 3), (0x2C0, G.SendSignalingPcas2Action.SCHEDULE),
                                           (0x320, 0), (0x41C, 0)])
def test_shader_launches_are_refused(ga102: GspDevice, method: int, value: int) -> None:
    why = _stopped(ga102, lambda c, ch: [header(F.SecOp.INC_METHOD, 1, 0x2B4, 1), 0x1234,
                                         header(F.SecOp.INC_METHOD, 1, method, 1), value])
    assert "ROBUST_CHANNEL_GR_EXCEPTION" in why and "shader execution is not simulated" in why
    if method < 0x300:
        assert "launches the QMD at VA 0x123400" in why


def test_set_object_of_the_3d_class(ga102: GspDevice) -> None:
    threed = G.gr_classes_for(ga102.channels.chipset).threed
    with ga102.channels.open("gr0") as ch:
        ch.compute()
        obj = ch.rm.alloc(threed)  # GSP-RM allocates it on a promoted channel ...
        with pytest.raises(ChannelFault):  # ... but the simulated GR executes the compute class only
            ch.submit(ch.pushbuffer().set_object(0, threed)).wait()
        assert "whose class is 0xc7c0" in str(ga102.dev.sim.models["fifo"].errors[-1][1])
        obj.free()
