"""nova_core.pci.config: a PCI function's configuration space: header, BARs, capability lists.

:class:`ConfigSpace` reads through a :class:`~nova_core.pci.source.ConfigSource` (sysfs, a dump, the
simulated GPU, a VFIO region) and answers:

- :meth:`ConfigSpace.header`: the type 0 (or bridge) header fields;
- :meth:`ConfigSpace.bars`: the BARs (32/64-bit, prefetchable, I/O), with sizes when known: from
  sysfs ``resource`` (``sizes=``), or by the standard probe (:func:`probe_bar_sizes`: decode off,
  write all-ones, read the mask back, restore) on a writable source;
- :meth:`ConfigSpace.capabilities`: the standard list (0x40-0xFF, from the pointer at 0x34) and the
  extended list (from 0x100), walked with loop and bounds protection.

Partial results are normal and documented in :attr:`CapabilityWalk.notes`, never errors:

- a 64-byte source (an unprivileged read of sysfs ``config``) has only the header: no capabilities;
- a 256-byte source (conventional PCI, or a dump made with ``lspci -xxx``) has no extended space.

Malformed lists end the walk with the entries found so far and a line in :attr:`CapabilityWalk.problems`
(a pointer into the header, a loop, a pointer past the end, an all-ones header from a dead function);
``strict=True`` raises :class:`~nova_core.errors.PciError` with the same sentence instead. Unknown
capability ids are listed by number ("Unknown (0x2f)"), never fatal.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import PciError
from . import facts as F
from .source import BytesConfig, ConfigSource


@dataclass(frozen=True)
class Header:
    """The fields of the common header (type 0 endpoints; bridges share the first 16 bytes and 0x34)."""

    vendor: int
    device: int
    command: int
    status: int
    revision: int
    prog_if: int
    subclass: int
    base_class: int
    cache_line_size: int
    latency_timer: int
    header_type: int
    bist: int
    subsystem_vendor: int | None
    subsystem_device: int | None
    rom_address: int | None
    capability_pointer: int
    interrupt_line: int
    interrupt_pin: int

    @property
    def class_code(self) -> int:
        """24-bit class code: base << 16 | subclass << 8 | prog-if."""
        return self.base_class << 16 | self.subclass << 8 | self.prog_if

    @property
    def layout(self) -> int:
        """Header layout: 0 endpoint, 1 PCI-PCI bridge, 2 CardBus bridge."""
        return self.header_type & F.HEADER_TYPE_LAYOUT_MASK

    @property
    def multifunction(self) -> bool:
        return bool(self.header_type & F.HEADER_TYPE_MULTIFUNCTION)

    @property
    def class_name(self) -> str:
        return F.class_name(self.base_class, self.subclass)

    def as_json(self) -> dict[str, Any]:
        return {
            "vendor": self.vendor, "device": self.device, "command": self.command, "status": self.status,
            "revision": self.revision, "class": self.class_code, "class_name": self.class_name,
            "header_type": self.header_type, "multifunction": self.multifunction,
            "subsystem_vendor": self.subsystem_vendor, "subsystem_device": self.subsystem_device,
            "capability_pointer": self.capability_pointer, "interrupt_pin": self.interrupt_pin,
            "interrupt_line": self.interrupt_line,
        }


@dataclass(frozen=True)
class BarInfo:
    """One base address register (a 64-bit BAR is one entry at its lower index)."""

    index: int
    raw: int  #: the register value (both dwords for a 64-bit BAR)
    address: int
    size: int | None  #: None when unknown (a dump without sysfs ``resource``, not probed)
    is_io: bool
    is_64bit: bool
    prefetchable: bool

    def as_json(self) -> dict[str, Any]:
        return {"index": self.index, "address": self.address, "size": self.size, "is_64bit": self.is_64bit,
                "prefetchable": self.prefetchable, "is_io": self.is_io}


@dataclass(frozen=True)
class Capability:
    """One entry of a capability list."""

    id: int
    offset: int
    extended: bool
    next: int
    version: int = 0  #: extended capabilities only

    @property
    def name(self) -> str:
        names = F.EXT_CAP_NAMES if self.extended else F.CAP_NAMES
        return names.get(self.id, f"Unknown ({self.id:#06x})" if self.extended else f"Unknown ({self.id:#04x})")

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "offset": self.offset, "extended": self.extended,
                "version": self.version if self.extended else None}

    def __str__(self) -> str:
        where = f"[{self.offset:x} v{self.version}]" if self.extended else f"[{self.offset:x}]"
        return f"{where} {self.name}"


@dataclass
class CapabilityWalk:
    """The result of walking both lists: the entries, what could not be seen, what was malformed."""

    capabilities: list[Capability] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  #: partial results (source too small), not errors
    problems: list[str] = field(default_factory=list)  #: malformed lists (strict mode raises these)

    @property
    def standard(self) -> list[Capability]:
        return [c for c in self.capabilities if not c.extended]

    @property
    def extended(self) -> list[Capability]:
        return [c for c in self.capabilities if c.extended]


class ConfigSpace:
    """Typed, bounds-checked access to one function's configuration space.

    Args:
        source: where the bytes come from (a :class:`ConfigSource`, or ``bytes`` for a dump).
        sizes: BAR sizes when known from elsewhere (index -> bytes; sysfs ``resource``).

    Raises:
        PciError: the source holds less than the 64-byte header (a truncated file).
    """

    def __init__(self, source: ConfigSource | bytes | bytearray, *, sizes: Mapping[int, int] | None = None) -> None:
        self.source: ConfigSource = BytesConfig(source) if isinstance(source, (bytes, bytearray)) else source
        self.sizes = dict(sizes or {})
        if self.source.size < F.HEADER_SIZE:
            raise PciError(f"{self.source.name}: config space of {self.source.size} bytes is truncated; the "
                           f"common header alone is {F.HEADER_SIZE} bytes")

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def size(self) -> int:
        return self.source.size

    # -- raw access --------------------------------------------------------------------------------

    def read(self, offset: int, length: int) -> bytes:
        return self.source.read(offset, length)

    def u8(self, offset: int) -> int:
        return self.source.read(offset, 1)[0]

    def u16(self, offset: int) -> int:
        return int(struct.unpack("<H", self.source.read(offset, 2))[0])

    def u32(self, offset: int) -> int:
        return int(struct.unpack("<I", self.source.read(offset, 4))[0])

    def write8(self, offset: int, value: int) -> None:
        self.source.write(offset, struct.pack("<B", value))

    def write16(self, offset: int, value: int) -> None:
        self.source.write(offset, struct.pack("<H", value))

    def write32(self, offset: int, value: int) -> None:
        self.source.write(offset, struct.pack("<I", value))

    # -- header ------------------------------------------------------------------------------------

    def header(self) -> Header:
        raw = self.read(0, F.HEADER_SIZE)

        def u16(o: int) -> int:
            return int.from_bytes(raw[o:o + 2], "little")

        def u32(o: int) -> int:
            return int.from_bytes(raw[o:o + 4], "little")

        layout = raw[F.HEADER_TYPE] & F.HEADER_TYPE_LAYOUT_MASK
        endpoint = layout == 0
        return Header(
            vendor=u16(F.VENDOR_ID), device=u16(F.DEVICE_ID), command=u16(F.COMMAND), status=u16(F.STATUS),
            revision=raw[F.REVISION_ID], prog_if=raw[F.CLASS_PROG_IF], subclass=raw[F.CLASS_SUBCLASS],
            base_class=raw[F.CLASS_BASE], cache_line_size=raw[F.CACHE_LINE_SIZE],
            latency_timer=raw[F.LATENCY_TIMER], header_type=raw[F.HEADER_TYPE], bist=raw[F.BIST],
            subsystem_vendor=u16(F.SUBSYSTEM_VENDOR_ID) if endpoint else None,
            subsystem_device=u16(F.SUBSYSTEM_ID) if endpoint else None,
            rom_address=u32(F.ROM_ADDRESS) if endpoint else None,
            capability_pointer=raw[self._cap_pointer_offset(layout)],
            interrupt_line=raw[F.INTERRUPT_LINE], interrupt_pin=raw[F.INTERRUPT_PIN],
        )

    @staticmethod
    def _cap_pointer_offset(layout: int) -> int:
        return 0x14 if layout == 2 else F.CAPABILITY_LIST  # CardBus bridges keep it at 0x14

    # -- BARs --------------------------------------------------------------------------------------

    def bars(self, sizes: Mapping[int, int] | None = None) -> list[BarInfo]:
        """The BARs of the header, in order; a BAR is listed when it has an address or a known size."""
        known = {**self.sizes, **(sizes or {})}
        layout = self.u8(F.HEADER_TYPE) & F.HEADER_TYPE_LAYOUT_MASK
        count = {0: F.NUM_BARS, 1: 2}.get(layout, 0)
        return decode_bars(self.read(F.BAR0, 4 * count) if count else b"", known, who=self.name)

    # -- capabilities --------------------------------------------------------------------------------

    def capabilities(self, *, strict: bool = False) -> CapabilityWalk:
        """Walk the standard and extended lists (see the module docstring for partial results)."""
        walk = CapabilityWalk()
        self._walk_standard(walk)
        self._walk_extended(walk)
        if strict and walk.problems:
            raise PciError(f"{self.name}: {walk.problems[0]}")
        return walk

    def find(self, cap_id: int, *, extended: bool = False) -> Capability | None:
        """The first capability with this id (standard list by default), or None."""
        for c in self.capabilities().capabilities:
            if c.id == cap_id and c.extended == extended:
                return c
        return None

    def _walk_standard(self, walk: CapabilityWalk) -> None:
        status = self.u16(F.STATUS)
        if status == 0xFFFF and self.u16(F.VENDOR_ID) == 0xFFFF:
            walk.problems.append("the function reads all-ones (absent, or fell off the bus): no capabilities")
            return
        if not F.Status.cap_list.is_set(status):
            return
        layout = self.u8(F.HEADER_TYPE) & F.HEADER_TYPE_LAYOUT_MASK
        at = self._cap_pointer_offset(layout)
        if self.size <= F.HEADER_SIZE:
            walk.notes.append(f"only the {self.size}-byte header is readable (an unprivileged read of sysfs "
                              f"config): the capability lists are not visible")
            return
        ptr = self.u8(at) & ~3
        seen: set[int] = set()
        while ptr:
            where = f"capability pointer at {at:#x}"
            if ptr < F.HEADER_SIZE:
                walk.problems.append(f"{where} is {ptr:#x}: it points into the header (0x00-0x3f)")
                return
            if ptr + 2 > min(self.size, F.LEGACY_SIZE):
                walk.problems.append(f"{where} is {ptr:#x}: outside the PCI-compatible space readable here")
                return
            if ptr in seen:
                walk.problems.append(f"{where} is {ptr:#x} again: the standard capability list loops")
                return
            if len(seen) >= F.MAX_STD_CAPS:
                walk.problems.append(f"more than {F.MAX_STD_CAPS} standard capabilities: the list cannot be that long")
                return
            seen.add(ptr)
            cap_id, nxt = self.read(ptr, 2)
            if cap_id == 0xFF:
                walk.problems.append(f"capability at {ptr:#x} reads id 0xff: the chain is broken (all-ones)")
                return
            walk.capabilities.append(Capability(cap_id, ptr, False, nxt & ~3))
            at, ptr = ptr + 1, nxt & ~3

    def _walk_extended(self, walk: CapabilityWalk) -> None:
        if self.size <= F.LEGACY_SIZE:
            if self.size == F.LEGACY_SIZE:
                walk.notes.append("the config space is 256 bytes (conventional PCI, or a 256-byte dump): "
                                  "no extended capabilities are visible")
            return
        if self.size < F.EXTENDED_SIZE:
            walk.notes.append(f"the config space is truncated at {self.size:#x} bytes: extended capabilities "
                              f"beyond it are not visible")
        off = F.EXT_CAP_START
        if off + 4 > self.size:
            return
        first = self.u32(off)
        if first in (0, 0xFFFFFFFF):
            return  # no extended capabilities (0), or not a PCI Express function / no ECAM access (all-ones)
        seen: set[int] = set()
        prev = None
        while True:
            if off in seen:
                walk.problems.append(f"extended capability at {prev:#x} points back to {off:#x}: the extended "
                                     f"list loops")
                return
            if len(seen) >= F.MAX_EXT_CAPS:
                walk.problems.append(f"more than {F.MAX_EXT_CAPS} extended capabilities: the list cannot be that long")
                return
            seen.add(off)
            header = self.u32(off)
            if header == 0xFFFFFFFF:
                walk.problems.append(f"extended capability header at {off:#x} reads 0xffffffff: the chain is broken")
                return
            h = F.ExtCapHeader.decode(header)
            nxt = h["next"] & ~3
            walk.capabilities.append(Capability(h["id"], off, True, nxt, h["version"]))
            if nxt == 0:
                return
            if nxt < F.EXT_CAP_START:
                walk.problems.append(f"extended capability at {off:#x} points to {nxt:#x}, inside the "
                                     f"PCI-compatible space (extended capabilities start at 0x100)")
                return
            if nxt + 4 > self.size:
                walk.problems.append(f"extended capability at {off:#x} points to {nxt:#x}, past the "
                                     f"{self.size:#x}-byte config space")
                return
            prev, off = off, nxt


def decode_bars(raw: bytes, sizes: Mapping[int, int], *, who: str, first_index: int = 0) -> list[BarInfo]:
    """Decode consecutive BAR registers (the header's, or an SR-IOV capability's VF BARs)."""
    regs = [int.from_bytes(raw[i:i + 4], "little") for i in range(0, len(raw) - len(raw) % 4, 4)]
    out: list[BarInfo] = []
    i = 0
    while i < len(regs):
        index = first_index + i
        lo = regs[i]
        if lo & F.BAR_SPACE_IO:
            bar = BarInfo(index, lo, lo & F.BAR_IO_ADDR_MASK, sizes.get(index), True, False, False)
            i += 1
        else:
            is64 = (lo & F.BAR_MEM_TYPE_MASK) == F.BAR_MEM_TYPE_64
            if is64 and i + 1 >= len(regs):
                raise PciError(f"{who}: BAR{index} is marked 64-bit but is the last BAR (no upper dword)")
            hi = regs[i + 1] if is64 else 0
            bar = BarInfo(index, lo | hi << 32, (lo & F.BAR_MEM_ADDR_MASK) | hi << 32, sizes.get(index), False,
                          is64, bool(lo & F.BAR_MEM_PREFETCH))
            i += 2 if is64 else 1
        if bar.raw or bar.size:
            out.append(bar)
    return out


def probe_bar_sizes(cs: ConfigSpace) -> dict[int, int]:
    """Size the header's BARs the standard way (PCI 3.0 6.2.5.1); needs a writable source.

    Memory and I/O decode are turned off while each BAR holds all-ones (so it decodes nothing), the
    mask read back gives the size, and the BAR and the command register are restored. Returns
    ``{index: bytes}`` for implemented BARs, and ``"rom"`` is not included (see :func:`probe_rom_size`).
    """
    command = cs.u16(F.COMMAND)
    cs.write16(F.COMMAND, command & ~(F.Command.memory.mask | F.Command.io.mask))
    sizes: dict[int, int] = {}
    try:
        i = 0
        while i < F.NUM_BARS:
            off = F.BAR0 + 4 * i
            lo = cs.u32(off)
            cs.write32(off, 0xFFFFFFFF)
            mask_lo = cs.u32(off)
            cs.write32(off, lo)
            if lo & F.BAR_SPACE_IO:
                m = mask_lo & F.BAR_IO_ADDR_MASK & 0xFFFF
                if m:
                    sizes[i] = (~m & 0xFFFF) + 1
                i += 1
                continue
            is64 = (lo & F.BAR_MEM_TYPE_MASK) == F.BAR_MEM_TYPE_64 and i + 1 < F.NUM_BARS
            mask = mask_lo & F.BAR_MEM_ADDR_MASK
            if is64:
                hi = cs.u32(off + 4)
                cs.write32(off + 4, 0xFFFFFFFF)
                mask |= cs.u32(off + 4) << 32
                cs.write32(off + 4, hi)
                if mask:
                    sizes[i] = (~mask & (1 << 64) - 1) + 1
                i += 2
            else:
                if mask:
                    sizes[i] = (~mask & 0xFFFFFFFF) + 1
                i += 1
    finally:
        cs.write16(F.COMMAND, command)
    return sizes


def probe_rom_size(cs: ConfigSpace) -> int | None:
    """Size of the expansion ROM BAR (None when not implemented); restores the register."""
    old = cs.u32(F.ROM_ADDRESS)
    cs.write32(F.ROM_ADDRESS, F.ROM_ADDR_MASK)
    mask = cs.u32(F.ROM_ADDRESS) & F.ROM_ADDR_MASK
    cs.write32(F.ROM_ADDRESS, old)
    return ((~mask & 0xFFFFFFFF) + 1) if mask else None
