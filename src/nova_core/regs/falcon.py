"""nova_core.regs.falcon: the falcon microcontroller block, its FBIF, and the falcon2/RISC-V block.

One definition per register, used at every engine base: the GSP falcon at 0x110000, SEC2 at 0x840000,
FSP at 0x8F2000 (Hopper and later); the falcon2/RISC-V registers sit 0x1000 above each.

Sources: open-gpu-kernel-modules 570.144 ``published/turing/tu102/{dev_falcon_v4,dev_fbif_v4,dev_gsp,
dev_sec_pri,dev_riscv_pri}.h``, ``published/ampere/{ga100,ga102}/dev_falcon_v4.h``,
``published/ampere/ga102/{dev_falcon_second_pri,dev_riscv_pri}.h`` and ``published/hopper/gh100/dev_*.h``. What NVIDIA
publishes only for the falcon v4 of its NVSwitch (``published/nvswitch/lr10/dev_falcon_v4.h``: IRQSSET, SWGEN1,
HWCFG1, IMEMC.AINCR, the port counts) and what only Linux nova-core (``regs.rs``, ``falcon.rs``) or nouveau
(``nvkm/engine/falcon.c``: HWCFG.DMEM_SIZE) give, ``regs.reference`` lists as not published, with that source.
Per-family differences are variants (``NV_PFALCON_FALCON_IMEMC.for_family("TU102")``).
"""

from __future__ import annotations

import enum

from .core import RO, WO, Domain, Field, Register

GSP_FALCON_BASE = 0x110000
SEC2_FALCON_BASE = 0x840000
FSP_FALCON_BASE = 0x8F2000
FALCON2_OFFSET = 0x1000

FALCON = Domain("falcon", GSP=GSP_FALCON_BASE, SEC2=SEC2_FALCON_BASE, FSP=FSP_FALCON_BASE)
FALCON2 = Domain("falcon2", GSP=GSP_FALCON_BASE + FALCON2_OFFSET, SEC2=SEC2_FALCON_BASE + FALCON2_OFFSET,
                 FSP=FSP_FALCON_BASE + FALCON2_OFFSET)

#: falcon IMEM/DMEM are loaded in 256-byte blocks; DMA moves 256 bytes per DMATRFCMD
FALCON_BLOCK = 256
#: falcon DMA addresses are limited to 49 bits (DMATRFBASE holds bits 39:8, DMATRFBASE1 bits 48:40)
FALCON_DMA_ADDR_BITS = 49

# -- interrupts (IRQSSET/IRQSCLR/IRQSTAT share one bit layout) --------------------------------------

IRQ_HALT = 1 << 4
IRQ_SWGEN0 = 1 << 6
IRQ_SWGEN1 = 1 << 7


class NV_PFALCON_FALCON_IRQSSET(Register, domain=FALCON, offset=0x000):
    """Write 1 to raise an interrupt bit in IRQSTAT (software interrupts)."""

    halt = Field(4, 4, WO)
    swgen0 = Field(6, 6, WO)
    swgen1 = Field(7, 7, WO)


class NV_PFALCON_FALCON_IRQSCLR(Register, domain=FALCON, offset=0x004):
    """Write 1 to clear an interrupt bit in IRQSTAT (bit 6 SWGEN0: the GSP's message doorbell)."""

    halt = Field(4, 4, WO)
    swgen0 = Field(6, 6, WO)
    swgen1 = Field(7, 7, WO)


class NV_PFALCON_FALCON_IRQSTAT(Register, domain=FALCON, offset=0x008):
    """Pending falcon interrupts."""

    halt = Field(4, 4, RO)
    swgen0 = Field(6, 6, RO)
    swgen1 = Field(7, 7, RO)


class NV_PFALCON_FALCON_IRQMCLR(Register, domain=FALCON, offset=0x014):
    """Write 1 to mask an interrupt source (falcon mode); nouveau ``r535_gsp_intr`` masks causes it cannot handle."""

    value = Field(31, 0, WO)


class NV_PFALCON_FALCON_MAILBOX0(Register, domain=FALCON, offset=0x040):
    """Mailbox 0: arguments in, status out (0 = success for HS ucodes)."""

    data = Field(31, 0)


