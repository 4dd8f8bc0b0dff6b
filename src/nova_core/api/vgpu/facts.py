"""nova_core.api.vgpu.facts: what the vGPU manager and GSP-RM's vGPU plugin task agree on, with sources.

NVIDIA does not publish these in open-gpu-kernel-modules; they come with NVIDIA's vGPU RFC on the Linux lists
("Introduce NVIDIA GPU Virtualization (vGPU) Support", Zhi Wang, 2024/2025: ``drivers/vfio/pci/nvidia-vgpu/``,
its ``include/nvrm/common/sdk/nvidia/inc/dev_vgpu_gsp.h`` and ``vgpu_mgr.c`` ``init_gsp_rm_constraints``), which
takes them from NVIDIA's vGPU host driver. The parameter blocks themselves are NVIDIA's published ones
(``ctrl2080vgpumgrinternal.h``, ``ctrla081.h``), through the generated bindings.
"""

from __future__ import annotations

from ...hw.clock import SEC

KiB = 1 << 10
MiB = 1 << 20

#: dev_vgpu_gsp.h: what GSP-RM's plugin task writes into the control buffer's ``message_seq_num`` once it is up
GSP_PLUGIN_BOOTLOADED = 0x4E654A6F

# The plugin heap (dev_vgpu_gsp.h "GSP Plugin heap memory layout"): control, response and message buffers
# (4 KiB each), the migration buffer (2 MiB), the error buffer (4 KiB), then the logs. ``init_gsp_rm_constraints``
# (RFC v2 vgpu_mgr.c) maps COMM_BUFF_SIZE through BAR1 and puts the init-task log at INIT_TASK_LOG_OFFSET, the
# vGPU-task log after it, the kernel log (r570's BOOTLOAD has kernelLogBuff*) after that.
CTRL_BUFF_SIZE = 4 * KiB
RESPONSE_BUFF_SIZE = 4 * KiB
MESSAGE_BUFF_SIZE = 4 * KiB
MIGRATION_BUFF_SIZE = 2 * MiB
ERROR_BUFF_SIZE = 4 * KiB
INIT_TASK_LOG_OFFSET = CTRL_BUFF_SIZE + RESPONSE_BUFF_SIZE + MESSAGE_BUFF_SIZE + MIGRATION_BUFF_SIZE + ERROR_BUFF_SIZE
INIT_TASK_LOG_SIZE = 128 * KiB
VGPU_TASK_LOG_SIZE = 256 * KiB
KERNEL_LOG_SIZE = 64 * KiB
COMM_BUFF_SIZE = INIT_TASK_LOG_OFFSET + INIT_TASK_LOG_SIZE + VGPU_TASK_LOG_SIZE + KERNEL_LOG_SIZE

#: VGPU_CPU_GSP_CTRL_BUFF_REGION: ``version`` (u32), ``message_type`` (u32), ``message_seq_num`` (u32) ...
CTRL_MESSAGE_SEQ_NUM = 8

# TIMEOUT: the RFC's wait_vgpu_plugin_task_bootloaded polls message_seq_num for 10 s.
PLUGIN_BOOT_TIMEOUT = 10 * SEC

#: the RFC's bootload_vgpu_plugin_task: one channel of the vGPU's block is the plugin's (v2: num_plugin_channels = 1)
PLUGIN_CHANNELS = 1

#: gfid = VF index + 1 (gfid 0 is the PF): the RFC's vGPU info, PCI's 0-based VF index (pci_iov_vf_id)
GFID_OF_FIRST_VF = 1
