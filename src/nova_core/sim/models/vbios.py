"""nova_core.sim.models.vbios: what the simulated GPU knows about the FWSEC ucode in its own ROM.

The falcon model (running FWSEC on the GSP falcon) asks this model whether the IMEM/DMEM the driver
loaded are exactly the FWSEC of the ROM the PROM window serves, patched for the command the driver
asked for: :meth:`VbiosModel.check_load`. It answers from :mod:`nova_core.sim.vbios_oracle` (the sim's
own reading of the ROM, independent of the driver's :mod:`nova_core.vbios`) and the fuses: the fused
version of the ucode id (``NV_FUSE_OPT_FPF_*_UCODE<id>_VERSION``, highest set bit + 1) picks the
signature a v3 ucode must carry.

Refusals (logged in ``gpu.log``, component ``vbios``): the ROM has no FWSEC; the loaded IMEM or DMEM
differs from the expected bytes (the message names the first differing offset, the patched field it
falls in - ``init_cmd``, the command arguments, the signature - and both values); a size mismatch.

Attaching costs nothing: the ROM is read only when a check is first asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import RomError
from ...regs.fuse import FUSE_VERSION_BY_ENGINE
from ..vbios_oracle import OracleFwsec, OracleImage, expected_image, locate_fwsec

if TYPE_CHECKING:
    from ..gpu import SimGpu

NAME = "vbios"
ORDER = 10
_UNSET = object()


class VbiosModel:
    def __init__(self, gpu: SimGpu) -> None:
        self.gpu = gpu
        self._fwsec: object = _UNSET

    @property
    def fwsec(self) -> OracleFwsec | None:
        """FWSEC of the served ROM (``None`` when it has none or cannot be read; the reason is logged)."""
        if self._fwsec is _UNSET:
            try:
                self._fwsec = locate_fwsec(self.gpu.rom)
            except RomError as exc:
                self.gpu.log.error(NAME, f"cannot locate FWSEC in the served ROM: {exc}")
                self._fwsec = None
            else:
                if self._fwsec is None:
                    self.gpu.log.info(NAME, "the served ROM has no FWSEC_PROD ucode")
        return self._fwsec  # type: ignore[return-value]

    def fused_version(self) -> int:
        """The fused version of FWSEC's ucode id, as the fuse registers hold it (0 for a v2 ucode)."""
        fw = self.fwsec
        if fw is None or fw.ucode_id is None or fw.engine_id_mask is None or fw.ucode_id == 0:
            return 0
        reg = next((r for bit, r in FUSE_VERSION_BY_ENGINE.items() if fw.engine_id_mask & bit), None)
        if reg is None:
            return 0
        value = self.gpu.bar0.peek(reg.addr(i=fw.ucode_id - 1)) & 0xFFFF
        return value.bit_length()

    def expected(self, command: int, *, frts_offset: int | None = None, frts_size: int = 0x100000,
                 fuse_version: int | None = None) -> OracleImage | None:
        """The correctly patched FWSEC for ``command`` (``None`` without FWSEC)."""
        fw = self.fwsec
        if fw is None:
            return None
        fv = self.fused_version() if fuse_version is None else fuse_version
        return expected_image(fw, command, frts_offset=frts_offset, frts_size=frts_size, fuse_version=fv)

    def check_load(self, imem: bytes, dmem: bytes, *, command: int, frts_offset: int | None = None,
                   frts_size: int = 0x100000, fuse_version: int | None = None) -> bool:
        """Is (``imem``, ``dmem``) the FWSEC this GPU would accept for ``command``? Logs the first difference."""
        try:
            want = self.expected(command, frts_offset=frts_offset, frts_size=frts_size, fuse_version=fuse_version)
        except RomError as exc:
            self.gpu.log.error(NAME, f"FWSEC load refused: {exc}")
            return False
        if want is None:
            self.gpu.log.error(NAME, "FWSEC load refused: the ROM this GPU serves has no FWSEC_PROD ucode")
            return False
        for mem, got, exp in (("IMEM", imem, want.imem), ("DMEM", dmem, want.dmem)):
            if len(got) != len(exp):
                self.gpu.log.error(NAME, f"FWSEC load refused: {mem} holds {len(got):#x} bytes, the ROM's FWSEC "
                                         f"has {len(exp):#x}")
                return False
            if got != exp:
                at = next(i for i in range(len(exp)) if got[i] != exp[i])
                word = at & ~3
                where = want.region_of(word) if mem == "DMEM" else "code"
                self.gpu.log.error(NAME, f"FWSEC load refused: {mem} {word:#x} ({where}): expected "
                                         f"{exp[word:word + 4].hex()}, found {got[word:word + 4].hex()}")
                return False
        self.gpu.log.info(NAME, f"FWSEC load matches the ROM (command {command:#x}, signature "
                                f"{want.signature_index})")
        return True


def attach(gpu: SimGpu) -> VbiosModel:
    return VbiosModel(gpu)
