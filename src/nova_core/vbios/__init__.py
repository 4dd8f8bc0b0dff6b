"""nova_core.vbios: the vBIOS - ROM images, BIT, falcon ucode table, FWSEC extraction and patching.

Parse a ROM file or a GPU's PROM window, read its version, and build the FWSEC image a falcon loads::

    >>> from nova_core.vbios import Vbios, FwsecCommand
    >>> vb = Vbios.from_file("rtx3090.rom")            # or Vbios.from_bar(dev.bar0, dev.name)
    >>> vb.version
    '94.02.42.80.88'
    >>> img = vb.fwsec.patch(FwsecCommand.FRTS, frts_offset=0x5FE00000, fuse_version=1)
    >>> img.imem_sec, img.dmem, img.brom                # what goes where (see fwsec.FwsecImage)

Modules: :mod:`.facts` (layouts and ids), :mod:`.source` (file / PROM bytes), :mod:`.reader` (bounded
reads, coverage claims), :mod:`.images` (IFR, image chain), :mod:`.bit` (BIT and tokens),
:mod:`.ucode` (expansion-ROM pointers, ucode table, descriptors), :mod:`.fwsec` (FWSEC patching),
:mod:`.vbios` (the whole parse), :mod:`.coverage`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from ..firmware.hs import BromParams, LoadSegment
    from .facts import AppId, CodeType, FwsecCommand, format_version
    from .fwsec import FwsecImage, FwsecUcode
    from .images import RomImage
    from .source import FileSource, PromSource, RomSource
    from .vbios import Vbios, read_vbios_version

__getattr__, __dir__ = lazy_exports(__name__, {
    "BromParams": "..firmware.hs",
    "LoadSegment": "..firmware.hs",
    "AppId": ".facts",
    "CodeType": ".facts",
    "FwsecCommand": ".facts",
    "format_version": ".facts",
    "FwsecImage": ".fwsec",
    "FwsecUcode": ".fwsec",
    "RomImage": ".images",
    "FileSource": ".source",
    "PromSource": ".source",
    "RomSource": ".source",
    "Vbios": ".vbios",
    "read_vbios_version": ".vbios",
})

__all__ = [
    "AppId",
    "BromParams",
    "CodeType",
    "FileSource",
    "FwsecCommand",
    "FwsecImage",
    "FwsecUcode",
    "LoadSegment",
    "PromSource",
    "RomImage",
    "RomSource",
    "Vbios",
    "format_version",
    "read_vbios_version",
]
