"""Every chip's id, GSP signature section and GSP image family, pinned by literals from NVIDIA's sources.

The chip table (``gpu/chips.py``) is a fact module the simulated GPU reads too, so a wrong id or section there
would pass every boot test: the literals below are copied from the sources, not from the table.

- Ids: open-gpu-kernel-modules 570.144 ``src/common/inc/swref/published/nv_arch.h``: ``GPU_ARCHITECTURE_*``
  (TURING 0x0160, AMPERE 0x0170, HOPPER 0x0180, ADA 0x0190, BLACKWELL_GB1XX 0x01A0, BLACKWELL_GB2XX 0x01B0) plus
  ``GPU_IMPLEMENTATION_*`` (TU116 is 0x08 and TU117 0x07 "in HW").
- Signature section: ``".fwsignature_"`` (``GSP_SIGNATURE_SECTION_NAME_PREFIX``, ``g_kernel_gsp_nvoc.h``) followed by
  the chip family name of ``nv_firmware_chip_family_to_string`` (``nv-firmware.h``), the family chosen by
  ``nv_firmware_get_chip_family`` (``nv-firmware-chip-family-select.h``: Turing up to TU106 is tu10x, later
  Turing tu11x; GA100 ga100, other Ampere ga10x; ad10x, gh100, gb10x, gb20x); nouveau ``nvkm/subdev/gsp/*.c``
  ``.sig_section`` agrees for every family it supports.
- Image family: ``kernel_gsp.c`` loads ``gsp_tu10x.bin`` for families up to GA100, ``gsp_ga10x.bin`` after.
"""

from __future__ import annotations

import pytest

from nova_core.gpu.chips import CHIPS, Chipset

#: chip -> (BOOT_42 chip id, GSP signature section, GSP image family)
PINNED: dict[str, tuple[int, str, str]] = {
    "TU102": (0x162, ".fwsignature_tu10x", "tu10x"),
    "TU104": (0x164, ".fwsignature_tu10x", "tu10x"),
    "TU106": (0x166, ".fwsignature_tu10x", "tu10x"),
    "TU117": (0x167, ".fwsignature_tu11x", "tu10x"),
    "TU116": (0x168, ".fwsignature_tu11x", "tu10x"),
    "GA100": (0x170, ".fwsignature_ga100", "tu10x"),
    "GA102": (0x172, ".fwsignature_ga10x", "ga10x"),
    "GA103": (0x173, ".fwsignature_ga10x", "ga10x"),
    "GA104": (0x174, ".fwsignature_ga10x", "ga10x"),
    "GA106": (0x176, ".fwsignature_ga10x", "ga10x"),
    "GA107": (0x177, ".fwsignature_ga10x", "ga10x"),
    "GH100": (0x180, ".fwsignature_gh100", "ga10x"),
    "AD102": (0x192, ".fwsignature_ad10x", "ga10x"),
    "AD103": (0x193, ".fwsignature_ad10x", "ga10x"),
    "AD104": (0x194, ".fwsignature_ad10x", "ga10x"),
    "AD106": (0x196, ".fwsignature_ad10x", "ga10x"),
    "AD107": (0x197, ".fwsignature_ad10x", "ga10x"),
    "GB100": (0x1A0, ".fwsignature_gb10x", "ga10x"),
    "GB102": (0x1A2, ".fwsignature_gb10x", "ga10x"),
    "GB202": (0x1B2, ".fwsignature_gb20x", "ga10x"),
    "GB203": (0x1B3, ".fwsignature_gb20x", "ga10x"),
    "GB205": (0x1B5, ".fwsignature_gb20x", "ga10x"),
    "GB206": (0x1B6, ".fwsignature_gb20x", "ga10x"),
    "GB207": (0x1B7, ".fwsignature_gb20x", "ga10x"),
}


def test_the_pinned_list_and_the_chip_table_name_the_same_chips() -> None:
    assert set(PINNED) == {c.name for c in Chipset} == {c.name for c in CHIPS}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_chip_id_signature_section_and_image_family(name: str) -> None:
    chip_id, section, image = PINNED[name]
    chip = Chipset[name]
    facts = CHIPS[chip]
    assert (chip.value, facts.gsp_sig_section, facts.gsp_image_family) == (chip_id, section, image), (
        f"{name}: chips.py has id {chip.value:#x}, section {facts.gsp_sig_section!r}, image "
        f"{facts.gsp_image_family!r}; NVIDIA's sources give {chip_id:#x}, {section!r}, {image!r}")
    assert Chipset.from_id(chip_id) is chip