class NV_PFALCON_FALCON_MAILBOX1(Register, domain=FALCON, offset=0x044):
    """Mailbox 1: arguments in, status out."""

    data = Field(31, 0)


class NV_PFALCON_FALCON_OS(Register, domain=FALCON, offset=0x080):
    """OS register: the driver writes the bootloader's appVersion here before GSP-RM starts."""

    version = Field(31, 0)


class NV_PFALCON_FALCON_RM(Register, domain=FALCON, offset=0x084):
    """RM register: nova-core writes the BOOT_0 value here after each falcon reset."""

    value = Field(31, 0)


class NV_PFALCON_FALCON_HWCFG2(Register, domain=FALCON, offset=0x0F4):
    """Hardware configuration 2: RISC-V presence (the TU102 and GA100 headers define only this field)."""

    riscv = Field(10, 10, RO, doc="1 = the engine has a RISC-V core")


class NV_PFALCON_FALCON_HWCFG2_GA102(NV_PFALCON_FALCON_HWCFG2, chips="GA102-AD102"):
    """GA102 to Ada: also memory scrubbing (``ampere/ga102/dev_falcon_v4.h``) and reset readiness
    (``ampere/ga102/dev_falcon_v4_addendum.h``; OpenRM waits for it in ``kflcnPreResetWait_GA102``, the HAL of
    GA102..AD107 only)."""

    mem_scrubbing = Field(12, 12, RO, doc="1 = IMEM/DMEM scrubbing still in progress")
    reset_ready = Field(31, 31, RO, doc="engine may be reset (hardware sometimes never sets it)")


class NV_PFALCON_FALCON_HWCFG2_GH100(NV_PFALCON_FALCON_HWCFG2, chips="GH100+"):
    """Hopper and later (``hopper/gh100/dev_falcon_v4.h``): memory scrubbing and the RISC-V boot ROM's PRIV lockdown;
    no RESET_READY (bits 31:24 are PRGN_RSVD_FUSE, and OpenRM's pre-reset wait is a no-op from GH100 on)."""

    mem_scrubbing = Field(12, 12, RO, doc="1 = IMEM/DMEM scrubbing still in progress")
    riscv_br_priv_lockdown = Field(13, 13, RO, doc="1 = the RISC-V boot ROM keeps the engine's PRIV locked; the "
                                                    "GSP-FMC releases it")


class NV_PFALCON_FALCON_CPUCTL(Register, domain=FALCON, offset=0x100):
    """CPU control: start the falcon, see whether it halted."""

    startcpu = Field(1, 1, WO, doc="write 1 to start at BOOTVEC")
    halted = Field(4, 4, RO)
    alias_en = Field(6, 6, doc="1 = start through CPUCTL_ALIAS instead")


class NV_PFALCON_FALCON_BOOTVEC(Register, domain=FALCON, offset=0x104):
    """Boot vector: IMEM address the falcon starts executing at."""

    value = Field(31, 0, nv="VEC")


class NV_PFALCON_FALCON_HWCFG(Register, domain=FALCON, offset=0x108):
    """Hardware configuration: IMEM and DMEM sizes in 256-byte blocks (nouveau)."""

    imem_size = Field(8, 0, RO)
    dmem_size = Field(17, 9, RO)


class NV_PFALCON_FALCON_DMACTL(Register, domain=FALCON, offset=0x10C):
    """DMA control and memory scrubbing status (Turing: scrub done when bits 2:1 are clear)."""

    require_ctx = Field(0, 0)
    dmem_scrubbing = Field(1, 1, RO)
    imem_scrubbing = Field(2, 2, RO)


class NV_PFALCON_FALCON_DMATRFBASE(Register, domain=FALCON, offset=0x110):
    """DMA transfer base: external address bits 39:8."""

    base_ = Field(31, 0, doc="address bits 39:8 (NV name BASE)")


class NV_PFALCON_FALCON_DMATRFMOFFS(Register, domain=FALCON, offset=0x114):
    """DMA transfer offset inside IMEM/DMEM (GA100 and later: 24 bits)."""

    offs = Field(23, 0)


