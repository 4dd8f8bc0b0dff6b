"""nova_core.vbios.fwsec: the FWSEC ucode, validated, and patched into the image a falcon loads.

FWSEC is the heavy-secure ucode of the vBIOS that the driver runs on the GSP falcon: command FRTS
(0x15) carves out WPR2 and copies a verified VBIOS into the FRTS region at a given VRAM offset; command
SB (0x19) runs at unload. Before loading, the driver patches the ucode's DMEM (OpenRM
``s_vbiosPatchInterfaceData``; nouveau ``nvkm_gsp_fwsec_patch``; nova-core ``FwsecFirmware::new_fwsec``):

1. the application interface table at ``DMEM + InterfaceOffset`` (v1 header: version, header size,
   entry size, count; entries ``{u32 id, u32 dmemOffset}``) names the DMEMMAPPER (id 4);
2. DMEMMAPPER v3 at ``DMEM + dmemOffset``: ``init_cmd`` (+0x2C) gets the command, and the command's
   arguments are written at ``DMEM + cmd_in_buffer_offset``: READ_VBIOS (version 1, size 24, image
   offset 0, size 0, flags 2), then for FRTS the FRTS_REGION (version 1, size 20, offset >> 12,
   size >> 12, media 2 = FB);
3. v3 only: one RSA3K signature is copied to ``DMEM + PKCDataOffset``. The fuse version ``v`` (the
   falcon layer reads it from the fuses: highest set bit + 1) must have bit ``v`` set in
   ``SignatureVersions``; the signature index is the number of set bits below it (OpenRM
   ``s_executeFwsec_TU102``, nova-core). v2 ucodes (Turing, GA100) carry no signatures and are not
   signed by the driver.

Everything is validated up front (:meth:`FwsecUcode.parse`): interface version 1, header >= 4 and
entry >= 8 bytes, a DMEMMAPPER entry, the DMEMMAPPER's "DMAP" signature (every real ROM has it; no
driver checks it, but it is what tells a wrong DMEM offset from a right one), version 3, the command
buffer inside DMEM and large enough for the FRTS command. A table with fewer than two entries is
accepted with a warning: OpenRM refuses it ("too few interface entries", NVIDIA
open-gpu-kernel-modules #943) while nouveau and nova-core only need the DMEMMAPPER.

The result, :class:`FwsecImage`, is what the falcon layer loads:

- ``image``: the patched ucode (``StoredSize`` bytes: IMEM then DMEM, as in the ROM); the falcon layer
  pads it to its 256-byte DMA granule with zeros (nova-core does; OpenRM copies ROM bytes instead);
- ``imem_sec`` / ``imem_ns`` / ``dmem``: :class:`LoadSegment` (``src`` offset in ``image``, ``dst``
  falcon address, ``size``, ``secure``, ``tag``). v3: one secure IMEM segment at IMEMPhysBase and DMEM
  from ``image[IMEMLoadSize:]``. v2 (generic bootloader path): the non-secure part
  ``[0, IMEMLoadSize - IMEMSecSize)`` and the secure part from ``IMEMSecBase - IMEMVirtBase``, both at
  ``IMEMPhysBase`` + their offset, and DMEM from ``image[DMEMOffset:]`` - what the bootloader's
  ``BootloaderDmemDescV2`` describes (it needs DMEM destination 0, which every real ROM has);
- ``boot_vector``: v3: 0, as nouveau and nova-core boot FWSEC (IMEMVirtBase, 0 in every real ROM);
  v2: VirtualEntry, the bootloader's ``code_entry_point`` (the falcon boots the bootloader itself at
  its ``start_tag << 8``);
- ``brom`` (v3): :class:`BromParams` ``(pkc_data_offset, engine_id_mask, ucode_id)`` for
  ``NV_PFALCON2_FALCON_BROM_PARAADDR(0)``/``ENGIDMASK``/``CURR_UCODE_ID``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from ..errors import NovaError, RomError
from ..firmware.hs import BromParams, LoadSegment
from . import facts as F
from .reader import RomReader
from .ucode import ExpansionRom, UcodeDesc, UcodeTableEntry, parse_desc


@dataclass(frozen=True)
class AppInterface:
    """The application interface table (in DMEM)."""

    dmem_offset: int
    version: int
    header_size: int
    entry_size: int
    entries: tuple[tuple[int, int], ...]  #: (id, dmem offset)

    def as_json(self) -> dict[str, Any]:
        return {"dmem_offset": self.dmem_offset, "version": self.version, "header_size": self.header_size,
                "entry_size": self.entry_size, "entries": [{"id": i, "dmem_offset": o} for i, o in self.entries]}


@dataclass(frozen=True)
class DmemMapper:
    """DMEMMAPPER v3 (in DMEM)."""

    dmem_offset: int
    fields: dict[str, int]

    @property
    def cmd_in_buffer_offset(self) -> int:
        return self.fields["cmd_in_buffer_offset"]

    @property
    def cmd_in_buffer_size(self) -> int:
        return self.fields["cmd_in_buffer_size"]

    @property
    def init_cmd(self) -> int:
        return self.fields["init_cmd"]

    def as_json(self) -> dict[str, Any]:
        return {"dmem_offset": self.dmem_offset, **self.fields}


@dataclass(frozen=True)
class Patch:
    """One region of DMEM the patch wrote."""

    what: str
    dmem_offset: int
    size: int

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class FwsecImage:
    """A patched FWSEC ucode, ready for a falcon (see the module docstring)."""

    command: F.FwsecCommand
    frts_offset: int | None
    frts_size: int | None
    desc_version: int
    image: bytes
    imem_sec: LoadSegment
    imem_ns: LoadSegment | None
    dmem: LoadSegment
    boot_vector: int
    brom: BromParams | None
    signature_index: int | None
    fused_version: int | None
    patches: tuple[Patch, ...]

    def segment_bytes(self, seg: LoadSegment) -> bytes:
        return self.image[seg.src:seg.src + seg.size]

    @property
    def dmem_bytes(self) -> bytes:
        return self.segment_bytes(self.dmem)

    @property
    def imem_bytes(self) -> bytes:
        """All IMEM code (non-secure then secure part), as loaded from image offset 0."""
        start = self.imem_ns.src if self.imem_ns is not None else self.imem_sec.src
        return self.image[start:self.imem_sec.src + self.imem_sec.size]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.image).hexdigest()

    def as_json(self) -> dict[str, Any]:
        return {
            "command": self.command.name, "command_id": int(self.command), "frts_offset": self.frts_offset,
            "frts_size": self.frts_size, "desc_version": self.desc_version, "image_bytes": len(self.image),
            "sha256": self.sha256, "imem_sec": self.imem_sec.as_json(),
            "imem_ns": None if self.imem_ns is None else self.imem_ns.as_json(), "dmem": self.dmem.as_json(),
            "boot_vector": self.boot_vector, "brom": None if self.brom is None else self.brom.as_json(),
            "signature_index": self.signature_index, "fused_version": self.fused_version,
            "patches": [p.as_json() for p in self.patches],
        }


class FwsecUcode:
    """The FWSEC ucode of a vBIOS: descriptor, signatures, image and interface, validated.

    Build it with :meth:`parse` (the :class:`~nova_core.vbios.Vbios` parse does); make the image a
    falcon loads with :meth:`patch`.
    """

    def __init__(self, *, app_id: int, desc: UcodeDesc, image: bytes, signatures: tuple[bytes, ...],
                 interface: AppInterface, dmemmapper: DmemMapper, fwsec_image: int, position: str,
                 source: str, warnings: list[str]) -> None:
        self.app_id = app_id
        self.desc = desc
        self.image = image
        self.signatures = signatures
        self.interface = interface
        self.dmemmapper = dmemmapper
        self.fwsec_image = fwsec_image
        self.position = position
        self.source = source
        self.warnings = warnings

    # -- parse ------------------------------------------------------------------------------------

    @classmethod
    def parse(cls, r: RomReader, exp: ExpansionRom, entry: UcodeTableEntry) -> FwsecUcode:
        what = f"FWSEC (application {entry.app_id:#04x}) descriptor"
        offset, image = exp.locate(r, entry.desc_ptr, what)
        desc = parse_desc(r, exp, image, offset, what)
        warnings: list[str] = []
        stored = desc.stored_size
        exp.need(r, image, desc.image_offset, stored, f"FWSEC ucode image (StoredSize {stored:#x})")
        signatures: tuple[bytes, ...] = ()
        if desc.version == 3:
            signatures = cls._signatures(r, desc)
            if desc.imem_load_size + desc.dmem_load_size > stored:
                raise r.error(what, offset, f"IMEMLoadSize {desc.imem_load_size:#x} + DMEMLoadSize "
                                            f"{desc.dmem_load_size:#x} exceed StoredSize {stored:#x}")
            pkc = desc.fields["pkc_data_offset"]
            if pkc + F.RSA3K_SIGNATURE_SIZE > desc.dmem_load_size:
                raise r.error(what, offset, f"PKCDataOffset {pkc:#x} + {F.RSA3K_SIGNATURE_SIZE} signature bytes run "
                                            f"past DMEMLoadSize {desc.dmem_load_size:#x}")
        else:
            f = desc.fields
            if f["uncompressed_size"] != stored:
                raise r.error(what, offset, f"UncompressedSize {f['uncompressed_size']:#x} differs from StoredSize "
                                            f"{stored:#x}: compressed ucode is not supported")
            sec_start = f["imem_sec_base"] - f["imem_virt_base"]
            if f["imem_load_size"] > stored or f["imem_sec_size"] > f["imem_load_size"] or sec_start < 0 \
                    or sec_start + f["imem_sec_size"] > f["imem_load_size"]:
                raise r.error(what, offset, f"IMEM layout inconsistent: IMEMLoadSize {f['imem_load_size']:#x}, "
                                            f"IMEMSecBase {f['imem_sec_base']:#x} - IMEMVirtBase "
                                            f"{f['imem_virt_base']:#x}, IMEMSecSize {f['imem_sec_size']:#x}, "
                                            f"StoredSize {stored:#x}")
            if f["dmem_offset"] + f["dmem_load_size"] > stored:
                raise r.error(what, offset, f"DMEMOffset {f['dmem_offset']:#x} + DMEMLoadSize "
                                            f"{f['dmem_load_size']:#x} exceed StoredSize {stored:#x}")
        data = r.read(desc.image_offset, stored, "FWSEC ucode image")
        r.claim(desc.offset, desc.size, f"FWSEC descriptor v{desc.version}"
                                        + (f" + {len(signatures)} signatures" if signatures else ""))
        r.claim(desc.image_offset, desc.dmem_offset, "FWSEC IMEM")
        dmem_rom = desc.image_offset + desc.dmem_offset
        r.claim(dmem_rom, desc.dmem_load_size, "FWSEC DMEM")
        interface, dmemmapper = cls._interface(r, desc, warnings)
        return cls(app_id=entry.app_id, desc=desc, image=data, signatures=signatures, interface=interface,
                   dmemmapper=dmemmapper, fwsec_image=image.index, position=exp.position(image),
                   source=r.source.name, warnings=warnings)

    @staticmethod
    def _signatures(r: RomReader, desc: UcodeDesc) -> tuple[bytes, ...]:
        count = desc.fields["signature_count"]
        versions = desc.fields["signature_versions"]
        room = desc.size - F.UCODE_DESC_V3_SIZE
        if count == 0:
            raise r.error("FWSEC descriptor", desc.offset, "SignatureCount 0: an HS ucode needs a signature")
        if count * F.RSA3K_SIGNATURE_SIZE > room:
            raise r.error("FWSEC descriptor", desc.offset,
                          f"SignatureCount {count} x {F.RSA3K_SIGNATURE_SIZE} bytes exceed the {room} bytes between "
                          f"the 44-byte descriptor and its size {desc.size:#x}")
        if versions.bit_count() != count:
            raise r.error("FWSEC descriptor", desc.offset,
                          f"SignatureVersions {versions:#06x} has {versions.bit_count()} bits set, expected one per "
                          f"signature (SignatureCount {count})")
        base = desc.offset + F.UCODE_DESC_V3_SIZE
        return tuple(r.read(base + i * F.RSA3K_SIGNATURE_SIZE, F.RSA3K_SIGNATURE_SIZE, f"FWSEC signature {i}")
                     for i in range(count))

    @staticmethod
    def _interface(r: RomReader, desc: UcodeDesc, warnings: list[str]) -> tuple[AppInterface, DmemMapper]:
        dmem_rom = desc.image_offset + desc.dmem_offset
        dmem_size = desc.dmem_load_size

        def at(dmem_off: int, size: int, what: str) -> int:
            if dmem_off < 0 or dmem_off + size > dmem_size:
                raise r.error(what, dmem_rom + max(dmem_off, 0),
                              f"DMEM offset {dmem_off:#x} + {size:#x} bytes runs past DMEMLoadSize {dmem_size:#x}")
            return dmem_rom + dmem_off

        io = desc.interface_offset
        hdr = r.fields(F.APPIF_HEADER, F.APPIF_HEADER_FIELDS,
                       at(io, F.APPIF_HEADER.size, "FWSEC application interface header"),
                       "FWSEC application interface header")
        where = dmem_rom + io
        if hdr["version"] != F.APPIF_VERSION:
            raise r.error("FWSEC application interface header", where,
                          f"version expected {F.APPIF_VERSION}, found {hdr['version']} (InterfaceOffset {io:#x})")
        if hdr["header_size"] < F.APPIF_HEADER.size or hdr["entry_size"] < F.APPIF_ENTRY.size:
            raise r.error("FWSEC application interface header", where,
                          f"header size {hdr['header_size']} / entry size {hdr['entry_size']} are smaller than "
                          f"{F.APPIF_HEADER.size} / {F.APPIF_ENTRY.size}")
        count = hdr["entry_count"]
        if count == 0:
            raise r.error("FWSEC application interface header", where, "no entries: the DMEMMAPPER is missing")
        if count < F.APPIF_OPENRM_MIN_ENTRIES:
            warnings.append(f"FWSEC application interface at DMEM {io:#x} has {count} entry; OpenRM refuses fewer than "
                            f"{F.APPIF_OPENRM_MIN_ENTRIES} ('too few interface entries', open-gpu-kernel-modules #943)")
        table_size = hdr["header_size"] + count * hdr["entry_size"]
        at(io, table_size, "FWSEC application interface table")
        entries = tuple(
            r.unpack(F.APPIF_ENTRY, dmem_rom + io + hdr["header_size"] + i * hdr["entry_size"],
                     f"FWSEC application interface entry {i}")
            for i in range(count))
        r.claim(where, table_size, "FWSEC application interface table")
        interface = AppInterface(io, hdr["version"], hdr["header_size"], hdr["entry_size"],
                                 tuple((int(i), int(o)) for i, o in entries))
        mapper_off = next((o for i, o in interface.entries if i == F.APPIF_ID_DMEMMAPPER), None)
        if mapper_off is None:
            raise r.error("FWSEC application interface table", where,
                          f"no DMEMMAPPER entry (id {F.APPIF_ID_DMEMMAPPER}); ids present: "
                          f"{', '.join(f'{i:#x}' for i, _ in interface.entries)}")
        m = r.fields(F.DMEMMAPPER_V3, F.DMEMMAPPER_V3_FIELDS,
                     at(mapper_off, F.DMEMMAPPER_V3_SIZE, "FWSEC DMEMMAPPER"), "FWSEC DMEMMAPPER")
        mwhere = dmem_rom + mapper_off
        sig = int(m["signature"]).to_bytes(4, "little")
        if sig != F.DMEMMAPPER_SIGNATURE:
            raise r.error("FWSEC DMEMMAPPER", mwhere, f"signature expected {F.DMEMMAPPER_SIGNATURE!r}, found {sig!r} "
                                                      f"(DMEM offset {mapper_off:#x} from the interface table)")
        if m["version"] != F.DMEMMAPPER_VERSION:
            raise r.error("FWSEC DMEMMAPPER", mwhere, f"version expected {F.DMEMMAPPER_VERSION}, found {m['version']}")
        if m["size"] < F.DMEMMAPPER_V3_SIZE:
            raise r.error("FWSEC DMEMMAPPER", mwhere, f"size {m['size']:#x} is smaller than {F.DMEMMAPPER_V3_SIZE:#x}")
        at(m["cmd_in_buffer_offset"], m["cmd_in_buffer_size"], "FWSEC DMEMMAPPER command buffer")
        if m["cmd_in_buffer_size"] < F.FRTS_CMD_SIZE:
            raise r.error("FWSEC DMEMMAPPER", mwhere, f"cmd_in_buffer_size {m['cmd_in_buffer_size']:#x} is smaller "
                                                      f"than the {F.FRTS_CMD_SIZE}-byte FRTS command")
        r.claim(mwhere, F.DMEMMAPPER_V3_SIZE, "FWSEC DMEMMAPPER v3")
        return interface, DmemMapper(mapper_off, {k: int(v) for k, v in m.items()})

    # -- description ------------------------------------------------------------------------------

    @property
    def signature_versions(self) -> list[int]:
        """Fuse versions this ucode carries a signature for."""
        v = self.desc.get("signature_versions") or 0
        return [i for i in range(16) if v >> i & 1]

    def signature_index(self, fuse_version: int) -> int:
        """Index of the signature for ``fuse_version`` (OpenRM/nova-core rule; see the module docstring)."""
        versions = self.desc.get("signature_versions")
        if versions is None:
            raise NovaError(f"{self.source}: FWSEC descriptor v{self.desc.version} carries no signatures")
        if not 0 <= fuse_version <= F.MAX_FUSE_VERSION:
            raise NovaError(f"fuse version {fuse_version} is out of range 0..{F.MAX_FUSE_VERSION}")
        if not versions >> fuse_version & 1:
            raise RomError(f"{self.source}: FWSEC descriptor at {self.desc.offset:#x}: no signature for fuse version "
                           f"{fuse_version}: SignatureVersions {versions:#06x} covers fuse versions "
                           f"{', '.join(map(str, self.signature_versions))}")
        return (versions & ((1 << fuse_version) - 1)).bit_count()

    def as_json(self) -> dict[str, Any]:
        d = self.desc
        return {
            "app_id": self.app_id, "desc_offset": d.offset, "desc_version": d.version, "desc_size": d.size,
            "image_offset": d.image_offset, "fwsec_image": self.fwsec_image, "position": self.position,
            "stored_size": d.stored_size, "imem_load_size": d.imem_load_size, "dmem_load_size": d.dmem_load_size,
            "dmem_offset": d.dmem_offset, "interface_offset": d.interface_offset,
            "signature_count": len(self.signatures) if d.version == 3 else 0,
            "signature_versions": d.get("signature_versions"), "ucode_id": d.get("ucode_id"),
            "engine_id_mask": d.get("engine_id_mask"), "pkc_data_offset": d.get("pkc_data_offset"),
            "encrypted": d.encrypted, "descriptor": d.as_json(), "interface": self.interface.as_json(),
            "dmemmapper": self.dmemmapper.as_json(),
        }

    # -- patch ------------------------------------------------------------------------------------

    def patch(self, command: F.FwsecCommand | int, *, frts_offset: int | None = None,
              frts_size: int = F.FRTS_SIZE_DEFAULT, fuse_version: int | None = None) -> FwsecImage:
        """The image for ``command``: DMEMMAPPER and arguments patched, v3 signature chosen and placed.

        Args:
            command: :class:`~nova_core.vbios.facts.FwsecCommand` FRTS or SB.
            frts_offset: FRTS: VRAM offset of the FRTS region (4 KiB aligned, non-zero); SB: ``None``.
            frts_size: FRTS: region size (4 KiB aligned; OpenRM always uses 1 MiB).
            fuse_version: v3: the fused ucode version of ``ucode_id`` (the falcon layer reads it); v2: ignored.
        """
        try:
            cmd = F.FwsecCommand(command)
        except ValueError:
            raise NovaError(f"FWSEC command {command!r} is not one of "
                            f"{', '.join(f'{c.name} ({c.value:#x})' for c in F.FwsecCommand)}") from None
        d = self.desc
        if d.encrypted:
            raise RomError(f"{self.source}: FWSEC descriptor at {d.offset:#x} marks the ucode encrypted; its DMEM "
                           f"cannot be patched")
        args = F.READ_VBIOS_DESC.pack(F.READ_VBIOS_DESC_VERSION, F.READ_VBIOS_DESC.size, 0, 0, F.READ_VBIOS_FLAGS)
        if cmd is F.FwsecCommand.FRTS:
            args += self._frts_region(frts_offset, frts_size)
        elif frts_offset is not None:
            raise NovaError("an FRTS offset applies to the FRTS command only, not to SB")
        m = self.dmemmapper
        if m.cmd_in_buffer_size < len(args):
            raise RomError(f"{self.source}: FWSEC DMEMMAPPER: cmd_in_buffer_size {m.cmd_in_buffer_size:#x} is "
                           f"smaller than the {len(args)}-byte {cmd.name} command")
        img = bytearray(self.image)
        base = d.dmem_offset
        patches = [Patch("DMEMMAPPER init_cmd", m.dmem_offset + F.DMEMMAPPER_INIT_CMD_OFFSET, 4),
                   Patch(f"{cmd.name} command arguments", m.cmd_in_buffer_offset, len(args))]
        img[base + patches[0].dmem_offset:base + patches[0].dmem_offset + 4] = int(cmd).to_bytes(4, "little")
        img[base + m.cmd_in_buffer_offset:base + m.cmd_in_buffer_offset + len(args)] = args
        sig_index: int | None = None
        brom: BromParams | None = None
        if d.version == 3:
            if fuse_version is None:
                raise NovaError(f"{self.source}: the v3 FWSEC needs the fused ucode version of ucode id "
                                f"{d.fields['ucode_id']} to choose a signature (it carries signatures for fuse "
                                f"versions {', '.join(map(str, self.signature_versions))})")
            sig_index = self.signature_index(fuse_version)
            pkc = d.fields["pkc_data_offset"]
            img[base + pkc:base + pkc + F.RSA3K_SIGNATURE_SIZE] = self.signatures[sig_index]
            patches.append(Patch(f"RSA3K signature {sig_index}", pkc, F.RSA3K_SIGNATURE_SIZE))
            brom = BromParams(pkc, d.fields["engine_id_mask"], d.fields["ucode_id"])
            imem_sec = LoadSegment(0, d.fields["imem_phys_base"], d.imem_load_size, True, d.fields["imem_virt_base"])
            imem_ns = None
            boot_vector = 0
        else:
            f = d.fields
            sec_start = f["imem_sec_base"] - f["imem_virt_base"]
            imem_ns = LoadSegment(0, f["imem_phys_base"], f["imem_load_size"] - f["imem_sec_size"], False,
                                  f["imem_virt_base"])
            imem_sec = LoadSegment(sec_start, f["imem_phys_base"] + sec_start, f["imem_sec_size"], True,
                                   f["imem_sec_base"])
            boot_vector = f["virtual_entry"]
            fuse_version = None
        dmem = LoadSegment(d.dmem_offset, d.fields["dmem_phys_base"], d.dmem_load_size, False)
        return FwsecImage(cmd, frts_offset if cmd is F.FwsecCommand.FRTS else None,
                          frts_size if cmd is F.FwsecCommand.FRTS else None, d.version, bytes(img), imem_sec, imem_ns,
                          dmem, boot_vector, brom, sig_index, fuse_version, tuple(patches))

    @staticmethod
    def _frts_region(frts_offset: int | None, frts_size: int) -> bytes:
        unit = 1 << F.FRTS_REGION_SHIFT
        if frts_offset is None:
            raise NovaError("the FRTS command needs the FRTS region's VRAM offset")
        for name, value in (("FRTS offset", frts_offset), ("FRTS size", frts_size)):
            if value <= 0 or value % unit or (value >> F.FRTS_REGION_SHIFT) > 0xFFFFFFFF:
                raise NovaError(f"{name} {value:#x} must be a non-zero multiple of 4 KiB below 16 TiB")
        return F.FRTS_REGION_DESC.pack(F.FRTS_REGION_DESC_VERSION, F.FRTS_REGION_DESC.size,
                                       frts_offset >> F.FRTS_REGION_SHIFT, frts_size >> F.FRTS_REGION_SHIFT,
                                       F.FRTS_REGION_MEDIA_FB)
