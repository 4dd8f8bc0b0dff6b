"""Every NVIDIA file of Debian's firmware-nvidia-graphics and firmware-nvidia-gsp, held to the reference.

Values from ``shared/reference/nvidia-facts.md`` §3-§4 ("FW observed"). Skipped cleanly without the
packages (``firmware_path`` fixture).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nova_core.errors import FirmwareError
from nova_core.firmware import (
    BooterFirmware,
    GspImage,
    RiscvBootloader,
    find_file,
    open_firmware,
    open_firmware_set,
)
from nova_core.firmware.facts import FirmwareKind
from nova_core.gpu.chips import Chipset, FalconHal
from nova_core.sim import SimGpu

pytestmark = pytest.mark.artifacts
V = "535.113.01"
LINUX_FW_CHIPS = [c for c in Chipset if c.architecture.value <= 0x19 and c is not Chipset.GH100]


def gsp_dir(root: Path, chip: str) -> Path:
    return root / "nvidia" / chip / "gsp"


def all_files(root: Path) -> list[Path]:
    files = sorted((root / "nvidia").glob("*/gsp/*.bin")) + sorted((root / "nvidia").glob("*/gsp_*.bin"))
    return [f for f in files if f.is_file()]


def test_every_file_parses(firmware_path: Path) -> None:
    files = all_files(firmware_path)
    assert len(files) >= 64  # 16 chips x 4 files, plus NVIDIA's two GSP images
    kinds = {"gsp": 0, "booter": 0, "bootloader": 0}
    for f in files:
        fw = open_firmware(f)
        if isinstance(fw, GspImage):
            kinds["gsp"] += 1
            assert fw.version == f.parent.name if f.name.startswith("gsp_") else fw.version == V
            fw.close()
        elif isinstance(fw, BooterFirmware):
            kinds["booter"] += 1
            assert fw.bin.header.data_offset + fw.bin.header.data_size == f.stat().st_size
        else:
            assert isinstance(fw, RiscvBootloader)
            kinds["bootloader"] += 1
        if not isinstance(fw, GspImage):  # observed: bin_size is the file size rounded up to 256 bytes
            assert fw.bin.header.bin_size == -(-f.stat().st_size // 256) * 256
    assert kinds == {"gsp": 18, "booter": 32, "bootloader": 16}


# (chip, kind) -> sig size, num_sig, (fuse_ver, engine mask, ucode id), os_code, os_data, app0, patch_loc
BOOTERS = {
    ("tu102", "booter_load"): (16, 1, (0, 1, 0xD), (0, 0x100), (0x8000, 0x6200), (0x100, 0x7F00), 0x8200),
    ("tu102", "booter_unload"): (16, 1, (0, 1, 0xD), (0, 0x100), (0x4700, 0x4D00), (0x100, 0x4600), 0x4900),
    ("tu116", "booter_load"): (16, 1, (0, 1, 0xD), (0, 0x100), (0x8000, 0x6200), (0x100, 0x7F00), 0x8200),
    ("ga100", "booter_load"): (384, 1, (0, 1, 0x3), (0, 0x100), (0x8100, 0x6400), (0x100, 0x8000), 0x8300),
    ("ga102", "booter_load"): (384, 2, (1, 1, 0x3), (0, 0x100), (0x8400, 0x6200), (0x100, 0x8300), 0x8410),
    ("ad102", "booter_load"): (384, 2, (1, 1, 0x3), (0, 0x100), (0x7700, 0x6000), (0x100, 0x7600), 0x7710),
}


@pytest.mark.parametrize(("chip", "kind"), list(BOOTERS), ids=str)
def test_booter_headers_match_the_reference(firmware_path: Path, chip: str, kind: str) -> None:
    sig, nsig, meta, os_code, os_data, app0, patch = BOOTERS[(chip, kind)]
    b = BooterFirmware.open(gsp_dir(firmware_path, chip) / f"{kind}-{V}.bin")
    assert (b.sig_size, b.num_sig) == (sig, nsig)
    assert (b.meta.fuse_ver, b.meta.engine_id_mask, b.meta.ucode_id) == meta
    assert (b.load.os_code.offset, b.load.os_code.size) == os_code
    assert (b.load.os_data.offset, b.load.os_data.size) == os_data
    assert (b.load.app_code.offset, b.load.app_code.size) == app0
    assert b.patch_loc == patch and b.patch_sig == 0 and b.bin.header.header_offset == 24
    hal = Chipset.parse(chip).facts.falcon_hal
    lay = b.load_layout(hal, 0)
    assert lay.image[patch:patch + sig] == bytes(b.signatures[-1])
    assert lay.boot_vector == (0 if hal is FalconHal.TU102 else 0x100)


def test_tu102_booter_file_vs_bin_size(firmware_path: Path) -> None:
    b = BooterFirmware.open(gsp_dir(firmware_path, "tu102") / f"booter_load-{V}.bin")
    assert (len(b.bin.reader.view), b.bin.header.bin_size) == (57992, 58112)


def test_signature_rule_agrees_with_openrm_on_every_booter(firmware_path: Path) -> None:
    """nova-core: fused 0 -> last, else fuse_ver - fused; OpenRM: num_sig - 1 - fused (num_sig > 1), else 0."""
    for f in all_files(firmware_path):
        if not f.name.startswith("booter"):
            continue
        b = BooterFirmware.open(f)
        assert b.meta.fuse_ver == b.num_sig - 1, f  # the condition under which the two rules coincide
        for fused in range(17):
            openrm = 0 if b.num_sig == 1 else (b.num_sig - 1 - fused if fused <= b.num_sig - 1 else None)
            if fused in b.valid_fused_versions():
                assert b.signature_index(fused) == openrm, (f, fused)
            else:
                with pytest.raises(FirmwareError):
                    b.signature_index(fused)


# chip -> version, bootloader (off, size), param (off, size), manifest, monitor data, monitor code, fb reserved,
# payload size
BOOTLOADERS = {
    "tu102": (4, (0, 0x488), (0x488, 0x10), (0, 0), (0, 0), (0, 0), None, 4096),
    "tu116": (4, (0, 0x488), (0x488, 0x10), (0, 0), (0, 0), (0, 0), None, 4096),
    "ga100": (4, (0, 0x488), (0x488, 0x10), (0, 0), (0, 0), (0, 0), None, 4096),
    "ga102": (5, (0x4000, 0x458), (0x4458, 0x10), (0, 0x800), (0x800, 0x1000), (0x1800, 0x2500), 0x5000, 20480),
    "ad102": (5, (0x7000, 0x458), (0x7458, 0x10), (0, 0x800), (0x800, 0x4000), (0x4800, 0x2500), 0x8000, 32768),
}


@pytest.mark.parametrize("chip", list(BOOTLOADERS))
def test_bootloader_descriptors_match_the_reference(firmware_path: Path, chip: str) -> None:
    ver, bl, param, manifest, mdata, mcode, fbres, payload = BOOTLOADERS[chip]
    b = RiscvBootloader.open(gsp_dir(firmware_path, chip) / f"bootloader-{V}.bin")
    d = b.desc
    assert d.version == ver and b.bin.header.data_offset - b.bin.header.header_offset == (76 if ver == 4 else 84)
    assert (d.bootloader_offset, d.bootloader_size) == bl
    assert (d.bootloader_param_offset, d.bootloader_param_size) == param
    assert (d.manifest_offset, d.manifest_size) == manifest
    assert (d.monitor_data_offset, d.monitor_data_size) == mdata
    assert (d.monitor_code_offset, d.monitor_code_size) == mcode
    assert d.fb_reserved_size == fbres and len(b.payload) == payload and d.app_version == 0
    assert d.is_monitor_enabled == (1 if ver == 5 else 0)


@pytest.mark.parametrize(("chip", "size", "image", "sigs", "nested"), [
    ("tu102", 23_750_944, 0x16A3350, [".fwsignature_ga100", ".fwsignature_tu11x", ".fwsignature_tu10x"], True),
    ("ga102", 38_061_600, 0x2448000,
     [".fwsignature_cc_gh100", ".fwsignature_gh100", ".fwsignature_ad10x", ".fwsignature_ga10x"], False),
])
def test_gsp_images_match_the_reference(firmware_path: Path, chip: str, size: int, image: int, sigs: list[str],
                                        nested: bool) -> None:
    path = gsp_dir(firmware_path, chip) / f"gsp-{V}.bin"
    with GspImage.open(path) as g:
        assert path.stat().st_size == size and g.image_size == image and g.image_offset == 0x40
        assert g.version == V and g.elf.section(".fwversion").size == 11
        assert list(g.signatures) == sigs and all(v.nbytes == 0x1000 for v in g.signatures.values())
        assert len({bytes(v) for v in g.signatures.values()}) == len(sigs)  # distinct blobs
        assert g.elf.type == 1 and g.elf.machine == 243
        inner = g.nested_elf()
        assert (inner is not None) == nested
        if inner is not None:
            assert inner.type == 2 and inner.entry == 0x4017000
            for name in (".tu10x_text", ".bootstrap", ".manifest", ".memory_region_init_arguments"):
                assert inner.section(name).size > 0
            assert inner.section(".bootstrap").addr == inner.entry
        else:
            assert bytes(g.image[:4]) == bytes.fromhex("97620300")
        assert not any(s.name.startswith(".fwlogging") for s in g.elf.sections)


def test_symlinks_resolve_to_the_family_files(firmware_path: Path) -> None:
    roots = [firmware_path]
    tu = (gsp_dir(firmware_path, "tu102") / f"gsp-{V}.bin").resolve()
    ga = (gsp_dir(firmware_path, "ga102") / f"gsp-{V}.bin").resolve()
    for chip in LINUX_FW_CHIPS:
        f = find_file(chip, FirmwareKind.GSP, V, roots=roots)
        assert f.real_path == (tu if chip.facts.gsp_image_family == "tu10x" else ga), chip
        assert f.via_symlink == (chip.lower not in ("tu102", "ga102")), chip
    for chip in ("tu116", "tu117"):
        f = find_file(chip, FirmwareKind.BOOTLOADER, V, roots=roots)
        assert f.real_path == (gsp_dir(firmware_path, "tu102") / f"bootloader-{V}.bin").resolve()


def test_nvidia_driver_images(firmware_path: Path) -> None:
    for family, sig in (("tu10x", ".fwsignature_tu10x"), ("ga10x", ".fwsignature_ga10x")):
        f = find_file("tu102" if family == "tu10x" else "ad102", FirmwareKind.GSP, "550.163.01",
                      roots=[firmware_path])
        assert f.name == f"nvidia/550.163.01/gsp_{family}.bin" and f.package == "firmware-nvidia-gsp"
        with GspImage.open(f.path) as g:
            assert g.version == "550.163.01" and sig in g.signatures
            assert (g.nested_elf() is not None) == (family == "tu10x")


@pytest.mark.parametrize("chip", LINUX_FW_CHIPS, ids=lambda c: c.name)
def test_firmware_set_for_every_chip(firmware_path: Path, chip: Chipset) -> None:
    with open_firmware_set(chip, roots=[firmware_path]) as fw:
        assert fw.version == V and not fw.synthetic
        assert fw.booter_load is not None and fw.booter_unload is not None
        assert fw.gsp.signature_section(chip) == chip.facts.gsp_sig_section
        fw.booter_load.load_layout(chip.facts.falcon_hal, 0)
        fw.booter_unload.load_layout(chip.facts.falcon_hal, 0)


@pytest.mark.parametrize("chip", ["ga102", "tu102"])
def test_radix3_over_the_real_image_resolves_every_page(firmware_path: Path, chip: str) -> None:
    """The 38 MB GA10x (and 23 MB TU10x) image, scattered, back through the sim's own radix3 walk."""
    gpu = SimGpu(chip)
    with open_firmware_set(chip, roots=[firmware_path]) as fw:
        p = fw.prepare_gsp(gpu.sysmem)
        assert p.image.nents > 10 and p.radix3.geometry.level2_pages == (19 if chip == "ga102" else 12)
        pages = gpu.sysmem.radix3_page_addrs(p.radix3_bus, p.image_size)
        assert np.array_equal(pages, p.image.page_addrs())
        seen = gpu.sysmem.read_radix3(p.radix3_bus, p.image_size)
        assert seen == fw.gsp.image  # every page resolves back to the right bytes
        assert gpu.sysmem.read(p.signature_bus, 0x1000) == bytes(fw.gsp.signature(chip))
        p.free(gpu.sysmem)


