"""The VFIO backend: refusals on fake sysfs trees and missing device nodes, and the whole owned-device flow
(container, group, device, regions, BAR mmap, config, DMA mapping, MSI-X eventfds, reset) against a fake
kernel that checks every ioctl argument the way vfio does."""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from nova_core.errors import DeviceAccessError, DeviceError, DmaError, PollTimeout
from nova_core.hw.dma import DmaAllocator, ForeignMemory
from nova_core.hw.vfio import VfioDevice, check_vfio_ready, open_vfio_device
from nova_core.hw.vfio import uapi as U
from nova_core.pci import ConfigSpace

from .conftest import load_dump

BDF = "0000:01:00.0"
PAGE = 4096


def tree(fake_sysfs: Callable[..., Path], tmp_path: Path, *, driver: str | None = "vfio-pci", group: int | None = 7,
         nodes: tuple[str, ...] = ("vfio", "7")) -> tuple[Path, Path]:
    fake_sysfs(BDF, driver=driver, group=group)
    dev = tmp_path / "dev-vfio"
    dev.mkdir()
    for n in nodes:
        (dev / n).touch()
    return tmp_path / "devices", dev


# -- refusals before any open -------------------------------------------------------------------------------


def test_not_bound_to_vfio(fake_sysfs: Callable[..., Path], tmp_path: Path) -> None:
    sysfs, dev = tree(fake_sysfs, tmp_path, driver="nvidia")
    with pytest.raises(DeviceAccessError, match="is bound to 'nvidia', not vfio-pci; bind it first"):
        check_vfio_ready(BDF, sysfs=sysfs, dev_vfio=dev)


def test_no_driver_at_all(fake_sysfs: Callable[..., Path], tmp_path: Path) -> None:
    sysfs, dev = tree(fake_sysfs, tmp_path, driver=None)
    with pytest.raises(DeviceAccessError, match="not bound to any driver, not vfio-pci"):
        check_vfio_ready(BDF, sysfs=sysfs, dev_vfio=dev)


def test_no_iommu_group(fake_sysfs: Callable[..., Path], tmp_path: Path) -> None:
    sysfs, dev = tree(fake_sysfs, tmp_path, group=None)
    with pytest.raises(DeviceAccessError, match="no IOMMU group: the IOMMU is off"):
        check_vfio_ready(BDF, sysfs=sysfs, dev_vfio=dev)


def test_group_not_viable(fake_sysfs: Callable[..., Path], tmp_path: Path) -> None:
    sysfs, dev = tree(fake_sysfs, tmp_path)
    fake_sysfs("0000:01:00.1", klass=0x040300, driver="snd_hda_intel", group=7)
    with pytest.raises(DeviceAccessError, match="group 7 of 0000:01:00.0 is not viable: its member 0000:01:00.1 "
                                                "is bound to 'snd_hda_intel'"):
        check_vfio_ready(BDF, sysfs=sysfs, dev_vfio=dev)


def test_no_dev_vfio(fake_sysfs: Callable[..., Path], tmp_path: Path) -> None:
    fake_sysfs(BDF, driver="vfio-pci", group=7)
    with pytest.raises(DeviceAccessError, match="does not exist: the vfio modules are not loaded"):
        check_vfio_ready(BDF, sysfs=tmp_path / "devices", dev_vfio=tmp_path / "no-such-dir")


def test_this_machine_has_no_dev_vfio_or_refuses_clearly() -> None:
    """On this host (no NVIDIA GPU, usually no /dev/vfio) opening fails with a DeviceAccessError, never a crash."""
    with pytest.raises(DeviceAccessError):
        open_vfio_device("0000:ff:1f.7")


