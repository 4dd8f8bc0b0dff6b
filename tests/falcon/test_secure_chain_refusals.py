"""Every way the secure chain can go wrong, and the simulated GPU's diagnostic for each (one test per refusal)."""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from chain_helpers import Rig, make_rig

from nova_core.errors import FalconError, PollTimeout, SimViolation
from nova_core.falcon import FalconUcode
from nova_core.falcon.booter import booter_load, booter_unload, prepare_gsp_riscv
from nova_core.falcon.chain import ChainError, ChainResult
from nova_core.falcon.engines import gsp_falcon, sec2_falcon
from nova_core.falcon.facts import GENERIC_BL_CTX_DMA
from nova_core.falcon.fwsec import Wpr2Error, read_wpr2, run_fwsec
from nova_core.falcon.genbl import BlDmemDesc, find_generic_bootloader
from nova_core.regs import falcon as R
from nova_core.regs.pfb import NV_PFB_PRI_MMU_WPR2_ADDR_HI
from nova_core.sim.models.falcon import ExitCode, SimFalcon, StartResult, State
from nova_core.sim.models.secure_chain import BooterError, FwsecError
from nova_core.vbios import FwsecCommand

# GspFwWprMeta field offsets (nvidia-facts §5), written independently of the bindings
META = {"magic": 0x00, "revision": 0x08, "sysmemAddrOfRadix3Elf": 0x10, "sizeOfRadix3Elf": 0x18,
        "sysmemAddrOfBootloader": 0x20, "bootloaderCodeOffset": 0x30, "bootloaderDataOffset": 0x38,
        "sysmemAddrOfSignature": 0x48, "sizeOfSignature": 0x50, "gspFwWprStart": 0x70, "gspFwHeapOffset": 0x78,
        "frtsOffset": 0x98, "gspFwWprEnd": 0xA8, "fbSize": 0xB0, "verified": 0xF8}


def _diag(rig: Rig, falcon: SimFalcon) -> str:
    assert falcon.diagnostics, rig.gpu.log.format(10)
    assert rig.gpu.log.errors()[-1].message == falcon.diagnostics[-1]
    return falcon.diagnostics[-1]


# -- FWSEC on the GSP falcon ---------------------------------------------------------------------------


def _boot_fwsec(rig: Rig, *, fuse_version: int | None = None,
                tamper: Callable[[bytearray], None] | None = None, retag: int | None = None,
                poke: Callable[[Rig], None] | None = None) -> int:
    """Load FWSEC-FRTS as the driver does, with one mutation; returns MAILBOX0."""
    fwsec = rig.vbios.fwsec
    assert fwsec is not None
    gsp = gsp_falcon(rig.dev, rig.spec.chipset)
    fused = gsp.fuse_version(fwsec.desc.fields["engine_id_mask"], fwsec.desc.fields["ucode_id"]) \
        if fuse_version is None else fuse_version
    img = fwsec.patch(FwsecCommand.FRTS, frts_offset=rig.layout.frts.start, fuse_version=fused)
    if tamper is not None:
        data = bytearray(img.image)
        tamper(data)
        img = dataclasses.replace(img, image=bytes(data))
    if retag is not None:
        img = dataclasses.replace(img, imem_sec=dataclasses.replace(img.imem_sec, tag=retag))
    gsp.reset()
    gsp.load(FalconUcode.from_layout(img, "FWSEC-FRTS"))
    if poke is not None:
        poke(rig)
    return gsp.boot(0)[0]


def test_fwsec_wrong_signature_index(synth_fw: Path) -> None:
    rig = make_rig("ga102", synth_fw)
    assert _boot_fwsec(rig, fuse_version=1) == ExitCode.UCODE_MISMATCH
    d = _diag(rig, rig.gsp)
    assert d.startswith("GSP: FWSEC-FRTS signature at DMEM 0x200 holds signature 1 of 3, expected signature 0 for "
                        "fused version 0"), d
    assert not read_wpr2(rig.dev.bar0).is_set