@pytest.mark.parametrize("chip", ["tu102", "ga102"])
def test_elf_reader_agrees_with_pyelftools_on_real_images(firmware_path: Path, chip: str) -> None:
    elftools = pytest.importorskip("elftools.elf.elffile")
    path = gsp_dir(firmware_path, chip) / f"gsp-{V}.bin"
    with GspImage.open(path) as g, open(path, "rb") as f:
        theirs = elftools.ELFFile(f)
        pairs = [(g.elf, theirs)]
        inner = g.nested_elf()
        if inner is not None:
            pairs.append((inner, elftools.ELFFile(io.BytesIO(bytes(g.image)))))
        for ours, ref in pairs:
            assert ours.entry == ref.header["e_entry"] and len(ours.segments) == ref.header["e_phnum"]
            for a, b in zip(ours.sections, ref.iter_sections(), strict=True):
                assert (a.name, a.offset, a.size, a.addr, a.flags) == (
                    b.name, b["sh_offset"], b["sh_size"], b["sh_addr"], b["sh_flags"])
                if a.has_data and a.size < 1 << 16:
                    assert bytes(a.data) == b.data()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_real_booters_and_bootloaders(firmware_path: Path, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from([f"{k}-{V}.bin" for k in ("booter_load", "booter_unload", "bootloader")]))
    chip = data.draw(st.sampled_from(["tu102", "ga100", "ga102", "ad102"]))
    raw = bytearray((gsp_dir(firmware_path, chip) / name).read_bytes())
    header_end = 0x400
    for _ in range(data.draw(st.integers(1, 6))):
        raw[data.draw(st.integers(0, header_end))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.one_of(st.none(), st.integers(0, len(raw))))
    if cut is not None:
        del raw[cut:]
    try:
        fw = BooterFirmware(raw, "fuzz") if name.startswith("booter") else RiscvBootloader(raw, "fuzz")
        if isinstance(fw, BooterFirmware):
            fw.patched_image(fw.valid_fused_versions()[-1])
    except FirmwareError as e:
        assert str(e).startswith("fuzz")


def test_nova_fw_on_real_files(firmware_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from nova_core.cli.main import main

    assert main(["fw", str(gsp_dir(firmware_path, "ga104") / f"gsp-{V}.bin"), "--chip", "ga104", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["kind"] == "gsp" and doc["version"] == V and doc["selected_signature"] == ".fwsignature_ga10x"
    assert doc["radix3"] == {"image_bytes": 0x2448000, "image_pages": 9288, "level2_pages": 19,
                             "level1_entries": 19, "level0_entries": 1}
    assert {k: doc["sections"][0][k] for k in ("name", "size")} == {"name": ".fwimage", "size": 0x2448000}
