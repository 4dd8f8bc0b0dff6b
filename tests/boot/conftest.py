"""Boot tests: the synthetic firmware is generated once per session into a private cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="session")
def _synthetic_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``NOVA_CACHE`` -> a session directory, so the synthetic firmware set never touches the user's cache."""
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("nova-cache")
    mp.setenv("NOVA_CACHE", str(root))
    yield root
    mp.undo()
