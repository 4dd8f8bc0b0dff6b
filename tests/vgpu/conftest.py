"""Fixtures of the vGPU tests (the bench itself is :mod:`vgpu_bench`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from vgpu_bench import Bench, open_bench


@pytest.fixture
def bench() -> Iterator[Bench]:
    """An L40 (AD102's vGPU board, GSP-RM 535.113.01 synthetic) with 4 VFs enabled and its types loaded."""
    b = open_bench()
    try:
        yield b
    finally:
        b.core.shutdown()
