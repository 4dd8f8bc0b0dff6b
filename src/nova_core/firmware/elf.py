"""nova_core.firmware.elf: a small, strict, zero-copy ELF64 reader for GSP firmware images.

Only what the GSP files use: ELF64 little-endian (any ``e_type``/``e_machine``, RISC-V in practice),
the section table with names, the program headers, and section *data as views* of the file - a
``memoryview`` slice of an mmap, so a 38 MB ``.fwimage`` is never copied to be looked at. A section
holding another ELF (the TU10x ``.fwimage``) opens as an :class:`ElfFile` over that view, and its
errors report offsets in the outer file.

Why not pyelftools (measured by ``benchmarks/bench_firmware.py``): its ``Section.data()`` copies the
data out of a stream (17 ms for the 36 MB GA10x ``.fwimage``, where a view costs nothing), its header
parsing through construct is about 10x slower than this reader's, and its errors are
``ELFParseError``/``struct.error`` without the expected value. This reader checks every range up front
and raises ``FirmwareError`` with the offset and both values.

Checked on open (each a :class:`~nova_core.errors.FirmwareError`): magic, class (64-bit), data
encoding (little-endian), version, header sizes, the section and program header tables inside the
file, the name string table, every non-``NOBITS`` section's data inside the file, extended section
numbering (``e_shnum`` 0 / ``SHN_XINDEX``) bounded by the file size.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ..errors import FirmwareError
from . import facts as F
from .reader import Reader


@dataclass(frozen=True)
class ElfSection:
    """One section header, with its data as a view of the file (empty for ``NOBITS``)."""

    index: int
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    addralign: int
    entsize: int
    data: memoryview = field(repr=False, compare=False)

    @property
    def type_name(self) -> str:
        return F.SECTION_TYPE_NAMES.get(self.type, f"{self.type:#x}")

    @property
    def has_data(self) -> bool:
        return self.type not in (F.SHT_NOBITS, F.SHT_NULL)


@dataclass(frozen=True)
class ElfSegment:
    """One program header."""

    index: int
    type: int
    flags: int
    offset: int
    vaddr: int
    paddr: int
    filesz: int
    memsz: int
    align: int


class ElfFile:
    """An ELF64 little-endian file (or a view of one inside another file).

    Args:
        data: the bytes, typically a ``memoryview`` of an mmap (never copied).
        source: file name for messages.
        base: offset of ``data`` inside ``source`` (for a nested ELF).

    Raises:
        FirmwareError: anything malformed, with the offset in ``source`` and expected vs found.
    """

    def __init__(self, data: bytes | bytearray | memoryview, *, source: str = "<memory>", base: int = 0) -> None:
        r = Reader(data, source, base)
        self._r = r
        self.source = source
        self.base = base
        self.size = r.size
        if r.size < F.ELF64_EHDR.size:
            raise r.error("ELF header", 0, f"expected at least {F.ELF64_EHDR.size} bytes, found {r.size}")
        h = r.fields(F.ELF64_EHDR, F.ELF64_EHDR_FIELDS, 0, "ELF header")
        ident = bytes(r.view[0:16])
        if ident[:4] != F.ELF_MAGIC:
            raise r.error("ELF header e_ident magic", 0, f"expected {F.ELF_MAGIC!r}, found {ident[:4]!r}")
        if ident[4] != F.ELFCLASS64:
            raise r.error("ELF header e_ident EI_CLASS", 4,
                          f"expected {F.ELFCLASS64} (ELFCLASS64), found {ident[4]}")
        if ident[5] != F.ELFDATA2LSB:
            raise r.error("ELF header e_ident EI_DATA", 5,
                          f"expected {F.ELFDATA2LSB} (little-endian), found {ident[5]}")
        if ident[6] != F.EV_CURRENT or h["e_version"] != F.EV_CURRENT:
            raise r.error("ELF header version", 6,
                          f"expected {F.EV_CURRENT}, found {ident[6]} (e_ident) / {h['e_version']} (e_version)")
        if h["e_ehsize"] != F.ELF64_EHDR.size:
            raise r.error("ELF header e_ehsize", 0x34, f"expected {F.ELF64_EHDR.size:#x}, found {h['e_ehsize']:#x}")
        self.type: int = h["e_type"]
        self.machine: int = h["e_machine"]
        self.entry: int = h["e_entry"]
        self.flags: int = h["e_flags"]
        self.osabi = ident[7]
        self.sections: list[ElfSection] = self._read_sections(h)
        self.segments: list[ElfSegment] = self._read_segments(h)
        self._by_name: dict[str, ElfSection] = {}
        for s in self.sections:
            self._by_name.setdefault(s.name, s)

    # -- parsing --------------------------------------------------------------------------------

    def _read_sections(self, h: dict[str, int]) -> list[ElfSection]:
        r = self._r
        shoff, shnum, shstrndx = h["e_shoff"], h["e_shnum"], h["e_shstrndx"]
        if shoff == 0:
            if shnum:
                raise r.error("ELF header e_shoff", 0x28, f"0 with e_shnum {shnum}")
            return []
        if h["e_shentsize"] != F.ELF64_SHDR.size:
            raise r.error("ELF header e_shentsize", 0x3A,
                          f"expected {F.ELF64_SHDR.size:#x}, found {h['e_shentsize']:#x}")
        first = r.fields(F.ELF64_SHDR, F.ELF64_SHDR_FIELDS, shoff, "ELF section header 0")
        if shnum == 0:  # extended numbering: the count lives in section 0's sh_size
            shnum = first["sh_size"]
        if shstrndx == F.SHN_XINDEX:
            shstrndx = first["sh_link"]
        r.need(shoff, shnum * F.ELF64_SHDR.size, f"ELF section header table ({shnum} entries)")
        raw = [r.fields(F.ELF64_SHDR, F.ELF64_SHDR_FIELDS, shoff + i * F.ELF64_SHDR.size, f"ELF section header {i}")
               for i in range(shnum)]
        if shnum > 1 and not 0 < shstrndx < shnum:
            raise r.error("ELF header e_shstrndx", 0x3E, f"section {shstrndx} does not exist ({shnum} sections)")
        names = b""
        if shnum > 1:
            st = raw[shstrndx]
            if st["sh_type"] != F.SHT_STRTAB:
                raise r.error(f"ELF section header {shstrndx} (section names)", shoff + shstrndx * F.ELF64_SHDR.size,
                              f"sh_type expected {F.SHT_STRTAB} (STRTAB), found {st['sh_type']:#x}")
            names = bytes(r.slice(st["sh_offset"], st["sh_size"], "ELF section name table (.shstrtab)"))
        out: list[ElfSection] = []
        for i, s in enumerate(raw):
            name = self._name(names, s["sh_name"], i, shoff)
            if s["sh_type"] in (F.SHT_NOBITS, F.SHT_NULL):
                data = r.view[0:0]
            else:
                data = r.slice(s["sh_offset"], s["sh_size"], f"ELF section {i} {name!r} data")
            out.append(ElfSection(i, name, s["sh_type"], s["sh_flags"], s["sh_addr"], s["sh_offset"], s["sh_size"],
                                  s["sh_link"], s["sh_info"], s["sh_addralign"], s["sh_entsize"], data))
        return out

    def _name(self, names: bytes, offset: int, index: int, shoff: int) -> str:
        if not names:
            return ""
        where = shoff + index * F.ELF64_SHDR.size
        if offset >= len(names):
            raise self._r.error(f"ELF section header {index} sh_name", where,
                                f"name offset {offset:#x} outside the name table ({len(names):#x} bytes)")
        end = names.find(b"\0", offset)
        if end < 0:
            raise self._r.error(f"ELF section header {index} sh_name", where,
                                f"name at {offset:#x} has no NUL terminator in the name table")
        try:
            return names[offset:end].decode("ascii")
        except UnicodeDecodeError:
            raise self._r.error(f"ELF section header {index} sh_name", where,
                                f"name is not ASCII: {names[offset:end][:32]!r}") from None

    def _read_segments(self, h: dict[str, int]) -> list[ElfSegment]:
        r = self._r
        phoff, phnum = h["e_phoff"], h["e_phnum"]
        if phnum == 0:
            return []
        if h["e_phentsize"] != F.ELF64_PHDR.size:
            raise r.error("ELF header e_phentsize", 0x36,
                          f"expected {F.ELF64_PHDR.size:#x}, found {h['e_phentsize']:#x}")
        r.need(phoff, phnum * F.ELF64_PHDR.size, f"ELF program header table ({phnum} entries)")
        out = []
        for i in range(phnum):
            p = r.fields(F.ELF64_PHDR, F.ELF64_PHDR_FIELDS, phoff + i * F.ELF64_PHDR.size, f"ELF program header {i}")
            if p["p_filesz"]:
                r.need(p["p_offset"], p["p_filesz"], f"ELF program header {i} file data")
            if p["p_filesz"] > p["p_memsz"]:
                raise r.error(f"ELF program header {i}", phoff + i * F.ELF64_PHDR.size,
                              f"p_filesz {p['p_filesz']:#x} larger than p_memsz {p['p_memsz']:#x}")
            out.append(ElfSegment(i, p["p_type"], p["p_flags"], p["p_offset"], p["p_vaddr"], p["p_paddr"],
                                  p["p_filesz"], p["p_memsz"], p["p_align"]))
        return out

    # -- access ---------------------------------------------------------------------------------

    @staticmethod
    def is_elf(data: bytes | bytearray | memoryview) -> bool:
        """Whether ``data`` starts with the ELF magic."""
        return bytes(memoryview(data)[:4]) == F.ELF_MAGIC

    @property
    def section_names(self) -> list[str]:
        return [s.name for s in self.sections if s.index]

    def get(self, name: str) -> ElfSection | None:
        """The first section called ``name``, or ``None``."""
        return self._by_name.get(name)

    def section(self, name: str) -> ElfSection:
        """The section called ``name``; a ``FirmwareError`` listing the sections present otherwise."""
        s = self._by_name.get(name)
        if s is None:
            raise FirmwareError(f"{self.source}: ELF{' (nested at ' + hex(self.base) + ')' if self.base else ''} has "
                                f"no section {name!r}; sections present: {', '.join(self.section_names) or 'none'}")
        return s

    def section_file_offset(self, name: str) -> int:
        """Offset of the section's data in the outer file (``base`` + ``sh_offset``)."""
        return self.base + self.section(name).offset

    def nested(self, name: str) -> ElfFile:
        """The ELF held in section ``name`` (e.g. the TU10x ``.fwimage``)."""
        s = self.section(name)
        if not self.is_elf(s.data):
            raise FirmwareError(f"{self.source}: section {name!r} at {self.base + s.offset:#x} does not hold an ELF "
                                f"(starts {bytes(s.data[:4]).hex()}, expected {F.ELF_MAGIC.hex()})")
        return ElfFile(s.data, source=self.source, base=self.base + s.offset)

    def __iter__(self) -> Iterator[ElfSection]:
        return iter(self.sections)

    def __repr__(self) -> str:
        return (f"<ElfFile {self.source!r}{' @' + hex(self.base) if self.base else ''} type={self.type} "
                f"machine={self.machine} sections={len(self.sections)}>")
