"""The export's file tree, without FUSE: a booted simulated GPU and a fake source."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from nova_core.debugfs import ExportTree, NotFound
from nova_core.debugfs.tree import SIDE_EFFECT_READS
from nova_core.errors import NovaError
from nova_core.gsp.boot import GspDevice
from nova_core.gsp.logs import LogDecoder
from nova_core.hw.bar import BufferBar
from nova_core.regs.pmc import NV_PMC_BOOT_0
from nova_core.sim.synth.logging_elf import build_logging_elf
from nova_core.sim_boot import boot_sim


@pytest.fixture(scope="module")
def gpu() -> Iterator[GspDevice]:
    g = boot_sim("ga102", synthetic=True)
    yield g
    g.close()


def test_layout_of_a_device(gpu: GspDevice) -> None:
    tree = ExportTree([gpu])
    assert tree.listdir("/") == ["sim-ga102"]
    assert sorted(tree.listdir("/sim-ga102")) == ["gsp", "info.json", "irq", "regs", "vbios.rom"]
    assert sorted(tree.listdir("/sim-ga102/gsp")) == ["loginit", "loginit.txt", "logintr", "logintr.txt", "logrm",
                                                      "logrm.txt"]
    regs = tree.listdir("/sim-ga102/regs")
    assert "NV_PMC_BOOT_0" in regs and {"gsp", "sec2", "fsp"} <= set(regs)
    assert "NV_PFALCON_FALCON_MAILBOX0" in tree.listdir("/sim-ga102/regs/gsp")
    everything = set(regs) | set(tree.listdir("/sim-ga102/regs/gsp"))
    assert not everything & set(SIDE_EFFECT_READS)  # data ports are never read by looking


def test_contents_come_from_the_device(gpu: GspDevice) -> None:
    tree = ExportTree([gpu])
    assert tree.read("/sim-ga102/gsp/loginit") == gpu.log_buffers()["LOGINIT"]
    assert tree.read("/sim-ga102/vbios.rom") == gpu.vbios_rom()
    assert tree.read("/sim-ga102/vbios.rom")[:2] == b"\x55\xaa"
    info = json.loads(tree.read("/sim-ga102/info.json"))
    assert info["chipset"] == "GA102" and info["gsp_ready"] is True
    boot0 = tree.read("/sim-ga102/regs/NV_PMC_BOOT_0").decode()
    value = gpu.bar0.read32(NV_PMC_BOOT_0.addr())
    assert boot0.splitlines()[0] == f"NV_PMC_BOOT_0 @ 0x0 = {value:#010x}"
    assert "architecture_0           [28:24] = 0x17" in boot0


def test_engine_registers_are_read_at_their_engine_base(gpu: GspDevice) -> None:
    from nova_core.regs.falcon import FALCON, NV_PFALCON_FALCON_MAILBOX0

    tree = ExportTree([gpu])
    gpu.bar0.write32(NV_PFALCON_FALCON_MAILBOX0.addr(FALCON.SEC2), 0x1234)
    text = tree.read("/sim-ga102/regs/sec2/NV_PFALCON_FALCON_MAILBOX0").decode()
    assert text.startswith(f"NV_PFALCON_FALCON_MAILBOX0 @ {FALCON.SEC2 + 0x40:#x} = 0x00001234")


def test_log_text_with_a_decoder(gpu: GspDevice) -> None:
    tree = ExportTree([gpu], decoder=LogDecoder.from_bytes(build_logging_elf("535.113.01")))
    text = tree.read("/sim-ga102/gsp/loginit.txt").decode()
    assert "gsp_init.c:455 GSP-RM init done" in text


class _Fake:
    name = "0000:01:00.0"

    def __init__(self) -> None:
        self.bar0 = BufferBar(bytearray(16 << 20))
        self.reads = 0

    def log_buffers(self) -> Mapping[str, bytes]:
        self.reads += 1
        ring = bytearray(0x1000)
        ring[:8] = self.reads.to_bytes(8, "little")
        return {"LOGINIT": bytes(ring)}

    def vbios_rom(self) -> bytes | None:
        return None

    def info(self) -> dict[str, Any]:
        return {"device": self.name}


def test_contents_are_produced_at_each_read() -> None:
    fake = _Fake()
    tree = ExportTree([fake])
    assert tree.listdir("/") == ["0000:01:00.0"]
    a = tree.read("/0000:01:00.0/gsp/loginit")
    b = tree.read("/0000:01:00.0/gsp/loginit")
    assert a[:8] != b[:8]  # live, not cached by the tree
    assert tree.read("/0000:01:00.0/gsp/logrm.txt") == b"LOGRM: not allocated\n"
    assert tree.read("/0000:01:00.0/vbios.rom") == b""


def test_a_failing_register_read_gives_a_file_that_says_why() -> None:
    fake = _Fake()

    class Broken(BufferBar):
        def read32(self, offset: int) -> int:
            raise NovaError(f"PRI error at {offset:#x}")

    fake.bar0 = Broken(bytearray(16))
    text = ExportTree([fake]).read("/0000:01:00.0/regs/NV_PMC_BOOT_0").decode()
    assert text == "NV_PMC_BOOT_0 @ 0x0: read failed: PRI error at 0x0\n"


def test_missing_paths_and_kinds() -> None:
    tree = ExportTree([_Fake()])
    with pytest.raises(NotFound):
        tree.lookup("/nope")
    with pytest.raises(NotFound, match="is a file"):
        tree.listdir("/0000:01:00.0/info.json")
    with pytest.raises(NotFound, match="is a directory"):
        tree.read("/0000:01:00.0/gsp")


def test_two_devices_with_one_name_are_refused() -> None:
    with pytest.raises(NovaError, match="two devices export as"):
        ExportTree([_Fake(), _Fake()])


def test_interrupt_view_files(gpu: GspDevice) -> None:
    tree = ExportTree([gpu])
    assert sorted(tree.listdir("/sim-ga102/irq")) == ["info.json", "vectors"]
    text = tree.read("/sim-ga102/irq/vectors").decode()
    assert text.startswith("mode msi (msi (1 vector(s)) of sim:ga102); TOP registers 1, subtrees 4, leaves 8")
    gsp_line = next(line for line in text.splitlines() if line.split()[4:5] == ["GSP"])
    assert gsp_line.split()[:4] == ["192", "6", "0", "stall"] and gsp_line.endswith("GspInterrupt")
    view = json.loads(tree.read("/sim-ga102/irq/info.json"))
    gsp = next(v for v in view["vectors"] if v["name"] == "GSP")
    assert gsp["count"] > 0 and view["leaves"] == 8 and view["mode"] == "msi"
    assert {v["kind"] for v in view["vectors"]} == {"stall", "nonstall"}