def test_missing_group_node_and_noiommu(fake_sysfs: Callable[..., Path], tmp_path: Path) -> None:
    sysfs, dev = tree(fake_sysfs, tmp_path, nodes=("vfio",))
    with pytest.raises(DeviceAccessError, match="group 7 is not handled by VFIO"):
        check_vfio_ready(BDF, sysfs=sysfs, dev_vfio=dev)
    (dev / "noiommu-7").touch()
    with pytest.raises(DeviceAccessError, match="no-IOMMU group"):
        check_vfio_ready(BDF, sysfs=sysfs, dev_vfio=dev)
    (dev / "vfio").unlink()
    with pytest.raises(DeviceAccessError, match="the VFIO container"):
        check_vfio_ready(BDF, sysfs=sysfs, dev_vfio=dev)


# -- a fake kernel ----------------------------------------------------------------------------------------


class FakeVfio:
    """Just enough of vfio/vfio_iommu_type1/vfio-pci, checking arguments as the kernel does."""

    def __init__(self, dev: Path, *, viable: bool = True, deny: bool = False, reset: bool = True) -> None:
        self.dev = dev
        self.viable, self.deny, self.reset_ok = viable, deny, reset
        self.fds: dict[int, str] = {}
        self.next_fd = 1000
        self.attached = False
        self.iommu = 0
        self.maps: dict[int, tuple[int, int, int]] = {}  # iova -> (vaddr, size, flags)
        self.irqs: dict[int, list[int]] = {}
        self.irq_counts = {U.VFIO_PCI_MSIX_IRQ_INDEX: 6, U.VFIO_PCI_MSI_IRQ_INDEX: 1, U.VFIO_PCI_INTX_IRQ_INDEX: 1}
        self.irq_actions: list[tuple[int, int, int, int]] = []  # (index, start, count, MASK/UNMASK)
        self.resets = 0
        self.config = bytearray(load_dump("ga104-rtx3060ti.lspci", size=4096).data)
        self.closed: list[int] = []

    def _new(self, kind: str) -> int:
        fd = self.next_fd
        self.next_fd += 1
        self.fds[fd] = kind
        return fd

    def open(self, path: Path, flags: int) -> int:
        if self.deny:
            raise PermissionError(errno.EACCES, "Permission denied")
        if path == self.dev / "vfio":
            return self._new("container")
        if path == self.dev / "7":
            return self._new("group")
        raise FileNotFoundError(errno.ENOENT, "No such file")

    def close(self, fd: int) -> None:
        if self.fds.pop(fd) == "eventfd":
            os.close(fd)
        self.closed.append(fd)

    def ioctl(self, fd: int, request: int, arg: int | bytearray | ctypes.Structure) -> int:
        kind = self.fds[fd]
        handler = getattr(self, f"_{kind}_{request:x}", None)
        if handler is None:
            raise OSError(errno.ENOTTY, f"inappropriate ioctl {request:#x} for {kind}")
        return int(handler(arg))

    # container
    def _container_3b64(self, arg: int) -> int:
        return U.VFIO_API_VERSION

    def _container_3b65(self, arg: int) -> int:
        return 1 if arg in (U.VFIO_TYPE1_IOMMU, U.VFIO_TYPE1v2_IOMMU) else 0

    def _container_3b66(self, arg: int) -> int:
        if not self.attached:
            raise OSError(errno.EINVAL, "no group attached")
        self.iommu = arg
        return 0

    def _container_3b71(self, arg: U.vfio_iommu_type1_dma_map) -> int:
        assert arg.argsz == ctypes.sizeof(U.vfio_iommu_type1_dma_map)
        if not self.iommu:
            raise OSError(errno.EINVAL, "IOMMU not set")
        if arg.vaddr % PAGE or arg.iova % PAGE or arg.size % PAGE or not arg.size:
            raise OSError(errno.EINVAL, "unaligned")
        for iova, (_, size, _) in self.maps.items():
            if iova < arg.iova + arg.size and arg.iova < iova + size:
                raise OSError(errno.EEXIST, "overlap")
        self.maps[arg.iova] = (arg.vaddr, arg.size, arg.flags)
        return 0

    def _container_3b72(self, arg: U.vfio_iommu_type1_dma_unmap) -> int:
        entry = self.maps.pop(arg.iova, None)
        arg.size = 0 if entry is None else entry[1]
        return 0

    # group
    def _group_3b67(self, arg: U.vfio_group_status) -> int:
        arg.flags = (U.VFIO_GROUP_FLAGS_VIABLE if self.viable else 0) | \
            (U.VFIO_GROUP_FLAGS_CONTAINER_SET if self.attached else 0)
        return 0

    def _group_3b68(self, arg: bytearray) -> int:
        fd = int.from_bytes(arg, "little", signed=True)
        assert self.fds[fd] == "container"
        self.attached = True
        return 0

    def _group_3b6a(self, arg: bytearray) -> int:
        if bytes(arg).rstrip(b"\0").decode() != BDF:
            raise OSError(errno.ENODEV, "no such device in group")
        if not self.iommu:
            raise OSError(errno.EINVAL, "container IOMMU not set")
        return self._new("device")

    # device
    def _device_3b6b(self, arg: U.vfio_device_info) -> int:
        arg.flags = U.VFIO_DEVICE_FLAGS_PCI | (U.VFIO_DEVICE_FLAGS_RESET if self.reset_ok else 0)
        arg.num_regions, arg.num_irqs = U.VFIO_PCI_NUM_REGIONS, U.VFIO_PCI_NUM_IRQS
        return 0

    REGIONS: ClassVar[dict[int, tuple[int, int]]] = {
        0: (16 << 20, 7), 1: (256 << 20, 7), 3: (32 << 20, 7), 5: (128, 3), 7: (4096, 3)}

    def _device_3b6c(self, arg: U.vfio_region_info) -> int:
        size, flags = self.REGIONS.get(arg.index, (0, 0))
        arg.size, arg.flags, arg.offset = size, flags, arg.index << 40
        return 0

    def _device_3b6d(self, arg: U.vfio_irq_info) -> int:
        arg.count = self.irq_counts.get(arg.index, 0)
        arg.flags = U.VFIO_IRQ_INFO_EVENTFD
        if arg.index == U.VFIO_PCI_INTX_IRQ_INDEX:  # vfio-pci: INTx can be masked, and is masked on delivery
            arg.flags |= U.VFIO_IRQ_INFO_MASKABLE | U.VFIO_IRQ_INFO_AUTOMASKED
        return 0

    def _device_3b6e(self, arg: bytearray) -> int:
        head = U.vfio_irq_set.from_buffer_copy(bytes(arg[:ctypes.sizeof(U.vfio_irq_set)]))
        data = 0 if head.flags & U.VFIO_IRQ_SET_DATA_NONE else 4 * head.count  # DATA_NONE carries no data
        assert head.argsz == len(arg) == ctypes.sizeof(U.vfio_irq_set) + data
        if head.flags & U.VFIO_IRQ_SET_DATA_NONE and head.count == 0:
            self.irqs.pop(head.index, None)
            return 0
        action = head.flags & U.VFIO_IRQ_SET_ACTION_TYPE_MASK
        if head.flags & U.VFIO_IRQ_SET_DATA_NONE and action in (U.VFIO_IRQ_SET_ACTION_MASK,
                                                                 U.VFIO_IRQ_SET_ACTION_UNMASK):
            if head.index != U.VFIO_PCI_INTX_IRQ_INDEX:
                raise OSError(errno.EINVAL, "only INTx can be masked")  # vfio_pci_set_irqs_ioctl
            self.irq_actions.append((head.index, head.start, head.count, action))
            return 0
        assert head.flags == U.VFIO_IRQ_SET_DATA_EVENTFD | U.VFIO_IRQ_SET_ACTION_TRIGGER
        fds = [int.from_bytes(arg[20 + 4 * i:24 + 4 * i], "little", signed=True) for i in range(head.count)]
        table = self.irqs.setdefault(head.index, [-1] * 6)
        table[head.start:head.start + head.count] = fds
        return 0

    def _device_3b6f(self, arg: int) -> int:
        self.resets += 1
        return 0

    def mmap(self, fd: int, length: int, offset: int, writable: bool) -> mmap.mmap:
        assert self.fds[fd] == "device" and offset % PAGE == 0 and offset >> 40 in self.REGIONS
        return mmap.mmap(-1, length)

    def pread(self, fd: int, length: int, offset: int) -> bytes:
        assert offset >> 40 == U.VFIO_PCI_CONFIG_REGION_INDEX
        rel = offset & ((1 << 40) - 1)
        return bytes(self.config[rel:rel + length])

    def pwrite(self, fd: int, data: bytes, offset: int) -> int:
        rel = offset & ((1 << 40) - 1)
        self.config[rel:rel + len(data)] = data
        return len(data)

    def eventfd(self) -> int:
        fd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        self.fds[fd] = "eventfd"
        return fd


