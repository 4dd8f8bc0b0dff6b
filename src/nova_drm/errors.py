"""nova_drm.errors: :class:`DrmError` - every uAPI failure, with the errno an ioctl would return."""

from __future__ import annotations

import errno as _errno
import os
from collections.abc import Iterator
from contextlib import contextmanager

from nova_core.errors import (
    ApiError,
    ChannelError,
    ChannelExhausted,
    ChannelFault,
    MmError,
    NovaError,
    PollTimeout,
    Revoked,
)


class DrmError(Exception):
    """A uAPI call failed; ``errno`` is what the ioctl would have returned (negated in the kernel).

    Attributes:
        errno: ``errno.EINVAL``, ``ENOENT``, ``ENOMEM``, ``ENODEV``, ``EBUSY``, ``ETIME``, ``EIO`` ...
        call: the uAPI call (``"gem_info"``).
    """

    def __init__(self, errno: int, call: str, message: str) -> None:
        self.errno = errno
        self.call = call
        name = _errno.errorcode.get(errno, str(errno))
        super().__init__(f"{call}: {name} ({os.strerror(errno)}): {message}")


def errno_of(e: NovaError) -> int:
    """The errno a uAPI reports for a failure of the layers below."""
    if isinstance(e, ApiError):  # Revoked (ENODEV), Busy, OutOfMemory, NotAllowed, plain EINVAL
        return e.errno
    if isinstance(e, PollTimeout):
        return _errno.ETIME
    if isinstance(e, ChannelFault):  # the GPU stopped the channel
        return _errno.EIO
    if isinstance(e, ChannelExhausted):  # no channel id left
        return _errno.ENOSPC
    if isinstance(e, ChannelError | MmError):  # a request the layers below refused (PushbufferError included)
        return _errno.EINVAL
    return _errno.EIO  # the GPU or GSP-RM misbehaved (GspError, RpcError, DeviceError ...)


@contextmanager
def ioctl(call: str) -> Iterator[None]:
    """Run a uAPI call: a nova_core error becomes a :class:`DrmError` with its errno."""
    try:
        yield
    except Revoked as e:
        raise DrmError(_errno.ENODEV, call, f"the device is gone ({e})") from None
    except NovaError as e:
        raise DrmError(errno_of(e), call, str(e)) from None
