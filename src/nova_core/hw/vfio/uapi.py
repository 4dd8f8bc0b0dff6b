"""nova_core.hw.vfio.uapi: the VFIO user ABI as facts: ioctl numbers, structures, flags, indices.

Source: Linux ``include/uapi/linux/vfio.h`` (the container/group/device interface: API version 0,
type-1 IOMMU). Every VFIO ioctl is ``_IO(';', 100 + n)`` (no size in the number: the structures carry
``argsz``, so the kernel accepts a caller's struct as long as ``argsz`` covers the fields it needs).
``tests/pci/test_vfio_uapi.py`` compiles a C program against the system's ``linux/vfio.h`` (Debian
``linux-libc-dev``) and checks every number, size and field offset here against it.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence

# -- ioctl number encoding (asm-generic/ioctl.h: nr 8 bits, type 8 bits, size 14 bits, dir 2 bits) ---------

IOC_NRSHIFT = 0
IOC_TYPESHIFT = 8
IOC_SIZESHIFT = 16
IOC_DIRSHIFT = 30
IOC_NONE = 0


def _IOC(direction: int, type_: int, nr: int, size: int) -> int:
    return direction << IOC_DIRSHIFT | type_ << IOC_TYPESHIFT | nr << IOC_NRSHIFT | size << IOC_SIZESHIFT


def _IO(type_: int, nr: int) -> int:
    return _IOC(IOC_NONE, type_, nr, 0)


VFIO_API_VERSION = 0
VFIO_TYPE = ord(";")
VFIO_BASE = 100

# extensions / IOMMU types (VFIO_CHECK_EXTENSION, VFIO_SET_IOMMU)
VFIO_TYPE1_IOMMU = 1
VFIO_TYPE1v2_IOMMU = 3
VFIO_NOIOMMU_IOMMU = 8

# container
VFIO_GET_API_VERSION = _IO(VFIO_TYPE, VFIO_BASE + 0)
VFIO_CHECK_EXTENSION = _IO(VFIO_TYPE, VFIO_BASE + 1)
VFIO_SET_IOMMU = _IO(VFIO_TYPE, VFIO_BASE + 2)
# group
VFIO_GROUP_GET_STATUS = _IO(VFIO_TYPE, VFIO_BASE + 3)
VFIO_GROUP_SET_CONTAINER = _IO(VFIO_TYPE, VFIO_BASE + 4)
VFIO_GROUP_UNSET_CONTAINER = _IO(VFIO_TYPE, VFIO_BASE + 5)
VFIO_GROUP_GET_DEVICE_FD = _IO(VFIO_TYPE, VFIO_BASE + 6)
# device
VFIO_DEVICE_GET_INFO = _IO(VFIO_TYPE, VFIO_BASE + 7)
VFIO_DEVICE_GET_REGION_INFO = _IO(VFIO_TYPE, VFIO_BASE + 8)
VFIO_DEVICE_GET_IRQ_INFO = _IO(VFIO_TYPE, VFIO_BASE + 9)
VFIO_DEVICE_SET_IRQS = _IO(VFIO_TYPE, VFIO_BASE + 10)
VFIO_DEVICE_RESET = _IO(VFIO_TYPE, VFIO_BASE + 11)
VFIO_DEVICE_GET_PCI_HOT_RESET_INFO = _IO(VFIO_TYPE, VFIO_BASE + 12)
VFIO_DEVICE_PCI_HOT_RESET = _IO(VFIO_TYPE, VFIO_BASE + 13)
# type-1 IOMMU (on the container fd; 12-14 are reused numbers on another fd)
VFIO_IOMMU_GET_INFO = _IO(VFIO_TYPE, VFIO_BASE + 12)
VFIO_IOMMU_MAP_DMA = _IO(VFIO_TYPE, VFIO_BASE + 13)
VFIO_IOMMU_UNMAP_DMA = _IO(VFIO_TYPE, VFIO_BASE + 14)

_IOCTL_NAMES = (
    "VFIO_GET_API_VERSION", "VFIO_CHECK_EXTENSION", "VFIO_SET_IOMMU", "VFIO_GROUP_GET_STATUS",
    "VFIO_GROUP_SET_CONTAINER", "VFIO_GROUP_UNSET_CONTAINER", "VFIO_GROUP_GET_DEVICE_FD", "VFIO_DEVICE_GET_INFO",
    "VFIO_DEVICE_GET_REGION_INFO", "VFIO_DEVICE_GET_IRQ_INFO", "VFIO_DEVICE_SET_IRQS", "VFIO_DEVICE_RESET",
    "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO", "VFIO_DEVICE_PCI_HOT_RESET", "VFIO_IOMMU_GET_INFO", "VFIO_IOMMU_MAP_DMA",
    "VFIO_IOMMU_UNMAP_DMA",
)
#: every ioctl number defined here, by its kernel name (checked against the header in CI)
IOCTLS: dict[str, int] = {name: globals()[name] for name in _IOCTL_NAMES}

# flags
VFIO_GROUP_FLAGS_VIABLE = 1 << 0
VFIO_GROUP_FLAGS_CONTAINER_SET = 1 << 1
VFIO_DEVICE_FLAGS_RESET = 1 << 0
VFIO_DEVICE_FLAGS_PCI = 1 << 1
VFIO_DEVICE_FLAGS_CAPS = 1 << 7
VFIO_REGION_INFO_FLAG_READ = 1 << 0
VFIO_REGION_INFO_FLAG_WRITE = 1 << 1
VFIO_REGION_INFO_FLAG_MMAP = 1 << 2
VFIO_REGION_INFO_FLAG_CAPS = 1 << 3
VFIO_IRQ_INFO_EVENTFD = 1 << 0
VFIO_IRQ_INFO_MASKABLE = 1 << 1
VFIO_IRQ_INFO_AUTOMASKED = 1 << 2
VFIO_IRQ_INFO_NORESIZE = 1 << 3
VFIO_IRQ_SET_DATA_NONE = 1 << 0
VFIO_IRQ_SET_DATA_BOOL = 1 << 1
VFIO_IRQ_SET_DATA_EVENTFD = 1 << 2
VFIO_IRQ_SET_ACTION_MASK = 1 << 3
VFIO_IRQ_SET_ACTION_UNMASK = 1 << 4
VFIO_IRQ_SET_ACTION_TRIGGER = 1 << 5
VFIO_IRQ_SET_DATA_TYPE_MASK = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_DATA_EVENTFD
VFIO_IRQ_SET_ACTION_TYPE_MASK = VFIO_IRQ_SET_ACTION_MASK | VFIO_IRQ_SET_ACTION_UNMASK | VFIO_IRQ_SET_ACTION_TRIGGER
VFIO_DMA_MAP_FLAG_READ = 1 << 0
VFIO_DMA_MAP_FLAG_WRITE = 1 << 1
VFIO_IOMMU_INFO_PGSIZES = 1 << 0

# vfio-pci fixed region and IRQ indices
VFIO_PCI_BAR0_REGION_INDEX = 0
VFIO_PCI_BAR5_REGION_INDEX = 5
VFIO_PCI_ROM_REGION_INDEX = 6
VFIO_PCI_CONFIG_REGION_INDEX = 7
VFIO_PCI_VGA_REGION_INDEX = 8
VFIO_PCI_NUM_REGIONS = 9
VFIO_PCI_INTX_IRQ_INDEX = 0
VFIO_PCI_MSI_IRQ_INDEX = 1
VFIO_PCI_MSIX_IRQ_INDEX = 2
VFIO_PCI_ERR_IRQ_INDEX = 3
VFIO_PCI_REQ_IRQ_INDEX = 4
VFIO_PCI_NUM_IRQS = 5

#: every other VFIO_* number defined here, by its kernel name (checked against the header in CI)
CONSTANTS: dict[str, int] = {name: value for name, value in globals().items()
                             if name.startswith("VFIO_") and isinstance(value, int) and name not in IOCTLS}


# -- structures ----------------------------------------------------------------------------------------


class vfio_group_status(ctypes.Structure):
    _fields_ = [("argsz", ctypes.c_uint32), ("flags", ctypes.c_uint32)]


class vfio_device_info(ctypes.Structure):
    _fields_ = [("argsz", ctypes.c_uint32), ("flags", ctypes.c_uint32), ("num_regions", ctypes.c_uint32),
                ("num_irqs", ctypes.c_uint32), ("cap_offset", ctypes.c_uint32)]


class vfio_region_info(ctypes.Structure):
    _fields_ = [("argsz", ctypes.c_uint32), ("flags", ctypes.c_uint32), ("index", ctypes.c_uint32),
                ("cap_offset", ctypes.c_uint32), ("size", ctypes.c_uint64), ("offset", ctypes.c_uint64)]


class vfio_irq_info(ctypes.Structure):
    _fields_ = [("argsz", ctypes.c_uint32), ("flags", ctypes.c_uint32), ("index", ctypes.c_uint32),
                ("count", ctypes.c_uint32)]


class vfio_irq_set(ctypes.Structure):
    """Followed by ``count`` entries of data (an s32 eventfd each for DATA_EVENTFD) at ``data`` (offset 20, the
    kernel's flexible ``__u8 data[]``; :data:`IRQ_SET_DATA_OFFSET`)."""

    _fields_ = [("argsz", ctypes.c_uint32), ("flags", ctypes.c_uint32), ("index", ctypes.c_uint32),
                ("start", ctypes.c_uint32), ("count", ctypes.c_uint32)]


IRQ_SET_DATA_OFFSET = 20  #: offsetof(struct vfio_irq_set, data) (CI-checked)
IRQ_SET_EVENTFD_SIZE = 4  #: each DATA_EVENTFD entry is an __s32 fd (-1 de-assigns the vector)


def irq_set_eventfds(flags: int, index: int, start: int, fds: Sequence[int]) -> bytearray:
    """``struct vfio_irq_set`` followed by ``len(fds)`` s32 eventfds, ``argsz`` covering both."""
    head = vfio_irq_set(flags=flags, index=index, start=start, count=len(fds))
    head.argsz = IRQ_SET_DATA_OFFSET + IRQ_SET_EVENTFD_SIZE * len(fds)
    return bytearray(bytes(head)[:IRQ_SET_DATA_OFFSET]
                     + b"".join(int(fd).to_bytes(IRQ_SET_EVENTFD_SIZE, "little", signed=True) for fd in fds))


class vfio_iommu_type1_info(ctypes.Structure):
    _fields_ = [("argsz", ctypes.c_uint32), ("flags", ctypes.c_uint32), ("iova_pgsizes", ctypes.c_uint64),
                ("cap_offset", ctypes.c_uint32)]


class vfio_iommu_type1_dma_map(ctypes.Structure):
    _fields_ = [("argsz", ctypes.c_uint32), ("flags", ctypes.c_uint32), ("vaddr", ctypes.c_uint64),
                ("iova", ctypes.c_uint64), ("size", ctypes.c_uint64)]


class vfio_iommu_type1_dma_unmap(ctypes.Structure):
    _fields_ = [("argsz", ctypes.c_uint32), ("flags", ctypes.c_uint32), ("iova", ctypes.c_uint64),
                ("size", ctypes.c_uint64)]


class vfio_pci_dependent_device(ctypes.Structure):
    _fields_ = [("group_id", ctypes.c_uint32), ("segment", ctypes.c_uint16), ("bus", ctypes.c_uint8),
                ("devfn", ctypes.c_uint8)]


class vfio_pci_hot_reset_info(ctypes.Structure):
    """Followed by ``count`` :class:`vfio_pci_dependent_device` entries."""

    _fields_ = [("argsz", ctypes.c_uint32), ("flags", ctypes.c_uint32), ("count", ctypes.c_uint32)]


STRUCTS: tuple[type[ctypes.Structure], ...] = (
    vfio_group_status, vfio_device_info, vfio_region_info, vfio_irq_info, vfio_irq_set, vfio_iommu_type1_info,
    vfio_iommu_type1_dma_map, vfio_iommu_type1_dma_unmap, vfio_pci_dependent_device, vfio_pci_hot_reset_info,
)


def new(struct: type[ctypes.Structure], **fields: int) -> ctypes.Structure:
    """An instance with ``argsz`` set to its size (when it has one) and the given fields."""
    obj = struct(**fields)
    if any(name == "argsz" for name, *_ in struct._fields_):
        obj.argsz = ctypes.sizeof(struct)
    return obj
