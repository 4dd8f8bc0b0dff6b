"""nova_core.errors: the one error tree of the driver core.

Every failure the driver can report is a :class:`NovaError`. Each layer has its own branch, so a caller
can catch exactly what it can handle, and the CLI turns any of them into one line on stderr.

Messages carry the numbers: the offset, the expected and the found value, the valid choices, what was
being waited for. Untrusted input (a ROM, a firmware file, a queue element written by the GPU) never
reaches an ``assert``: parsers raise the matching subclass here instead.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from errno import EBUSY, EINVAL, ENODEV, ENOMEM, EPERM


class NovaError(Exception):
    """Base of every error raised by nova_core."""


# --- facts and definitions ------------------------------------------------------------------------


class RegisterError(NovaError):
    """A register or bitfield was declared or used wrongly (bad field, value out of range, ...)."""


class ChipError(NovaError):
    """A chip id, architecture or BOOT register value that nova_core does not support."""


# --- device access ----------------------------------------------------------------------------------


class DeviceError(NovaError):
    """A device could not be opened or accessed."""


class DeviceAccessError(DeviceError):
    """A device path is missing, unreadable or not an NVIDIA GPU."""


class ReadOnlyError(DeviceError):
    """A write was attempted through a read-only backend."""


class BarRangeError(DeviceError):
    """An access fell outside the mapped BAR."""


class DeviceLost(DeviceError):
    """The device stopped answering (reads return 0xffffffff: fell off the bus, or in reset)."""


class ReplayMismatch(DeviceError):
    """A replayed trace and the code under replay disagree about the next access."""


class DmaError(DeviceError):
    """A DMA buffer could not be allocated, or an access fell outside it."""


class IrqError(DeviceError):
    """An interrupt vector could not be requested, freed or configured (or its handler is stuck)."""


class PollTimeout(NovaError, TimeoutError):
    """A bounded wait for a hardware condition expired.

    Attributes:
        what: the condition that was awaited, in words.
        timeout_ns: the bound that expired.
        last: the last value read (``None`` if nothing was read).
    """

    def __init__(self, what: str, timeout_ns: int, last: object | None = None) -> None:
        self.what = what
        self.timeout_ns = timeout_ns
        self.last = last
        last_txt = "" if last is None else f"; last value {_fmt(last)}"
        super().__init__(f"timed out after {_fmt_duration(timeout_ns)} waiting for {what}{last_txt}")


# --- parsers ----------------------------------------------------------------------------------------


class RomError(NovaError):
    """A vBIOS image is truncated, corrupt or inconsistent."""


class FirmwareError(NovaError):
    """A firmware file is missing, truncated, corrupt or does not fit the chip."""


class PciError(NovaError):
    """PCI config space or a PCI capability is malformed, or a PCI operation was refused."""


# --- engines and firmware protocols ----------------------------------------------------------------


class FalconError(NovaError):
    """A falcon engine refused a load, failed to boot, or reported an error."""


class GspError(NovaError):
    """The GSP message queues or GSP-RM misbehaved (bad element, sequence gap, crash)."""


class RpcError(GspError):
    """An RPC to GSP-RM returned a failure result."""


class MmError(NovaError):
    """A memory-management request was invalid (overlap, double free, out of range, ...)."""


class BootError(NovaError):
    """A bring-up stage failed; the message names the stage and the cause."""


class ChannelError(NovaError):
    """A channel, channel group or engine request was invalid or refused (:mod:`nova_core.engines`)."""


class ChannelExhausted(ChannelError):
    """Every channel id of the FIFO is in use."""


class PushbufferError(ChannelError):
    """A pushbuffer method that the channel's classes do not have, or a value that does not fit."""


class ChannelFault(ChannelError):
    """The GPU stopped a channel (robust-channel recovery): its error notifier and GSP-RM's RC_TRIGGERED say why.

    Attributes:
        report: the :class:`nova_core.engines.fifo.ChannelErrorReport` (chid, engine, fault address, reason).
    """

    def __init__(self, report: object) -> None:
        self.report = report
        super().__init__(str(report))


class GrError(ChannelError):
    """The GR engine's context could not be set up: GSP-RM's context-buffer description is missing or malformed,
    or a golden context or a channel's promotion failed (:mod:`nova_core.engines.gr`)."""


class FspError(NovaError):
    """The FSP (Hopper and later) refused or garbled a message, or never answered.

    Attributes:
        code: the FSP's error code (``NVDM_PAYLOAD_COMMAND_RESPONSE.errorCode``) when it answered with one.
    """

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


# --- the API second-level drivers use (nova_core.api) --------------------------------------------------


class ApiError(NovaError):
    """A request through the base API (:mod:`nova_core.api`) was invalid or refused.

    Attributes:
        errno: the ``errno`` a uAPI reports for it (``EINVAL`` unless a subclass says otherwise), so that a
            second-level driver can pass the failure on as an ioctl would.
    """

    errno: int = EINVAL

    def __init__(self, message: str, *, errno: int | None = None) -> None:
        if errno is not None:
            self.errno = errno
        super().__init__(message)


class Revoked(ApiError):
    """A resource was used after the device or driver binding that handed it out went away (unbind, device
    removal, shutdown): nothing reached the device. ``errno`` is ENODEV."""

    errno = ENODEV


class AuxError(ApiError):
    """An auxiliary-bus request was invalid: a name that does not parse, a driver registered twice, ..."""


class NotAllowed(ApiError):
    """An RM control that the base API's allowlist does not let a second-level driver send. ``errno`` is EPERM."""

    errno = EPERM


class Busy(ApiError):
    """A resource is still in use (a buffer bound in a VA space, a VA range taken). ``errno`` is EBUSY."""

    errno = EBUSY


class OutOfMemory(ApiError):
    """No VRAM, system memory or VA space for the request. ``errno`` is ENOMEM."""

    errno = ENOMEM


class VgpuError(ApiError):
    """A vGPU-manager request was refused (:mod:`nova_core.api.vgpu`): a VF out of range (EINVAL) or in use (EBUSY),
    a type that no longer fits (ENOSPC: channel ids or instances; FB is :class:`OutOfMemory`), no such vGPU
    (ENODEV), a plugin task GSP-RM refused. ``errno`` says which."""


# --- the simulated GPU ------------------------------------------------------------------------------


class SimViolation(NovaError):
    """The simulated GPU refused an access that real hardware would refuse or misbehave on."""


# --- helpers for messages ----------------------------------------------------------------------------


def did_you_mean(name: str, choices: Iterable[str], limit: int = 3) -> str:
    """Return a ``"; did you mean ...?"`` suffix for an unknown ``name``, or a list of valid ones."""
    pool = sorted(set(choices))
    close = difflib.get_close_matches(name, pool, n=limit, cutoff=0.6)
    if close:
        return "; did you mean " + " or ".join(repr(c) for c in close) + "?"
    if len(pool) <= 12:
        return "; valid: " + ", ".join(pool)
    return f"; {len(pool)} valid names (e.g. {', '.join(pool[:6])}, ...)"


def _fmt(value: object) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:#x}"
    return repr(value)


def _fmt_duration(ns: int) -> str:
    if ns >= 1_000_000_000:
        return f"{ns / 1e9:g} s"
    if ns >= 1_000_000:
        return f"{ns / 1e6:g} ms"
    if ns >= 1_000:
        return f"{ns / 1e3:g} us"
    return f"{ns} ns"
