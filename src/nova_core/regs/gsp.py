"""nova_core.regs.gsp: registers that exist only on the GSP engine (absolute offsets).

Source: open-gpu-kernel-modules ``published/turing/tu102/dev_gsp.h`` (NV_PGSP_*); OpenRM
``kgspSetCmdQueueHead_TU102`` and nouveau ``r535_gsp_cmdq_push`` ring the command-queue doorbell by
writing 0 to NV_PGSP_QUEUE_HEAD(0) after moving the write pointer.
"""

from __future__ import annotations

from .core import Field, Register


class NV_PGSP_MAILBOX(Register, offset=0x110804, count=4, stride=4):
    """GSP-specific mailboxes (besides the falcon MAILBOX0/1)."""

    data = Field(31, 0)


class NV_PGSP_EMEMC(Register, offset=0x110AC0, count=4, stride=8):
    """External memory (EMEM) access control for port i."""

    offs = Field(7, 2)
    blk = Field(15, 8)
    aincw = Field(24, 24)
    aincr = Field(25, 25)


class NV_PGSP_EMEMC_GH100(NV_PGSP_EMEMC, chips="GH100+", count=8):
    """Hopper and later: eight ports (``hopper/gh100/dev_gsp.h``)."""


class NV_PGSP_EMEMD(Register, offset=0x110AC4, count=4, stride=8):
    """External memory (EMEM) data port i."""

    data = Field(31, 0)


class NV_PGSP_EMEMD_GH100(NV_PGSP_EMEMD, chips="GH100+", count=8):
    """Hopper and later: eight ports (``hopper/gh100/dev_gsp.h``)."""


class NV_PGSP_QUEUE_HEAD(Register, offset=0x110C00, count=8, stride=8):
    """Queue head i; writing queue 0 is the CPU-to-GSP command-queue doorbell."""

    address = Field(31, 0)
