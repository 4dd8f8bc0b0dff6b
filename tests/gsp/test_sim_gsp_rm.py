"""The simulated GSP-RM as a strict peer: every refusal is logged with its reason and shown here, the
resource server checks handles and parents like RM, and the libos log rings hold real records."""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest
from gsp_helpers import SYSINFO, Booted, make

from nova_core.errors import NovaError, PollTimeout, SimViolation
from nova_core.gsp.cmdq import checksum
from nova_core.gsp.fw import (
    BarType,
    Event,
    Nop,
    RmAlloc,
    RmControl,
    RmFree,
    RpcFailure,
    SetRegistry,
    SetSystemInfo,
    SystemInfo,
    UnloadingGuestDriver,
    UpdateBarPde,
    device_alloc_params,
    root_alloc_params,
    subdevice_alloc_params,
)
from nova_core.hw.clock import MS
from nova_core.regs import falcon as F
from nova_core.regs.gsp import NV_PGSP_QUEUE_HEAD
from nova_core.sim import SimGpu

PAGE = 0x1000
C, D, S = 0xC1D00001, 0xDE1D0000, 0x5D1D0000


def _refused(b: Booted, text: str) -> bool:
    return any(text in e.message for e in b.gpu.log.errors())


def test_attach_is_cheap_and_idle() -> None:
    gpu = SimGpu("ad102")
    g = gpu.models["gsp_rm"]
    assert g.state == "off" and g._thread is None  # type: ignore[attr-defined]
    gpu.bar0.write32(NV_PGSP_QUEUE_HEAD.addr(i=0), 0)  # a doorbell before GSP-RM runs is just stored
    assert g.doorbells == 1 and gpu.log.errors() == []  # type: ignore[attr-defined]
    with pytest.raises(NovaError, match="no event"):
        g.emit("OS_ERROR_LOG")  # type: ignore[attr-defined]


def test_boots_from_the_mailboxes(gsp_boot: Callable[..., Booted]) -> None:
    def before(b: Booted) -> None:
        b.rpc.send(SetSystemInfo(SYSINFO))
        addr = b.libos.bus_addr
        F.NV_PFALCON_FALCON_MAILBOX0.write(b.dev.bar0, addr & 0xFFFFFFFF, base=F.FALCON.GSP)
        F.NV_PFALCON_FALCON_MAILBOX1.write(b.dev.bar0, addr >> 32, base=F.FALCON.GSP)
        b.gsp.boot("570.144")  # as the booter model will: the address from MAILBOX0/1

    b = gsp_boot("ga102", "570.144", boot=False, before_boot=before)
    b.rpc.wait_event(Event.INIT_DONE)
    assert b.gsp.state == "running" and b.gsp.registry == {}
    with pytest.raises(SimViolation, match="already running"):
        b.gsp.boot("570.144")


def test_boot_refusals(gsp_boot: Callable[..., Booted]) -> None:
    b = gsp_boot(boot=False)
    b.libos.page.write(3 * 0x20, bytes(0x20))  # drop the RMARGS entry
    b.gsp.boot("535.113.01", b.libos.bus_addr)
    with pytest.raises(PollTimeout, match="GSP_INIT_DONE"):
        b.rpc.wait_event(Event.INIT_DONE)
    assert b.gsp.state == "halted" and _refused(b, "has no RMARGS region (regions: LOGINIT, LOGINTR, LOGRM)")


@pytest.mark.parametrize("patch,text", [
    ((0x0C, 64), "msgCount 0x40, expected 0x3f"),
    ((0x14, 0), "without MSGQ_FLAGS_SWAP_RX"),
    ((0x08, 0x800), "msgSize 0x800"),
])
def test_bad_command_queue_header_halts_boot(gsp_boot: Callable[..., Booted], patch: tuple[int, int],
                                             text: str) -> None:
    b = gsp_boot(boot=False)
    struct.pack_into("<I", b.shm.cmdq, *patch)
    b.gsp.boot("535.113.01", b.libos.bus_addr)
    b.dev.clock.sleep(10 * MS)
    assert b.gsp.state == "halted" and _refused(b, text)