def test_fwsec_unpatched_signature(synth_fw: Path) -> None:
    rig = make_rig("ad102", synth_fw)
    fwsec = rig.vbios.fwsec
    assert fwsec is not None
    at = fwsec.desc.imem_load_size + fwsec.desc.fields["pkc_data_offset"]

    def unsign(img: bytearray) -> None:
        img[at:at + 384] = bytes(384)

    assert _boot_fwsec(rig, tamper=unsign) == ExitCode.UCODE_MISMATCH
    assert "signature at DMEM 0x200 holds zeros: the signature was not patched" in _diag(rig, rig.gsp)


def test_fwsec_unpatched_command(synth_fw: Path) -> None:
    rig = make_rig("ad102", synth_fw)
    fwsec = rig.vbios.fwsec
    assert fwsec is not None
    at = fwsec.desc.imem_load_size + fwsec.dmemmapper.dmem_offset + 0x2C

    def uncmd(img: bytearray) -> None:
        img[at:at + 4] = bytes(4)

    assert _boot_fwsec(rig, tamper=uncmd) == ExitCode.UCODE_MISMATCH
    assert _diag(rig, rig.gsp) == ("GSP: FWSEC DMEMMAPPER init_cmd (DMEM 0x12c) is 0x0, neither FRTS (0x15) nor SB "
                                   "(0x19): the ucode was not patched for a command")


def test_fwsec_wrong_frts_descriptor_field(synth_fw: Path) -> None:
    rig = make_rig("ga104", synth_fw)
    fwsec = rig.vbios.fwsec
    assert fwsec is not None
    at = fwsec.desc.imem_load_size + fwsec.dmemmapper.cmd_in_buffer_offset + 0x18 + 0x10  # frtsRegionMediaType

    def media(img: bytearray) -> None:
        img[at:at + 4] = struct.pack("<I", 1)

    assert _boot_fwsec(rig, tamper=media) == ExitCode.UCODE_MISMATCH
    d = _diag(rig, rig.gsp)
    assert "(command arguments) holds 0x00000001, expected 0x00000002 from FWSEC-FRTS of the served ROM" in d


def test_fwsec_code_mismatch_and_imem_tag(synth_fw: Path) -> None:
    rig = make_rig("ad103", synth_fw)

    def flip(img: bytearray) -> None:
        img[0x123] ^= 0x40

    assert _boot_fwsec(rig, tamper=flip) == ExitCode.UCODE_MISMATCH
    assert _diag(rig, rig.gsp).startswith("GSP: IMEM 0x120 holds")
    rig2 = make_rig("ad103", synth_fw)
    assert _boot_fwsec(rig2, retag=0x4000) == ExitCode.UCODE_MISMATCH  # DMA'd under tags from 0x40
    assert _diag(rig2, rig2.gsp) == "GSP: IMEM block 0x0 tag 0x40, expected 0x0 from FWSEC-FRTS of the served ROM"


def test_fwsec_brom_register(synth_fw: Path) -> None:
    rig = make_rig("ga102", synth_fw)

    def engid(r: Rig) -> None:
        R.NV_PFALCON2_FALCON_BROM_ENGIDMASK.write(r.gpu.bar0, 0, base=R.FALCON2.GSP)

    assert _boot_fwsec(rig, poke=engid) == ExitCode.UCODE_MISMATCH
    assert _diag(rig, rig.gsp) == "GSP: BROM_ENGIDMASK 0x0, expected 0x400 from the FWSEC descriptor"


def _bl_boot(rig: Rig, desc_change: dict[str, int], *, free_early: bool = False) -> int:
    """FWSEC through the generic bootloader with one descriptor field changed."""
    fwsec = rig.vbios.fwsec
    assert fwsec is not None
    bl = find_generic_bootloader(rig.spec.chipset, roots=[rig.fw.files[next(iter(rig.fw.files))].root])
    assert bl is not None
    img = fwsec.patch(FwsecCommand.FRTS, frts_offset=rig.layout.frts.start)
    assert img.imem_ns is not None
    buf = rig.gpu.sysmem.alloc(0x10000, name="FWSEC staging")
    buf.write(0, img.image)
    fields = dict(ctx_dma=GENERIC_BL_CTX_DMA, code_dma_base=buf.bus_addr, non_sec_code_off=img.imem_ns.dst,
                  non_sec_code_size=img.imem_ns.size, sec_code_off=img.imem_sec.dst, sec_code_size=img.imem_sec.size,
                  code_entry_point=0, data_dma_base=buf.bus_addr + img.dmem.src, data_size=img.dmem.size)
    fields.update(desc_change)
    gsp = gsp_falcon(rig.dev, rig.spec.chipset)
    gsp.reset()
    gsp.configure_dma(GENERIC_BL_CTX_DMA)
    gsp.pio_load(bl.ucode(gsp.imem_size(), BlDmemDesc(**fields)))
    if free_early:
        rig.gpu.sysmem.free(buf)
    return gsp.boot(0)[0]


