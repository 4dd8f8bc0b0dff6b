"""nova_drm.uapi: the numbers and layouts of nova-drm's uAPI.

Upstream facts (Linux ``include/uapi/drm/nova_drm.h``, ``include/uapi/drm/drm.h``,
``include/uapi/asm-generic/ioctl.h``): the parameter id, the three driver ioctls with their ``struct
drm_nova_*`` layouts (little-endian, natural alignment, no implicit padding), the DRM core's GEM_CLOSE, and the
ioctl request encoding. :meth:`nova_drm.File.ioctl` takes these requests with their structs as bytes, exactly as
the kernel's ioctl path would read and write them.

Linux's nova-drm stops at GETPARAM/GEM_CREATE/GEM_INFO. What else :class:`nova_drm.File` offers (GEM pread/pwrite,
VM bind, channels, exec, syncobjs, the parameters above 0x1) is this project's own extension, modelled on nouveau's
uAPI (``nouveau_drm.h``: VM_BIND, EXEC with in/out syncobjs) and the DRM core's syncobjs; it has no upstream
ioctl numbers and is offered as methods only.
"""

from __future__ import annotations

import struct

# -- ioctl request encoding (include/uapi/asm-generic/ioctl.h) -------------------------------------------------
IOC_NRBITS, IOC_TYPEBITS, IOC_SIZEBITS = 8, 8, 14
IOC_NRSHIFT = 0
IOC_TYPESHIFT = IOC_NRSHIFT + IOC_NRBITS
IOC_SIZESHIFT = IOC_TYPESHIFT + IOC_TYPEBITS
IOC_DIRSHIFT = IOC_SIZESHIFT + IOC_SIZEBITS
IOC_WRITE, IOC_READ = 1, 2
DRM_IOCTL_BASE = ord("d")  #: drm.h
DRM_COMMAND_BASE = 0x40  #: drm.h: driver ioctls start here


def ioc(direction: int, nr: int, size: int) -> int:
    """``_IOC(dir, 'd', nr, size)``."""
    return (direction << IOC_DIRSHIFT) | (size << IOC_SIZESHIFT) | (DRM_IOCTL_BASE << IOC_TYPESHIFT) | nr


# -- nova_drm.h -------------------------------------------------------------------------------------------------
GETPARAM_VRAM_BAR_SIZE = 0x1  #: NOVA_GETPARAM_VRAM_BAR_SIZE: the VRAM BAR (PCI BAR1) size in bytes

DRM_NOVA_GETPARAM = 0x00
DRM_NOVA_GEM_CREATE = 0x01
DRM_NOVA_GEM_INFO = 0x02

#: struct drm_nova_getparam { __u64 param; __u64 value; }
GETPARAM_STRUCT = struct.Struct("<QQ")
#: struct drm_nova_gem_create { __u32 handle; __u32 pad; __u64 size; }
GEM_CREATE_STRUCT = struct.Struct("<IIQ")
#: struct drm_nova_gem_info { __u32 handle; __u32 pad; __u64 size; }
GEM_INFO_STRUCT = struct.Struct("<IIQ")

DRM_IOCTL_NOVA_GETPARAM = ioc(IOC_READ | IOC_WRITE, DRM_COMMAND_BASE + DRM_NOVA_GETPARAM, GETPARAM_STRUCT.size)
DRM_IOCTL_NOVA_GEM_CREATE = ioc(IOC_READ | IOC_WRITE, DRM_COMMAND_BASE + DRM_NOVA_GEM_CREATE, GEM_CREATE_STRUCT.size)
DRM_IOCTL_NOVA_GEM_INFO = ioc(IOC_READ | IOC_WRITE, DRM_COMMAND_BASE + DRM_NOVA_GEM_INFO, GEM_INFO_STRUCT.size)

# -- drm.h (the DRM core) ----------------------------------------------------------------------------------------
#: struct drm_gem_close { __u32 handle; __u32 pad; }
GEM_CLOSE_STRUCT = struct.Struct("<II")
DRM_IOCTL_GEM_CLOSE = ioc(IOC_WRITE, 0x09, GEM_CLOSE_STRUCT.size)  #: DRM_IOW(0x09, struct drm_gem_close)

# -- this project's extension parameters (not in nova_drm.h) -------------------------------------------------------
GETPARAM_VRAM_SIZE = 0x1001  #: bytes of VRAM (FB size)
GETPARAM_VA_START = 0x1002  #: the first GPU VA a client may bind at
GETPARAM_VA_END = 0x1003  #: the end of the client's VA range
GETPARAM_PAGE_SIZES = 0x1004  #: the GPU page sizes vm_bind takes, as a bit mask (bit n: 1 << n bytes)
GETPARAM_COPY_CLASS = 0x1005  #: the copy-engine class a pushbuffer binds with SET_OBJECT
GETPARAM_GPFIFO_CLASS = 0x1006  #: the channel (host) class
GETPARAM_CHIPSET = 0x1007  #: the chip id (PMC_BOOT_42 architecture | implementation, e.g. 0x192 for AD102)

#: the subchannel the copy engine is bound to in a channel created on a copy engine (NVA06F_SUBCHANNEL_COPY_ENGINE)
COPY_SUBCHANNEL = 4

#: exec: at most this many pushbuffer segments per call (nouveau's NOUVEAU_GEM_MAX_PUSH)
EXEC_MAX_PUSH = 512
#: exec / syncobj_wait: at most this many syncobjs per call
MAX_SYNCS = 256