def test_pte_array_must_map_itself(gsp_boot: Callable[..., Booted]) -> None:
    b = gsp_boot(boot=False)
    struct.pack_into("<Q", b.shm.view, 0, b.shm.bus_addr + PAGE)
    b.gsp.boot("535.113.01", b.libos.bus_addr)
    b.dev.clock.sleep(10 * MS)
    assert _refused(b, "PTE[0]") and b.gsp.state == "halted"


def test_rpc_before_init_done_is_invalid_state(gsp_boot: Callable[..., Booted]) -> None:
    b = gsp_boot(init=False, before_boot=lambda b: b.rpc.send(SetRegistry()))
    with pytest.raises(RpcFailure, match="NOP.*NV_ERR_INVALID_STATE"):
        b.rpc.call(Nop())
    b.rpc.send(SetSystemInfo(SYSINFO))  # late, but GSP-RM was waiting for it
    b.rpc.wait_event(Event.INIT_DONE)
    assert b.rpc.call(Nop(b"ok")) == b"ok"


def test_system_info_checked(gsp_boot: Callable[..., Booted]) -> None:
    bad = SystemInfo(bar0_phys=0xF000_0000, bar1_phys=0, bar3_phys=0, pci_bdf=0, pci_config_mirror_base=0x89000)
    b = gsp_boot(init=False, before_boot=lambda b: b.rpc.send(SetSystemInfo(bad)))
    with pytest.raises(PollTimeout):
        b.rpc.wait_event(Event.INIT_DONE, timeout=100 * MS)
    with pytest.raises(RpcFailure, match="GSP_SET_SYSTEM_INFO .*NV_ERR_INVALID_ARGUMENT"):
        b.rpc.check_posted()
    assert _refused(b, "PCI config mirror 0x89000/0x1000, expected 0x88000/0x1000")


def test_malformed_registry_refused(booted: Booted) -> None:
    table = bytearray(booted.abi.registry({"Key": 5}))
    struct.pack_into("<I", table, 8, 0x4000)  # nameOffset past the table
    with pytest.raises(RpcFailure, match="SET_REGISTRY .*NV_ERR_INVALID_ARGUMENT"):
        booted.rpc.rpc("SET_REGISTRY", bytes(table))
    assert _refused(booted, "SET_REGISTRY: string at 0x4000 outside")


# -- bad command elements (written by a buggy driver) ----------------------------------------------


def _raw(b: Booted, payload: bytes = b"raw", *, patch: dict[int, int] | None = None, fix: bool = True,
         function: int = 0) -> None:
    """Write one command element with fields patched, ring the doorbell, let GSP-RM run."""
    cq = b.rpc.cmdq
    slot = cq.write_ptr
    cq.push(function, payload, rpc_sequence=0x77)
    base = b.shm.geometry.entry_off + slot * PAGE
    el = b.shm.cmdq[base:base + PAGE]
    for off, value in (patch or {}).items():
        struct.pack_into("<I", el, off, value)
    if patch and fix:
        struct.pack_into("<I", el, 0x20, 0)
        struct.pack_into("<I", el, 0x20, checksum(el))
    b.dev.bar0.write32(NV_PGSP_QUEUE_HEAD.addr(i=0), 0)
    b.dev.clock.sleep(1 * MS)


def _reply(b: Booted) -> int:
    m = b.rpc.msgq.receive()
    assert m is not None and m.sequence == 0  # GSP-RM does not echo the request's sequence (0x77)
    return m.result


@pytest.mark.parametrize("patch,fix,text", [
    ({0x50: 0xBAD}, False, "checksum mismatch: the element XORs to"),
    ({0x34: 0x12345678}, True, "rpc signature 0x12345678"),
    ({0x30: 0x02000000}, True, "rpc header_version 0x02000000"),
    ({0x38: 0x1000}, True, "rpc length 0x1000 does not fit the element of 1 page"),
])
def test_bad_command_elements(booted: Booted, patch: dict[int, int], fix: bool, text: str) -> None:
    _raw(booted, patch=patch, fix=fix)
    assert _refused(booted, text)
    if 0x34 not in patch:  # the RPC header is readable: answered NV_VGPU_MSG_RESULT_RPC_INVALID_MESSAGE_FORMAT
        assert _reply(booted) == 0xFF100002
    assert booted.rpc.call(Nop(b"after")) == b"after"