def test_generic_bootloader_dma_above_49_bits(synth_fw: Path) -> None:
    rig = make_rig("tu102", synth_fw)
    assert _bl_boot(rig, {"code_dma_base": 1 << 49}) == ExitCode.UCODE_MISMATCH
    assert _diag(rig, rig.gsp) == ("GSP: generic bootloader descriptor (DMEM 0x0): non-secure code: "
                                   "[0x2000000000000, +0x400) reaches past the 49-bit falcon DMA limit")


def test_generic_bootloader_reading_freed_memory_faults(synth_fw: Path) -> None:
    rig = make_rig("tu116", synth_fw)
    assert _bl_boot(rig, {}, free_early=True) == ExitCode.UCODE_MISMATCH
    d = _diag(rig, rig.gsp)
    assert d.startswith("GSP: generic bootloader DMA fault: GSP generic bootloader (non-secure code): DMA to "
                        "unmapped"), d


@pytest.mark.parametrize(("change", "message"), [
    ({"ctx_dma": 9}, "ctx_dma 9 is not an FBIF context (0..7)"),
    ({"ctx_dma": 0}, "ctx_dma 0: TRANSCFG(0) 0x0 is not physical system memory"),
    ({"code_entry_point": 0x100}, "code_entry_point 0x100, expected FWSEC's VirtualEntry 0x0"),
    ({"sec_code_off": 0x480}, "secure code: base 0x"),
])
def test_generic_bootloader_descriptor_refusals(synth_fw: Path, change: dict[str, int], message: str) -> None:
    rig = make_rig("tu106", synth_fw)
    assert _bl_boot(rig, change) == ExitCode.UCODE_MISMATCH
    assert message in _diag(rig, rig.gsp)


def test_fwsec_with_wpr2_already_set_reports_in_scratch(synth_fw: Path) -> None:
    """A driver that skips the WPR2 check: FWSEC itself refuses (MAILBOX0 0, error in SCRATCH(0xE))."""
    rig = make_rig("ad102", synth_fw)
    rig.model.set_wpr2(0x100000000, 0x100100000)
    fwsec = rig.vbios.fwsec
    assert fwsec is not None
    run = run_fwsec(gsp_falcon(rig.dev, rig.spec.chipset), fwsec, FwsecCommand.FRTS, frts_offset=rig.layout.frts.start)
    assert run.mailbox0 == 0 and run.error == FwsecError.WPR2_ALREADY_SET
    assert "FWSEC-FRTS failed: WPR2 is already set [0x100000000, 0x100100000)" in rig.last_error()


def test_fwsec_region_outside_vram(synth_fw: Path) -> None:
    rig = make_rig("ga106", synth_fw)
    fwsec = rig.vbios.fwsec
    assert fwsec is not None
    run = run_fwsec(gsp_falcon(rig.dev, rig.spec.chipset), fwsec, FwsecCommand.FRTS, frts_offset=rig.layout.fb.end)
    assert run.error == FwsecError.REGION_OUTSIDE_FB and not run.wpr2.is_set
    assert "is past VRAM" in rig.last_error()


def test_frts_error_code_nonzero(synth_fw: Path) -> None:
    rig = make_rig("tu117", synth_fw)
    rig.model.frts_error = 0x1234
    with pytest.raises(ChainError, match=r"stage 'fwsec-frts': GSP: FWSEC-FRTS failed with error 0x1234 "
                                         r"\(NV_PBUS_SW_SCRATCH\(0xe\) bits 31:16") as ei:
        rig.run()
    assert isinstance(ei.value.cause, FalconError) and not read_wpr2(rig.dev.bar0).is_set
    assert [s.name for s in ei.value.result.stages] == []
    r = rig.run()  # one-shot injection: the retry works
    assert r.completed


