"""End-to-end GSP bring-up on the simulated GPU: every Turing/Ampere/Ada chip with synthetic firmware, the six
reference chips with the real firmware and their family's vBIOS, --until for every stage, a second boot of the
same device, and what GSP-RM itself recorded (the sim is the oracle)."""

from __future__ import annotations

from pathlib import Path

import pytest
from boot_helpers import REAL_ROMS, SEC2_CHIPS, rm, wpr2

from nova_core.errors import BootError
from nova_core.gpu import Chipset
from nova_core.gpu.chips import BootPath
from nova_core.gsp.boot import STAGES, BootFailed, boot, stages_for
from nova_core.gsp.client import NV01_DEVICE_0, NV01_ROOT, NV20_SUBDEVICE_0
from nova_core.gsp.fw import DEFAULT_REGISTRY
from nova_core.sim import SimGpu
from nova_core.sim_boot import boot_sim, sim_firmware, synthetic_firmware_root


def _check_booted(gpu: SimGpu, g: object, *, boots: int = 1) -> None:
    from nova_core.gsp.boot import GspDevice

    assert isinstance(g, GspDevice)
    assert g.gsp_ready and g.stopped_after is None
    assert [s.name for s in g.stages] == list(stages_for(gpu.chipset))
    assert all(s.ok for s in g.stages)
    # what the simulated GSP-RM saw
    r = rm(gpu)
    assert r.state == "running"
    assert r.handled["GSP_SET_SYSTEM_INFO"] == boots and r.handled["SET_REGISTRY"] == boots
    assert r.registry == DEFAULT_REGISTRY
    assert r.system_info.gpuPhysAddr == 0xF6000000  # the sim's BAR0, read from its config space
    client = g.client
    assert client is not None
    sim_client = r.objects.clients[client.handle]
    assert {h: o.cls for h, o in sim_client.objects.items()} == {o.handle: o.cls for o in g.objects()}
    assert sorted(o.cls for o in g.objects()) == [NV01_ROOT, NV01_DEVICE_0, NV20_SUBDEVICE_0]
    # BAR2: GSP-RM got the driver's root entry 0 (a PDE of the level below the root), at the root's shift;
    # no UPDATE_BAR_PDE for BAR1, whose root is GSP-RM's own
    bars = g.bars
    assert bars is not None and bars.bar2 is not None and g.static is not None
    shift = 56 if gpu.chipset.facts.boot_path is BootPath.FSP else 47  # MMU v3's PD4 / v2's PD3
    pd_below_root = g.bars.bar2.vmm.root.children[0].addr
    assert r.bar_pde == {"BAR2": (bars.bar2.vmm.fmt.pde(pd_below_root), shift)}
    assert bars.bar1.pdb == g.static.bar1_pde_base and bars.bar2.vmm.invalidate_pdb == g.static.bar2_pde_base
    # merged into GSP-RM's root
    assert gpu.vram.read64(g.static.bar2_pde_base) == bars.bar2.vmm.fmt.pde(pd_below_root)
    assert wpr2(gpu)[1] != 0
    assert gpu.models["fb"].blocked == []  # type: ignore[attr-defined]


def _check_closed(gpu: SimGpu, g: object) -> None:
    from nova_core.gsp.boot import GspDevice

    assert isinstance(g, GspDevice)
    assert g.closed and g.teardown_status == "clean"
    assert wpr2(gpu) == (0, 0)
    assert rm(gpu).state in ("off", "unloaded")
    names = [s.name for s in g.shutdown_stages]
    if gpu.chipset.facts.boot_path is BootPath.FSP:  # GSP-RM unloads, the GSP-FMC shuts down, the core halts
        assert names == ["unload:channels", "unload:bar2-pde", "unload:client-free",
                         "unload:unloading-guest-driver", "unload:gsp-halt", "unload:sysmem-flush"]
    else:
        assert names == ["unload:channels", "unload:bar2-pde", "unload:client-free",
                         "unload:unloading-guest-driver", "unload:gsp-reset", "unload:fwsec-sb",
                         "unload:booter-unload", "unload:wpr2-check", "unload:sysmem-flush"]
    r = rm(gpu)
    assert r.bar_pde["BAR2"][0] == 0  # nouveau r535_bar_bar2_fini: the driver's entry taken out of GSP-RM's table
    # every DMA buffer of the boot (queues, log rings, libos page, image, radix3, WPR meta) was freed
    assert gpu.sysmem.mappings() == []


