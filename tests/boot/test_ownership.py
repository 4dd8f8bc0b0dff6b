"""After INIT_DONE, VRAM and the BARs are owned the way GSP-RM expects (issue 13), and the simulated GPU refuses the
rest. The "Done when" checks run for TU102, GA100, GA102 and AD102 with synthetic and with the real (Debian)
firmware, and for GH100 and GB202 - booted through the FSP, their WPR2 placed by the GSP-FMC's ACR - with the
synthetic and the real 570.144 set: a recorded boot never writes the BAR2 block register, and every PRAMIN/BAR2
write lies outside the FB regions static info marks reserved or protected. Then one negative test per strictness of
the simulated GPU, each showing the refusal the driver's old behaviour meets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from boot_helpers import REAL_ROMS, rm, wpr2

from nova_core.cli.main import main
from nova_core.errors import NovaError, SimViolation
from nova_core.gsp.boot import BootFailed, GspDevice
from nova_core.gsp.fw import BarType, UpdateBarPde
from nova_core.hw.trace import pramin_writes, read_trace
from nova_core.mm.instmem import Bar2Space
from nova_core.mm.vram import PraminVram
from nova_core.regs.mmu import (
    NV_VIRTUAL_FUNCTION_PRIV_BAR2_BLOCK,
    NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR2_BLOCK_HIGH_ADDR,
    NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR2_BLOCK_LOW_ADDR,
)
from nova_core.sim import SimGpu
from nova_core.sim.models.fb import BLOCKED_READ
from nova_core.sim_boot import boot_sim

CHIPS = ["tu102", "ga100", "ga102", "ad102"]
FSP_CHIPS = ["gh100", "gb202"]  #: the FSP path: MMU v3, the XAL PRAMIN window, the hub's flush-page registers
BAR2_BLOCK_REGS = {r.addr() for r in (NV_VIRTUAL_FUNCTION_PRIV_BAR2_BLOCK,
                                      NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR2_BLOCK_LOW_ADDR,
                                      NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR2_BLOCK_HIGH_ADDR)}


def _kept(fb_regions: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """``[start, end)`` of the regions static info marks reserved or protected (what `nova boot --json` prints)."""
    return [(r["base"], r["limit"] + 1) for r in fb_regions if r["reserved"] or r["protected"]]


def _outside(kept: list[tuple[int, int]], addr: int, length: int) -> bool:
    return all(addr + length <= lo or addr >= hi for lo, hi in kept)


def _check_ownership(trace: Path, info: dict[str, Any], gpu: SimGpu) -> tuple[int, int]:
    """The Done-when checks on a recorded boot; returns (PRAMIN writes, BAR2 writes)."""
    header, entries = read_trace(trace)
    assert header["command"] == "boot" and header["bar2_size"] == 32 << 20
    assert not [e for e in entries if e.get("bar", 0) == 0 and e["op"] == "w32" and e["off"] in BAR2_BLOCK_REGS]
    kept = _kept(info["static_info"]["fb_regions"])
    assert kept and any(not r["reserved"] and not r["protected"] for r in info["static_info"]["fb_regions"])
    writes = pramin_writes(entries)
    assert writes, "the BAR2 page tables are written through PRAMIN"
    bad = [(hex(a), n) for a, n in writes if not _outside(kept, a, n)]
    assert not bad, bad
    # BAR2 writes: the trace has their BAR2 offsets; the simulated BAR2 says where in VRAM each one landed
    bar2 = [e for e in entries if e.get("bar") == 2 and e["op"] in ("w32", "wblk")]
    landed = list(gpu.models["bar2"].vram_writes)  # type: ignore[attr-defined]
    assert bar2 and len(landed) == len(bar2)
    assert all(_outside(kept, a, n) for a, n in landed), landed
    assert gpu.models["fb"].blocked == []  # type: ignore[attr-defined]
    return len(writes), len(bar2)


def _boot_recorded(tmp_path: Path, chip: str, real: Path | None, vbios_dir: Path | None,
                   version: str | None = None) -> tuple[Path, Any, SimGpu]:
    rom = REAL_ROMS.get(chip) if real is not None else None
    gpu = SimGpu(chip, vbios=None if rom is None or vbios_dir is None else vbios_dir / rom)
    trace = tmp_path / f"{chip}.jsonl"
    g = boot_sim(chip, synthetic=real is None, firmware_roots=None if real is None else [real], gpu=gpu,
                 record=trace, firmware_version=version)
    info = g.info()
    g.close()
    assert g.teardown_status == "clean"
    return trace, info, gpu


@pytest.mark.parametrize("chip", CHIPS + FSP_CHIPS)
def test_recorded_boot_owns_only_what_gsp_rm_leaves_synthetic(tmp_path: Path, chip: str) -> None:
    trace, info, gpu = _boot_recorded(tmp_path, chip, None, None)
    assert info["firmware_synthetic"] is True
    _check_ownership(trace, info, gpu)


@pytest.mark.parametrize("chip", CHIPS)
def test_recorded_boot_owns_only_what_gsp_rm_leaves_real_firmware(tmp_path: Path, chip: str, firmware_path: Path,
                                                                  vbios_path: Path) -> None:
    trace, info, gpu = _boot_recorded(tmp_path, chip, firmware_path, vbios_path)
    assert info["firmware_synthetic"] is False and info["firmware_version"] == "535.113.01"
    _check_ownership(trace, info, gpu)


@pytest.mark.parametrize("chip", FSP_CHIPS)
def test_recorded_fsp_boot_owns_only_what_gsp_rm_leaves_real_570(tmp_path: Path, chip: str,
                                                                  firmware_570_path: Path) -> None:
    """GH100/GB202 with NVIDIA's 570.144 files: GSP-RM's FB regions follow the layout the GSP-FMC's ACR chose (WPR2
    protected and equal to the hardware's WPR2; the FB end reserve above FRTS reserved), and the driver keeps out."""
    trace, info, gpu = _boot_recorded(tmp_path, chip, firmware_570_path, None, "570.144")
    assert info["firmware_synthetic"] is False and info["firmware_version"] == "570.144"
    _check_ownership(trace, info, gpu)
    protected = [(r["base"], r["limit"] + 1) for r in info["static_info"]["fb_regions"] if r["protected"]]
    layout = info["layout"]["regions"]
    assert protected == [(layout["wpr2"]["start"], layout["frts"]["end"])]  # WPR2 as the ACR set it
    top = max(r["limit"] + 1 for r in info["static_info"]["fb_regions"])
    assert top == gpu.vram_mib << 20 and all(
        r["reserved"] for r in info["static_info"]["fb_regions"] if r["base"] >= layout["frts"]["end"])


