"""nova_core.sim.gsp_rm.objects: the simulated GSP-RM's resource server - clients and their objects.

RM keeps, per client, a tree of objects: the client (NV01_ROOT) at the root, devices (NV01_DEVICE_0)
under it, subdevices (NV20_SUBDEVICE_0) under a device, everything else under one of those. What the
table checks, as RM's resource server does (statuses by their NV_STATUS names):

- a new handle must be non-zero (``NV_ERR_INVALID_OBJECT_NEW``) and unused within its client
  (``NV_ERR_INSERT_DUPLICATE_NAME``); a new client's handle must be unused among clients;
- NV01_ROOT: hClient == hParent == hObject, params.hClient == hObject (nouveau's convention);
- the client must exist (``NV_ERR_INVALID_CLIENT``), the parent must exist in it
  (``NV_ERR_INVALID_OBJECT_PARENT``) and be of a class the new one may live under (device under a
  client, subdevice under a device: ``NV_ERR_INVALID_OBJECT_PARENT``);
- NV01_DEVICE_0 deviceId must name the one GPU (0), at most one device per deviceId per client;
  NV20_SUBDEVICE_0 subDeviceId must be 0, one per device (``NV_ERR_INVALID_ARGUMENT`` /
  ``NV_ERR_STATE_IN_USE``); a class the chip does not have is ``NV_ERR_INVALID_CLASS``;
- FREE of an unknown client/object: ``NV_ERR_INVALID_CLIENT`` / ``NV_ERR_INVALID_OBJECT_HANDLE``;
  freeing an object frees everything under it; freeing the client handle frees the client;
- CONTROL: the client and object must exist; the command's interface (bits 31:16) must be the object's
  class (``NV_ERR_NOT_SUPPORTED`` otherwise); NV0000_CTRL_CMD_NULL is accepted on any object (its params
  come back unchanged); NV2080_CTRL_CMD_INTERNAL_INTR_GET_KERNEL_TABLE is answered (:mod:`.intr`) on GSP-RM's
  own subdevice only - internal commands are for the kernel driver's RM, which sends them with the handles of
  GSP_STATIC_INFO (``NV_ERR_INSUFFICIENT_PERMISSIONS`` from another client, a sim choice), and with params of the
  structure's exact size (``NV_ERR_INVALID_PARAM_STRUCT``); other commands are not modelled
  (``NV_ERR_NOT_SUPPORTED``).

Extensions (the FIFO objects of :mod:`.fifo`, the GR engine of :mod:`.gr`) register *hooks*:
:attr:`ObjectTable.alloc_hooks` check a class's parameters and parent and keep per-object state (``RmObject.data``),
:attr:`ObjectTable.control_hooks` answer a control command (and decide which classes take it),
:attr:`ObjectTable.free_hooks` hear of every object freed.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from ...gpu.chips import Chipset
from .intr import kernel_table

NV01_ROOT = 0x0000
NV01_DEVICE_0 = 0x0080
NV20_SUBDEVICE_0 = 0x2080

#: other classes the simulated RM accepts, by architecture (reference §11); any non-client parent
ARCH_CLASSES: dict[str, set[int]] = {
    "TURING": {0xC46F, 0xC5B5, 0xC597, 0xC5C0, 0xC461},
    "AMPERE_GA100": {0xC56F, 0xC6B5, 0xC697, 0xC6C0, 0xC561},
    "AMPERE": {0xC56F, 0xC7B5, 0xC797, 0xC7C0, 0xC561},
    "ADA": {0xC56F, 0xC7B5, 0xC997, 0xC9C0, 0xC561},
    "HOPPER": {0xC86F, 0xC8B5, 0xCB97, 0xCBC0, 0xC661},
    "BLACKWELL_GB10X": {0xC96F, 0xC9B5, 0xCD97, 0xCDC0, 0xC761},
    "BLACKWELL_GB20X": {0xC96F, 0xCA6F, 0xCAB5, 0xCE97, 0xCEC0, 0xC761},
}
COMMON_CLASSES = {0xA06C, 0x90F1, 0x50A0, 0x0040}  #: channel group, VA space, virtual memory, local memory


@dataclass
class RmObject:
    handle: int
    cls: int
    parent: int | None  #: None for a client
    children: set[int] = field(default_factory=set)
    device_id: int | None = None
    data: Any = None  #: an extension's state for the object (alloc hooks set it)


@dataclass
class Client:
    handle: int
    objects: dict[int, RmObject] = field(default_factory=dict)
    internal: bool = False


#: ``hook(client, parent, handle, class, params) -> (status, data)``: status 0 allocates (``data`` is kept)
AllocHook = Callable[[Client, RmObject, int, int, bytes], tuple[int, Any]]
#: ``hook(client, object, params) -> (status, params out)``
ControlHook = Callable[[Client, RmObject, bytes], tuple[int, bytes]]
#: ``hook(client, object)``: the object is being freed
FreeHook = Callable[[Client, RmObject], None]


class ObjectTable:
    """Clients and objects; methods return an NV_STATUS code (0 = NV_OK) and never raise for bad input."""

    def __init__(self, m: ModuleType, classes: set[int]) -> None:
        self.m = m
        self.status = {name: code for code, (name, _text) in m.NV_STATUS.items()}
        self.clients: dict[int, Client] = {}
        self.classes = classes | COMMON_CLASSES
        self.allocs = 0
        self.frees = 0
        self.alloc_hooks: dict[int, AllocHook] = {}
        self.control_hooks: dict[int, ControlHook] = {}
        self.free_hooks: list[FreeHook] = []

    def s(self, name: str) -> int:
        return int(self.status[name])

    # -- alloc ------------------------------------------------------------------------------------

    def alloc(self, h_client: int, h_parent: int, h_object: int, h_class: int, params: bytes) -> int:
        if h_object == 0:
            return self.s("NV_ERR_INVALID_OBJECT_NEW")
        if h_class == NV01_ROOT:
            return self._alloc_client(h_client, h_parent, h_object, params)
        client = self.clients.get(h_client)
        if client is None:
            return self.s("NV_ERR_INVALID_CLIENT")
        if h_object in client.objects:
            return self.s("NV_ERR_INSERT_DUPLICATE_NAME")
        parent = client.objects.get(h_parent)
        if parent is None:
            return self.s("NV_ERR_INVALID_OBJECT_PARENT")
        device_id = None
        if h_class == NV01_DEVICE_0:
            if parent.cls != NV01_ROOT:
                return self.s("NV_ERR_INVALID_OBJECT_PARENT")
            p = self._params("NV0080_ALLOC_PARAMETERS", params)
            if p is None:
                return self.s("NV_ERR_INVALID_PARAM_STRUCT")
            if p.deviceId != 0:
                return self.s("NV_ERR_INVALID_ARGUMENT")
            if any(o.cls == NV01_DEVICE_0 and o.device_id == p.deviceId for o in client.objects.values()):
                return self.s("NV_ERR_STATE_IN_USE")
            device_id = p.deviceId
        elif h_class == NV20_SUBDEVICE_0:
            if parent.cls != NV01_DEVICE_0:
                return self.s("NV_ERR_INVALID_OBJECT_PARENT")
            p2 = self._params("NV2080_ALLOC_PARAMETERS", params)
            if p2 is None:
                return self.s("NV_ERR_INVALID_PARAM_STRUCT")
            if p2.subDeviceId != 0:
                return self.s("NV_ERR_INVALID_ARGUMENT")
            if any(client.objects[c].cls == NV20_SUBDEVICE_0 for c in parent.children):
                return self.s("NV_ERR_STATE_IN_USE")
        elif h_class in self.classes:
            if parent.cls == NV01_ROOT:
                return self.s("NV_ERR_INVALID_OBJECT_PARENT")
        else:
            return self.s("NV_ERR_INVALID_CLASS")
        data = None
        hook = self.alloc_hooks.get(h_class)
        if hook is not None:
            status, data = hook(client, parent, h_object, h_class, params)
            if status:
                return status
        client.objects[h_object] = RmObject(h_object, h_class, h_parent, device_id=device_id, data=data)
        parent.children.add(h_object)
        self.allocs += 1
        return 0

    def _alloc_client(self, h_client: int, h_parent: int, h_object: int, params: bytes) -> int:
        if h_client != h_object or h_parent != h_object:
            return self.s("NV_ERR_INVALID_ARGUMENT")
        if h_object in self.clients:
            return self.s("NV_ERR_INSERT_DUPLICATE_NAME")
        p = self._params("NV0000_ALLOC_PARAMETERS", params)
        if p is None:
            return self.s("NV_ERR_INVALID_PARAM_STRUCT")
        if p.hClient != h_object:
            return self.s("NV_ERR_INVALID_ARGUMENT")
        client = Client(h_object)
        client.objects[h_object] = RmObject(h_object, NV01_ROOT, None)
        self.clients[h_object] = client
        self.allocs += 1
        return 0

    def _params(self, name: str, params: bytes) -> ctypes.Structure | None:
        cls = getattr(self.m, name)
        if len(params) < ctypes.sizeof(cls):
            return None
        obj: ctypes.Structure = cls.from_buffer_copy(params[:ctypes.sizeof(cls)])
        return obj

    def internal(self, h_client: int, h_device: int, h_subdevice: int) -> None:
        """GSP-RM's own client/device/subdevice (announced in GspStaticConfigInfo)."""
        client = Client(h_client, internal=True)
        client.objects[h_client] = RmObject(h_client, NV01_ROOT, None, {h_device})
        client.objects[h_device] = RmObject(h_device, NV01_DEVICE_0, h_client, {h_subdevice}, device_id=0)
        client.objects[h_subdevice] = RmObject(h_subdevice, NV20_SUBDEVICE_0, h_device)
        self.clients[h_client] = client

    # -- free -------------------------------------------------------------------------------------

    def free(self, h_root: int, h_parent: int, h_object: int) -> int:
        client = self.clients.get(h_root)
        if client is None:
            return self.s("NV_ERR_INVALID_CLIENT")
        if client.internal:
            return self.s("NV_ERR_INSUFFICIENT_PERMISSIONS")
        obj = client.objects.get(h_object)
        if obj is None:
            return self.s("NV_ERR_INVALID_OBJECT_HANDLE")
        if h_object == h_root:
            self.frees += len(client.objects)
            for o in list(client.objects.values()):
                self._freed(client, o)
            del self.clients[h_root]
            return 0
        stack = [h_object]
        while stack:
            h = stack.pop()
            o = client.objects.pop(h)
            stack.extend(o.children)
            self._freed(client, o)
            self.frees += 1
        if obj.parent is not None and obj.parent in client.objects:
            client.objects[obj.parent].children.discard(h_object)
        return 0

    def _freed(self, client: Client, obj: RmObject) -> None:
        for hook in self.free_hooks:
            hook(client, obj)

    # -- control ----------------------------------------------------------------------------------

    def control(self, h_client: int, h_object: int, cmd: int) -> int:
        """The status CONTROL ``cmd`` gets (params unused: see :meth:`answer`)."""
        return self.answer(h_client, h_object, cmd, b"", None)[0]

    def answer(self, h_client: int, h_object: int, cmd: int, params: bytes,
               chipset: Chipset | None) -> tuple[int, bytes, str]:
        """``(status, params out, refusal reason or "")`` of CONTROL ``cmd`` on ``h_object``."""
        client = self.clients.get(h_client)
        if client is None:
            return self.s("NV_ERR_INVALID_CLIENT"), params, ""
        obj = client.objects.get(h_object)
        if obj is None:
            return self.s("NV_ERR_INVALID_OBJECT_HANDLE"), params, ""
        if cmd == int(self.m.NV0000_CTRL_CMD_NULL):
            return 0, params, ""
        hook = self.control_hooks.get(cmd)
        if hook is not None:  # (a hook decides which classes take its command: NVA06F/NVC36F on every channel)
            status, out = hook(client, obj, params)
            return status, out, ""
        if (cmd >> 16) != obj.cls:
            return self.s("NV_ERR_NOT_SUPPORTED"), params, ""
        if cmd == int(self.m.NV2080_CTRL_CMD_INTERNAL_INTR_GET_KERNEL_TABLE) and chipset is not None:
            size = ctypes.sizeof(self.m.NV2080_CTRL_INTERNAL_INTR_GET_KERNEL_TABLE_PARAMS)
            if not client.internal:
                return (self.s("NV_ERR_INSUFFICIENT_PERMISSIONS"), params,
                        f"INTR_GET_KERNEL_TABLE on client {h_client:#x}: internal commands go to GSP-RM's own "
                        f"subdevice (GSP_STATIC_INFO hInternalSubdevice)")
            if len(params) != size:
                return (self.s("NV_ERR_INVALID_PARAM_STRUCT"), params,
                        f"INTR_GET_KERNEL_TABLE params of {len(params):#x} bytes, the structure is {size:#x}")
            return 0, kernel_table(self.m, chipset), ""
        return self.s("NV_ERR_NOT_SUPPORTED"), params, ""

    def count(self) -> int:
        return sum(len(c.objects) for c in self.clients.values() if not c.internal)
