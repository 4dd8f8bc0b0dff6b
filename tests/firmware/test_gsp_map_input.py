"""A GSP image is checked and mapped through one descriptor (``files.map_input``); what it refuses, and how."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from nova_core.errors import FirmwareError
from nova_core.files import InputFormat, map_input
from nova_core.firmware import GspImage
from nova_core.sim.synth.firmware import write_firmware_tree

SMALL = InputFormat("test file", 64, "a test's cap", FirmwareError)


def test_map_input_maps_the_file_read_only(tmp_path: Path) -> None:
    p = tmp_path / "f.bin"
    p.write_bytes(bytes(range(48)))
    m = map_input(p, SMALL)
    try:
        assert m[:] == bytes(range(48)) and len(m) == 48
        with pytest.raises(TypeError):
            m[0] = 1  # read-only mapping
    finally:
        m.close()


@pytest.mark.parametrize("kind, says", [
    ("directory", "is a directory, not a regular file"),
    ("empty", "is empty"),
    ("huge", "has 65 bytes"),
    ("missing", "cannot open test file"),
    ("/dev/zero", "is a character device"),
    ("fifo", "is a FIFO"),
])
def test_map_input_refuses_what_is_not_a_bounded_regular_file(tmp_path: Path, kind: str, says: str) -> None:
    paths = {"directory": tmp_path, "empty": tmp_path / "empty", "huge": tmp_path / "huge",
             "missing": tmp_path / "nope", "/dev/zero": Path("/dev/zero"), "fifo": tmp_path / "fifo"}
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "huge").write_bytes(bytes(65))
    os.mkfifo(tmp_path / "fifo")
    result: list[BaseException] = []

    def attempt() -> None:
        try:
            map_input(paths[kind], SMALL)
        except BaseException as e:  # the test inspects it
            result.append(e)

    t = threading.Thread(target=attempt, daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), "map_input blocked (a FIFO must not block the open)"
    assert len(result) == 1 and isinstance(result[0], FirmwareError) and says in str(result[0])


def test_gsp_image_open_uses_one_descriptor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file is opened once: a check on one open and a mapping of another could see two different files."""
    write_firmware_tree(tmp_path, "ga102")
    path = tmp_path / "nvidia/ga102/gsp/gsp-535.113.01.bin"
    opens: list[str] = []
    real_open = os.open

    def counting_open(p: str | os.PathLike[str], *args: int, **kw: int) -> int:
        opens.append(os.fspath(p))
        return real_open(p, *args, **kw)

    monkeypatch.setattr(os, "open", counting_open)
    monkeypatch.setattr("builtins.open", lambda *a, **k: pytest.fail(f"a second open of {a[0]}"))
    with GspImage.open(path) as gsp:
        assert gsp.version == "535.113.01" and gsp.image_size > 0
    assert opens == [str(path)]
    with pytest.raises(FirmwareError, match="is a directory"):
        GspImage.open(tmp_path)
