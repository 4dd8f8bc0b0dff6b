"""nova_core.vbios.coverage: which byte ranges of a ROM the parsed structures claim.

Like envytools' ``envy_bios_block``: every structure the parser decodes claims its bytes with a label;
what no structure claims is reported as unclaimed (x86 code, the EFI driver, data nobody decodes
yet, or a table the parser missed). Claims may overlap (a header inside its image).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Claim:
    start: int
    end: int  #: exclusive
    label: str

    @property
    def size(self) -> int:
        return self.end - self.start

    def as_json(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "label": self.label}


class Coverage:
    """Claimed ranges of a ROM, and the gaps between them within a span."""

    def __init__(self) -> None:
        self.claims: list[Claim] = []

    def claim(self, start: int, size: int, label: str) -> None:
        if size > 0:
            self.claims.append(Claim(start, start + size, label))

    def merged(self) -> list[tuple[int, int]]:
        """The union of all claims as sorted, disjoint ``(start, end)`` ranges."""
        out: list[tuple[int, int]] = []
        for c in sorted(self.claims, key=lambda c: (c.start, c.end)):
            if out and c.start <= out[-1][1]:
                if c.end > out[-1][1]:
                    out[-1] = (out[-1][0], c.end)
            else:
                out.append((c.start, c.end))
        return out

    def unclaimed(self, start: int, end: int) -> list[tuple[int, int]]:
        """Gaps of ``[start, end)`` that no claim covers."""
        gaps: list[tuple[int, int]] = []
        pos = start
        for a, b in self.merged():
            if b <= pos:
                continue
            if a >= end:
                break
            if a > pos:
                gaps.append((pos, a))
            pos = max(pos, b)
        if pos < end:
            gaps.append((pos, end))
        return gaps

    def summary(self, start: int, end: int) -> dict[str, Any]:
        gaps = self.unclaimed(start, end)
        unclaimed = sum(b - a for a, b in gaps)
        return {"span": [start, end], "claimed_bytes": (end - start) - unclaimed, "unclaimed_bytes": unclaimed,
                "unclaimed_regions": len(gaps), "claims": len(self.claims)}
