"""nova_core.gsp.client: RM clients and the objects under them - the API second-level drivers build on.

GSP-RM keeps a tree of objects per client (reference §11; OpenRM ``resserv``, nouveau ``r535_gsp_client_ctor``
/ ``nvkm_gsp_device_ctor``): a client (class NV01_ROOT) at the root, a device (NV01_DEVICE_0) under it, a
subdevice (NV20_SUBDEVICE_0) under the device, and everything a DRM driver or vGPU manager allocates (channels,
VA spaces, memory) under those. Each object is named by a 32-bit handle the *client* chooses, unique within
the client. Here:

- :meth:`RmClient.open` allocates a client over a :class:`~nova_core.gsp.rpc.GspRpc` (GSP_RM_ALLOC with
  ``hClient == hParent == hObject``);
- :meth:`RmObject.alloc` creates a child, :meth:`RmObject.control` runs a control command on an object,
  :meth:`RmObject.free` frees an object and (as RM does) everything under it; freeing the client frees all;
- :meth:`RmClient.device` / :meth:`RmObject.subdevice` are the two allocations every driver starts with.

Handles come from per-class ranges with nouveau's prefixes (``0xc1d0xxxx`` clients, ``0xde1dxxxx`` devices,
``0x5d1dxxxx`` subdevices, ``0xbeefxxxx`` others), never reused within a client while in use. A failed ALLOC
raises :class:`~nova_core.gsp.fw.RpcFailure` naming the class, parent and status, and leaves the tree as it
was. From a REPL::

    >>> gpu = nova_core.boot_sim("ga102")
    >>> dev = gpu.client.device(); sub = dev.subdevice()
    >>> sub.control(0x0, b"ping")    # NV0000_CTRL_CMD_NULL: its params come back
    b'ping'
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

from ..errors import GspError
from .fw import GspAbi, RmAlloc, RmControl, RmFree, device_alloc_params, root_alloc_params, subdevice_alloc_params
from .rpc import GspRpc

NV01_ROOT = 0x0000
NV01_DEVICE_0 = 0x0080
NV20_SUBDEVICE_0 = 0x2080

#: names of the classes this layer allocates itself or is commonly asked for (reference §11)
CLASS_NAMES: dict[int, str] = {
    NV01_ROOT: "NV01_ROOT",
    NV01_DEVICE_0: "NV01_DEVICE_0",
    NV20_SUBDEVICE_0: "NV20_SUBDEVICE_0",
    0x0040: "NV01_MEMORY_LOCAL_USER",
    0x50A0: "NV50_MEMORY_VIRTUAL",
    0x90F1: "FERMI_VASPACE_A",
    0xA06C: "KEPLER_CHANNEL_GROUP_A",
}

#: handle prefixes (nouveau's NVKM_RM_CLIENT/DEVICE/SUBDEVICE); 0xbeef for everything else
HANDLE_PREFIX: dict[int, int] = {NV01_ROOT: 0xC1D0, NV01_DEVICE_0: 0xDE1D, NV20_SUBDEVICE_0: 0x5D1D}
OTHER_PREFIX = 0xBEEF
_client_ids = itertools.count(1)


def class_name(cls: int) -> str:
    return CLASS_NAMES.get(cls, f"{cls:#06x}")


class RmObject:
    """One object of a client's tree (use :meth:`RmClient.open` and :meth:`alloc` to create them)."""

    def __init__(self, client: RmClient | None, handle: int, cls: int, parent: RmObject | None) -> None:
        self.client: RmClient = client if client is not None else self  # type: ignore[assignment]
        self.handle = handle
        self.cls = cls
        self.parent = parent
        self.children: list[RmObject] = []
        self.freed = False

    @property
    def class_name(self) -> str:
        return class_name(self.cls)

    def __repr__(self) -> str:
        state = " (freed)" if self.freed else ""
        return f"<RmObject {self.class_name} {self.handle:#010x}{state}>"

    def as_json(self) -> dict[str, Any]:
        return {"handle": self.handle, "class": self.cls, "class_name": self.class_name,
                "parent": None if self.parent is None else self.parent.handle}

    def _live(self, doing: str) -> None:
        if self.freed:
            raise GspError(f"cannot {doing} {self.class_name} {self.handle:#010x}: it was freed")

    # -- verbs ---------------------------------------------------------------------------------------

    def alloc(self, cls: int, params: bytes = b"", *, handle: int | None = None) -> RmObject:
        """Create an object of class ``cls`` under this one (GSP_RM_ALLOC); returns it.

        Raises:
            RpcFailure: GSP-RM refused (its status named); the tree is unchanged.
            GspError: this object was freed, or ``handle`` is in use in the client.
        """
        self._live("allocate under")
        client = self.client
        h = client._take_handle(cls, handle)
        try:
            client.rpc.call(RmAlloc(client.handle, self.handle, h, cls, params))
        except BaseException:
            client._release_handle(h)
            raise
        obj = RmObject(client, h, cls, self)
        with client._lock:
            self.children.append(obj)
            client._objects[h] = obj
        return obj

    def control(self, cmd: int, params: bytes = b"") -> bytes:
        """Run control command ``cmd`` on this object (GSP_RM_CONTROL); returns the params as RM left them."""
        self._live("control")
        return self.client.rpc.call(RmControl(self.client.handle, self.handle, cmd, params))

    def free(self) -> None:
        """Free this object and everything under it (FREE); freeing a freed object is a no-op."""
        if self.freed:
            return
        client = self.client
        parent = self.parent.handle if self.parent is not None else self.handle
        client.rpc.call(RmFree(client.handle, parent, self.handle))
        client._forget(self)

    def subdevice(self, subdevice_id: int = 0) -> RmObject:
        """NV20_SUBDEVICE_0 under this device."""
        if self.cls != NV01_DEVICE_0:
            raise GspError(f"a subdevice lives under an NV01_DEVICE_0, not under {self.class_name}")
        return self.alloc(NV20_SUBDEVICE_0, subdevice_alloc_params(self.client.abi, subdevice_id=subdevice_id))

    def walk(self) -> list[RmObject]:
        """This object and every live object under it, parents first."""
        out: list[RmObject] = []
        stack: list[RmObject] = [self]
        while stack:
            o = stack.pop()
            if o.freed:
                continue
            out.append(o)
            stack.extend(reversed(o.children))
        return out


