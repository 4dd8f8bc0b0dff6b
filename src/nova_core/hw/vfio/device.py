"""nova_core.hw.vfio.device: owning a PCI device through VFIO (container, group, device).

The legacy VFIO interface, as QEMU and tinygrad's PCI path use it:

1. the device must be bound to ``vfio-pci`` and sit in an IOMMU group whose every member is bound to
   ``vfio-pci`` (or to no driver, or is a bridge): the group must be *viable*;
2. ``/dev/vfio/vfio`` is the container: API version 0, a type-1 IOMMU (v2 preferred);
3. ``/dev/vfio/<group>`` is attached to the container, then the container's IOMMU type is set;
4. ``VFIO_GROUP_GET_DEVICE_FD("<bdf>")`` gives the device: regions (BARs, ROM, config) by index with
   their size, flags and file offset; BARs are ``mmap`` ed at that offset, config space is read and
   written with ``pread``/``pwrite``; interrupts are eventfds bound with ``VFIO_DEVICE_SET_IRQS``;
   ``VFIO_DEVICE_RESET`` resets the function.

DMA memory (:class:`VfioDma`, a :class:`~nova_core.hw.dma.DmaAllocator`) is anonymous memory pinned
and mapped into the device's IOVA space with ``VFIO_IOMMU_MAP_DMA``; the IOVA is the bus address.

Every precondition is checked before the kernel is asked, so the refusal says what to do: the driver
bound instead of vfio-pci, the group member that makes the group non-viable, the missing
``/dev/vfio`` (modules not loaded), the missing permission (root, or ownership of the group node and
``RLIMIT_MEMLOCK``), no IOMMU (no group). All kernel calls go through a :class:`VfioSys` so that tests
run the whole flow against a fake kernel; :class:`LinuxVfioSys` is the real one.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import mmap
import os
import select
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ...errors import DeviceAccessError, DeviceError, DmaError, PollTimeout
from ..bar import BufferBar
from ..clock import MonotonicClock
from ..device import Device
from ..dma import PAGE_SIZE, DmaBuffer, MemoryLike, check_alloc_args, memory_view
from ..sg import SgSegment, SgTable
from . import uapi as U

SYSFS_PCI = Path("/sys/bus/pci/devices")
DEV_VFIO = Path("/dev/vfio")
#: drivers that keep an IOMMU group viable beside vfio-pci (bridges stay with pcieport)
VIABLE_DRIVERS = frozenset({"vfio-pci", "pcieport", "pci-stub"})
IOVA_BASE = 1 << 32  #: first IOVA handed out (below it: where platforms put MSI windows and RMRRs)
IOVA_LIMIT = 1 << 47  #: nova-core's 47-bit DMA mask
_IRQ_NAMES = {U.VFIO_PCI_INTX_IRQ_INDEX: "INTx", U.VFIO_PCI_MSI_IRQ_INDEX: "MSI", U.VFIO_PCI_MSIX_IRQ_INDEX: "MSI-X"}


class VfioSys(Protocol):
    """The kernel calls VFIO needs (the real ones in :class:`LinuxVfioSys`; tests supply a fake)."""

    def open(self, path: Path, flags: int) -> int: ...

    def close(self, fd: int) -> None: ...

    def ioctl(self, fd: int, request: int, arg: int | bytearray | ctypes.Structure) -> int: ...

    def mmap(self, fd: int, length: int, offset: int, writable: bool) -> mmap.mmap: ...

    def pread(self, fd: int, length: int, offset: int) -> bytes: ...

    def pwrite(self, fd: int, data: bytes, offset: int) -> int: ...

    def eventfd(self) -> int: ...


class LinuxVfioSys:
    """The real kernel."""

    def open(self, path: Path, flags: int) -> int:
        return os.open(path, flags | os.O_CLOEXEC)

    def close(self, fd: int) -> None:
        os.close(fd)

    def ioctl(self, fd: int, request: int, arg: int | bytearray | ctypes.Structure) -> int:
        if isinstance(arg, int):
            return int(fcntl.ioctl(fd, request, arg))
        return int(fcntl.ioctl(fd, request, arg, True))

    def mmap(self, fd: int, length: int, offset: int, writable: bool) -> mmap.mmap:
        prot = mmap.PROT_READ | (mmap.PROT_WRITE if writable else 0)
        return mmap.mmap(fd, length, mmap.MAP_SHARED, prot, offset=offset)

    def pread(self, fd: int, length: int, offset: int) -> bytes:
        return os.pread(fd, length, offset)

    def pwrite(self, fd: int, data: bytes, offset: int) -> int:
        return os.pwrite(fd, data, offset)

    def eventfd(self) -> int:
        return os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)


def _ioctl(sys: VfioSys, fd: int, request: int, arg: int | bytearray | ctypes.Structure, what: str) -> int:
    try:
        return sys.ioctl(fd, request, arg)
    except OSError as e:
        hint = ""
        if e.errno in (errno.EPERM, errno.EACCES):
            hint = " (permission: root, or ownership of the group node)"
        elif e.errno == errno.ENOMEM:
            hint = " (RLIMIT_MEMLOCK too small to pin the memory: raise it with ulimit -l)"
        raise DeviceError(f"VFIO {what} failed: {e.strerror or e}{hint}") from None


@dataclass(frozen=True)
class RegionInfo:
    index: int
    flags: int
    size: int
    offset: int

    @property
    def readable(self) -> bool:
        return bool(self.flags & U.VFIO_REGION_INFO_FLAG_READ)

    @property
    def writable(self) -> bool:
        return bool(self.flags & U.VFIO_REGION_INFO_FLAG_WRITE)

    @property
    def mappable(self) -> bool:
        return bool(self.flags & U.VFIO_REGION_INFO_FLAG_MMAP)


@dataclass(frozen=True)
class IrqInfo:
    index: int
    flags: int
    count: int


def _link_name(path: Path) -> str | None:
    try:
        return os.path.basename(os.readlink(path))
    except OSError:
        return None


def check_vfio_ready(bdf: str, *, sysfs: Path = SYSFS_PCI, dev_vfio: Path = DEV_VFIO) -> int:
    """The checks before any open: bound to vfio-pci, in an IOMMU group, group viable, nodes present.

    Returns the IOMMU group number. Raises :class:`DeviceAccessError` naming what to fix (a ``bdf`` that is not
    a PCI address included: it is normalised before it becomes a path, so ``"../x"`` cannot leave ``sysfs``).
    """
    from ..sysfs import normalize_bdf

    bdf = normalize_bdf(bdf)
    path = sysfs / bdf
    if not path.is_dir():
        raise DeviceAccessError(f"no PCI device {bdf} (looked for {str(path)!r})")
    driver = _link_name(path / "driver")
    if driver != "vfio-pci":
        bound = f"bound to {driver!r}" if driver else "not bound to any driver"
        raise DeviceAccessError(
            f"{bdf} is {bound}, not vfio-pci; bind it first: echo vfio-pci > {path}/driver_override; "
            f"{'echo ' + bdf + ' > ' + str(path) + '/driver/unbind; ' if driver else ''}"
            f"echo {bdf} > /sys/bus/pci/drivers_probe"
        )
    group_name = _link_name(path / "iommu_group")
    if group_name is None or not group_name.isdigit():
        raise DeviceAccessError(f"{bdf} has no IOMMU group: the IOMMU is off (boot with intel_iommu=on or "
                                f"amd_iommu=on); no-IOMMU VFIO is not supported")
    group = int(group_name)
    members_dir = path / "iommu_group" / "devices"
    try:
        members = sorted(os.listdir(members_dir))
    except OSError:
        members = [bdf]
    for m in members:
        drv = _link_name(members_dir / m / "driver")
        if drv is not None and drv not in VIABLE_DRIVERS:
            raise DeviceAccessError(
                f"IOMMU group {group} of {bdf} is not viable: its member {m} is bound to {drv!r}; every "
                f"device of the group must be bound to vfio-pci (or to no driver) before the group can be used"
            )
    if not dev_vfio.is_dir():
        raise DeviceAccessError(f"{str(dev_vfio)!r} does not exist: the vfio modules are not loaded "
                                f"(modprobe vfio-pci)")
    if not (dev_vfio / "vfio").exists():
        raise DeviceAccessError(f"{str(dev_vfio / 'vfio')!r} (the VFIO container) does not exist")
    if not (dev_vfio / str(group)).exists():
        if (dev_vfio / f"noiommu-{group}").exists():
            raise DeviceAccessError(f"IOMMU group {group} is a no-IOMMU group ({dev_vfio!s}/noiommu-{group}): "
                                    f"no DMA isolation and no IOVA mapping; not supported")
        raise DeviceAccessError(f"{str(dev_vfio / str(group))!r} does not exist: group {group} is not "
                                f"handled by VFIO")
    return group


class VfioContainer:
    """``/dev/vfio/vfio``: one IOMMU address space for the groups attached to it."""

    def __init__(self, sys: VfioSys, dev_vfio: Path = DEV_VFIO) -> None:
        self.sys = sys
        node = dev_vfio / "vfio"
        try:
            self.fd = sys.open(node, os.O_RDWR)
        except PermissionError:
            raise DeviceAccessError(f"cannot open {str(node)!r}: permission denied (VFIO needs root, or a user "
                                    f"given the group node)") from None
        except FileNotFoundError:
            raise DeviceAccessError(f"{str(node)!r} does not exist: the vfio modules are not loaded") from None
        except OSError as e:
            raise DeviceAccessError(f"cannot open {str(node)!r}: {e.strerror}") from None
        version = _ioctl(sys, self.fd, U.VFIO_GET_API_VERSION, 0, "GET_API_VERSION")
        if version != U.VFIO_API_VERSION:
            self.close()
            raise DeviceError(f"VFIO API version {version}, expected {U.VFIO_API_VERSION}")
        self.iommu_type = 0
        for t in (U.VFIO_TYPE1v2_IOMMU, U.VFIO_TYPE1_IOMMU):
            if _ioctl(sys, self.fd, U.VFIO_CHECK_EXTENSION, t, "CHECK_EXTENSION"):
                self.iommu_type = t
                break
        if not self.iommu_type:
            self.close()
            raise DeviceError("the VFIO container supports no type-1 IOMMU (VFIO_TYPE1_IOMMU / VFIO_TYPE1v2_IOMMU)")
        self._iommu_set = False

    def set_iommu(self) -> None:
        if not self._iommu_set:
            _ioctl(self.sys, self.fd, U.VFIO_SET_IOMMU, self.iommu_type, f"SET_IOMMU({self.iommu_type})")
            self._iommu_set = True

    def map_dma(self, vaddr: int, iova: int, size: int, *, writable: bool) -> None:
        flags = U.VFIO_DMA_MAP_FLAG_READ | (U.VFIO_DMA_MAP_FLAG_WRITE if writable else 0)
        arg = U.new(U.vfio_iommu_type1_dma_map, flags=flags, vaddr=vaddr, iova=iova, size=size)
        _ioctl(self.sys, self.fd, U.VFIO_IOMMU_MAP_DMA, arg, f"IOMMU_MAP_DMA(iova {iova:#x}, {size:#x} bytes)")

    def unmap_dma(self, iova: int, size: int) -> None:
        arg = U.new(U.vfio_iommu_type1_dma_unmap, iova=iova, size=size)
        _ioctl(self.sys, self.fd, U.VFIO_IOMMU_UNMAP_DMA, arg, f"IOMMU_UNMAP_DMA(iova {iova:#x}, {size:#x} bytes)")
        done = int(arg.size)
        if done != size:
            raise DmaError(f"VFIO unmapped {done:#x} of {size:#x} bytes at iova {iova:#x}")

    def close(self) -> None:
        if self.fd >= 0:
            self.sys.close(self.fd)
            self.fd = -1


class VfioGroup:
    """``/dev/vfio/<n>``: the IOMMU group, attached to a container."""

    def __init__(self, sys: VfioSys, container: VfioContainer, group: int, dev_vfio: Path = DEV_VFIO) -> None:
        self.sys = sys
        self.group = group
        node = dev_vfio / str(group)
        try:
            self.fd = sys.open(node, os.O_RDWR)
        except PermissionError:
            raise DeviceAccessError(f"cannot open {str(node)!r}: permission denied (root, or chown the node to "
                                    f"the user)") from None
        except OSError as e:
            if e.errno == errno.EBUSY:
                raise DeviceAccessError(f"{str(node)!r} is busy: another process (QEMU?) owns group {group}") from None
            raise DeviceAccessError(f"cannot open {str(node)!r}: {e.strerror}") from None
        status = U.new(U.vfio_group_status)
        _ioctl(sys, self.fd, U.VFIO_GROUP_GET_STATUS, status, "GROUP_GET_STATUS")
        if not status.flags & U.VFIO_GROUP_FLAGS_VIABLE:
            self.close()
            raise DeviceAccessError(f"IOMMU group {group} is not viable: a device in it is bound to a host driver "
                                    f"(see /sys/kernel/iommu_groups/{group}/devices)")
        if not status.flags & U.VFIO_GROUP_FLAGS_CONTAINER_SET:
            _ioctl(sys, self.fd, U.VFIO_GROUP_SET_CONTAINER, bytearray(ctypes.c_int32(container.fd)),
                   "GROUP_SET_CONTAINER")
        container.set_iommu()

    def device_fd(self, bdf: str) -> int:
        name = bytearray(bdf.encode() + b"\0")
        return _ioctl(self.sys, self.fd, U.VFIO_GROUP_GET_DEVICE_FD, name, f"GROUP_GET_DEVICE_FD({bdf})")

    def close(self) -> None:
        if self.fd >= 0:
            self.sys.close(self.fd)
            self.fd = -1


class VfioConfig:
    """The device's config region as a :class:`~nova_core.pci.source.ConfigSource` (pread/pwrite)."""

    def __init__(self, sys: VfioSys, fd: int, region: RegionInfo, name: str) -> None:
        self.sys, self.fd, self.region, self._name = sys, fd, region, name

    @property
    def name(self) -> str:
        return self._name

    @property
    def size(self) -> int:
        return self.region.size

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0 or offset + length > self.region.size:
            raise DeviceError(f"{self._name}: config read [{offset:#x}, {offset + length:#x}) outside "
                              f"{self.region.size:#x} bytes")
        data = self.sys.pread(self.fd, length, self.region.offset + offset)
        if len(data) != length:
            raise DeviceError(f"{self._name}: config read at {offset:#x} returned {len(data)} of {length} bytes")
        return data

    def write(self, offset: int, data: bytes) -> None:
        if len(data) not in (1, 2, 4) or offset % len(data) or offset < 0 or offset + len(data) > self.region.size:
            raise DeviceError(f"{self._name}: config write of {len(data)} bytes at {offset:#x} is not an aligned "
                              f"1/2/4-byte access inside {self.region.size:#x} bytes")
        n = self.sys.pwrite(self.fd, bytes(data), self.region.offset + offset)
        if n != len(data):
            raise DeviceError(f"{self._name}: config write at {offset:#x} wrote {n} of {len(data)} bytes")


