"""nova_core.sim.vbios_oracle: the simulated GPU's own, independent reading of FWSEC in a ROM.

The falcon model judges what the driver loaded for FWSEC against this oracle, so it must not share
the driver's code (:mod:`nova_core.vbios` is not imported) nor its shape. It follows OpenRM's algorithm
(``kernel_gsp_vbios_tu102.c`` / ``kernel_gsp_fwsec.c`` / ``kernel_gsp_frts_tu102.c``) in a few plain
functions over ``bytes``:

- the expansion ROM starts at offset 0, at an IFR ("NVGI") header's image offset, or at the first
  512-byte boundary with 55 AA and a PCIR;
- images are walked with OpenRM's NPDE rules; ``ext`` = offset of the first FwSec (0xE0) image after
  the first PCI-AT (0x00) image, minus that image's size (relative to the PCI-AT image);
- the BIT is the first "FF B8 BIT 00" with a zero header checksum anywhere from the PCI-AT image on;
  its FALCON_DATA v2 pointer plus ``ext`` is the falcon ucode table; the first FWSEC_PROD (0x85)
  entry's pointer plus ``ext`` is the descriptor;
- the expected patched image: DMEMMAPPER (interface id 4) ``init_cmd`` = the command, the command's
  arguments at ``cmd_in_buffer_offset``, and (descriptor v3) the signature for the fuse version at
  ``PKCDataOffset``; IMEM/DMEM split and BROM parameters as the descriptor says.

Malformed ROMs raise :class:`~nova_core.errors.RomError`; a ROM without FWSEC gives ``None``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..errors import RomError

_ROM_SIGS = (0xAA55, 0x4E56, 0xBB77)
_PCIR_SIGS = (b"PCIR", b"NPDS", b"RGIS")
_SCAN = 0x100000
FRTS = 0x15
SB = 0x19
_SIG_SIZE = 384


@dataclass(frozen=True)
class OracleFwsec:
    """Where FWSEC is in a ROM, and what its descriptor says."""

    desc_offset: int
    desc_version: int
    image_offset: int  #: ROM offset of the ucode
    ucode: bytes  #: StoredSize bytes from the ROM
    imem: tuple[int, int, int]  #: v3: (image offset, size, falcon address) of the (secure) IMEM load
    imem_ns: tuple[int, int, int] | None  #: v2: the non-secure part
    dmem: tuple[int, int, int]  #: (image offset, size, falcon address)
    interface_offset: int
    signatures: tuple[bytes, ...]
    signature_versions: int
    pkc_data_offset: int | None
    engine_id_mask: int | None
    ucode_id: int | None


@dataclass(frozen=True)
class OracleImage:
    """The bytes a correctly patched FWSEC must have, and the named regions the patch touched."""

    image: bytes
    fwsec: OracleFwsec
    regions: tuple[tuple[str, int, int], ...]  #: (name, DMEM offset, size)
    signature_index: int | None

    @property
    def imem(self) -> bytes:
        """IMEM as loaded (v2: non-secure then secure part; v3: the secure load)."""
        start = self.fwsec.imem_ns[0] if self.fwsec.imem_ns else self.fwsec.imem[0]
        off, size, _ = self.fwsec.imem
        return self.image[start:off + size]

    @property
    def dmem(self) -> bytes:
        off, size, _ = self.fwsec.dmem
        return self.image[off:off + size]

    def region_of(self, dmem_offset: int) -> str:
        for name, off, size in self.regions:
            if off <= dmem_offset < off + size:
                return name
        return "ucode data"


def _u(rom: bytes, fmt: str, off: int, what: str) -> tuple[int, ...]:
    size = struct.calcsize(fmt)
    if off < 0 or off + size > len(rom):
        raise RomError(f"vbios oracle: {what} at {off:#x} ({size} bytes) is outside the {len(rom):#x}-byte ROM")
    return struct.unpack_from(fmt, rom, off)


def _rom_start(rom: bytes) -> int:
    (sig,) = _u(rom, "<H", 0, "ROM signature")
    if sig in _ROM_SIGS:
        return 0
    if rom[:4] == b"NVGI":
        fixed1, fixed2 = _u(rom, "<II", 4, "IFR FIXED1/2")
        version = fixed1 >> 8 & 0xFF
        if version in (1, 2):
            return _u(rom, "<I", (fixed1 >> 16 & 0x7FFF) + 4, "IFR ROM address")[0]
        if version == 3:
            directory = _u(rom, "<I", fixed2 & 0xFFFFF, "IFR flash status")[0] + 4096
            if rom[directory:directory + 4] != b"RFRD":
                raise RomError(f"vbios oracle: no RFRD ROM directory at {directory:#x}")
            return _u(rom, "<I", directory + 8, "ROM directory")[0]
        raise RomError(f"vbios oracle: IFR version {version} is not 1, 2 or 3")
    for off in range(512, min(len(rom), _SCAN) - 0x1C, 512):
        if rom[off:off + 2] == b"\x55\xaa":
            pcir = off + _u(rom, "<H", off + 0x18, "PCIR pointer")[0]
            if rom[pcir:pcir + 4] in _PCIR_SIGS:
                return off
    raise RomError("vbios oracle: no PCI expansion ROM in the data")


def _images(rom: bytes, start: int) -> list[tuple[int, int, int]]:
    """(offset, size, code type) of each image, OpenRM's rules."""
    out = []
    off = start
    for _ in range(64):
        if off + 0x1A > len(rom) or rom[off:off + 2] == b"\xff\xff":
            break
        pcir = off + _u(rom, "<H", off + 0x18, "PCIR pointer")[0]
        if rom[pcir:pcir + 4] not in _PCIR_SIGS:
            raise RomError(f"vbios oracle: no PCIR at {pcir:#x} for the image at {off:#x}")
        length, = _u(rom, "<H", pcir + 0x0A, "PCIR length")
        image_len, = _u(rom, "<H", pcir + 0x10, "PCIR image length")
        code_type, last_byte = _u(rom, "<BB", pcir + 0x14, "PCIR code type")
        last = bool(last_byte & 0x80)
        blocks = image_len
        ext = (pcir + length + 0xF) & ~0xF
        if rom[ext:ext + 4] == b"NPDE":
            rev, ext_len, sub = _u(rom, "<HHH", ext + 4, "NPDE")
            if rev in (0x100, 0x101):
                blocks = sub
                if ext_len >= 0xB:
                    last = bool(_u(rom, "<B", ext + 0xA, "NPDE last image")[0] & 0x80)
                elif sub < image_len:
                    last = False
        if blocks == 0:
            raise RomError(f"vbios oracle: zero-length image at {off:#x}")
        out.append((off, blocks * 512, code_type))
        if last:
            break
        off += blocks * 512
    return out


