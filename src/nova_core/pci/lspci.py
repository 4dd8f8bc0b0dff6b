"""nova_core.pci.lspci: reading ``lspci`` output: hex dumps (``-x``/``-xxx``/``-xxxx``) and ``-vvv`` listings.

Used two ways: to load public ``lspci -xxxx`` dumps as config-space fixtures, and to hold the parser
to ``lspci`` itself (pciutils is the peer the host's devices are compared with).

- :func:`parse_hex_dump`: rows ``OFF: b0 b1 ... b15`` (offset in hex, then up to 16 bytes) into
  bytes. A complete dump has consecutive rows from 0; ``allow_gaps=True`` accepts a dump whose
  publisher printed only some rows, and :attr:`HexDump.known` says which bytes are real;
- :func:`parse_listing`: a ``lspci -vvv [-xxxx]`` listing into one :class:`LspciDevice` per function
  (its capability lines ``[40]`` / ``[100 v1]``, its regions with sizes, and its dump if present).

Every loop is bounded by the text, every number is checked; bad input raises
:class:`~nova_core.errors.PciError` naming the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import PciError
from .facts import EXTENDED_SIZE

_ROW = re.compile(r"^\s*([0-9a-fA-F]{1,3}):((?:\s+[0-9a-fA-F]{2}){1,16})\s*$")
_DEV = re.compile(r"^((?:[0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7])\s+(.*)$")
_CAP = re.compile(r"^\s+Capabilities:\s+\[([0-9a-fA-F]+)(?:\s+v(\d+))?\]\s*(.*)$")
_REGION = re.compile(r"^\s+Region (\d+): (Memory|I/O ports) at (\S+)(.*)$")
_SIZE = re.compile(r"\[size=(\d+)([KMGT]?)\]")
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


@dataclass(frozen=True)
class HexDump:
    data: bytes
    known: tuple[tuple[int, int], ...]  #: [start, end) ranges present in the text

    def is_known(self, offset: int, length: int = 1) -> bool:
        return any(s <= offset and offset + length <= e for s, e in self.known)


def parse_hex_dump(text: str, *, allow_gaps: bool = False) -> HexDump:
    """Parse hex rows; other lines are ignored. Missing rows are an error unless ``allow_gaps``."""
    rows: dict[int, bytes] = {}
    for n, line in enumerate(text.splitlines(), 1):
        m = _ROW.match(line)
        if not m:
            continue
        off = int(m.group(1), 16)
        data = bytes(int(b, 16) for b in m.group(2).split())
        if off + len(data) > EXTENDED_SIZE:
            raise PciError(f"hex dump line {n}: bytes at {off:#x}+{len(data)} run past the 4 KiB config space")
        if off in rows:
            raise PciError(f"hex dump line {n}: offset {off:#x} appears twice")
        rows[off] = data
    if not rows:
        raise PciError("hex dump: no rows of the form 'OFF: xx xx ...' found")
    size = max(o + len(d) for o, d in rows.items())
    buf = bytearray(size)
    known: list[tuple[int, int]] = []
    for off in sorted(rows):
        d = rows[off]
        if known and off < known[-1][1]:
            raise PciError(f"hex dump: row at {off:#x} overlaps the row before it")
        buf[off:off + len(d)] = d
        if known and known[-1][1] == off:
            known[-1] = (known[-1][0], off + len(d))
        else:
            known.append((off, off + len(d)))
    if not allow_gaps and known != [(0, size)]:
        first_gap = known[0][1] if known[0][0] == 0 else 0
        raise PciError(f"hex dump: rows are not consecutive from 0 (first missing byte {first_gap:#x})")
    return HexDump(bytes(buf), tuple(known))


@dataclass(frozen=True)
class LspciCap:
    offset: int
    extended: bool
    version: int | None
    text: str


@dataclass
class LspciDevice:
    bdf: str
    title: str
    caps: list[LspciCap] = field(default_factory=list)
    regions: dict[int, int | None] = field(default_factory=dict)  #: index -> size (None: not printed)
    caps_denied: bool = False
    dump: bytes | None = None


def parse_size(text: str) -> int | None:
    m = _SIZE.search(text)
    return int(m.group(1)) * _UNITS[m.group(2)] if m else None


def parse_listing(text: str) -> list[LspciDevice]:
    """Split a ``lspci -vvv [-xxxx]`` listing into devices."""
    devices: list[LspciDevice] = []
    cur: LspciDevice | None = None
    hex_lines: list[str] = []

    def finish() -> None:
        if cur is not None and hex_lines:
            cur.dump = parse_hex_dump("\n".join(hex_lines)).data

    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _DEV.match(line)
        if m and not line[0].isspace():
            finish()
            hex_lines = []
            cur = LspciDevice(m.group(1), m.group(2))
            devices.append(cur)
            continue
        if cur is None:
            continue  # warnings before the first device ("Unable to load libkmod resources")
        if _ROW.match(line):
            hex_lines.append(line)
            continue
        if "Capabilities: <access denied>" in line:
            cur.caps_denied = True
            continue
        m = _CAP.match(line)
        if m:
            try:
                off = int(m.group(1), 16)
            except ValueError:
                raise PciError(f"lspci listing line {n}: bad capability offset {m.group(1)!r}") from None
            ver = m.group(2)
            cur.caps.append(LspciCap(off, ver is not None, int(ver) if ver else None, m.group(3)))
            continue
        m = _REGION.match(line)
        if m:
            cur.regions[int(m.group(1))] = parse_size(m.group(4))
    finish()
    return devices
