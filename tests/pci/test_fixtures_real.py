"""Capability parsing over recorded real config spaces of NVIDIA GPUs (public lspci dumps).

- GA104 (RTX 3060 Ti): 4 KiB dump; Resizable BAR (BAR1 resized to 8 GiB), an MSI-X capability and an
  SR-IOV capability present but not linked in the lists;
- GP107GL (Quadro P1000): 256-byte dump with lspci's own -vvv decode of the same bytes, which our
  decoder is held to line by line.
Sources are noted in the fixture files.
"""

from __future__ import annotations

from pathlib import Path

from nova_core.pci import ConfigSpace, decode
from nova_core.pci import facts as F
from nova_core.pci.caps import Aer, Msi, PciExpress, PowerManagement, ResizableBar, decode_msix, decode_sriov
from nova_core.pci.lspci import parse_listing

from .conftest import FIXTURES, load_dump

GA104 = "ga104-rtx3060ti.lspci"


def ga104() -> ConfigSpace:
    return ConfigSpace(load_dump(GA104, size=F.EXTENDED_SIZE).data)


def test_ga104_header_and_bars() -> None:
    cs = ga104()
    h = cs.header()
    assert (h.vendor, h.device, h.revision, h.class_code) == (0x10DE, 0x2489, 0xA1, 0x030000)
    assert (h.subsystem_vendor, h.subsystem_device) == (0x1458, 0x4077)
    assert h.multifunction and h.capability_pointer == 0x60
    bars = {b.index: b for b in cs.bars()}
    assert sorted(bars) == [0, 1, 3, 5]
    assert bars[0].address == 0x84000000 and not bars[0].is_64bit and not bars[0].prefetchable
    assert bars[1].address == 0x40_0000_0000 and bars[1].is_64bit and bars[1].prefetchable
    assert bars[3].address == 0x42_0000_0000 and bars[3].is_64bit
    assert bars[5].is_io and bars[5].address == 0x4000


def test_ga104_capability_lists_match_the_publication() -> None:
    walk = ga104().capabilities(strict=True)
    assert [(c.offset, c.id) for c in walk.standard] == [(0x60, 1), (0x68, 5), (0x78, 0x10), (0xB4, 9)]
    assert [(c.offset, c.id, c.version) for c in walk.extended] == [
        (0x100, 0x02, 1), (0x258, 0x1E, 1), (0x128, 0x04, 1), (0x420, 0x01, 2), (0x600, 0x0B, 1),
        (0x900, 0x19, 1), (0xBB0, 0x15, 1), (0xC1C, 0x26, 1), (0xD00, 0x27, 1), (0xE00, 0x25, 1)]
    assert walk.notes == [] and walk.problems == []


def test_ga104_decoded_registers() -> None:
    cs = ga104()
    caps = {(c.extended, c.offset): decode(cs, c) for c in cs.capabilities().capabilities}
    pm = caps[(False, 0x60)]
    assert isinstance(pm, PowerManagement) and pm.version == 3 and pm.pme_states == ("D0", "D3hot")
    msi = caps[(False, 0x68)]
    assert isinstance(msi, Msi) and msi.enabled and msi.addr64 and not msi.per_vector_mask
    assert msi.address == 0xFEE00D58 and msi.vectors_capable == 1
    exp = caps[(False, 0x78)]
    assert isinstance(exp, PciExpress)
    assert exp.port_type_name == "Legacy Endpoint" and exp.flr_capable
    assert (exp.max_link_speed_gt, exp.max_link_width, exp.link_speed_gt, exp.link_width) == (16.0, 16, 2.5, 16)
    assert exp.supported_speeds_gt == [2.5, 5.0, 8.0, 16.0]
    assert (exp.max_payload, exp.max_read_request) == (256, 512)
    aer = caps[(True, 0x420)]
    assert isinstance(aer, Aer)
    assert aer.uncorrectable_severity == 0x00462030 and aer.correctable_errors == ["AdvNonFatalErr"]
    rebar = caps[(True, 0xBB0)]
    assert isinstance(rebar, ResizableBar)
    assert [(e.bar, e.current) for e in rebar.entries] == [(0, 16 << 20), (1, 8 << 30), (3, 32 << 20)]
    assert rebar.entries[1].supported == tuple((64 << 20) << n for n in range(8))  # 64 MiB .. 8 GiB


