"""The C API: ``libnova.so`` and ``nova.h`` built with cffi's embedding mode, and a C program (``nova_test.c``)
compiled with the system compiler against them, run with nothing but ``LD_LIBRARY_PATH`` in its environment - and
again under AddressSanitizer.

ASan and an embedded CPython: the test program alone is built with ``-fsanitize=address`` (CPython and libnova are
not instrumented; ASan's runtime intercepts their malloc/free all the same) and runs with
``ASAN_OPTIONS=detect_leaks=0``: CPython is never finalized in an embedding (cffi does not), so LeakSanitizer would
report the interpreter's live objects (some 13 MB in ~7000 blocks here) as leaks. ``LD_PRELOAD`` of libasan with an
uninstrumented program works the same way; leaks of the C API's own making are checked in Python instead
(``tests/vgpu/test_capi_session.py``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from nova_core.api.c.build import HEADER, build

HERE = Path(__file__).parent
PROGRAM = HERE / "nova_test.c"
GCC = shutil.which("gcc") or shutil.which("cc")

pytestmark = pytest.mark.skipif(GCC is None, reason="no C compiler (gcc/cc) on this machine")

#: the issue's functions, exactly as it writes them
ISSUE_SIGNATURES = """
typedef struct nova_device nova_device;
typedef struct { uint32_t chipset_id; uint64_t vram_bytes; char name[64]; } nova_info;
int  nova_open_sim(const char *chip, nova_device **out);
int  nova_open_pci(const char *bdf, nova_device **out);
void nova_close(nova_device *dev);
const char *nova_last_error(void);
int  nova_get_info(nova_device *dev, nova_info *out);
int  nova_fb_alloc(nova_device *dev, uint64_t size, uint64_t align, uint64_t *addr);
int  nova_fb_free(nova_device *dev, uint64_t addr);
int  nova_chid_alloc(nova_device *dev, uint32_t count, uint32_t *first);
int  nova_chid_free(nova_device *dev, uint32_t first, uint32_t count);
int  nova_rm_control(nova_device *dev, uint32_t handle, uint32_t cmd, void *params, uint32_t size);
int  nova_vgpu_type_count(nova_device *dev, uint32_t *count);
int  nova_vgpu_create(nova_device *dev, uint32_t vf, uint32_t type_id, uint32_t *gfid);
int  nova_vgpu_destroy(nova_device *dev, uint32_t gfid);
"""


@pytest.fixture(scope="module")
def capi(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh build of the C API (``./dev build-c`` writes the same into build/c)."""
    out = tmp_path_factory.mktemp("capi")
    build(out)
    return out


def _compile(capi: Path, exe: Path, *flags: str) -> None:
    assert GCC is not None
    cmd = [GCC, "-Wall", "-Wextra", "-Werror", *flags, "-o", str(exe), str(PROGRAM), f"-I{capi / 'include'}",
           f"-L{capi / 'lib'}", "-lnova", "-lpthread"]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr


def _run(capi: Path, exe: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {"LD_LIBRARY_PATH": str(capi / "lib"), **extra}  # nothing else: the library finds its own Python
    return subprocess.run([str(exe)], capture_output=True, text=True, env=env, timeout=600, check=False)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_header_has_the_issues_signatures(capi: Path) -> None:
    header = _squash((capi / "include" / "nova.h").read_text())
    assert (capi / "include" / "nova.h").read_text() == HEADER
    for line in ISSUE_SIGNATURES.strip().splitlines():
        assert _squash(line) in header, line


def test_c_program(capi: Path, tmp_path: Path) -> None:
    exe = tmp_path / "nova_test"
    _compile(capi, exe)
    res = _run(capi, exe)
    print(res.stdout)
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert "FAIL" not in out and "0 failure(s)" in out
    assert "info: chipset 0x192, 49152 MiB VRAM, 'NVIDIA L40'" in out
    assert "nova_vgpu_create(VF 1, 1004) = 0: gfid 1" in out
    assert "Traceback" not in res.stderr  # no Python exception crossed (or was printed at) the boundary


def test_c_program_under_asan(capi: Path, tmp_path: Path) -> None:
    exe = tmp_path / "nova_test_asan"
    probe = subprocess.run([str(GCC), "-fsanitize=address", "-x", "c", "-o", str(tmp_path / "probe"), "-"],
                           input="int main(void){return 0;}", capture_output=True, text=True, check=False)
    if probe.returncode:
        pytest.skip(f"the compiler has no AddressSanitizer: {probe.stderr.strip()[:200]}")
    _compile(capi, exe, "-g", "-fsanitize=address", "-fno-omit-frame-pointer")
    res = _run(capi, exe, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "0 failure(s)" in res.stdout and "AddressSanitizer" not in res.stderr


def test_library_runs_without_the_build_tree(capi: Path, tmp_path: Path) -> None:
    """The library is self-contained: copied elsewhere with its header, a program built there still runs."""
    other = tmp_path / "elsewhere"
    shutil.copytree(capi, other)
    exe = tmp_path / "nova_test"
    _compile(other, exe)
    res = _run(other, exe)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]


def test_python_side_that_does_not_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the embedded Python cannot set the C API up, every call says so (-ENOSYS) - never a false success."""
    import nova_core.api.c.build as b

    monkeypatch.setattr(b, "INIT_CODE", "raise ImportError('nova_core is not importable here')\n")
    out = tmp_path / "broken"
    b.build(out)
    src = tmp_path / "t.c"
    src.write_text('#include <errno.h>\n#include <stdio.h>\n#include "nova.h"\nint main(void) {\n'
                   '  nova_device *d = 0; int rc = nova_open_sim("ad102", &d);\n'
                   '  printf("%d|%s\\n", rc, nova_last_error());\n'
                   '  int again = nova_vgpu_destroy((nova_device *)1, 1);\n'
                   '  return rc == -ENOSYS && again == -ENOSYS && d == 0 ? 0 : 1; }\n')
    exe = tmp_path / "t"
    assert GCC is not None
    res = subprocess.run([GCC, "-o", str(exe), str(src), f"-I{out / 'include'}", f"-L{out / 'lib'}", "-lnova"],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    run = _run(out, exe)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "did not load in the embedded Python" in run.stdout
    assert "nova_core is not importable here" in run.stderr  # the traceback, on stderr
