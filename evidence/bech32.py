"""Bech32 (BIP 173), the encoding of age's X25519 keys (``age1...``, ``AGE-SECRET-KEY-1...``).

Only what turns a 32-byte secret into the identity line ``age`` reads, and back: SLIP-39
shares carry raw bytes, age tools take the encoded line.
"""

from __future__ import annotations

from evidence.errors import EvidenceError

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _polymod(values: list[int]) -> int:
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for bit, generator in enumerate(_GENERATOR):
            if (top >> bit) & 1:
                check ^= generator
    return check


def _expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _regroup(data: bytes | list[int], source: int, target: int, *, pad: bool) -> list[int]:
    acc = bits = 0
    out: list[int] = []
    for value in data:
        acc = (acc << source) | value
        bits += source
        while bits >= target:
            bits -= target
            out.append((acc >> bits) & ((1 << target) - 1))
    if pad and bits:
        out.append((acc << (target - bits)) & ((1 << target) - 1))
    elif not pad and (bits >= source or (acc << (target - bits)) & ((1 << target) - 1)):
        raise EvidenceError("bech32: padding bits are not zero")
    return out


def encode(hrp: str, data: bytes) -> str:
    """Lower-case bech32 of ``data`` under the human-readable part ``hrp``."""
    hrp = hrp.lower()
    words = _regroup(data, 8, 5, pad=True)
    check = _polymod(_expand(hrp) + words + [0] * 6) ^ 1
    words += [(check >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(CHARSET[w] for w in words)


def decode(text: str, hrp: str) -> bytes:
    """The bytes of a bech32 string whose human-readable part is ``hrp`` (any one case)."""
    if text.lower() != text and text.upper() != text:
        raise EvidenceError("bech32: mixed case")
    text = text.lower()
    split = text.rfind("1")
    if split < 1 or text[:split] != hrp.lower() or len(text) - split < 7:
        raise EvidenceError(f"bech32: not a {hrp} string")
    try:
        words = [CHARSET.index(c) for c in text[split + 1:]]
    except ValueError:
        raise EvidenceError("bech32: character outside the alphabet") from None
    if _polymod(_expand(text[:split]) + words) != 1:
        raise EvidenceError("bech32: checksum mismatch (a mistyped character?)")
    return bytes(_regroup(words[:-6], 5, 8, pad=False))
