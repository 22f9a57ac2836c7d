"""Build hostile variants of a real export bundle."""

from __future__ import annotations

import hashlib
import json
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evidence.canonical import canonical_json

Members = dict[str, bytes]
Changer = Callable[[Members], None]


def members(path: Path) -> Members:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write(path: Path, items: Members | list[tuple[str, bytes]], *, compression: int = zipfile.ZIP_STORED) -> Path:
    pairs = items.items() if isinstance(items, dict) else items
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in pairs:
            archive.writestr(name, data)
    return path


def rewrite(source: Path, target: Path, change: Callable[[Members], None]) -> Path:
    """Copy the bundle member by member, letting ``change`` edit the members first."""
    items = members(source)
    change(items)
    return write(target, items)


def edit_manifest(items: Members, change: Callable[[dict], None], *, sign_with: Ed25519PrivateKey | None) -> None:
    """Change the manifest; re-sign it and SHA256SUMS only when given a key (as a key holder could)."""
    manifest = json.loads(items["manifest.json"])
    change(manifest)
    items["manifest.json"] = canonical_json(manifest)
    if sign_with is not None:
        items["manifest.sig"] = sign_with.sign(items["manifest.json"])
        resign_sums(items, sign_with)


def resign_sums(items: Members, key: Ed25519PrivateKey) -> None:
    """Rebuild SHA256SUMS over the members as they now are (clip first) and sign it."""
    names = [n for n in items if not n.endswith(".sig") and n not in ("SHA256SUMS", "VERIFY.md")]
    clips = sorted(n for n in names if n.startswith("clip/"))
    lines = [f"{hashlib.sha256(items[n]).hexdigest()}  {n}" for n in clips + sorted(set(names) - set(clips))]
    items["SHA256SUMS"] = ("\n".join(lines) + "\n").encode()
    items["SHA256SUMS.sig"] = key.sign(items["SHA256SUMS"])


def flip_byte(data: bytes, at: int) -> bytes:
    changed = bytearray(data)
    changed[at] ^= 0x01
    return bytes(changed)


def patch_declared_size(path: Path, name: str, size: int) -> None:
    """Make the central directory claim ``size`` bytes for ``name`` (a lying header)."""
    data = bytearray(path.read_bytes())
    start = 0
    while (start := data.find(b"PK\x01\x02", start)) >= 0:
        name_length = struct.unpack_from("<H", data, start + 28)[0]
        if data[start + 46:start + 46 + name_length] == name.encode():
            struct.pack_into("<II", data, start + 20, size, size)
            path.write_bytes(bytes(data))
            return
        start += 4
    raise AssertionError(f"{name} not in the central directory")
