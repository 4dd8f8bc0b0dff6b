"""Fixtures of the firmware tests: a synthetic linux-firmware tree, and helpers over the real one."""

from __future__ import annotations

from pathlib import Path

import pytest

from nova_core.sim import SimGpu
from nova_core.sim.synth.firmware import write_firmware_tree


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic 535.113.01 tree for every chip (and 570.144 for every chip), with its manifest."""
    root = tmp_path_factory.mktemp("synthetic-firmware")
    write_firmware_tree(root, version="535.113.01")
    write_firmware_tree(root, version="570.144")
    return root


@pytest.fixture
def ga102() -> SimGpu:
    return SimGpu("ga102")
