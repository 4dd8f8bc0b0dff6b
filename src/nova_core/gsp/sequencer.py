"""nova_core.gsp.sequencer: the CPU sequencer - register programs GSP-RM asks the CPU to run.

GSP-RM sends ``RUN_CPU_SEQUENCER`` with a buffer of commands (``rpc_run_cpu_sequencer_v17_00``:
bufferSizeDWord, cmdIndex = dwords used, regSaveArea[8], commandBuffer[]); each command is a u32 opcode
followed by its payload dwords (``rmgspseq.h``, reference §8). The semantics follow OpenRM
``kgspExecuteSequencerBuffer`` / ``kgspExecuteSequencerCommand_GA102`` and nouveau
``r535_gsp_msg_run_cpu_sequencer``:

==================  ==============================================================================
REG_WRITE           write ``val`` to ``addr``
REG_MODIFY          ``addr = (addr & ~mask) | val``
REG_POLL            wait until ``(addr & mask) == val``; ``timeout`` in us, 0 = the 4 s default;
                    expiry is a :class:`~nova_core.errors.PollTimeout` naming the register and the
                    GSP error code ``error``
DELAY_US            wait ``val`` us
                    (both waits at most 30 s each, 30 s per buffer in all: :data:`SEQUENCER_MAX_WAIT`)
REG_STORE           ``regSaveArea[index] = addr`` (index < 8)
CORE_RESET          reset the GSP falcon; FBIF_CTL.ALLOW_PHYS_NO_CTX = 1; DMACTL = 0
CORE_START          start the GSP falcon (CPUCTL_ALIAS when CPUCTL.ALIAS_EN, else CPUCTL)
CORE_WAIT_FOR_HALT  wait (2 s) for CPUCTL.HALTED
CORE_RESUME         reset the GSP into RISC-V, GSP MAILBOX0/1 = libos argument address, start SEC2,
                    wait (2 s) for BSI_SECURE_SCRATCH_14.BOOT_STAGE_3_HANDOFF, SEC2 MAILBOX0 must be 0,
                    GSP FALCON_OS = the bootloader's appVersion, the RISC-V core must be active
==================  ==============================================================================

Register-level steps are done here against the :class:`~nova_core.hw.bar.Bar`; what needs the falcon
layer (engine resets, starting SEC2, RISC-V status) goes through the small :class:`FalconCore`
protocol that ``nova_core.falcon`` implements. The buffer is untrusted: unknown opcodes, payloads past
``cmdIndex``, a save index past 8 are a :class:`~nova_core.errors.GspError` naming the command index.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ..errors import GspError
from ..hw.bar import Bar
from ..hw.clock import MS, SEC, US, Clock
from ..hw.poll import poll_timeout
from ..regs import REGISTRY
from ..regs import falcon as F
from ..regs.gc6 import NV_PGC6_BSI_SECURE_SCRATCH_14
from .fw import Event, GspAbi, SequencerRequest

# TIMEOUT: OpenRM gpuSetTimeout(regPoll.timeout) with 0 = the default GPU timeout; nouveau uses 4 s.
REG_POLL_DEFAULT_TIMEOUT = 4 * SEC
# TIMEOUT: nouveau CORE_WAIT_FOR_HALT nvkm_msec(2000); OpenRM kflcnWaitForHalt(GPU_TIMEOUT_DEFAULT).
HALT_TIMEOUT = 2 * SEC
# TIMEOUT: nouveau CORE_RESUME nvkm_msec(2000) on 0x1180f8 bit 26; OpenRM _kgspIsReloadCompleted.
RELOAD_TIMEOUT = 2 * SEC
POLL_INTERVAL = 10 * US
# TIMEOUT: the REG_POLL timeout and DELAY_US come from GSP-RM's message (u32 us: up to 72 minutes); neither OpenRM
# (kgspExecuteSequencerCommand: gpuSetTimeout(regPoll.timeout), osDelayUs(val)) nor nouveau bounds them. A wait
# GSP-RM asks for may be at most OpenRM's longest default GPU timeout on Linux, 30 s (compute mode; 4 s in
# graphics mode: os.c osGetTimeoutParams); a longer one is refused as a corrupt or hostile message.
SEQUENCER_MAX_WAIT = 30 * SEC
# TIMEOUT: one buffer may keep the CPU at most this long in all (device time since it started): what a stage can
# wait for no longer depends on how many commands GSP-RM sends.
SEQUENCER_BUDGET = 30 * SEC
REG_SAVE_SIZE = 8


class FalconCore(Protocol):
    """What the CORE_* opcodes need from the falcon layer (``nova_core.falcon`` implements it)."""

    def reset_gsp(self) -> None:
        """Engine-reset the GSP falcon (falcon core selected) and wait for its memory scrubbing."""
        ...

    def reset_gsp_into_riscv(self) -> None:
        """Engine-reset the GSP falcon with the RISC-V core selected (OpenRM ``kflcnResetIntoRiscv``)."""
        ...

    def start_sec2(self) -> None:
        """Start the SEC2 falcon (the booter is already loaded)."""
        ...

    def gsp_riscv_active(self) -> bool:
        """Whether the GSP RISC-V core is running."""
        ...


@dataclass
class SequencerResult:
    reg_save_area: list[int]
    commands: int  #: commands executed
    trace: list[str] = field(default_factory=list)  #: one line per command (for logs)


def _label(addr: int) -> str:
    loc = REGISTRY.lookup(addr)
    return f"{loc.label} ({addr:#x})" if loc else f"{addr:#x}"


class CpuSequencer:
    """Runs RUN_CPU_SEQUENCER buffers.

    Args:
        abi: the firmware version (opcode numbers and payload sizes come from its bindings).
        bar, clock: the device.
        falcons: the :class:`FalconCore` for CORE_* commands (``None``: those commands are refused).
        libos_args_addr: bus address of the libos argument page (CORE_RESUME writes it to the mailboxes).
        app_version: the RISC-V bootloader's appVersion (CORE_RESUME writes it to GSP FALCON_OS).
    """

    def __init__(self, abi: GspAbi, bar: Bar, clock: Clock, falcons: FalconCore | None = None, *,
                 libos_args_addr: int = 0, app_version: int = 0, gsp_base: int = F.FALCON.GSP,
                 sec2_base: int = F.FALCON.SEC2) -> None:
        self.abi = abi
        self.bar = bar
        self.clock = clock
        self.falcons = falcons
        self.libos_args_addr = libos_args_addr
        self.app_version = app_version
        self.gsp_base = gsp_base
        self.sec2_base = sec2_base
        m = abi.module
        self.opcodes: dict[int, str] = {}
        self.payload_dwords: dict[int, int] = {}
        for name in ("REG_WRITE", "REG_MODIFY", "REG_POLL", "DELAY_US", "REG_STORE", "CORE_RESET", "CORE_START",
                     "CORE_WAIT_FOR_HALT", "CORE_RESUME"):
            op = int(getattr(m, f"GSP_SEQ_BUF_OPCODE_{name}"))
            self.opcodes[op] = name
            self.payload_dwords[op] = int(getattr(m, f"GSP_SEQ_PAYLOAD_DWORDS_{name}"))
        self.runs = 0
        self.last: SequencerResult | None = None
        self._deadline = 0

    def attach(self, rpc: _HasOnEvent) -> Callable[[], None]:
        """Run every RUN_CPU_SEQUENCER event ``rpc`` receives; returns the unregister function."""
        return rpc.on_event(Event.RUN_CPU_SEQUENCER, lambda ev: self.run(ev.body()))  # type: ignore[arg-type]

    def run(self, request: SequencerRequest) -> SequencerResult:
        """Execute one buffer; returns the register save area and a trace."""
        if not isinstance(request, SequencerRequest):
            raise GspError(f"CPU sequencer: expected a RUN_CPU_SEQUENCER request, got {type(request).__name__}")
        if request.buffer_size_dwords == 0:
            raise GspError("CPU sequencer: bufferSizeDWord is 0 (no sequencer buffer)")
        if request.cmd_index >= request.buffer_size_dwords:
            raise GspError(f"CPU sequencer: cmdIndex {request.cmd_index:#x} not below bufferSizeDWord "
                           f"{request.buffer_size_dwords:#x}")
        if len(request.commands) < 4 * request.cmd_index:
            raise GspError(f"CPU sequencer: cmdIndex {request.cmd_index:#x} dwords but only "
                           f"{len(request.commands):#x} bytes of commands")
        words = struct.unpack_from(f"<{request.cmd_index}I", request.commands)
        save = list(request.reg_save_area) + [0] * (REG_SAVE_SIZE - len(request.reg_save_area))
        result = SequencerResult(save[:REG_SAVE_SIZE], 0)
        self._deadline = self.clock.now() + SEQUENCER_BUDGET
        i = 0
        while i < len(words):
            at = i
            op = words[i]
            i += 1
            name = self.opcodes.get(op)
            if name is None:
                raise GspError(f"CPU sequencer: unknown opcode {op:#x} at dword {at:#x}")
            n = self.payload_dwords[op]
            if i + n > len(words):
                raise GspError(f"CPU sequencer: {name} at dword {at:#x} needs {n} payload dword(s) past cmdIndex "
                               f"{len(words):#x}")
            args = words[i:i + n]
            i += n
            result.trace.append(self._execute(name, args, at, result.reg_save_area))
            result.commands += 1
        self.runs += 1
        self.last = result
        return result

    # -- the opcodes ----------------------------------------------------------------------------

    def _execute(self, name: str, a: tuple[int, ...], at: int, save: list[int]) -> str:
        bar = self.bar
        if name == "REG_WRITE":
            bar.write32(a[0], a[1])
            return f"REG_WRITE {_label(a[0])} = {a[1]:#x}"
        if name == "REG_MODIFY":
            value = (bar.read32(a[0]) & ~a[1] & 0xFFFFFFFF) | a[2]
            bar.write32(a[0], value)
            return f"REG_MODIFY {_label(a[0])} mask {a[1]:#x} val {a[2]:#x} -> {value:#x}"
        if name == "REG_POLL":
            addr, mask, val, timeout_us, error = a
            timeout = self._wait(name, at, timeout_us * US if timeout_us else REG_POLL_DEFAULT_TIMEOUT)
            got = poll_timeout(lambda: bar.read32(addr), lambda v: (v & mask) == val, clock=self.clock,
                               timeout=timeout, interval=POLL_INTERVAL,
                               what=f"CPU sequencer command at dword {at:#x}: REG_POLL {_label(addr)} & {mask:#x} "
                                    f"== {val:#x} (GSP error code {error:#x})")
            return f"REG_POLL {_label(addr)} & {mask:#x} == {val:#x}: {got:#x}"
        if name == "DELAY_US":
            self.clock.sleep(self._wait(name, at, a[0] * US))
            return f"DELAY_US {a[0]}"
        if name == "REG_STORE":
            addr, index = a
            if index >= REG_SAVE_SIZE:
                raise GspError(f"CPU sequencer: REG_STORE at dword {at:#x}: index {index} outside the "
                               f"{REG_SAVE_SIZE}-entry save area")
            save[index] = bar.read32(addr)
            return f"REG_STORE {_label(addr)} -> [{index}] = {save[index]:#x}"
        falcons = self._falcons(name, at)
        g = self.gsp_base
        if name == "CORE_RESET":
            falcons.reset_gsp()
            F.NV_PFALCON_FBIF_CTL.update(bar, base=g, allow_phys_no_ctx=1)
            F.NV_PFALCON_FALCON_DMACTL.write(bar, 0, base=g)
            return "CORE_RESET"
        if name == "CORE_START":
            if F.NV_PFALCON_FALCON_CPUCTL.alias_en.get(F.NV_PFALCON_FALCON_CPUCTL.read(bar, base=g)):
                F.NV_PFALCON_FALCON_CPUCTL_ALIAS.write(bar, base=g, startcpu=1)
            else:
                F.NV_PFALCON_FALCON_CPUCTL.write(bar, base=g, startcpu=1)
            return "CORE_START"
        if name == "CORE_WAIT_FOR_HALT":
            F.NV_PFALCON_FALCON_CPUCTL.wait(bar, self.clock, base=g, timeout=HALT_TIMEOUT, interval=1 * MS,
                                            what="GSP falcon halted (CPUCTL.HALTED) for the CPU sequencer",
                                            halted=1)
            return "CORE_WAIT_FOR_HALT"
        # CORE_RESUME (OpenRM kgspExecuteSequencerCommand_GA102, nouveau)
        falcons.reset_gsp_into_riscv()
        F.NV_PFALCON_FALCON_MAILBOX0.write(bar, self.libos_args_addr & 0xFFFFFFFF, base=g)
        F.NV_PFALCON_FALCON_MAILBOX1.write(bar, self.libos_args_addr >> 32, base=g)
        falcons.start_sec2()
        NV_PGC6_BSI_SECURE_SCRATCH_14.wait(bar, self.clock, timeout=RELOAD_TIMEOUT, interval=1 * MS,
                                           what="GSP-RM reload done (BSI_SECURE_SCRATCH_14.BOOT_STAGE_3_HANDOFF) "
                                                "for CORE_RESUME", boot_stage_3_handoff=1)
        mbox0 = F.NV_PFALCON_FALCON_MAILBOX0.read(bar, base=self.sec2_base)
        if mbox0 != 0:
            raise GspError(f"CPU sequencer CORE_RESUME: SEC2 MAILBOX0 {mbox0:#x} after the reload, expected 0")
        F.NV_PFALCON_FALCON_OS.write(bar, self.app_version, base=g)
        if not falcons.gsp_riscv_active():
            raise GspError("CPU sequencer CORE_RESUME: the GSP RISC-V core is not active after the resume")
        return "CORE_RESUME"

    def _wait(self, name: str, at: int, ns: int) -> int:
        """How long this command may wait for the ``ns`` GSP-RM asks: refused over :data:`SEQUENCER_MAX_WAIT`; a
        DELAY_US longer than what is left of :data:`SEQUENCER_BUDGET` is refused, a REG_POLL is cut to it."""
        if ns > SEQUENCER_MAX_WAIT:
            raise GspError(f"CPU sequencer: {name} at dword {at:#x} asks for a {ns / SEC:g} s wait; a sequencer "
                           f"wait is at most {SEQUENCER_MAX_WAIT // SEC} s (OpenRM's longest default GPU timeout): "
                           f"corrupt message?")
        left = self._deadline - self.clock.now()
        if left <= 0 or (name == "DELAY_US" and ns > left):
            raise GspError(f"CPU sequencer: {name} at dword {at:#x} asks for a {ns / SEC:g} s wait with "
                           f"{max(left, 0) / SEC:g} s left of the {SEQUENCER_BUDGET // SEC} s one buffer may take")
        return min(ns, left)

    def _falcons(self, name: str, at: int) -> FalconCore:
        if self.falcons is None:
            raise GspError(f"CPU sequencer: {name} at dword {at:#x} needs the falcons, and none were given")
        return self.falcons


class _HasOnEvent(Protocol):
    def on_event(self, event: Event | int, handler: Callable[..., None]) -> Callable[[], None]: ...
