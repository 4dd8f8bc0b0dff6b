"""nova_core.falcon.ucode: what a falcon load is made of, independent of how it is loaded.

A :class:`FalconUcode` lists the IMEM segments (bytes, IMEM destination, secure flag, and the *tag* - the
IMEM virtual address of the segment's first 256-byte block; every following block gets the next tag),
the DMEM segments, the boot vector (a virtual IMEM address) and, for heavy-secure ucodes on the GA102+
falcon HAL, the boot ROM parameters (:class:`BromParams`: DMEM offset of the PKC signature, engine-id
mask, ucode id). The falcon engine (:mod:`nova_core.falcon.engine`) loads it by PIO or DMA; the bytes
that land in IMEM/DMEM and the tags are the same either way.

Loaders build one with :meth:`FalconUcode.from_layout` from any *load layout* - the shape the vBIOS
layer's ``FwsecImage`` and the firmware layer's ``HsLoadLayout`` share: ``image`` plus ``imem_ns``
(optional), ``imem_sec``, ``dmem`` segments ``{src, dst, size, secure, tag}``, ``boot_vector`` and an
optional ``brom``. Sources: nova-core ``falcon.rs`` (``FalconLoadTarget``, ``FalconBromParams``, PIO start
tag = destination >> 8; DMA tags from the source offset), nouveau ``nvkm_falcon_load_imem``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import FalconError
from ..firmware.facts import IMEM_TAG_BITS
from ..firmware.hs import BromParams, LoadSegment
from .facts import BLOCK


@dataclass(frozen=True)
class UcodeSegment:
    """``data`` goes to falcon memory at ``dst``.

    Attributes:
        data: the bytes (loaders pad them with zeros to 4 bytes for PIO, 256 for DMA).
        dst: IMEM/DMEM byte address (IMEM: block aligned).
        secure: IMEM only: load as secure (heavy-secure) code.
        tag: IMEM only: virtual address of the first block (block aligned); ``None`` means ``dst``.
    """

    data: bytes
    dst: int
    secure: bool = False
    tag: int | None = None

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def end(self) -> int:
        return self.dst + len(self.data)

    @property
    def virt(self) -> int:
        """The IMEM virtual address of the first block (``tag``, or ``dst`` when none was given)."""
        return self.dst if self.tag is None else self.tag

    @property
    def blocks(self) -> int:
        return -(-len(self.data) // BLOCK)

    def describe(self) -> str:
        sec = " secure" if self.secure else ""
        tag = "" if self.tag is None else f" tag {self.tag:#x}"
        return f"[{self.dst:#x}, {self.end:#x}){sec}{tag}"


class LoadLayout(Protocol):
    """The load description the vBIOS (``FwsecImage``) and firmware (``HsLoadLayout``) layers produce."""

    @property
    def image(self) -> bytes: ...
    @property
    def imem_sec(self) -> LoadSegment: ...
    @property
    def imem_ns(self) -> LoadSegment | None: ...
    @property
    def dmem(self) -> LoadSegment: ...
    @property
    def boot_vector(self) -> int: ...
    @property
    def brom(self) -> BromParams | None: ...


def _overlap(segs: tuple[UcodeSegment, ...], mem: str, name: str) -> None:
    ordered = sorted(segs, key=lambda s: s.dst)
    for a, b in itertools.pairwise(ordered):
        if b.dst < a.end:
            raise FalconError(f"{name}: {mem} segments {a.describe()} and {b.describe()} overlap")


@dataclass(frozen=True)
class FalconUcode:
    """A ucode ready for a falcon: IMEM and DMEM segments (in load order), boot vector, BROM parameters.

    Raises:
        FalconError: a segment that is empty, not aligned as the memory needs (IMEM destinations and tags
            on 256-byte blocks, DMEM on 4 bytes), overlapping another, with a tag past 16 bits, a DMEM
            segment with a tag or secure flag, no IMEM at all, a boot vector that is not a 32-bit value.
    """

    name: str
    imem: tuple[UcodeSegment, ...]
    dmem: tuple[UcodeSegment, ...]
    boot_vector: int
    brom: BromParams | None = None

    def __post_init__(self) -> None:
        n = self.name
        if not self.imem:
            raise FalconError(f"{n}: a falcon ucode needs at least one IMEM segment")
        for s in self.imem:
            if not s.data:
                raise FalconError(f"{n}: IMEM segment at {s.dst:#x} is empty")
            if s.dst < 0 or s.dst % BLOCK:
                raise FalconError(f"{n}: IMEM segment destination {s.dst:#x} is not 256-byte (block) aligned")
            if s.virt < 0 or s.virt % BLOCK:
                raise FalconError(f"{n}: IMEM segment at {s.dst:#x}: tag address {s.virt:#x} is not block aligned")
            if (s.virt >> 8) + s.blocks > (1 << IMEM_TAG_BITS):
                raise FalconError(f"{n}: IMEM segment {s.describe()}: tags reach past the 16-bit IMEMT field")
        for s in self.dmem:
            if not s.data:
                raise FalconError(f"{n}: DMEM segment at {s.dst:#x} is empty")
            if s.dst < 0 or s.dst % 4:
                raise FalconError(f"{n}: DMEM segment destination {s.dst:#x} is not 4-byte aligned")
            if s.tag is not None or s.secure:
                raise FalconError(f"{n}: DMEM segment at {s.dst:#x} has a tag or secure flag (IMEM only)")
        _overlap(self.imem, "IMEM", n)
        _overlap(self.dmem, "DMEM", n)
        if not isinstance(self.boot_vector, int) or not 0 <= self.boot_vector <= 0xFFFFFFFF:
            raise FalconError(f"{n}: boot vector {self.boot_vector!r} is not a 32-bit address")

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def from_layout(cls, layout: LoadLayout, name: str) -> FalconUcode:
        """The ucode a vBIOS ``FwsecImage`` or a firmware ``HsLoadLayout`` describes.

        The non-secure IMEM part (Turing/GA100 booters, v2 FWSEC) loads before the secure part, as
        nova-core and nouveau load them.

        Raises:
            FalconError: a segment reaches outside the image, or the result is not a valid ucode.
        """
        image = bytes(layout.image)

        def seg(s: LoadSegment, what: str, imem: bool) -> UcodeSegment:
            if s.src < 0 or s.size <= 0 or s.src + s.size > len(image):
                raise FalconError(f"{name}: {what} [{s.src:#x}, +{s.size:#x}) is outside the "
                                  f"{len(image):#x}-byte image")
            return UcodeSegment(image[s.src:s.src + s.size], s.dst, bool(s.secure) if imem else False,
                                s.tag if imem else None)

        imem = []
        if layout.imem_ns is not None:
            imem.append(seg(layout.imem_ns, "non-secure IMEM segment", True))
        imem.append(seg(layout.imem_sec, "secure IMEM segment", True))
        dmem = (seg(layout.dmem, "DMEM segment", False),)
        return cls(name, tuple(imem), dmem, layout.boot_vector, layout.brom)

    # -- queries --------------------------------------------------------------------------------

    @property
    def imem_end(self) -> int:
        """First IMEM byte past every segment (what the engine's IMEM must hold)."""
        return max(s.end for s in self.imem)

    @property
    def dmem_end(self) -> int:
        return max((s.end for s in self.dmem), default=0)

    def as_json(self) -> dict[str, Any]:
        def seg(s: UcodeSegment) -> dict[str, Any]:
            return {"dst": s.dst, "size": s.size, "secure": s.secure, "tag": s.virt}

        return {
            "name": self.name,
            "imem": [seg(s) for s in self.imem],
            "dmem": [{"dst": s.dst, "size": s.size} for s in self.dmem],
            "boot_vector": self.boot_vector,
            "brom": None if self.brom is None else dict(self.brom.__dict__),
        }