class EventFd:
    """An eventfd an interrupt vector signals; :meth:`wait` blocks (bounded) until it fires."""

    def __init__(self, sys: VfioSys, fd: int) -> None:
        self.sys, self.fd = sys, fd

    def consume(self) -> int:
        """The signals counted since the last read (0 when none: the fd is non-blocking)."""
        try:
            return int.from_bytes(os.read(self.fd, 8), "little")
        except BlockingIOError:
            return 0

    def wait(self, timeout_ns: int, what: str = "an interrupt") -> int:
        """Wait up to ``timeout_ns`` for the vector; returns the number of signals consumed."""
        poller = select.poll()
        poller.register(self.fd, select.POLLIN)
        if not poller.poll(max(timeout_ns // 1_000_000, 0)):
            raise PollTimeout(what, timeout_ns)
        try:
            return int.from_bytes(os.read(self.fd, 8), "little")
        except BlockingIOError:  # consumed by another reader between poll and read
            return 0

    def close(self) -> None:
        if self.fd >= 0:
            self.sys.close(self.fd)
            self.fd = -1


class VfioDma:
    """DMA memory for a VFIO-owned device: anonymous pages pinned and mapped at IOVAs (a DmaAllocator)."""

    def __init__(self, container: VfioContainer, *, base: int = IOVA_BASE, limit: int = IOVA_LIMIT) -> None:
        self.container = container
        self._next = base
        self._limit = limit
        self._maps: dict[int, tuple[int, mmap.mmap | None, DmaBuffer | SgTable]] = {}  # iova -> (size, mm, obj)

    def _iova(self, size: int, align: int, name: str, limit: int | None = None) -> int:
        iova = (self._next + align - 1) & ~(align - 1)
        end = self._limit if limit is None else min(limit, self._limit)
        if iova + size > end:
            raise DmaError(f"VFIO DMA: IOVA space exhausted mapping {name!r} ({size:#x} bytes below {end:#x})")
        self._next = iova + size + PAGE_SIZE  # guard page
        return iova

    def _anon(self, size: int, name: str) -> tuple[mmap.mmap, int]:
        span = (size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)
        try:
            mm = mmap.mmap(-1, span, mmap.MAP_SHARED | mmap.MAP_ANONYMOUS, mmap.PROT_READ | mmap.PROT_WRITE)
        except OSError as e:
            raise DmaError(f"VFIO DMA: cannot allocate {span:#x} bytes for {name!r}: {e.strerror}") from None
        return mm, span

    def alloc(self, size: int, *, align: int = PAGE_SIZE, name: str = "", limit: int | None = None) -> DmaBuffer:
        check_alloc_args(size, align, "VFIO DMA", limit)
        mm, span = self._anon(size, name)
        try:
            iova = self._iova(span, align, name, limit)  # IOVAs grow from 4 GiB: below a limit while they last
        except DmaError:
            mm.close()
            raise
        vaddr = ctypes.addressof(ctypes.c_char.from_buffer(mm))
        try:
            self.container.map_dma(vaddr, iova, span, writable=True)
        except DeviceError:
            mm.close()
            raise
        buf = DmaBuffer(memoryview(mm)[:size], iova, name)
        self._maps[iova] = (span, mm, buf)
        return buf

    def _release(self, iova: int, what: str) -> tuple[int, mmap.mmap | None, DmaBuffer | SgTable]:
        entry = self._maps.pop(iova, None)
        if entry is None:
            raise DmaError(f"VFIO DMA: free of {what} at iova {iova:#x}: not mapped here (double free?)")
        self.container.unmap_dma(iova, entry[0])
        return entry

    def free(self, buf: DmaBuffer) -> None:
        _, mm, obj = self._release(buf.bus_addr, repr(buf.name))
        if obj is not buf:
            raise DmaError(f"VFIO DMA: {buf!r} is not the buffer mapped at its iova")
        buf.mark_freed()
        buf.view.release()
        if mm is not None:
            with contextlib.suppress(BufferError):  # a view of the memory is still alive; pages go with it
                mm.close()

    def alloc_sg(self, size: int, *, name: str = "", zero: bool = True) -> SgTable:
        """Driver-owned memory; behind an IOMMU it is mapped IOVA-contiguous (one segment).

        Fresh anonymous pages are zero, so ``zero`` costs nothing either way.
        """
        check_alloc_args(size, PAGE_SIZE, "VFIO DMA")
        mm, span = self._anon(size, name)
        iova = self._iova(span, PAGE_SIZE, name)
        self.container.map_dma(ctypes.addressof(ctypes.c_char.from_buffer(mm)), iova, span, writable=True)
        table = SgTable(memoryview(mm)[:size], [SgSegment(0, iova, size)], name=name)
        self._maps[iova] = (span, mm, table)
        return table

    def map_sg(self, memory: MemoryLike, *, name: str = "", device_writable: bool = True) -> SgTable:
        """Map a caller's memory without copying: the pages it spans are pinned and mapped."""
        view = memory_view(memory)
        if view.nbytes == 0:
            raise DmaError(f"VFIO DMA: cannot map empty memory {name!r}")
        vaddr = int(np.frombuffer(view, dtype=np.uint8).ctypes.data)
        first = vaddr & ~(PAGE_SIZE - 1)
        span = (vaddr + view.nbytes - first + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)
        iova = self._iova(span, PAGE_SIZE, name)
        writable = device_writable and not view.readonly
        self.container.map_dma(first, iova, span, writable=writable)
        table = SgTable(view, [SgSegment(0, iova + (vaddr - first), view.nbytes)], name=name,
                        device_writable=writable)
        self._maps[iova] = (span, None, table)
        return table

    def free_sg(self, table: SgTable) -> None:
        if table.released:
            raise DmaError(f"VFIO DMA: sg table {table.name!r} freed twice")
        iova = table.segments[0].bus_addr & ~(PAGE_SIZE - 1)
        _, mm, obj = self._release(iova, f"sg table {table.name!r}")
        if obj is not table:
            raise DmaError(f"VFIO DMA: sg table {table.name!r} is not the mapping at iova {iova:#x}")
        table.mark_released()
        if mm is not None:
            table.view.release()
            with contextlib.suppress(BufferError):
                mm.close()

    def close(self) -> None:
        for iova in list(self._maps):
            span, _mm, obj = self._maps.pop(iova)
            with contextlib.suppress(DeviceError, DmaError):  # closing the container unmaps everything anyway
                self.container.unmap_dma(iova, span)
            if isinstance(obj, DmaBuffer):
                obj.mark_freed()
            else:
                obj.mark_released()


class VfioDevice:
    """A PCI function owned through VFIO.

    Args:
        bdf: the function (canonical ``0000:01:00.0``).
        sys: the kernel interface (a fake in tests).
        sysfs / dev_vfio: where to look (fake trees in tests).

    Raises:
        DeviceAccessError: not bound to vfio-pci, no IOMMU group, group not viable, no /dev/vfio,
            no permission.
        DeviceError: a VFIO ioctl failed (the message names it and the errno).
    """

    def __init__(self, bdf: str, *, sys: VfioSys | None = None, sysfs: Path = SYSFS_PCI,
                 dev_vfio: Path = DEV_VFIO) -> None:
        from ..sysfs import normalize_bdf

        self.bdf = bdf = normalize_bdf(bdf)  # never a path component that leaves sysfs
        self.sys: VfioSys = sys or LinuxVfioSys()
        self.group_id = check_vfio_ready(bdf, sysfs=sysfs, dev_vfio=dev_vfio)
        self.container = VfioContainer(self.sys, dev_vfio)
        try:
            self.group = VfioGroup(self.sys, self.container, self.group_id, dev_vfio)
        except Exception:
            self.container.close()
            raise
        try:
            self.fd = self.group.device_fd(bdf)
            info = U.new(U.vfio_device_info)
            _ioctl(self.sys, self.fd, U.VFIO_DEVICE_GET_INFO, info, "DEVICE_GET_INFO")
        except Exception:
            self.group.close()
            self.container.close()
            raise
        self.flags = int(info.flags)
        self.num_regions = int(info.num_regions)
        self.num_irqs = int(info.num_irqs)
        if not self.flags & U.VFIO_DEVICE_FLAGS_PCI:
            self.close()
            raise DeviceError(f"{bdf}: the VFIO device is not a vfio-pci device (flags {self.flags:#x})")
        self.dma = VfioDma(self.container)
        self._maps: list[mmap.mmap] = []
        self._irq_fds: dict[int, list[EventFd]] = {}

    # -- regions ---------------------------------------------------------------------------------------

    def region_info(self, index: int) -> RegionInfo:
        if not 0 <= index < self.num_regions:
            raise DeviceError(f"{self.bdf}: region {index} outside the {self.num_regions} regions")
        info = U.new(U.vfio_region_info, index=index)
        _ioctl(self.sys, self.fd, U.VFIO_DEVICE_GET_REGION_INFO, info, f"DEVICE_GET_REGION_INFO({index})")
        return RegionInfo(index, int(info.flags), int(info.size), int(info.offset))

    def map_bar(self, index: int) -> BufferBar:
        """BAR ``index`` mapped read-write (refused when the region is empty or not mappable)."""
        if not 0 <= index <= U.VFIO_PCI_BAR5_REGION_INDEX:
            raise DeviceError(f"{self.bdf}: BAR{index} does not exist (BARs are regions 0-5)")
        r = self.region_info(index)
        if r.size == 0:
            raise DeviceError(f"{self.bdf}: BAR{index} is not implemented (region size 0)")
        if not r.mappable:
            raise DeviceError(f"{self.bdf}: BAR{index} cannot be mmapped (region flags {r.flags:#x}: an I/O BAR?)")
        try:
            mm = self.sys.mmap(self.fd, r.size, r.offset, writable=r.writable)
        except OSError as e:
            raise DeviceError(f"{self.bdf}: mmap of BAR{index} ({r.size:#x} bytes) failed: {e.strerror}") from None
        self._maps.append(mm)
        return BufferBar(mm, writable=r.writable, name=f"{self.bdf} BAR{index}")

    def config(self) -> VfioConfig:
        r = self.region_info(U.VFIO_PCI_CONFIG_REGION_INDEX)
        return VfioConfig(self.sys, self.fd, r, f"{self.bdf} (vfio)")

    # -- interrupts -----------------------------------------------------------------------------------

    def irq_info(self, index: int) -> IrqInfo:
        info = U.new(U.vfio_irq_info, index=index)
        _ioctl(self.sys, self.fd, U.VFIO_DEVICE_GET_IRQ_INFO, info, f"DEVICE_GET_IRQ_INFO({index})")
        return IrqInfo(index, int(info.flags), int(info.count))

    def _set_irqs(self, index: int, start: int, fds: Sequence[int], flags: int) -> None:
        buf = U.irq_set_eventfds(flags, index, start, fds)
        _ioctl(self.sys, self.fd, U.VFIO_DEVICE_SET_IRQS, buf, f"DEVICE_SET_IRQS(index {index}, {len(fds)} vectors)")

    def enable_irq(self, index: int, count: int) -> list[EventFd]:
        """Enable ``count`` vectors of IRQ ``index`` (MSI-X, MSI or INTx), each signalling its own eventfd.

        The kernel programs the MSI/MSI-X table (vfio-pci owns it) and, for INTx, masks the line on each
        interrupt until :meth:`irq_action` unmasks it (``VFIO_IRQ_INFO_AUTOMASKED``).
        """
        what = _IRQ_NAMES.get(index, f"IRQ index {index}")
        info = self.irq_info(index)
        if not 1 <= count <= info.count:
            raise DeviceError(f"{self.bdf}: {count} {what} vectors requested, the device has {info.count}")
        if not info.flags & U.VFIO_IRQ_INFO_EVENTFD:
            raise DeviceError(f"{self.bdf}: {what} cannot signal an eventfd (irq info flags {info.flags:#x})")
        self.disable_irqs(index)
        fds = [EventFd(self.sys, self.sys.eventfd()) for _ in range(count)]
        try:
            self._set_irqs(index, 0, [f.fd for f in fds], U.VFIO_IRQ_SET_DATA_EVENTFD | U.VFIO_IRQ_SET_ACTION_TRIGGER)
        except DeviceError:
            for f in fds:
                f.close()
            raise
        self._irq_fds[index] = fds
        return fds

    def enable_msix(self, count: int) -> list[EventFd]:
        """Enable ``count`` MSI-X vectors, each delivered to its own eventfd (the kernel programs the table)."""
        return self.enable_irq(U.VFIO_PCI_MSIX_IRQ_INDEX, count)

    def detach_vector(self, vector: int, index: int = U.VFIO_PCI_MSIX_IRQ_INDEX) -> None:
        """Stop delivering ``vector`` of ``index`` (its eventfd is de-assigned: -1), leaving the others."""
        fds = self._irq_fds.get(index, [])
        if not 0 <= vector < len(fds):
            raise DeviceError(f"{self.bdf}: {_IRQ_NAMES.get(index, index)} vector {vector} is not enabled "
                              f"({len(fds)} are)")
        self._set_irqs(index, vector, [-1], U.VFIO_IRQ_SET_DATA_EVENTFD | U.VFIO_IRQ_SET_ACTION_TRIGGER)

    def irq_action(self, index: int, start: int, count: int, action: int) -> None:
        """``VFIO_IRQ_SET_ACTION_MASK`` or ``_UNMASK`` (``DATA_NONE``) of vectors ``[start, start + count)``."""
        if action not in (U.VFIO_IRQ_SET_ACTION_MASK, U.VFIO_IRQ_SET_ACTION_UNMASK):
            raise DeviceError(f"{self.bdf}: IRQ action {action:#x} is not MASK or UNMASK")
        head = U.new(U.vfio_irq_set, flags=U.VFIO_IRQ_SET_DATA_NONE | action, index=index, start=start, count=count)
        name = "MASK" if action == U.VFIO_IRQ_SET_ACTION_MASK else "UNMASK"
        _ioctl(self.sys, self.fd, U.VFIO_DEVICE_SET_IRQS, bytearray(bytes(head)),
               f"DEVICE_SET_IRQS({_IRQ_NAMES.get(index, index)} {name} {start}+{count})")

    def disable_irqs(self, index: int) -> None:
        fds = self._irq_fds.pop(index, None)
        if fds is None:
            return
        self._set_irqs(index, 0, [], U.VFIO_IRQ_SET_DATA_NONE | U.VFIO_IRQ_SET_ACTION_TRIGGER)
        for f in fds:
            f.close()

    # -- reset and life cycle -------------------------------------------------------------------------

    def reset(self) -> None:
        """Reset the function (FLR or the reset vfio-pci found); refused when the device has none."""
        if not self.flags & U.VFIO_DEVICE_FLAGS_RESET:
            raise DeviceError(f"{self.bdf}: VFIO reports no function reset for this device (no FLR, PM or bus reset)")
        _ioctl(self.sys, self.fd, U.VFIO_DEVICE_RESET, 0, "DEVICE_RESET")

    def close(self) -> None:
        for index in list(self._irq_fds):
            with contextlib.suppress(DeviceError):
                self.disable_irqs(index)
        if hasattr(self, "dma"):
            self.dma.close()
        for mm in self._maps:
            with contextlib.suppress(BufferError):
                mm.close()
        self._maps.clear()
        if getattr(self, "fd", -1) >= 0:
            self.sys.close(self.fd)
            self.fd = -1
        self.group.close()
        self.container.close()


def open_vfio_device(bdf: str, *, sys: VfioSys | None = None, sysfs: Path = SYSFS_PCI,
                     dev_vfio: Path = DEV_VFIO) -> Device:
    """Own ``bdf`` through VFIO: BAR0 read-write, DMA through the IOMMU, config space, the host clock."""
    from ..sysfs import normalize_bdf

    name = normalize_bdf(bdf)
    vdev = VfioDevice(name, sys=sys, sysfs=sysfs, dev_vfio=dev_vfio)
    try:
        bar0 = vdev.map_bar(0)
        config = vdev.config()
        head = config.read(0, 4)
    except Exception:
        vdev.close()
        raise
    dev = Device(bar0=bar0, dma=vdev.dma, clock=MonotonicClock(), name=name, kind="vfio",
                 pci_vendor=int.from_bytes(head[:2], "little"), pci_device=int.from_bytes(head[2:], "little"),
                 config=config, vfio=vdev)
    dev.on_close(vdev.close)
    return dev
