"""nova_core._lazy: a package's public names, imported from their modules on first use.

A package ``__init__`` that re-exports names from its modules would import every one of them - and what they
import (numpy, the boot sequence) - as soon as any module of the package is imported. Instead it declares where
each name lives::

    if TYPE_CHECKING:  # what type checkers and readers see
        from .bar import Bar
    __getattr__, __dir__ = lazy_exports(__name__, {"Bar": ".bar"})

``from nova_core.hw import Bar`` then imports ``nova_core.hw.bar`` at that moment (PEP 562); a submodule named as
an attribute (``nova_core.hw.sg``) is imported the same way.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``exports`` maps a public name to its relative module."""

    def __getattr__(name: str) -> Any:
        where = exports.get(name)
        if where is not None:
            value = getattr(importlib.import_module(where, package), name)
        else:
            try:
                value = importlib.import_module(f"{package}.{name}")
            except ModuleNotFoundError as e:
                if e.name != f"{package}.{name}":
                    raise
                raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        setattr(sys.modules[package], name, value)  # found once: later lookups are plain attributes
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
