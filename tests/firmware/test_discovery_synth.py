"""Firmware discovery over a synthetic linux-firmware tree; the synthetic set itself; ``nova fw``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from nova_core.cli.main import main
from nova_core.errors import FirmwareError
from nova_core.firmware import FirmwareNotFound, find_file, open_firmware_set, search_path
from nova_core.firmware import facts as F
from nova_core.firmware.facts import FirmwareKind
from nova_core.gpu.chips import BootPath, Chipset
from nova_core.sim.synth import firmware as synth

Capture = pytest.CaptureFixture[str]


def test_search_path_order(tmp_path: Path) -> None:
    env = {"NOVA_FIRMWARE_PATH": os.pathsep.join([str(tmp_path / "a"), "", str(tmp_path / "b"), "/lib/firmware"])}
    assert search_path(env) == [tmp_path / "a", tmp_path / "b", Path("/lib/firmware")]
    assert search_path({}) == [Path("/lib/firmware")]


def test_missing_file_lists_every_path_and_package(tmp_path: Path) -> None:
    roots = [tmp_path / "one", tmp_path / "two"]
    with pytest.raises(FirmwareNotFound) as ei:
        find_file("ga104", FirmwareKind.GSP, "550.163.01", roots=roots)
    msg = str(ei.value)
    assert ei.value.tried == [r / n for r in roots
                              for n in ("nvidia/ga104/gsp/gsp-550.163.01.bin", "nvidia/550.163.01/gsp_ga10x.bin")]
    assert all(str(p) in msg for p in ei.value.tried)
    assert "firmware-nvidia-graphics or firmware-nvidia-gsp" in msg and "NOVA_FIRMWARE_PATH" in msg
    with pytest.raises(FirmwareNotFound, match=r"no booter_load firmware for TU102 .*Debian package "
                                               r"firmware-nvidia-graphics \(NVIDIA.s driver packages ship only"):
        find_file("tu102", FirmwareKind.BOOTER_LOAD, "535.113.01", roots=roots)


def test_broken_symlink_is_reported(tmp_path: Path) -> None:
    d = tmp_path / "nvidia/tu104/gsp"
    d.mkdir(parents=True)
    (d / "gsp-535.113.01.bin").symlink_to("../../tu102/gsp/gsp-535.113.01.bin")
    with pytest.raises(FirmwareNotFound, match=r"exists but is not a readable file \(broken symlink to "
                                               r"\.\./\.\./tu102/gsp/gsp-535.113.01.bin\)"):
        find_file("tu104", FirmwareKind.GSP, "535.113.01", roots=[tmp_path])


def test_nvidia_driver_name_is_found(tmp_path: Path) -> None:
    d = tmp_path / "nvidia/550.163.01"
    d.mkdir(parents=True)
    (d / "gsp_tu10x.bin").write_bytes(b"x")
    f = find_file("ga100", FirmwareKind.GSP, "550.163.01", roots=[tmp_path])
    assert f.name == "nvidia/550.163.01/gsp_tu10x.bin" and f.package == F.DEBIAN_PACKAGE_NVIDIA_GSP


@pytest.mark.parametrize("chip", [c for c in Chipset if not c.name.startswith("GB")], ids=lambda c: c.name)
def test_open_synthetic_set_for_every_chip(chip: Chipset, synth_root: Path) -> None:
    with open_firmware_set(chip, roots=[synth_root]) as fw:
        assert fw.synthetic and fw.version == "535.113.01" and fw.chip is chip
        sec2 = chip.facts.boot_path is BootPath.SEC2_BOOTER
        assert (fw.booter_load is not None) == sec2 and (fw.booter_unload is not None) == sec2
        leader = "tu102" if chip.facts.gsp_image_family == "tu10x" else "ga102"
        gsp = fw.files[FirmwareKind.GSP]
        assert gsp.real_path == (synth_root / f"nvidia/{leader}/gsp/gsp-535.113.01.bin").resolve()
        assert gsp.via_symlink == (chip.lower != leader)
        assert fw.as_json()["gsp_signature_section"] == chip.facts.gsp_sig_section


def test_version_choice_and_mismatch(synth_root: Path, tmp_path: Path) -> None:
    assert open_firmware_set("gb202", roots=[synth_root]).version == "570.144"  # 535 has no Blackwell
    assert open_firmware_set("ga102", "570.144", roots=[synth_root]).version == "570.144"
    with pytest.raises(FirmwareNotFound, match=r"no complete firmware set for TU102 \(versions tried: 535.113.01, "
                                               r"570.144\)"):
        open_firmware_set("tu102", roots=[tmp_path])
    synth.write_firmware_tree(tmp_path, "tu102")
    (tmp_path / "nvidia/tu102/gsp/gsp-535.113.01.bin").rename(tmp_path / "nvidia/tu102/gsp/gsp-570.144.bin")
    for kind in ("booter_load", "booter_unload", "bootloader"):
        (tmp_path / f"nvidia/tu102/gsp/{kind}-535.113.01.bin").rename(tmp_path / f"nvidia/tu102/gsp/{kind}-570.144.bin")
    with pytest.raises(FirmwareError, match=r"\.fwversion says '535.113.01', but the file is named for version "
                                            r"'570.144'"):
        open_firmware_set("tu102", "570.144", roots=[tmp_path])


def test_real_tree_is_not_labelled_synthetic(tmp_path: Path) -> None:
    synth.write_firmware_tree(tmp_path, "ad102")
    (tmp_path / synth.MANIFEST_NAME).unlink()
    assert not open_firmware_set("ad102", roots=[tmp_path]).synthetic


def test_synthetic_set_is_deterministic_and_modest(tmp_path: Path) -> None:
    assert synth.MANIFEST_NAME == F.SYNTHETIC_MANIFEST_NAME
    a = synth.write_firmware_tree(tmp_path / "a", ["ga102", "tu117"])
    b = synth.write_firmware_tree(tmp_path / "b", ["ga102", "tu117"])
    assert a == b
    for name in a["versions"]["535.113.01"]["chips"]["GA102"]["files"]:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    total = sum(p.stat().st_size for p in (tmp_path / "a").rglob("*.bin") if not p.is_symlink())
    assert total < 8 << 20
    on_disk = json.loads((tmp_path / "a" / synth.MANIFEST_NAME).read_text())
    assert on_disk["synthetic"] is True and set(on_disk["versions"]["535.113.01"]["chips"]) == {"GA102", "TU117"}


def test_manifest_tells_the_sim_what_to_expect() -> None:
    m = synth.manifest("ga102")
    bl = m["booter_load"]
    assert bl["sig_size"] == 384 and len(bl["signatures"]) == 2 and bl["fuse_ver"] == 1
    assert bl["signature_index_by_fused_version"] == {"0": 1, "1": 0}
    assert bl["pkc_data_offset"] == 0x10 and bl["boot_vector"] == {"tu102": 0, "ga102": 0x100}
    assert m["gsp"]["image_is_elf"] is False and m["gsp"]["image_bytes"] % 4096 == 0
    t = synth.manifest("tu116")
    assert t["booter_load"]["sig_size"] == 16 and t["booter_load"]["signature_index_by_fused_version"]["5"] == 0
    assert t["gsp"]["image_is_elf"] is True and t["gsp"]["image_bytes"] % 4096 != 0
    assert t["bootloader"]["desc"]["version"] == 4 and synth.manifest("gh100")["booter_load"] is None
    with pytest.raises(Exception, match="does not support GB202"):
        synth.build_firmware("gb202", "535.113.01")
    with pytest.raises(Exception, match="no synthetic firmware for version '1.0'"):
        synth.build_firmware("ga102", "1.0")


def test_nova_fw_json(synth_root: Path, capsys: Capture) -> None:
    gsp = synth_root / "nvidia/tu117/gsp/gsp-535.113.01.bin"
    assert main(["fw", str(gsp), "--chip", "tu117", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["kind"] == "gsp" and doc["version"] == "535.113.01"
    assert next(s["size"] for s in doc["sections"] if s["name"] == ".fwversion") == 11
    assert doc["signatures"] == [".fwsignature_ga100", ".fwsignature_tu11x", ".fwsignature_tu10x"]
    assert doc["selected_signature"] == ".fwsignature_tu11x" and doc["image"]["is_elf"] is True
    r = doc["radix3"]
    assert r["level2_pages"] == r["level1_entries"] == -(-r["image_pages"] // 512) and r["image_bytes"] > 0
    booter = synth_root / "nvidia/ad102/gsp/booter_load-535.113.01.bin"
    assert main(["fw", str(booter), "--chip", "ad102", "--fused-version", "1", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["kind"] == "booter" and doc["role"] == "load" and doc["signatures"] == ["sig_prod[0]", "sig_prod[1]"]
    assert doc["hs_header"]["num_sig"] == 2 and doc["selected_signature"] == "sig_prod[0]"
    assert doc["load_layout"]["brom"]["pkc_data_offset"] == 0x10
    bl = synth_root / "nvidia/tu102/gsp/bootloader-535.113.01.bin"
    assert main(["fw", str(bl), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["kind"] == "bootloader" and doc["riscv_desc"]["version"] == 4 and doc["riscv_desc"]["size"] == 76


def test_nova_fw_text_and_errors(synth_root: Path, tmp_path: Path, capsys: Capture) -> None:
    assert main(["fw", str(synth_root / "nvidia/ga102/gsp/gsp-535.113.01.bin"), "--chip", "ga104"]) == 0
    out = capsys.readouterr().out
    assert "raw code" in out and "GA104 uses .fwsignature_ga10x" in out
    assert main(["fw", str(synth_root / "nvidia/ga102/gsp/gsp-535.113.01.bin"), "--chip", "tu102"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no signature for TU102" in err
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\0" * 64)
    assert main(["fw", str(junk)]) == 1
    assert "neither an ELF" in capsys.readouterr().err
    assert main(["fw", str(tmp_path / "none.bin")]) == 1
    assert "cannot open firmware file" in capsys.readouterr().err


@pytest.mark.parametrize("kernel_name", [True, False], ids=["proc-fd", "resolve"])
def test_real_path_equals_resolve_through_symlinked_files_and_directories(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernel_name: bool) -> None:
    """A found file's real path is exactly Path.resolve(), whether it comes from the kernel's name for the descriptor
    (Linux) or from resolving the path (elsewhere); what is not a regular file is not found."""
    from nova_core.firmware import discovery

    if not kernel_name:
        monkeypatch.setattr(discovery, "_O_PATH", None)
    (tmp_path / "store" / "gsp").mkdir(parents=True)
    (tmp_path / "store" / "gsp" / "a.bin").write_bytes(b"a")
    (tmp_path / "store" / "gsp" / "b.bin").write_bytes(b"bb")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "c.bin").write_bytes(b"ccc")
    (tmp_path / "store" / "gsp" / "c.bin").symlink_to("../../elsewhere/c.bin")  # a symlinked file
    (tmp_path / "store" / "gsp" / "dangling.bin").symlink_to("../../elsewhere/none.bin")
    (tmp_path / "store" / "gsp" / "dir.bin").mkdir()
    (tmp_path / "root" / "nvidia").mkdir(parents=True)
    (tmp_path / "root" / "nvidia" / "chip").symlink_to(tmp_path / "store")  # a symlinked directory
    for name, size in (("a.bin", 1), ("b.bin", 2), ("c.bin", 3)):
        p = tmp_path / "root" / "nvidia" / "chip" / "gsp" / name
        assert discovery._regular_file(p) == (size, p.resolve()), name
    assert discovery._regular_file(tmp_path / "root" / "nvidia" / "chip" / "gsp" / "c.bin")[1] == \
        (tmp_path / "elsewhere" / "c.bin").resolve()  # type: ignore[index]
    for name in ("missing.bin", "dangling.bin", "dir.bin"):
        assert discovery._regular_file(tmp_path / "root" / "nvidia" / "chip" / "gsp" / name) is None, name
    rel = Path(os.path.relpath(tmp_path / "root" / "nvidia" / "chip" / "gsp" / "a.bin"))
    assert discovery._regular_file(rel) == (1, rel.resolve())
