"""nova_core.engines.gr: the GR engine - context buffers, the golden context, compute objects on channels.

==============  ================================================================================================
module          what
==============  ================================================================================================
``facts``       compute and 3D classes per chip, compute-class methods, context-buffer ids (the description's
                and the promotion's), which buffers are global / initialized / read-only - with their sources
``context``     :class:`~.context.Graphics` (``gpu.gr``): GSP-RM's context-buffer description
                (NV2080_CTRL_CMD_INTERNAL_STATIC_KGR_GET_CONTEXT_BUFFERS_INFO), the golden context made once per
                device, and each channel's buffers allocated, mapped and promoted (NV2080_CTRL_CMD_GPU_PROMOTE_CTX)
``compute``     :class:`~.compute.ComputeEngine` (``channel.compute()``): the chip's compute class on a channel,
                its report semaphore (fences on a compute channel), shader launches
==============  ================================================================================================

This package's ``__init__`` imports nothing (the pushbuffer layer reads :mod:`.facts` without pulling the FIFO in).
From a REPL::

    gpu = nova_core.boot_sim("ga102")
    with gpu.channels.open("gr0") as ch:             # a channel on GR (its own address space)
        compute = ch.compute()                      # golden context (once), buffers promoted, AMPERE_COMPUTE_B
        sem = ch.vaspace.alloc_sysmem(4096)
        compute.semaphore_release(sem, 42).wait()   # SET_REPORT_SEMAPHORE_A..D, then the channel's fence
    gpu.gr.golden_context().as_json()               # the buffers of the golden context, promoted
"""
