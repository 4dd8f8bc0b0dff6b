"""nova_core.firmware.booter: the HS booter (``booter_load``/``booter_unload``) that SEC2 runs.

File layout (offsets are file offsets; nouveau ``nvkm_falcon_fw_ctor_hs_v2``, nova-core
``firmware/booter.rs``, OpenRM ``s_allocateUcodeFromBinArchive``)::

    nvfw_bin_hdr @0         -> header_offset, payload [data_offset, +data_size)
    nvfw_hs_header_v2       -> signatures [sig_prod_offset, +sig_prod_size), and *pointers* to
                               patch_loc (u32), patch_sig (u32), signature params (3 x u32), num_sig (u32),
                               the load header [header_offset, +header_size)
    nvfw_hs_load_header_v2  -> os code / os data / app 0 code (/ app 0 data) ranges of the payload

Signature selection (the fused version is the falcon layer's to read; it is a parameter here):
nova-core's rule - fused version 0 takes the *last* signature, otherwise index = ``fuse_ver`` (from
the signature params) - fused version. OpenRM's ``s_patchBooterUcodeSignature`` says, for more than
one signature, index = ``num_sig - 1 - fused`` and refuses ``fused > num_sig - 1``; with one signature
it always takes index 0. The two agree whenever ``fuse_ver == num_sig - 1``, which holds for every
linux-firmware booter (checked by the tests); where they differ (a single signature and a non-zero
fused version, or ``fuse_ver != num_sig - 1``), this module refuses rather than guess.

Loading (:meth:`BooterFirmware.load_layout`): on the TU102 falcon HAL (Turing, GA100) the non-secure
os code goes to IMEM at ``os_code_offset``, app 0 to secure IMEM at its own offset, and the boot vector
is the os code; on GA102+ app 0 goes to secure IMEM at 0 (tagged with its offset), the boot vector is
app 0's offset and the BROM gets (PKC signature DMEM offset, engine mask, ucode id). DMEM gets the
os data at 0 on both, and the signature sits at DMEM ``patch_loc - os_data_offset``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import FirmwareError
from ..gpu.chips import FalconHal
from . import facts as F
from .hs import BromParams, LoadSegment
from .nvfw import BinFile, read_firmware_file


@dataclass(frozen=True)
class HsHeaderV2:
    """``nvfw_hs_header_v2`` (9 x u32, file offsets)."""

    sig_prod_offset: int
    sig_prod_size: int
    patch_loc: int
    patch_sig: int
    meta_data_offset: int
    meta_data_size: int
    num_sig: int
    header_offset: int
    header_size: int


@dataclass(frozen=True)
class HsRange:
    """An ``{offset, size}`` range of the payload."""

    offset: int
    size: int

    @property
    def end(self) -> int:
        return self.offset + self.size


@dataclass(frozen=True)
class HsLoadHeaderV2:
    """``nvfw_hs_load_header_v2`` with its one app (OpenRM: ``appCode``/``appData``)."""

    os_code: HsRange
    os_data: HsRange
    num_apps: int
    app_code: HsRange
    app_data: HsRange | None


@dataclass(frozen=True)
class HsSignatureParams:
    """The signature parameters (nouveau ``meta``, OpenRM ``patchMeta``)."""

    fuse_ver: int
    engine_id_mask: int
    ucode_id: int


@dataclass(frozen=True)
class HsLoadLayout:
    """An HS ucode ready for a falcon: the patched image and where each part of it goes."""

    image: bytes  #: the payload with the chosen signature patched in
    imem_sec: LoadSegment
    imem_ns: LoadSegment | None  #: TU102 HAL only: the non-secure os code
    dmem: LoadSegment
    boot_vector: int
    brom: BromParams | None  #: GA102 HAL only
    signature_index: int
    fused_version: int

    def segment_bytes(self, seg: LoadSegment) -> bytes:
        return self.image[seg.src:seg.src + seg.size]

    def as_json(self) -> dict[str, Any]:
        return {
            "image_bytes": len(self.image),
            "imem_sec": self.imem_sec.as_json(),
            "imem_ns": None if self.imem_ns is None else self.imem_ns.as_json(),
            "dmem": self.dmem.as_json(),
            "boot_vector": self.boot_vector,
            "brom": None if self.brom is None else self.brom.as_json(),
            "signature_index": self.signature_index,
            "fused_version": self.fused_version,
        }


def fused_version_from_fuse(value: int) -> int:
    """The fused ucode version from a ``NV_FUSE_OPT_FPF_*_UCODE*_VERSION`` value: highest set bit + 1 (0: none).

    nouveau ``BIT(fls(x))``, nova-core ``BITS - leading_zeros``; the register's 15:0 are significant.
    """
    return (value & ((1 << F.FUSE_VERSION_BITS) - 1)).bit_length()


class BooterFirmware:
    """A parsed ``booter_load``/``booter_unload`` file.

    Args:
        data: the file's bytes.
        source: its name for messages.

    Raises:
        FirmwareError: any header, pointer or range outside the file or payload, a wrong magic, no
            signatures, a signature block that does not divide evenly, ``patch_sig`` non-zero, not
            exactly one app, a signature patch location outside the os data.
    """

    def __init__(self, data: bytes | bytearray | memoryview, source: str = "<booter>") -> None:
        self.bin = b = BinFile(data, source)
        r = b.reader
        self.source = source
        hdr_off = b.header.header_offset
        self.hs = hs = HsHeaderV2(**r.fields(F.HS_HEADER_V2, F.HS_HEADER_V2_FIELDS, hdr_off, "nvfw_hs_header_v2"))
        self.patch_loc = r.u32(hs.patch_loc, "nvfw_hs_header_v2.patch_loc value")
        self.patch_sig = r.u32(hs.patch_sig, "nvfw_hs_header_v2.patch_sig value")
        if self.patch_sig != 0:
            raise r.error("nvfw_hs_header_v2.patch_sig value", hs.patch_sig,
                          f"expected 0 (OpenRM refuses any other), found {self.patch_sig:#x}")
        r.expect("nvfw_hs_header_v2.meta_data_size", hdr_off + 0x14, hs.meta_data_size, F.HS_SIGNATURE_PARAMS.size)
        self.meta = HsSignatureParams(**r.fields(F.HS_SIGNATURE_PARAMS, F.HS_SIGNATURE_PARAMS_FIELDS,
                                                 hs.meta_data_offset, "HS signature params (meta)"))
        self.num_sig = r.u32(hs.num_sig, "nvfw_hs_header_v2.num_sig value")
        if not 1 <= self.num_sig <= F.MAX_HS_SIGNATURES:
            raise r.error("nvfw_hs_header_v2.num_sig value", hs.num_sig,
                          f"expected 1 to {F.MAX_HS_SIGNATURES} signatures (one per fused version 0..16 a chip can "
                          f"report), found {self.num_sig:#x}")
        if hs.sig_prod_size == 0 or hs.sig_prod_size % self.num_sig:
            raise r.error("nvfw_hs_header_v2.sig_prod_size", hdr_off + 4,
                          f"{hs.sig_prod_size:#x} bytes do not divide into {self.num_sig} signatures")
        self.sig_size = hs.sig_prod_size // self.num_sig
        sigs = r.slice(hs.sig_prod_offset, hs.sig_prod_size, "HS production signatures")
        self.signatures = tuple(sigs[i * self.sig_size:(i + 1) * self.sig_size] for i in range(self.num_sig))
        self.load = self._load_header()
        self._check_ranges()

    @classmethod
    def open(cls, path: str | Path) -> BooterFirmware:
        return cls(read_firmware_file(path), str(path))

    def _load_header(self) -> HsLoadHeaderV2:
        r, hs = self.bin.reader, self.hs
        base = F.HS_LOAD_HEADER_V2.size + F.HS_LOAD_APP.size
        if hs.header_size < base:
            raise r.error("nvfw_hs_header_v2.header_size", self.bin.header.header_offset + 0x20,
                          f"expected at least {base:#x} (load header with one app), found {hs.header_size:#x}")
        r.need(hs.header_offset, hs.header_size, "nvfw_hs_load_header_v2")
        h = r.fields(F.HS_LOAD_HEADER_V2, F.HS_LOAD_HEADER_V2_FIELDS, hs.header_offset, "nvfw_hs_load_header_v2")
        if h["num_apps"] != 1:
            raise r.error("nvfw_hs_load_header_v2.num_apps", hs.header_offset + 0x10,
                          f"expected 1 (OpenRM loads exactly one app), found {h['num_apps']}")
        app_off = hs.header_offset + F.HS_LOAD_HEADER_V2.size
        code = HsRange(*r.unpack(F.HS_LOAD_APP, app_off, "nvfw_hs_load_header_v2 app 0 code"))
        data = None
        if hs.header_size >= base + F.HS_LOAD_APP.size:
            data = HsRange(*r.unpack(F.HS_LOAD_APP, app_off + F.HS_LOAD_APP.size, "nvfw_hs_load_header_v2 app 0 data"))
        return HsLoadHeaderV2(HsRange(h["os_code_offset"], h["os_code_size"]),
                              HsRange(h["os_data_offset"], h["os_data_size"]), h["num_apps"], code, data)

    def _check_ranges(self) -> None:
        b, ld = self.bin, self.load
        b.payload_range(ld.os_code.offset, ld.os_code.size, "HS load header os code")
        b.payload_range(ld.os_data.offset, ld.os_data.size, "HS load header os data")
        b.payload_range(ld.app_code.offset, ld.app_code.size, "HS load header app 0 code")
        if ld.app_code.size == 0:
            raise b.reader.error("HS load header app 0 code", self.hs.header_offset + 0x18, "size is 0")
        b.payload_range(self.patch_loc, self.sig_size, "HS signature patch location (patch_loc)")
        if not ld.os_data.offset <= self.patch_loc <= ld.os_data.end - self.sig_size:
            raise b.reader.error(
                "HS signature patch location (patch_loc)", self.hs.patch_loc,
                f"{self.sig_size:#x}-byte signature at payload {self.patch_loc:#x} is not inside the os data "
                f"[{ld.os_data.offset:#x}, {ld.os_data.end:#x}) that DMEM receives",
            )

    # -- signatures ---------------------------------------------------------------------------------

    @property
    def pkc_data_offset(self) -> int:
        """DMEM offset of the signature: ``patch_loc - os_data_offset``."""
        return self.patch_loc - self.load.os_data.offset

    def valid_fused_versions(self) -> list[int]:
        """Fused versions that have a signature under the nova-core rule: 0, and ``v`` with ``fuse_ver - v`` a
        signature index - computed from the two header values (at most ``num_sig`` of them), never by a loop up to
        ``fuse_ver``, a u32 taken from the file."""
        fv = self.meta.fuse_ver
        return [0, *range(max(1, fv - self.num_sig + 1), fv + 1)]

    def signature_index(self, fused_version: int) -> int:
        """Index of the signature for a chip whose fuses say ``fused_version`` (nova-core's rule)."""
        if fused_version < 0:
            raise FirmwareError(f"{self.source}: fused version {fused_version} is negative")
        if fused_version == 0:
            return self.num_sig - 1
        index = self.meta.fuse_ver - fused_version
        if not 0 <= index < self.num_sig:
            raise FirmwareError(
                f"{self.source}: no signature for fused version {fused_version}: the booter's fuse_ver is "
                f"{self.meta.fuse_ver} and it carries {self.num_sig} signature(s), so the index would be {index}; "
                f"fused versions with a signature: {', '.join(map(str, self.valid_fused_versions()))}"
            )
        return index

    def signature(self, fused_version: int) -> bytes:
        return bytes(self.signatures[self.signature_index(fused_version)])

    def patched_image(self, fused_version: int) -> bytearray:
        """The payload with the signature for ``fused_version`` written at ``patch_loc``."""
        img = bytearray(self.bin.payload)
        img[self.patch_loc:self.patch_loc + self.sig_size] = self.signatures[self.signature_index(fused_version)]
        return img

    # -- loading --------------------------------------------------------------------------------

    def load_layout(self, hal: FalconHal, fused_version: int) -> HsLoadLayout:
        """Everything the falcon layer needs to load and start this booter on SEC2."""
        ld = self.load
        index = self.signature_index(fused_version)
        image = bytes(self.patched_image(fused_version))
        dmem = LoadSegment(ld.os_data.offset, 0, ld.os_data.size, secure=False)
        if hal is FalconHal.TU102:
            imem_ns = LoadSegment(ld.os_code.offset, ld.os_code.offset, ld.os_code.size, secure=False,
                                    tag=ld.os_code.offset)
            imem_sec = LoadSegment(ld.app_code.offset, ld.app_code.offset, ld.app_code.size, secure=True,
                                     tag=ld.app_code.offset)
            return HsLoadLayout(image, imem_sec, imem_ns, dmem, ld.os_code.offset, None, index, fused_version)
        if self.sig_size != F.RSA3K_SIG_SIZE:
            raise FirmwareError(
                f"{self.source}: the GA102+ boot ROM verifies RSA-3072 signatures ({F.RSA3K_SIG_SIZE} bytes); this "
                f"booter carries {self.sig_size}-byte signatures (a Turing booter?)"
            )
        imem_sec = LoadSegment(ld.app_code.offset, 0, ld.app_code.size, secure=True, tag=ld.app_code.offset)
        if self.meta.ucode_id > 0xFF:
            raise self.bin.reader.error("HS signature params ucode_id", self.hs.meta_data_offset + 8,
                                        f"{self.meta.ucode_id:#x} does not fit BROM_CURR_UCODE_ID (8 bits)")
        brom = BromParams(self.pkc_data_offset, self.meta.engine_id_mask, self.meta.ucode_id)
        return HsLoadLayout(image, imem_sec, None, dmem, ld.app_code.offset, brom, index, fused_version)

    def as_json(self) -> dict[str, Any]:
        ld = self.load
        return {
            "bin_header": self.bin.header.as_json(),
            "hs_header": dict(self.hs.__dict__),
            "patch_loc": self.patch_loc,
            "patch_sig": self.patch_sig,
            "num_sig": self.num_sig,
            "signature_size": self.sig_size,
            "signature_params": dict(self.meta.__dict__),
            "pkc_data_offset": self.pkc_data_offset,
            "load_header": {
                "os_code_offset": ld.os_code.offset, "os_code_size": ld.os_code.size,
                "os_data_offset": ld.os_data.offset, "os_data_size": ld.os_data.size,
                "num_apps": ld.num_apps,
                "apps": [{"offset": ld.app_code.offset, "size": ld.app_code.size}],
                "app_data": None if ld.app_data is None else {"offset": ld.app_data.offset, "size": ld.app_data.size},
            },
        }

    def __repr__(self) -> str:
        return (f"<BooterFirmware {self.source!r} payload={self.bin.header.data_size:#x} "
                f"sigs={self.num_sig}x{self.sig_size} meta={self.meta}>")