@pytest.mark.parametrize("chip", SEC2_CHIPS)
def test_boot_every_sec2_chip_with_synthetic_firmware(chip: str) -> None:
    gpu = SimGpu(chip)
    g = boot_sim(chip, synthetic=True, gpu=gpu)
    assert g.firmware is not None and g.firmware.synthetic and g.firmware.version == "535.113.01"
    _check_booted(gpu, g)
    assert g.static is not None and g.static.gpu_short_name == Chipset.parse(chip).name
    g.close()
    _check_closed(gpu, g)


def test_second_boot_of_the_same_device_succeeds() -> None:
    gpu = SimGpu("ga102")
    first = boot_sim("ga102", synthetic=True, gpu=gpu)
    first_client = first.client
    first.close()
    second = boot_sim("ga102", synthetic=True, gpu=gpu)
    _check_booted(gpu, second, boots=2)
    assert first_client is not None and second.client is not None
    assert rm(gpu).objects.clients.keys() >= {second.client.handle}
    history = gpu.models["secure_chain"].history  # type: ignore[attr-defined]
    assert history.count("booter_load") == 2 and history.count("booter_unload") == 1
    second.close()
    _check_closed(gpu, second)
    assert history.count("booter_unload") == 2


def test_boot_with_r570_synthetic_firmware() -> None:
    g = boot_sim("ad104", synthetic=True, firmware_version="570.144")
    try:
        assert g.firmware is not None and g.firmware.version == "570.144" and g.abi is not None
        assert g.abi.version == "570.144"
        assert g.gsp_ready
    finally:
        g.close()


@pytest.mark.parametrize("chip", sorted(REAL_ROMS))
def test_boot_real_firmware_and_family_vbios(chip: str, firmware_path: Path, vbios_path: Path) -> None:
    rom = REAL_ROMS[chip]
    rom_path = None if rom is None else vbios_path / rom
    gpu = SimGpu(chip, vbios=rom_path)
    g = boot_sim(chip, synthetic=False, firmware_roots=[firmware_path], gpu=gpu)
    assert g.firmware is not None and not g.firmware.synthetic and g.firmware.version == "535.113.01"
    assert g.vbios is not None and (rom is None or g.vbios.version is not None)
    _check_booted(gpu, g)
    info = g.info()
    assert info["firmware_synthetic"] is False and info["chipset"] == chip.upper()
    g.close()
    _check_closed(gpu, g)


def until_case(chip: str, until: str) -> None:
    """``until`` stops ``chip``'s boot after that stage, the teardown is clean, and the next boot works."""
    gpu = SimGpu(chip)
    order = stages_for(gpu.chipset)
    g = boot_sim(chip, synthetic=True, gpu=gpu, until=until)
    names = [s.name for s in g.stages]
    assert names == list(order[:order.index(until) + 1])
    assert g.stopped_after == (None if until == order[-1] else until)
    assert g.gsp_ready == (order.index(until) >= order.index("init-done"))
    g.close()
    assert g.teardown_status == "clean" and wpr2(gpu) == (0, 0)
    assert gpu.sysmem.mappings() == []
    again = boot_sim(chip, synthetic=True, gpu=gpu)  # the device is usable again
    assert again.gsp_ready
    again.close()


@pytest.mark.parametrize("until", stages_for(Chipset.TU117))
def test_until_every_stage_stops_there_and_tears_down(until: str) -> None:
    until_case("tu117", until)


def test_until_unknown_stage_is_refused_with_the_list() -> None:
    with pytest.raises(BootError, match=r"no boot stage 'booter'.*did you mean 'booter-load'"):
        boot_sim("ga102", synthetic=True, until="booter")


@pytest.mark.parametrize(("chip", "until"), [("gh100", "booter-load"), ("ga102", "fsp-cot")])
def test_until_a_stage_of_the_other_path_is_refused_at_identify(chip: str, until: str) -> None:
    gpu = SimGpu(chip)
    with pytest.raises(BootFailed) as ei:
        boot(gpu.device(), firmware_roots=[], until=until)
    assert ei.value.stage == "identify"
    assert f"stage {until!r} is not on {chip.upper()}'s boot path" in str(ei.value)
    assert STAGES.index(until) >= 0  # a stage of some path: only this chip's path lacks it


def test_synthetic_firmware_is_generated_once_and_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    fw = sim_firmware("ga107", synthetic=True)
    path = fw.files[next(iter(fw.files))].path
    fw.close()
    assert synthetic_firmware_root() in path.parents
    mtime = path.stat().st_mtime_ns
    from nova_core.sim.synth import firmware as synth

    def fail(*a: object, **k: object) -> None:
        raise AssertionError("regenerated")

    monkeypatch.setattr(synth, "write_firmware_tree", fail)
    again = sim_firmware("ga107", synthetic=True)
    assert again.synthetic and path.stat().st_mtime_ns == mtime
    again.close()