def test_fwsec_sb_error_code_nonzero(synth_fw: Path) -> None:
    rig = make_rig("ga102", synth_fw)
    rig.run()
    rig.model.sb_error = 0x42
    with pytest.raises(ChainError, match=r"stage 'fwsec-sb': GSP: FWSEC-SB failed with error 0x0042"):
        rig.unload()


# -- WPR2 already set, and the recovery a second bring-up needs ------------------------------------------


def test_wpr2_already_set_needs_a_reset(synth_fw: Path) -> None:
    rig = make_rig("ad104", synth_fw)
    rig.model.set_wpr2(0x2F0000000, 0x2FFF00000)
    with pytest.raises(ChainError, match=r"stage 'fwsec-frts': WPR2 is already set \[0x2f0000000, 0x2fff00000\).*"
                                         r"reset the GPU, or run the unload sequence") as ei:
        rig.run()
    assert isinstance(ei.value.cause, Wpr2Error) and ei.value.cause.start == 0x2F0000000
    assert rig.model.history == []  # nothing ran


@pytest.mark.parametrize("chip", ["tu102", "ga100", "ga102", "ad102"])
def test_second_bring_up_without_unload_recovers_on_request(synth_fw: Path, chip: str) -> None:
    """A previous driver left GSP-RM running: refused by default, recovered (SB + booter_unload) on request."""
    rig = make_rig(chip, synth_fw)
    first = rig.run()
    assert first.completed
    again = make_rig(chip, synth_fw)  # the same GPU seen by a new driver instance
    again.gpu, again.dev = rig.gpu, rig.dev
    again.libos = rig.gpu.sysmem.alloc(0x1000, name="LibOS arguments (2)")
    with pytest.raises(ChainError, match="WPR2 is already set") as ei:
        again.run()
    assert isinstance(ei.value.cause, Wpr2Error)
    r = again.run(recover=True)
    assert r.completed and r.recovery is not None
    assert [s.status for s in r.recovery.stages] == ["done"] * 4
    assert "recovered WPR2" in r.stages[0].detail
    assert rig.model.history[-4:] == (["FWSEC-SB", "booter_unload", "FWSEC-FRTS", "booter_load"] if chip != "ga100"
                                      else ["booter_load", "FWSEC-SB", "booter_unload", "booter_load"])


def test_wpr2_cannot_be_written_by_the_cpu(synth_fw: Path) -> None:
    rig = make_rig("ga102", synth_fw)
    with pytest.raises(SimViolation, match="WPR2 is programmed by FWSEC and the booters only"):
        NV_PFB_PRI_MMU_WPR2_ADDR_HI.write(rig.gpu.bar0, 0)


def test_booter_unload_that_leaves_wpr2_set_is_caught(synth_fw: Path) -> None:
    rig = make_rig("tu104", synth_fw)
    rig.run()
    gsp_falcon(rig.dev, rig.spec.chipset).reset()
    rig.sec2.on_start = lambda f: StartResult.halt(0)  # "succeeds" but does nothing
    assert rig.fw.booter_unload is not None
    with pytest.raises(Wpr2Error, match="booter_unload succeeded but WPR2 is still set"):
        booter_unload(rig.dev, rig.spec.chipset, rig.fw.booter_unload)


def test_booter_unload_is_skipped_without_wpr2(synth_fw: Path) -> None:
    rig = make_rig("ga103", synth_fw)
    assert rig.fw.booter_unload is not None
    assert booter_unload(rig.dev, rig.spec.chipset, rig.fw.booter_unload) is None
    assert rig.sec2.starts == 0


# -- the booters on SEC2 ---------------------------------------------------------------------------------


