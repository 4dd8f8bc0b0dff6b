"""Discovery over fake sysfs trees, sysfs SR-IOV, and the ``nova pci`` / ``nova list`` commands."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from nova_core.cli.main import main
from nova_core.errors import PciError
from nova_core.pci import ConfigSpace, SysfsSriov, find_function, list_devices
from nova_core.pci.discovery import read_resources, vf_bar_sizes
from nova_core.pci.source import SysfsConfig

from .conftest import FIXTURES, load_dump

GPU_RES = [(0xF6000000, 0xF6FFFFFF, 0x40200), (0x6000000000, 0x600FFFFFFF, 0x14220C), (0, 0, 0),
           (0x6100000000, 0x6101FFFFFF, 0x14220C), (0, 0, 0), (0xE000, 0xE07F, 0x40101)]


def test_list_only_nvidia_display_by_default(fake_sysfs: Callable[..., Path], tmp_path: Path) -> None:
    fake_sysfs("0000:00:00.0", vendor=0x8086, device=0x0D57, klass=0x060000)
    fake_sysfs("0000:01:00.0", driver="nvidia", group=13, resources=GPU_RES)
    fake_sysfs("0000:01:00.1", device=0x22BA, klass=0x040300, driver="snd_hda_intel", group=13)
    devs = list_devices(tmp_path / "devices")
    assert [d.bdf for d in devs] == ["0000:01:00.0"]
    gpu = devs[0]
    assert (gpu.vendor, gpu.device, gpu.class_code, gpu.driver, gpu.iommu_group) == (0x10DE, 0x2684, 0x030000,
                                                                                     "nvidia", 13)
    assert gpu.bar_sizes == {0: 16 << 20, 1: 256 << 20, 3: 32 << 20, 5: 128}
    assert gpu.resources[1].is_64bit and gpu.resources[1].prefetchable and gpu.resources[5].is_io
    assert len(list_devices(tmp_path / "devices", all_devices=True)) == 3
    assert list_devices(tmp_path / "absent") == []


def test_cli_list(fake_sysfs: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake_sysfs("0000:00:00.0", vendor=0x8086, device=0x0D57, klass=0x060000)
    root = str(tmp_path / "devices")
    assert main(["list", "--sysfs", root]) == 0
    assert "no NVIDIA GPU found" in capsys.readouterr().out
    assert main(["list", "--all", "--sysfs", root]) == 0
    assert "0000:00:00.0  8086:0d57 Host bridge" in capsys.readouterr().out
    fake_sysfs("0000:01:00.0", driver="vfio-pci", group=7, resources=GPU_RES)
    assert main(["list", "--json", "--sysfs", root]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc[0]["bdf"] == "0000:01:00.0" and doc[0]["driver"] == "vfio-pci" and doc[0]["iommu_group"] == 7
    assert doc[0]["bars"][1] == {"index": 1, "size": 256 << 20}


def test_cli_list_on_this_host(capsys: pytest.CaptureFixture[str]) -> None:
    """This machine has no NVIDIA GPU (or has one): either way the command says so plainly."""
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "no NVIDIA GPU found" in out or out.startswith("BDF")


def test_sysfs_config_unprivileged_64_bytes(fake_sysfs: Callable[..., Path], tmp_path: Path) -> None:
    full = load_dump("ga104-rtx3060ti.lspci", size=4096).data
    fake_sysfs("0000:01:00.0", config=full[:64], resources=GPU_RES)  # what a non-root reader gets
    fn = find_function("0000:01:00.0", tmp_path / "devices")
    cs = ConfigSpace(fn.config(), sizes=fn.bar_sizes)
    assert cs.size == 64 and cs.header().device == 0x2489
    walk = cs.capabilities()
    assert walk.capabilities == [] and "unprivileged" in walk.notes[0]
    assert {b.index: b.size for b in cs.bars()} == {0: 16 << 20, 1: 256 << 20, 3: 32 << 20, 5: 128}
    with pytest.raises(PciError, match="opened read-only"):
        fn.config().write(4, b"\0\0")
    with pytest.raises(PciError, match="no config space"):
        SysfsConfig(tmp_path / "nope" / "config")


def test_cli_pci_on_a_fake_device(fake_sysfs: Callable[..., Path], tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    fake_sysfs("0000:01:00.0", config=load_dump("ga104-rtx3060ti.lspci", size=4096).data, resources=GPU_RES)
    assert main(["pci", "01:00.0", "--sysfs", str(tmp_path / "devices")]) == 0
    out = capsys.readouterr().out
    assert "Region 1: Memory at 4000000000 (64-bit, prefetchable) [size=256M]" in out
    assert "Capabilities: [bb0 v1] Physical Resizable BAR" in out
    assert "BAR 1: current size: 8GB" in out
    assert main(["pci", "0000:02:00.0", "--sysfs", str(tmp_path / "devices")]) == 1
    assert "no PCI function 0000:02:00.0" in capsys.readouterr().err


def test_cli_pci_json_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pci", "--sim", "gh100", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {"vendor", "device", "class", "bars", "capabilities"} <= set(doc)
    assert (doc["vendor"], doc["device"], doc["class"]) == (0x10DE, 0x2330, 0x030200)
    assert doc["bars"][1] == {"index": 1, "address": 0x6000000000, "size": 128 << 30, "is_64bit": True,
                              "prefetchable": True, "is_io": False}
    assert {"id", "name", "offset", "extended"} <= set(doc["capabilities"][0])
    sriov = next(c for c in doc["capabilities"] if c["name"].startswith("Single Root"))
    assert (sriov["id"], sriov["offset"], sriov["extended"]) == (0x10, 0xBCC, True)
    assert sriov["decoded"]["total_vfs"] == 16


def test_cli_pci_file_and_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["pci", "--file", str(FIXTURES / "gp107gl-quadro-p1000.lspci")]) == 0
    out = capsys.readouterr().out
    assert "Capabilities: [68] MSI: Enable+ Count=1/1 Maskable- 64bit+" in out
    assert "[note] the config space is 256 bytes" in out
    raw = tmp_path / "cfg.bin"
    raw.write_bytes(load_dump("ga104-rtx3060ti.lspci", size=4096).data)
    assert main(["pci", "--file", str(raw), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["device"] == 0x2489
    raw.write_bytes(b"\x00" * 10)
    assert main(["pci", "--file", str(raw)]) == 1
    assert "10 bytes of binary data is not a config-space dump" in capsys.readouterr().err
    # issue 22, defect 8: arbitrary text was decoded as config bytes
    text = tmp_path / "text.txt"
    text.write_text("The quick brown fox jumps over the lazy dog.\n")
    assert main(["pci", "--file", str(text)]) == 1
    assert "is text but not an lspci -x hex dump: hex dump: no rows" in capsys.readouterr().err
    raw.write_bytes(bytes(range(256)) * 2)  # binary, 512 bytes: no config space has that size
    assert main(["pci", "--file", str(raw)]) == 1
    assert "512 bytes of binary data" in capsys.readouterr().err
    raw.write_bytes(load_dump("ga104-rtx3060ti.lspci", size=4096).data[:64])  # an unprivileged copy of sysfs config
    assert main(["pci", "--file", str(raw), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["size"] == 64
    assert main(["pci"]) == 1
    assert "give exactly one of" in capsys.readouterr().err


def test_sysfs_sriov(fake_sysfs: Callable[..., Path], tmp_path: Path) -> None:
    path = fake_sysfs("0000:41:00.0", extra={"sriov_totalvfs": "16\n", "sriov_numvfs": "0\n", "sriov_offset": "4\n",
                                             "sriov_stride": "1\n", "sriov_vf_device": "2330\n"})
    sr = SysfsSriov(path)
    assert (sr.total_vfs, sr.num_vfs, sr.vf_offset, sr.vf_stride, sr.vf_device) == (16, 0, 4, 1, 0x2330)
    writes: list[str] = []
    real = sr._write_numvfs

    def spy(n: int) -> None:
        writes.append(str(n))
        real(n)

    sr._write_numvfs = spy  # type: ignore[method-assign]
    sr.enable(2)
    (path / "sriov_numvfs").write_text("2\n")  # the kernel would update it
    sr.enable(3)  # nonzero -> nonzero goes through 0
    assert writes == ["2", "0", "3"]
    with pytest.raises(PciError, match="17 VFs requested; sriov_totalvfs is 16"):
        sr.enable(17)
    with pytest.raises(PciError, match="virtfn0 is missing"):
        (path / "sriov_numvfs").write_text("1\n")
        sr.vfs()
    nosriov = fake_sysfs("0000:42:00.0")
    with pytest.raises(PciError, match="no SR-IOV support"):
        SysfsSriov(nosriov)


def test_resources_and_vf_bar_sizes(tmp_path: Path) -> None:
    p = tmp_path / "resource"
    lines = ["0x0 0x0 0x0"] * 7 + ["0x6200000000 0x62003fffff 0x14220c"] + ["0x0 0x0 0x0"] * 5
    p.write_text("\n".join(lines) + "\n")
    assert vf_bar_sizes(read_resources(p), 16) == {0: 256 << 10}
    p.write_text("0x0 0x0\n")
    with pytest.raises(PciError, match="expected 'start end flags'"):
        read_resources(p)
    p.write_text("0xzz 0x0 0x0\n")
    with pytest.raises(PciError, match="not hex"):
        read_resources(p)


def test_sysfs_sriov_refusals_name_the_cause(fake_sysfs: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    import nova_core.pci.sriov as sriov_mod

    path = fake_sysfs("0000:41:00.0", extra={"sriov_totalvfs": "16\n", "sriov_numvfs": "0\n"})
    sr = SysfsSriov(path)

    def denied(*_: object) -> int:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(sriov_mod.os, "open", denied)
    with pytest.raises(PciError, match="permission denied \\(changing the number of VFs needs root\\)"):
        sr.enable(1)
    monkeypatch.undo()

    def no_configure(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOENT, "No such file or directory")

    monkeypatch.setattr(sriov_mod.os, "write", no_configure)
    with pytest.raises(PciError, match="the bound driver does not support SR-IOV"):
        sr.enable(1)
