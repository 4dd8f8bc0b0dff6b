"""nova_core.debugfs: a read-only, debugfs-like view of booted devices, and its FUSE mount (``nova mount``).

- :mod:`.tree`  the filesystem logic: directories and files whose contents are produced when read, from an
  :class:`~.tree.ExportSource` (a booted :class:`~nova_core.gsp.boot.GspDevice` is one) - testable without FUSE;
- :mod:`.fuse`  the glue to libfuse through mfusepy: read-only, foreground, unmounted on SIGINT/SIGTERM.
"""

from __future__ import annotations

from .tree import ExportSource, ExportTree, NotFound

__all__ = ["ExportSource", "ExportTree", "NotFound"]