def _boot_booter(rig: Rig, *, kind: str = "booter_load", fused: int | None = None,
                 tamper: Callable[[bytearray], None] | None = None, retag: int | None = None,
                 poke: Callable[[Rig], None] | None = None, mbox: tuple[int, int] = (0x1000, 0)) -> int:
    booter = rig.fw.booter_load if kind == "booter_load" else rig.fw.booter_unload
    assert booter is not None
    sec2 = sec2_falcon(rig.dev, rig.spec.chipset)
    sec2.reset()
    f = sec2.fuse_version(booter.meta.engine_id_mask, booter.meta.ucode_id) if fused is None else fused
    layout = booter.load_layout(sec2.hal.kind, f)
    if tamper is not None:
        data = bytearray(layout.image)
        tamper(data)
        layout = dataclasses.replace(layout, image=bytes(data))
    if retag is not None:
        layout = dataclasses.replace(layout, imem_sec=dataclasses.replace(layout.imem_sec, tag=retag))
    sec2.load(FalconUcode.from_layout(layout, kind))
    if poke is not None:
        poke(rig)
    return sec2.boot(*mbox)[0]


def test_booter_brom_engidmask(synth_fw: Path) -> None:
    rig = make_rig("ga102", synth_fw)

    def engid(r: Rig) -> None:
        R.NV_PFALCON2_FALCON_BROM_ENGIDMASK.write(r.gpu.bar0, 0, base=R.FALCON2.SEC2)

    assert _boot_booter(rig, poke=engid) == BooterError.UCODE_MISMATCH
    assert _diag(rig, rig.sec2) == "SEC2: BROM_ENGIDMASK 0x0, expected 0x1 from booter meta"


def test_booter_wrong_signature_index(synth_fw: Path) -> None:
    rig = make_rig("ad106", synth_fw)
    assert _boot_booter(rig, fused=1) == BooterError.UCODE_MISMATCH
    assert _diag(rig, rig.sec2) == ("SEC2: booter_load signature at DMEM 0x10 holds signature 0 of 2, expected "
                                    "signature 1 for fused version 0 (from booter_load booter_load-535.113.01.bin)")


def test_booter_unpatched_signature(synth_fw: Path) -> None:
    rig = make_rig("tu106", synth_fw)
    b = rig.fw.booter_load
    assert b is not None

    def unsign(img: bytearray) -> None:
        img[b.patch_loc:b.patch_loc + b.sig_size] = bytes(b.sig_size)

    assert _boot_booter(rig, tamper=unsign) == BooterError.UCODE_MISMATCH
    assert "signature at DMEM 0x200 holds zeros: the signature was not patched" in _diag(rig, rig.sec2)


def test_booter_imem_tag_mismatch(synth_fw: Path) -> None:
    rig = make_rig("ga107", synth_fw)
    assert _boot_booter(rig, retag=0) == BooterError.UCODE_MISMATCH
    assert _diag(rig, rig.sec2) == ("SEC2: IMEM block 0x0 tag 0x0, expected 0x1 from booter_load "
                                    "booter_load-535.113.01.bin")


def test_booter_not_told_which_firmware(synth_fw: Path) -> None:
    rig = make_rig("ga102", synth_fw, expect=False)
    assert _boot_booter(rig) == BooterError.NO_FIRMWARE
    assert "not told which firmware to expect" in _diag(rig, rig.sec2)


def test_booter_error_reported_in_hex(synth_fw: Path) -> None:
    rig = make_rig("tu116", synth_fw)
    rig.model.booter_error = True
    with pytest.raises(ChainError, match=r"stage 'booter-load': SEC2: booter_load \(.*booter_load-535.113.01.bin\) "
                                         r"failed: MAILBOX0 0xb00700ff, MAILBOX1 0x[0-9a-f]{8} \(the booter's "
                                         r"error code"):
        rig.run()


def test_booter_unload_needs_the_cold_unload_mailboxes(synth_fw: Path) -> None:
    rig = make_rig("ga102", synth_fw)
    rig.run()
    gsp_falcon(rig.dev, rig.spec.chipset).reset()
    assert _boot_booter(rig, kind="booter_unload", mbox=(0, 0)) == BooterError.UNLOAD
    assert _diag(rig, rig.sec2) == ("SEC2: booter_unload MAILBOX0/1 0x0/0x0, expected 0xff/0xff (a cold unload; no "
                                    "suspend/resume meta)")