def test_command_sequence_gap(booted: Booted) -> None:
    booted.rpc.cmdq.seq += 2
    _raw(booted)
    assert _refused(booted, "sequence gap: expected seqNum 0x2, found 0x4") and _reply(booted) == 0xFF100002
    assert booted.rpc.call(Nop(b"after")) == b"after"


def test_elem_count_past_written_slots(booted: Booted) -> None:
    _raw(booted, patch={0x28: 9})
    assert _refused(booted, "elemCount 0x9 outside 1..1 (the written slots); resynchronised")
    assert booted.rpc.call(Nop(b"after")) == b"after"


def test_stray_continuation_record(booted: Booted) -> None:
    _raw(booted, function=booted.abi.function("CONTINUATION_RECORD"))
    assert _refused(booted, "CONTINUATION_RECORD at slot") and _reply(booted) == 0xFF100002
    assert booted.rpc.call(Nop(b"after")) == b"after"


def test_write_pointer_outside_ring(booted: Booted) -> None:
    struct.pack_into("<I", booted.shm.cmdq, 0x10, 70)
    booted.dev.bar0.write32(NV_PGSP_QUEUE_HEAD.addr(i=0), 0)
    booted.dev.clock.sleep(1 * MS)
    assert _refused(booted, "command queue writePtr 0x46 outside the ring of 0x3f")


def test_sequence_not_run_means_no_init_done(gsp_boot: Callable[..., Booted]) -> None:
    def before(b: Booted) -> None:
        b.rpc._handlers.clear()  # no CPU sequencer attached
        b.rpc.send(SetSystemInfo(SYSINFO))

    b = gsp_boot(init=False, before_boot=before)
    with pytest.raises(PollTimeout, match="GSP_INIT_DONE"):
        b.rpc.wait_event(Event.INIT_DONE)
    assert _refused(b, "the CPU did not run the boot sequence within 2000 ms: NV_PGSP_MAILBOX(2)")
    assert b.gsp.state == "halted" and [e.name for e in b.rpc.backlog()] == ["GSP_RUN_CPU_SEQUENCER"]


# -- the resource server -----------------------------------------------------------------------------


def _status(b: Booted, cmd: RmAlloc | RmFree | RmControl) -> str:
    try:
        b.rpc.call(cmd)  # type: ignore[misc]
    except RpcFailure as e:
        return b.abi.status[e.result][0]
    return "NV_OK"


def test_object_table(booted: Booted) -> None:
    b, abi = booted, booted.abi
    root = root_alloc_params(abi, C)
    dev = device_alloc_params(abi, h_client_share=C)
    sub = subdevice_alloc_params(abi)
    assert _status(b, RmAlloc(C, C, C + 1, 0, root)) == "NV_ERR_INVALID_ARGUMENT"  # hObject != hClient
    assert _status(b, RmAlloc(C, C, C, 0, root)) == "NV_OK"
    assert _status(b, RmAlloc(C, C, C, 0, root)) == "NV_ERR_INSERT_DUPLICATE_NAME"
    assert _status(b, RmAlloc(C + 5, C + 5, D, 0x80, dev)) == "NV_ERR_INVALID_CLIENT"
    assert _status(b, RmAlloc(C, C, 0, 0x80, dev)) == "NV_ERR_INVALID_OBJECT_NEW"
    assert _status(b, RmAlloc(C, 0x1234, D, 0x80, dev)) == "NV_ERR_INVALID_OBJECT_PARENT"
    assert _status(b, RmAlloc(C, C, S, 0x2080, sub)) == "NV_ERR_INVALID_OBJECT_PARENT"  # subdevice under client
    assert _status(b, RmAlloc(C, C, D, 0x80, dev[:8])) == "NV_ERR_INVALID_PARAM_STRUCT"
    assert _status(b, RmAlloc(C, C, D, 0x80, device_alloc_params(abi, device_id=1))) == "NV_ERR_INVALID_ARGUMENT"
    assert _status(b, RmAlloc(C, C, D, 0x80, dev)) == "NV_OK"
    assert _status(b, RmAlloc(C, C, D + 1, 0x80, dev)) == "NV_ERR_STATE_IN_USE"
    assert _status(b, RmAlloc(C, D, S, 0x2080, sub)) == "NV_OK"
    assert _status(b, RmAlloc(C, D, S + 1, 0x2080, sub)) == "NV_ERR_STATE_IN_USE"
    assert _status(b, RmAlloc(C, D, 0xCAFE, 0x1234, b"")) == "NV_ERR_INVALID_CLASS"
    assert _status(b, RmAlloc(C, D, 0xF1F00000, 0xC561, b"")) == "NV_OK"  # AMPERE_USERMODE_A on GA102
    # a GPFIFO channel needs its NV_CHANNEL_ALLOC_PARAMS (tests/engines covers them)
    assert _status(b, RmAlloc(C, D, 0xF1F00001, 0xC56F, b"")) == "NV_ERR_INVALID_PARAM_STRUCT"
    assert _status(b, RmControl(C, S, 0x20800110, b"")) == "NV_ERR_NOT_SUPPORTED"
    assert _status(b, RmControl(C, 0x999, 0, b"")) == "NV_ERR_INVALID_OBJECT_HANDLE"
    assert _status(b, RmFree(C, C, 0x999)) == "NV_ERR_INVALID_OBJECT_HANDLE"
    assert _status(b, RmFree(C, C, D)) == "NV_OK"  # frees the subdevice and the object under it too
    assert _status(b, RmControl(C, S, 0, b"")) == "NV_ERR_INVALID_OBJECT_HANDLE"
    assert b.gsp.objects is not None and b.gsp.objects.count() == 1
    internal = b.gsp.objects.clients
    assert _status(b, RmFree(0xC1E00004, 0xC1E00004, 0xC1E00004)) == "NV_ERR_INSUFFICIENT_PERMISSIONS"
    assert 0xC1E00004 in internal
    assert _status(b, RmFree(C, C, C)) == "NV_OK"
    assert _status(b, RmFree(C, C, C)) == "NV_ERR_INVALID_CLIENT"


