"""nova_core: a Python driver core for NVIDIA GPUs with a GSP (Turing to Blackwell).

Layers (data flows down; nothing below imports from above)::

    cli/       the ``nova`` command
    gpu/       identification, chip facts, timer, VRAM size, probe
    regs/      every register fact, declared once
    hw/        device access: Bar, DMA, clock, polling, sysfs, record/replay
    sim/       the simulated GPU, beside the driver (the driver never imports it)

Quick use from a REPL::

    >>> from nova_core.sim import open_sim
    >>> from nova_core.gpu import identify
    >>> dev = open_sim("ga102")
    >>> str(identify(dev.bar0))
    'NVIDIA GA102 (Ampere, architecture 0x17), revision A1'
"""

from __future__ import annotations

from .errors import NovaError

__version__ = "0.1.0"

__all__ = ["NovaError", "__version__"]
