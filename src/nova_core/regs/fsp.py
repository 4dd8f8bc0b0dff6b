"""nova_core.regs.fsp: the FSP (Hopper and later): its EMEM ports, command and message queues, scratch registers.

The FSP is a falcon at 0x8F2000 (:data:`~nova_core.regs.falcon.FSP_FALCON_BASE`) that owns the chip's chain of
trust; the CPU talks to it only through its EMEM and four queue pointers per channel (RM uses channel 0).
Source: open-gpu-kernel-modules 570.144 ``published/hopper/gh100/dev_fsp_pri.h`` (the same offsets serve GB10x
and GB20x: OpenRM's ``kfspSendPacket_GH100``/``kfspReadPacket_GH100`` HAL runs on GH100, GB100/GB102 and
GB202-GB207, ``g_kern_fsp_nvoc.c``), ``dev_fsp_addendum.h`` (ucode version and, on GB100, the fuse error check),
``fsp_emem_channels.h``.

- ``NV_PFSP_EMEMC(i)``/``EMEMD(i)``: EMEM port i, addressed in 64-dword blocks (BLK 15:8) and dwords (OFFS 7:2),
  auto-incrementing after each EMEMD write (AINCW) or read (AINCR);
- ``NV_PFSP_QUEUE_HEAD/TAIL(i)``: the CPU-to-FSP command queue of channel i: the CPU writes TAIL (the last dword
  of the packet) and then HEAD, whose write interrupts the FSP; the FSP sets HEAD = TAIL once it has taken the
  packet (``kfspCanSendPacket_GH100``);
- ``NV_PFSP_MSGQ_HEAD/TAIL(i)``: the FSP-to-CPU message queue: the FSP writes the reply into EMEM and moves the
  pointers; HEAD != TAIL means a reply is waiting, TAIL pointing at its last dword; the CPU sets TAIL = HEAD when
  it has read it (``kfspReadPacket_GH100``).
"""

from __future__ import annotations

from .core import Field, Register

#: RM's EMEM channel (``FSP_EMEM_CHANNEL_RM``) and its size (``FSP_EMEM_CHANNEL_RM_SIZE``, 1 KiB)
FSP_EMEM_CHANNEL_RM = 0
FSP_EMEM_CHANNEL_RM_SIZE = 1024
#: EMEMC counts blocks of 64 dwords (``DWORDS_PER_EMEM_BLOCK``, kern_fsp_gh100.c)
FSP_EMEM_DWORDS_PER_BLOCK = 64


class NV_PFSP_EMEMC(Register, offset=0x8F2AC0, count=8, stride=8, chips="GH100+"):
    """FSP EMEM access control of port i: dword offset and block, auto-increment on write/read."""

    offs = Field(7, 2, doc="dword inside the 64-dword block")
    blk = Field(15, 8, doc="64-dword block")
    aincw = Field(24, 24, doc="auto-increment after each EMEMD write")
    aincr = Field(25, 25, doc="auto-increment after each EMEMD read")


class NV_PFSP_EMEMD(Register, offset=0x8F2AC4, count=8, stride=8, chips="GH100+"):
    """FSP EMEM data port i (32-bit accesses only)."""

    data = Field(31, 0)


class NV_PFSP_QUEUE_HEAD(Register, offset=0x8F2C00, count=8, stride=8, chips="GH100+"):
    """Command queue head of channel i (writing it interrupts the FSP)."""

    address = Field(31, 0)


class NV_PFSP_QUEUE_TAIL(Register, offset=0x8F2C04, count=8, stride=8, chips="GH100+"):
    """Command queue tail of channel i: EMEM byte offset of the packet's last dword."""

    address = Field(31, 0)


class NV_PFSP_MSGQ_HEAD(Register, offset=0x8F2C80, count=8, stride=8, chips="GH100+"):
    """Message (reply) queue head of channel i."""

    val = Field(31, 0)


class NV_PFSP_MSGQ_TAIL(Register, offset=0x8F2C84, count=8, stride=8, chips="GH100+"):
    """Message (reply) queue tail of channel i: EMEM byte offset of the reply's last dword."""

    val = Field(31, 0)


class NV_PFSP_FALCON_COMMON_SCRATCH_GROUP_2(Register, offset=0x8F0320, count=4, stride=4, chips="GH100+"):
    """FSP boot progress/error words (OpenRM dumps all four when the FSP fails)."""

    val = Field(31, 0)


class NV_PFSP_FALCON_COMMON_SCRATCH_GROUP_3(Register, offset=0x8F0330, count=4, stride=4, chips="GH100+"):
    """FSP scratch: (1) = NV_GFW_FSP_UCODE_VERSION (11:8 major, 7:0 minor); on GB100/GB102 (3) =
    NV_PFSP_FUSE_ERROR_CHECK (0 = success, ``dev_fsp_addendum.h``)."""

    val = Field(31, 0)


#: NV_GFW_FSP_UCODE_VERSION = NV_PFSP_FALCON_COMMON_SCRATCH_GROUP_3(1); NV_PFSP_FUSE_ERROR_CHECK = (3)
FSP_UCODE_VERSION_INDEX = 1
FSP_FUSE_ERROR_CHECK_INDEX = 3
FSP_FUSE_ERROR_CHECK_SUCCESS = 0
