#!/usr/bin/env python3
"""Fetch Debian's libfuse3 (and fusermount3) into a cache, without touching the system's apt.

``nova mount`` serves its debugfs-like view through FUSE with mfusepy, a ctypes binding that loads libfuse
at run time (``FUSE_LIBRARY_PATH``). A fresh machine may not have libfuse3, and installing it would change
the system, so this does what ``fetch_pciutils.py`` does: a private sources list (the system's own Debian
mirror, component ``main``), private apt state, ``apt-get download`` of pinned versions checked against
their sha256, ``dpkg-deb -x`` into ``$NOVA_CACHE/libfuse/root``.

Run alone it prints shell assignments on stdout for ``./dev`` to evaluate::

    FUSE_LIBRARY_PATH=<root>/lib/x86_64-linux-gnu/libfuse3.so.3
    NOVA_FUSERMOUNT_DIR=<root>/bin

Pinned: bookworm's 3.14.0-4 (libfuse3-3 and fuse3). amd64 only; elsewhere the fetch fails cleanly and the
FUSE mount test skips.
"""

from __future__ import annotations

import os
import platform
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fetch_artifacts import announce_download, apt_update, private_apt, run, sha256, system_mirror

PACKAGES = {
    "libfuse3-3": ("3.14.0-4", "bf535cec5e965823fd03199b4029f9e9f3952111eb12824b5d2b96c8cca1a918"),
    "fuse3": ("3.14.0-4", "63b97d9b9acf9e8346ba59e87aa36a47205f05050808f8e9087dca603fd07ab8"),
}
SUITE = "bookworm"
STAMP_VERSION = "1"


def library(root: Path) -> Path | None:
    found = sorted(root.glob("**/libfuse3.so.3"))
    return found[0] if found else None


def fetch(cache: Path) -> Path:
    """Unpack libfuse3 and fuse3 under ``cache/libfuse/root`` (cached by a stamp); returns that root."""
    base = cache / "libfuse"
    root, stamp = base / "root", base / "stamp"
    want = STAMP_VERSION + "\n" + repr(PACKAGES)
    if stamp.exists() and stamp.read_text() == want and library(root) is not None:
        return root
    if platform.machine() not in ("x86_64", "AMD64"):
        raise RuntimeError(f"no pinned libfuse3 packages for {platform.machine()} (amd64 only)")
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} not found (a Debian-based system is needed to fetch libfuse3)")
    apt, debs = base / "apt", base / "debs"
    for d in (apt / "lists" / "partial", apt / "archives" / "partial", debs):
        d.mkdir(parents=True, exist_ok=True)
    opts = private_apt(apt, [f"deb {system_mirror()} {SUITE} main"])
    got: list[Path] = []
    updated = False
    for package, (version, digest) in PACKAGES.items():
        pattern = f"{package}_{version}_*.deb"
        have = [p for p in debs.glob(pattern) if sha256(p) == digest]
        if not have:
            if not updated:
                res = apt_update("fetch-libfuse", opts, apt, f"{system_mirror()} ({SUITE} main)")
                if res.returncode != 0:
                    raise RuntimeError(f"apt-get update failed: {res.stderr.strip()[-400:]}")
                updated = True
            announce_download("fetch-libfuse", opts, package, version, debs)
            r = subprocess.run(["apt-get", *opts, "download", f"{package}={version}"], cwd=debs,
                               capture_output=True, text=True, check=False)
            have = [p for p in debs.glob(pattern) if sha256(p) == digest]
            if r.returncode != 0 or not have:
                raise RuntimeError(f"{package}={version}: "
                                   + (r.stderr.strip().splitlines() or ["sha256 mismatch"])[-1])
        got.append(have[0])
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for deb in got:
        r = run(["dpkg-deb", "-x", str(deb), str(root)])
        if r.returncode != 0:
            raise RuntimeError(f"dpkg-deb -x {deb.name} failed: {r.stderr.strip()}")
    if library(root) is None:
        raise RuntimeError("the unpacked libfuse3-3 holds no libfuse3.so.3")
    stamp.write_text(want)
    return root


def main() -> int:
    cache = Path(os.environ.get("NOVA_CACHE", str(Path.home() / ".cache" / "nova-core")))
    try:
        root = fetch(cache)
    except (RuntimeError, OSError) as exc:
        print(f"fetch-libfuse: {exc}", file=sys.stderr)
        return 1
    lib = library(root)
    print(f"FUSE_LIBRARY_PATH={shlex.quote(str(lib))}")
    print(f"NOVA_FUSERMOUNT_DIR={shlex.quote(str(root / 'bin'))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