def test_booter_unload_while_gsp_rm_runs(synth_fw: Path) -> None:
    rig = make_rig("ad102", synth_fw)
    rig.run()
    assert _boot_booter(rig, kind="booter_unload", mbox=(0xFF, 0xFF)) == BooterError.UNLOAD
    assert "while GSP-RM still runs on the GSP RISC-V core" in _diag(rig, rig.sec2)


# -- GspFwWprMeta and the GSP handoff ------------------------------------------------------------------


def _prepared(rig: Rig) -> ChainResult:
    r = rig.run(until="gsp-reset")
    assert r.wpr_meta is not None
    return r


def _meta_case(chip: str, root: Path, field: str, value: int) -> tuple[Rig, str]:
    rig = make_rig(chip, root)
    r = _prepared(rig)
    assert r.wpr_meta is not None and rig.fw.booter_load is not None
    r.wpr_meta.buffer.write_u64(META[field], value)
    with pytest.raises(FalconError, match="booter_load .* failed: MAILBOX0 0xb007"):
        booter_load(rig.dev, rig.spec.chipset, rig.fw.booter_load, r.wpr_meta.bus_addr)
    assert rig.gsp.state is State.READY  # GSP-RM did not start
    return rig, _diag(rig, rig.sec2)


def test_bad_wpr_meta_magic(synth_fw: Path) -> None:
    _, d = _meta_case("ga102", synth_fw, "magic", 0x1234)
    assert d == "SEC2: booter_load: GspFwWprMeta magic 0x1234, expected 0xdc3aae21371a60b3"


def test_bad_wpr_meta_radix3(synth_fw: Path) -> None:
    rig = make_rig("tu102", synth_fw)
    r = _prepared(rig)
    assert r.gsp is not None and r.wpr_meta is not None and rig.fw.booter_load is not None
    r.gsp.image.write(0x5000 + 7, b"\xff")  # one byte of image page 5
    with pytest.raises(FalconError, match="MAILBOX0 0xb0070012"):
        booter_load(rig.dev, rig.spec.chipset, rig.fw.booter_load, r.wpr_meta.bus_addr)
    assert _diag(rig, rig.sec2).endswith("resolves to an image that differs from .fwimage at offset 0x5007 (page 5)")
    _, d = _meta_case("ga102", synth_fw, "sysmemAddrOfRadix3Elf", 0x7000000000)
    assert "sysmemAddrOfRadix3Elf 0x7000000000: SEC2 booter_load radix3 (radix3 level 0 at 0x7000000000): DMA read " \
           "of unmapped bus address 0x7000000000" in d


@pytest.mark.parametrize(("field", "value", "message"), [
    ("revision", 2, "revision 2, expected 1"),
    ("verified", 0xA0A0A0A0A0A0A0A0, "verified 0xa0a0a0a0a0a0a0a0, expected 0 (GSP-RM sets it)"),
    ("sizeOfRadix3Elf", 0x1000, "sizeOfRadix3Elf 0x1000, expected 0x300000"),
    ("sizeOfSignature", 0x10, "sizeOfSignature 0x10, expected the 0x1000-byte .fwsignature_ad10x"),
    ("bootloaderCodeOffset", 0x800, "bootloaderCodeOffset 0x800, expected 0x1800"),
    ("fbSize", 1 << 30, "fbSize 0x40000000, expected the 0x600000000 bytes of VRAM"),
    ("gspFwWprEnd", 0x5FFE00000, "gspFwWprEnd 0x5ffe00000, expected the VGA workspace 0x5fff00000 aligned down"),
    ("gspFwHeapOffset", 0x5F0000800, "gspFwHeapOffset 0x5f0000800 is not 1024 KiB aligned"),
    ("frtsOffset", 0x5FFD00000, "frtsOffset 0x5ffd00000 overlaps the region below it (ends at 0x5ffe00000)"),
])
def test_bad_wpr_meta_field(synth_fw: Path, field: str, value: int, message: str) -> None:
    _, d = _meta_case("ad102", synth_fw, field, value)
    assert d.startswith("SEC2: booter_load: GspFwWprMeta ") and message in d, d