def test_nova_boot_record_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`nova boot --sim CHIP --record t.jsonl --json`: the trace and the JSON the Done-when check reads."""
    trace = tmp_path / "t.jsonl"
    assert main(["boot", "--sim", "ga102", "--record", str(trace), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    header, entries = read_trace(trace)
    assert header["device"] == "sim:ga102" and len(entries) > 1000
    assert {e.get("bar", 0) for e in entries} == {0, 2}
    assert not [e for e in entries if e["op"] == "w32" and e["off"] in BAR2_BLOCK_REGS and e.get("bar", 0) == 0]
    kept = _kept(info["static_info"]["fb_regions"])
    assert all(_outside(kept, a, n) for a, n in pramin_writes(entries))
    # a replay device answers the BAR0 and BAR2 entries of the trace, each in their order
    from nova_core.hw.trace import open_replay

    dev = open_replay(trace)
    assert dev.bar2 is not None and dev.bar0.read32(0) == entries[0]["val"]


# -- the strict simulated GPU: one refusal each ------------------------------------------------------------------


def _booted(chip: str = "ga102") -> tuple[SimGpu, GspDevice]:
    gpu = SimGpu(chip)
    return gpu, boot_sim(chip, synthetic=True, gpu=gpu)


def test_bar2_block_register_refused_while_gsp_rm_owns_bar2() -> None:
    """GSP-RM binds BAR2 itself; the CPU's write to the BAR2 block register - what the driver did before
    (Bar2Space.bind) - is refused and logged."""
    gpu, g = _booted("ad102")
    try:
        bar2 = gpu.models["bar2"]
        assert bar2.gsp_owner == "GSP-RM" and bar2.binds == 1  # type: ignore[attr-defined]
        assert g.bars is not None and g.layout is not None
        old_way = Bar2Space(gpu.chipset, g.dev.bar0, g.dev.clock, PraminVram(g.dev.bar0, gpu.vram.size),
                            g.bars.allocator, gpu.models["bar2"].bar)  # type: ignore[attr-defined]
        with pytest.raises(SimViolation, match="refused: BAR2 belongs to GSP-RM, which bound it to its own page "
                                               "tables"):
            old_way.bind()
        assert any("NV_VIRTUAL_FUNCTION_PRIV_BAR2_BLOCK" in e.message for e in gpu.log.errors())
        assert bar2.binds == 1  # type: ignore[attr-defined]
    finally:
        g.close()
    assert gpu.models["bar2"].gsp_owner is None  # type: ignore[attr-defined]  # released as GSP-RM unloads


def test_root_pde_instead_of_the_level_below_fails_the_bar2_check() -> None:
    """UPDATE_BAR_PDE carrying the PDE of the driver's *root* (the driver's old behaviour) instead of its entry 0
    makes GSP-RM's walk one level off: BAR2 faults and the check after the hand-over catches it."""
    gpu, g = _booted("tu102")
    try:
        assert g.bars is not None and g.bars.bar2 is not None and g.bars.instmem is not None and g.rpc is not None
        space = g.bars.bar2
        g.rpc.call(UpdateBarPde(BarType.BAR2, space.vmm.fmt.pde(space.vmm.pdb), 47))
        with pytest.raises(NovaError, match="MMU fault"):
            g.bars.instmem.verify()
        with pytest.raises(NovaError, match="NV_ERR_NOT_SUPPORTED"):  # nor is a BAR1 entry taken
            g.rpc.call(UpdateBarPde(BarType.BAR1, space.vmm.fmt.pde(g.bars.bar1.pdb), 47))
        assert any("barType BAR_1" in e.message for e in gpu.log.errors())
        g.rpc.call(UpdateBarPde(BarType.BAR2, space.shared_entry(), 47))
        assert "verified both ways" in g.bars.instmem.verify()
    finally:
        g.close()