class RmClient(RmObject):
    """An RM client (NV01_ROOT): the root of a tree of objects and the owner of their handles."""

    def __init__(self, rpc: GspRpc, handle: int) -> None:
        self.rpc = rpc
        self.abi: GspAbi = rpc.abi
        self._lock = threading.Lock()
        self._objects: dict[int, RmObject] = {}
        self._next: dict[int, int] = {}
        super().__init__(None, handle, NV01_ROOT, None)
        self._objects[handle] = self

    @classmethod
    def open(cls, rpc: GspRpc, *, handle: int | None = None, process_name: str = "nova-core") -> RmClient:
        """Allocate a new client in GSP-RM (handle: ``0xc1d0nnnn`` unless given)."""
        h = (HANDLE_PREFIX[NV01_ROOT] << 16 | next(_client_ids) & 0xFFFF) if handle is None else handle
        if not 0 < h <= 0xFFFFFFFF:
            raise GspError(f"client handle {h:#x} is not a non-zero 32-bit value")
        rpc.call(RmAlloc(h, h, h, NV01_ROOT, root_alloc_params(rpc.abi, h, process_name=process_name)))
        return cls(rpc, h)

    def __repr__(self) -> str:
        return f"<RmClient {self.handle:#010x}, {len(self.objects()) - 1} object(s){' (freed)' if self.freed else ''}>"

    def device(self, device_id: int = 0) -> RmObject:
        """NV01_DEVICE_0 for GPU ``device_id`` (``hClientShare`` = this client, as nouveau sets it)."""
        return self.alloc(NV01_DEVICE_0, device_alloc_params(self.abi, device_id=device_id,
                                                              h_client_share=self.handle))

    def objects(self) -> list[RmObject]:
        """Every live object of this client, the client first."""
        return self.walk()

    def find(self, handle: int) -> RmObject:
        with self._lock:
            obj = self._objects.get(handle)
        if obj is None:
            raise GspError(f"client {self.handle:#010x} has no object {handle:#010x}")
        return obj

    def close(self) -> None:
        """Free the client and everything it holds."""
        self.free()

    # -- handles -------------------------------------------------------------------------------------

    def _take_handle(self, cls: int, handle: int | None) -> int:
        with self._lock:
            if handle is not None:
                if not 0 < handle <= 0xFFFFFFFF:
                    raise GspError(f"handle {handle:#x} is not a non-zero 32-bit value")
                if handle in self._objects:
                    raise GspError(f"handle {handle:#010x} is already in use in client {self.handle:#010x} "
                                   f"(by {self._objects[handle].class_name})")
                self._objects[handle] = RmObject(self, handle, cls, None)  # placeholder until the ALLOC is answered
                return handle
            prefix = HANDLE_PREFIX.get(cls, OTHER_PREFIX)
            n = self._next.get(prefix, 0)
            for _ in range(0x10000):
                h = prefix << 16 | n
                n = (n + 1) & 0xFFFF
                if h not in self._objects and h != 0:
                    self._next[prefix] = n
                    self._objects[h] = RmObject(self, h, cls, None)
                    return h
        raise GspError(f"client {self.handle:#010x}: all 65536 handles {prefix:#06x}xxxx are in use")

    def _release_handle(self, handle: int) -> None:
        with self._lock:
            self._objects.pop(handle, None)

    def _forget(self, obj: RmObject) -> None:
        with self._lock:
            for o in obj.walk():
                o.freed = True
                self._objects.pop(o.handle, None)
            if obj.parent is not None and obj in obj.parent.children:
                obj.parent.children.remove(obj)
