"""Fixtures of the falcon tests: a synthetic firmware tree (535.113.01 for every chip) with generic bootloaders."""

from __future__ import annotations

from pathlib import Path

import pytest

from nova_core.sim.synth.firmware import write_firmware_tree
from nova_core.sim.synth.generic_bootloader import write_generic_bootloader


@pytest.fixture(scope="session")
def synth_fw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic linux-firmware tree: every chip's GSP files plus ``acr/bl.bin`` for Turing and GA100."""
    root = tmp_path_factory.mktemp("synthetic-chain-firmware")
    write_firmware_tree(root, version="535.113.01")
    write_generic_bootloader(root)
    return root


@pytest.fixture(scope="session")
def synth_fw_no_bl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same without generic bootloaders (FWSEC v2 is then loaded by PIO)."""
    root = tmp_path_factory.mktemp("synthetic-chain-firmware-no-bl")
    write_firmware_tree(root, version="535.113.01")
    return root