def test_pramin_and_bar2_into_protected_vram_are_blocked() -> None:
    """PRAMIN and BAR2 accesses into WPR2 are blocked as the hardware blocks them: the write is dropped, the read
    returns the blocked pattern, and each lands in the sim's fault log."""
    gpu, g = _booted("ga102")
    try:
        fb = gpu.models["fb"]
        lo, hi = wpr2(gpu)
        assert hi
        secret = gpu.vram.read(lo + 0x1000, 4)
        assert g.bars is not None and g.bars.bar2 is not None
        pramin = g.bars.bar2.vram  # the device's one PRAMIN window (another instance would move it under this one)
        pramin.write(lo + 0x1000, b"\xde\xad\xbe\xef")
        assert gpu.vram.read(lo + 0x1000, 4) == secret
        assert pramin.read(lo + 0x1000, 4) == BLOCKED_READ.to_bytes(4, "little")
        vmm = g.bars.bar2.vmm
        va = vmm.valloc(0x1000)
        vmm.map_vram(va, lo, 0x1000)  # a driver that maps protected memory through BAR2
        bar2 = gpu.models["bar2"].bar  # type: ignore[attr-defined]
        bar2.write32(va, 0x12345678)
        assert bar2.read32(va) == BLOCKED_READ and gpu.vram.read(lo, 4) != (0x12345678).to_bytes(4, "little")
        vmm.unmap(va, 0x1000)
        vmm.vfree(va)
        log = fb.blocked  # type: ignore[attr-defined]
        assert [(b.path, b.write) for b in log] == [("PRAMIN", True), ("PRAMIN", False), ("BAR2", True),
                                                    ("BAR2", False)]
        assert all(b.region.startswith("WPR2") for b in log)
        assert sum("blocked: WPR2" in e.message for e in gpu.log.errors()) == 4
    finally:
        g.close()


