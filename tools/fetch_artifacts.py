#!/usr/bin/env python3
"""Fetch the real firmware the tests are held to, into a cache, without touching the system's apt.

Debian ships NVIDIA's GSP firmware in two non-free-firmware packages:

- ``firmware-nvidia-graphics`` (linux-firmware): ``nvidia/<chip>/gsp/{booter_load,booter_unload,
  bootloader,gsp}-535.113.01.bin``;
- ``firmware-nvidia-gsp`` (NVIDIA driver): ``nvidia/550.163.01/gsp_{tu10x,ga10x}.bin``;
- ``firmware-nvidia-graphics`` from Debian **sid** (20260916-1 and later: linux-firmware with GSP-RM
  570.144 for every GSP chip, Hopper's and Blackwell's ``fmc-570.144.bin`` included). sid moves on: the
  pinned version is taken when the mirror still has it (checked against its sha256), otherwise the newest
  one sid offers (apt checks it against the signed index; its sha256 is printed), and either way the files
  of :data:`SID_REQUIRED` must be in it. It is unpacked into a directory of its own,
  ``$NOVA_CACHE/firmware-sid/<version>`` (written under a temporary name and renamed into place, then
  ``firmware-sid/current`` is switched to it by an atomic symlink rename), so the 535/550 tree above is
  never touched and a reader never sees a half-written tree.

This script writes a *private* sources list (the system's own Debian mirror, component
``non-free-firmware``), runs ``apt-get update``/``apt-get download`` with that list and private state
and cache directories (``-o Dir::...``: no change to /etc/apt, no root needed for the download),
checks each ``.deb`` against the sha256 pinned below, and unpacks it with ``dpkg-deb -x`` into
``$NOVA_CACHE/firmware/root``. It prints the firmware roots (``usr/lib/firmware`` of both trees, joined
with ``:``) on the last line of stdout (``NOVA_FIRMWARE_PATH`` for the tests). Nothing is fetched again
once the stamps exist.

Exit status: 0 on success; 0 with a warning when the fetch fails, unless ``--require`` is given (CI)
or ``NOVA_REQUIRE_ARTIFACTS=1`` is set, then 1.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

#: (package, acceptable versions in order of preference, {version: sha256 of the .deb})
PACKAGES = [
    ("firmware-nvidia-graphics", {
        "20250410-2": "1ec5cf5a9532e1b93bd927c8085c4026abb61cd40ef899785de0fa7d37f49643",
    }),
    ("firmware-nvidia-gsp", {
        "550.163.01-2": "e07e243f33cf7066737e3f556f3325a5e57199a9549a93f2158eec3921ea0beb",
    }),
]
#: suites of the system's mirror that carry those versions (trixie is the release that ships them)
SUITES = ["trixie", "bookworm-backports"]
DEFAULT_MIRROR = "http://deb.debian.org/debian"
STAMP_VERSION = "1"

#: Debian sid's linux-firmware package with GSP-RM 570.144 (the Hopper/Blackwell FMC included)
SID_PACKAGE = "firmware-nvidia-graphics"
#: the version tested here and the sha256 of its .deb (pool/non-free-firmware/f/firmware-nonfree/)
SID_PINNED = ("20260916-1", "438dea065c930a4626c9cb711635149507471307f9d7ede9b981c61f963e0d68")
#: the oldest version with GSP-RM 570.144: a newer sid may replace the pin, never an older one
SID_MIN_VERSION = "20260916-1"
SID_SUITE = "sid"
SID_STAMP = ".nova-complete"
#: files (under usr/lib/firmware) a sid version must carry to be used: one chip per family and kind
SID_REQUIRED = tuple(f"nvidia/{chip}/gsp/{kind}-570.144.bin" for chip, kinds in (
    ("tu102", ("gsp", "bootloader", "booter_load", "booter_unload", "gen_bootloader")),
    ("tu116", ("gsp", "bootloader", "booter_load", "booter_unload", "gen_bootloader")),
    ("ga100", ("gsp", "bootloader", "booter_load", "booter_unload", "gen_bootloader")),
    ("ga102", ("gsp", "bootloader", "booter_load", "booter_unload")),
    ("ad102", ("gsp", "bootloader", "booter_load", "booter_unload")),
    ("gh100", ("gsp", "bootloader", "fmc")),
    ("gb100", ("gsp", "bootloader", "fmc")),
    ("gb202", ("gsp", "bootloader", "fmc")),
) for kind in kinds)


def log(msg: str) -> None:
    print(f"fetch-artifacts: {msg}", file=sys.stderr)


def private_apt(apt: Path, source_lines: list[str]) -> list[str]:
    """apt-get options for private state under ``apt`` (lists, cache, a sources list of ``source_lines``):
    nothing of the system's apt configuration is read or changed. Creates the directories."""
    for d in (apt / "lists" / "partial", apt / "archives" / "partial"):
        d.mkdir(parents=True, exist_ok=True)
    sources = apt / "sources.list"
    sources.write_text("".join(line + "\n" for line in source_lines))
    opts = [
        "-o", f"Dir::Etc::SourceList={sources}", "-o", "Dir::Etc::SourceParts=/dev/null",
        "-o", f"Dir::State::Lists={apt / 'lists'}", "-o", f"Dir::Cache={apt}",
        "-o", f"Dir::Cache::Archives={apt / 'archives'}", "-o", "Debug::NoLocking=1",
        "-o", "Acquire::Retries=3",
    ]
    if os.geteuid() == 0:  # the private cache is not readable by the _apt sandbox user
        opts += ["-o", "APT::Sandbox::User=root"]
    return opts


