"""SEC2 booters and the RISC-V bootloader: headers, signature choice, patched image, load layout, errors."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nova_core.errors import FirmwareError
from nova_core.firmware import BooterFirmware, RiscvBootloader, detect_kind, fused_version_from_fuse
from nova_core.firmware.facts import FirmwareKind
from nova_core.gpu.chips import BootPath, Chipset, FalconHal
from nova_core.sim.synth.firmware import build_booter, build_bootloader

SEC2_CHIPS = [c for c in Chipset if c.facts.boot_path is BootPath.SEC2_BOOTER]


@pytest.mark.parametrize("chip", SEC2_CHIPS, ids=lambda c: c.name)
@pytest.mark.parametrize("kind", ["booter_load", "booter_unload"])
def test_synthetic_booter_parses_to_its_manifest(chip: Chipset, kind: str) -> None:
    s = build_booter(chip, kind)
    b = BooterFirmware(s.data, kind)
    m = s.manifest()
    assert b.bin.header.data_offset == s.data_offset and bytes(b.bin.payload) == s.payload
    assert (b.load.os_code.offset, b.load.os_code.size) == s.os_code
    assert (b.load.os_data.offset, b.load.os_data.size) == s.os_data
    assert (b.load.app_code.offset, b.load.app_code.size) == s.app0
    assert b.patch_loc == s.patch_loc and b.pkc_data_offset == m["pkc_data_offset"]
    assert [bytes(x) for x in b.signatures] == list(s.signatures)
    assert (b.meta.fuse_ver, b.meta.engine_id_mask, b.meta.ucode_id) == (s.fuse_ver, s.engine_id_mask, s.ucode_id)
    # nova-core's choice agrees with the sim's own (OpenRM's) everywhere both are defined
    for fused, index in m["signature_index_by_fused_version"].items():
        if int(fused) in b.valid_fused_versions():
            assert b.signature_index(int(fused)) == index
    hal = chip.facts.falcon_hal
    lay = b.load_layout(hal, 0)
    patched = lay.image
    assert patched[s.patch_loc:s.patch_loc + s.sig_size] == s.signatures[-1]
    assert patched[:s.patch_loc] == s.payload[:s.patch_loc]
    assert patched[s.patch_loc + s.sig_size:] == s.payload[s.patch_loc + s.sig_size:]
    assert lay.boot_vector == m["boot_vector"][hal.value]
    assert lay.segment_bytes(lay.dmem) == patched[s.os_data[0]:sum(s.os_data)]


def test_load_layout_per_falcon_hal() -> None:
    tu = BooterFirmware(build_booter(Chipset.TU102, "booter_load").data)
    lay = tu.load_layout(FalconHal.TU102, 0)
    assert lay.imem_ns is not None and (lay.imem_ns.src, lay.imem_ns.dst, lay.imem_ns.size) == (0, 0, 0x100)
    assert (lay.imem_sec.src, lay.imem_sec.dst, lay.imem_sec.secure) == (0x100, 0x100, True)
    assert lay.dmem.dst == 0 and lay.boot_vector == 0 and lay.brom is None
    with pytest.raises(FirmwareError, match=r"RSA-3072 signatures \(384 bytes\); this booter carries 16-byte"):
        tu.load_layout(FalconHal.GA102, 0)
    ga = BooterFirmware(build_booter(Chipset.GA102, "booter_load").data)
    lay = ga.load_layout(FalconHal.GA102, 1)
    assert lay.imem_ns is None and (lay.imem_sec.src, lay.imem_sec.dst, lay.imem_sec.tag) == (0x100, 0, 0x100)
    assert lay.boot_vector == 0x100 and lay.signature_index == 0
    assert lay.brom is not None and (lay.brom.pkc_data_offset, lay.brom.engine_id_mask, lay.brom.ucode_id) == \
        (0x10, 0x1, 0x3)


def test_signature_selection_rule_and_refusals() -> None:
    ga = BooterFirmware(build_booter(Chipset.GA102, "booter_load").data, "ga")  # fuse_ver 1, 2 signatures
    assert ga.signature_index(0) == 1 and ga.signature_index(1) == 0
    assert ga.valid_fused_versions() == [0, 1]
    with pytest.raises(FirmwareError, match=r"ga: no signature for fused version 2: the booter's fuse_ver is 1 and "
                                            r"it carries 2 signature\(s\), so the index would be -1; fused versions "
                                            r"with a signature: 0, 1"):
        ga.signature_index(2)
    with pytest.raises(FirmwareError, match="negative"):
        ga.signature_index(-1)
    tu = BooterFirmware(build_booter(Chipset.TU102, "booter_load").data, "tu")  # fuse_ver 0, 1 signature
    assert tu.signature_index(0) == 0
    with pytest.raises(FirmwareError, match="fused version 1"):  # OpenRM would take 0 here; nova-core refuses
        tu.signature_index(1)


def test_fused_version_from_fuse_register() -> None:
    assert [fused_version_from_fuse(v) for v in (0, 1, 2, 3, 0x8000, 0xFFFF0001)] == [0, 1, 2, 2, 16, 1]


def _booter_bytes() -> bytearray:
    return bytearray(build_booter(Chipset.GA102, "booter_load").data)


def _hs(b: bytes, i: int) -> int:
    return int(struct.unpack_from("<I", b, 0x18 + 4 * i)[0])


@pytest.mark.parametrize(("patch", "match"), [
    (lambda b: struct.pack_into("<I", b, 0, 0x10DF), r"nvfw_bin_hdr.bin_magic at 0x0: expected 0x10de, found 0x10df"),
    (lambda b: struct.pack_into("<I", b, 4, 2), r"bin_ver at 0x4: expected 0x1, found 0x2"),
    (lambda b: struct.pack_into("<I", b, 0xC, 0xFFFFFF), r"header_offset at 0xc: 0xffffff is not inside the file"),
    (lambda b: struct.pack_into("<I", b, 0x14, 0xFFFFFFFF), r"payload \(data_offset, data_size\) at 0x[0-9a-f]+: "
                                                           r"0xffffffff bytes"),
    (lambda b: struct.pack_into("<I", b, _hs(b, 3), 4), r"patch_sig value at 0x[0-9a-f]+: expected 0 \(OpenRM"),
    (lambda b: struct.pack_into("<I", b, _hs(b, 6), 0), r"num_sig value .*expected 1 to 17 signatures .*found 0x0"),
    (lambda b: struct.pack_into("<I", b, _hs(b, 6), 5), r"sig_prod_size .*0x300 bytes do not divide into 5"),
    (lambda b: struct.pack_into("<I", b, 0x18 + 0x14, 16), r"meta_data_size at 0x2c: expected 0xc, found 0x10"),
    (lambda b: struct.pack_into("<I", b, _hs(b, 2), 0x100), r"patch_loc\) at .*0x180-byte signature at payload "
                                                            r"0x100 is not inside the os data"),
    (lambda b: struct.pack_into("<I", b, _hs(b, 2), 0xFFFFFFF0), r"patch_loc\) at .*outside the 0x[0-9a-f]+-byte"),
    (lambda b: struct.pack_into("<I", b, _hs(b, 7) + 16, 2), r"num_apps at .*expected 1 \(OpenRM loads exactly one"),
    (lambda b: struct.pack_into("<I", b, _hs(b, 7) + 8, 0x7FFFFFFF), r"os data at .*outside the"),
    (lambda b: struct.pack_into("<I", b, 0x18 + 0x1C, 0xFFFFFF00), r"load_header_v2 at 0xffffff00: .*run past"),
    (lambda b: struct.pack_into("<I", b, 0x18 + 0x20, 8), r"header_size at 0x38: expected at least 0x1c"),
])
def test_corrupt_booter(patch: object, match: str) -> None:
    b = _booter_bytes()
    patch(b)  # type: ignore[operator]
    with pytest.raises(FirmwareError, match=match):
        BooterFirmware(b, "booter")


@pytest.mark.parametrize("chip", [Chipset.TU102, Chipset.GA100, Chipset.GA102, Chipset.GH100], ids=str)
def test_synthetic_bootloader(chip: Chipset) -> None:
    s = build_bootloader(chip)
    bl = RiscvBootloader(s.data, "bl")
    d = bl.desc
    v4 = chip.facts.needs_fwsec_bootloader
    assert d.version == (4 if v4 else 5) and d.size == (76 if v4 else 84)
    assert bl.bin.header.data_offset - bl.bin.header.header_offset == d.size
    assert (d.fb_reserved_size is None) == v4 and bytes(bl.payload) == s.payload
    for k, v in s.desc.items():
        assert getattr(d, k) == v
    assert (bl.code_offset, bl.data_offset, bl.manifest_offset, bl.app_version) == (
        d.monitor_code_offset, d.monitor_data_offset, d.manifest_offset, 0)


def test_bootloader_errors() -> None:
    v5 = bytearray(build_bootloader(Chipset.GA102).data)
    bad = bytearray(v5)
    struct.pack_into("<I", bad, 0x18, 3)
    with pytest.raises(FirmwareError, match=r"RM_RISCV_UCODE_DESC.version at 0x18: expected one of 4, 5, found 0x3"):
        RiscvBootloader(bad, "bl")
    bad = bytearray(v5)
    struct.pack_into("<I", bad, 0x18 + 0x30, 0x4F00)  # monitor code [0x4f00, +0x2500) past the payload
    with pytest.raises(FirmwareError, match=r"monitor_code_offset/monitor_code_size at .*\[0x4f00, 0x7400\) is "
                                            r"outside the 0x5000-byte payload"):
        RiscvBootloader(bad, "bl")
    v4 = bytearray(build_bootloader(Chipset.TU102).data)
    struct.pack_into("<I", v4, 0x18, 5)  # a v5 descriptor would overlap the payload
    with pytest.raises(FirmwareError, match=r"84-byte descriptor overlaps the payload, which starts 76 bytes"):
        RiscvBootloader(v4, "bl")


def test_detect_kind() -> None:
    booter = build_booter(Chipset.AD102, "booter_unload").data
    bl = build_bootloader(Chipset.AD102).data
    assert detect_kind(booter, "x/booter_unload-570.144.bin") is FirmwareKind.BOOTER_UNLOAD
    assert detect_kind(booter, "renamed.bin") is FirmwareKind.BOOTER_LOAD
    assert detect_kind(bl, "renamed.bin") is FirmwareKind.BOOTLOADER
    assert detect_kind(b"\x7fELF\x02", "x") is FirmwareKind.GSP
    with pytest.raises(FirmwareError, match="neither an ELF .* starts 00010203"):
        detect_kind(bytes(range(8)), "junk")


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["booter", "bootloader"]),
       st.lists(st.tuples(st.integers(0, 0x3FF), st.integers(0, 255)), min_size=1, max_size=6),
       st.one_of(st.none(), st.integers(0, 0x400)))
def test_fuzz_headers(which: str, edits: list[tuple[int, int]], cut: int | None) -> None:
    """Mutated or truncated headers: parsed consistently or refused with a FirmwareError, nothing else."""
    data = bytearray(build_booter(Chipset.GA102, "booter_load").data if which == "booter"
                     else build_bootloader(Chipset.GA102).data)
    for off, val in edits:
        data[off] = val
    if cut is not None:
        del data[cut:]
    try:
        if which == "booter":
            b = BooterFirmware(data, "fuzz")
            for v in b.valid_fused_versions():
                b.load_layout(FalconHal.TU102, v)
        else:
            RiscvBootloader(data, "fuzz")
    except FirmwareError as e:
        assert str(e).startswith("fuzz")
