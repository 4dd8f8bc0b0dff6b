"""nova_core.api.vgpu.types: vGPU types - NVIDIA's ``NVA081_CTRL_VGPU_INFO`` records, read and checked.

A vGPU type is what NVIDIA's vGPU host package describes per board (``vgpuConfig.xml``) and what GSP-RM is given in
NV2080_CTRL_CMD_VGPU_MGR_INTERNAL_PGPU_ADD_VGPU_TYPE: one ``NVA081_CTRL_VGPU_INFO`` (``ctrla081.h``) each, in the
layout of the running GSP-RM version (0x1358 bytes in 535.113.01, 0x13e0 in 550.163.01, 0x1468 in 570.144). The
records are untrusted input: :func:`decode_types` checks the length, the count (at most
``NVA081_MAX_VGPU_TYPES_PER_PGPU``), NUL-terminated names, unique non-zero type ids, ``maxInstance`` within
``NVA081_MAX_VGPU_PER_PGPU`` and a non-zero guest FB, and names the record and field of every refusal.

:func:`channel_count` and :func:`guest_fb_length` are OpenRM's rules for a vGPU of a type on an SR-IOV GPU with
GSP-RM (570.144 ``kernel_vgpu_mgr.c``, the placement computation): ``nvPrevPow2(hostChannelCount / maxInstance)``
channels, and ``min(fbLength, align_down(align_up(FB, 8 segments) / maxInstance - fbReservation - gspHeapSize,
segment))`` bytes of guest FB.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any

from ...errors import VgpuError
from ...gsp.fw import GspAbi


@dataclass(frozen=True)
class VgpuType:
    """One vGPU type (the fields a manager uses; ``info`` is the record as given)."""

    type_id: int  #: ``vgpuType``
    name: str  #: ``vgpuName`` ("NVIDIA L40-4Q")
    vgpu_class: str  #: ``vgpuClass`` ("Quadro", "Compute", ...)
    max_instances: int  #: ``maxInstance``
    profile_size: int  #: ``profileSize``: bytes the profile is named after
    fb_length: int  #: ``fbLength``: the guest FB
    fb_reservation: int  #: ``fbReservation``
    gsp_heap_size: int  #: ``gspHeapSize``: the plugin task's heap
    bar1_length: int  #: ``bar1Length`` (MiB)
    info: bytes  #: the ``NVA081_CTRL_VGPU_INFO`` record

    def as_json(self) -> dict[str, Any]:
        return {"id": self.type_id, "name": self.name, "fb_bytes": self.fb_length,
                "max_instances": self.max_instances}


def _cstr(obj: Any, name: str, where: str) -> str:
    raw = bytes(getattr(obj, name))
    end = raw.find(b"\0")
    if end < 0:
        raise VgpuError(f"{where}: {name} is not NUL-terminated within its {len(raw)} bytes")
    try:
        return raw[:end].decode("ascii")
    except UnicodeDecodeError:
        raise VgpuError(f"{where}: {name} {raw[:end]!r} is not ASCII") from None


def decode_types(abi: GspAbi, data: bytes | bytearray | memoryview) -> list[VgpuType]:
    """The vGPU types in ``data``: back-to-back ``NVA081_CTRL_VGPU_INFO`` records of ``abi``'s version.

    Raises:
        VgpuError: a length that is not a whole number of records, no records or more than GSP-RM takes, or a
            record that is not a usable type (the message names the record and the field).
    """
    m = abi.module
    cls = abi.struct("NVA081_CTRL_VGPU_INFO")
    size = ctypes.sizeof(cls)
    raw = bytes(data)
    most = int(m.NVA081_MAX_VGPU_TYPES_PER_PGPU)
    if not raw or len(raw) % size:
        raise VgpuError(f"vGPU type records: {len(raw):#x} bytes is not a whole number of {abi.version} "
                        f"NVA081_CTRL_VGPU_INFO records ({size:#x} bytes each)")
    if len(raw) // size > most:
        raise VgpuError(f"vGPU type records: {len(raw) // size} records; GSP-RM takes at most {most} "
                        f"(NVA081_MAX_VGPU_TYPES_PER_PGPU)")
    out: list[VgpuType] = []
    seen: set[int] = set()
    for i in range(len(raw) // size):
        rec = raw[i * size:(i + 1) * size]
        info = cls.from_buffer_copy(rec)
        where = f"vGPU type record {i}"
        tid = int(info.vgpuType)
        if tid == int(m.NVA081_CTRL_VGPU_CONFIG_INVALID_TYPE):
            raise VgpuError(f"{where}: vgpuType 0 (NVA081_CTRL_VGPU_CONFIG_INVALID_TYPE)")
        if tid in seen:
            raise VgpuError(f"{where}: vgpuType {tid} appears twice")
        seen.add(tid)
        where = f"{where} (type {tid})"
        name = _cstr(info, "vgpuName", where)
        klass = _cstr(info, "vgpuClass", where)
        if not name:
            raise VgpuError(f"{where}: empty vgpuName")
        n = int(info.maxInstance)
        if not 1 <= n <= int(m.NVA081_MAX_VGPU_PER_PGPU):
            raise VgpuError(f"{where}: maxInstance {n} (1..{int(m.NVA081_MAX_VGPU_PER_PGPU)}: "
                            f"NVA081_MAX_VGPU_PER_PGPU)")
        if int(info.fbLength) == 0:
            raise VgpuError(f"{where}: fbLength 0 (no guest FB)")
        out.append(VgpuType(tid, name, klass, n, int(info.profileSize), int(info.fbLength), int(info.fbReservation),
                            int(info.gspHeapSize), int(info.bar1Length), rec))
    return out


def prev_pow2(x: int) -> int:
    """The largest power of two not above ``x`` (0 for 0): OpenRM ``nvPrevPow2_U32``."""
    return 1 << (x.bit_length() - 1) if x > 0 else 0


def channel_count(t: VgpuType, host_channels: int) -> int:
    """Channel ids a vGPU of type ``t`` gets (OpenRM: ``nvPrevPow2(hostChannelCount / maxInstance)``)."""
    return prev_pow2(host_channels // t.max_instances)


def guest_fb_length(t: VgpuType, fb_total: int, segment: int) -> int:
    """Guest FB bytes of a vGPU of type ``t`` on ``fb_total`` bytes of VRAM with VMMU segments of ``segment``."""
    group = 8 * segment
    total = -(-fb_total // group) * group
    fit = total // t.max_instances - t.fb_reservation - t.gsp_heap_size
    return max(0, min(t.fb_length, fit // segment * segment))