class NV_PFALCON_FALCON_DMATRFMOFFS_TU102(NV_PFALCON_FALCON_DMATRFMOFFS, chips="TU102"):
    """Turing: 16 bits of offset (``turing/tu102/dev_falcon_v4.h``)."""

    offs = Field(15, 0)


class DmaTrfSize(enum.IntEnum):
    """DMATRFCMD.SIZE: bytes moved per command (the only size the headers, nova-core and nouveau use)."""

    SIZE_256B = 6


class NV_PFALCON_FALCON_DMATRFCMD(Register, domain=FALCON, offset=0x118):
    """DMA transfer command: writing it starts a transfer; IDLE goes to 1 when it is done."""

    full = Field(0, 0, RO)
    idle = Field(1, 1, RO)
    sec = Field(3, 2, doc="secure transfer (IMEM)")
    imem = Field(4, 4, doc="1 = to IMEM, 0 = to DMEM")
    write_ = Field(5, 5, doc="1 = falcon memory to external memory (NV name WRITE)")
    size = Field(10, 8, enum=DmaTrfSize)
    ctxdma = Field(14, 12, doc="FBIF TRANSCFG index used for the transfer")
    set_dmtag = Field(16, 16)


class NV_PFALCON_FALCON_DMATRFFBOFFS(Register, domain=FALCON, offset=0x11C):
    """DMA transfer offset from DMATRFBASE in external memory."""

    offs = Field(31, 0)


class NV_PFALCON_FALCON_DMATRFBASE1(Register, domain=FALCON, offset=0x128):
    """DMA transfer base: external address bits 48:40."""

    base_ = Field(8, 0, doc="address bits 48:40 (NV name BASE)")


class FalconSecurityModel(enum.IntEnum):
    NONE = 0
    LIGHT = 2
    HEAVY = 3


class NV_PFALCON_FALCON_HWCFG1(Register, domain=FALCON, offset=0x12C):
    """Hardware configuration 1: core revision and security model."""

    core_rev = Field(3, 0, RO)
    security_model = Field(5, 4, RO, enum=FalconSecurityModel)
    core_rev_subversion = Field(7, 6, RO)


class NV_PFALCON_FALCON_CPUCTL_ALIAS(Register, domain=FALCON, offset=0x130):
    """Alias of CPUCTL.STARTCPU, used when CPUCTL.ALIAS_EN is set (write-only)."""

    startcpu = Field(1, 1, WO)


class NV_PFALCON_FALCON_IMEMC(Register, domain=FALCON, offset=0x180, count=4, stride=16):
    """IMEM access control for port i: address, auto-increment on write, secure flag."""

    offs = Field(7, 2, doc="word offset inside the block")
    blk = Field(23, 8, doc="256-byte block (GA100 and later: 16 bits)")
    aincw = Field(24, 24, doc="auto-increment after each IMEMD write")
    aincr = Field(25, 25, doc="auto-increment after each IMEMD read")
    secure = Field(28, 28, doc="load as secure code")


class NV_PFALCON_FALCON_IMEMC_TU102(NV_PFALCON_FALCON_IMEMC, chips="TU102"):
    """Turing: an 8-bit block number (``turing/tu102/dev_falcon_v4.h``)."""

    blk = Field(15, 8, doc="256-byte block")


class NV_PFALCON_FALCON_IMEMD(Register, domain=FALCON, offset=0x184, count=4, stride=16):
    """IMEM data port i."""

    data = Field(31, 0)


class NV_PFALCON_FALCON_IMEMT(Register, domain=FALCON, offset=0x188, count=4, stride=16):
    """IMEM tag for the block being written through port i (its virtual block number)."""

    tag = Field(15, 0)


class NV_PFALCON_FALCON_DMEMC(Register, domain=FALCON, offset=0x1C0, count=8, stride=8):
    """DMEM access control for port i."""

    offs = Field(7, 2)
    blk = Field(23, 8, doc="256-byte block (GA100 and later: 16 bits)")
    aincw = Field(24, 24)
    aincr = Field(25, 25)


class NV_PFALCON_FALCON_DMEMC_TU102(NV_PFALCON_FALCON_DMEMC, chips="TU102"):
    """Turing: an 8-bit block number (``turing/tu102/dev_falcon_v4.h``)."""

    blk = Field(15, 8)


