"""The host's own PCI devices, parsed by nova_core and by ``lspci -vvv -xxxx`` (pciutils), must agree.

For every function under /sys/bus/pci/devices: the capability list (offsets, extended or not, and the id
lspci's own hex dump holds at each offset) and the BAR sizes (lspci's ``[size=]``) against what
:class:`~nova_core.pci.ConfigSpace` reads from the same sysfs ``config`` and ``resource``.

lspci comes from the private pciutils fetch (``tools/fetch_pciutils.py``, run by ``./dev test``), or
``$NOVA_LSPCI``, or the system's; without one, or without a PCI tree (a container), the test skips
and says so. As non-root, both tools see only the 64-byte header: capabilities are then not compared.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from nova_core.pci import ConfigSpace
from nova_core.pci.discovery import SYSFS_PCI, list_devices
from nova_core.pci.lspci import parse_listing

REPO = Path(__file__).resolve().parents[2]


def _lspci() -> tuple[list[str], dict[str, str]]:
    env_cmd = os.environ.get("NOVA_LSPCI")
    if env_cmd:
        return [env_cmd], dict(os.environ)
    spec = importlib.util.spec_from_file_location("fetch_pciutils", REPO / "tools" / "fetch_pciutils.py")
    if spec is not None and spec.loader is not None:
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        cache = Path(os.environ.get("NOVA_CACHE", str(Path.home() / ".cache" / "nova-core")))
        found = mod.lspci_command(cache / "pciutils" / "root")
        if found is not None:
            return found[0], found[1]
    system = shutil.which("lspci")
    if system:
        return [system], dict(os.environ)
    pytest.skip("no lspci: run ./dev test (it fetches pciutils into the cache) or set NOVA_LSPCI")


def test_host_devices_agree_with_lspci() -> None:
    functions = list_devices(SYSFS_PCI, all_devices=True)
    if not functions:
        pytest.skip(f"{SYSFS_PCI} lists no PCI functions here (a container?)")
    cmd, env = _lspci()
    res = subprocess.run([*cmd, "-D", "-vvv", "-xxxx"], capture_output=True, text=True, env=env, check=False)
    assert res.returncode == 0, res.stderr
    listing = {d.bdf: d for d in parse_listing(res.stdout)}
    missing = [f.bdf for f in functions if f.bdf not in listing]
    assert not missing, f"lspci does not list {missing} (it reads the same sysfs)"
    compared_caps = 0
    for fn in functions:
        dev = listing[fn.bdf]
        cs = ConfigSpace(fn.config(), sizes=fn.bar_sizes)
        ours_bars = {b.index: b.size for b in cs.bars() if b.size}
        theirs_bars = {i: s for i, s in dev.regions.items() if s}
        assert ours_bars == theirs_bars, f"{fn.bdf}: BAR sizes differ: nova {ours_bars}, lspci {theirs_bars}"
        if dev.caps_denied or cs.size <= 64:
            continue
        assert dev.dump is not None, f"{fn.bdf}: lspci printed no hex dump"
        walk = cs.capabilities(strict=True)
        ours = [(c.offset, c.extended, c.id) for c in walk.capabilities]
        theirs = []
        for c in dev.caps:
            if c.extended:
                cap_id = int.from_bytes(dev.dump[c.offset:c.offset + 2], "little")
            else:
                cap_id = dev.dump[c.offset]
            theirs.append((c.offset, c.extended, cap_id))
        assert ours == theirs, f"{fn.bdf}: capabilities differ:\n nova  {ours}\n lspci {theirs}"
        compared_caps += len(ours)
    if os.geteuid() == 0:
        assert compared_caps > 0 or all(not listing[f.bdf].caps for f in functions)
