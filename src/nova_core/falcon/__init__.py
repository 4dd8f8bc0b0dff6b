"""nova_core.falcon: the falcon microcontrollers (GSP, SEC2): reset, PIO/DMA load, HS boot, mailboxes, RISC-V.

- :mod:`.facts`    engines (base, engine-id mask), block size, the 49-bit DMA limit;
- :mod:`.ucode`    :class:`FalconUcode`: IMEM/DMEM segments with tags and secure flags, boot vector, BROM
  parameters; built from a vBIOS ``FwsecImage`` or a firmware ``HsLoadLayout`` with ``from_layout``;
- :mod:`.hal`      the TU102 (Turing, GA100) and GA102+ behaviours, chosen from ``CHIPS[chip].falcon_hal``;
- :mod:`.engine`   :class:`Falcon`: one engine at any base;
- :mod:`.engines`  the GSP and SEC2 falcons of a device, and the refusal of the SEC2 path on FSP chips.

From a REPL, against the simulated GPU::

    >>> from nova_core.sim import SimGpu
    >>> from nova_core.falcon import sec2_falcon
    >>> gpu = SimGpu("ga102"); dev = gpu.device()
    >>> sec2 = sec2_falcon(dev, gpu.chipset)
    >>> sec2.reset(); sec2.fuse_version(0x1, 3)
    0
"""

from __future__ import annotations

from .engine import HALT_TIMEOUT, Falcon
from .engines import falcon, gsp_falcon, require_sec2_boot_path, sec2_falcon
from .facts import ENGINE_ID_MASK_GSP, ENGINE_ID_MASK_NVDEC, ENGINE_ID_MASK_SEC2, FalconEngine
from .hal import FalconHalOps, LoadMethod, falcon_hal
from .ucode import BromParams, FalconUcode, LoadLayout, UcodeSegment

__all__ = [
    "ENGINE_ID_MASK_GSP",
    "ENGINE_ID_MASK_NVDEC",
    "ENGINE_ID_MASK_SEC2",
    "HALT_TIMEOUT",
    "BromParams",
    "Falcon",
    "FalconEngine",
    "FalconHalOps",
    "FalconUcode",
    "LoadLayout",
    "LoadMethod",
    "UcodeSegment",
    "falcon",
    "falcon_hal",
    "gsp_falcon",
    "require_sec2_boot_path",
    "sec2_falcon",
]
