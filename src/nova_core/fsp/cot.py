"""nova_core.fsp.cot: the chain-of-trust message - ``NVDM_PAYLOAD_COT`` built from the GSP-FMC - its boot
arguments (``GSP_FMC_BOOT_PARAMS``), and the FSP's command response.

What goes into the COT payload (OpenRM 570.144 ``kfspPrepareBootCommands_GH100``/``kfspSetupGspImages``, nouveau
``gh100_fsp_boot_gsp_fmc``):

- ``version``: the chip's (1 on GH100, 2 on GB10x/GB20x); ``size``: sizeof(NVDM_PAYLOAD_COT) = 860;
- ``gspFmcSysmemOffset``: bus address of the FMC ``image`` copied to system memory (4 KiB-aligned pages);
- ``frtsSysmemOffset``/``Size``: 0 - a GSP-RM driver (the PF_KERNEL_ONLY RM variant) has FRTS in sysmem
  disabled (``PDB_PROP_KFSP_DISABLE_FRTS_SYSMEM``, ``g_kern_fsp_nvoc.c``); nouveau sends 0 as well;
- ``frtsVidmemOffset``: where FRTS goes, counted from the END of FB: the FB-end reserve estimate, plus - when the
  PMU reserves FB - 4 KiB and the PMU's size, aligned up to 2 MiB (GH100: 2 MiB; GB10x/GB20x: 0x1c00000, which
  nouveau and tinygrad send too); ``frtsVidmemSize``: 1 MiB;
- ``hash384``, ``publicKey``, ``signature``: the FMC's sections, copied in (the key and signature must have the
  chip's sizes; the rest of each array is zero);
- ``gspBootArgsSysmemOffset``: bus address of ``GSP_FMC_BOOT_PARAMS`` (the WPR meta and the LibOS arguments).

The reply is ``NVDM_TYPE_FSP_RESPONSE`` with ``NVDM_PAYLOAD_COMMAND_RESPONSE`` {taskId, commandNvdmType,
errorCode}; a non-zero error code, or a response to another command, fails the boot (nouveau
``gh100_fsp_send_sync``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import FspError
from ..fb.facts import FSP_FRTS_SIZE
from ..fb.layout import fsp_frts_offset_from_end
from ..firmware.fmc import FmcImage
from ..gpu.chips import Chipset
from . import facts as F


@dataclass(frozen=True)
class CotPayload:
    """``NVDM_PAYLOAD_COT`` field by field (the byte arrays at their full 48/384/384 bytes)."""

    version: int
    gsp_fmc_sysmem_offset: int
    frts_sysmem_offset: int
    frts_sysmem_size: int
    frts_vidmem_offset: int
    frts_vidmem_size: int
    hash384: bytes
    public_key: bytes
    signature: bytes
    gsp_boot_args_sysmem_offset: int
    size: int = F.NVDM_PAYLOAD_COT.size

    def pack(self) -> bytes:
        """The 860 bytes the COT message carries."""
        return F.NVDM_PAYLOAD_COT.pack(self.version, self.size, self.gsp_fmc_sysmem_offset, self.frts_sysmem_offset,
                                       self.frts_sysmem_size, self.frts_vidmem_offset, self.frts_vidmem_size,
                                       self.hash384, self.public_key, self.signature, self.gsp_boot_args_sysmem_offset)

    @classmethod
    def unpack(cls, data: bytes | bytearray | memoryview) -> CotPayload:
        """Parse a COT payload.

        Raises:
            FspError: the data is not exactly 860 bytes.
        """
        if len(data) != F.NVDM_PAYLOAD_COT.size:
            raise FspError(f"NVDM_PAYLOAD_COT of {len(data)} bytes: expected {F.NVDM_PAYLOAD_COT.size}")
        v = dict(zip(F.NVDM_PAYLOAD_COT_FIELDS, F.NVDM_PAYLOAD_COT.unpack(bytes(data)), strict=True))
        return cls(v["version"], v["gspFmcSysmemOffset"], v["frtsSysmemOffset"], v["frtsSysmemSize"],
                   v["frtsVidmemOffset"], v["frtsVidmemSize"], v["hash384"], v["publicKey"], v["signature"],
                   v["gspBootArgsSysmemOffset"], v["size"])

    def as_json(self) -> dict[str, Any]:
        return {"version": self.version, "size": self.size, "gspFmcSysmemOffset": self.gsp_fmc_sysmem_offset,
                "frtsSysmemOffset": self.frts_sysmem_offset, "frtsSysmemSize": self.frts_sysmem_size,
                "frtsVidmemOffset": self.frts_vidmem_offset, "frtsVidmemSize": self.frts_vidmem_size,
                "hash384": self.hash384.hex(), "gspBootArgsSysmemOffset": self.gsp_boot_args_sysmem_offset}


def build_cot(chipset: Chipset, fmc: FmcImage, fmc_bus: int, boot_args_bus: int) -> CotPayload:
    """The COT payload that has the FSP verify ``fmc`` (copied to ``fmc_bus``) and boot it with ``boot_args_bus``.

    Raises:
        FirmwareError: the FMC's key or signature is not the size ``chipset``'s FSP takes.
        FspError: ``chipset`` has no FSP.
    """
    f = chipset.facts
    if not f.cot_version:
        raise FspError(f"{chipset.name} boots through the SEC2 booter: it has no FSP chain of trust")
    fmc.check_sizes_for(f.cot_public_key_size, f.cot_signature_size, chipset.name)
    return CotPayload(
        version=f.cot_version, gsp_fmc_sysmem_offset=fmc_bus, frts_sysmem_offset=0, frts_sysmem_size=0,
        frts_vidmem_offset=fsp_frts_offset_from_end(chipset), frts_vidmem_size=FSP_FRTS_SIZE,
        hash384=bytes(fmc.hash), public_key=bytes(fmc.public_key).ljust(F.FMC_FIELD_SIZE, b"\0"),
        signature=bytes(fmc.signature).ljust(F.FMC_FIELD_SIZE, b"\0"), gsp_boot_args_sysmem_offset=boot_args_bus)


def pack_fmc_boot_params(*, wpr_meta_bus: int, wpr_meta_size: int, libos_args_bus: int,
                         wpr_meta_target: F.GspDmaTarget = F.GspDmaTarget.COHERENT_SYSTEM,
                         libos_target: F.GspDmaTarget = F.GspDmaTarget.COHERENT_SYSTEM) -> bytes:
    """``GSP_FMC_BOOT_PARAMS`` for a normal boot (``kgspSetupGspFmcArgs_GH100``): the GSP-RM descriptor is the WPR
    meta, ``bIsGspRmBoot`` set, GSP-RM's boot arguments the LibOS page; no regkeys, no SPDM (no confidential
    computing), no explicit WPR carveout (ACR places WPR2)."""
    return F.GSP_FMC_BOOT_PARAMS.pack(0, int(wpr_meta_target), wpr_meta_size, wpr_meta_bus, 0, 0, 1, int(libos_target),
                                      libos_args_bus, 0, 0, 0)


@dataclass(frozen=True)
class CommandResponse:
    """``NVDM_PAYLOAD_COMMAND_RESPONSE``."""

    task_id: int
    command_nvdm_type: int
    error_code: int

    @property
    def error_name(self) -> str:
        try:
            return f"FSP_{F.FspErrorCode(self.error_code).name}"
        except ValueError:
            return f"unknown FSP error {self.error_code:#x}"

    def as_json(self) -> dict[str, Any]:
        return {"taskId": self.task_id, "commandNvdmType": self.command_nvdm_type, "errorCode": self.error_code,
                "error": self.error_name}


def parse_response(nvdm_type: int, payload: bytes, command: int) -> CommandResponse:
    """The FSP's answer to ``command`` (``kfspProcessNvdmMessage_GH100``/``kfspProcessCommandResponse_GH100``).

    Raises:
        FspError: not an FSP_RESPONSE, too short, for another command, or a non-zero error code (``code`` set).
    """
    if nvdm_type != F.NvdmType.FSP_RESPONSE:
        raise FspError(f"FSP reply NVDM type {nvdm_type:#04x}: expected FSP_RESPONSE {F.NvdmType.FSP_RESPONSE:#04x}")
    size = F.NVDM_PAYLOAD_COMMAND_RESPONSE.size
    if len(payload) < size:
        raise FspError(f"FSP response payload of {len(payload)} bytes: expected {size} "
                       f"(NVDM_PAYLOAD_COMMAND_RESPONSE)")
    resp = CommandResponse(*F.NVDM_PAYLOAD_COMMAND_RESPONSE.unpack_from(payload))
    if resp.command_nvdm_type != command:
        raise FspError(f"FSP response commandNvdmType {resp.command_nvdm_type:#04x}: expected {command:#04x} (the "
                       f"command sent)")
    if resp.error_code != F.FspErrorCode.OK:
        status = F.FSP_ERROR_STATUS.get(resp.error_code, "NV_ERR_GENERIC")  # type: ignore[call-overload]
        raise FspError(f"the FSP refused NVDM command {command:#04x} (task {resp.task_id:#x}): errorCode "
                       f"{resp.error_code:#04x} ({resp.error_name}; OpenRM: {status})", code=resp.error_code)
    return resp
