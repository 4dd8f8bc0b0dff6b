"""Hopper and Blackwell bring GSP-RM up through the FSP's chain of trust: with the synthetic 570.144 set and with
NVIDIA's real files, shut down and booted again; --until at every stage of the path; and each fault of the FSP
exchange ends in one BootFailed naming its stage, the device torn down and the next boot working."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from boot_helpers import rm, wpr2
from test_boot import _check_booted, _check_closed, until_case
from test_boot_faults import _fails as fails
from test_boot_faults import _next_boot_works

from nova_core.errors import FalconError, FspError, PollTimeout
from nova_core.fb.layout import fsp_frts_offset_from_end
from nova_core.fsp import cot as cot_mod
from nova_core.fsp.boot import FSP_LOAD_STAGES
from nova_core.gpu import Chipset
from nova_core.gsp.boot import BootFailed, stages_for
from nova_core.regs.falcon import NV_PRISCV_RISCV_CPUCTL
from nova_core.sim import SimGpu
from nova_core.sim.models.fsp import FmcError
from nova_core.sim_boot import boot_sim

FSP_CHIPS = ["gh100", "gb100", "gb202"]
V = "570.144"


def fsp(gpu: SimGpu) -> object:
    return gpu.models["fsp"]


def _check_fsp(gpu: SimGpu, g: object, *, boots: int = 1) -> None:
    """What the simulated FSP and GSP-FMC saw of a boot, and that the driver's prediction of the ACR's layout held."""
    from nova_core.gsp.boot import GspDevice

    assert isinstance(g, GspDevice) and g.layout is not None and g.static is not None
    model = gpu.models["fsp"]
    assert model.history.count("COT") == boots and model.history.count("GSP-FMC") == boots  # type: ignore[attr-defined]
    assert model.responses[-1][1] == 0  # type: ignore[attr-defined]
    acr = model.acr_layout  # type: ignore[attr-defined]
    lay = g.layout
    assert acr["nonWprHeapOffset"] == lay.non_wpr_heap.start and acr["frtsOffset"] == lay.frts.start
    assert acr["gspFwWprStart"] == lay.wpr2.start and acr["gspFwOffset"] == lay.elf.start
    assert acr["bootBinOffset"] == lay.boot.start and acr["gspFwHeapOffset"] == lay.wpr2_heap.start
    assert g.static.fw_wpr_layout == (lay.non_wpr_heap.start, lay.frts.start)
    assert wpr2(gpu) == (lay.wpr2.start, lay.frts.end)
    assert lay.frts.end == gpu.vram_mib * (1 << 20) - fsp_frts_offset_from_end(gpu.chipset)
    assert rm(gpu).system_info.pciConfigMirrorBase == 0x92000
    chain = g.chain
    assert chain is not None and chain.response is not None and chain.cot is not None
    assert chain.cot.version == gpu.facts.cot_version


@pytest.mark.parametrize("chip", FSP_CHIPS)
def test_boot_fsp_chip_with_synthetic_firmware_twice(chip: str) -> None:
    gpu = SimGpu(chip)
    for boots in (1, 2):
        g = boot_sim(chip, synthetic=True, gpu=gpu)
        assert g.firmware is not None and g.firmware.synthetic and g.firmware.version == V
        _check_booted(gpu, g, boots=boots)
        _check_fsp(gpu, g, boots=boots)
        g.close()
        _check_closed(gpu, g)
        halted = NV_PRISCV_RISCV_CPUCTL.halted.get(gpu.bar0.peek(NV_PRISCV_RISCV_CPUCTL.addr(0x111000)))
        assert halted and not fsp(gpu).fmc_running  # type: ignore[attr-defined]


@pytest.mark.artifacts
@pytest.mark.parametrize("chip", [*FSP_CHIPS, "tu102", "ga100", "ga102", "ad102"])
def test_boot_with_real_570_firmware(chip: str, firmware_570_path: Path) -> None:
    gpu = SimGpu(chip)
    g = boot_sim(chip, firmware_version=V, synthetic=False, firmware_roots=[firmware_570_path], gpu=gpu)
    info = g.info()
    assert info["gsp_ready"] is True and info["firmware_synthetic"] is False and info["firmware_version"] == V
    _check_booted(gpu, g)
    if gpu.chipset.facts.cot_version:
        _check_fsp(gpu, g)
        assert g.firmware is not None and g.firmware.fmc is not None
        assert g.firmware.files[next(k for k in g.firmware.files if k.value == "fmc")].path.name == f"fmc-{V}.bin"
    g.close()
    _check_closed(gpu, g)


@pytest.mark.parametrize("until", FSP_LOAD_STAGES)
def test_until_every_fsp_stage_stops_there_and_tears_down(until: str) -> None:
    until_case("gh100", until)


def test_fsp_path_has_its_own_stages() -> None:
    order = stages_for(Chipset.GB202)
    start = order.index("boot-rpcs") + 1
    assert order[start:start + len(FSP_LOAD_STAGES)] == FSP_LOAD_STAGES
    assert not {"fwsec-frts", "gsp-reset", "booter-load"} & set(order)


# -- faults of the FSP exchange ------------------------------------------------------------------------------


def _fails(gpu: SimGpu, chip: str) -> BootFailed:
    e = fails(gpu, chip=chip)
    assert e.teardown == "clean"
    return e


@pytest.mark.parametrize("chip", ["gh100", "gb202"])
def test_fsp_never_answers(chip: str) -> None:
    gpu = SimGpu(chip)
    fsp(gpu).inject("no_response")  # type: ignore[attr-defined]
    e = _fails(gpu, chip)
    assert e.stage == "fsp-cot" and isinstance(e.cause, PollTimeout)
    assert "a reply from the FSP (MSGQ_HEAD != MSGQ_TAIL of channel 0" in str(e)
    _next_boot_works(gpu, chip)


@pytest.mark.parametrize(("code", "name"), [(0x9E, "FSP_IFS_ERR_INVALID_STATE; OpenRM: NV_ERR_INVALID_DATA"),
                                            (0x9F, "FSP_IFR_FILE_NOT_FOUND; OpenRM: NV_ERR_OBJECT_NOT_FOUND"),
                                            (0xA1, "FSP_IFS_ERR_INVALID_DATA"), (0x55, "unknown FSP error 0x55")])
def test_fsp_answers_an_error_code(code: int, name: str) -> None:
    gpu = SimGpu("gb100")
    fsp(gpu).inject("error", code)  # type: ignore[attr-defined]
    e = _fails(gpu, "gb100")
    assert e.stage == "fsp-cot" and isinstance(e.cause, FspError) and e.cause.code == code
    assert f"the FSP refused NVDM command 0x14 (task 0x0): errorCode {code:#04x} ({name}" in str(e)
    _next_boot_works(gpu, "gb100")


def test_fsp_response_corrupted() -> None:
    gpu = SimGpu("gh100")
    fsp(gpu).inject("corrupt")  # type: ignore[attr-defined]
    e = _fails(gpu, "gh100")
    assert e.stage == "fsp-cot" and isinstance(e.cause, FspError)
    assert "vendor id expected 0x10de, found 0x1234" in str(e)
    _next_boot_works(gpu, "gh100")


@pytest.mark.parametrize(("field", "reason"), [
    ("signature", "the signature does not verify over hash384"),
    ("hash384", "hash384 .* is not the GSP-FMC's"),
    ("public_key", "publicKey .* is not the 97-byte key this FSP trusts"),
    ("version", "NVDM_PAYLOAD_COT.version 3, expected 2 on GB202"),
])
def test_corrupted_cot_message_is_refused(field: str, reason: str, monkeypatch: pytest.MonkeyPatch) -> None:
    real = cot_mod.build_cot

    def corrupt(*args: object, **kwargs: object) -> cot_mod.CotPayload:
        c = real(*args, **kwargs)  # type: ignore[arg-type]
        value = getattr(c, field)
        if isinstance(value, bytes):
            value = bytes([value[0] ^ 0x5A]) + value[1:]
        else:
            value = 3
        return dataclasses.replace(c, **{field: value})

    monkeypatch.setattr("nova_core.fsp.boot.build_cot", corrupt)
    gpu = SimGpu("gb202")
    e = _fails(gpu, "gb202")
    assert e.stage == "fsp-cot" and isinstance(e.cause, FspError) and e.cause.code == 0xA1
    assert "errorCode 0xa1 (FSP_IFS_ERR_INVALID_DATA" in str(e)
    assert any(re.search(reason, r) for r in fsp(gpu).refusals)  # type: ignore[attr-defined]
    monkeypatch.undo()
    _next_boot_works(gpu, "gb202")


def test_gsp_fmc_error_in_mailbox0() -> None:
    gpu = SimGpu("gb202")
    fsp(gpu).inject("fmc_error", FmcError.INJECTED)  # type: ignore[attr-defined]
    e = _fails(gpu, "gb202")
    assert e.stage == "gsp-lockdown" and isinstance(e.cause, FalconError)
    assert "GSP-FMC boot failed: GSP MAILBOX0 0x0f3c00ff" in str(e)
    _next_boot_works(gpu, "gb202")


def test_fsp_that_never_finished_its_own_boot() -> None:
    gpu = SimGpu("gh100")
    fsp(gpu).boot_complete = False  # type: ignore[attr-defined]
    e = _fails(gpu, "gh100")
    assert e.stage == "gfw-boot" and "FSP secure boot complete (NV_THERM_I2CS_SCRATCH at 0x200bc = 0xff)" in str(e)
    fsp(gpu).boot_complete = True  # type: ignore[attr-defined]
    _next_boot_works(gpu, "gh100")


def test_cot_while_gsp_rm_runs_is_refused_by_the_fsp() -> None:
    gpu = SimGpu("gh100")
    first = boot_sim("gh100", synthetic=True, gpu=gpu)
    try:
        with pytest.raises(BootFailed) as ei:
            boot_sim("gh100", synthetic=True, gpu=gpu)
        e = ei.value
        assert e.stage == "fsp-cot" and isinstance(e.cause, FspError) and e.cause.code == 0x9E
        assert "the GSP is running" in fsp(gpu).refusals[-1]  # type: ignore[attr-defined]
    finally:
        first.close()
    assert first.teardown_status == "clean"


@pytest.mark.parametrize(("change", "reason"), [
    ({"gspFwWprStart": 0x1000_0000}, r"GspFwWprMeta.gspFwWprStart is 0x10000000: the ACR places WPR2 itself"),
    ({"nonWprHeapSize": 0x100000}, r"GspFwWprMeta.nonWprHeapSize 0x100000, expected 0x200000"),
    ({"gspFwHeapSize": 8 << 20}, r"gspFwHeapSize 0x800000: a whole number of MiB in the LibOS 3 bounds"),
    ({"vgaWorkspaceSize": 1 << 20}, r"vgaWorkspaceSize 0x100000, expected 0x20000"),
])
def test_gsp_fmc_refuses_a_wpr_meta_that_is_not_sizes_only(change: dict[str, int], reason: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from nova_core.fb.layout import FbLayout

    real = FbLayout.wpr_meta_fields
    monkeypatch.setattr(FbLayout, "wpr_meta_fields", lambda self: {**real(self), **change})
    gpu = SimGpu("gh100")
    e = _fails(gpu, "gh100")
    assert e.stage == "gsp-lockdown" and f"GSP MAILBOX0 {FmcError.LAYOUT:#010x}" in str(e)
    assert re.search(reason, fsp(gpu).refusals[-1])  # type: ignore[attr-defined]
    monkeypatch.undo()
    _next_boot_works(gpu, "gh100")


def test_gsp_fmc_refuses_boot_args_in_fb(monkeypatch: pytest.MonkeyPatch) -> None:
    from nova_core.fsp import cot as c

    real = c.pack_fmc_boot_params
    monkeypatch.setattr("nova_core.fsp.boot.pack_fmc_boot_params",
                        lambda **kw: real(**kw, wpr_meta_target=c.F.GspDmaTarget.LOCAL_FB))
    gpu = SimGpu("gb100")
    e = _fails(gpu, "gb100")
    assert e.stage == "gsp-lockdown" and f"GSP MAILBOX0 {FmcError.BOOT_ARGS:#010x}" in str(e)
    assert "GSP_FMC_BOOT_PARAMS targets 0/1: system memory (1 or 2) expected" in fsp(gpu).refusals[-1]  # type: ignore[attr-defined]
    monkeypatch.undo()
    _next_boot_works(gpu, "gb100")