class NV_PFALCON_FALCON_DMEMD(Register, domain=FALCON, offset=0x1C4, count=8, stride=8):
    """DMEM data port i."""

    data = Field(31, 0)


class NV_PFALCON_FALCON_ENGINE(Register, domain=FALCON, offset=0x3C0):
    """Engine reset: pulse RESET 1 -> (about 10 us) -> 0, then wait for scrubbing."""

    reset = Field(0, 0)


#: A falcon reaches its own registers through its I/O space (``iord``/``iowr``) at the host offset shifted left
#: by 6: bits 7:2 of the I/O address are an index the plain registers ignore (envytools
#: ``docs/hw/falcon/io.rst``, "falcon IO space address X << 6"). The GSP's FWSEC addresses its registers so:
#: I[0x1c300] is the BAR0 timeout at host offset 0x70c, I[0x2600]/I[0x2700] the breakpoints at 0x98/0x9c.
FALCON_IO_INDEX_SHIFT = 6


class Bar0Status(enum.IntEnum):
    """NV_PFALCON_BAR0_CSR.STATUS: the state of the last BAR0 access (bits of envytools' PMU MMIO_CTRL 14:12)."""

    IDLE = 0
    BUSY = 1
    TIMEOUT = 2
    FAULT = 4


class Bar0Cmd(enum.IntEnum):
    READ = 1
    WRITE = 2


class NV_PFALCON_BAR0_CSR(Register, domain=FALCON, offset=0x700):
    """The falcon's BAR0 master: control and status of one access to the GPU's registers.

    Not in a published header; the layout is the one envytools documents for the PMU's MMIO_CTRL
    (``docs/hw/pm/pdaemon/mmio.rst``: command 1:0, byte mask 7:4, busy/timeout/fault 14:12) with the trigger
    at bit 31, as the GSP's FWSEC uses it: it writes 0x800000f1 (read) / 0x800000f2 (write) and polls 14:12
    while it reads 1, treating 4 as a failed access. Names ours, after ``NV_SOE_BAR0_TMOUT`` (0x70c).
    """

    cmd = Field(1, 0, enum=Bar0Cmd)
    byte_mask = Field(7, 4)
    status = Field(14, 12, RO, enum=Bar0Status)
    trigger = Field(31, 31)


class NV_PFALCON_BAR0_ADDR(Register, domain=FALCON, offset=0x704):
    """The BAR0 address of the BAR0 master's next access (see :class:`NV_PFALCON_BAR0_CSR`)."""

    addr_ = Field(31, 0, doc="BAR0 offset (NV-style name ADDR)")


class NV_PFALCON_BAR0_DATA(Register, domain=FALCON, offset=0x708):
    """The value a BAR0 master write sends, or a read returned."""

    data = Field(31, 0)


class NV_PFALCON_BAR0_TMOUT(Register, domain=FALCON, offset=0x70C):
    """BAR0 master timeout in falcon cycles (published for the SOE falcon as ``NV_SOE_BAR0_TMOUT``, 0x70c,
    open-gpu-kernel-modules 570.144 ``published/nvswitch/ls10/dev_soe_ip.h``)."""

    cycles = Field(31, 0)


class FbifTarget(enum.IntEnum):
    LOCAL_FB = 0
    COHERENT_SYSMEM = 1
    NONCOHERENT_SYSMEM = 2


class FbifMemType(enum.IntEnum):
    VIRTUAL = 0
    PHYSICAL = 1


class NV_PFALCON_FALCON_INTR_RETRIGGER(Register, domain=FALCON, offset=0x3E8, count=2, stride=4, chips="GA100+"):
    """Write TRIGGER=1 to send the falcon's interrupt to the interrupt tree again if a host-routed cause is still
    pending (``published/ampere/ga100/dev_falcon_v4.h``; OpenRM ``kflcnIntrRetrigger_GA100``, a no-op HAL on
    TU10x; nouveau ``nvkm_falcon_intr_retrigger`` after servicing the GSP)."""

    trigger = Field(0, 0, WO)