def test_page_tables_in_reserved_vram_fail_the_boot(monkeypatch: pytest.MonkeyPatch) -> None:
    """An allocator that reserves only the FB layout (the driver's old behaviour) puts the BAR2 tables in the top
    of the free VRAM - GSP-RM's reserved region: GSP-RM refuses the UPDATE_BAR_PDE and the boot fails there."""
    import nova_core.gsp.boot as boot_mod
    from nova_core.mm.layout import reservations

    def layout_only(vram: int, claims: Any, fixed: Any) -> list[tuple[int, int, str]]:
        return reservations(fixed)

    monkeypatch.setattr(boot_mod, "ownership_reservations", layout_only)
    gpu = SimGpu("ad102")
    with pytest.raises(BootFailed) as ei:
        boot_sim("ad102", synthetic=True, gpu=gpu)
    e = ei.value
    assert e.stage == "bar-pde" and "UPDATE_BAR_PDE" in str(e) and "NV_ERR_INVALID_ARGUMENT" in str(e)
    assert any("page tables the driver places in reserved or protected VRAM are refused" in x.message
               and "inside GSP-RM's reserved RM reserved" in x.message for x in gpu.log.errors())
    assert e.teardown == "clean"


def test_falcon_reset_without_a_flush_page_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A falcon reset with no sysmem flush page registered is refused with the reason (the driver's old boot
    registered none); the boot fails at the first reset, FWSEC-FRTS on the GSP falcon."""
    from nova_core.falcon import gsp_falcon
    from nova_core.fb.sysmem_flush import SysmemFlush
    from nova_core.gpu import identify

    gpu = SimGpu("tu102")
    with pytest.raises(SimViolation, match="ENGINE reset refused: no sysmem flush page is registered "
                                           r"\(NV_PFB_NISO_FLUSH_SYSMEM_ADDR hold 0\)"):
        gsp_falcon(gpu.device(), identify(gpu.bar0).chipset).reset()
    flush = SysmemFlush.register(gpu.bar0, gpu.sysmem, gpu.chipset)
    gpu.sysmem.free(flush.page)  # type: ignore[arg-type]  # registered, but the page is gone
    with pytest.raises(SimViolation, match="the sysmem flush page 0x[0-9a-f]+ .* is not mapped by the IOMMU"):
        gsp_falcon(gpu.device(), gpu.chipset).reset()

    monkeypatch.setattr(SysmemFlush, "register", classmethod(lambda cls, bar, dma, chip: cls(bar, dma, chip, None)))
    gpu = SimGpu("ga102")
    with pytest.raises(BootFailed) as ei:
        boot_sim("ga102", synthetic=True, gpu=gpu)
    assert ei.value.stage == "fwsec-frts" and "no sysmem flush page is registered" in str(ei.value)


def test_flush_page_registered_before_any_falcon_reset_and_released() -> None:
    """The boot programs NV_PFB_NISO_FLUSH_SYSMEM_ADDR (and _HI from GA100 on: HI first) before the first falcon
    reset, and writes 0 and frees the page at close (nova-core SysmemFlush::register/unregister)."""
    from nova_core.regs.pfb import NV_PFB_NISO_FLUSH_SYSMEM_ADDR, NV_PFB_NISO_FLUSH_SYSMEM_ADDR_HI

    for chip, hi in (("tu102", False), ("ga100", True)):
        gpu = SimGpu(chip)
        g = boot_sim(chip, synthetic=True, gpu=gpu)
        assert g.sysmem_flush is not None
        addr = g.sysmem_flush.bus_addr
        assert gpu.models["fb"].flush_page() == addr and gpu.sysmem.find(addr) is not None  # type: ignore
        stages = [s.name for s in g.stages]
        assert stages.index("sysmem-flush") < stages.index("fwsec-frts")
        writes_hi = gpu.bar0.peek(NV_PFB_NISO_FLUSH_SYSMEM_ADDR_HI.addr())
        assert writes_hi == (addr >> 40 if hi else 0)
        g.close()
        assert gpu.bar0.peek(NV_PFB_NISO_FLUSH_SYSMEM_ADDR.addr()) == 0 and gpu.sysmem.find(addr) is None
        assert gpu.sysmem.mappings() == []


@pytest.mark.parametrize("chip", ["gh100", "gb100", "gb202"])
def test_hopper_and_blackwell_flush_page_goes_in_the_hub_registers(chip: str, tmp_path: Path) -> None:
    """From Hopper on the page goes in the FB hub's PCIE flush registers (GH100 FBHUB, GB100 HSHUB0 and its egress
    pair, GB20x FBHUB0): HI (bits 51:32) then LO (bits 31:0) of every pair, in the sysmem-flush stage before the
    chain of trust; never the NISO registers; 0 again at close."""
    from nova_core.regs.pfb import NV_PFB_NISO_FLUSH_SYSMEM_ADDR, NV_PFB_NISO_FLUSH_SYSMEM_ADDR_HI

    gpu = SimGpu(chip)
    regs = gpu.facts.sysmem_flush
    assert "PCIE_FLUSH_SYSMEM_ADDR" in regs.name and len(regs.pairs) == (2 if chip == "gb100" else 1)
    trace = tmp_path / "t.jsonl"
    g = boot_sim(chip, synthetic=True, gpu=gpu, record=trace)
    assert g.sysmem_flush is not None
    addr = g.sysmem_flush.bus_addr
    stages = [s.name for s in g.stages]
    assert stages.index("sysmem-flush") < stages.index("fmc-load")
    for lo, hi in regs.pairs:
        assert hi is not None
        assert (gpu.bar0.peek(lo.addr()), gpu.bar0.peek(hi.addr())) == (addr & 0xFFFFFFFF, addr >> 32)
    assert gpu.models["fb"].flush_page() == addr  # type: ignore[attr-defined]
    g.close()
    _, entries = read_trace(trace)
    flush_regs = [r.addr() for pair in regs.pairs for r in reversed(pair) if r is not None]  # HI, LO, (HI, LO)
    writes = [e["off"] for e in entries if e.get("bar", 0) == 0 and e["op"] == "w32" and e["off"] in flush_regs]
    assert writes == flush_regs * 2  # registered, then written 0 at close, each pair HI first
    niso = {NV_PFB_NISO_FLUSH_SYSMEM_ADDR.addr(), NV_PFB_NISO_FLUSH_SYSMEM_ADDR_HI.addr()}
    assert not [e for e in entries if e.get("bar", 0) == 0 and e["op"] == "w32" and e["off"] in niso]
    assert all(gpu.bar0.peek(r) == 0 for r in flush_regs) and gpu.sysmem.mappings() == []


def test_hopper_refuses_the_niso_flush_registers_and_a_reset_without_the_hub_page() -> None:
    """GH100 has no NISO flush register (published ``hopper/gh100/dev_fb.h``): a write there is refused and registers
    nothing, so a GSP falcon reset is still refused; GB100's egress pair must name the same page as its primary."""
    from nova_core.falcon import gsp_falcon
    from nova_core.fb.sysmem_flush import SysmemFlush
    from nova_core.regs.pfb import NV_PFB_HSHUB_EG_PCIE_FLUSH_SYSMEM_ADDR_LO, NV_PFB_NISO_FLUSH_SYSMEM_ADDR

    gpu = SimGpu("gh100")
    with pytest.raises(SimViolation, match=r"NV_PFB_NISO_FLUSH_SYSMEM_ADDR \(0x100c10\): that register does not "
                                           r"exist on GH100 \(GH100's sysmem flush page goes in "
                                           r"NV_PFB_FBHUB_PCIE_FLUSH_SYSMEM_ADDR"):
        gpu.bar0.write32(NV_PFB_NISO_FLUSH_SYSMEM_ADDR.addr(), 0x1000000)
    with pytest.raises(SimViolation, match=r"ENGINE reset refused: no sysmem flush page is registered "
                                           r"\(NV_PFB_FBHUB_PCIE_FLUSH_SYSMEM_ADDR_LO/_HI hold 0\)"):
        gsp_falcon(gpu.device(), gpu.chipset).reset()
    SysmemFlush.register(gpu.bar0, gpu.sysmem, gpu.chipset)
    gsp_falcon(gpu.device(), gpu.chipset).reset()  # the hub's page registered: the reset goes ahead

    gb = SimGpu("gb100")
    flush = SysmemFlush.register(gb.bar0, gb.sysmem, gb.chipset)
    lo = (flush.bus_addr + 0x1000) & 0xFFFFFFFF  # the egress pair moved, the primary left
    gb.bar0.write32(NV_PFB_HSHUB_EG_PCIE_FLUSH_SYSMEM_ADDR_LO.addr(), lo)
    with pytest.raises(SimViolation, match=r"the sysmem flush page registers disagree: "
                                           r"NV_PFB_HSHUB_EG_PCIE_FLUSH_SYSMEM_ADDR_LO \(0x8706c0\) names "
                                           r"0x[0-9a-f]+1000, the primary pair 0x[0-9a-f]+000 "):
        gsp_falcon(gb.device(), gb.chipset).reset()


