"""The secure chain on the simulated GPU: FWSEC-FRTS -> WPR meta -> booter_load -> GSP RISC-V active, and back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from chain_helpers import SEC2_CHIPS, make_rig

from nova_core.errors import BootError, FalconError
from nova_core.falcon.chain import LOAD_STAGES, UNLOAD_STAGES, ChainError, run_secure_chain
from nova_core.falcon.engines import gsp_falcon
from nova_core.fb.facts import MiB
from nova_core.gpu import Chipset
from nova_core.hw.clock import MS
from nova_core.regs.gc6 import NV_PGC6_BSI_SECURE_SCRATCH_14
from nova_core.regs.pbus import NV_PBUS_SW_SCRATCH
from nova_core.sim.models.falcon import State

V = "535.113.01"

#: the vBIOS fixture of each chip's family (TU10x: the TU106 ROM, TU11x: the TU117 ROM, GA10x: the GA102
#: 3090 ROM, AD10x: the AD102 ROM); GA100 has none (its FWSEC is a v2 like Turing's), so it serves its
#: synthetic ROM
TU106_ROM = "turing-tu106_1f08_asus-tuf-rtx2060-nvgi.rom"
TU117_ROM = "turing-tu117_1f82_gtx1650.rom"
GA102_ROM = "ampere-ga102_2204_gigabyte-rtx3090.rom"
AD102_ROM = "ada-ad102_2684_asus-strix-rtx4090-nvgi.rom"
REAL_ROMS = {"tu102": TU106_ROM, "tu106": TU106_ROM, "tu116": TU117_ROM, "tu117": TU117_ROM, "ga102": GA102_ROM,
             "ad102": AD102_ROM, "ad104": AD102_ROM}


def _check_running(rig_gsp_state: State, result_stages: list[str]) -> None:
    assert rig_gsp_state is State.RISCV
    assert result_stages == list(LOAD_STAGES)


@pytest.mark.parametrize("chip", SEC2_CHIPS)
def test_synthetic_chain_reaches_gsp_riscv_active(synth_fw: Path, chip: str) -> None:
    rig = make_rig(chip, synth_fw)
    r = rig.run()
    assert r.completed and r.stopped_after is None
    _check_running(rig.gsp.state, [s.name for s in r.stages])
    assert gsp_falcon(rig.dev, rig.spec.chipset).is_riscv_active()
    start, end = rig.model.wpr2
    assert (start, end) == (rig.layout.wpr2.start, rig.layout.wpr2_end)
    bsi = rig.gpu.bar0.peek(NV_PGC6_BSI_SECURE_SCRATCH_14.addr())
    assert NV_PGC6_BSI_SECURE_SCRATCH_14.boot_stage_3_handoff.is_set(bsi)
    assert rig.model.libos_args_bus == rig.libos.bus_addr and rig.handoffs == [rig.libos.bus_addr]
    assert rig.model.wpr_meta is not None and rig.model.wpr_meta["gspFwHeapOffset"] == rig.layout.wpr2_heap.start
    facts = Chipset.parse(chip).facts
    if facts.frts_size:
        assert r.fwsec is not None and r.fwsec.wpr2.start == rig.layout.frts.start
        assert rig.model.history == ["FWSEC-FRTS", "booter_load"]
        assert r.fwsec.load == ("generic-bootloader" if facts.needs_fwsec_bootloader else "dma")
    else:
        assert r.stage("fwsec-frts").status == "skipped" and r.fwsec is None  # type: ignore[union-attr]
        assert rig.model.history == ["booter_load"]
    assert not rig.gpu.log.errors()


@pytest.mark.parametrize("chip", ["tu102", "tu117", "ga100", "ga102", "ad104"])
def test_two_full_cycles_on_the_same_gpu(synth_fw: Path, chip: str) -> None:
    """FRTS -> booter_load -> unload twice: WPR2 is torn down each time, so the second bring-up works."""
    rig = make_rig(chip, synth_fw)
    for cycle in range(2):
        r = rig.run()
        assert r.completed, cycle
        u = rig.unload()
        assert [s.name for s in u.stages] == list(UNLOAD_STAGES)
        assert all(s.status == "done" for s in u.stages), u.stages
        assert u.wpr2 is not None and not u.wpr2.is_set and rig.model.wpr2 == (0, 0)
        assert u.fwsec is not None and u.fwsec.command.name == "SB" and u.booter is not None
        assert rig.gsp.state is not State.RISCV
        r.free(rig.dev.dma)
    frts = ["FWSEC-FRTS"] if Chipset.parse(chip).facts.frts_size else []
    assert rig.model.history == 2 * [*frts, "booter_load", "FWSEC-SB", "booter_unload"]
    assert not rig.gpu.log.errors()
    # nothing leaked: what the rig made (the flush page first) is all that is mapped
    assert [m[2] for m in rig.gpu.sysmem.mappings()] == ["sysmem flush page", "LibOS arguments"]


@pytest.mark.artifacts
@pytest.mark.parametrize("chip", ["tu102", "tu106", "tu116", "tu117", "ga100", "ga102", "ad102", "ad104"])
def test_real_firmware_chain_per_family(firmware_path: Path, vbios_path: Path, chip: str) -> None:
    """Debian's 535.113.01 firmware with the family's real vBIOS where there is one, twice on one GPU."""
    rom = vbios_path / REAL_ROMS[chip] if chip in REAL_ROMS else None
    if rom is not None and not rom.exists():
        pytest.skip(f"{rom} not present")
    if not (firmware_path / "nvidia" / chip / "gsp" / f"booter_load-{V}.bin").exists():
        pytest.skip(f"no {chip} firmware installed")
    rig = make_rig(chip, firmware_path, rom=rom)
    for _ in range(2):
        r = rig.run()
        assert r.completed and rig.gsp.state is State.RISCV
        assert rig.model.wpr2 == (rig.layout.wpr2.start, rig.layout.wpr2_end)
        assert r.gsp is not None and r.gsp.image_size == rig.fw.gsp.image_size
        rig.unload()
        r.free(rig.dev.dma)
    facts = rig.spec.chipset.facts
    if facts.needs_fwsec_bootloader and facts.frts_size:  # Turing: nouveau's acr/bl.bin from the same package
        assert r.fwsec is not None and r.fwsec.load == "generic-bootloader" and r.fwsec.desc_version == 2
    elif facts.frts_size:
        assert r.fwsec is not None and r.fwsec.load == "dma" and r.fwsec.desc_version == 3
    assert not rig.gpu.log.errors()


def test_v2_fwsec_without_a_generic_bootloader_loads_by_pio(synth_fw_no_bl: Path) -> None:
    rig = make_rig("tu104", synth_fw_no_bl)
    r = rig.run()
    assert r.completed and r.fwsec is not None and r.fwsec.load == "pio"
    assert r.fwsec.note is not None and "unverified on hardware" in r.fwsec.note


def test_nonzero_fuse_versions_pick_other_signatures(synth_fw: Path) -> None:
    """GA102 fuses: FWSEC (GSP array, ucode 9? the descriptor's id) and booter (SEC2 array, id 3) at version 1."""
    from nova_core.regs.fuse import NV_FUSE_OPT_FPF_GSP_UCODE1_VERSION, NV_FUSE_OPT_FPF_SEC2_UCODE1_VERSION

    rig = make_rig("ga102", synth_fw)
    fwsec = rig.vbios.fwsec
    assert fwsec is not None
    uid = fwsec.desc.fields["ucode_id"]
    rig.gpu.bar0.poke(NV_FUSE_OPT_FPF_GSP_UCODE1_VERSION.addr(i=uid - 1), 0x1)  # fused version 1
    rig.gpu.bar0.poke(NV_FUSE_OPT_FPF_SEC2_UCODE1_VERSION.addr(i=rig.fw.booter_load.meta.ucode_id - 1), 0x1)
    r = rig.run()
    assert r.completed
    assert r.fwsec is not None and (r.fwsec.fused_version, r.fwsec.signature_index) == (1, 1)
    assert r.booter is not None and (r.booter.fused_version, r.booter.signature_index) == (1, 0)


def test_until_stops_after_the_named_stage(synth_fw: Path) -> None:
    rig = make_rig("ad102", synth_fw)
    r = rig.run(until="fwsec-frts")
    assert [s.name for s in r.stages] == ["fwsec-frts"] and r.stopped_after == "fwsec-frts" and not r.completed
    assert rig.model.wpr2[1] != 0 and rig.model.history == ["FWSEC-FRTS"]
    rig.unload()
    r = rig.run(until="booter-load")
    assert r.stopped_after == "booter-load" and rig.model.history[-1] == "booter_load"
    assert rig.gsp.state is State.RISCV  # the booter started it; the driver has not checked yet
    assert "booter-load" in str(r) and json.loads(json.dumps(r.as_json()))["stopped_after"] == "booter-load"
    with pytest.raises(BootError, match="no secure chain stage 'booter'; did you mean 'booter-load'"):
        rig.run(until="booter")


def test_chain_result_as_json_and_text(synth_fw: Path) -> None:
    rig = make_rig("tu117", synth_fw)
    r = rig.run()
    d = json.loads(json.dumps(r.as_json()))
    assert d["completed"] and [s["name"] for s in d["stages"]] == list(LOAD_STAGES)
    assert d["wpr_meta"]["fields"]["frtsOffset"] == rig.layout.frts.start
    assert d["booter"]["kind"] == "booter_load" and d["fwsec"]["command"] == "FRTS"
    text = str(r)
    assert text.splitlines()[0] == "TU117 secure chain" and "generic-bootloader" in text


def test_fwsec_scratch_registers_report_success(synth_fw: Path) -> None:
    rig = make_rig("ga104", synth_fw)
    bar = rig.gpu.bar0
    bar.poke(NV_PBUS_SW_SCRATCH.addr(i=0xE), 0xDEAD1234)  # leftover: FWSEC clears bits 31:16 only
    bar.poke(NV_PBUS_SW_SCRATCH.addr(i=0x15), 0x5678FFFF)
    r = rig.run()
    assert r.fwsec is not None and r.fwsec.error == 0
    assert bar.peek(NV_PBUS_SW_SCRATCH.addr(i=0xE)) == 0x00001234
    rig.unload()
    assert bar.peek(NV_PBUS_SW_SCRATCH.addr(i=0x15)) == 0x56780000


def test_fsp_chips_refuse_the_chain(synth_fw: Path) -> None:
    """Hopper boots through the FSP: the chain refuses it in its first stage."""
    rig = make_rig("gh100", synth_fw, expect=False)
    with pytest.raises(ChainError, match="stage 'fwsec-frts'.*FSP chain of trust") as ei:
        run_secure_chain(rig.dev, rig.spec, rig.vbios, rig.fw, rig.layout, rig.libos.bus_addr)
    assert isinstance(ei.value.cause, FalconError) and ei.value.stage == "fwsec-frts"
    with pytest.raises(ChainError, match="stage 'gsp-reset'.*FSP chain of trust"):
        rig.unload()


def test_vram_sizes_move_the_layout_and_the_sim_follows(synth_fw: Path) -> None:
    for mib in (4096, 8192, 48 * 1024):
        rig = make_rig("ad104", synth_fw, vram_mib=mib)
        r = rig.run()
        assert r.completed and rig.model.wpr_meta is not None
        assert rig.model.wpr_meta["fbSize"] == mib * MiB


def test_handoff_boots_the_simulated_gsp_rm(synth_fw: Path) -> None:
    """The default handoff starts the simulated GSP-RM from the LibOS page the driver left in GSP MAILBOX0/1,
    on every bring-up; this page is empty, so GSP-RM halts and says why (its own check, not this layer's)."""
    rig = make_rig("ga102", synth_fw)
    rig.model.on_gsp_riscv_start = rig.model.start_gsp_rm
    rm = rig.gpu.models["gsp_rm"]
    assert rm.state == "off"  # type: ignore[attr-defined]
    try:
        for cycle in range(2):
            assert rig.run().completed
            rig.gpu.clock.sleep(10 * MS)
            assert rm.version == V and rm.state == "halted", cycle  # type: ignore[attr-defined]
            msgs = [e.message for e in rig.gpu.log.errors() if e.component == "gsp-rm"]
            assert len(msgs) == cycle + 1 and f"{rig.libos.bus_addr:#x}" in msgs[-1], msgs
            rig.unload()
    finally:
        rm.stop()  # type: ignore[attr-defined]
