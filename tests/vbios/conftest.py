"""Fixtures of the vBIOS tests (helpers in vbios_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from vbios_helpers import ManifestRom, read_manifest


@pytest.fixture
def manifest(vbios_path: Path) -> dict[str, ManifestRom]:
    """The MANIFEST.tsv facts of the real ROMs, by file name."""
    return read_manifest(vbios_path)
