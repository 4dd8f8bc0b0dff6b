"""nova_core.falcon: the falcon microcontrollers (GSP, SEC2): reset, PIO/DMA load, HS boot, mailboxes, RISC-V.

- :mod:`.facts`    engines (base, engine-id mask), block size, the 49-bit DMA limit;
- :mod:`.ucode`    :class:`FalconUcode`: IMEM/DMEM segments with tags and secure flags, boot vector, BROM
  parameters; built from a vBIOS ``FwsecImage`` or a firmware ``HsLoadLayout`` with ``from_layout``;
- :mod:`.hal`      the TU102 (Turing, GA100) and GA102+ behaviours, chosen from ``CHIPS[chip].falcon_hal``;
- :mod:`.engine`   :class:`Falcon`: one engine at any base;
- :mod:`.engines`  the GSP and SEC2 falcons of a device, and the refusal of the SEC2 path on FSP chips;
- :mod:`.genbl`    the generic falcon bootloader (FWSEC v2 on Turing/GA100);
- :mod:`.fwsec`    FWSEC on the GSP falcon: FRTS (WPR2 carve-out) and SB, with their checks;
- :mod:`.booter`   the SEC2 booters: booter_load (GSP-RM starts), booter_unload (WPR2 torn down);
- :mod:`.chain`    :func:`run_secure_chain` / :func:`unload_secure_chain`, stage by stage.

A falcon may be reset only once the sysmem flush page is registered (:mod:`nova_core.fb.sysmem_flush`: the reset
handshake flushes through it; the boot does it first). From a REPL, against the simulated GPU::

    >>> from nova_core.sim import SimGpu
    >>> from nova_core.falcon import sec2_falcon
    >>> from nova_core.fb.sysmem_flush import SysmemFlush
    >>> gpu = SimGpu("ga102"); dev = gpu.device()
    >>> flush = SysmemFlush.register(dev.bar0, dev.dma, gpu.chipset)
    >>> sec2 = sec2_falcon(dev, gpu.chipset)
    >>> sec2.reset(); sec2.fuse_version(0x1, 3)
    0
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from ..firmware.hs import BromParams
    from .booter import BooterRun, booter_load, booter_unload, prepare_gsp_riscv, start_gsp_rm
    from .chain import (
        LOAD_STAGES,
        UNLOAD_STAGES,
        ChainError,
        ChainResult,
        Stage,
        UnloadResult,
        run_secure_chain,
        unload_secure_chain,
    )
    from .engine import HALT_TIMEOUT, Falcon
    from .engines import SequencerCores, falcon, gsp_falcon, require_sec2_boot_path, sec2_falcon
    from .facts import ENGINE_ID_MASK_GSP, ENGINE_ID_MASK_NVDEC, ENGINE_ID_MASK_SEC2, FalconEngine
    from .fwsec import FwsecRun, Wpr2, Wpr2Error, fwsec_frts, fwsec_sb, read_wpr2, run_fwsec
    from .genbl import BlDmemDesc, GenericBootloader, find_generic_bootloader
    from .hal import FalconHalOps, LoadMethod, falcon_hal
    from .ucode import FalconUcode, LoadLayout, UcodeSegment

__getattr__, __dir__ = lazy_exports(__name__, {
    "BromParams": "..firmware.hs",
    "BooterRun": ".booter",
    "booter_load": ".booter",
    "booter_unload": ".booter",
    "prepare_gsp_riscv": ".booter",
    "start_gsp_rm": ".booter",
    "LOAD_STAGES": ".chain",
    "UNLOAD_STAGES": ".chain",
    "ChainError": ".chain",
    "ChainResult": ".chain",
    "Stage": ".chain",
    "UnloadResult": ".chain",
    "run_secure_chain": ".chain",
    "unload_secure_chain": ".chain",
    "HALT_TIMEOUT": ".engine",
    "Falcon": ".engine",
    "SequencerCores": ".engines",
    "falcon": ".engines",
    "gsp_falcon": ".engines",
    "require_sec2_boot_path": ".engines",
    "sec2_falcon": ".engines",
    "ENGINE_ID_MASK_GSP": ".facts",
    "ENGINE_ID_MASK_NVDEC": ".facts",
    "ENGINE_ID_MASK_SEC2": ".facts",
    "FalconEngine": ".facts",
    "FwsecRun": ".fwsec",
    "Wpr2": ".fwsec",
    "Wpr2Error": ".fwsec",
    "fwsec_frts": ".fwsec",
    "fwsec_sb": ".fwsec",
    "read_wpr2": ".fwsec",
    "run_fwsec": ".fwsec",
    "BlDmemDesc": ".genbl",
    "GenericBootloader": ".genbl",
    "find_generic_bootloader": ".genbl",
    "FalconHalOps": ".hal",
    "LoadMethod": ".hal",
    "falcon_hal": ".hal",
    "FalconUcode": ".ucode",
    "LoadLayout": ".ucode",
    "UcodeSegment": ".ucode",
})

__all__ = [
    "ENGINE_ID_MASK_GSP",
    "ENGINE_ID_MASK_NVDEC",
    "ENGINE_ID_MASK_SEC2",
    "HALT_TIMEOUT",
    "LOAD_STAGES",
    "UNLOAD_STAGES",
    "BlDmemDesc",
    "BooterRun",
    "BromParams",
    "ChainError",
    "ChainResult",
    "Falcon",
    "FalconEngine",
    "FalconHalOps",
    "FalconUcode",
    "FwsecRun",
    "GenericBootloader",
    "LoadLayout",
    "LoadMethod",
    "SequencerCores",
    "Stage",
    "UcodeSegment",
    "UnloadResult",
    "Wpr2",
    "Wpr2Error",
    "booter_load",
    "booter_unload",
    "falcon",
    "falcon_hal",
    "find_generic_bootloader",
    "fwsec_frts",
    "fwsec_sb",
    "gsp_falcon",
    "prepare_gsp_riscv",
    "read_wpr2",
    "require_sec2_boot_path",
    "run_fwsec",
    "run_secure_chain",
    "sec2_falcon",
    "start_gsp_rm",
    "unload_secure_chain",
]
