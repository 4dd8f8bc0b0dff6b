"""Record/replay: a replayed trace reproduces a probe byte for byte; divergence is reported."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from nova_core.cli.main import main
from nova_core.errors import DeviceAccessError, ReplayMismatch
from nova_core.gpu.probe import probe
from nova_core.hw.trace import MAX_TRACE, open_replay, read_trace, record_device
from nova_core.sim import SimGpu


def test_replayed_probe_is_byte_identical(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "probe.jsonl"
    assert main(["probe", "--sim", "ga104", "--record", str(trace)]) == 0
    recorded = capsys.readouterr().out
    assert main(["probe", "--replay", str(trace)]) == 0
    replayed = capsys.readouterr().out
    assert recorded.replace("(sim)", "(replay)") == replayed
    assert main(["probe", "--sim", "ga104", "--json"]) == 0
    live = json.loads(capsys.readouterr().out)
    assert main(["probe", "--replay", str(trace), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    live.pop("kind"), again.pop("kind")
    assert live == again


def test_trace_is_plain_json_lines(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    dev = record_device(SimGpu("tu102").device(), trace)
    probe(dev)
    dev.close()
    header, entries = read_trace(trace)
    assert header["device"] == "sim:tu102" and header["bar_size"] == 16 << 20
    assert entries[0] == {"op": "r32", "off": 0, "val": SimGpu("tu102").boot0}
    # single reads, and the vBIOS version read through the PROM window as 256-byte blocks of 32-bit reads
    assert all(set(e) == {"op", "off", "val"} if e["op"] == "r32" else
               (e["op"] == "rblk" and set(e) == {"op", "off", "len", "data"} and e["len"] == 256
                and len(bytes.fromhex(e["data"])) == 256) for e in entries)
    assert any(e["op"] == "rblk" for e in entries)


def test_divergence_is_a_precise_error(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    dev = record_device(SimGpu("ad102").device(), trace)
    dev.bar0.read32(0)
    dev.bar0.write32(0x1400, 5)
    dev.close()
    rep = open_replay(trace)
    with pytest.raises(ReplayMismatch, match=r"entry 0 recorded r32 0x0 -> 0x192000a1, but the code did r32 0xa00"):
        rep.bar0.read32(0xA00)
    rep = open_replay(trace)
    rep.bar0.read32(0)
    with pytest.raises(ReplayMismatch, match="recorded w32 0x1400 = 0x5, but the code wrote 0x6"):
        rep.bar0.write32(0x1400, 6)
    rep = open_replay(trace)
    rep.bar0.read32(0)
    rep.bar0.write32(0x1400, 5)
    with pytest.raises(ReplayMismatch, match="trace exhausted after 2 entries"):
        rep.bar0.read32(0)


@pytest.mark.parametrize(("content", "msg"), [
    ("", "is empty"),
    ("not json\n", "not JSON"),
    ('{"nova_trace": 9}\n', "expected 1"),
    ('{"nova_trace": 1, "bar_size": 16}\n{"op": "zap", "off": 0}\n', "unknown op 'zap'"),
    ('{"nova_trace": 1, "bar_size": 16}\n{"op": "r32", "off": 0}\n', "r32 without 'val'"),
    ('{"nova_trace": 1, "bar_size": 16}\n{"op": "r32", "off": -4, "val": 1}\n', r"off=-4 is not a u32"),
    ('{"nova_trace": 1}\n', "no valid bar_size"),
    # issue 22, defect 4: each of these reached a raw exception (UnicodeDecodeError, struct.error, RecursionError)
    (b'{"nova_trace": 1, "bar_size": 16}\n\xff\xfe\n', r"line 2: not UTF-8 text \(byte 0xff at offset 0x22\)"),
    ('{"nova_trace": 1, "bar_size": 16}\n{"op": "r32", "off": 0, "val": 4294967296}\n', r"val=4294967296 is not a u32"),
    ('{"nova_trace": 1, "bar_size": 16}\n' + "[" * 100_000 + "\n", r"line 2: JSON nested too deeply"),
    ('{"nova_trace": 1, "bar_size": 16}\n{"op": "r32", "off": 0, "val": true}\n', r"val=True is not a u32"),
    ('{"nova_trace": 1, "bar_size": 16}\n{"op": "r32", "off": 16, "val": 0}\n', r"r32 at 0x10 \(\+0x4\) is outside"),
    ('{"nova_trace": 1, "bar_size": 16}\n{"op": "rblk", "off": 0, "len": 2, "data": "00"}\n', r"rblk of 0x2 bytes"),
    ('{"nova_trace": 1, "bar_size": 16}\n{"op": "wblk", "off": 0, "data": "0 0"}\n', r"not a hex string"),
    ('{"nova_trace": 1, "bar_size": 16, "pci_device": 65536}\n', r"pci_device=65536 is not a 16-bit PCI id"),
    ('{"nova_trace": 1, "bar_size": true}\n', "no valid bar_size"),
    ("\n\n", "no header line"),
    ('[1]\n', "expected an object, found list"),
    ('{"nova_trace": 1, "bar_size": 16}\n{"op": "r32", "off": 0, "val": 1, "bar": 3}\n', "bar=3 \\(0 or 2"),
    ('{"nova_trace": 1, "bar_size": 16}\n{"op": "r32", "off": 0, "val": 1, "bar": 2}\n', "the header has no bar2_size"),
])
def test_malformed_traces(tmp_path: Path, content: str | bytes, msg: str) -> None:
    f = tmp_path / "bad.jsonl"
    f.write_bytes(content if isinstance(content, bytes) else content.encode())
    t0 = time.perf_counter()
    with pytest.raises(DeviceAccessError, match=msg):
        open_replay(f)
    assert time.perf_counter() - t0 < 1.0


@pytest.mark.parametrize(("path", "msg"), [
    ("/dev/zero", r"replay trace '/dev/zero' is a character device, not a regular file"),
    (".", r"is a directory, not a regular file"),
    ("/nonexistent/t.jsonl", r"cannot open replay trace '/nonexistent/t.jsonl': No such file or directory"),
])
def test_trace_files_that_are_not_files(path: str, msg: str) -> None:
    with pytest.raises(DeviceAccessError, match=msg):
        open_replay(path)


def test_a_trace_over_the_cap_is_refused_before_reading(tmp_path: Path) -> None:
    f = tmp_path / "huge.jsonl"
    with f.open("wb") as fh:
        fh.truncate(MAX_TRACE + 1)  # sparse: nothing to read, and nothing is
    with pytest.raises(DeviceAccessError, match=r"has 67,108,865 bytes .* no replay trace has more than 64 MiB"):
        open_replay(f)


def test_pramin_writes_follow_the_bar0_window() -> None:
    """The VRAM a trace writes through PRAMIN: BAR0 0x700000 + offset at NV_PBUS_BAR0_WINDOW.BASE << 16 (video
    memory targets only); BAR2 entries and reads are not PRAMIN writes."""
    from nova_core.hw.trace import pramin_writes

    entries = [
        {"op": "w32", "off": 0x700010, "val": 1},  # window at 0 after reset
        {"op": "w32", "off": 0x1700, "val": 0x12345},  # BASE 0x12345: VRAM 0x123450000
        {"op": "wblk", "off": 0x700100, "data": "00" * 8},
        {"op": "r32", "off": 0x700000, "val": 0},
        {"op": "w32", "off": 0x700000, "val": 0, "bar": 2},
        {"op": "w32", "off": 0x1700, "val": 0x2 << 24 | 0x1},  # system memory: not VRAM
        {"op": "w32", "off": 0x700000, "val": 0},
    ]
    assert pramin_writes(entries) == [(0x10, 4), (0x123450100, 8)]