def test_synthetic_version_without_a_generator_is_refused() -> None:
    with pytest.raises(BootError, match="no synthetic firmware for version '550.163.01'.*535.113.01"):
        sim_firmware("ga102", "550.163.01", synthetic=True)


def test_real_firmware_required_but_absent_names_the_paths(tmp_path: Path) -> None:
    from nova_core.firmware.discovery import FirmwareNotFound

    with pytest.raises(FirmwareNotFound, match=str(tmp_path)):
        sim_firmware("ga102", roots=[tmp_path], synthetic=False)


def test_instance_memory_works_through_bar2_after_boot() -> None:
    g = boot_sim("ad102", synthetic=True)
    try:
        assert g.instmem is not None
        obj = g.instmem.alloc(0x2000, name="test ramfc")
        obj.write32(0x10, 0xCAFEF00D)
        assert obj.read32(0x10) == 0xCAFEF00D
        sim = g.dev.sim
        assert isinstance(sim, SimGpu)
        assert sim.vram.read(obj.vram_addr + 0x10, 4) == (0xCAFEF00D).to_bytes(4, "little")
        # only the FB regions static info reports neither reserved nor protected are handed out
        assert g.static is not None
        usable = [(r.base, r.limit + 1) for r in g.static.fb_regions if not r.reserved and not r.protected]
        assert any(lo <= obj.vram_addr and obj.vram_addr + obj.size <= hi for lo, hi in usable)
    finally:
        g.close()


def test_log_buffers_live_and_after_close() -> None:
    g = boot_sim("ga102", synthetic=True)
    live = g.log_buffers()
    assert set(live) == {"LOGINIT", "LOGINTR", "LOGRM"}
    put = int.from_bytes(live["LOGINIT"][:8], "little")
    assert put > 0  # GSP-RM logged its boot
    g.close()
    after = g.log_buffers()
    assert int.from_bytes(after["LOGINIT"][:8], "little") >= put
    assert int.from_bytes(after["LOGRM"][:8], "little") > 0  # the unload record


def test_timeline_records_stages_rpcs_and_waits() -> None:
    g = boot_sim("tu102", synthetic=True)
    g.close()
    tl = g.timeline
    rpcs = [s.name for s in tl.of_kind("rpc")]
    assert rpcs[:3] == ["GET_GSP_STATIC_INFO", "GSP_RM_CONTROL", "GSP_RM_ALLOC"]  # the interrupt table, then the client
    assert rpcs.count("UPDATE_BAR_PDE") == 2 and "UNLOADING_GUEST_DRIVER" in rpcs  # BAR2 in, BAR2 out
    events = [s.name for s in tl.of_kind("event")]
    assert "GSP_RUN_CPU_SEQUENCER" in events[0] or "RUN_CPU_SEQUENCER" in events[0]
    assert any("INIT_DONE" in e for e in events)
    waits = tl.of_kind("wait")
    assert waits and all(w.dev_end >= w.dev_start for w in waits)
    assert sum("falcon to halt" in w.name for w in waits) == 4  # FWSEC-FRTS, booter_load, FWSEC-SB, booter_unload
    assert tl.dev_sleep_ns > 0


def test_resetting_the_gsp_falcon_stops_gsp_rm() -> None:
    from nova_core.errors import PollTimeout
    from nova_core.falcon import gsp_falcon
    from nova_core.gsp.fw import Nop

    gpu = SimGpu("ga102")
    g = boot_sim("ga102", synthetic=True, gpu=gpu)
    assert g.rpc is not None and g.spec is not None
    assert g.rpc.call(Nop(b"hi")) == b"hi"
    gsp_falcon(g.dev, g.spec.chipset).reset()  # the RISC-V core GSP-RM ran on is gone
    assert rm(gpu).state == "off"
    assert any("GSP falcon reset: GSP-RM" in e.message for e in gpu.log.last(50))
    with pytest.raises(PollTimeout, match="reply to NOP"):
        g.rpc.call(Nop(b"anyone?"))
    assert g.rpc.unresponsive
    g.close()  # no RPC to a dead GSP-RM; the secure state is still torn down
    assert wpr2(gpu) == (0, 0)
    assert g.shutdown_stages[0].detail.startswith("skipped: GSP-RM stopped answering")