def _pde(addr: int, aperture: int = 1) -> int:
    """An MMU v2 PDE (the sim test's own encoding: ADDRESS 32:8 = addr >> 12, APERTURE 2:1)."""
    return (addr >> 12 << 8) | aperture << 1


def test_update_bar_pde(booted: Booted, gsp_boot: Callable[..., Booted]) -> None:
    """GSP-RM merges the CPU's BAR2 entry into entry 0 of its own root (OpenRM kbusPatchBar2Pdb_GSPCLIENT) and
    checks it: BAR_2 only, the root level's shift, a PDE (not a PTE) of video memory, and every table under it in
    VRAM neither reserved nor protected (GSP-RM's static info). A zero entry takes it out."""
    gsp, vram = booted.gsp, booted.gpu.vram
    plan = gsp.plan
    assert plan is not None
    usable, reserved, protected = plan.regions[0], plan.regions[1], plan.regions[2]
    pd2 = usable.end - 0x10000
    vram.write(pd2, bytes(0x1000))
    booted.rpc.call(UpdateBarPde(BarType.BAR2, _pde(pd2), 47))
    assert gsp.bar_pde["BAR2"] == (_pde(pd2), 47) and vram.read64(plan.bar2_pdb) == _pde(pd2)
    refusals = [
        (UpdateBarPde(BarType.BAR1, _pde(pd2), 47), "NV_ERR_NOT_SUPPORTED", "barType BAR_1: GSP-RM's BAR1 root"),
        (UpdateBarPde(BarType.BAR2, _pde(pd2), 39), "NV_ERR_INVALID_ARGUMENT", "entryLevelShift 39, expected 47"),
        (UpdateBarPde(BarType.BAR2, _pde(pd2) | 1, 47), "NV_ERR_INVALID_ARGUMENT", "IS_PTE set"),
        (UpdateBarPde(BarType.BAR2, _pde(pd2, 2), 47), "NV_ERR_INVALID_ARGUMENT", "must be in video memory"),
        (UpdateBarPde(BarType.BAR2, _pde(reserved.base + 0x10000), 47), "NV_ERR_INVALID_ARGUMENT",
         f"the PD2 table at vid {reserved.base + 0x10000:#x} is not in the CPU's VRAM (inside GSP-RM's reserved"),
        (UpdateBarPde(BarType.BAR2, _pde(protected.base), 47), "NV_ERR_INVALID_ARGUMENT",
         f"the PD2 table at vid {protected.base:#x} is not in the CPU's VRAM (inside "),
    ]
    for cmd, status, why in refusals:
        with pytest.raises(RpcFailure, match=f"UPDATE_BAR_PDE .*{status}"):
            booted.rpc.call(cmd)
        assert _refused(booted, why), why
    # a table further down in reserved VRAM is refused too (the sim walks the CPU's tables)
    vram.write64(pd2, _pde(reserved.base + 0x20000))
    with pytest.raises(RpcFailure, match="NV_ERR_INVALID_ARGUMENT"):
        booted.rpc.call(UpdateBarPde(BarType.BAR2, _pde(pd2), 47))
    assert _refused(booted, "the PD1 table at vid")
    assert vram.read64(plan.bar2_pdb) == _pde(pd2)  # the refusals left the merged entry alone
    booted.rpc.call(UpdateBarPde(BarType.BAR2, 0, 47))  # taking it out is fine
    assert vram.read64(plan.bar2_pdb) == 0
    hopper = gsp_boot("gh100", "570.144")
    hp = hopper.gsp.plan
    assert hp is not None
    hopper.gpu.vram.write(hp.regions[0].base, bytes(0x1000))
    hopper.rpc.call(UpdateBarPde(BarType.BAR2, _pde(hp.regions[0].base), 56))  # MMU v3: the root covers VA bit 56


