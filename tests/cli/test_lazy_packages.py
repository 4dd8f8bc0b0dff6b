"""Packages whose public names are imported on first use (nova_core._lazy): each name resolves to the object its
module defines, also after every submodule was imported (a name shared with a submodule would be shadowed)."""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest

LAZY = ["hw", "vbios", "pci", "falcon", "fsp", "fb", "mm"]


@pytest.mark.parametrize("package", LAZY)
def test_every_public_name_is_its_modules_object(package: str) -> None:
    pkg = importlib.import_module(f"nova_core.{package}")
    for mod in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"nova_core.{package}.{mod.name}")
    assert pkg.__all__
    for name in pkg.__all__:
        value = getattr(pkg, name)
        assert not isinstance(value, types.ModuleType), (package, name)  # a submodule shadowed the name
        assert name in dir(pkg)


def test_a_missing_name_is_an_attribute_error() -> None:
    from nova_core import hw

    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = hw.nothing_here  # type: ignore[attr-defined]
    assert hw.sg.SgTable is hw.SgTable  # a submodule named as an attribute is imported