def owned(fake_sysfs: Callable[..., Path], tmp_path: Path, **kw: bool) -> tuple[FakeVfio, VfioDevice]:
    sysfs, dev = tree(fake_sysfs, tmp_path)
    sys = FakeVfio(dev, **kw)
    return sys, VfioDevice(BDF, sys=sys, sysfs=sysfs, dev_vfio=dev)


def test_full_flow(fake_sysfs: Callable[..., Path], tmp_path: Path) -> None:
    sysfs, dev = tree(fake_sysfs, tmp_path)
    sys = FakeVfio(dev)
    d = open_vfio_device("01:00.0", sys=sys, sysfs=sysfs, dev_vfio=dev)
    assert d.kind == "vfio" and d.name == BDF and (d.pci_vendor, d.pci_device) == (0x10DE, 0x2489)
    assert sys.iommu == U.VFIO_TYPE1v2_IOMMU and sys.attached
    assert d.bar0.size == 16 << 20
    d.bar0.write32(0x100, 0x12345678)
    assert d.bar0.read32(0x100) == 0x12345678
    assert d.config is not None
    cs = ConfigSpace(d.config)
    assert cs.header().device == 0x2489 and cs.find(0x15, extended=True) is not None
    cs.write16(4, 0x0406)
    assert sys.config[4:6] == b"\x06\x04"
    assert isinstance(d.dma, DmaAllocator)
    d.close()
    assert all(k == "eventfd" for k in sys.fds.values())  # container, group, device closed


