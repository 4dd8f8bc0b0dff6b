"""Helpers of the emulator tests: a core over plain memories, with a recording I/O space and external memory."""

from __future__ import annotations

from nova_core.sim.falcon_emu.core import Block, FalconCore
from nova_core.sim.falcon_emu.stop import Stop, StopInfo, StopReason

IMEM = DMEM = 0x10000


class FakeBus:
    """I/O space as a dict (recording every access) and 1 MiB of external memory behind every port."""

    def __init__(self) -> None:
        self.regs: dict[int, int] = {}
        self.log: list[tuple[str, int, int]] = []
        self.ext = bytearray(1 << 20)

    def io_read(self, addr: int, pc: int) -> int:
        v = self.regs.get(addr, 0)
        self.log.append(("r", addr, v))
        return v

    def io_write(self, addr: int, value: int, pc: int) -> None:
        self.regs[addr] = value
        self.log.append(("w", addr, value))

    def xfer_read(self, port: int, ext: int, n: int, pc: int) -> bytes:
        if ext + n > len(self.ext):
            raise Stop(StopReason.DMA_FAULT, f"transfer from {ext:#x} past external memory", pc)
        return bytes(self.ext[ext:ext + n])

    def xfer_write(self, port: int, ext: int, data: bytes, pc: int) -> None:
        if ext + len(data) > len(self.ext):
            raise Stop(StopReason.DMA_FAULT, f"transfer to {ext:#x} past external memory", pc)
        self.ext[ext:ext + len(data)] = data


def make_core(code: bytes, *, base: int = 0, secure: bool = False, dmem: bytes = b"",
              bus: FakeBus | None = None) -> tuple[FalconCore, FakeBus]:
    """IMEM blocks 0.. hold ``code`` tagged from ``base`` (identity above it); the rest of IMEM is unmapped."""
    bus = bus or FakeBus()
    imem = bytearray(IMEM)
    imem[:len(code)] = code
    blocks = [Block() for _ in range(IMEM // 0x100)]
    for i in range(-(-len(code) // 0x100) or 1):
        blocks[i] = Block(tag=(base >> 8) + i, valid=True, secure=secure)
    d = bytearray(DMEM)
    d[:len(dmem)] = dmem
    core = FalconCore(imem, d, blocks, bus, bus)
    core.pc = base
    core.sp = DMEM - 4
    return core, bus


def run(code: bytes, *, budget: int = 100_000, **kw: object) -> tuple[FalconCore, StopInfo, FakeBus]:
    core, bus = make_core(code, **kw)  # type: ignore[arg-type]
    stop = core.run(budget)
    return core, stop, bus
