"""nova_core.sim.crypto: the signature checks the simulated FSP makes, and the keys the synthetic FMC is signed with.

The GSP-FMC files of linux-firmware (570.144) carry an image, its SHA-384 hash, a public key and a signature.
What the bytes are, as the real files show them (every one of them verifies this way; the tests check it):

- **GH100**: a 384-byte big-endian RSA-3072 modulus (public exponent 65537) and a 384-byte RSASSA-PSS signature
  (PKCS #1 v2.2 / RFC 8017 section 8.1: EMSA-PSS with SHA-384, MGF1-SHA-384, a 48-byte salt) of the image;
- **GB10x, GB20x**: a 97-byte uncompressed NIST P-384 point ``0x04 || X || Y`` and a 96-byte ECDSA signature
  ``r || s`` (FIPS 186-4, big-endian) of the image's SHA-384.

A real FSP verifies against a key whose hash is burnt into the chip; the simulated FSP trusts the key of the
FMC file it was told to expect (its "fuses"), checks that the COT message carries that key, and verifies the
signature with it. Synthetic FMC files are signed here with keys derived deterministically from a label
(:func:`rsa_keypair`, :func:`ecdsa_keypair`: sim choices, never NVIDIA's), so the same checks run on machines
without the real files. Pure Python integers: an RSA-3072 verification costs well under a millisecond, a P-384
ECDSA verification about 30 ms; key generation is cached per label.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

# -- RSASSA-PSS (SHA-384, MGF1-SHA-384) ---------------------------------------------------------------

RSA_E = 65537
PSS_HASH_LEN = 48
PSS_SALT_LEN = 48


def _mgf1(seed: bytes, length: int) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < length:
        out += hashlib.sha384(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return bytes(out[:length])


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def pss_verify(modulus: bytes, signature: bytes, message_hash: bytes, *, salt_len: int = PSS_SALT_LEN) -> str | None:
    """``None`` when ``signature`` is a valid RSASSA-PSS signature of the message whose SHA-384 is ``message_hash``
    under the big-endian ``modulus`` (e = 65537); otherwise the reason it is not (RFC 8017 EMSA-PSS-VERIFY)."""
    n = int.from_bytes(modulus, "big")
    k = len(modulus)
    if n < 3 or n.bit_length() <= 8 * (k - 1):
        return f"the {k}-byte public key is not a {8 * k}-bit modulus"
    if len(signature) != k:
        return f"the signature is {len(signature)} bytes, the modulus {k}"
    s = int.from_bytes(signature, "big")
    if s >= n:
        return "the signature is not smaller than the modulus"
    em_bits = n.bit_length() - 1
    em_len = -(-em_bits // 8)
    em = pow(s, RSA_E, n).to_bytes(k, "big")[k - em_len:]
    if em[-1] != 0xBC:
        return f"EMSA-PSS trailer {em[-1]:#04x}, expected 0xbc"
    masked, h = em[:em_len - PSS_HASH_LEN - 1], em[em_len - PSS_HASH_LEN - 1:-1]
    db = bytearray(_xor(masked, _mgf1(h, len(masked))))
    db[0] &= 0xFF >> (8 * em_len - em_bits)
    ps_len = em_len - PSS_HASH_LEN - salt_len - 2
    if any(db[:ps_len]) or db[ps_len] != 1:
        return "EMSA-PSS padding is not zeros followed by 0x01 (wrong key, or not a PSS signature)"
    salt = bytes(db[ps_len + 1:])
    if hashlib.sha384(bytes(8) + message_hash + salt).digest() != h:
        return "the EMSA-PSS hash does not match the message hash"
    return None


def pss_sign(n: int, d: int, message_hash: bytes, salt: bytes) -> bytes:
    """The RSASSA-PSS signature (SHA-384, MGF1-SHA-384) of ``message_hash`` with the private key ``(n, d)``."""
    k = -(-n.bit_length() // 8)
    em_bits = n.bit_length() - 1
    em_len = -(-em_bits // 8)
    h = hashlib.sha384(bytes(8) + message_hash + salt).digest()
    db = bytes(em_len - len(salt) - PSS_HASH_LEN - 2) + b"\x01" + salt
    masked = bytearray(_xor(db, _mgf1(h, len(db))))
    masked[0] &= 0xFF >> (8 * em_len - em_bits)
    em = bytes(masked) + h + b"\xbc"
    return pow(int.from_bytes(em, "big"), d, n).to_bytes(k, "big")


def _det_bits(label: str, nbits: int, counter: int) -> int:
    return int.from_bytes(hashlib.shake_256(f"{label}/{counter}".encode()).digest(nbits // 8), "big")


_SMALL_PRIMES = tuple(p for p in range(3, 2000) if all(p % q for q in range(2, int(p ** 0.5) + 1)))


def _probably_prime(n: int, label: str) -> bool:
    if any(n % p == 0 for p in _SMALL_PRIMES):
        return n in _SMALL_PRIMES
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2
        r += 1
    for i in range(24):  # bounded: 24 Miller-Rabin rounds with deterministic bases
        a = 2 + _det_bits(f"{label}/mr/{n % 1000003}", 64, i) % (n - 3)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(label: str, nbits: int) -> int:
    for counter in range(100_000):  # bounded; a 1536-bit prime turns up within a few thousand candidates
        cand = _det_bits(label, nbits, counter) | (3 << (nbits - 2)) | 1
        if cand % RSA_E != 1 and _probably_prime(cand, label):
            return cand
    raise RuntimeError(f"no {nbits}-bit prime for {label!r}")  # pragma: no cover - practically unreachable


@dataclass(frozen=True)
class RsaKey:
    n: int
    d: int

    @property
    def modulus(self) -> bytes:
        return self.n.to_bytes(384, "big")


@functools.lru_cache(maxsize=8)
def rsa_keypair(label: str) -> RsaKey:
    """A deterministic RSA-3072 key for ``label`` (a sim choice for synthetic firmware; never NVIDIA's key)."""
    p = _prime(f"nova-sim rsa {label} p", 1536)
    q = _prime(f"nova-sim rsa {label} q", 1536)
    n = p * q
    return RsaKey(n, pow(RSA_E, -1, (p - 1) * (q - 1)))


# -- ECDSA P-384 ----------------------------------------------------------------------------------------

P384_P = 2 ** 384 - 2 ** 128 - 2 ** 96 + 2 ** 32 - 1
P384_A = P384_P - 3
P384_B = 0xB3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875AC656398D8A2ED19D2A85C8EDD3EC2AEF
P384_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973
P384_G = (0xAA87CA22BE8B05378EB1C71EF320AD746E1D3B628BA79B9859F741E082542A385502F25DBF55296C3A545E3872760AB7,
          0x3617DE4A96262C6F5D9E98BF9292DC29F8F41DBD289A147CE9DA3113B5F0B8C00A60B1CE1D7E819D7A431D7C90EA0E5F)

_Point = tuple[int, int] | None


def _add(p1: _Point, p2: _Point) -> _Point:
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2:
        if (y1 + y2) % P384_P == 0:
            return None
        lam = (3 * x1 * x1 + P384_A) * pow(2 * y1, -1, P384_P) % P384_P
    else:
        lam = (y2 - y1) * pow(x2 - x1, -1, P384_P) % P384_P
    x3 = (lam * lam - x1 - x2) % P384_P
    return x3, (lam * (x1 - x3) - y1) % P384_P


def _mul(k: int, point: _Point) -> _Point:
    out: _Point = None
    while k:  # bounded by k's 384 bits
        if k & 1:
            out = _add(out, point)
        point = _add(point, point)
        k >>= 1
    return out


def _on_curve(x: int, y: int) -> bool:
    return 0 <= x < P384_P and 0 <= y < P384_P and (y * y - (x * x * x + P384_A * x + P384_B)) % P384_P == 0


def ecdsa_verify(public_key: bytes, signature: bytes, message_hash: bytes) -> str | None:
    """``None`` when ``signature`` (``r || s``) is a valid P-384 ECDSA signature of ``message_hash`` (SHA-384)
    under the uncompressed point ``public_key``; otherwise the reason it is not (FIPS 186-4 section 6.4.2)."""
    if len(public_key) != 97 or public_key[0] != 0x04:
        return f"the public key is not an uncompressed P-384 point (97 bytes, 0x04 first): {len(public_key)} bytes"
    x, y = int.from_bytes(public_key[1:49], "big"), int.from_bytes(public_key[49:], "big")
    if not _on_curve(x, y):
        return "the public key is not a point of P-384"
    if len(signature) != 96:
        return f"the signature is {len(signature)} bytes, expected 96 (r || s)"
    r, s = int.from_bytes(signature[:48], "big"), int.from_bytes(signature[48:], "big")
    if not (0 < r < P384_N and 0 < s < P384_N):
        return "r or s is outside [1, n-1]"
    e = int.from_bytes(message_hash, "big")
    w = pow(s, -1, P384_N)
    pt = _add(_mul(e * w % P384_N, P384_G), _mul(r * w % P384_N, (x, y)))
    if pt is None or pt[0] % P384_N != r:
        return "the ECDSA signature does not verify under the public key"
    return None


@dataclass(frozen=True)
class EcKey:
    d: int

    @property
    def public_key(self) -> bytes:
        pt = _mul(self.d, P384_G)
        assert pt is not None
        return b"\x04" + pt[0].to_bytes(48, "big") + pt[1].to_bytes(48, "big")


@functools.lru_cache(maxsize=8)
def ecdsa_keypair(label: str) -> EcKey:
    """A deterministic P-384 key for ``label`` (a sim choice for synthetic firmware; never NVIDIA's key)."""
    return EcKey(1 + _det_bits(f"nova-sim ecdsa {label}", 512, 0) % (P384_N - 1))


def ecdsa_sign(key: EcKey, message_hash: bytes) -> bytes:
    """``r || s`` over ``message_hash`` with a nonce derived from the key and the hash (deterministic)."""
    e = int.from_bytes(message_hash, "big")
    for counter in range(64):  # bounded: a nonce giving r = 0 or s = 0 is astronomically rare
        k = 1 + int.from_bytes(hashlib.shake_256(key.d.to_bytes(48, "big") + message_hash
                                                 + counter.to_bytes(4, "big")).digest(64), "big") % (P384_N - 1)
        pt = _mul(k, P384_G)
        assert pt is not None
        r = pt[0] % P384_N
        s = pow(k, -1, P384_N) * (e + r * key.d) % P384_N
        if r and s:
            return r.to_bytes(48, "big") + s.to_bytes(48, "big")
    raise RuntimeError("no ECDSA nonce")  # pragma: no cover


def verify_fmc_signature(public_key: bytes, signature: bytes, image_hash: bytes) -> str | None:
    """Verify an FMC signature by its key's shape: a 384-byte RSA modulus (PSS) or a 97-byte P-384 point."""
    if len(public_key) == 384:
        return pss_verify(public_key, signature, image_hash)
    if len(public_key) == 97:
        return ecdsa_verify(public_key, signature, image_hash)
    return f"a {len(public_key)}-byte public key is neither RSA-3072 (384) nor P-384 (97)"