def test_dma_through_the_iommu(fake_sysfs: Callable[..., Path], tmp_path: Path) -> None:
    sys, v = owned(fake_sysfs, tmp_path)
    a = v.dma.alloc(5000, name="a")
    b = v.dma.alloc(PAGE, align=1 << 16, name="b")
    assert a.bus_addr == 1 << 32 and a.size == 5000 and b.bus_addr % (1 << 16) == 0
    assert sys.maps[a.bus_addr][1] == 2 * PAGE and sys.maps[a.bus_addr][2] == 3  # READ|WRITE, whole pages
    a.write_u32(0, 0xDEADBEEF)
    vaddr = sys.maps[a.bus_addr][0]
    assert ctypes.c_uint32.from_address(vaddr).value == 0xDEADBEEF  # the pinned pages are the buffer's
    v.dma.free(a)
    assert a.bus_addr not in sys.maps
    with pytest.raises(DmaError, match="double free"):
        v.dma.free(a)
    sg = v.dma.alloc_sg(3 * PAGE + 1, name="sg")
    assert sg.nents == 1 and sg.page_addrs().tolist()[:2] == [sg.segments[0].bus_addr, sg.segments[0].bus_addr + PAGE]
    v.dma.free_sg(sg)
    with pytest.raises(DmaError, match="freed twice"):
        v.dma.free_sg(sg)
    data = bytes(range(256)) * 40  # read-only foreign memory, not page aligned
    t = v.dma.map_sg(ForeignMemory.from_buffer(data, name="fw"))
    iova = t.segments[0].bus_addr & ~(PAGE - 1)
    assert sys.maps[iova][2] == U.VFIO_DMA_MAP_FLAG_READ  # device-read-only
    assert t.segments[0].bus_addr - iova == int(np.frombuffer(data, dtype=np.uint8).ctypes.data) % PAGE
    v.dma.free_sg(t)
    with pytest.raises(DmaError, match="must be positive"):
        v.dma.alloc(0)
    v.close()


