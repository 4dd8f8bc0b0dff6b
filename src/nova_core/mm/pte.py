"""nova_core.mm.pte: encode and decode GPU page-table entries of MMU v2 (Turing-Ada) and v3 (Hopper, Blackwell).

Every value goes through the field declarations of :mod:`nova_core.regs.mmu` (``Bitfield.encode``), so a field
that does not fit (an address beyond what the aperture can reach, a kind of 9 bits) is a
:class:`~nova_core.errors.RegisterError` naming the field, its bits and the value. Bulk PTE writes use a
:class:`PteTemplate`: every field but the address is encoded (and checked) once, then the addresses of a
whole run are OR-ed in with numpy after one range check of the first and last address.

Which pages exist: 4 KiB (small page table), 64 KiB (big page table, the low half of the dual PDE), 2 MiB (a PTE
in the dual PDE's place, ``IS_PTE``), and 512 MiB (a PTE at PD1) on Ampere and later (OpenRM
``kern_gmmu_fmt_ga10x.c``; Turing has no 512 MiB pages).
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import MmError, RegisterError
from ..gpu.chips import Architecture, Chipset
from ..regs import mmu as m
from ..regs.core import Bitfield
from ..regs.mmu import MmuGeometry, MmuLevel, PdeAperture, PteAperture, PteKind

PAGE_4K, PAGE_64K, PAGE_2M, PAGE_512M = 1 << 12, 1 << 16, 1 << 21, 1 << 29

_SYS_APERTURES = (PteAperture.SYSTEM_COHERENT_MEMORY, PteAperture.SYSTEM_NON_COHERENT_MEMORY)
_Q = (1 << 64) - 1


@dataclass(frozen=True)
class PteFlags:
    """Attributes of a mapping, the same words for both formats.

    ``volatile`` (uncached GPU access) defaults to True for system memory, as nouveau and OpenRM map it;
    ``access_counting`` maps to v3's ACE/ACD PCF bit (v2 has none).
    """

    read_only: bool = False
    privileged: bool = False
    volatile: bool | None = None
    atomic_disable: bool = False
    encrypted: bool = False
    kind: int = PteKind.GENERIC_MEMORY
    comptagline: int = 0
    peer: int = 0
    access_counting: bool = False


#: the attributes of an ordinary read-write mapping
DEFAULT_FLAGS = PteFlags()


@dataclass(frozen=True)
class EntryInfo:
    """A decoded entry, format-neutral: what the walker and ``nova mm walk`` show."""

    kind: str  #: "pde", "pte", "invalid"
    aperture: int
    address: int
    fields: dict[str, Any] = field(default_factory=dict)
    text: str = ""

    @property
    def valid(self) -> bool:
        return self.kind != "invalid"


class PteTemplate:
    """All PTE fields but the address, encoded once; ``value(addr)`` and ``values(addrs)`` add the address."""

    __slots__ = ("addr_bits", "addr_lo", "base", "view")

    def __init__(self, view: type[Bitfield], base: int, addr_field: str) -> None:
        f = view.field(addr_field)
        self.view = view
        self.base = base
        self.addr_lo = f.lo
        self.addr_bits = f.width

    def _check(self, addr: int) -> None:
        if addr & 0xFFF or addr < 0:
            raise MmError(f"{self.view.NAME}: page address {addr:#x} is not 4 KiB aligned")
        if addr >> 12 >= 1 << self.addr_bits:
            raise RegisterError(
                f"{self.view.NAME}: page address {addr:#x} does not fit the {self.addr_bits}-bit address field "
                f"({self.addr_lo + self.addr_bits - 1}:{self.addr_lo}; max {((1 << self.addr_bits) - 1) << 12:#x})"
            )

    def value(self, addr: int) -> int:
        self._check(addr)
        return self.base | ((addr >> 12) << self.addr_lo)

    def run(self, first: int, count: int, step: int) -> npt.NDArray[np.uint64]:
        """PTE values for ``count`` pages from ``first``, ``step`` bytes apart (one contiguous run)."""
        self._check(first)
        self._check(first + (count - 1) * step)
        pages = np.arange(count, dtype=np.uint64) * np.uint64(step) + np.uint64(first)
        if self.addr_lo >= 12:  # v3: the address sits in place
            vals = pages << np.uint64(self.addr_lo - 12)
        else:  # v2: address >> 12 at bit 8, i.e. the (4 KiB aligned) address >> 4
            vals = pages >> np.uint64(12 - self.addr_lo)
        return vals | np.uint64(self.base)

    def pack(self, addrs: Sequence[int]) -> bytes:
        """The little-endian PTEs of a few page addresses (an sg list's pages), as :meth:`values` gives them:
        written out in Python, which costs less than numpy's array set-up below some hundred pages."""
        self._check(min(addrs))
        self._check(max(addrs))
        if any(a & 0xFFF for a in addrs):
            raise MmError(f"{self.view.NAME}: a page address is not 4 KiB aligned")
        base, lo = self.base, self.addr_lo
        return struct.pack(f"<{len(addrs)}Q", *[base | ((a >> 12) << lo) for a in addrs])

    def values(self, addrs: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
        """PTE values for arbitrary page addresses (an sg table's pages)."""
        if len(addrs):
            lo, hi = int(addrs.min()), int(addrs.max())
            self._check(lo)
            self._check(hi)
            if int(np.bitwise_or.reduce(addrs)) & 0xFFF:
                raise MmError(f"{self.view.NAME}: a page address is not 4 KiB aligned")
        return ((addrs >> np.uint64(12)) << np.uint64(self.addr_lo)) | np.uint64(self.base)


class MmuFormat:
    """The entry formats and level geometry of one MMU version (use :func:`format_for`)."""

    def __init__(self, geometry: MmuGeometry, *, huge_512m: bool) -> None:
        self.geometry = geometry
        self.version = geometry.version
        self.huge_512m = huge_512m
        self.levels: tuple[MmuLevel, ...] = (*geometry.directories, geometry.pt_big, geometry.pt_small)
        shifts = [12, 16, 21] + ([29] if huge_512m else [])
        #: page shifts this chip can map, largest first
        self.page_shifts: tuple[int, ...] = tuple(sorted(shifts, reverse=True))

    def __repr__(self) -> str:
        return f"<MmuFormat v{self.version} {'+512M' if self.huge_512m else ''}>"

    # -- directories ---------------------------------------------------------------------------

    def pde(self, table: int, aperture: PdeAperture = PdeAperture.VIDEO_MEMORY) -> int:
        """An 8-byte PDE pointing at the table at ``table`` (PD3..PD1 on v2, PD4..PD1 on v3)."""
        _check_table_addr(table, 4096, "PDE")
        sysmem = aperture in (PdeAperture.SYSTEM_COHERENT_MEMORY, PdeAperture.SYSTEM_NON_COHERENT_MEMORY)
        if self.version == 2:
            if sysmem:
                return m.NV_MMU_VER2_PDE.encode(aperture=aperture, vol=1, no_ats=1, address_sys=table >> 12)
            return m.NV_MMU_VER2_PDE_VID.encode(aperture=aperture, no_ats=1, address_vid=table >> 12)
        pcf = m.PdePcf.VALID_UNCACHED_ATS_NOT_ALLOWED if sysmem else m.PdePcf.VALID_CACHED_ATS_NOT_ALLOWED
        return m.NV_MMU_VER3_PDE.encode(aperture=aperture, pcf=pcf, address=table >> 12)

    def dual_pde(self, big: tuple[int, PdeAperture] | None, small: tuple[int, PdeAperture] | None) -> int:
        """A 16-byte dual PDE (PD0) pointing at a 64 KiB-page table and/or a 4 KiB-page table."""
        value = 0
        if big is not None:
            addr, ap = big
            _check_table_addr(addr, 256, "dual PDE big-page table")
            sysmem = ap in (PdeAperture.SYSTEM_COHERENT_MEMORY, PdeAperture.SYSTEM_NON_COHERENT_MEMORY)
            if self.version == 2:
                view = m.NV_MMU_VER2_DUAL_PDE if sysmem else m.NV_MMU_VER2_DUAL_PDE_VID
                value |= view.encode(aperture_big=ap, vol_big=int(sysmem),
                                     **{"address_big_sys" if sysmem else "address_big_vid": addr >> 8})
            else:
                pcf = m.PdePcf.VALID_UNCACHED_ATS_NOT_ALLOWED if sysmem else m.PdePcf.VALID_CACHED_ATS_NOT_ALLOWED
                value |= m.NV_MMU_VER3_DUAL_PDE.encode(aperture_big=ap, pcf_big=pcf, address_big=addr >> 8)
        if small is not None:
            addr, ap = small
            _check_table_addr(addr, 4096, "dual PDE small-page table")
            sysmem = ap in (PdeAperture.SYSTEM_COHERENT_MEMORY, PdeAperture.SYSTEM_NON_COHERENT_MEMORY)
            if self.version == 2:
                view = m.NV_MMU_VER2_DUAL_PDE if sysmem else m.NV_MMU_VER2_DUAL_PDE_VID
                value |= view.encode(aperture_small=ap, vol_small=int(sysmem),
                                     **{"address_small_sys" if sysmem else "address_small_vid": addr >> 12})
            else:
                pcf = m.PdePcf.VALID_UNCACHED_ATS_NOT_ALLOWED if sysmem else m.PdePcf.VALID_CACHED_ATS_NOT_ALLOWED
                value |= m.NV_MMU_VER3_DUAL_PDE.encode(aperture_small=ap, pcf_small=pcf, address_small=addr >> 12)
        return value

    # -- pages ----------------------------------------------------------------------------------

    def pte_template(self, aperture: PteAperture, flags: PteFlags = DEFAULT_FLAGS) -> PteTemplate:
        """Everything of a valid PTE but its address (checked here, once)."""
        ap = PteAperture(aperture)
        sysmem = ap in _SYS_APERTURES
        vol = sysmem if flags.volatile is None else flags.volatile
        if self.version == 2:
            common: dict[str, int] = dict(valid=1, aperture=ap, vol=int(vol), encrypted=int(flags.encrypted),
                                          privilege=int(flags.privileged), read_only=int(flags.read_only),
                                          atomic_disable=int(flags.atomic_disable), kind=flags.kind)
            if sysmem:
                if flags.comptagline or flags.peer:
                    raise MmError(f"MMU v2 PTE: compression tags ({flags.comptagline:#x}) and peer index "
                                  f"({flags.peer}) exist only for video/peer memory, not {ap.name}")
                return PteTemplate(m.NV_MMU_VER2_PTE, m.NV_MMU_VER2_PTE.encode(**common), "address_sys")
            base = m.NV_MMU_VER2_PTE_VID.encode(**common, comptagline=flags.comptagline,
                                                 address_vid_peer=flags.peer)
            return PteTemplate(m.NV_MMU_VER2_PTE_VID, base, "address_vid")
        if flags.encrypted or flags.comptagline:
            raise MmError("MMU v3 PTE: there is no ENCRYPTED bit nor COMPTAGLINE field in the v3 format")
        pcf = ((m.PTE_PCF_UNCACHED if vol else 0) | (m.PTE_PCF_PRIVILEGE if flags.privileged else 0)
               | (m.PTE_PCF_READ_ONLY if flags.read_only else 0) | (m.PTE_PCF_NO_ATOMIC if flags.atomic_disable else 0)
               | (0 if flags.access_counting else m.PTE_PCF_ACD))
        common = dict(valid=1, aperture=ap, pcf=pcf, kind=flags.kind, peer_id=flags.peer)
        if ap is PteAperture.VIDEO_MEMORY:
            return PteTemplate(m.NV_MMU_VER3_PTE_VID, m.NV_MMU_VER3_PTE_VID.encode(**common), "address_vid")
        return PteTemplate(m.NV_MMU_VER3_PTE, m.NV_MMU_VER3_PTE.encode(**common), "address_sys")

    def pte(self, addr: int, aperture: PteAperture = PteAperture.VIDEO_MEMORY, flags: PteFlags = DEFAULT_FLAGS) -> int:
        """One valid PTE mapping the page at ``addr``."""
        return self.pte_template(aperture, flags).value(addr)

    # -- decoding -------------------------------------------------------------------------------

    def decode(self, level: MmuLevel, raw: int) -> EntryInfo:
        """Decode the entry ``raw`` read at ``level`` (for the dual PD0: the 128-bit value)."""
        if level.dual:
            return self._decode_dual(raw)
        if level is self.geometry.pt_big or level is self.geometry.pt_small:
            return self.decode_pte(raw)
        if raw & 1:  # IS_PTE at PD1
            if level.pte_shift is None or (level.va_lo == 29 and not self.huge_512m):
                return EntryInfo("invalid", 0, 0, {}, f"IS_PTE set at {level.name}, which cannot hold a PTE here")
            return self.decode_pte(raw)
        return self._decode_pde(raw)

    def _decode_pde(self, raw: int) -> EntryInfo:
        if self.version == 2:
            ap = PdeAperture(m.NV_MMU_VER2_PDE.aperture.get(raw))
            sysmem = ap in (PdeAperture.SYSTEM_COHERENT_MEMORY, PdeAperture.SYSTEM_NON_COHERENT_MEMORY)
            view: type[Bitfield] = m.NV_MMU_VER2_PDE if sysmem else m.NV_MMU_VER2_PDE_VID
            fields = view.decode(raw, symbolic=True)
            addr = (fields["address_sys"] if sysmem else fields["address_vid"]) << 12
        else:
            view = m.NV_MMU_VER3_PDE
            fields = view.decode(raw, symbolic=True)
            ap = PdeAperture(fields["aperture"])
            addr = fields["address"] << 12
        if ap is PdeAperture.INVALID:
            return EntryInfo("invalid", 0, 0, fields, view.describe(raw))
        return EntryInfo("pde", ap, addr, fields, view.describe(raw))

    def _decode_dual(self, raw: int) -> EntryInfo:
        if raw & 1:
            pte = self.decode_pte(raw & _Q)
            return EntryInfo(pte.kind, pte.aperture, pte.address, pte.fields, "2 MiB PTE: " + pte.text)
        halves = self.dual_halves(raw)
        view: type[Bitfield] = m.NV_MMU_VER2_DUAL_PDE if self.version == 2 else m.NV_MMU_VER3_DUAL_PDE
        fields: dict[str, Any] = {"big": halves[0], "small": halves[1]}
        text = " ".join(f"{name}={'-' if h is None else f'{PdeAperture(h[1]).name}@{h[0]:#x}'}"
                        for name, h in (("big", halves[0]), ("small", halves[1])))
        if halves[0] is None and halves[1] is None:
            return EntryInfo("invalid", 0, 0, fields, view.describe(raw))
        return EntryInfo("pde", 0, 0, fields, text)

    def dual_halves(self, raw: int) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
        """``(big, small)``: each ``(table address, aperture)`` or None for an invalid half."""
        out: list[tuple[int, int] | None] = []
        for half in ("big", "small"):
            if self.version == 2:
                ap = m.NV_MMU_VER2_DUAL_PDE.field(f"aperture_{half}").get(raw)
                sysmem = ap in (PdeAperture.SYSTEM_COHERENT_MEMORY, PdeAperture.SYSTEM_NON_COHERENT_MEMORY)
                view: type[Bitfield] = m.NV_MMU_VER2_DUAL_PDE if sysmem else m.NV_MMU_VER2_DUAL_PDE_VID
                f = view.field(f"address_{half}_{'sys' if sysmem else 'vid'}")
                addr = f.get(raw) << (8 if half == "big" else 12)
            else:
                ap = m.NV_MMU_VER3_DUAL_PDE.field(f"aperture_{half}").get(raw)
                addr = m.NV_MMU_VER3_DUAL_PDE.field(f"address_{half}").get(raw) << (8 if half == "big" else 12)
            out.append(None if ap == PdeAperture.INVALID else (addr, ap))
        return out[0], out[1]

    def decode_pte(self, raw: int) -> EntryInfo:
        if self.version == 2:
            ap = PteAperture(m.NV_MMU_VER2_PTE.aperture.get(raw))
            sysmem = ap in _SYS_APERTURES
            view: type[Bitfield] = m.NV_MMU_VER2_PTE if sysmem else m.NV_MMU_VER2_PTE_VID
            fields = view.decode(raw, symbolic=True)
            addr = (fields["address_sys"] if sysmem else fields["address_vid"]) << 12
            valid = bool(fields["valid"])
        else:
            ap = PteAperture(m.NV_MMU_VER3_PTE.aperture.get(raw))
            view = m.NV_MMU_VER3_PTE_VID if ap is PteAperture.VIDEO_MEMORY else m.NV_MMU_VER3_PTE
            fields = view.decode(raw, symbolic=True)
            addr = (fields["address_vid"] if ap is PteAperture.VIDEO_MEMORY else fields["address_sys"]) << 12
            valid = bool(fields["valid"])
            fields["pcf"] = describe_v3_pcf(int(fields["pcf"]), valid)
        text = _text(fields, view.undeclared_bits(raw))
        return EntryInfo("pte" if valid else "invalid", ap, addr, fields, text)


def _text(fields: dict[str, Any], stray: int) -> str:
    parts = []
    for k, v in fields.items():
        if isinstance(v, enum.IntEnum):
            parts.append(f"{k}={v.name}")
        elif isinstance(v, int):
            parts.append(f"{k}={v:#x}")
        else:
            parts.append(f"{k}={v}")
    if stray:
        parts.append(f"(undeclared bits {stray:#x})")
    return " ".join(parts)


def describe_v3_pcf(pcf: int, valid: bool) -> str:
    """The header's name of a v3 PTE PCF value (``REGULAR_RW_ATOMIC_CACHED_ACD`` ...)."""
    if not valid:
        try:
            return m.PtePcfInvalid(pcf).name
        except ValueError:
            return f"RESERVED_{pcf:#x}"
    return "_".join((
        "PRIVILEGE" if pcf & m.PTE_PCF_PRIVILEGE else "REGULAR",
        "RO" if pcf & m.PTE_PCF_READ_ONLY else "RW",
        "NO_ATOMIC" if pcf & m.PTE_PCF_NO_ATOMIC else "ATOMIC",
        "UNCACHED" if pcf & m.PTE_PCF_UNCACHED else "CACHED",
        "ACD" if pcf & m.PTE_PCF_ACD else "ACE",
    ))


def _check_table_addr(addr: int, align: int, what: str) -> None:
    if addr < 0 or addr % align:
        raise MmError(f"{what}: table address {addr:#x} is not {align:#x}-byte aligned")


_V2 = MmuFormat(m.MMU_V2, huge_512m=False)
_V2_512M = MmuFormat(m.MMU_V2, huge_512m=True)
_V3 = MmuFormat(m.MMU_V3, huge_512m=True)


def format_for(chipset: Chipset) -> MmuFormat:
    """The MMU format of ``chipset``: v3 on Hopper and Blackwell, v2 before (512 MiB pages from Ampere)."""
    arch = chipset.architecture
    if arch in (Architecture.HOPPER, Architecture.BLACKWELL_GB10X, Architecture.BLACKWELL_GB20X):
        return _V3
    return _V2 if arch is Architecture.TURING else _V2_512M


def format_version(version: int, *, huge_512m: bool = True) -> MmuFormat:
    """The format by version number (2 or 3)."""
    if version == 2:
        return _V2_512M if huge_512m else _V2
    if version == 3:
        return _V3
    raise MmError(f"MMU format version {version} is not supported (2: Turing-Ada, 3: Hopper/Blackwell)")