def test_unloading(booted: Booted) -> None:
    booted.rpc.call(UnloadingGuestDriver())
    booted.dev.clock.sleep(1 * MS)
    assert booted.gsp.state == "unloaded"
    assert F.NV_PFALCON_FALCON_MAILBOX0.read(booted.dev.bar0, base=F.FALCON.GSP) == 0x80000000
    with pytest.raises(PollTimeout):
        booted.rpc.call(Nop(), timeout=10 * MS)


# -- libos logs ------------------------------------------------------------------------------------------


def _decode(b: Booted, name: str) -> list[tuple[str, tuple[int, ...], int]]:
    """Walk a log ring backwards from put, as liblogdecode does (reference §6)."""
    buf = b.libos.logs[name].buf
    n = buf.size // 8 - 1
    put = buf.read_u64(0)
    formats = b.gsp.formats
    assert formats is not None
    out = []
    i = put
    while i > max(put - n, 0):
        ts = buf.read_u64(8 * (1 + (i - 1) % n))
        meta = buf.read_u64(8 * (1 + (i - 2) % n))
        fmt = formats.by_va[meta]
        args = tuple(buf.read_u64(8 * (1 + (i - 3 - k) % n)) for k in range(fmt.argc))[::-1]
        out.append((fmt.key, args, ts))
        i -= 2 + fmt.argc
    return out[::-1]


def test_log_records(booted: Booted) -> None:
    init = _decode(booted, "LOGINIT")
    assert [k for k, _, _ in init] == ["boot", "libos", "queues", "sysinfo", "registry", "sequencer", "init_done"]
    assert init[0][1] == (535, 113, 1, 0x172, booted.gpu.vram_mib)
    assert init[2][1] == (booted.shm.bus_addr, 129, 0x1000, 0x41000)
    assert init[1][1] == (4, booted.libos.rmargs.bus_addr)
    assert [t for _, _, t in init] == sorted(t for _, _, t in init)
    booted.rpc.call(RmAlloc(C, C, C, 0, root_alloc_params(booted.abi, C)))
    rm = _decode(booted, "LOGRM")
    assert rm[-1] == ("alloc", (C, C, C, 0, 0), rm[-1][2])
    base, section = booted.gsp.formats.section()  # type: ignore[union-attr]
    meta = booted.abi.parse("libosLogMetadata", section[:0x18])
    fmt_off = meta.format - base
    assert section[fmt_off:].split(b"\0")[0] == b"GSP-RM %u.%u.%02u booting on chip %#x, %u MiB FB\n"
    assert meta.argumentCount == 5


def test_hopper_wants_its_own_pci_config_mirror() -> None:
    b = make("gh100", "570.144", init=False,
             before_boot=lambda b: (b.rpc.send(SetSystemInfo(SYSINFO)), b.rpc.send(SetRegistry())))
    b.dev.clock.sleep(10 * MS)
    assert _refused(b, "PCI config mirror 0x88000/0x1000, expected 0x92000/0x1000")
