"""Where a sealed clip's bytes are read from for a bundle or a download: the local file, or,
once only the object store holds it, the stored version its ``stored`` custody entry names,
streamed. Either way the bytes are hashed as they pass and refused unless they match the seal.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from evidence.actions import Action
from evidence.entry import CustodyRecord
from evidence.errors import EvidenceError, IntegrityError
from evidence.hashing import CHUNK
from evidence.store import EvidenceStore
from evidence.verify_clips import ObjectReader


@dataclass(frozen=True)
class ClipSource:
    """A sealed clip's bytes, streamed by ``chunks``; ``label`` says where they come from."""

    label: str
    suffix: str
    chunks: Callable[[], Iterator[bytes]]


def clip_source(ev: EvidenceStore, seal: CustodyRecord, objects: ObjectReader | None = None) -> ClipSource:
    """The local copy when it is there, else the stored version the custody log names."""
    return _source(ev, seal.clip_id, str(seal.details.get("path", "")), objects, part=None)


def original_source(ev: EvidenceStore, clip_id: str, original: dict[str, Any],
                    objects: ObjectReader | None = None) -> ClipSource:
    """A clip's native original as sealed (ciphertext when encrypted): the local copy when it is
    there, else the stored version the clip's ``stored`` entry names for it."""
    return _source(ev, clip_id, str(original.get("path", "")), objects, part="original")


def _source(ev: EvidenceStore, clip_id: str | None, sealed_path: str, objects: ObjectReader | None,
            *, part: str | None) -> ClipSource:
    suffix = PurePosixPath(sealed_path).suffix
    try:
        path = stored_file(ev, clip_id, sealed_path)
    except FileNotFoundError as missing:
        stored = _stored(ev, clip_id, part)
        if stored is None:
            raise EvidenceError(str(missing)) from None
        key, version = stored
        where = f"the object store's copy {key} (version {version})"
        if objects is None:
            raise EvidenceError(f"clip {clip_id}: {sealed_path} is only in the object store ({key}, version "
                                f"{version}); export it with the store's credentials (storage.objects)") from None
        return ClipSource(where, suffix, lambda: _read_object(objects, clip_id, key, version))
    return ClipSource(str(path), suffix, lambda: _read_file(path))


def stored_file(ev: EvidenceStore, clip_id: str | None, sealed_path: str) -> Path:
    """A sealed file under the storage folder; a path that escapes it is refused, and one that is
    gone raises ``FileNotFoundError`` (an ``EvidenceError`` to callers that want nothing else)."""
    relative = PurePosixPath(sealed_path)
    path = (ev.root / relative).resolve()
    if relative.is_absolute() or ".." in relative.parts or not path.is_relative_to(ev.root.resolve()):
        raise EvidenceError(f"clip {clip_id}: sealed path {str(relative)!r} escapes the storage folder")
    if not path.is_file():
        raise FileMissing(f"clip {clip_id}: file {relative} is missing (deleted or moved?)")
    return path


class FileMissing(EvidenceError, FileNotFoundError):
    """A sealed file is not in the storage folder."""


def copy_verified(source: ClipSource, seal: CustodyRecord, write: Callable[[bytes], object]) -> int:
    """Hand every chunk to ``write`` while hashing; raise ``IntegrityError`` unless the bytes are
    the sealed ones. The caller must discard what it wrote when this raises. Returns the size."""
    digest, size = hashlib.sha256(), 0
    for chunk in source.chunks():
        digest.update(chunk)
        write(chunk)
        size += len(chunk)
    if digest.hexdigest() != seal.object_sha256 or size != seal.details.get("size"):
        raise IntegrityError(
            f"clip {seal.clip_id}: {source.label} hashes to {digest.hexdigest()} ({size} bytes) but was sealed "
            f"as {seal.object_sha256} ({seal.details.get('size')} bytes); refusing to export")
    return size


class HashedReader(io.RawIOBase):
    """A source's bytes as a readable file (for a decryptor that pulls), hashed as they are read;
    ``check`` drains what was left unread and refuses bytes that are not the sealed ones."""

    def __init__(self, source: ClipSource) -> None:
        super().__init__()
        self._label = source.label
        self._chunks = source.chunks()
        self._pending = b""
        self._digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._digest.update(chunk)
            self.size += len(chunk)
            self._pending = chunk
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def check(self, clip_id: str | None, *, sha256: object, size: object, what: str) -> None:
        """Raise ``IntegrityError`` unless every byte of the source hashes to ``sha256`` (and is
        ``size`` bytes long, when the seal gives a size)."""
        for _chunk in iter(lambda: self.read(CHUNK), b""):
            pass
        found = self._digest.hexdigest()
        if found != sha256 or (size is not None and self.size != size):
            raise IntegrityError(f"clip {clip_id}: {what}, {self._label}, hashes to {found} ({self.size} bytes) "
                                 f"but was sealed as {sha256} ({size} bytes); it is not the sealed file")


def _stored(ev: EvidenceStore, clip_id: str | None, part: str | None) -> tuple[str, str] | None:
    """The (key, version id) of the clip's confirmed upload (or of its ``part``, the original),
    if the log has one."""
    for entry in ev.entries(clip_id):
        if entry.action == Action.STORED:
            details = entry.details if part is None else entry.details.get(part)
            if not isinstance(details, dict):
                continue
            key, version = details.get("key"), details.get("version_id")
            if isinstance(key, str) and isinstance(version, str):
                return key, version
    return None


def _read_file(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def _read_object(objects: ObjectReader, clip_id: str | None, key: str, version: str) -> Iterator[bytes]:
    try:
        yield from objects(key, version)
    except OSError as exc:
        raise EvidenceError(f"clip {clip_id}: local copy gone and the object store's copy {key} "
                            f"(version {version}) cannot be read: {exc}") from exc
