"""Fixtures for the mm tests (see mm_helpers.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from mm_helpers import Space, make_space


@pytest.fixture(name="make_space")
def make_space_fixture() -> Callable[..., Space]:
    """Build a simulated GPU with a VRAM allocator and an address space: ``make_space("gh100")``."""
    return make_space
