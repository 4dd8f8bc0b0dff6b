"""A channel on the simulated host without GSP-RM: page tables, instance block, RAMFC, USERD and ring built by hand.

The simulated host (``gpu.models["fifo"]``) is tested on its own here: the test plays GSP-RM's part (it writes the
RAMFC as :mod:`nova_core.sim.gsp_rm.fifo` would and registers the channel) and the driver's (page tables through
the driver's Vmm straight into simulated VRAM, pushbuffers with the driver's builder).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nova_core.engines import facts as F
from nova_core.engines.pushbuf import Pushbuffer, gp_entry
from nova_core.hw.clock import US
from nova_core.hw.dma import DmaBuffer
from nova_core.mm.allocator import VramAllocator
from nova_core.mm.instmem import instance_block_page_dir
from nova_core.mm.pte import PteFlags, format_for
from nova_core.mm.tlb import TlbInvalidator
from nova_core.mm.vmm import Vmm
from nova_core.regs.mmu import RAMIN_PAGE_DIR_OFFSET
from nova_core.regs.usermode import NV_VIRTUAL_FUNCTION_DOORBELL
from nova_core.sim import SimGpu
from nova_core.sim.engines.host import SimChannel, SimHost

RING_VA = 0x10_0000_0000
BUF_VA = 0x20_0000_0000
ENTRIES = 16


@dataclass
class Rig:
    """One hand-built channel: ``ring`` (GPFIFO entries, then pushbuffer space, then a semaphore page)."""

    gpu: SimGpu
    host: SimHost
    vmm: Vmm
    alloc: VramAllocator
    ch: SimChannel
    ring: DmaBuffer
    userd: int
    inst: int
    entries: int = ENTRIES
    gp_put: int = 0
    pb_pos: int = 0
    buffers: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (va, phys or bus)

    @property
    def pb_base(self) -> int:
        return self.entries * 8

    @property
    def sem_va(self) -> int:
        return RING_VA + self.ring.size - 0x1000

    def sem(self, off: int = 0, n: int = 4) -> int:
        return int.from_bytes(self.ring.view[self.ring.size - 0x1000 + off:self.ring.size - 0x1000 + off + n], "little")

    def pushbuffer(self) -> Pushbuffer:
        return Pushbuffer(self.ch.gpfifo_class, {F.SUBCHANNEL_COPY_ENGINE: self.ch.ce_class}
                          if F.SUBCHANNEL_COPY_ENGINE in self.ch.subchannels else {})

    def put(self, words: list[int] | bytes, *, level: int = 0, ring: bool = True) -> None:
        """Write a segment and its GPFIFO entry; advance GP_PUT; ring the doorbell and let the PBDMA run."""
        data = words if isinstance(words, bytes) else b"".join(w.to_bytes(4, "little") for w in words)
        off = self.pb_base + self.pb_pos
        self.ring.view[off:off + len(data)] = data
        entry = gp_entry(RING_VA + off, len(data) // 4) | level << 41
        self.ring.view[self.gp_put * 8:self.gp_put * 8 + 8] = entry.to_bytes(8, "little")
        self.pb_pos += (len(data) + 15) & ~15
        self.gp_put = (self.gp_put + 1) % self.entries
        if ring:
            self.kick()

    @property
    def token(self) -> int:
        bit30 = F.classes_for(self.gpu.chipset).doorbell_runlist_enable
        return F.DoorbellToken.encode(vector=self.ch.chid, runlist_id=self.ch.runlist, runlist_doorbell=int(bit30))

    def kick(self) -> None:
        self.gpu.vram.write32(self.userd + F.USERD_GP_PUT, self.gp_put)
        NV_VIRTUAL_FUNCTION_DOORBELL.write(self.gpu.bar0, self.token)
        self.gpu.clock.sleep(10 * US)

    def gp_get(self) -> int:
        return self.gpu.vram.read32(self.userd + F.USERD_GP_GET)

    def vram_buffer(self, name: str, size: int, va: int) -> int:
        phys = self.alloc.alloc(size, align=1 << 21 if size >= 1 << 21 else 0x1000, tag=name)
        self.vmm.map_vram(va, phys, size)
        self.buffers[name] = (va, phys)
        return phys

    def sys_buffer(self, name: str, size: int, va: int, *, read_only: bool = False) -> DmaBuffer:
        buf = self.gpu.sysmem.alloc(size, align=1 << 21 if size >= 1 << 21 else 0x1000, name=name)
        self.vmm.map_sys(va, buf, PteFlags(read_only=read_only))
        self.buffers[name] = (va, buf.bus_addr)
        return buf


def ramfc(chid: int, userd: int, gp_base: int, entries: int) -> bytes:
    """The RAMFC the simulated GSP-RM writes (the layout of nouveau's gv100_fifo_gpfifo_new_)."""
    words = dict(F.RAMFC_DEFAULTS)
    words[F.RAMFC_USERD] = userd & 0xFFFFFE00
    words[F.RAMFC_USERD_HI] = userd >> 32
    words[F.RAMFC_SIGNATURE] = F.RAMFC_SIGNATURE_VALUE
    words[F.RAMFC_GP_BASE] = gp_base & 0xFFFFFFFF
    words[F.RAMFC_GP_BASE_HI] = gp_base >> 32 | (entries.bit_length() - 1) << 16
    words[F.RAMFC_CHID] = chid
    out = bytearray(F.RAMFC_SIZE)
    for off, v in words.items():
        out[off:off + 4] = v.to_bytes(4, "little")
    return bytes(out)


def rig(chip: str = "ga102", *, chid: int = 3, engine: int = 1, entries: int = ENTRIES, join: bool = True,
        gpu: SimGpu | None = None, alloc: VramAllocator | None = None) -> Rig:
    """A scheduled channel ``chid`` on copy engine ``engine`` (CE<engine>) of a simulated ``chip``."""
    gpu = gpu or SimGpu(chip)
    host = gpu.models["fifo"]
    assert isinstance(host, SimHost)
    alloc = alloc or VramAllocator(gpu.vram.size)
    fmt = format_for(gpu.chipset)
    vmm = Vmm(fmt, gpu.vram, alloc, TlbInvalidator(gpu.bar0, gpu.clock), name=f"rig{chid}")
    inst = alloc.alloc(F.INSTANCE_SIZE, align=F.INSTANCE_SIZE, tag="inst")
    userd = alloc.alloc(0x1000, align=0x1000, tag="userd")
    gpu.vram.write(inst, bytes(F.INSTANCE_SIZE))
    gpu.vram.write(userd, bytes(0x1000))
    if join:
        gpu.vram.write(inst + RAMIN_PAGE_DIR_OFFSET, instance_block_page_dir(vmm.pdb, vmm.va_end - 1))
    ring = gpu.sysmem.alloc(((entries * 8 + 0xFFF) & ~0xFFF) + 0x10000 + 0x1000, name=f"ring {chid}")
    vmm.map_sys(RING_VA, ring)
    gpu.vram.write(inst, ramfc(chid, userd, RING_VA, entries))
    classes = F.classes_for(gpu.chipset)
    slot = next(e for e in host.engines if e.name == f"CE{engine}")
    ch = SimChannel(chid, slot.runlist, slot.rm_engine_type, slot.rm_engine_type, inst, classes.gpfifo,
                    classes.copy, bound=True, scheduled=True, objects={classes.copy})
    host.add_channel(ch)
    return Rig(gpu, host, vmm, alloc, ch, ring, userd, inst, entries)