def locate_fwsec(rom: bytes) -> OracleFwsec | None:
    """FWSEC_PROD of ``rom`` (``None`` when the ROM has none)."""
    images = _images(rom, _rom_start(rom))
    pci_at = next(((o, s) for o, s, t in images if t == 0x00), None)
    if pci_at is None:
        raise RomError("vbios oracle: no PCI-AT image")
    base, base_size = pci_at
    fwsec_after = [o for o, _, t in images if t == 0xE0 and o > base]
    if not fwsec_after:
        return None
    ext = fwsec_after[0] - base - base_size

    bit = rom.find(b"\xff\xb8BIT\x00", base)
    while bit >= 0 and (bit + 12 > len(rom) or sum(rom[bit:bit + rom[bit + 8]]) & 0xFF):
        bit = rom.find(b"\xff\xb8BIT\x00", bit + 1)
    if bit < 0:
        raise RomError("vbios oracle: no BIT with a valid checksum")
    header_size, token_size, count = _u(rom, "<BBB", bit + 8, "BIT header")
    table = None
    for i in range(count):
        tid, ver, size, ptr = _u(rom, "<BBHH", bit + header_size + i * token_size, "BIT token")
        if tid == 0x70 and ver == 2 and size >= 4:
            table = base + ext + _u(rom, "<I", base + ptr, "FALCON_DATA")[0]
            break
    if table is None:
        return None
    version, hsize, esize, entries = _u(rom, "<BBBB", table, "falcon ucode table")
    if version != 1 or hsize < 6 or esize < 6:
        raise RomError(f"vbios oracle: falcon ucode table at {table:#x}: version {version}, sizes {hsize}/{esize}")
    desc = None
    for i in range(entries):
        app, _target, ptr = _u(rom, "<BBI", table + hsize + i * esize, "falcon ucode table entry")
        if app == 0x85:
            desc = base + ext + ptr
            break
    if desc is None:
        return None
    return _descriptor(rom, desc)


