"""nova_core.pci.lspci: reading ``lspci`` output: hex dumps (``-x``/``-xxx``/``-xxxx``) and ``-vvv`` listings.

Used two ways: to load public ``lspci -xxxx`` dumps as config-space fixtures, and to hold the parser
to ``lspci`` itself (pciutils is the peer the host's devices are compared with).

- :func:`parse_hex_dump`: rows ``OFF: b0 b1 ... b15`` (offset in hex, then up to 16 bytes) into
  bytes. A complete dump has consecutive rows from 0; ``allow_gaps=True`` accepts a dump whose
  publisher printed only some rows, and :attr:`HexDump.known` says which bytes are real;
- :func:`parse_listing`: a ``lspci -vvv [-xxxx]`` listing into one :class:`LspciDevice` per function
  (its capability lines ``[40]`` / ``[100 v1]``, its regions with sizes, and its dump if present);
- :func:`read_config_dump`: a config-space dump file (``nova pci --file``): ``lspci -x`` text, or the raw
  bytes of a sysfs ``config`` file - nothing else.

Every loop is bounded by the text, every number is checked; bad input raises
:class:`~nova_core.errors.PciError` naming the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import PciError
from ..files import InputFormat, read_input
from .facts import EXTENDED_SIZE, HEADER_SIZE, LEGACY_SIZE

#: a config-space dump file: at most 256 KiB. Raw bytes are at most 4 KiB (EXTENDED_SIZE); ``lspci -vvv -xxxx``
#: text of one function is about 20 KB (the 4 KiB as 256 rows of 54 characters, and the decoded listing).
CONFIG_DUMP_FILE = InputFormat("config-space dump", 256 << 10,
                               "about 12x an lspci -vvv -xxxx listing of one function", PciError)
#: the sizes a raw dump of sysfs ``config`` can have: 64 (an unprivileged read of a type 0 header; 128 for a
#: CardBus bridge: drivers/pci/pci-sysfs.c pci_read_config), 256 (conventional PCI), 4096 (PCI Express)
RAW_DUMP_SIZES = (HEADER_SIZE, 2 * HEADER_SIZE, LEGACY_SIZE, EXTENDED_SIZE)

_ROW = re.compile(r"^\s*([0-9a-fA-F]{1,3}):((?:\s+[0-9a-fA-F]{2}){1,16})\s*$")
_DEV = re.compile(r"^((?:[0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7])\s+(.*)$")
_CAP = re.compile(r"^\s+Capabilities:\s+\[([0-9a-fA-F]+)(?:\s+v(\d+))?\]\s*(.*)$")
_REGION = re.compile(r"^\s+Region (\d+): (Memory|I/O ports) at (\S+)(.*)$")
_SIZE = re.compile(r"\[size=(\d+)([KMGT]?)\]")
_TEXT = re.compile(rb"[\t\n\r\f\v\x20-\x7e]*")  #: printable ASCII and white space: a text file
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


def read_config_dump(path: str | Path) -> tuple[bytes, str]:
    """The config bytes of a dump file, and what it was (``"lspci hex dump"``/``"raw config"``).

    Text (printable ASCII) must be an ``lspci -x``-style hex dump with consecutive rows from 0; anything else
    is taken as the raw bytes of a sysfs ``config`` file and must have one of :data:`RAW_DUMP_SIZES`.

    Raises:
        PciError: not a regular file within :data:`CONFIG_DUMP_FILE`'s cap, text that is not a hex dump, a hex
            dump with missing rows, raw bytes of a size no config space has.
    """
    p = Path(path)
    raw = read_input(p, CONFIG_DUMP_FILE)
    if _TEXT.fullmatch(raw):
        text = raw.decode("ascii")
        try:
            dump = parse_hex_dump(text, allow_gaps=True)
        except PciError as e:
            raise PciError(f"{str(p)!r} is text but not an lspci -x hex dump: {e}") from None
        if dump.known[0] != (0, len(dump.data)):
            raise PciError(f"{str(p)!r}: the hex dump has missing rows (first gap at {dump.known[0][1]:#x})")
        return dump.data, "lspci hex dump"
    if len(raw) not in RAW_DUMP_SIZES:
        raise PciError(f"{str(p)!r}: {len(raw)} bytes of binary data is not a config-space dump (a raw dump of "
                       f"sysfs config has {', '.join(map(str, RAW_DUMP_SIZES))} bytes; text must be lspci -x rows)")
    return raw, "raw config"
