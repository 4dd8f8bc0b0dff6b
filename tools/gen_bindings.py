#!/usr/bin/env python3
"""gen_bindings: write nova_core.gsp.bindings.r<version> from NVIDIA's published headers.

For each GSP-RM version this tool

1. takes the headers of that release from a clone (bare or not) of NVIDIA's
   ``open-gpu-kernel-modules`` (``git archive <tag>``, into a temporary directory: the headers are
   never written into this repository);
2. writes a probe translation unit that includes the headers GSP-RM's wire formats live in, compiles
   it with ``gcc -g`` using the include paths and defines of that release's own ``src/nvidia/Makefile``
   (so every macro, alignment attribute and conditional resolves exactly as in NVIDIA's build);
3. reads the layouts back from the DWARF debug information (pyelftools) and the values of the macros
   it needs from the object's symbols, and
4. writes one Python module per version: ctypes structures with explicit offsets (``_pack_ = 1`` plus
   explicit padding, so ctypes' own layout rules play no part), constants, the RPC function and event
   numbers, NV_STATUS codes, and a header naming the tag and commit, the SHA-256 of this generator
   and of the header files the compiler read.

``tests/gsp/test_bindings_regen.py`` fails when this file changed but the modules were not
regenerated (the hash), and regenerates and diffs when ``NOVA_OGKM`` names a local clone.

Usage::

    tools/gen_bindings.py --source ~/src/open-gpu-kernel-modules           # all versions
    tools/gen_bindings.py --source REPO --version 570.144 --check            # diff only, exit 1 on change

``--source`` defaults to ``$NOVA_OGKM``. Needs git, gcc and pyelftools.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import re
import shlex
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from elftools.dwarf.die import DIE
from elftools.elf.elffile import ELFFile

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = REPO_ROOT / "src" / "nova_core" / "gsp" / "bindings"
SOURCE_REPO = "NVIDIA/open-gpu-kernel-modules"

#: version string (as in the firmware's .fwversion) -> module name
VERSIONS: dict[str, str] = {
    "535.113.01": "r535_113_01",
    "550.163.01": "r550_163_01",
    "570.144": "r570_144",
}

#: the parts of the tree the probe can reach (include paths of src/nvidia/Makefile)
ARCHIVE_PATHS = [
    "src/common",
    "src/nvidia/Makefile",
    "src/nvidia/inc",
    "src/nvidia/generated",
    "src/nvidia/kernel/inc",
    "src/nvidia/arch",
    "src/nvidia/interface",
]

PROBE_INCLUDES = """\
#include "core/core.h"
#include "gpu/gpu.h"
#include "gpu/mem_mgr/mem_desc.h"
#include "vgpu/rpc_headers.h"
#define RPC_STRUCTURES
#define RPC_GENERIC_UNION
#include "g_rpc-structures.h"
#undef RPC_STRUCTURES
#undef RPC_GENERIC_UNION
#define RPC_MESSAGE_STRUCTURES
#define RPC_MESSAGE_GENERIC_UNION
#include "g_rpc-message-header.h"
#undef RPC_MESSAGE_STRUCTURES
#undef RPC_MESSAGE_GENERIC_UNION
#include "gpu/gsp/message_queue.h"
#include "gpu/gsp/message_queue_priv.h"
#include "msgq/msgq_priv.h"
#include "gpu/gsp/gsp_static_config.h"
#include "gpu/gsp/gsp_init_args.h"
#include "gsp_fw_wpr_meta.h"
#include "gsp_fw_sr_meta.h"
#include "libos_init_args.h"
#include "rmgspseq.h"
#include "g_os_nvoc.h"
#include "class/cl0000.h"
#include "class/cl0080.h"
#include "class/cl2080.h"
#include "ctrl/ctrl0000/ctrl0000base.h"
#include "libos_log.h"
#include "gpu/gpu_engine_type.h"
#include "gpu/fifo/kernel_fifo.h"
#include "alloc/alloc_channel.h"
#include "class/cl2080_notification.h"
#include "class/cl90f1.h"
#include "class/cla06c.h"
#include "class/clc46f.h"
#include "class/clc56f.h"
#include "class/clc86f.h"
#if __has_include("class/clc96f.h")  /* Blackwell: not in every release */
#include "class/clc96f.h"
#endif
#if __has_include("class/clca6f.h")  /* Blackwell: not in every release */
#include "class/clca6f.h"
#endif
#include "class/clb0b5sw.h"
#include "class/clc5b5.h"
#include "class/clc6b5.h"
#include "class/clc7b5.h"
#include "class/clc8b5.h"
#if __has_include("class/clc9b5.h")  /* Blackwell: not in every release */
#include "class/clc9b5.h"
#endif
#if __has_include("class/clcab5.h")  /* Blackwell: not in every release */
#include "class/clcab5.h"
#endif
#include "class/clc461.h"
#include "class/clc561.h"
#include "class/clc661.h"
#if __has_include("class/clc761.h")  /* Blackwell: not in every release */
#include "class/clc761.h"
#endif
#include "ctrl/ctrl2080/ctrl2080fifo.h"
#include "ctrl/ctrl2080/ctrl2080ce.h"
#include "ctrl/ctrlc36f.h"
#include "ctrl/ctrla06c.h"
#include "ctrl/ctrla06f/ctrla06fgpfifo.h"
#include "nverror.h"
#include "nvgputypes.h"
#include "ctrl/ctrl2080/ctrl2080internal.h"
#include "kernel/gpu/intr/engine_idx.h"
#include "dev_ctrl_defines.h"
#include "ctrl/ctrl2080/ctrl2080gpu.h"
#include "ctrl/ctrl0080/ctrl0080fifo.h"
#include "class/cla06fsubch.h"
#include "class/clc5c0.h"
#include "class/clc6c0.h"
#include "class/clc7c0.h"
#include "class/clc9c0.h"
#include "class/clcbc0.h"
#if __has_include("class/clcdc0.h")  /* Blackwell: not in every release */
#include "class/clcdc0.h"
#endif
#if __has_include("class/clcec0.h")  /* Blackwell: not in every release */
#include "class/clcec0.h"
#endif
#include "class/clc597.h"
#include "class/clc697.h"
#include "class/clc797.h"
#include "class/clc997.h"
#include "class/clcb97.h"
#if __has_include("class/clcd97.h")  /* Blackwell: not in every release */
#include "class/clcd97.h"
#endif
#if __has_include("class/clce97.h")  /* Blackwell: not in every release */
#include "class/clce97.h"
#endif
#include "ctrl/ctrl2080/ctrl2080vgpumgrinternal.h"
#include "ctrl/ctrla081.h"
#include "class/cla081.h"
"""

#: structures emitted (with everything they contain), by typedef or tag name; "?" = optional
ROOTS = [
    # message queues (reference §7)
    "msgqTxHeader", "msgqRxHeader", "GSP_MSG_QUEUE_ELEMENT", "rpc_message_header_v",
    # boot arguments (§5, §6)
    "MESSAGE_QUEUE_INIT_ARGUMENTS", "GSP_SR_INIT_ARGUMENTS", "GSP_ARGUMENTS_CACHED",
    "GspFwWprMeta", "GspFwSRMeta", "LibosMemoryRegionInitArgument", "libosLogMetadata",
    "libosLogMetadata_extended",
    # RPC payloads (§7)
    "GspSystemInfo", "PACKED_REGISTRY_ENTRY", "PACKED_REGISTRY_TABLE", "GspStaticConfigInfo",
    "rpc_set_guest_system_info_v", "rpc_gsp_set_system_info_v", "rpc_get_gsp_static_info_v",
    "rpc_gsp_rm_alloc_v", "rpc_gsp_rm_control_v", "rpc_free_v", "rpc_update_bar_pde_v",
    "rpc_unloading_guest_driver_v",
    # events
    "rpc_run_cpu_sequencer_v", "rpc_post_event_v", "rpc_os_error_log_v", "rpc_rc_triggered_v",
    "rpc_gsp_lockdown_notice_v", "rpc_gsp_post_nocat_record_v?",
    # CPU sequencer (§8)
    "GSP_SEQ_BUF_PAYLOAD_REG_WRITE", "GSP_SEQ_BUF_PAYLOAD_REG_MODIFY", "GSP_SEQ_BUF_PAYLOAD_REG_POLL",
    "GSP_SEQ_BUF_PAYLOAD_DELAY_US", "GSP_SEQ_BUF_PAYLOAD_REG_STORE", "GSP_SEQUENCER_BUFFER_CMD",
    # object allocation (§11)
    "NV0000_ALLOC_PARAMETERS", "NV0080_ALLOC_PARAMETERS", "NV2080_ALLOC_PARAMETERS",
    # channels and the copy engine (issue 16): VA space, channel group, GPFIFO channel, CE object, FIFO/CE
    # controls, the error notifier
    "NV_VASPACE_ALLOCATION_PARAMETERS", "NV_CHANNEL_GROUP_ALLOCATION_PARAMETERS", "NV_MEMORY_DESC_PARAMS",
    "NV_CHANNEL_ALLOC_PARAMS", "NVB0B5_ALLOCATION_PARAMETERS", "NV2080_CTRL_FIFO_GET_DEVICE_INFO_TABLE_PARAMS",
    "NV2080_CTRL_CE_GET_FAULT_METHOD_BUFFER_SIZE_PARAMS", "NVC36F_CTRL_CMD_GPFIFO_GET_WORK_SUBMIT_TOKEN_PARAMS",
    "NVA06F_CTRL_BIND_PARAMS", "NVA06F_CTRL_GPFIFO_SCHEDULE_PARAMS", "NvNotification",
    # the interrupt vector table GSP-RM gives the kernel driver (§12)
    "NV2080_CTRL_INTERNAL_INTR_GET_KERNEL_TABLE_PARAMS",
    # the GR engine (issue 17): GSP-RM's context-buffer description, and the promotion of a channel's buffers
    "NV2080_CTRL_INTERNAL_STATIC_GR_GET_CONTEXT_BUFFERS_INFO_PARAMS", "NV2080_CTRL_GPU_PROMOTE_CTX_PARAMS",
    # the vGPU manager (issue 19): the plugin task's bootload/shutdown/cleanup, the vGPU types GSP-RM is given
    # (NVA081-encoded), the VMMU segment size
    "NV2080_CTRL_VGPU_MGR_INTERNAL_BOOTLOAD_GSP_VGPU_PLUGIN_TASK_PARAMS",
    "NV2080_CTRL_VGPU_MGR_INTERNAL_SHUTDOWN_GSP_VGPU_PLUGIN_TASK_PARAMS",
    "NV2080_CTRL_VGPU_MGR_INTERNAL_VGPU_PLUGIN_CLEANUP_PARAMS",
    "NV2080_CTRL_VGPU_MGR_INTERNAL_PGPU_ADD_VGPU_TYPE_PARAMS", "NVA081_CTRL_VGPU_INFO",
    "NV2080_CTRL_GPU_GET_VMMU_SEGMENT_SIZE_PARAMS",
]

#: types kept as opaque bytes: the union of every RPC payload that follows rpc_message_header_v
OPAQUE = {"rpc_generic_union"}

#: enums whose enumerators are emitted as constants (by type name)
ENUMS = [
    "GSP_SEQ_BUF_OPCODE", "GSP_SEQUENCER_BUFFER_ERR", "LibosMemoryRegionKind", "LibosMemoryRegionLoc",
    "NV_RPC_UPDATE_PDE_BAR_TYPE", "RM_ENGINE_TYPE", "ENGINE_INFO_TYPE", "NV2080_INTR_CATEGORY",
]

#: macros (or expressions over them) emitted as constants: python name -> C expression; "?" = optional
CONSTANTS: dict[str, str] = {
    "GSP_FW_WPR_META_MAGIC": "GSP_FW_WPR_META_MAGIC",
    "GSP_FW_WPR_META_REVISION": "GSP_FW_WPR_META_REVISION",
    "GSP_FW_WPR_META_VERIFIED": "GSP_FW_WPR_META_VERIFIED",
    "GSP_FW_SR_META_MAGIC": "GSP_FW_SR_META_MAGIC",
    "GSP_FW_SR_META_REVISION": "GSP_FW_SR_META_REVISION",
    "GSP_FW_HEAP_FREE_LIST_MAGIC": "GSP_FW_HEAP_FREE_LIST_MAGIC",
    "GSP_FW_FLAGS_CLOCK_BOOST?": "GSP_FW_FLAGS_CLOCK_BOOST",
    "GSP_FW_FLAGS_RECOVERY_MARGIN_PRESENT?": "GSP_FW_FLAGS_RECOVERY_MARGIN_PRESENT",
    "GSP_FW_FLAGS_PPCIE_ENABLED?": "GSP_FW_FLAGS_PPCIE_ENABLED",
    "MSGQ_VERSION": "MSGQ_VERSION",
    "MSGQ_FLAGS_SWAP_RX": "MSGQ_FLAGS_SWAP_RX",
    "RPC_QUEUE_COUNT": "RPC_QUEUE_COUNT",
    "GSP_MSG_QUEUE_ELEMENT_SIZE_MIN": "GSP_MSG_QUEUE_ELEMENT_SIZE_MIN",
    "GSP_MSG_QUEUE_ELEMENT_SIZE_MAX": "GSP_MSG_QUEUE_ELEMENT_SIZE_MAX",
    "GSP_MSG_QUEUE_ELEMENT_HDR_SIZE": "GSP_MSG_QUEUE_ELEMENT_HDR_SIZE",
    "GSP_MSG_QUEUE_RPC_SIZE_MAX": "GSP_MSG_QUEUE_RPC_SIZE_MAX",
    "GSP_MSG_QUEUE_HEADER_SIZE": "GSP_MSG_QUEUE_HEADER_SIZE",
    "NV_VGPU_MSG_SIGNATURE_VALID": "NV_VGPU_MSG_SIGNATURE_VALID",
    "NV_VGPU_MSG_HEADER_VERSION_MAJOR_TOT": "NV_VGPU_MSG_HEADER_VERSION_MAJOR_TOT",
    "NV_VGPU_MSG_HEADER_VERSION_MINOR_TOT": "NV_VGPU_MSG_HEADER_VERSION_MINOR_TOT",
    "NV_VGPU_MSG_RESULT_SUCCESS": "NV_VGPU_MSG_RESULT_SUCCESS",
    "NV_VGPU_MSG_RESULT_RPC_UNKNOWN_FUNCTION": "NV_VGPU_MSG_RESULT_RPC_UNKNOWN_FUNCTION",
    "NV_VGPU_MSG_RESULT_RPC_INVALID_MESSAGE_FORMAT": "NV_VGPU_MSG_RESULT_RPC_INVALID_MESSAGE_FORMAT",
    "NV_VGPU_MSG_RESULT_RPC_HANDLE_NOT_FOUND": "NV_VGPU_MSG_RESULT_RPC_HANDLE_NOT_FOUND",
    "NV_VGPU_MSG_RESULT_RPC_HANDLE_EXISTS": "NV_VGPU_MSG_RESULT_RPC_HANDLE_EXISTS",
    "NV_VGPU_MSG_RESULT_RPC_UNKNOWN_RM_ERROR": "NV_VGPU_MSG_RESULT_RPC_UNKNOWN_RM_ERROR",
    "NV_VGPU_MSG_RESULT_RPC_PENDING": "NV_VGPU_MSG_RESULT_RPC_PENDING",
    "VGPU_RESERVED_HANDLE_BASE": "VGPU_RESERVED_HANDLE_BASE",
    "VGPU_RESERVED_HANDLE_RANGE": "VGPU_RESERVED_HANDLE_RANGE",
    "MAX_GPC_COUNT": "MAX_GPC_COUNT",
    "GSP_SEQ_BUF_REG_SAVE_SIZE": "GSP_SEQ_BUF_REG_SAVE_SIZE",
    "GSP_SEQ_PAYLOAD_DWORDS_REG_WRITE": "GSP_SEQUENCER_PAYLOAD_SIZE_DWORDS(GSP_SEQ_BUF_OPCODE_REG_WRITE)",
    "GSP_SEQ_PAYLOAD_DWORDS_REG_MODIFY": "GSP_SEQUENCER_PAYLOAD_SIZE_DWORDS(GSP_SEQ_BUF_OPCODE_REG_MODIFY)",
    "GSP_SEQ_PAYLOAD_DWORDS_REG_POLL": "GSP_SEQUENCER_PAYLOAD_SIZE_DWORDS(GSP_SEQ_BUF_OPCODE_REG_POLL)",
    "GSP_SEQ_PAYLOAD_DWORDS_DELAY_US": "GSP_SEQUENCER_PAYLOAD_SIZE_DWORDS(GSP_SEQ_BUF_OPCODE_DELAY_US)",
    "GSP_SEQ_PAYLOAD_DWORDS_REG_STORE": "GSP_SEQUENCER_PAYLOAD_SIZE_DWORDS(GSP_SEQ_BUF_OPCODE_REG_STORE)",
    "GSP_SEQ_PAYLOAD_DWORDS_CORE_RESET": "GSP_SEQUENCER_PAYLOAD_SIZE_DWORDS(GSP_SEQ_BUF_OPCODE_CORE_RESET)",
    "GSP_SEQ_PAYLOAD_DWORDS_CORE_START": "GSP_SEQUENCER_PAYLOAD_SIZE_DWORDS(GSP_SEQ_BUF_OPCODE_CORE_START)",
    "GSP_SEQ_PAYLOAD_DWORDS_CORE_WAIT_FOR_HALT":
        "GSP_SEQUENCER_PAYLOAD_SIZE_DWORDS(GSP_SEQ_BUF_OPCODE_CORE_WAIT_FOR_HALT)",
    "GSP_SEQ_PAYLOAD_DWORDS_CORE_RESUME": "GSP_SEQUENCER_PAYLOAD_SIZE_DWORDS(GSP_SEQ_BUF_OPCODE_CORE_RESUME)",
    "REGISTRY_TABLE_ENTRY_TYPE_UNKNOWN": "REGISTRY_TABLE_ENTRY_TYPE_UNKNOWN",
    "REGISTRY_TABLE_ENTRY_TYPE_DWORD": "REGISTRY_TABLE_ENTRY_TYPE_DWORD",
    "REGISTRY_TABLE_ENTRY_TYPE_BINARY": "REGISTRY_TABLE_ENTRY_TYPE_BINARY",
    "REGISTRY_TABLE_ENTRY_TYPE_STRING": "REGISTRY_TABLE_ENTRY_TYPE_STRING",
    "NV01_ROOT": "NV01_ROOT",
    "NV01_DEVICE_0": "NV01_DEVICE_0",
    "NV20_SUBDEVICE_0": "NV20_SUBDEVICE_0",
    "NV0000_CTRL_CMD_NULL": "NV0000_CTRL_CMD_NULL",
    "NV2080_GPU_MAX_NAME_STRING_LENGTH": "NV2080_GPU_MAX_NAME_STRING_LENGTH",
    "NV_MAX_DEVICES": "NV_MAX_DEVICES",
    "NV_MAX_SUBDEVICES": "NV_MAX_SUBDEVICES",
    # channels and the copy engine (issue 16): class ids ("?": absent from older releases)
    "FERMI_VASPACE_A": "FERMI_VASPACE_A",
    "KEPLER_CHANNEL_GROUP_A": "KEPLER_CHANNEL_GROUP_A",
    "TURING_CHANNEL_GPFIFO_A": "TURING_CHANNEL_GPFIFO_A",
    "AMPERE_CHANNEL_GPFIFO_A": "AMPERE_CHANNEL_GPFIFO_A",
    "HOPPER_CHANNEL_GPFIFO_A": "HOPPER_CHANNEL_GPFIFO_A",
    "BLACKWELL_CHANNEL_GPFIFO_A?": "BLACKWELL_CHANNEL_GPFIFO_A",
    "BLACKWELL_CHANNEL_GPFIFO_B?": "BLACKWELL_CHANNEL_GPFIFO_B",
    "TURING_DMA_COPY_A": "TURING_DMA_COPY_A",
    "AMPERE_DMA_COPY_A": "AMPERE_DMA_COPY_A",
    "AMPERE_DMA_COPY_B": "AMPERE_DMA_COPY_B",
    "HOPPER_DMA_COPY_A": "HOPPER_DMA_COPY_A",
    "BLACKWELL_DMA_COPY_A?": "BLACKWELL_DMA_COPY_A",
    "BLACKWELL_DMA_COPY_B?": "BLACKWELL_DMA_COPY_B",
    "TURING_USERMODE_A": "TURING_USERMODE_A",
    "AMPERE_USERMODE_A": "AMPERE_USERMODE_A",
    "HOPPER_USERMODE_A": "HOPPER_USERMODE_A",
    "BLACKWELL_USERMODE_A?": "BLACKWELL_USERMODE_A",
    # ... their controls and parameters
    "NV2080_CTRL_CMD_FIFO_GET_DEVICE_INFO_TABLE": "NV2080_CTRL_CMD_FIFO_GET_DEVICE_INFO_TABLE",
    "NV2080_CTRL_FIFO_GET_DEVICE_INFO_TABLE_MAX_ENTRIES": "NV2080_CTRL_FIFO_GET_DEVICE_INFO_TABLE_MAX_ENTRIES",
    "NV2080_CTRL_FIFO_GET_DEVICE_INFO_TABLE_ENGINE_DATA_TYPES":
        "NV2080_CTRL_FIFO_GET_DEVICE_INFO_TABLE_ENGINE_DATA_TYPES",
    "NV2080_CTRL_CMD_CE_GET_FAULT_METHOD_BUFFER_SIZE": "NV2080_CTRL_CMD_CE_GET_FAULT_METHOD_BUFFER_SIZE",
    "NVC36F_CTRL_CMD_GPFIFO_GET_WORK_SUBMIT_TOKEN": "NVC36F_CTRL_CMD_GPFIFO_GET_WORK_SUBMIT_TOKEN",
    "NVA06F_CTRL_CMD_BIND": "NVA06F_CTRL_CMD_BIND",
    "NVA06F_CTRL_CMD_GPFIFO_SCHEDULE": "NVA06F_CTRL_CMD_GPFIFO_SCHEDULE",
    "NVA06C_CTRL_CMD_GPFIFO_SCHEDULE": "NVA06C_CTRL_CMD_GPFIFO_SCHEDULE",
    "NV_VASPACE_ALLOCATION_INDEX_GPU_NEW": "NV_VASPACE_ALLOCATION_INDEX_GPU_NEW",
    "NVB0B5_ALLOCATION_PARAMETERS_VERSION_1": "NVB0B5_ALLOCATION_PARAMETERS_VERSION_1",
    "NV2080_ENGINE_TYPE_GR0": "NV2080_ENGINE_TYPE_GR0",
    "NV2080_ENGINE_TYPE_COPY0": "NV2080_ENGINE_TYPE_COPY0",
    "NV2080_ENGINE_TYPE_COPY10?": "NV2080_ENGINE_TYPE_COPY10",
    "NV_CHANNELGPFIFO_NOTIFICATION_TYPE_ERROR": "NV_CHANNELGPFIFO_NOTIFICATION_TYPE_ERROR",
    "NV_CHANNELGPFIFO_NOTIFICATION_TYPE__SIZE_1": "NV_CHANNELGPFIFO_NOTIFICATION_TYPE__SIZE_1",
    "ROBUST_CHANNEL_GR_EXCEPTION": "ROBUST_CHANNEL_GR_EXCEPTION",
    "ROBUST_CHANNEL_FIFO_ERROR_MMU_ERR_FLT": "ROBUST_CHANNEL_FIFO_ERROR_MMU_ERR_FLT",
    "ROBUST_CHANNEL_PBDMA_ERROR": "ROBUST_CHANNEL_PBDMA_ERROR",
    "ROBUST_CHANNEL_CE0_ERROR": "ROBUST_CHANNEL_CE0_ERROR",
    "ROBUST_CHANNEL_PREEMPTIVE_REMOVAL": "ROBUST_CHANNEL_PREEMPTIVE_REMOVAL",
    # interrupts (§12): the kernel interrupt table control, and the engine indices its entries name
    "NV2080_CTRL_CMD_INTERNAL_INTR_GET_KERNEL_TABLE": "NV2080_CTRL_CMD_INTERNAL_INTR_GET_KERNEL_TABLE",
    "NV2080_CTRL_INTERNAL_INTR_MAX_TABLE_SIZE": "NV2080_CTRL_INTERNAL_INTR_MAX_TABLE_SIZE",
    "NV2080_INTR_INVALID_SUBTREE": "NV2080_INTR_INVALID_SUBTREE",
    "NV_INTR_VECTOR_INVALID": "NV_INTR_VECTOR_INVALID",
    **{f"MC_ENGINE_IDX_{e}": f"MC_ENGINE_IDX_{e}" for e in (
        "TMR", "DISP", "FB", "FIFO", "BUS", "PMGR", "BIF", "PRIVRING", "PMU", "CE0", "CE1", "CE2", "CE3", "CE4", "CE5",
        "CE6", "CE7", "CE8", "CE9", "LTC", "FBHUB", "HDACODEC", "GMMU", "SEC2", "FSP", "NVLINK", "GSP", "NVJPEG0",
        "REPLAYABLE_FAULT", "NON_REPLAYABLE_FAULT", "INFO_FAULT", "NVDEC0", "NVDEC1", "NVDEC2", "NVDEC3",
        "CPU_DOORBELL", "PRIV_DOORBELL", "OFA0", "GR0", "GR1", "GR2", "GR3", "GR4", "GR5", "GR6", "GR7", "MAX")},
    "MC_ENGINE_IDX_MSENC?": "MC_ENGINE_IDX_MSENC",  # NVENC0 in 535
    "MC_ENGINE_IDX_NVENC?": "MC_ENGINE_IDX_NVENC",  # NVENC0 from 545
    # the GR engine (issue 17): the context-buffer description and its indices, the promotion, the classes
    "NV2080_CTRL_CMD_INTERNAL_STATIC_KGR_GET_CONTEXT_BUFFERS_INFO":
        "NV2080_CTRL_CMD_INTERNAL_STATIC_KGR_GET_CONTEXT_BUFFERS_INFO",
    "NV2080_CTRL_INTERNAL_GR_MAX_ENGINES": "NV2080_CTRL_INTERNAL_GR_MAX_ENGINES",
    "NV2080_CTRL_INTERNAL_ENGINE_CONTEXT_PROPERTIES_ENGINE_ID_COUNT":
        "NV2080_CTRL_INTERNAL_ENGINE_CONTEXT_PROPERTIES_ENGINE_ID_COUNT",
    **{f"NV0080_CTRL_FIFO_GET_ENGINE_CONTEXT_PROPERTIES_ENGINE_ID_{e}": (
        f"NV0080_CTRL_FIFO_GET_ENGINE_CONTEXT_PROPERTIES_ENGINE_ID_{e.rstrip('?')}") for e in (
        "GRAPHICS", "VLD", "VIDEO", "MPEG", "CAPTURE", "DISPLAY", "ENCRYPTION", "POSTPROCESS", "GRAPHICS_ZCULL",
        "GRAPHICS_PM", "COMPUTE_PREEMPT", "GRAPHICS_PREEMPT", "GRAPHICS_SPILL", "GRAPHICS_PAGEPOOL",
        "GRAPHICS_BETACB", "GRAPHICS_RTV", "GRAPHICS_PATCH", "GRAPHICS_BUNDLE_CB", "GRAPHICS_PAGEPOOL_GLOBAL",
        "GRAPHICS_ATTRIBUTE_CB", "GRAPHICS_RTV_CB_GLOBAL", "GRAPHICS_GFXP_POOL", "GRAPHICS_GFXP_CTRL_BLK",
        "GRAPHICS_FECS_EVENT", "GRAPHICS_PRIV_ACCESS_MAP", "GRAPHICS_SETUP?", "COUNT")},
    "NV2080_CTRL_CMD_GPU_PROMOTE_CTX": "NV2080_CTRL_CMD_GPU_PROMOTE_CTX",
    "NV2080_CTRL_GPU_PROMOTE_CONTEXT_MAX_ENTRIES": "NV2080_CTRL_GPU_PROMOTE_CONTEXT_MAX_ENTRIES",
    **{f"NV2080_CTRL_GPU_PROMOTE_CTX_BUFFER_ID_{b}": f"NV2080_CTRL_GPU_PROMOTE_CTX_BUFFER_ID_{b}" for b in (
        "MAIN", "PM", "PATCH", "BUFFER_BUNDLE_CB", "PAGEPOOL", "ATTRIBUTE_CB", "RTV_CB_GLOBAL", "GFXP_POOL",
        "GFXP_CTRL_BLK", "FECS_EVENT", "PRIV_ACCESS_MAP", "UNRESTRICTED_PRIV_ACCESS_MAP", "GLOBAL_PRIV_ACCESS_MAP")},
    "NV2080_CTRL_GPU_INITIALIZE_CTX_APERTURE_VIDMEM": "NV2080_CTRL_GPU_INITIALIZE_CTX_APERTURE_VIDMEM",
    "NV2080_CTRL_GPU_INITIALIZE_CTX_APERTURE_COH_SYS": "NV2080_CTRL_GPU_INITIALIZE_CTX_APERTURE_COH_SYS",
    "NV2080_CTRL_GPU_INITIALIZE_CTX_APERTURE_NCOH_SYS": "NV2080_CTRL_GPU_INITIALIZE_CTX_APERTURE_NCOH_SYS",
    "NV2080_CTRL_GPU_INITIALIZE_CTX_GPU_CACHEABLE_NO": "NV2080_CTRL_GPU_INITIALIZE_CTX_GPU_CACHEABLE_NO",
    "NVA06F_SUBCHANNEL_COMPUTE": "NVA06F_SUBCHANNEL_COMPUTE",
    "NVA06F_SUBCHANNEL_3D": "NVA06F_SUBCHANNEL_3D",
    "TURING_COMPUTE_A": "TURING_COMPUTE_A",
    "AMPERE_COMPUTE_A": "AMPERE_COMPUTE_A",
    "AMPERE_COMPUTE_B": "AMPERE_COMPUTE_B",
    "ADA_COMPUTE_A": "ADA_COMPUTE_A",
    "HOPPER_COMPUTE_A": "HOPPER_COMPUTE_A",
    "BLACKWELL_COMPUTE_A?": "BLACKWELL_COMPUTE_A",
    "BLACKWELL_COMPUTE_B?": "BLACKWELL_COMPUTE_B",
    "TURING_A": "TURING_A",
    "AMPERE_A": "AMPERE_A",
    "AMPERE_B": "AMPERE_B",
    "ADA_A": "ADA_A",
    "HOPPER_A": "HOPPER_A",
    "BLACKWELL_A?": "BLACKWELL_A",
    "BLACKWELL_B?": "BLACKWELL_B",
    # the vGPU manager (issue 19): its controls and limits
    "NV2080_CTRL_CMD_VGPU_MGR_INTERNAL_BOOTLOAD_GSP_VGPU_PLUGIN_TASK":
        "NV2080_CTRL_CMD_VGPU_MGR_INTERNAL_BOOTLOAD_GSP_VGPU_PLUGIN_TASK",
    "NV2080_CTRL_CMD_VGPU_MGR_INTERNAL_SHUTDOWN_GSP_VGPU_PLUGIN_TASK":
        "NV2080_CTRL_CMD_VGPU_MGR_INTERNAL_SHUTDOWN_GSP_VGPU_PLUGIN_TASK",
    "NV2080_CTRL_CMD_VGPU_MGR_INTERNAL_VGPU_PLUGIN_CLEANUP": "NV2080_CTRL_CMD_VGPU_MGR_INTERNAL_VGPU_PLUGIN_CLEANUP",
    "NV2080_CTRL_CMD_VGPU_MGR_INTERNAL_PGPU_ADD_VGPU_TYPE": "NV2080_CTRL_CMD_VGPU_MGR_INTERNAL_PGPU_ADD_VGPU_TYPE",
    "NV2080_CTRL_CMD_GPU_GET_VMMU_SEGMENT_SIZE": "NV2080_CTRL_CMD_GPU_GET_VMMU_SEGMENT_SIZE",
    "NV2080_CTRL_GPU_VMMU_SEGMENT_SIZE_32MB": "NV2080_CTRL_GPU_VMMU_SEGMENT_SIZE_32MB",
    "NV2080_CTRL_GPU_VMMU_SEGMENT_SIZE_64MB": "NV2080_CTRL_GPU_VMMU_SEGMENT_SIZE_64MB",
    "NV2080_CTRL_GPU_VMMU_SEGMENT_SIZE_128MB": "NV2080_CTRL_GPU_VMMU_SEGMENT_SIZE_128MB",
    "NV2080_CTRL_GPU_VMMU_SEGMENT_SIZE_256MB": "NV2080_CTRL_GPU_VMMU_SEGMENT_SIZE_256MB",
    "NV2080_CTRL_GPU_VMMU_SEGMENT_SIZE_512MB": "NV2080_CTRL_GPU_VMMU_SEGMENT_SIZE_512MB",
    "NV2080_GPU_MAX_ENGINES": "NV2080_GPU_MAX_ENGINES",
    "NV2080_CTRL_MAX_VMMU_SEGMENTS": "NV2080_CTRL_MAX_VMMU_SEGMENTS",
    "NVA081_VGPU_CONFIG": "NVA081_VGPU_CONFIG",
    "NVA081_MAX_VGPU_TYPES_PER_PGPU": "NVA081_MAX_VGPU_TYPES_PER_PGPU",
    "NVA081_MAX_VGPU_PER_PGPU": "NVA081_MAX_VGPU_PER_PGPU",
    "NVA081_VGPU_STRING_BUFFER_SIZE": "NVA081_VGPU_STRING_BUFFER_SIZE",
    "NVA081_CTRL_VGPU_CONFIG_INVALID_TYPE": "NVA081_CTRL_VGPU_CONFIG_INVALID_TYPE",
}

#: prefixes of the RPC function and event enumerators (anonymous enums in rpc_global_enums.h)
FUNCTION_PREFIX = "NV_VGPU_MSG_FUNCTION_"
EVENT_PREFIX = "NV_VGPU_MSG_EVENT_"


class GenError(Exception):
    """The headers or the tools did not give what the generator needs."""


# -- sources -----------------------------------------------------------------------------------------


def git(source: Path, *args: str, binary: bool = False) -> Any:
    try:
        out = subprocess.run(["git", "-C", str(source), *args], check=True, capture_output=True)
    except subprocess.CalledProcessError as e:
        raise GenError(f"git {' '.join(args)} in {source}: {e.stderr.decode(errors='replace').strip()}") from None
    return out.stdout if binary else out.stdout.decode().strip()


def extract(source: Path, tag: str, dest: Path) -> str:
    """Unpack the headers of ``tag`` into ``dest``; return the tag's commit."""
    commit = str(git(source, "rev-parse", f"{tag}^{{commit}}"))
    archive = git(source, "archive", "--format=tar", tag, *ARCHIVE_PATHS, binary=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return commit


def makefile_flags(tree: Path) -> list[str]:
    """``-include``/``-I``/``-D`` flags of the release's own RM build (src/nvidia/Makefile)."""
    text = (tree / "src/nvidia/Makefile").read_text()
    flags: list[str] = []
    for line in text.splitlines():
        m = re.match(r"^CFLAGS \+= (-include|-I|-D)\s*(\S+)\s*$", line)
        if not m:
            continue
        opt, arg = m.groups()
        arg = arg.replace("$(SRC_COMMON)", str(tree / "src/common"))
        if opt in ("-I", "-include") and not arg.startswith("/"):
            arg = str(tree / "src/nvidia" / arg)
        if opt == "-D" and "MBEDTLS" in arg:
            continue
        flags += [opt, arg] if opt != "-D" else [f"-D{arg}"]
    if not flags:
        raise GenError(f"no CFLAGS found in {tree / 'src/nvidia/Makefile'}")
    return flags


def probe_source() -> str:
    lines = [PROBE_INCLUDES, "#define NOVA_U64(sym, expr) "
             "const unsigned long long sym __attribute__((used)) = (unsigned long long)(expr);"]
    for name, expr in CONSTANTS.items():
        pyname = name.rstrip("?")
        macro = expr.split("(")[0]
        lines.append(f"#ifdef {macro}\nNOVA_U64(nova_const_{pyname}, {expr})\n#endif")
    # every NV_STATUS code, with its text
    lines.append("#undef NV_STATUS_CODE\n#undef SDK_NVSTATUSCODES_H\n"
                 "#define NV_STATUS_CODE(name, code, string) NOVA_U64(nova_status_##name, code) "
                 "const char nova_statustext_##name[] __attribute__((used)) = string;\n"
                 '#include "nvstatuscodes.h"')
    return "\n".join(lines) + "\n"


def compile_probe(tree: Path, work: Path) -> tuple[Path, list[Path]]:
    src = work / "nova_probe.c"
    obj = work / "nova_probe.o"
    dep = work / "nova_probe.d"
    src.write_text(probe_source())
    cmd = ["gcc", "-c", "-g", "-gdwarf-5", "-O0", "-fno-eliminate-unused-debug-types", "-w",
           *makefile_flags(tree), "-MD", "-MF", str(dep), "-o", str(obj), str(src)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode:
        raise GenError(f"gcc failed on the probe:\n{res.stderr[-4000:]}\n(command: {shlex.join(cmd)})")
    deps = dep.read_text().replace("\\\n", " ").split(":", 1)[1].split()
    inputs = sorted({Path(p).resolve() for p in deps if Path(p).resolve().is_relative_to(tree.resolve())})
    return obj, inputs


def inputs_digest(tree: Path, inputs: list[Path]) -> str:
    h = hashlib.sha256()
    for p in inputs:
        h.update(str(p.relative_to(tree.resolve())).encode() + b"\0")
        h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def generator_digest() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


# -- DWARF -> type model ------------------------------------------------------------------------------


@dataclasses.dataclass
class Scalar:
    ctype: str
    size: int


@dataclasses.dataclass
class Array:
    elem: Any
    dims: list[int]

    @property
    def size(self) -> int:
        n = self.elem.size
        for d in self.dims:
            n *= d
        return n


@dataclasses.dataclass
class Member:
    name: str
    offset: int  #: bytes; for a bit-field: of its storage unit
    type: Any
    bits: int = 0  #: bit-field width (0: not a bit-field)
    bit_offset: int = 0  #: bit-field: first bit within the storage unit (little-endian numbering)


@dataclasses.dataclass
class Record:
    kind: str  # "struct" | "union"
    name: str
    size: int
    members: list[Member] = dataclasses.field(default_factory=list)
    anonymous: list[str] = dataclasses.field(default_factory=list)
    done: bool = False


_BASE = {  # (encoding, size) -> ctypes name
    ("signed", 1): "c_int8", ("signed", 2): "c_int16", ("signed", 4): "c_int32", ("signed", 8): "c_int64",
    ("unsigned", 1): "c_uint8", ("unsigned", 2): "c_uint16", ("unsigned", 4): "c_uint32",
    ("unsigned", 8): "c_uint64", ("signed_char", 1): "c_char", ("unsigned_char", 1): "c_uint8",
    ("boolean", 1): "c_bool", ("float", 4): "c_float", ("float", 8): "c_double",
}
_ATE = {0x2: "boolean", 0x4: "float", 0x5: "signed", 0x6: "signed_char", 0x7: "unsigned", 0x8: "unsigned_char"}


class Dwarf:
    def __init__(self, obj: Path) -> None:
        self._f = open(obj, "rb")  # noqa: SIM115 - the ELFFile reads lazily
        self.elf = ELFFile(self._f)
        dwarf = self.elf.get_dwarf_info()
        self.named: dict[str, DIE] = {}
        self.enum_values: dict[str, dict[str, int]] = {}
        self.anon_enums: list[dict[str, int]] = []
        for cu in dwarf.iter_CUs():
            for die in cu.iter_DIEs():
                if die.tag in ("DW_TAG_typedef", "DW_TAG_structure_type", "DW_TAG_union_type",
                               "DW_TAG_enumeration_type"):
                    if "DW_AT_declaration" in die.attributes:
                        continue
                    name = _name(die)
                    if name and name not in self.named:
                        self.named[name] = die
                    if die.tag == "DW_TAG_enumeration_type":
                        values = {_name(c) or "": int(c.attributes["DW_AT_const_value"].value)
                                  for c in die.iter_children() if c.tag == "DW_TAG_enumerator"}
                        if name:
                            self.enum_values.setdefault(name, values)
                        else:
                            self.anon_enums.append(values)
        self.records: dict[int, Record] = {}
        self.order: list[Record] = []
        self._names: dict[str, int] = {}

    def symbols(self) -> dict[str, bytes]:
        symtab = self.elf.get_section_by_name(".symtab")
        out: dict[str, bytes] = {}
        for sym in symtab.iter_symbols():
            if not sym.name.startswith("nova_") or sym["st_shndx"] in ("SHN_UNDEF", "SHN_ABS"):
                continue
            sec = self.elf.get_section(sym["st_shndx"])
            data = sec.data()
            out[sym.name] = bytes(data[sym["st_value"]:sym["st_value"] + sym["st_size"]])
        return out

    def type_of(self, die: DIE, hint: str) -> Any:
        """The model of the type ``die`` (hint: a name for an anonymous record)."""
        typedef_name = None
        while True:
            if die.tag in ("DW_TAG_const_type", "DW_TAG_volatile_type", "DW_TAG_atomic_type"):
                die = die.get_DIE_from_attribute("DW_AT_type")
            elif die.tag == "DW_TAG_typedef":
                typedef_name = typedef_name or _name(die)
                die = die.get_DIE_from_attribute("DW_AT_type")
            else:
                break
        if die.tag == "DW_TAG_base_type":
            enc = _ATE.get(int(die.attributes["DW_AT_encoding"].value))
            size = int(die.attributes["DW_AT_byte_size"].value)
            ctype = _BASE.get((enc or "", size))
            if ctype is None:
                raise GenError(f"base type {_name(die)!r} ({enc}, {size} bytes) has no ctypes equivalent")
            return Scalar(ctype, size)
        if die.tag == "DW_TAG_enumeration_type":
            size = int(die.attributes["DW_AT_byte_size"].value)
            return Scalar({1: "c_uint8", 2: "c_uint16", 4: "c_uint32", 8: "c_uint64"}[size], size)
        if die.tag == "DW_TAG_pointer_type":
            return Scalar("c_uint64", 8)  # a CPU pointer inside a structure: kept as its bits
        if die.tag == "DW_TAG_array_type":
            elem = self.type_of(die.get_DIE_from_attribute("DW_AT_type"), hint)
            dims = []
            for sub in die.iter_children():
                if sub.tag != "DW_TAG_subrange_type":
                    continue
                if "DW_AT_count" in sub.attributes:
                    dims.append(int(sub.attributes["DW_AT_count"].value))
                elif "DW_AT_upper_bound" in sub.attributes:
                    dims.append(int(sub.attributes["DW_AT_upper_bound"].value) + 1)
                else:
                    dims.append(0)  # flexible array member
            return Array(elem, dims)
        if die.tag in ("DW_TAG_structure_type", "DW_TAG_union_type"):
            if typedef_name in OPAQUE or _name(die) in OPAQUE:
                return Array(Scalar("c_uint8", 1), [int(die.attributes["DW_AT_byte_size"].value)])
            return self.record(die, _name(die) or typedef_name or hint)
        raise GenError(f"unsupported DWARF type {die.tag} for {hint}")

    def record(self, die: DIE, name: str) -> Record:
        rec = self.records.get(die.offset)
        if rec is not None:
            if not rec.done:
                raise GenError(f"recursive structure {name}")
            return rec
        # one Python name per distinct structure
        base, n = name, 2
        while name in self._names and self._names[name] != die.offset:
            name, n = f"{base}_{n}", n + 1
        self._names[name] = die.offset
        kind = "union" if die.tag == "DW_TAG_union_type" else "struct"
        rec = Record(kind, name, int(die.attributes["DW_AT_byte_size"].value))
        self.records[die.offset] = rec
        anon = 0
        for child in die.iter_children():
            if child.tag != "DW_TAG_member":
                continue
            mname = _name(child)
            if mname is None:
                mname = f"_anon{anon}"
                anon += 1
                rec.anonymous.append(mname)
            mtype = self.type_of(child.get_DIE_from_attribute("DW_AT_type"), f"{name}_{mname.lstrip('_')}")
            if "DW_AT_bit_size" in child.attributes:
                # DWARF 5: DW_AT_data_bit_offset counts bits from the start of the structure
                if not isinstance(mtype, Scalar) or "DW_AT_data_bit_offset" not in child.attributes:
                    raise GenError(f"{name}.{mname}: unsupported bit-field encoding")
                bit = int(child.attributes["DW_AT_data_bit_offset"].value)
                unit = (bit // (8 * mtype.size)) * mtype.size
                rec.members.append(Member(mname, unit, mtype, int(child.attributes["DW_AT_bit_size"].value),
                                          bit - 8 * unit))
                continue
            off = 0
            if "DW_AT_data_member_location" in child.attributes:
                off = int(child.attributes["DW_AT_data_member_location"].value)
            rec.members.append(Member(mname, off, mtype))
        rec.done = True
        self.order.append(rec)  # post-order: everything it contains comes first
        return rec

    def close(self) -> None:
        self._f.close()


def _name(die: DIE) -> str | None:
    attr = die.attributes.get("DW_AT_name")
    return attr.value.decode() if attr is not None else None


# -- emission ----------------------------------------------------------------------------------------


def ctype_expr(t: Any) -> str:
    if isinstance(t, Scalar):
        return f"ctypes.{t.ctype}"
    if isinstance(t, Record):
        return t.name
    if isinstance(t, Array):
        expr = ctype_expr(t.elem)
        for d in reversed(t.dims):
            expr = f"{expr} * {d}"
        return f"({expr})"
    raise GenError(f"cannot express {t!r}")


def emit_record(rec: Record) -> Iterator[str]:
    base = "ctypes.LittleEndianUnion" if rec.kind == "union" else "ctypes.LittleEndianStructure"
    yield ""
    yield ""
    head = f"class {rec.name}({base}):"
    yield f"{head}  # sizeof {rec.size:#x}" if len(head) < 100 else f"{head}\n    # sizeof {rec.size:#x}"
    yield "    _pack_ = 1"
    if rec.anonymous:
        yield f"    _anonymous_ = ({', '.join(repr(a) for a in rec.anonymous)},)"
    fields: list[str] = []
    pos = 0
    pads = 0
    end = 0
    bitpos = 0  # next free bit of the current bit-field storage unit (ctypes allocates them in order)
    for m in sorted(rec.members, key=lambda m: (m.offset, m.bit_offset)) if rec.kind == "struct" else rec.members:
        if m.bits:
            if rec.kind != "struct":
                raise GenError(f"{rec.name}.{m.name}: bit-field in a union")
            if m.offset + m.type.size == pos and m.bit_offset >= bitpos:
                if m.bit_offset > bitpos:  # unnamed gap inside the unit
                    fields.append(f'("_pad{pads}", ctypes.{m.type.ctype}, {m.bit_offset - bitpos}),')
                    pads += 1
            else:
                if m.offset < pos:
                    raise GenError(f"{rec.name}.{m.name}: bit-field storage overlaps the previous member")
                if m.offset > pos:
                    fields.append(f'("_pad{pads}", ctypes.c_uint8 * {m.offset - pos}),  # +{pos:#x}')
                    pads += 1
                if m.bit_offset:
                    fields.append(f'("_pad{pads}", ctypes.{m.type.ctype}, {m.bit_offset}),')
                    pads += 1
                pos = m.offset + m.type.size
            bitpos = m.bit_offset + m.bits
            end = max(end, pos)
            fields.append(f'("{m.name}", ctypes.{m.type.ctype}, {m.bits}),  # +{m.offset:#x} bits '
                          f'{m.bit_offset + m.bits - 1}:{m.bit_offset}')
            continue
        bitpos = 0
        if rec.kind == "struct":
            if m.offset < pos:
                raise GenError(f"{rec.name}.{m.name} at {m.offset:#x} overlaps the previous member")
            if m.offset > pos:
                fields.append(f'("_pad{pads}", ctypes.c_uint8 * {m.offset - pos}),  # +{pos:#x}')
                pads += 1
            pos = m.offset + m.type.size
        end = max(end, m.offset + m.type.size)
        fields.append(f'("{m.name}", {ctype_expr(m.type)}),  # +{m.offset:#x}')
    if end > rec.size:
        raise GenError(f"{rec.name}: members end at {end:#x}, past sizeof {rec.size:#x}")
    if end < rec.size:
        if rec.kind == "struct":
            fields.append(f'("_pad{pads}", ctypes.c_uint8 * {rec.size - end}),  # +{end:#x}')
        else:
            fields.append(f'("_size", ctypes.c_uint8 * {rec.size}),')
    yield "    _fields_ = ["
    for f in fields:
        line = f"        {f}"
        if len(line) <= 120:
            yield line
            continue
        body, _, comment = f.rpartition("),")
        name, _, rest = body[1:].partition(", ")
        yield f"        (  {comment.strip()}"
        yield f"            {name},"
        yield f"            {rest},"
        yield "        ),"
    yield "    ]"


def verify(version: str, text: str, order: list[Record]) -> None:
    """Load the generated module and check every structure against the DWARF layout, byte for byte."""
    import ctypes

    ns: dict[str, Any] = {}
    exec(compile(text, f"<{version} bindings>", "exec"), ns)
    for rec in order:
        cls = ns[rec.name]
        if ctypes.sizeof(cls) != rec.size:
            raise GenError(f"{version}: ctypes sizeof({rec.name}) = {ctypes.sizeof(cls):#x}, gcc says {rec.size:#x}")
        for m in rec.members:
            field = getattr(cls, m.name)
            if not m.bits:
                if field.offset != m.offset or field.size != m.type.size:
                    raise GenError(f"{version}: {rec.name}.{m.name} at {field.offset:#x}+{field.size:#x}, "
                                   f"gcc says {m.offset:#x}+{m.type.size:#x}")
                continue
            probe = cls()
            setattr(probe, m.name, (1 << m.bits) - 1)
            raw = int.from_bytes(bytes(probe), "little")
            want = ((1 << m.bits) - 1) << (8 * m.offset + m.bit_offset)
            if raw != want:
                raise GenError(f"{version}: bit-field {rec.name}.{m.name} lands on mask {raw:#x}, gcc says {want:#x}")


def generate(version: str, tree: Path, commit: str, work: Path) -> str:
    obj, inputs = compile_probe(tree, work)
    dw = Dwarf(obj)
    try:
        roots: list[tuple[str, Record]] = []
        for root in ROOTS:
            name = root.rstrip("?")
            die = dw.named.get(name)
            if die is None:
                if root.endswith("?"):
                    continue
                raise GenError(f"{version}: structure {name} not found in the headers")
            t = dw.type_of(die, name)
            if not isinstance(t, Record):
                raise GenError(f"{version}: {name} is not a structure")
            roots.append((name, t))
        syms = dw.symbols()
        consts: dict[str, int] = {}
        for name, expr in CONSTANTS.items():
            pyname = name.rstrip("?")
            raw = syms.get(f"nova_const_{pyname}")
            if raw is None:
                if name.endswith("?"):
                    continue
                raise GenError(f"{version}: macro for {pyname} ({expr}) is not defined")
            consts[pyname] = int.from_bytes(raw, "little")
        status: dict[str, tuple[int, str]] = {}
        for sym, raw in syms.items():
            if sym.startswith("nova_status_"):
                sname = sym[len("nova_status_"):]
                text = syms[f"nova_statustext_{sname}"].rstrip(b"\0").decode()
                status[sname] = (int.from_bytes(raw, "little") & 0xFFFFFFFF, text)
        functions = events = None
        for values in dw.anon_enums:
            if f"{FUNCTION_PREFIX}NOP" in values:
                functions = values
            if f"{EVENT_PREFIX}FIRST_EVENT" in values:
                events = values
        if functions is None or events is None:
            raise GenError(f"{version}: RPC function/event enums not found (rpc_global_enums.h)")
        enums = {}
        for e in ENUMS:
            if e not in dw.enum_values:
                die = dw.named.get(e)
                while die is not None and die.tag == "DW_TAG_typedef":
                    die = die.get_DIE_from_attribute("DW_AT_type")
                if die is None or die.tag != "DW_TAG_enumeration_type":
                    raise GenError(f"{version}: enum {e} not found")
                dw.enum_values[e] = {_name(c) or "": int(c.attributes["DW_AT_const_value"].value)
                                     for c in die.iter_children() if c.tag == "DW_TAG_enumerator"}
            enums[e] = dw.enum_values[e]
        order = list(dw.order)
    finally:
        dw.close()

    out: list[str] = []
    w = out.append
    w(f'"""GSP-RM {version} firmware ABI: structures and constants (generated: do not edit).')
    w("")
    w(f"Generated by ``tools/gen_bindings.py`` from {SOURCE_REPO} tag {version}")
    w(f"(commit {commit[:12]}): the headers were compiled with gcc with the flags of that release's")
    w("src/nvidia/Makefile, and these layouts and values read back from the DWARF debug information and")
    w("the object's symbols. Every structure has explicit offsets (``_pack_ = 1`` and explicit padding).")
    w('"""')
    w("")
    w("from __future__ import annotations")
    w("")
    w("import ctypes")
    w("")
    w(f'VERSION = "{version}"')
    w(f'SOURCE = "{SOURCE_REPO}"')
    w(f'SOURCE_TAG = "{version}"')
    w(f'SOURCE_COMMIT = "{commit}"')
    w(f'GENERATOR_SHA256 = "{generator_digest()}"')
    w(f'INPUTS_SHA256 = "{inputs_digest(tree, inputs)}"  # the {len(inputs)} header files gcc read')
    w("")
    w("# -- constants (macros) " + "-" * 77)
    w("")
    for name, value in consts.items():
        w(f"{name} = {value:#x}")
    w("")
    w("# -- enumerations " + "-" * 83)
    for e, values in enums.items():
        w("")
        w(f"# {e}")
        for k, v in values.items():
            w(f"{k} = {v:#x}")
    w("")
    w("#: RPC functions (CPU -> GSP), NV_VGPU_MSG_FUNCTION_* without the prefix")
    w("FUNCTIONS: dict[str, int] = {")
    for k, v in functions.items():
        w(f'    "{k[len(FUNCTION_PREFIX):]}": {v},')
    w("}")
    w("")
    w("#: RPC events (GSP -> CPU), NV_VGPU_MSG_EVENT_* without the prefix")
    w("EVENTS: dict[str, int] = {")
    for k, v in events.items():
        w(f'    "{k[len(EVENT_PREFIX):]}": {v:#x},')
    w("}")
    w("")
    w("#: NV_STATUS code -> (name, text), from nvstatuscodes.h")
    w("NV_STATUS: dict[int, tuple[str, str]] = {")
    for sname, (code, text) in sorted(status.items(), key=lambda kv: (kv[1][0], kv[0])):
        line = f"    {code:#010x}: ({sname!r}, {text!r}),"
        if len(line) <= 120:
            w(line)
            continue
        w(f"    {code:#010x}: (")
        w(f"        {sname!r},")
        for i, chunk in enumerate(textwrap.wrap(text, 100, drop_whitespace=False)):
            w(f"        {chunk!r}" + ("," if i == len(textwrap.wrap(text, 100, drop_whitespace=False)) - 1 else ""))
        w("    ),")
    w("}")
    w("")
    w("# -- structures " + "-" * 85)
    for rec in order:
        out.extend(emit_record(rec))
    aliases = [(n, r.name) for n, r in roots if n != r.name]
    if aliases:
        w("")
        w("")
        w("# -- the names the RPC layer uses " + "-" * 67)
        w("")
        for alias, target in aliases:
            w(f"{alias} = {target}")
    w("")
    w("#: the structures above by the names the version-neutral layer looks up")
    w("ROOTS: dict[str, type[ctypes.Structure] | type[ctypes.Union]] = {")
    for n, _ in roots:
        line = f'    "{n}": {n},'
        w(line if len(line) <= 120 else f'    "{n}":\n        {n},')
    w("}")
    text = "\n".join(out) + "\n"
    verify(version, text, order)
    for line_no, line in enumerate(text.splitlines(), 1):
        if len(line) > 120:
            raise GenError(f"{version}: generated line {line_no} is longer than 120 characters: {line[:60]}...")
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--source", default=os.environ.get("NOVA_OGKM"),
                    help="a clone of NVIDIA/open-gpu-kernel-modules with the release tags (default $NOVA_OGKM)")
    ap.add_argument("--version", action="append", choices=sorted(VERSIONS), help="only these (default: all)")
    ap.add_argument("--out", type=Path, default=OUT_DIR, help="output directory")
    ap.add_argument("--check", action="store_true", help="compare with the committed modules, write nothing")
    args = ap.parse_args(argv)
    if not args.source:
        ap.error("no --source (and NOVA_OGKM is not set)")
    source = Path(args.source)
    changed = 0
    for version in args.version or sorted(VERSIONS):
        with tempfile.TemporaryDirectory(prefix="nova-ogkm-") as tmp:
            tree = Path(tmp) / "tree"
            tree.mkdir()
            work = Path(tmp) / "work"
            work.mkdir()
            commit = extract(source, version, tree)
            text = generate(version, tree, commit, work)
        target = args.out / f"{VERSIONS[version]}.py"
        old = target.read_text() if target.exists() else None
        if old == text:
            print(f"{target}: up to date")
            continue
        changed += 1
        if args.check:
            print(f"{target}: differs from what the {version} headers give", file=sys.stderr)
        else:
            target.write_text(text)
            print(f"{target}: written ({len(text.splitlines())} lines)")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except GenError as e:
        print(f"gen_bindings: {e}", file=sys.stderr)
        sys.exit(1)