def _descriptor(rom: bytes, desc: int) -> OracleFwsec:
    (hdr,) = _u(rom, "<I", desc, "ucode descriptor header")
    version, size = hdr >> 8 & 0xFF, hdr >> 16
    if not hdr & 1 or version not in (2, 3):
        raise RomError(f"vbios oracle: descriptor at {desc:#x}: header {hdr:#010x} is not a v2/v3 descriptor")
    image_offset = desc + size
    if version == 3:
        (_, stored, pkc, iface, imem_pa, imem_size, _imem_va, dmem_pa, dmem_size, engines, ucode_id, nsig, versions,
         _) = _u(rom, "<9IHBBHH", desc, "v3 descriptor")
        sigs = tuple(rom[desc + 44 + i * _SIG_SIZE:desc + 44 + (i + 1) * _SIG_SIZE] for i in range(nsig))
        if any(len(s) != _SIG_SIZE for s in sigs):
            raise RomError(f"vbios oracle: descriptor at {desc:#x}: signatures run past the ROM")
        imem = (0, imem_size, imem_pa)
        imem_ns = None
        dmem = (imem_size, dmem_size, dmem_pa)
        pkc_off: int | None = pkc
        engine_mask: int | None = engines
        uid: int | None = ucode_id
    else:
        (_, stored, _unc, _entry, iface, imem_pa, imem_size, imem_va, sec_base, sec_size, dmem_off, dmem_pa,
         dmem_size, _, _) = _u(rom, "<15I", desc, "v2 descriptor")
        sigs, versions = (), 0
        sec = sec_base - imem_va
        imem = (sec, sec_size, imem_pa + sec)
        imem_ns = (0, imem_size - sec_size, imem_pa)
        dmem = (dmem_off, dmem_size, dmem_pa)
        pkc_off = engine_mask = uid = None
    ucode = rom[image_offset:image_offset + stored]
    if len(ucode) != stored:
        raise RomError(f"vbios oracle: ucode at {image_offset:#x} ({stored:#x} bytes) runs past the ROM")
    return OracleFwsec(desc, version, image_offset, ucode, imem, imem_ns, dmem, iface, sigs, versions, pkc_off,
                       engine_mask, uid)


def expected_image(fw: OracleFwsec, command: int, *, frts_offset: int | None = None, frts_size: int = 0x100000,
                   fuse_version: int = 0) -> OracleImage:
    """What the ucode must hold after the driver patched it for ``command`` (FRTS 0x15 or SB 0x19)."""
    if command not in (FRTS, SB):
        raise RomError(f"vbios oracle: FWSEC command {command:#x} is neither FRTS (0x15) nor SB (0x19)")
    img = bytearray(fw.ucode)
    dmem_at, dmem_size, _ = fw.dmem
    dmem = bytes(img[dmem_at:dmem_at + dmem_size])
    version, hdr_size, entry_size, count = _u(dmem, "<4B", fw.interface_offset, "interface table (DMEM)")
    mapper = None
    for i in range(count):
        ident, off = _u(dmem, "<II", fw.interface_offset + hdr_size + i * entry_size, "interface entry (DMEM)")
        if ident == 4:
            mapper = off
            break
    if version != 1 or mapper is None:
        raise RomError(f"vbios oracle: no DMEMMAPPER in the interface table at DMEM {fw.interface_offset:#x}")
    (cmd_in,) = _u(dmem, "<I", mapper + 8, "DMEMMAPPER (DMEM)")
    _u(dmem, "<I", mapper + 0x2C, "DMEMMAPPER init_cmd (DMEM)")
    args = struct.pack("<IIQII", 1, 24, 0, 0, 2)
    if command == FRTS:
        if frts_offset is None:
            raise RomError("vbios oracle: the FRTS command needs an FRTS offset")
        args += struct.pack("<5I", 1, 20, frts_offset >> 12, frts_size >> 12, 2)
    patches = [("DMEMMAPPER init_cmd", mapper + 0x2C, struct.pack("<I", command)), ("command arguments", cmd_in, args)]
    index = None
    if fw.desc_version == 3:
        if not fw.signature_versions >> fuse_version & 1 or fw.pkc_data_offset is None:
            raise RomError(f"vbios oracle: no signature for fuse version {fuse_version} "
                           f"(versions {fw.signature_versions:#x})")
        index = bin(fw.signature_versions & ((1 << fuse_version) - 1)).count("1")
        patches.append((f"signature {index}", fw.pkc_data_offset, fw.signatures[index]))
    for name, off, data in patches:
        if off + len(data) > dmem_size:
            raise RomError(f"vbios oracle: {name} at DMEM {off:#x} runs past DMEM ({dmem_size:#x} bytes)")
        img[dmem_at + off:dmem_at + off + len(data)] = data
    regions = [(name, off, len(data)) for name, off, data in patches]
    return OracleImage(bytes(img), fw, tuple(regions), index)