def test_ga104_unlinked_msix_and_sriov_decode() -> None:
    """GeForce GA104 carries MSI-X (c8) and SR-IOV (bcc) capabilities that the lists skip."""
    cs = ga104()
    msix = decode_msix(cs, 0xC8)
    assert (msix.table_size, msix.table_bir, msix.table_offset) == (6, 0, 0xB90000)
    assert (msix.pba_bir, msix.pba_offset) == (0, 0xBA0000)
    sriov = decode_sriov(cs, 0xBCC)
    assert (sriov.initial_vfs, sriov.total_vfs, sriov.num_vfs) == (16, 16, 0)
    assert (sriov.vf_offset, sriov.vf_stride, sriov.vf_device_id) == (4, 1, 0x2489)
    assert sriov.supported_page_sizes == 0x573 and sriov.system_page_size == 1
    assert F.ExtCapHeader.decode(cs.u32(0xBCC))["next"] == 0xC14


def _p1000() -> tuple[ConfigSpace, object]:
    dev = parse_listing((FIXTURES / "gp107gl-quadro-p1000.lspci").read_text())[0]
    assert dev.dump is not None
    sizes = {i: s for i, s in dev.regions.items() if s}
    return ConfigSpace(dev.dump, sizes=sizes), dev


def test_p1000_matches_lspci_decode_of_the_same_bytes() -> None:
    cs, dev = _p1000()
    lines = (FIXTURES / "gp107gl-quadro-p1000.lspci").read_text().splitlines()
    walk = cs.capabilities()
    # lspci read the extended list live; the 256-byte dump holds the standard list only
    assert [(c.offset, c.extended) for c in walk.capabilities] == \
        [(c.offset, c.extended) for c in dev.caps if not c.extended]  # type: ignore[attr-defined]
    assert any("256 bytes" in n for n in walk.notes)
    text = {c.offset: f"{c.name}: {decode(cs, c).summary}" for c in walk.capabilities}
    assert text[0x68] == "MSI: Enable+ Count=1/1 Maskable- 64bit+"
    assert text[0x78] == "Express: (v2) Legacy Endpoint, MSI 00"
    assert any(ln.strip() == "Capabilities: [78] Express (v2) Legacy Endpoint, MSI 00" for ln in lines)
    details = [ln.strip() for c in walk.capabilities for ln in decode(cs, c).lines()]
    for expected in ("Address: 00000000fee00a78  Data: 0000",
                     "Flags: PMEClk- DSI- D1- D2- AuxCurrent=0mA PME(D0-,D1-,D2-,D3hot-,D3cold-)",
                     "MaxPayload 256 bytes, MaxReadReq 4096 bytes"):
        assert expected in details
        assert any(ln.strip() == expected for ln in lines)  # lspci printed the same line
    assert "LnkCap:\tPort #0, Speed 8GT/s, Width x16" in details
    assert "LnkSta:\tSpeed 2.5GT/s, Width x16" in details


def test_p1000_bars_with_lspci_sizes() -> None:
    cs, _ = _p1000()
    got = [(b.index, b.address, b.size, b.is_64bit, b.prefetchable, b.is_io) for b in cs.bars()]
    assert got == [(0, 0xFA000000, 16 << 20, False, False, False), (1, 0x383FE0000000, 256 << 20, True, True, False),
                   (3, 0x383FF0000000, 32 << 20, True, True, False), (5, 0xE000, 128, False, False, True)]


def test_fixture_sources_are_noted() -> None:
    for f in FIXTURES.glob("*.lspci"):
        head = Path(f).read_text().splitlines()[:12]
        assert any(line.startswith("# Source:") for line in head), f.name