class NV_PFALCON_FBIF_TRANSCFG(Register, domain=FALCON, offset=0x600, count=8, stride=4):
    """FBIF transfer configuration for DMA context i (aperture and addressing)."""

    target = Field(1, 0, enum=FbifTarget)
    mem_type = Field(2, 2, enum=FbifMemType)


class NV_PFALCON_FBIF_CTL(Register, domain=FALCON, offset=0x624):
    """FBIF control."""

    allow_phys_no_ctx = Field(7, 7, doc="allow physical DMA without a context")


# -- falcon2 / RISC-V (falcon base + 0x1000) ---------------------------------------------------------


class ModSelAlgo(enum.IntEnum):
    AES = 0  #: nova-core ``FalconModSelAlgo`` (not in the headers)
    RSA3K = 1


class NV_PFALCON2_FALCON_MOD_SEL(Register, domain=FALCON2, offset=0x180, chips="GA102+"):
    """Boot ROM signature algorithm select (GA102+ HS boot)."""

    algo = Field(7, 0, enum=ModSelAlgo)


class NV_PFALCON2_FALCON_BROM_CURR_UCODE_ID(Register, domain=FALCON2, offset=0x198, chips="GA102+"):
    """Ucode id the boot ROM verifies (from the ucode descriptor / HS signature params)."""

    ucode_id = Field(7, 0, nv="VAL")


class NV_PFALCON2_FALCON_BROM_ENGIDMASK(Register, domain=FALCON2, offset=0x19C, chips="GA102+"):
    """Engine-id mask the boot ROM checks the ucode against (0x1 SEC2, 0x400 GSP)."""

    value = Field(31, 0)


class NV_PFALCON2_FALCON_BROM_PARAADDR(Register, domain=FALCON2, offset=0x210, count=1, stride=4, chips="GA102+"):
    """Boot ROM parameters; entry 0 = DMEM offset of the PKC signature (the header gives no array size; OpenRM
    and nova-core use entry 0 only, and so do we)."""

    value = Field(31, 0)


class NV_PRISCV_RISCV_CORE_SWITCH_RISCV_STATUS(Register, domain=FALCON2, offset=0x240,
                                               chips="TU102-GA100"):
    """RISC-V core status on Turing and GA100."""

    active_stat = Field(0, 0, RO)


class NV_PRISCV_RISCV_CPUCTL(Register, domain=FALCON2, offset=0x388, chips="GA102+"):
    """RISC-V CPU control (GA102+): halted, active (the driver never starts the RISC-V core itself)."""

    halted = Field(4, 4, RO)
    active_stat = Field(7, 7, RO)


class NV_PRISCV_RISCV_IRQMASK(Register, domain=FALCON2, offset=0x528):
    """RISC-V interrupt mask (GA102 and later location; ``ampere/ga102/dev_riscv_pri.h``)."""

    value = Field(31, 0, RO)


class NV_PRISCV_RISCV_IRQMASK_TU102(NV_PRISCV_RISCV_IRQMASK, chips="TU102-GA100", offset=0x2B4):
    """Turing and GA100: at 0x2B4 (``turing/tu102/dev_riscv_pri.h``; nouveau ``.riscv_irqmask``)."""


class NV_PRISCV_RISCV_IRQDEST(Register, domain=FALCON2, offset=0x52C):
    """RISC-V interrupt destination (GA102 and later location): set bits go to the host (OpenRM
    ``kflcnRiscvReadIntrStatus``: host-pending = IRQSTAT & IRQMASK & IRQDEST)."""

    value = Field(31, 0)


class NV_PRISCV_RISCV_IRQDEST_TU102(NV_PRISCV_RISCV_IRQDEST, chips="TU102-GA100", offset=0x2B8):
    """Turing and GA100: at 0x2B8 (``turing/tu102/dev_riscv_pri.h``)."""


class CoreSelect(enum.IntEnum):
    FALCON = 0
    RISCV = 1


class NV_PRISCV_RISCV_BCR_CTRL(Register, domain=FALCON2, offset=0x668, chips="GA102+"):
    """Boot configuration: which core (falcon or RISC-V) runs after reset."""

    valid = Field(0, 0, RO, doc="1 = configuration accepted")
    core_select = Field(4, 4, enum=CoreSelect)
    brfetch = Field(8, 8, doc="fetch the boot ROM")
