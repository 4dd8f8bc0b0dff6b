"""GspFwWprMeta: byte-exact against the offsets of gsp_fw_wpr_meta.h (nvidia-facts §5), r535 and r570."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from nova_core.fb import compute_fb_layout
from nova_core.fb.layout import FbLayoutError
from nova_core.fb.wpr_meta import WPR_META_ALLOC, pack_wpr_meta, wpr_meta_fields, write_wpr_meta
from nova_core.firmware import FirmwareSet, open_firmware_set
from nova_core.gpu import Chipset
from nova_core.sim import SimGpu
from nova_core.sim.synth.firmware import write_firmware_tree

MAGIC = 0xDC3AAE21371A60B3
#: u64 fields by offset (nvidia-facts §5, compiled from the real headers)
U64 = {
    "magic": 0x00, "revision": 0x08, "sysmemAddrOfRadix3Elf": 0x10, "sizeOfRadix3Elf": 0x18,
    "sysmemAddrOfBootloader": 0x20, "sizeOfBootloader": 0x28, "bootloaderCodeOffset": 0x30,
    "bootloaderDataOffset": 0x38, "bootloaderManifestOffset": 0x40, "sysmemAddrOfSignature": 0x48,
    "sizeOfSignature": 0x50, "gspFwRsvdStart": 0x58, "nonWprHeapOffset": 0x60, "nonWprHeapSize": 0x68,
    "gspFwWprStart": 0x70, "gspFwHeapOffset": 0x78, "gspFwHeapSize": 0x80, "gspFwOffset": 0x88,
    "bootBinOffset": 0x90, "frtsOffset": 0x98, "frtsSize": 0xA0, "gspFwWprEnd": 0xA8, "fbSize": 0xB0,
    "vgaWorkspaceOffset": 0xB8, "vgaWorkspaceSize": 0xC0, "bootCount": 0xC8, "verified": 0xF8,
}


def reference_bytes(fields: dict[str, int]) -> bytes:
    out = bytearray(0x100)
    values = {"magic": MAGIC, "revision": 1, "verified": 0, **fields}
    for name, off in U64.items():
        struct.pack_into("<Q", out, off, values.get(name, 0))
    return bytes(out)


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wpr-meta-fw")
    write_firmware_tree(root, ["tu102", "ga100", "ga102", "ad102"], version="535.113.01")
    write_firmware_tree(root, ["tu102", "ga102", "ad102"], version="570.144")
    return root


def _meta(fw: FirmwareSet, chip: Chipset) -> tuple[bytes, dict[str, int], object]:
    gpu = SimGpu(chip)
    lay = compute_fb_layout(chip, fb_size=gpu.vram_mib << 20, bootloader_size=len(fw.bootloader.payload),
                            gsp_image_size=fw.gsp.image_size, version=fw.version,
                            vga_workspace_base=None)
    g = fw.prepare_gsp(gpu.sysmem)
    bl = fw.bootloader.prepare(gpu.sysmem)
    meta = write_wpr_meta(gpu.sysmem, lay, g, fw.bootloader, bl)
    assert meta.buffer.size == WPR_META_ALLOC and gpu.sysmem.read(meta.bus_addr, 0x100) == meta.data
    assert gpu.sysmem.read(meta.bus_addr + 0x100, 0xF00) == bytes(0xF00)
    return meta.data, meta.fields, (lay, g, bl)


@pytest.mark.parametrize("version", ["535.113.01", "570.144"])
@pytest.mark.parametrize("chip", [Chipset.TU102, Chipset.GA102, Chipset.AD102])
def test_byte_exact_against_the_header_offsets(trees: Path, chip: Chipset, version: str) -> None:
    with open_firmware_set(chip, version, roots=[trees]) as fw:
        data, fields, (lay, g, bl) = _meta(fw, chip)
        assert data == reference_bytes(fields)
        assert fields["sysmemAddrOfRadix3Elf"] == g.radix3_bus  # type: ignore[attr-defined]
        assert fields["sizeOfRadix3Elf"] == fw.gsp.image_size
        assert fields["sysmemAddrOfBootloader"] == bl.bus_addr  # type: ignore[attr-defined]
        assert fields["sizeOfBootloader"] == len(fw.bootloader.payload)
        assert fields["bootloaderCodeOffset"] == fw.bootloader.desc.monitor_code_offset
        assert fields["gspFwWprEnd"] == lay.wpr2_end and fields["frtsOffset"] == lay.frts.start  # type: ignore[attr-defined]
        assert fields["sizeOfSignature"] == 0x1000 and fields["bootCount"] == 0
        # r570's flags (0xF1) and pmuReservedSize (0xF4) stay 0, as r535's padding is
        assert data[0xF0:0xF8] == bytes(8)


def test_ga100_has_no_frts(trees: Path) -> None:
    with open_firmware_set("ga100", roots=[trees]) as fw:
        data, fields, _ = _meta(fw, Chipset.GA100)
        assert fields["frtsSize"] == 0 and fields["frtsOffset"] == fields["gspFwWprEnd"]
        assert struct.unpack_from("<Q", data, 0xA0)[0] == 0


@pytest.mark.artifacts
@pytest.mark.parametrize("chip", ["tu102", "ga102"])
def test_real_firmware_meta_is_byte_exact(firmware_path: Path, chip: str) -> None:
    with open_firmware_set(chip, roots=[firmware_path]) as fw:
        data, fields, _ = _meta(fw, fw.chip)
        assert data == reference_bytes(fields)
        assert fields["sizeOfRadix3Elf"] == (0x16A3350 if chip == "tu102" else 0x2448000)
        assert fields["sizeOfBootloader"] == (4096 if chip == "tu102" else 20480)
        assert (fields["bootloaderCodeOffset"], fields["bootloaderDataOffset"]) == \
            ((0, 0) if chip == "tu102" else (0x1800, 0x800))


def test_inputs_that_do_not_belong_together_are_refused(trees: Path) -> None:
    with open_firmware_set("ga102", roots=[trees]) as fw:
        gpu = SimGpu("ga102")
        g = fw.prepare_gsp(gpu.sysmem)
        bl = fw.bootloader.prepare(gpu.sysmem)
        kw = dict(fb_size=24 << 30, bootloader_size=len(fw.bootloader.payload), gsp_image_size=fw.gsp.image_size,
                  version=fw.version)
        for change, message in (({"gsp_image_size": 0x1000}, "GSP-RM image (.fwimage) size of 0x1000"),
                                ({"bootloader_size": 0x488}, "bootloader payload size of 0x488"),
                                ({"version": "570.144"}, "GSP-RM version of '570.144'")):
            lay = compute_fb_layout(Chipset.GA102, **{**kw, **change})  # type: ignore[arg-type]
            with pytest.raises(FbLayoutError, match="the FB layout was computed for a " + message.replace("(", r"\(")
                               .replace(")", r"\)")):
                wpr_meta_fields(lay, g, fw.bootloader, bl.bus_addr)


def test_pack_refuses_fields_the_version_lacks() -> None:
    from nova_core.errors import GspError

    assert len(pack_wpr_meta("570.144", {"pmuReservedSize": 0})) == 0x100
    assert pack_wpr_meta("550.163.01", {"flags": 1})[0xF1] == 1  # r550 has GSP_FW_FLAGS, not pmuReservedSize
    with pytest.raises(GspError, match="pmuReservedSize"):
        pack_wpr_meta("550.163.01", {"pmuReservedSize": 0})
    with pytest.raises(GspError, match="flags"):
        pack_wpr_meta("535.113.01", {"flags": 1})
    with pytest.raises(GspError, match="pmuReservedSize"):
        pack_wpr_meta("535.113.01", {"pmuReservedSize": 0})
    with pytest.raises(GspError, match="does not fit 64 bits"):
        pack_wpr_meta("535.113.01", {"fbSize": 1 << 64})