def test_wpr_meta_signature_of_another_chip(synth_fw: Path) -> None:
    rig = make_rig("tu117", synth_fw)
    r = _prepared(rig)
    assert r.gsp is not None and r.wpr_meta is not None and rig.fw.booter_load is not None
    r.gsp.signature.write(0, bytes(rig.fw.gsp.signatures[".fwsignature_tu10x"]))
    with pytest.raises(FalconError, match="MAILBOX0 0xb0070013"):
        booter_load(rig.dev, rig.spec.chipset, rig.fw.booter_load, r.wpr_meta.bus_addr)
    assert _diag(rig, rig.sec2).endswith("expected .fwsignature_tu11x of gsp-535.113.01.bin, the copy is "
                                         ".fwsignature_tu10x")


def test_wpr_meta_frts_region_must_be_wpr2(synth_fw: Path) -> None:
    """The layout FRTS ran for must be the one the meta describes."""
    rig = make_rig("ga102", synth_fw)
    r = _prepared(rig)
    assert r.wpr_meta is not None and rig.fw.booter_load is not None
    rig.model.set_wpr2(rig.layout.frts.start - 0x100000, rig.layout.frts.end - 0x100000)
    with pytest.raises(FalconError, match="MAILBOX0 0xb0070016"):
        booter_load(rig.dev, rig.spec.chipset, rig.fw.booter_load, r.wpr_meta.bus_addr)
    assert "FRTS region [0x5ffe00000, 0x5fff00000) is not WPR2 [0x5ffd00000, 0x5ffe00000) as FWSEC-FRTS set it" in \
        _diag(rig, rig.sec2)


def test_booter_without_frts_first(synth_fw: Path) -> None:
    rig = make_rig("ad104", synth_fw)
    r = rig.run(until="wpr-meta")
    rig.unload()  # tears WPR2 down again
    prepare_gsp_riscv(rig.dev, rig.spec.chipset, rig.libos.bus_addr)
    assert r.wpr_meta is not None and rig.fw.booter_load is not None
    with pytest.raises(FalconError, match="MAILBOX0 0xb0070016"):
        booter_load(rig.dev, rig.spec.chipset, rig.fw.booter_load, r.wpr_meta.bus_addr)
    assert _diag(rig, rig.sec2) == "SEC2: booter_load: GspFwWprMeta WPR2 is not set: FWSEC-FRTS has not run"


def test_wpr_meta_at_an_unmapped_address(synth_fw: Path) -> None:
    rig = make_rig("tu102", synth_fw)
    _prepared(rig)
    assert rig.fw.booter_load is not None
    with pytest.raises(FalconError, match="MAILBOX0 0xb0070010"):
        booter_load(rig.dev, rig.spec.chipset, rig.fw.booter_load, 0x6000000000)
    assert "cannot read GspFwWprMeta at MAILBOX1:MAILBOX0 = 0x6000000000" in _diag(rig, rig.sec2)


def test_gsp_not_reset_before_booter(synth_fw: Path) -> None:
    rig = make_rig("tu104", synth_fw)
    r = rig.run(until="wpr-meta")  # the GSP falcon still holds FWSEC, halted
    assert r.wpr_meta is not None and rig.fw.booter_load is not None
    with pytest.raises(FalconError, match="MAILBOX0 0xb0070017"):
        booter_load(rig.dev, rig.spec.chipset, rig.fw.booter_load, r.wpr_meta.bus_addr)
    assert "the GSP falcon is halted (it must be reset into RISC-V mode" in _diag(rig, rig.sec2)


def test_gsp_reset_without_riscv_core_select_on_ga102(synth_fw: Path) -> None:
    rig = make_rig("ga102", synth_fw)
    r = rig.run(until="wpr-meta")
    gsp = gsp_falcon(rig.dev, rig.spec.chipset)
    gsp.reset()  # falcon core, not RISC-V
    gsp.write_mailboxes(rig.libos.bus_addr & 0xFFFFFFFF, rig.libos.bus_addr >> 32)
    assert r.wpr_meta is not None and rig.fw.booter_load is not None
    with pytest.raises(FalconError, match="MAILBOX0 0xb0070017"):
        booter_load(rig.dev, rig.spec.chipset, rig.fw.booter_load, r.wpr_meta.bus_addr)
    assert "does not select the RISC-V core with boot ROM fetch" in _diag(rig, rig.sec2)