def system_mirror() -> str:
    """The Debian mirror the system's own apt sources use (deb822 or one-line format)."""
    candidates: list[str] = []
    src_dir = Path("/etc/apt/sources.list.d")
    files = sorted(src_dir.glob("*.sources")) + sorted(src_dir.glob("*.list")) if src_dir.is_dir() else []
    files.insert(0, Path("/etc/apt/sources.list"))
    for f in files:
        try:
            text = f.read_text()
        except OSError:
            continue
        candidates += re.findall(r"^URIs:\s*(\S+)", text, flags=re.M)
        candidates += re.findall(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+", text, flags=re.M)
    for uri in candidates:
        if "security" not in uri and "debian" in uri:
            return uri.rstrip("/")
    return DEFAULT_MIRROR


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _tree_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else 0


def apt_update(tool: str, opts: list[str], apt: Path, what: str) -> subprocess.CompletedProcess[str]:
    """``apt-get update`` of the private lists, announced: what is fetched, where it goes, how much came."""
    lists = apt / "lists"
    before = _tree_bytes(lists)
    print(f"{tool}: downloading the package lists of {what} into {lists} (tens of MB the first time)",
          file=sys.stderr)
    res = run(["apt-get", *opts, "update"])
    print(f"{tool}: package lists: {_mb(_tree_bytes(lists))} in {lists} "
          f"({_mb(max(0, _tree_bytes(lists) - before))} new)", file=sys.stderr)
    return res


def announce_download(tool: str, opts: list[str], package: str, version: str, dest: Path) -> None:
    """Say, before ``apt-get download``, what is fetched, its size (from the index) and where it goes."""
    res = run(["apt-get", *opts, "--print-uris", "download", f"{package}={version}" if version else package])
    m = re.search(r"^'(\S+)' \S+ (\d+) ", res.stdout, flags=re.M)
    size = _mb(int(m.group(2))) if m else "size not in the index"
    where = f" from {m.group(1)}" if m else ""
    print(f"{tool}: downloading {package} {version or '(newest)'} ({size}){where} into {dest}", file=sys.stderr)


def fetch(cache: Path) -> Path:
    root = cache / "firmware" / "root"
    stamp = cache / "firmware" / "stamp"
    fw = root / "usr" / "lib" / "firmware"
    want = STAMP_VERSION + "\n" + "\n".join(f"{p} {sorted(v)}" for p, v in PACKAGES)
    if stamp.exists() and stamp.read_text() == want and fw.is_dir():
        return fw
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} not found (a Debian-based system is needed to fetch firmware)")
    apt = cache / "apt"
    for d in (apt / "lists" / "partial", apt / "archives" / "partial", cache / "firmware" / "debs"):
        d.mkdir(parents=True, exist_ok=True)
    mirror = system_mirror()
    opts = private_apt(apt, [f"deb {mirror} {suite} non-free-firmware" for suite in SUITES])
    res = apt_update("fetch-artifacts", opts, apt, f"{mirror} ({', '.join(SUITES)} non-free-firmware)")
    if res.returncode != 0:
        raise RuntimeError(f"apt-get update failed: {res.stderr.strip()[-400:]}")
    debs = cache / "firmware" / "debs"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for package, versions in PACKAGES:
        deb = None
        for version, digest in versions.items():
            existing = sorted(debs.glob(f"{package}_{version.replace(':', '%3a')}_*.deb"))
            if existing and sha256(existing[0]) == digest:
                deb = existing[0]
                break
            announce_download("fetch-artifacts", opts, package, version, debs)
            res = subprocess.run(["apt-get", *opts, "download", f"{package}={version}"], cwd=debs,
                                 capture_output=True, text=True, check=False)
            if res.returncode != 0:
                log(f"  not available: {res.stderr.strip().splitlines()[-1] if res.stderr.strip() else '?'}")
                continue
            got = sorted(debs.glob(f"{package}_*.deb"))
            got = [g for g in got if sha256(g) == digest]
            if not got:
                raise RuntimeError(f"{package}={version}: downloaded .deb does not match the pinned sha256")
            deb = got[0]
            break
        if deb is None:
            raise RuntimeError(f"{package}: none of the pinned versions {sorted(versions)} could be downloaded")
        res = run(["dpkg-deb", "-x", str(deb), str(root)])
        if res.returncode != 0:
            raise RuntimeError(f"dpkg-deb -x {deb.name} failed: {res.stderr.strip()}")
        log(f"unpacked {deb.name} into {root} ({_mb(_tree_bytes(root))} so far)")
    stamp.write_text(want)
    return fw


