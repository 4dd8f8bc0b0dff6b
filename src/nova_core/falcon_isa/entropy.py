"""nova_core.falcon_isa.entropy: is a piece of falcon code stored encrypted?

Heavy-secure falcon code in NVIDIA's images (FWSEC, the booters) is stored encrypted: its bytes are as
random as bytes get, while falcon code in the clear is not. Measured here (Shannon entropy, bits per
byte): FWSEC's non-secure part 5.1 (TU117, TU106), the generic bootloader 2.2, FECS and GPCCS code of
linux-firmware 6.3 and 6.1; the secure part of every FWSEC at hand 7.99-8.00 (TU106, TU117, GA102,
AD102). :data:`CIPHERTEXT_BITS` sits between the two with room on both sides; below
:data:`CIPHERTEXT_MIN_BYTES` the measure says too little to decide.
"""

from __future__ import annotations

import numpy as np

CIPHERTEXT_BITS = 7.5
CIPHERTEXT_MIN_BYTES = 1024


def entropy(data: bytes | bytearray | memoryview) -> float:
    """Shannon entropy of ``data`` in bits per byte (0.0 for nothing)."""
    buf = np.frombuffer(bytes(data), dtype=np.uint8)
    if not buf.size:
        return 0.0
    counts = np.bincount(buf, minlength=256).astype(np.float64)
    p = counts[counts > 0] / buf.size
    return float(-(p * np.log2(p)).sum())


def looks_encrypted(data: bytes | bytearray | memoryview) -> bool:
    """At least :data:`CIPHERTEXT_MIN_BYTES` bytes at :data:`CIPHERTEXT_BITS` bits per byte or more."""
    return len(data) >= CIPHERTEXT_MIN_BYTES and entropy(data) >= CIPHERTEXT_BITS
