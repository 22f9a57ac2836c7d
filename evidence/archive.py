"""Open an export bundle as hostile input: no extraction, strict names, stored members only.

Only ``ZIP_STORED`` members are accepted and their declared sizes must add up to no more than
the archive itself, so neither compression bombs nor overlapping-member bombs can inflate
what is read; every read is capped again by what was actually returned.
"""

from __future__ import annotations

import hashlib
import zipfile
import zlib
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from evidence.bundle_format import MAX_MEMBERS, MEMBER, limit_for
from evidence.canonical import parse_canonical
from evidence.errors import BundleFormatError
from evidence.hashing import CHUNK

ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
              NotImplementedError, RuntimeError, zlib.error)


class SafeArchive:
    """A validated bundle whose members can be read (bounded) or hashed (streamed)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise BundleFormatError(f"{self.path}: no such bundle file")
        try:
            self._zip = zipfile.ZipFile(self.path)
        except ZIP_ERRORS as exc:
            raise BundleFormatError(f"{self.path}: not a readable zip archive ({exc})") from exc
        try:
            self._infos = _validated(self._zip, self.path.stat().st_size)
        except BundleFormatError:
            self._zip.close()
            raise

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._zip.close()

    @property
    def names(self) -> list[str]:
        return list(self._infos)

    def read(self, name: str) -> bytes:
        """The whole member, refusing more than its kind may hold."""
        info = self._info(name)
        limit = limit_for(name)
        try:
            with self._zip.open(info) as handle:
                data = handle.read(limit + 1)
        except ZIP_ERRORS as exc:
            raise BundleFormatError(f"{self.path}: member {name} is damaged ({exc})") from exc
        if len(data) > limit:
            raise BundleFormatError(f"{self.path}: member {name} is larger than {limit} bytes")
        return data

    def read_json(self, name: str) -> Any:
        return parse_json(self.read(name), f"{self.path}: {name}")

    def sha256(self, name: str) -> tuple[str, int]:
        """Stream a member through SHA-256; the zip's CRC check runs at its end."""
        info = self._info(name)
        digest, size = hashlib.sha256(), 0
        try:
            with self._zip.open(info) as handle:
                while chunk := handle.read(CHUNK):
                    size += len(chunk)
                    if size > info.file_size:
                        raise BundleFormatError(f"{self.path}: member {name} is longer than it declares")
                    digest.update(chunk)
        except ZIP_ERRORS as exc:
            raise BundleFormatError(f"{self.path}: member {name} is damaged ({exc})") from exc
        return digest.hexdigest(), size

    def _info(self, name: str) -> zipfile.ZipInfo:
        try:
            return self._infos[name]
        except KeyError:
            raise BundleFormatError(f"{self.path}: member {name} is missing") from None


def _validated(archive: zipfile.ZipFile, archive_size: int) -> dict[str, zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise BundleFormatError(f"bundle has {len(infos)} members, more than {MAX_MEMBERS}")
    found: dict[str, zipfile.ZipInfo] = {}
    declared = 0
    for info in infos:
        name = info.filename
        if not MEMBER.match(name):
            raise BundleFormatError(f"bundle member {name!r} is not an allowed name (path traversal or unknown file)")
        if name in found:
            raise BundleFormatError(f"bundle member {name} appears twice")
        if info.flag_bits & 0x1:
            raise BundleFormatError(f"bundle member {name} is encrypted")
        if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
            raise BundleFormatError(f"bundle member {name} is compressed; bundles store members uncompressed")
        if info.file_size > limit_for(name):
            raise BundleFormatError(f"bundle member {name} declares {info.file_size} bytes, "
                                    f"more than {limit_for(name)}")
        declared += info.file_size
        found[name] = info
    if declared > archive_size:
        raise BundleFormatError(f"bundle members declare {declared} bytes in a {archive_size}-byte archive "
                                "(overlapping members)")
    return found


def parse_json(data: bytes, where: str) -> Any:
    """Strict JSON: UTF-8, no duplicate keys, no NaN or Infinity, bounded nesting."""
    try:
        return parse_canonical(data.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BundleFormatError(f"{where}: not valid JSON ({exc})") from exc


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")
