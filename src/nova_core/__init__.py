"""nova_core: a Python driver core for NVIDIA GPUs with a GSP (Turing to Blackwell).

Layers (data flows down; nothing below imports from above)::

    cli/         the ``nova`` command;  sim_boot.py  the driver booted on the simulated GPU
    debugfs/     the read-only export of a booted device (``nova mount``)
    gsp/         GSP-RM: bindings, queues, RPCs, sequencer, boot (gsp/boot.py), clients, log rings
    falcon/      falcon engines, FWSEC, booters, the secure chain
    mm/ fb/      VRAM allocator, page tables, BAR2 instance memory; the FB/WPR2 layout
    firmware/    firmware files: ELF, headers, signatures, radix3
    vbios/ pci/  the vBIOS; PCI config space, SR-IOV, MSI
    gpu/         identification, chip facts, timer, VRAM size, devinit, probe
    regs/        every register fact, declared once
    hw/          device access: Bar, DMA, clock, polling, events, sysfs, VFIO, record/replay
    sim/         the simulated GPU, beside the driver (the driver never imports it)

Quick use from a REPL::

    >>> import nova_core
    >>> gpu = nova_core.boot_sim("ga102")     # the whole GSP bring-up on a simulated GA102
    >>> gpu.static.gpu_name
    'NVIDIA GeForce RTX 3090'
    >>> gpu.close()
"""

from __future__ import annotations

from typing import Any

from .errors import NovaError

__version__ = "0.1.0"

__all__ = ["NovaError", "__version__", "boot_sim"]


def __getattr__(name: str) -> Any:
    if name == "boot_sim":  # imported on first use: `import nova_core` stays light
        from .sim_boot import boot_sim

        return boot_sim
    raise AttributeError(f"module 'nova_core' has no attribute {name!r}")
