"""Every VFIO ioctl number, constant and structure layout in nova_core.hw.vfio.uapi, checked against the
kernel's own ``linux/vfio.h`` by compiling a C program with the system compiler.

The header is the system's (Debian ``linux-libc-dev``, ``/usr/include/linux/vfio.h``); where it is
absent, ``tools/fetch_pciutils.py:fetch_uapi_headers`` downloads that package privately into the cache
(no change to the system's apt), as the firmware fetcher does. No C compiler, or no way to the header:
the test skips and says why.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from nova_core.hw.vfio import uapi as U

REPO = Path(__file__).resolve().parents[2]


def _include_dirs(tmp: Path) -> list[str]:
    if Path("/usr/include/linux/vfio.h").is_file():
        return []
    spec = importlib.util.spec_from_file_location("fetch_pciutils", REPO / "tools" / "fetch_pciutils.py")
    if spec is None or spec.loader is None:
        pytest.skip("tools/fetch_pciutils.py not found")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    cache = Path(os.environ.get("NOVA_CACHE", str(Path.home() / ".cache" / "nova-core")))
    try:
        inc = mod.fetch_uapi_headers(cache)
    except (RuntimeError, OSError) as e:
        pytest.skip(f"no linux/vfio.h on this system and linux-libc-dev could not be fetched: {e}")
    return [f"-I{inc}"] + [f"-I{p}" for p in inc.glob("*-linux-gnu")]


def _c_program() -> str:
    lines = ["#include <stdio.h>", "#include <stddef.h>", "#include <linux/vfio.h>", "int main(void) {"]
    for name in U.IOCTLS:
        lines.append(f'  printf("ioctl {name} %lu\\n", (unsigned long)({name}));')
    for name in U.CONSTANTS:
        lines.append(f'  printf("const {name} %lu\\n", (unsigned long)({name}));')
    for st in U.STRUCTS:
        n = st.__name__
        lines.append(f'  printf("sizeof {n} %zu\\n", sizeof(struct {n}));')
        for field, *_ in st._fields_:
            lines.append(f'  printf("field {n}.{field} %zu %zu\\n", offsetof(struct {n}, {field}), '
                         f"sizeof(((struct {n} *)0)->{field}));")
    lines += ["  return 0;", "}"]
    return "\n".join(lines) + "\n"


def test_uapi_matches_linux_vfio_h(tmp_path: Path) -> None:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    src = tmp_path / "vfio_abi.c"
    src.write_text(_c_program())
    exe = tmp_path / "vfio_abi"
    res = subprocess.run([cc, *_include_dirs(tmp_path), "-o", str(exe), str(src)], capture_output=True, text=True,
                         check=False)
    assert res.returncode == 0, f"compiling against linux/vfio.h failed (a name here that the header lacks?):\n" \
                                f"{res.stderr[-2000:]}"
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.splitlines()
    c: dict[str, tuple[int, ...]] = {}
    for line in out:
        kind, name, *nums = line.split()
        c[f"{kind} {name}"] = tuple(int(x) for x in nums)
    mismatches = []
    for name, value in U.IOCTLS.items():
        if c[f"ioctl {name}"] != (value,):
            mismatches.append(f"{name}: python {value:#x}, header {c[f'ioctl {name}'][0]:#x}")
    for name, value in U.CONSTANTS.items():
        if c[f"const {name}"] != (value,):
            mismatches.append(f"{name}: python {value}, header {c[f'const {name}'][0]}")
    for st in U.STRUCTS:
        n = st.__name__
        py_size, c_size = ctypes.sizeof(st), c[f"sizeof {n}"][0]
        for field, ctype, *_ in st._fields_:
            want = (getattr(st, field).offset, ctypes.sizeof(ctype))
            if c[f"field {n}.{field}"] != want:
                mismatches.append(f"{n}.{field}: python offset/size {want}, header {c[f'field {n}.{field}']}")
        # A newer header may append members to an argsz-versioned struct (the kernel takes any argsz
        # covering what it needs); every field defined here must still match, and none may be missing
        # from the front.
        has_argsz = st._fields_[0][0] == "argsz"
        if py_size != c_size and not (has_argsz and c_size > py_size):
            mismatches.append(f"sizeof {n}: python {py_size}, header {c_size}")
    assert not mismatches, "\n".join(mismatches)
    assert len(U.IOCTLS) == 17 and len(U.STRUCTS) == 10


def test_set_irqs_eventfd_payload_matches_linux_vfio_h(tmp_path: Path) -> None:
    """``VFIO_DEVICE_SET_IRQS`` with eventfds: the header, ``argsz`` and the s32 array at ``data`` built as a C
    program builds them against the kernel's ``struct vfio_irq_set`` - byte for byte."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    fds = [7, -1, 12345]
    src = tmp_path / "irq_set.c"
    src.write_text("\n".join([
        "#include <stdio.h>", "#include <stdlib.h>", "#include <string.h>", "#include <stddef.h>",
        "#include <linux/vfio.h>", "int main(void) {",
        f"  int fds[] = {{{', '.join(map(str, fds))}}};",
        "  size_t n = sizeof(fds) / sizeof(fds[0]);",
        "  size_t argsz = sizeof(struct vfio_irq_set) + n * sizeof(int);",
        "  struct vfio_irq_set *s = calloc(1, argsz);",
        "  s->argsz = argsz; s->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;",
        "  s->index = VFIO_PCI_MSIX_IRQ_INDEX; s->start = 3; s->count = n;",
        "  memcpy(s->data, fds, n * sizeof(int));",
        '  printf("%zu\\n", offsetof(struct vfio_irq_set, data));',
        "  for (size_t i = 0; i < argsz; i++) printf(\"%02x\", ((unsigned char *)s)[i]);",
        '  printf("\\n"); return 0; }']) + "\n")
    exe = tmp_path / "irq_set"
    res = subprocess.run([cc, *_include_dirs(tmp_path), "-o", str(exe), str(src)], capture_output=True, text=True,
                         check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    offset, payload = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()
    assert int(offset) == U.IRQ_SET_DATA_OFFSET
    ours = U.irq_set_eventfds(U.VFIO_IRQ_SET_DATA_EVENTFD | U.VFIO_IRQ_SET_ACTION_TRIGGER,
                              U.VFIO_PCI_MSIX_IRQ_INDEX, 3, fds)
    assert ours.hex() == payload
