"""The simulated GPU's FWSEC oracle: independent of the driver, it agrees with real ROMs and with the driver,
and its model refuses - with a logged reason - any load that is not the correctly patched FWSEC."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from vbios_helpers import NO_FWSEC_PROD, ROM_CHIPS, ROM_NAMES, SHORT_DUMP, rom_bytes

import nova_core.sim.models.vbios as model_module
import nova_core.sim.vbios_oracle as oracle_module
from nova_core.errors import RomError
from nova_core.gpu.chips import Chipset
from nova_core.regs.fuse import NV_FUSE_OPT_FPF_GSP_UCODE1_VERSION
from nova_core.sim import SimGpu
from nova_core.sim.models.vbios import VbiosModel
from nova_core.sim.vbios_oracle import expected_image, locate_fwsec
from nova_core.vbios import FwsecCommand, Vbios

#: where FWSEC_PROD's descriptor is in each real ROM (derived once by hand from the dumps; see the golden JSON)
REAL_DESC = {
    "ada-ad102_2684_asus-strix-rtx4090-nvgi.rom": (0x4D23C, 3, 0x4D568),
    "ampere-ga102_2204_gigabyte-rtx3090.rom": (0x423F0, 3, 0x4289C),
    "turing-tu106_1f08_asus-tuf-rtx2060-nvgi.rom": (0x67108, 2, 0x67144),
    "turing-tu117_1f82_gtx1650.rom": (0x42928, 2, 0x42964),
}


def test_oracle_imports_no_driver_logic() -> None:
    for mod in (oracle_module, model_module):
        tree = ast.parse(Path(mod.__file__ or "").read_text(encoding="utf-8"))
        imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not any("vbios" in m and "oracle" not in m for m in imported), (mod.__name__, imported)


@pytest.mark.artifacts
@pytest.mark.parametrize("name", ROM_NAMES)
def test_oracle_locates_fwsec_in_real_roms(name: str, vbios_path: Path) -> None:
    fw = locate_fwsec(rom_bytes(vbios_path, name))
    if name in (SHORT_DUMP, NO_FWSEC_PROD):
        assert fw is None
        return
    assert fw is not None
    assert (fw.desc_offset, fw.desc_version, fw.image_offset) == REAL_DESC[name]


@pytest.mark.artifacts
@pytest.mark.parametrize("name", sorted(REAL_DESC))
def test_oracle_and_driver_agree_on_real_roms(name: str, vbios_path: Path) -> None:
    rom = rom_bytes(vbios_path, name)
    fw = locate_fwsec(rom)
    drv = Vbios.from_bytes(rom).fwsec
    assert fw is not None and drv is not None
    for fuse in drv.signature_versions or [0]:
        for cmd in FwsecCommand:
            frts = 0x7FF00000 if cmd is FwsecCommand.FRTS else None
            want = expected_image(fw, int(cmd), frts_offset=frts, fuse_version=fuse)
            got = drv.patch(cmd, frts_offset=frts, fuse_version=fuse if drv.desc.version == 3 else None)
            assert want.image == got.image and want.imem == got.imem_bytes and want.dmem == got.dmem_bytes
            assert want.signature_index == got.signature_index


@pytest.mark.parametrize("chip", list(Chipset), ids=lambda c: c.lower)
def test_oracle_and_driver_agree_on_synthetic_roms(chip: Chipset) -> None:
    gpu = SimGpu(chip)
    model = gpu.model("vbios")
    assert isinstance(model, VbiosModel)
    drv = Vbios.from_bar(gpu.bar0, "sim").fwsec
    assert drv is not None
    fuse = 0 if drv.desc.version == 3 else None
    img = drv.patch(FwsecCommand.FRTS, frts_offset=0x2000000, fuse_version=fuse)
    assert model.check_load(img.imem_bytes, img.dmem_bytes, command=0x15, frts_offset=0x2000000)
    assert gpu.log.errors() == []


def test_attach_is_lazy() -> None:
    gpu = SimGpu("ga102")
    model = gpu.model("vbios")
    assert isinstance(model, VbiosModel)
    assert model._fwsec is model_module._UNSET  # attaching read nothing
    assert model.fwsec is not None and model.fwsec.desc_version == 3
    assert model._fwsec is model.fwsec  # read once, then kept


def _loaded(chip: str, fuse: int | None = 0) -> tuple[SimGpu, VbiosModel, bytes, bytes]:
    gpu = SimGpu(chip)
    model = gpu.model("vbios")
    assert isinstance(model, VbiosModel)
    fw = Vbios.from_bytes(gpu.rom).fwsec
    assert fw is not None
    img = fw.patch(FwsecCommand.FRTS, frts_offset=0x4000000, fuse_version=fuse if fw.desc.version == 3 else None)
    return gpu, model, img.imem_bytes, img.dmem_bytes


def test_model_refuses_a_wrong_init_cmd() -> None:
    gpu, model, imem, dmem = _loaded("ad102")
    bad = bytearray(dmem)
    bad[0x100 + 0x2C] = 0x19
    assert not model.check_load(imem, bytes(bad), command=0x15, frts_offset=0x4000000)
    assert "DMEM 0x12c (DMEMMAPPER init_cmd): expected 15000000, found 19000000" in gpu.log.errors()[-1].message


def test_model_refuses_a_wrong_frts_offset_and_a_wrong_command() -> None:
    gpu, model, imem, dmem = _loaded("ga102")
    assert not model.check_load(imem, dmem, command=0x15, frts_offset=0x5000000)
    assert "(command arguments)" in gpu.log.errors()[-1].message
    assert not model.check_load(imem, dmem, command=0x19)
    assert "FWSEC load refused" in gpu.log.errors()[-1].message


def test_model_refuses_the_signature_of_another_fuse_version() -> None:
    gpu, model, imem, dmem = _loaded("ga102", fuse=0)
    gpu.bar0.poke(NV_FUSE_OPT_FPF_GSP_UCODE1_VERSION.addr(i=9 - 1), 0b10)  # fused version 2
    assert model.fused_version() == 2
    assert not model.check_load(imem, dmem, command=0x15, frts_offset=0x4000000)
    assert "(signature 2)" in gpu.log.errors()[-1].message
    _, _, imem2, dmem2 = _loaded("ga102", fuse=2)
    assert model.check_load(imem2, dmem2, command=0x15, frts_offset=0x4000000)


def test_model_refuses_tampered_code_and_wrong_sizes() -> None:
    gpu, model, imem, dmem = _loaded("tu117")
    bad = bytearray(imem)
    bad[0x1000] ^= 0xFF
    assert not model.check_load(bytes(bad), dmem, command=0x15, frts_offset=0x4000000)
    assert "IMEM 0x1000 (code)" in gpu.log.errors()[-1].message
    assert not model.check_load(imem[:-256], dmem, command=0x15, frts_offset=0x4000000)
    assert "IMEM holds 0x2f00 bytes, the ROM's FWSEC has 0x3000" in gpu.log.errors()[-1].message


@pytest.mark.artifacts
def test_model_refuses_fwsec_on_a_rom_without_it(vbios_path: Path) -> None:
    gpu = SimGpu(ROM_CHIPS[SHORT_DUMP], vbios=rom_bytes(vbios_path, SHORT_DUMP))
    model = gpu.model("vbios")
    assert isinstance(model, VbiosModel)
    assert model.fwsec is None
    assert not model.check_load(b"", b"", command=0x15, frts_offset=0x100000)
    assert "has no FWSEC_PROD ucode" in gpu.log.errors()[-1].message


def test_model_logs_a_malformed_rom() -> None:
    gpu = SimGpu("ad102", vbios=bytes(range(256)) * 16)
    model = gpu.model("vbios")
    assert isinstance(model, VbiosModel)
    assert model.fwsec is None
    assert "cannot locate FWSEC in the served ROM" in gpu.log.errors()[-1].message


def test_oracle_errors_are_rom_errors() -> None:
    with pytest.raises(RomError, match="no PCI expansion ROM"):
        locate_fwsec(bytes(4096))
    fw = locate_fwsec(SimGpu("ad102").rom)
    assert fw is not None
    with pytest.raises(RomError, match="no signature for fuse version 5"):
        expected_image(fw, 0x15, frts_offset=0x100000, fuse_version=5)
    with pytest.raises(RomError, match="neither FRTS"):
        expected_image(fw, 0x16)