def test_libos_address_must_be_mapped(synth_fw: Path) -> None:
    rig = make_rig("ad102", synth_fw)
    r = rig.run(until="wpr-meta")
    prepare_gsp_riscv(rig.dev, rig.spec.chipset, 0x5000000000)
    assert r.wpr_meta is not None and rig.fw.booter_load is not None
    with pytest.raises(FalconError, match="MAILBOX0 0xb0070017"):
        booter_load(rig.dev, rig.spec.chipset, rig.fw.booter_load, r.wpr_meta.bus_addr)
    assert "GSP MAILBOX1:MAILBOX0 = 0x5000000000 is not the address of LibOS arguments" in _diag(rig, rig.sec2)


# -- hangs and timeouts -----------------------------------------------------------------------------------


def test_falcon_that_never_halts_times_out_naming_the_engine(synth_fw: Path) -> None:
    rig = make_rig("ga102", synth_fw)
    rig.sec2.on_start = lambda f: StartResult.hang("injected")
    with pytest.raises(ChainError, match=r"stage 'booter-load': timed out after 2 s waiting for SEC2 falcon to "
                                         r"halt") as ei:
        rig.run()
    assert isinstance(ei.value.cause, PollTimeout)
    assert ei.value.result.wpr_meta is not None  # the partial result carries the memory to free
    ei.value.result.free(rig.dev.dma)  # type: ignore[union-attr]


def test_scrubbing_that_never_ends(synth_fw: Path) -> None:
    rig = make_rig("tu102", synth_fw)
    rig.gsp.scrub_ns = None
    with pytest.raises(ChainError, match=r"stage 'fwsec-frts': timed out .* GSP falcon IMEM/DMEM scrubbing"):
        rig.run()


def test_riscv_core_that_never_comes_up(synth_fw: Path) -> None:
    rig = make_rig("ad102", synth_fw)
    rig.sec2.on_start = lambda f: StartResult.halt(0)  # the booter "succeeds" without starting GSP-RM
    rig.model.set_wpr2(0, 0)
    with pytest.raises(ChainError, match=r"stage 'gsp-active': timed out after 5 s waiting for GSP RISC-V core "
                                         r"active \(RISCV_CPUCTL.ACTIVE_STAT=1\)"):
        rig.run()


def test_wpr2_helpers() -> None:
    from nova_core.falcon.fwsec import Wpr2

    w = Wpr2(0x0057F9A0, 0x00580000)
    assert (w.start, w.end, w.is_set) == (0x57F9A000, 0x58000000, True) and str(w) == "[0x57f9a000, 0x58000000)"
    assert str(Wpr2(0, 0)) == "not set"


def test_driver_refuses_an_unknown_command_and_a_bootloader_overlapping_fwsec(synth_fw: Path) -> None:
    from nova_core.falcon.genbl import GenericBootloader

    rig = make_rig("tu102", synth_fw)
    fwsec = rig.vbios.fwsec
    assert fwsec is not None
    gsp = gsp_falcon(rig.dev, rig.spec.chipset)
    with pytest.raises(FalconError, match=r"FWSEC command 66 is not one of FRTS \(0x15\), SB \(0x19\)"):
        run_fwsec(gsp, fwsec, 0x42)  # type: ignore[arg-type]
    big = GenericBootloader(struct.pack("<6I", 0x10DE, 1, 0, 0x18, 0x30, 0xE000)
                            + struct.pack("<6I", 0xFD, 0, 0, 0xE000, 0, 0) + bytes(0xE000), "big")
    with pytest.raises(FalconError, match=r"GSP: FWSEC-FRTS IMEM \[0, 0x3000\) runs into the generic bootloader, "
                                          r"which sits at IMEM 0x2000"):
        run_fwsec(gsp, fwsec, FwsecCommand.FRTS, frts_offset=rig.layout.frts.start, bootloader=big)
    assert rig.gsp.starts == 0
