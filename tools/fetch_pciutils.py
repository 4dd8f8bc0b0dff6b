#!/usr/bin/env python3
"""Fetch Debian's pciutils (lspci, libpci, pci.ids) into a cache, without touching the system's apt.

The PCI tests compare nova_core's config-space parser with ``lspci -vvv -xxxx`` on the host's own
devices. A fresh machine may not have pciutils, and installing it would change the system, so this
script does what ``fetch_artifacts.py`` does for firmware: a private sources list (the system's own
Debian mirror, component ``main``), private apt state, ``apt-get download`` of pinned versions
checked against their sha256, ``dpkg-deb -x`` into ``$NOVA_CACHE/pciutils/root``. The tests run
``root/usr/bin/lspci -i root/usr/share/misc/pci.ids`` with ``LD_LIBRARY_PATH`` pointing at the
unpacked libpci (see :func:`lspci_command`). ``fetch_artifacts.py`` calls :func:`fetch`; run alone it
prints the lspci path on the last line of stdout.

Pinned: bookworm's 1:3.9.0-4 first (its libpci runs on bookworm's and newer glibc), trixie's
1:3.13.0-2 as the alternative (needs glibc 2.38). amd64 only; elsewhere the fetch fails cleanly and the
lspci test skips.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fetch_artifacts import announce_download, apt_update, private_apt, run, sha256, system_mirror

#: alternative version sets, in order of preference: {package: (version, sha256 of the .deb)}
VERSION_SETS = [
    {"libpci3": ("1:3.9.0-4", "75519023eb1f0cdc556709b109765e2ea36f6e5c66b8ca94cec45843b3e3bee7"),
     "pciutils": ("1:3.9.0-4", "6085d289984c35c7c16bcf6b46600e731622a1c18068e887b0a89981385b49d1"),
     "pci.ids": ("0.0~2023.04.11-1", "eac5f889128f3f53100be7f16f9a7dd5aade7499fa9571f53a6c1cfa0bf4565d")},
    {"libpci3": ("1:3.13.0-2", "f8f01883368fe86417b3845aa08ea3508ca59f5e1bb0983673629e227f5ac868"),
     "pciutils": ("1:3.13.0-2", "bd0e35ccc3378825b7b5f967e1eae687850025a91a49b055e433f1522bfa80f6"),
     "pci.ids": ("0.0~2025.06.09-1", "132bc7520473e53939e277cbf4512261b8d73ae244d77c277f674ecaf174598c")},
]
SUITES = ["bookworm", "trixie"]
STAMP_VERSION = "1"


def lspci_command(root: Path) -> tuple[list[str], dict[str, str]] | None:
    """The lspci command line and environment for an unpacked root (None when absent)."""
    lspci = root / "usr" / "bin" / "lspci"
    ids = root / "usr" / "share" / "misc" / "pci.ids"
    libdirs = [str(p) for p in (root / "usr" / "lib").glob("*-linux-gnu") if p.is_dir()]
    if not lspci.is_file():
        return None
    env = dict(os.environ, LD_LIBRARY_PATH=os.pathsep.join([*libdirs, os.environ.get("LD_LIBRARY_PATH", "")]))
    return [str(lspci), "-i", str(ids)] if ids.is_file() else [str(lspci)], env


def fetch(cache: Path) -> Path:
    """Unpack pciutils under ``cache/pciutils/root`` (cached by a stamp); returns that root."""
    base = cache / "pciutils"
    root, stamp = base / "root", base / "stamp"
    want = STAMP_VERSION + "\n" + repr(VERSION_SETS)
    if stamp.exists() and stamp.read_text() == want and (root / "usr" / "bin" / "lspci").is_file():
        return root
    if platform.machine() not in ("x86_64", "AMD64"):
        raise RuntimeError(f"no pinned pciutils packages for {platform.machine()} (amd64 only)")
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} not found (a Debian-based system is needed to fetch pciutils)")
    apt, debs = base / "apt", base / "debs"
    for d in (apt / "lists" / "partial", apt / "archives" / "partial", debs):
        d.mkdir(parents=True, exist_ok=True)
    mirror = system_mirror()
    opts = private_apt(apt, [f"deb {mirror} {suite} main" for suite in SUITES])
    res = apt_update("fetch-pciutils", opts, apt, f"{mirror} ({', '.join(SUITES)} main)")
    if res.returncode != 0:
        raise RuntimeError(f"apt-get update failed: {res.stderr.strip()[-400:]}")
    errors = []
    for versions in VERSION_SETS:
        got: list[Path] = []
        for package, (version, digest) in versions.items():
            name = f"{package}_{version.replace(':', '%3a')}_*.deb"
            have = [p for p in debs.glob(name) if sha256(p) == digest]
            if not have:
                announce_download("fetch-pciutils", opts, package, version, debs)
                r = subprocess.run(["apt-get", *opts, "download", f"{package}={version}"], cwd=debs,
                                   capture_output=True, text=True, check=False)
                have = [p for p in debs.glob(name) if sha256(p) == digest]
                if r.returncode != 0 or not have:
                    errors.append(f"{package}={version}: " + (r.stderr.strip().splitlines() or ["sha256 mismatch"])[-1])
                    break
            got.append(have[0])
        else:
            if root.exists():
                shutil.rmtree(root)
            root.mkdir(parents=True)
            for deb in got:
                r = run(["dpkg-deb", "-x", str(deb), str(root)])
                if r.returncode != 0:
                    raise RuntimeError(f"dpkg-deb -x {deb.name} failed: {r.stderr.strip()}")
            cmd = lspci_command(root)
            if cmd is not None and subprocess.run([cmd[0][0], "--version"], env=cmd[1], capture_output=True,
                                                  check=False).returncode == 0:
                stamp.write_text(want)
                return root
            errors.append(f"lspci {versions['pciutils'][0]} does not run here (glibc too old?)")
    raise RuntimeError("; ".join(errors))


def fetch_uapi_headers(cache: Path) -> Path:
    """Unpack Debian's ``linux-libc-dev`` (the kernel UAPI headers) under ``cache/linux-headers/root``.

    For the VFIO ABI test on machines without ``/usr/include/linux/vfio.h``. Not pinned by sha256:
    the package follows every kernel point release and a pin would break with the next one; apt
    checks it against the signed Release file of the system's own mirror. Returns the ``usr/include``
    directory.
    """
    base = cache / "linux-headers"
    inc = base / "root" / "usr" / "include"
    if (inc / "linux" / "vfio.h").is_file():
        return inc
    apt, debs = base / "apt", base / "debs"
    for d in (apt / "lists" / "partial", apt / "archives" / "partial", debs):
        d.mkdir(parents=True, exist_ok=True)
    opts = private_apt(apt, [f"deb {system_mirror()} {SUITES[0]} main"])
    r = apt_update("fetch-uapi-headers", opts, apt, f"{system_mirror()} ({SUITES[0]} main)")
    if r.returncode == 0:
        announce_download("fetch-uapi-headers", opts, "linux-libc-dev", "", debs)
        r = subprocess.run(["apt-get", *opts, "download", "linux-libc-dev"], cwd=debs, capture_output=True, text=True,
                           check=False)
    if r.returncode != 0:
        raise RuntimeError(f"apt-get update/download linux-libc-dev failed: {r.stderr.strip()[-300:]}")
    deb = sorted(debs.glob("linux-libc-dev_*.deb"))[-1]
    r = run(["dpkg-deb", "-x", str(deb), str(base / "root")])
    if r.returncode != 0 or not (inc / "linux" / "vfio.h").is_file():
        raise RuntimeError(f"dpkg-deb -x {deb.name} gave no linux/vfio.h: {r.stderr.strip()}")
    return inc


def main() -> int:
    cache = Path(os.environ.get("NOVA_CACHE", str(Path.home() / ".cache" / "nova-core")))
    try:
        root = fetch(cache)
    except (RuntimeError, OSError) as exc:
        print(f"fetch-pciutils: {exc}", file=sys.stderr)
        return 1
    print(root / "usr" / "bin" / "lspci")
    return 0


if __name__ == "__main__":
    sys.exit(main())
