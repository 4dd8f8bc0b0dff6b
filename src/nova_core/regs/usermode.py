"""nova_core.regs.usermode: the usermode doorbell that tells host a channel has new GPFIFO entries.

``NV_VIRTUAL_FUNCTION_DOORBELL`` is usermode offset 0x30090 (``published/turing/tu102/dev_vm.h``,
``blackwell/gb202/dev_vm.h``; ``NVC361_NOTIFY_CHANNEL_PENDING`` 0x90 of the usermode class ``clc361.h``). The
PF reaches the VF register space at ``NV_VIRTUAL_FUNCTION_FULL_PHYS_OFFSET`` (BAR0 0xB80000): OpenRM
``kfifoUpdateUsermodeDoorbell_TU102`` writes it with ``GPU_VREG_WR32`` (= ``virtualRegPhysOffset`` + 0x30090),
nouveau rings ``vfn->addr.user`` (0xB80000 + 0x30000) + 0x90, tinygrad BAR0 0xBB0090. The value is the
work-submit token (:class:`nova_core.engines.facts.DoorbellToken`: channel id 11:0, runlist 22:16, and on GB20x
RUNLIST_DOORBELL 30). Write-only.
"""

from __future__ import annotations

from .core import WO, Field, Register
from .vfn import VFN_BASE

DOORBELL_OFFSET = 0x30090  #: NV_VIRTUAL_FUNCTION_DOORBELL, relative to the VF register space


class NV_VIRTUAL_FUNCTION_DOORBELL(Register, offset=VFN_BASE + DOORBELL_OFFSET):
    """Work-submit doorbell: write a channel's token to make host fetch its new GPFIFO entries (VECTOR and
    RUNLIST_ID: ``turing/tu102/dev_ctrl.h`` ``NV_CTRL_VF_DOORBELL``, the same doorbell's PF alias, and
    ``blackwell/gb100/dev_vm.h``)."""

    vector = Field(11, 0, WO, doc="channel id")
    runlist_id = Field(22, 16, WO)


class NV_VIRTUAL_FUNCTION_DOORBELL_GB202(NV_VIRTUAL_FUNCTION_DOORBELL, chips="GB202"):
    """GB20x: RUNLIST_DOORBELL 30:30 (``blackwell/gb202/dev_vm.h``), which must be ENABLE (1)."""

    runlist_doorbell = Field(30, 30, WO, doc="must be 1 (ENABLE)")
