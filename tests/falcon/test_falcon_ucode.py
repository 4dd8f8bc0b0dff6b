"""FalconUcode: validation, from_layout, and real artifacts (booters, FWSEC) on the simulated falcons."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from flush_page import registered
from nova_core.errors import FalconError, FirmwareError
from nova_core.falcon import BromParams, FalconUcode, UcodeSegment, falcon
from nova_core.falcon.facts import FalconEngine
from nova_core.firmware import BooterFirmware
from nova_core.gpu import Chipset
from nova_core.sim import SimGpu
from nova_core.sim.falcon_check import ExpectedBrom, ExpectedLoad, ExpectedSegment, expect_ucode
from nova_core.sim.models.falcon import DMEM_BYTES, IMEM_BYTES
from nova_core.vbios import FwsecCommand, Vbios

# -- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("imem", "dmem", "boot", "message"), [
    ((), (), 0, "needs at least one IMEM segment"),
    ((UcodeSegment(b"", 0),), (), 0, "IMEM segment at 0x0 is empty"),
    ((UcodeSegment(b"abcd", 0x80),), (), 0, "IMEM segment destination 0x80 is not 256-byte"),
    ((UcodeSegment(b"abcd", 0, tag=0x10),), (), 0, "tag address 0x10 is not block aligned"),
    ((UcodeSegment(b"a" * 512, 0, tag=0xFFFF00),), (), 0, "tags reach past the 16-bit IMEMT field"),
    ((UcodeSegment(b"a" * 512, 0), UcodeSegment(b"b", 0x100)), (), 0, "IMEM segments .* overlap"),
    ((UcodeSegment(b"a", 0),), (UcodeSegment(b"x", 2),), 0, "DMEM segment destination 0x2 is not 4-byte"),
    ((UcodeSegment(b"a", 0),), (UcodeSegment(b"x", 0, secure=True),), 0, "has a tag or secure flag"),
    ((UcodeSegment(b"a", 0),), (UcodeSegment(b"", 0),), 0, "DMEM segment at 0x0 is empty"),
    ((UcodeSegment(b"a", 0),), (UcodeSegment(b"x" * 8, 0), UcodeSegment(b"y", 4)), 0, "DMEM segments .* overlap"),
    ((UcodeSegment(b"a", 0),), (), 1 << 32, "boot vector 4294967296 is not a 32-bit address"),
])
def test_ucode_validation(imem: tuple[UcodeSegment, ...], dmem: tuple[UcodeSegment, ...], boot: int,
                          message: str) -> None:
    with pytest.raises(FalconError, match=message):
        FalconUcode("u", imem, dmem, boot)


def test_brom_params_validation() -> None:
    with pytest.raises(FirmwareError, match="ucode_id = 256 is not a 8-bit unsigned value"):
        BromParams(0, 1, 256)
    with pytest.raises(FirmwareError, match="engine_id_mask = -1"):
        BromParams(0, -1, 1)


@dataclass(frozen=True)
class _Seg:
    src: int
    dst: int
    size: int
    secure: bool
    tag: int | None = None


@dataclass(frozen=True)
class _Layout:
    image: bytes
    imem_sec: _Seg
    imem_ns: _Seg | None
    dmem: _Seg
    boot_vector: int
    brom: BromParams | None


def test_from_layout_slices_the_image() -> None:
    image = bytes(range(256)) * 8
    lay = _Layout(image, _Seg(256, 256, 512, True, 256), _Seg(0, 0, 256, False, 0), _Seg(1024, 0, 100, False), 0,
                  None)
    u = FalconUcode.from_layout(lay, "lay")
    assert [s.dst for s in u.imem] == [0, 256] and [s.secure for s in u.imem] == [False, True]
    assert u.imem[1].data == image[256:768] and u.dmem[0].data == image[1024:1124]
    assert u.imem_end == 768 and u.dmem_end == 100
    assert u.as_json()["imem"][1] == {"dst": 256, "size": 512, "secure": True, "tag": 256}
    bad = _Layout(image, _Seg(2000, 0, 100, True), None, _Seg(0, 0, 4, False), 0, None)
    with pytest.raises(FalconError, match="secure IMEM segment \\[0x7d0, \\+0x64\\) is outside the 0x800-byte image"):
        FalconUcode.from_layout(bad, "bad")


# -- real artifacts -----------------------------------------------------------------------------

V = "535.113.01"


def _expected_from_layout(layout: object, source: str, **kw: int) -> ExpectedLoad:
    """The sim's expectation from a layout's raw fields (image slices), not from the driver's FalconUcode."""
    img = layout.image  # type: ignore[attr-defined]
    segs = [s for s in (layout.imem_ns, layout.imem_sec) if s is not None]  # type: ignore[attr-defined]
    imem = tuple(ExpectedSegment(s.dst, bytes(img[s.src:s.src + s.size]), s.secure, s.tag) for s in segs)
    d = layout.dmem  # type: ignore[attr-defined]
    b = layout.brom  # type: ignore[attr-defined]
    return ExpectedLoad(source, imem, (ExpectedSegment(d.dst, bytes(img[d.src:d.src + d.size])),),
                        layout.boot_vector,  # type: ignore[attr-defined]
                        None if b is None else ExpectedBrom(b.pkc_data_offset, b.engine_id_mask, b.ucode_id), **kw)


