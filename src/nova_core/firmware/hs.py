"""nova_core.firmware.hs: how a heavy-secure (HS) ucode maps into a falcon - shared by every HS source.

The vBIOS's FWSEC (:mod:`nova_core.vbios.fwsec`) and the SEC2 booters (:mod:`.booter`) are both described,
once parsed, as segments of a patched image (:class:`LoadSegment`) plus, on GA102 and later, what the
falcon's boot ROM needs to verify them (:class:`BromParams`, the ``NV_PFALCON2_FALCON_BROM_*`` registers).
The falcon layer (:mod:`nova_core.falcon.ucode`) turns either into the bytes it loads. Sources: nova-core
``falcon.rs`` (``FalconLoadTarget``, ``FalconBromParams``), OpenRM ``kflcnSecureBoot``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import FirmwareError


@dataclass(frozen=True)
class LoadSegment:
    """``size`` bytes of the patched image at ``src`` go to falcon memory address ``dst``.

    ``secure``: IMEM loaded as secure code; ``tag``: the IMEM virtual address (block tag base) of a code
    segment, ``None`` for DMEM.
    """

    src: int
    dst: int
    size: int
    secure: bool
    tag: int | None = None

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class BromParams:
    """What the GA102+ boot ROM needs to verify an HS ucode (``NV_PFALCON2_FALCON_BROM_*``)."""

    pkc_data_offset: int  #: BROM_PARAADDR(0): DMEM offset of the PKC (RSA-3K) signature
    engine_id_mask: int  #: BROM_ENGIDMASK
    ucode_id: int  #: BROM_CURR_UCODE_ID (8 bits)

    def __post_init__(self) -> None:
        for name, value, bits in (("pkc_data_offset", self.pkc_data_offset, 32),
                                  ("engine_id_mask", self.engine_id_mask, 32), ("ucode_id", self.ucode_id, 8)):
            if not isinstance(value, int) or not 0 <= value < (1 << bits):
                raise FirmwareError(f"boot ROM parameter {name} = {value!r} is not a {bits}-bit unsigned value")

    def as_json(self) -> dict[str, int]:
        return dict(self.__dict__)
