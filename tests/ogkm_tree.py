"""Where NVIDIA's open-gpu-kernel-modules 570.144 sources are, for the tests that compare facts with them.

``NOVA_OGKM_TREE``: an unpacked 570.144 tree (set but empty: none - what CI without the tree sees); unset, the
``ogkm/570.144`` tree beside the checkouts is used when it is there. ``NOVA_OGKM``: a git clone with the release
tags (tests that can read the headers out of it with ``git archive`` do).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PUBLISHED = "src/common/inc/swref/published"


def ogkm_570_tree(needs: str = PUBLISHED) -> Path | None:
    """The 570.144 tree holding ``needs`` (a directory inside it), or None."""
    env = os.environ.get("NOVA_OGKM_TREE")
    cands = ([env] if env else []) if env is not None else [str(REPO.parent.parent / "ogkm" / "570.144")]
    for cand in cands:
        if (Path(cand) / needs).is_dir():
            return Path(cand)
    return None


def ogkm_clone() -> str | None:
    """``NOVA_OGKM``: a clone of open-gpu-kernel-modules with the release tags, or None."""
    return os.environ.get("NOVA_OGKM") or None


def ogkm_570_source() -> str:
    """What a generator's ``--ogkm`` takes: the 570.144 tree, else the ``NOVA_OGKM`` clone. Skips the test, saying
    why, when neither is at hand, or when only a clone is and git is not installed."""
    tree = ogkm_570_tree()
    if tree is not None:
        return str(tree)
    clone = ogkm_clone()
    if not clone:
        pytest.skip("no open-gpu-kernel-modules 570.144 headers (NOVA_OGKM_TREE: a 570.144 tree; NOVA_OGKM: a clone "
                    "with the tag)")
    if shutil.which("git") is None:
        pytest.skip("git is needed to read the headers out of a clone")
    return clone
