"""The generic falcon bootloader (driver) and the sim's own firmware readers: real files, layouts, fuzz."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nova_core.errors import FalconError, FirmwareError
from nova_core.falcon.facts import BL_DMEM_DESC_V2
from nova_core.falcon.genbl import BlDmemDesc, GenericBootloader, find_generic_bootloader, generic_bootloader_names
from nova_core.firmware import BooterFirmware, RiscvBootloader
from nova_core.gpu import Chipset
from nova_core.sim.fw_oracle import (
    OracleGspImage,
    load_firmware,
    read_booter,
    read_bootloader,
    read_generic_bootloader,
)
from nova_core.sim.synth.generic_bootloader import build_generic_bootloader

V = "535.113.01"


def test_dmem_descriptor_is_the_packed_84_byte_layout() -> None:
    d = BlDmemDesc(ctx_dma=4, code_dma_base=0x1_2345_6700, non_sec_code_off=0, non_sec_code_size=0x400,
                   sec_code_off=0x400, sec_code_size=0x9400, code_entry_point=0, data_dma_base=0x1_2345_6700 + 0x9800,
                   data_size=0x420)
    raw = d.pack()
    assert len(raw) == BL_DMEM_DESC_V2.size == 84
    # offsets of nouveau's __packed flcn_bl_dmem_desc_v2
    assert raw[:0x20] == bytes(0x20)
    assert struct.unpack_from("<I", raw, 0x20)[0] == 4
    assert struct.unpack_from("<Q", raw, 0x24)[0] == 0x1_2345_6700
    assert struct.unpack_from("<5I", raw, 0x2C) == (0, 0x400, 0x400, 0x9400, 0)
    assert struct.unpack_from("<Q", raw, 0x40)[0] == 0x1_2345_6700 + 0x9800
    assert struct.unpack_from("<3I", raw, 0x48) == (0x420, 0, 0)
    assert d.as_json()["sec_code_size"] == 0x9400


def test_synthetic_bootloader_parses_and_places_at_the_top_of_imem() -> None:
    bl = GenericBootloader(build_generic_bootloader("tu102"), "synthetic")
    assert bl.desc.start_tag == 0xFD and bl.boot_vector == 0xFD00 and len(bl.code) == 0x200
    desc = BlDmemDesc(4, 1 << 32, 0, 0x100, 0x100, 0x100, 0, (1 << 32) + 0x200, 0x100)
    u = bl.ucode(0x10000, desc)
    (seg,) = u.imem
    assert (seg.dst, seg.virt, seg.secure, u.boot_vector) == (0xFE00, 0xFD00, False, 0xFD00)
    assert u.dmem[0].dst == 0 and u.dmem[0].data == desc.pack()
    with pytest.raises(FalconError, match="do not fit the 0x100-byte IMEM"):
        bl.ucode(0x100, desc)
    assert "start_tag=0xfd" in repr(bl) and bl.as_json()["boot_vector"] == 0xFD00


def test_bootloader_names() -> None:
    assert generic_bootloader_names(Chipset.TU117, "570.144") == ["nvidia/tu117/gsp/gen_bootloader-570.144.bin",
                                                                  "nvidia/tu117/acr/bl.bin"]
    assert generic_bootloader_names(Chipset.GA100) == ["nvidia/ga100/acr/bl.bin"]


def test_missing_and_malformed_bootloader(tmp_path: Path) -> None:
    assert find_generic_bootloader(Chipset.TU102, roots=[tmp_path]) is None
    p = tmp_path / "nvidia" / "tu102" / "acr" / "bl.bin"
    p.parent.mkdir(parents=True)
    p.write_bytes(b"\xde\x10" + bytes(30))
    with pytest.raises(FirmwareError, match="generic falcon bootloader for TU102: .*nvfw_bin_hdr"):
        find_generic_bootloader(Chipset.TU102, roots=[tmp_path])
    data = bytearray(build_generic_bootloader("tu102"))
    struct.pack_into("<I", data, 0x10C, 0)  # code_size 0
    with pytest.raises(FirmwareError, match="no bootloader code"):
        GenericBootloader(bytes(data), "zero")


@pytest.mark.artifacts
def test_real_generic_bootloader(firmware_path: Path) -> None:
    """nouveau's acr/bl.bin (gp102's, linked from every Turing chip): the layout nvidia-facts expects."""
    for chip in (Chipset.TU102, Chipset.TU104, Chipset.TU106, Chipset.TU116, Chipset.TU117):
        bl = find_generic_bootloader(chip, roots=[firmware_path])
        assert bl is not None, chip
        assert (bl.desc.start_tag, bl.desc.dmem_load_off, bl.desc.code_off, bl.desc.code_size) == (0xFD, 0, 0, 0x200)
        o = read_generic_bootloader(Path(bl.source))
        assert (o.start_tag, o.dmem_load_off, o.code) == (bl.desc.start_tag, bl.desc.dmem_load_off, bl.code)
    assert find_generic_bootloader(Chipset.GA100, roots=[firmware_path]) is None  # Debian ships none for GA100


@pytest.mark.artifacts
@pytest.mark.parametrize("chip", ["tu102", "tu116", "ga100", "ga102", "ad102"])
def test_sim_readers_agree_with_the_driver_on_real_files(firmware_path: Path, chip: str) -> None:
    fw = load_firmware(firmware_path, chip, V)
    for kind, ob in (("booter_load", fw.booter_load), ("booter_unload", fw.booter_unload)):
        drv = BooterFirmware.open(firmware_path / "nvidia" / chip / "gsp" / f"{kind}-{V}.bin")
        assert bytes(drv.bin.payload) == ob.payload
        assert (ob.fuse_ver, ob.engine_id_mask, ob.ucode_id) == (drv.meta.fuse_ver, drv.meta.engine_id_mask,
                                                                 drv.meta.ucode_id)
        assert ob.patch_loc == drv.patch_loc and ob.signatures == tuple(bytes(s) for s in drv.signatures)
        for fused in drv.valid_fused_versions():  # OpenRM's rule (sim) and nova-core's (driver) agree on real files
            assert ob.signature_index(fused) == drv.signature_index(fused), (kind, fused)
    bl = RiscvBootloader.open(firmware_path / "nvidia" / chip / "gsp" / f"bootloader-{V}.bin")
    assert fw.bootloader.payload == bytes(bl.payload)
    assert (fw.bootloader.monitor_code_offset, fw.bootloader.monitor_data_offset, fw.bootloader.manifest_offset,
            fw.bootloader.app_version) == (bl.code_offset, bl.data_offset, bl.manifest_offset, bl.app_version)
    assert fw.gsp.version == V and fw.gsp.image_size in (0x16A3350, 0x2448000)
    assert Chipset.parse(chip).facts.gsp_sig_section in fw.gsp.sections


def test_oracle_refuses_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(FirmwareError, match="no booter_load-<version>.bin under"):
        load_firmware(tmp_path, "tu102")
    bad = tmp_path / "x.bin"
    bad.write_bytes(struct.pack("<6I", 0x10DE, 1, 0, 0x18, 0x1000, 0x10))
    with pytest.raises(FirmwareError, match="outside the 0x18-byte file"):
        read_bootloader(bad)
    from nova_core.sim.synth.firmware import build_booter

    booter = bytearray(build_booter(Chipset.TU102, "booter_load").data)
    num_at = struct.unpack_from("<I", booter, 0x18 + 24)[0]
    struct.pack_into("<I", booter, 0x18 + 4, 0)  # sig_prod_size 0 ...
    struct.pack_into("<I", booter, num_at, 0xFFFFFFFF)  # ... and 4 billion signatures: refused, not looped over
    bad.write_bytes(bytes(booter))
    with pytest.raises(FirmwareError, match="4294967295 signatures in 0x0 bytes"):
        read_booter(bad, "booter_load")
    bad.write_bytes(b"\x7fELF\x01\x01" + bytes(58))
    with pytest.raises(FirmwareError, match="not a little-endian ELF64 file"):
        OracleGspImage(bad)


def _mutate(base: bytes, edits: list[tuple[int, int]], cut: int) -> bytes:
    b = bytearray(base)
    for pos, val in edits:
        b[pos % len(b)] = val
    return bytes(b[:max(cut, 1)])


def _mutations(base: bytes) -> st.SearchStrategy[bytes]:
    cuts = st.one_of(st.just(len(base)), st.just(len(base)), st.integers(1, len(base)))  # a third truncated
    edits = st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), max_size=8)
    return st.builds(lambda e, c: _mutate(base, e, c), edits, cuts)


# -- fuzz: the driver's parsers and the sim's own readers (no shared code) must agree on every mutant -----------
#
# A refusal is a FirmwareError (never another exception). Where the driver accepts a file, the sim's reader accepts
# it too and both read the same facts out of it; where only the sim's (laxer) reader accepts, the driver's refusal
# names the rule the mutant breaks. Enough mutants are accepted that the comparison is not vacuous.

FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
#: what the driver refuses and the sim's readers let through: header versions and ranges they do not check
_STRICTER_BL = re.compile(r"nvfw_bin_hdr\.bin_ver at|RM_FLCN_BL_DESC\.blStartTag at .* is not a 16-bit IMEM tag|"
                          r"RM_FLCN_BL_DESC\.blCodeSize at .* no bootloader code|"
                          r"RM_FLCN_BL_DESC (code|data) .* is outside the .*-byte payload")
_STRICTER_BOOTER = re.compile(r"nvfw_bin_hdr\.bin_ver at|nvfw_hs_header_v2\.meta_data_size at|"
                              r"nvfw_hs_load_header_v2 at .* run past the end|HS load header .* outside the .*-byte "
                              r"payload")


@FUZZ
@given(data=_mutations(build_generic_bootloader("tu116")))
def test_fuzz_generic_bootloader_parsers(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "bl.bin"
    p.write_bytes(data)
    try:
        oracle = read_generic_bootloader(p)
    except FirmwareError:
        oracle = None
    try:
        drv = GenericBootloader(data, "fuzz")
    except FirmwareError as e:
        if oracle is not None:  # the driver is stricter than the sim's reader, in exactly these ways
            assert _STRICTER_BL.search(str(e)), str(e)
        return
    assert oracle is not None, "the driver accepted a bootloader the sim's reader refuses"
    assert (drv.desc.start_tag, drv.desc.dmem_load_off, drv.code) == (oracle.start_tag, oracle.dmem_load_off,
                                                                      oracle.code)


@pytest.mark.parametrize("kind", ["generic bootloader", "booter"])
def test_the_fuzz_mutations_keep_enough_files_parseable(kind: str) -> None:
    """Mutations drawn as above leave a fair share of files acceptable (else the comparisons would test nothing)."""
    import random

    from nova_core.sim.synth.firmware import build_booter

    if kind == "booter":
        base, parse = build_booter(Chipset.GA102, "booter_load").data, BooterFirmware
    else:
        base, parse = build_generic_bootloader("tu116"), GenericBootloader
    rng, ok = random.Random(0x5EED), 0
    for _ in range(200):
        edits = [(rng.randrange(1 << 20), rng.randrange(256)) for _ in range(rng.randrange(9))]
        cut = rng.choice([len(base), len(base), rng.randint(1, len(base))])
        try:
            parse(_mutate(base, edits, cut), "mutant")
            ok += 1
        except FirmwareError:
            pass
    assert 40 <= ok < 200, f"{ok} of 200 {kind} mutants parse"


@FUZZ
@given(data=st.data())
def test_fuzz_sim_booter_and_elf_readers(tmp_path: Path, data: st.DataObject) -> None:
    from nova_core.firmware.elf import ElfFile
    from nova_core.sim.synth.firmware import build_booter, build_gsp

    booter = build_booter(Chipset.GA102, "booter_load").data
    mutant = data.draw(_mutations(booter))
    p = tmp_path / "b.bin"
    p.write_bytes(mutant)
    driver_error = None
    try:
        drv: BooterFirmware | None = BooterFirmware(mutant, "fuzz")
    except FirmwareError as e:
        drv, driver_error = None, str(e)
    try:
        ob = read_booter(p, "booter_load")
    except FirmwareError:
        ob = None
    if drv is None:
        if ob is not None and driver_error is not None:  # the driver checks more than the sim's reader
            assert _STRICTER_BOOTER.search(driver_error), driver_error
    else:
        assert ob is not None, "the driver accepted a booter the sim's reader refuses"
        assert bytes(drv.bin.payload) == ob.payload and drv.patch_loc == ob.patch_loc
        assert (ob.fuse_ver, ob.engine_id_mask, ob.ucode_id) == (drv.meta.fuse_ver, drv.meta.engine_id_mask,
                                                                 drv.meta.ucode_id)
        assert ob.signatures == tuple(bytes(s) for s in drv.signatures)

    head = build_gsp("tu10x").data
    cut = data.draw(st.integers(64, len(head)))
    edits = data.draw(st.lists(st.tuples(st.integers(0, len(head) - 1), st.integers(0, 255)), max_size=4))
    b = bytearray(head[:cut])
    for pos, val in edits:
        if pos < len(b) and (pos < 64 or pos >= len(b) - 0x400):  # the header and the section table
            b[pos] = val
    q = tmp_path / "g.bin"
    q.write_bytes(bytes(b))
    try:
        og = OracleGspImage(q)
    except FirmwareError:
        return
    # the sim's reader found .fwimage and .fwversion inside the file: the driver's ELF reader finds them there too
    elf = ElfFile(bytes(b), source="fuzz")
    for name in (".fwimage", ".fwversion"):
        sec = elf.get(name)
        assert sec is not None and og.sections[name] in {(s.offset, s.size) for s in elf.sections if s.name == name}


def test_oracle_sections_read_at_open_equal_the_file_bytes(synth_fw: Path) -> None:
    """The small sections are read when the image is opened; each read of them (whole or a slice) is the file's."""
    from nova_core.sim.fw_oracle import SMALL_SECTION

    path = synth_fw / "nvidia" / "ad102" / "gsp" / f"gsp-{V}.bin"
    og = OracleGspImage(path)
    raw = path.read_bytes()
    small = [n for n, (_o, size) in og.sections.items() if size <= SMALL_SECTION and n != ".fwimage"]
    assert ".fwversion" in small and Chipset.parse("ad102").facts.gsp_sig_section in small
    for name in og.sections:
        off, size = og.sections[name]
        if size > SMALL_SECTION:
            continue
        assert og.read_section(name) == raw[off:off + size], name
        assert og.read_section(name, 3, 5) == raw[off + 3:off + min(8, size)], name
        assert og.read_section(name, size + 1) == b"", name
    off, size = og.sections[".fwimage"]
    assert og.read_section(".fwimage", 16, 32) == raw[off + 16:off + 48]  # streamed from the file