def _apt_field(opts: list[str], package: str, version: str, name: str) -> str | None:
    """A field of ``package=version`` in the private apt index (``SHA256``, ``Filename`` ...)."""
    res = run(["apt-cache", *opts, "show", f"{package}={version}"])
    if res.returncode != 0:
        return None
    m = re.search(rf"^{name}:\s*(\S+)", res.stdout, flags=re.M)
    return m.group(1) if m else None


def _newest(opts: list[str], package: str) -> str | None:
    """The candidate (newest) version of ``package`` in the private apt index."""
    res = run(["apt-cache", *opts, "policy", package])
    m = re.search(r"^\s*Candidate:\s*(\S+)", res.stdout, flags=re.M)
    return m.group(1) if m and m.group(1) != "(none)" else None


def _version_ge(a: str, b: str) -> bool:
    return run(["dpkg", "--compare-versions", a, "ge", b]).returncode == 0


def fetch_sid(cache: Path) -> Path:
    """Debian sid's firmware-nvidia-graphics (GSP-RM 570.144) under ``cache/firmware-sid``; its firmware root.

    The pinned version when the mirror has it, else the newest sid has (>= :data:`SID_MIN_VERSION`) carrying
    every file of :data:`SID_REQUIRED`; the version used and its sha256 are logged. Each version is unpacked
    into a directory of its own (temporary name, then ``rename``) and ``current`` is switched to it with an
    atomic symlink rename: trees other processes read are never modified.
    """
    base = cache / "firmware-sid"
    current = base / "current"
    fw_rel = Path("usr") / "lib" / "firmware"
    if (current / SID_STAMP).is_file():
        log(f"using the cached {(current / SID_STAMP).read_text().strip()} ({current.resolve().name})")
        return current / fw_rel
    for tool in ("apt-get", "apt-cache", "dpkg-deb", "dpkg"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} not found (a Debian-based system is needed to fetch firmware)")
    apt, debs = base / "apt", base / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    mirror = system_mirror()
    opts = private_apt(apt, [f"deb {mirror} {SID_SUITE} non-free-firmware"])
    log(f"apt-get update with a private sources list ({mirror}: {SID_SUITE} non-free-firmware)")
    res = run(["apt-get", *opts, "update"])
    if res.returncode != 0:
        raise RuntimeError(f"apt-get update ({SID_SUITE}) failed: {res.stderr.strip()[-400:]}")
    pinned, pinned_sha = SID_PINNED
    version, want_sha = pinned, pinned_sha
    if _apt_field(opts, SID_PACKAGE, pinned, "SHA256") is None:
        newest = _newest(opts, SID_PACKAGE)
        if newest is None or not _version_ge(newest, SID_MIN_VERSION):
            raise RuntimeError(f"{SID_PACKAGE}: {SID_SUITE} has neither the pinned {pinned} nor a version >= "
                               f"{SID_MIN_VERSION} (found {newest or 'none'})")
        want_sha = _apt_field(opts, SID_PACKAGE, newest, "SHA256") or ""
        log(f"{SID_PACKAGE} {pinned} has left {SID_SUITE}; taking the newest, {newest} (sha256 {want_sha} from "
            f"the signed index)")
        version = newest
    pattern = f"{SID_PACKAGE}_{version.replace(':', '%3a')}_*.deb"
    have = [p for p in debs.glob(pattern) if sha256(p) == want_sha]
    if not have:
        log(f"apt-get download {SID_PACKAGE}={version} ({SID_SUITE})")
        res = subprocess.run(["apt-get", *opts, "download", f"{SID_PACKAGE}={version}"], cwd=debs,
                             capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise RuntimeError(f"apt-get download {SID_PACKAGE}={version} failed: {res.stderr.strip()[-400:]}")
        have = [p for p in debs.glob(pattern) if sha256(p) == want_sha]
        if not have:
            raise RuntimeError(f"{SID_PACKAGE}={version}: the downloaded .deb does not have sha256 {want_sha}")
    deb = have[0]
    final = base / version
    if not (final / SID_STAMP).is_file():
        tmp = base / f".{version}.tmp-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        res = run(["dpkg-deb", "-x", str(deb), str(tmp)])
        if res.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            raise RuntimeError(f"dpkg-deb -x {deb.name} failed: {res.stderr.strip()}")
        missing = [f for f in SID_REQUIRED if not (tmp / fw_rel / f).is_file()]
        if missing:
            shutil.rmtree(tmp, ignore_errors=True)
            raise RuntimeError(f"{SID_PACKAGE} {version} lacks {len(missing)} needed file(s): {', '.join(missing[:4])}")
        (tmp / SID_STAMP).write_text(f"{SID_PACKAGE} {version} sha256 {sha256(deb)}\n")
        if final.exists():  # a half-written tree of an earlier run (no stamp): set aside, never read
            final.rename(base / f".{version}.stale-{os.getpid()}")
        tmp.rename(final)
    link = base / f".current.tmp-{os.getpid()}"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(version)
    os.replace(link, current)
    log(f"using {SID_PACKAGE} {version} from {SID_SUITE} (sha256 {sha256(deb)})"
        + ("" if version == pinned else f"; the pinned {pinned} is no longer on the mirror"))
    return current / fw_rel


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", default=os.environ.get("NOVA_CACHE", str(Path.home() / ".cache" / "nova-core")))
    ap.add_argument("--require", action="store_true", default=os.environ.get("NOVA_REQUIRE_ARTIFACTS") == "1",
                    help="fail (exit 1) when the firmware cannot be fetched")
    args = ap.parse_args(argv)
    try:  # lspci for the PCI tests (tools/fetch_pciutils.py); its absence only skips that test
        import fetch_pciutils

        fetch_pciutils.fetch(Path(args.cache))
    except (RuntimeError, OSError) as exc:
        log(f"cannot fetch pciutils: {exc} (the lspci comparison test will be skipped)")
    roots: list[str] = []
    for what, fn in (("firmware (535.113.01, 550.163.01)", fetch), ("sid firmware (570.144)", fetch_sid)):
        try:
            roots.append(str(fn(Path(args.cache))))
        except (RuntimeError, OSError) as exc:
            log(f"cannot fetch {what}: {exc}")
            if args.require:
                return 1
            log("tests that need it will be skipped")
    print(os.pathsep.join(roots))
    return 0


if __name__ == "__main__":
    sys.exit(main())
