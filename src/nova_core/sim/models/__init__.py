"""nova_core.sim.models: the models that make up a simulated GPU beyond its register file.

Each module here is one model (a falcon, the GSP-RM peer, the MMU ...) and defines::

    NAME: str                  # key in SimGpu.models, e.g. "falcon"
    ORDER: int                 # attach order (lower first); models may look up earlier ones
    def attach(gpu: SimGpu) -> object   # install hooks on gpu.bar0, return the model object

:class:`~nova_core.sim.gpu.SimGpu` attaches every model found here when it is built, so adding a model
is adding a module.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from types import ModuleType


@functools.cache
def discover() -> tuple[ModuleType, ...]:
    """Every model module, in attach order (the package is listed once per process: a listing is syscalls, and each
    syscall hands the GIL to another thread - sixteen simulated GPUs built in threads at once would pay for it)."""
    mods = [importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__)]
    mods = [m for m in mods if hasattr(m, "attach")]
    return tuple(sorted(mods, key=lambda m: (getattr(m, "ORDER", 100), m.__name__)))
