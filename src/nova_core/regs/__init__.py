"""nova_core.regs: every register fact of the driver, declared once (see :mod:`.core`).

One module per hardware block, named after NVIDIA's unit prefix: :mod:`.pmc` (identification),
:mod:`.ptimer`, :mod:`.pbus` (scratch, BAR0 window), :mod:`.pfb` (VRAM size, WPR2), :mod:`.gc6`
(GFW boot, usable FB size), :mod:`.pdisp`, :mod:`.fuse`, :mod:`.falcon` (falcon, FBIF, falcon2/RISC-V,
one definition for GSP/SEC2/FSP), :mod:`.gsp` (GSP-only: queue heads), :mod:`.vfn` (interrupt tree),
:mod:`.prom` (the PROM and PRAMIN windows). Logic imports these names; no other module of the driver
writes a register offset as a number.

Importing this package imports every module in it (a new block is a new module, nothing else to
edit), so :data:`REGISTRY` knows all of them.
"""

from __future__ import annotations

import importlib
import pkgutil

from . import falcon, fuse, gc6, gsp, pbus, pdisp, pfb, pmc, prom, ptimer, vfn
from .core import REGISTRY, RO, RW, W1C, WO, Access, Bitfield, Domain, Field, Location, Register, Window

for _mod in pkgutil.iter_modules(__path__):
    if _mod.name != "core":
        importlib.import_module(f"{__name__}.{_mod.name}")

__all__ = [
    "REGISTRY",
    "RO",
    "RW",
    "W1C",
    "WO",
    "Access",
    "Bitfield",
    "Domain",
    "Field",
    "Location",
    "Register",
    "Window",
    "falcon",
    "fuse",
    "gc6",
    "gsp",
    "pbus",
    "pdisp",
    "pfb",
    "pmc",
    "prom",
    "ptimer",
    "vfn",
]