def test_msix_eventfds_and_reset(fake_sysfs: Callable[..., Path], tmp_path: Path) -> None:
    sys, v = owned(fake_sysfs, tmp_path)
    with pytest.raises(DeviceError, match="7 MSI-X vectors requested, the device has 6"):
        v.enable_msix(7)
    fds = v.enable_msix(3)
    assert sys.irqs[U.VFIO_PCI_MSIX_IRQ_INDEX][:3] == [f.fd for f in fds]
    os.write(fds[1].fd, (1).to_bytes(8, "little"))  # the kernel signals vector 1
    assert fds[1].wait(10_000_000, "MSI-X vector 1") == 1
    with pytest.raises(PollTimeout, match="MSI-X vector 2"):
        fds[2].wait(1_000_000, "MSI-X vector 2")
    v.detach_vector(2)
    assert sys.irqs[U.VFIO_PCI_MSIX_IRQ_INDEX][2] == -1
    v.reset()
    assert sys.resets == 1
    v.disable_irqs(U.VFIO_PCI_MSIX_IRQ_INDEX)
    assert U.VFIO_PCI_MSIX_IRQ_INDEX not in sys.irqs
    with pytest.raises(DeviceError, match="BAR2 is not implemented"):
        v.map_bar(2)
    with pytest.raises(DeviceError, match="BAR5 cannot be mmapped"):
        v.map_bar(5)
    v.close()


def test_kernel_refusals_are_named(fake_sysfs: Callable[..., Path], tmp_path: Path) -> None:
    sysfs, dev = tree(fake_sysfs, tmp_path)
    with pytest.raises(DeviceAccessError, match="permission denied"):
        VfioDevice(BDF, sys=FakeVfio(dev, deny=True), sysfs=sysfs, dev_vfio=dev)
    with pytest.raises(DeviceAccessError, match="group 7 is not viable"):
        VfioDevice(BDF, sys=FakeVfio(dev, viable=False), sysfs=sysfs, dev_vfio=dev)
    sys = FakeVfio(dev, reset=False)
    v = VfioDevice(BDF, sys=sys, sysfs=sysfs, dev_vfio=dev)
    with pytest.raises(DeviceError, match="no function reset"):
        v.reset()
    sys.maps[1 << 32] = (0, PAGE, 3)  # something else already mapped there
    with pytest.raises(DeviceError, match="IOMMU_MAP_DMA.*failed"):
        v.dma.alloc(PAGE)
    v.close()


# -- issue 22, defect 11: a BDF is normalised before it becomes a path ---------------------------------------------

@pytest.mark.parametrize("bad", ["../decoy", "0000:01:00.0/../../decoy", "/etc", "", "1:0.0"])
def test_public_entry_points_refuse_what_is_not_a_bdf(fake_sysfs: Callable[..., Path], tmp_path: Path,
                                                       bad: str) -> None:
    from nova_core.errors import PciError
    from nova_core.pci.discovery import find_function

    sysfs, dev = tree(fake_sysfs, tmp_path)
    decoy = tmp_path / "decoy"  # a directory beside the tree that "../decoy" would reach
    decoy.mkdir()
    with pytest.raises(DeviceAccessError, match="is not a PCI address"):
        check_vfio_ready(bad, sysfs=sysfs, dev_vfio=dev)
    with pytest.raises(DeviceAccessError, match="is not a PCI address"):
        VfioDevice(bad, sysfs=sysfs, dev_vfio=dev)
    with pytest.raises(PciError, match="is not a PCI address"):
        find_function(bad, sysfs)


def test_short_bdfs_are_normalised(fake_sysfs: Callable[..., Path], tmp_path: Path) -> None:
    from nova_core.pci.discovery import find_function

    sysfs, dev = tree(fake_sysfs, tmp_path)
    assert check_vfio_ready("01:00.0", sysfs=sysfs, dev_vfio=dev) == 7
    assert find_function("01:00.0", sysfs).bdf == BDF