# -- the oracle's readings, kept per process ------------------------------------------------------------------------


def test_oracle_keeps_its_readings_of_unchanged_files_and_rereads_changed_ones(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A second load of the same, unchanged files reuses the readings (no file is read); a rewritten booter, an
    added generic bootloader and a replaced GSP image are each read afresh; a load that failed keeps nothing."""
    from nova_core.sim import fw_oracle
    from nova_core.sim.synth.firmware import build_booter, write_firmware_tree
    from nova_core.sim.synth.generic_bootloader import write_generic_bootloader

    write_firmware_tree(tmp_path, "tu102", V)
    gsp_dir = tmp_path / "nvidia" / "tu102" / "gsp"
    first = load_firmware(tmp_path, "tu102", V)
    sha = first.gsp.image_sha256()
    opened: list[str] = []
    real_read_bytes = Path.read_bytes

    def counting_read_bytes(self: Path) -> bytes:
        opened.append(self.name)
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", counting_read_bytes)
    real_open = open

    def counting_open(file: str | Path, *args: object, **kw: object) -> object:
        opened.append(Path(file).name)
        return real_open(file, *args, **kw)  # type: ignore[call-overload]

    monkeypatch.setattr(fw_oracle, "open", counting_open, raising=False)
    again = load_firmware(tmp_path, "tu102", V)
    assert opened == []  # nothing read: the readings were kept
    assert again is not first and again.gsp is first.gsp and again.booter_load is first.booter_load
    assert again.gsp.image_sha256() == sha and opened == []

    # a booter rewritten (other content, same name): read again, the others kept
    other = build_booter(Chipset.TU102, "booter_load", V).data + b"\0" * 16
    (gsp_dir / f"booter_load-{V}.bin").write_bytes(other)
    changed = load_firmware(tmp_path, "tu102", V)
    assert opened == [f"booter_load-{V}.bin"]  # that file alone was read again
    assert changed.booter_load is not first.booter_load and changed.booter_unload is first.booter_unload

    # a generic bootloader that appears later is part of the files
    assert changed.generic_bootloader is None
    write_generic_bootloader(tmp_path, ["tu102"])
    assert load_firmware(tmp_path, "tu102", V).generic_bootloader is not None

    # a GSP image replaced by a broken file fails, and the failure is not kept: the repaired file loads
    image = gsp_dir / f"gsp-{V}.bin"
    good = image.read_bytes()
    image.unlink()  # (the synthetic image may be a link into the family leader's directory)
    image.write_bytes(b"\x7fELF\x01\x01" + bytes(58))
    with pytest.raises(FirmwareError, match="not a little-endian ELF64 file"):
        load_firmware(tmp_path, "tu102", V)
    image.write_bytes(good)
    repaired = load_firmware(tmp_path, "tu102", V)
    assert repaired.gsp is not first.gsp and repaired.gsp.image_sha256() == sha


def test_oracle_readings_are_bounded(tmp_path: Path) -> None:
    from nova_core.sim import fw_oracle
    from nova_core.sim.synth.firmware import write_firmware_tree

    write_firmware_tree(tmp_path / "0", "tu102", V)
    first = load_firmware(tmp_path / "0", "tu102", V)
    for i in range(1, fw_oracle._KEEP // 4 + 2):  # four files each
        write_firmware_tree(tmp_path / str(i), "tu102", V)
        load_firmware(tmp_path / str(i), "tu102", V)
    assert len(fw_oracle._readings) == fw_oracle._KEEP
    assert load_firmware(tmp_path / "0", "tu102", V).gsp is not first.gsp  # the oldest went first
