"""Fixtures for the GSP tests (see gsp_helpers.make): booted simulated GPUs, threads stopped at teardown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from gsp_helpers import Booted, make


@pytest.fixture
def gsp_boot() -> Iterator[Callable[..., Booted]]:
    made: list[Booted] = []

    def factory(*args: Any, **kwargs: Any) -> Booted:
        b = make(*args, **kwargs)
        made.append(b)
        return b

    yield factory
    for b in made:
        b.gsp.stop()


@pytest.fixture
def booted(gsp_boot: Callable[..., Booted]) -> Booted:
    """GA102 on 535.113.01, past INIT_DONE."""
    return gsp_boot()