@pytest.mark.artifacts
@pytest.mark.parametrize("chip", ["tu102", "tu117", "ga100", "ga102", "ad102"])
def test_real_booters_load_on_simulated_sec2(firmware_path: Path, chip: str) -> None:
    gpu = registered(SimGpu(chip))
    sec2 = falcon(gpu.device(), gpu.chipset, FalconEngine.SEC2)
    model = gpu.models["falcon"].sec2  # type: ignore[attr-defined]
    for kind in ("booter_load", "booter_unload"):
        path = firmware_path / "nvidia" / chip / "gsp" / f"{kind}-{V}.bin"
        if not path.exists():
            pytest.skip(f"{path} not installed")
        booter = BooterFirmware.open(path)
        sec2.reset()
        fused = sec2.fuse_version(booter.meta.engine_id_mask, booter.meta.ucode_id)
        layout = booter.load_layout(gpu.facts.falcon_hal, fused)
        ucode = FalconUcode.from_layout(layout, kind)
        assert ucode.imem_end <= IMEM_BYTES and ucode.dmem_end <= DMEM_BYTES
        model.on_start = expect_ucode(_expected_from_layout(layout, f"{kind} {chip}", mailbox0=0x1000, mailbox1=0x2))
        sec2.load(ucode)
        assert sec2.boot(0x1000, 0x2) == (0, 0x2), model.diagnostics


@pytest.mark.artifacts
def test_real_fwsec_loads_on_simulated_gsp(vbios_path: Path) -> None:
    loaded = 0
    for rom in sorted(vbios_path.glob("*.rom")):
        vb = Vbios.from_file(rom)
        if vb.fwsec is None:
            continue
        chip = Chipset.parse(rom.name.split("_")[0].split("-")[1])
        gpu = registered(SimGpu(chip, vbios=rom))
        gsp = falcon(gpu.device(), gpu.chipset, FalconEngine.GSP)
        gsp.reset()
        fw = vb.fwsec
        fuse = None
        if fw.desc.version == 3:
            fuse = gsp.fuse_version(fw.desc.fields["engine_id_mask"], fw.desc.fields["ucode_id"])
            fuse = fuse if fuse in fw.signature_versions else fw.signature_versions[0]
        img = fw.patch(FwsecCommand.FRTS, frts_offset=0x2000000, fuse_version=fuse)
        ucode = FalconUcode.from_layout(img, "FWSEC-FRTS")
        assert ucode.imem_end <= IMEM_BYTES, rom.name
        model = gpu.models["falcon"].gsp  # type: ignore[attr-defined]
        model.on_start = expect_ucode(_expected_from_layout(img, f"FWSEC of {rom.name}"))
        gsp.load(ucode)
        assert gsp.boot() == (0, 0), model.diagnostics
        loaded += 1
    assert loaded >= 2
