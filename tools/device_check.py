#!/usr/bin/env python3
"""tools/device_check.py: read-only facts from a real NVIDIA GPU beside its vendor driver.

Run on a machine whose GPU is bound to NVIDIA's driver (as root, for sysfs ``resource0``). It never writes a
register, the config space or the driver binding: BAR0 is mapped ``PROT_READ`` through
:func:`nova_core.hw.sysfs.open_sysfs_device`, and only registers without read side effects are read
(identification, timer, scratch/status registers, interrupt *status* and *enable* registers, the PROM window -
never a data port such as IMEMD/DMEMD/EMEMD, whose reads advance the port).

Writes into OUT (default ``$OUT`` or ``./device-check``):

- ``report.json``: the PCI function, ``nova probe``, ``nova vbios`` (parsed), the registers read (by name and
  address, with the value, twice where a change between reads is informative) and the firmware files the vendor
  driver installed (path, size, sha256, ELF sections, ``.fwversion``);
- ``vbios.rom``: the ROM read through the PROM window, for local analysis only (never committed);
- ``probe.jsonl``: the record/replay trace of the probe.

Usage: ``PYTHONPATH=src python3 tools/device_check.py [OUT]``.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

#: (name, BAR0 offset, how many times to read it) - each without read side effects. Sources: OpenRM 570.144
#: published headers (nv_ref.h, dev_timer.h, dev_fb.h, dev_gc6_island.h, dev_vm.h, dev_fsp_pri.h,
#: dev_falcon_v4.h, dev_xtl_ep_pri.h) and nouveau; names as our regs/ declares them where it does.
REGISTERS: list[tuple[str, int, int]] = [
    ("NV_PMC_BOOT_0", 0x000000, 1),
    ("NV_PMC_BOOT_42", 0x000A00, 1),
    ("NV_PTIMER_TIME_0", 0x009400, 3),
    ("NV_PTIMER_TIME_1", 0x009410, 1),
    ("NV_PFB_PRI_MMU_WPR2_ADDR_LO", 0x1FA824, 1),
    ("NV_PFB_PRI_MMU_WPR2_ADDR_HI", 0x1FA828, 1),
    ("NV_PFB_PRI_MMU_LOCAL_MEMORY_RANGE", 0x100CE0, 1),
    ("NV_PFB_NISO_FLUSH_SYSMEM_ADDR", 0x100C10, 1),
    ("NV_PFB_NISO_FLUSH_SYSMEM_ADDR_HI", 0x100C40, 1),
    ("NV_PFB_FBHUB_PCIE_FLUSH_SYSMEM_ADDR_LO (GH100, dev_fb.h)", 0x100A34, 1),
    ("NV_PFB_FBHUB_PCIE_FLUSH_SYSMEM_ADDR_HI (GH100, dev_fb.h)", 0x100A38, 1),
    ("NV_PGC6_AON_SECURE_SCRATCH_GROUP_05_0", 0x118234, 1),
    ("NV_PGC6_AON_SECURE_SCRATCH_GROUP_05_PRIV_LEVEL_MASK", 0x118128, 1),
    ("NV_PGC6_AON_SECURE_SCRATCH_GROUP_42 (usable FB MiB)", 0x1183A4, 1),
    ("NV_PGC6_BSI_SECURE_SCRATCH_14", 0x1180F8, 1),
    ("NV_PBUS_SW_SCRATCH_0E (FRTS err)", 0x001438, 1),
    ("NV_PBUS_BAR0_WINDOW (pre-Hopper)", 0x001700, 1),
    ("NV_XAL_EP_BAR0_WINDOW (Hopper+, pri_nv_xal_ep.h)", 0x10FD40, 1),
    ("NV_PDISP_VGA_WORKSPACE_BASE", 0x625F04, 1),
    ("NV_FUSE_STATUS_OPT_DISPLAY (gm107..tu102 address)", 0x021C04, 1),
    ("NV_FUSE_STATUS_OPT_DISPLAY (ga100+ address)", 0x820C04, 1),
    # GSP falcon (0x110000) - identification and status only
    ("GSP FALCON_MAILBOX0", 0x110040, 1),
    ("GSP FALCON_MAILBOX1", 0x110044, 1),
    ("GSP FALCON_OS", 0x110080, 1),
    ("GSP FALCON_HWCFG2", 0x1100F4, 1),
    ("GSP FALCON_CPUCTL", 0x110100, 1),
    ("GSP FALCON_HWCFG1", 0x11012C, 1),
    ("GSP FALCON_IRQSTAT", 0x110008, 1),
    ("GSP FALCON_IRQMASK", 0x110018, 1),
    ("GSP RISCV_CPUCTL", 0x111388, 1),
    ("GSP RISCV_BCR_CTRL", 0x111668, 1),
    ("GSP QUEUE_HEAD0", 0x110C00, 1),
    ("GSP QUEUE_TAIL0", 0x110C04, 1),
    # SEC2 falcon (0x840000)
    ("SEC2 FALCON_HWCFG2", 0x8400F4, 1),
    ("SEC2 FALCON_CPUCTL", 0x840100, 1),
    ("SEC2 FALCON_MAILBOX0", 0x840040, 1),
    # FSP falcon (0x8F2000 on GH100+)
    ("FSP FALCON_HWCFG2", 0x8F20F4, 1),
    ("FSP FALCON_CPUCTL", 0x8F2100, 1),
    ("FSP FALCON_MAILBOX0", 0x8F2040, 1),
    ("FSP FALCON_MAILBOX1", 0x8F2044, 1),
    ("FSP RISCV_CPUCTL", 0x8F3388, 1),
    *[(f"NV_PFSP_QUEUE_HEAD({i})", 0x8F2C00 + 8 * i, 1) for i in range(2)],
    *[(f"NV_PFSP_QUEUE_TAIL({i})", 0x8F2C04 + 8 * i, 1) for i in range(2)],
    *[(f"NV_PFSP_MSGQ_HEAD({i})", 0x8F2C80 + 8 * i, 1) for i in range(2)],
    *[(f"NV_PFSP_MSGQ_TAIL({i})", 0x8F2C84 + 8 * i, 1) for i in range(2)],
    *[(f"NV_PFSP_FALCON_COMMON_SCRATCH_GROUP_2({i})", 0x8F0320 + 4 * i, 1) for i in range(4)],
    # VFN interrupt tree (base 0xB80000): TOP and LEAF status/enable, read-only views
    *[(f"VFN PRIV_CPU_INTR_TOP({i})", 0xB81600 + 4 * i, 1) for i in range(2)],
    *[(f"VFN PRIV_CPU_INTR_TOP_EN_SET({i})", 0xB81608 + 4 * i, 1) for i in range(2)],
    *[(f"VFN PRIV_CPU_INTR_LEAF({i})", 0xB81000 + 4 * i, 1) for i in range(16)],
    *[(f"VFN PRIV_CPU_INTR_LEAF_EN_SET({i})", 0xB81200 + 4 * i, 1) for i in range(16)],
    ("VFN TIME_0 (usermode 0x30080)", 0x030080, 1),
    ("VFN TIME_1 (usermode 0x30084)", 0x030084, 1),
]


def run(cmd: list[str]) -> dict[str, Any]:
    t = time.monotonic()
    try:
        p = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return {"cmd": cmd, "timeout": True}
    out: dict[str, Any] = {"cmd": " ".join(cmd), "rc": p.returncode, "seconds": round(time.monotonic() - t, 3),
                           "stderr": p.stderr[-4000:]}
    try:
        out["json"] = json.loads(p.stdout)
    except ValueError:
        out["stdout"] = p.stdout[-8000:]
    return out


def elf_sections(path: Path) -> dict[str, Any]:
    """Section names and sizes of an ELF64/ELF32 (our own small reader: no dependency on the package)."""
    with path.open("rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF":
            return {"elf": False, "head": head[:16].hex()}
        cls64 = head[4] == 2
        if cls64:
            shoff, = struct.unpack_from("<Q", head, 0x28)
            shentsize, shnum, shstrndx = struct.unpack_from("<HHH", head, 0x3A)
        else:
            shoff, = struct.unpack_from("<I", head, 0x20)
            shentsize, shnum, shstrndx = struct.unpack_from("<HHH", head, 0x2E)
        f.seek(shoff)
        table = f.read(shentsize * shnum)
        secs = []
        for i in range(shnum):
            e = table[i * shentsize:(i + 1) * shentsize]
            if cls64:
                name, typ, _flags, _addr, off, size = struct.unpack_from("<IIQQQQ", e)
            else:
                name, typ, _flags, _addr, off, size = struct.unpack_from("<IIIIII", e)
            secs.append((name, typ, off, size))
        _n, _t, stroff, strsize = secs[shstrndx]
        f.seek(stroff)
        strtab = f.read(strsize)
        result = []
        version = None
        for name, typ, off, size in secs:
            nm = strtab[name:strtab.index(b"\0", name)].decode("ascii", "replace")
            result.append({"name": nm, "type": typ, "offset": off, "size": size})
            if nm == ".fwversion" and size < 64:
                f.seek(off)
                version = f.read(size).rstrip(b"\0").decode("ascii", "replace")
        return {"elf": True, "class": 64 if cls64 else 32, "machine": struct.unpack_from("<H", head, 0x12)[0],
                "sections": result, "fwversion": version}


def firmware_files() -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    roots = [Path("/lib/firmware/nvidia"), Path("/usr/lib/firmware/nvidia"), Path("/usr/local/nvidia")]
    for root in roots:
        if not root.is_dir():
            continue
        for p in root.rglob("*.bin"):
            if not p.is_file() or not ("gsp" in p.name or "fmc" in p.name or "booter" in p.name):
                continue
            real = str(p.resolve())
            if real in seen:
                seen[real]["paths"].append(str(p))
                continue
            h = hashlib.sha256()
            with p.open("rb") as f:
                for chunk in iter(lambda f=f: f.read(1 << 20), b""):
                    h.update(chunk)
            info: dict[str, Any] = {"paths": [str(p)], "size": p.stat().st_size, "sha256": h.hexdigest()}
            try:
                info["elf"] = elf_sections(p)
            except Exception as e:  # a report tool: record and go on
                info["elf_error"] = repr(e)
            seen[real] = info
    return list(seen.values())


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("OUT", "device-check"))
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "uname": " ".join(os.uname())}
    nova = [sys.executable, "-c", "from nova_core.cli.main import run; run()"]
    report["list"] = run([*nova, "list", "--json"])
    gpus = report["list"].get("json") or []
    if not gpus:
        print("no NVIDIA GPU found", file=sys.stderr)
        (out / "report.json").write_text(json.dumps(report, indent=1))
        return 1
    bdf = gpus[0]["bdf"]
    report["bdf"] = bdf
    report["smi"] = run(["nvidia-smi", "-q"])
    report["probe"] = run([*nova, "probe", "--device", bdf, "--json", "--record", str(out / "probe.jsonl")])
    report["pci"] = run([*nova, "pci", bdf, "--json"])
    report["vbios"] = run([*nova, "vbios", "--device", bdf, "--json", "--verbose"])

    from nova_core.hw.sysfs import open_sysfs_device
    from nova_core.vbios.source import PromSource

    regs: list[dict[str, Any]] = []
    try:
        dev = open_sysfs_device(bdf)
    except Exception as e:  # e.g. mmap refused (CONFIG_IO_STRICT_DEVMEM with the driver owning BAR0)
        report["bar0_error"] = repr(e)
        dev = None
    try:
        if dev is None:
            raise RuntimeError("BAR0 not mapped")
        bar = dev.bar0
        for name, off, times in REGISTERS:
            vals = []
            for _ in range(times):
                try:
                    vals.append(f"{bar.read32(off):#010x}")
                except Exception as e:
                    vals.append(f"error: {e}")
            regs.append({"name": name, "addr": f"{off:#08x}", "values": vals})
        report["registers"] = regs
        try:
            t0 = time.monotonic()
            src = PromSource(bar, bdf)
            size = src.size
            rom = src.read(0, size)
            (out / "vbios.rom").write_bytes(rom)
            report["prom"] = {"bytes": len(rom), "end_reason": src.end_reason,
                              "sha256": hashlib.sha256(rom).hexdigest(), "seconds": round(time.monotonic() - t0, 3)}
        except Exception as e:
            report["prom"] = {"error": repr(e), "trace": traceback.format_exc()[-2000:]}
    except RuntimeError:
        pass
    finally:
        if dev is not None:
            dev.close()
    report["firmware"] = firmware_files()
    for fw in report["firmware"][:6]:
        report.setdefault("nova_fw", []).append(run([*nova, "fw", fw["paths"][0], "--json"]))
    (out / "report.json").write_text(json.dumps(report, indent=1))
    for r in regs:
        print(f"{r['addr']}  {' '.join(r['values']):35s}  {r['name']}")
    print(json.dumps({k: report.get(k) for k in ("bdf", "prom", "bar0_error")}, indent=1))
    print("probe:", json.dumps(report["probe"].get("json"))[:600])
    print("firmware:", [(f["paths"][0], f["size"], (f.get("elf") or {}).get("fwversion")) for f in report["firmware"]])
    return 0


if __name__ == "__main__":
    sys.exit(main())