def test_turing_flush_page_must_fit_40_bits() -> None:
    """Turing has only NV_PFB_NISO_FLUSH_SYSMEM_ADDR (bits 39:8): a page at or above 1 TiB is refused before
    anything is written (nova-core write_sysmem_flush_page_gm107); _HI does not exist there (the sim refuses it)."""
    from nova_core.fb.sysmem_flush import SysmemFlushError, write_flush_page
    from nova_core.gpu.chips import Chipset
    from nova_core.regs.pfb import NV_PFB_NISO_FLUSH_SYSMEM_ADDR_HI

    gpu = SimGpu("tu117")
    with pytest.raises(SysmemFlushError, match="below 0x10000000000 .*holds bits 39:8 only"):
        write_flush_page(gpu.bar0, Chipset.TU117, 1 << 40)
    with pytest.raises(SimViolation, match="that register does not exist on TU117"):
        gpu.bar0.write32(NV_PFB_NISO_FLUSH_SYSMEM_ADDR_HI.addr(), 1)
    ga = SimGpu("ga102")
    write_flush_page(ga.bar0, Chipset.GA102, (3 << 40) + 0x1000)
    assert ga.models["fb"].flush_page() == (3 << 40) + 0x1000  # type: ignore[attr-defined]


def test_turing_flush_page_lies_below_40_bits_while_the_iommu_hands_out_1_tib() -> None:
    """The sim's IOMMU puts DMA memory at 1 TiB and above (so that DMATRFBASE1 and the _HI halves matter), which
    Turing's 40-bit NISO register cannot hold: the page is allocated below the registers' limit (OpenRM
    kmemsysInitFlushSysmemBuffer_GM107: 32-bit addressable, else with the DMA address size lowered to 40 bits),
    and the boot registers it."""
    for chip, bits in (("tu102", 40), ("ga102", 64)):
        gpu = SimGpu(chip)
        assert gpu.sysmem.alloc(4096, name="ordinary").bus_addr >= 1 << 40
        g = boot_sim(chip, synthetic=True, gpu=gpu)
        assert g.sysmem_flush is not None
        addr = g.sysmem_flush.bus_addr
        assert gpu.models["fb"].flush_page() == addr  # type: ignore[attr-defined]
        assert (1 << 32 <= addr < 1 << 40) if bits == 40 else addr >= 1 << 40
        g.close()


def test_gsp_rm_unload_releases_its_regions() -> None:
    gpu, g = _booted("ga100")
    fb = gpu.models["fb"]
    assert [r.name for r in fb.gsp_regions] == ["usable", "RM reserved", "WPR2", "top"]  # type: ignore[attr-defined]
    g.close()
    assert fb.gsp_regions == [] and rm(gpu).state in ("unloaded", "off")  # type: ignore[attr-defined]
