"""SHA-256 of files and bytes, streamed so a large clip never sits in memory."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str], *, on_chunk: Callable[[int], None] | None = None) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks; ``on_chunk`` hears each chunk's size."""
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as handle:
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        while read := handle.readinto(buffer):
            digest.update(view[:read])
            if on_chunk is not None:
                on_chunk(read)
    return digest.hexdigest()


class HashingWriter:
    """A write-only, non-seekable file object that hashes every byte it passes to disk.

    The clip writer muxes fragmented MP4 straight into it, so the seal's SHA-256 is known
    the moment the file closes, without reading the clip back.
    """

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        written = self._handle.write(data)
        self._digest.update(data)
        self.size += len(data)
        return written

    def flush(self) -> None:
        self._handle.flush()

    def sync(self) -> None:
        """Flush and fsync, so a power loss keeps every completed fragment."""
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def seekable(self) -> bool:
        return False

    def hexdigest(self) -> str:
        return self._digest.hexdigest()

    def close(self) -> None:
        self._handle.close()


def create_durably(path: Path) -> BinaryIO:
    """Create the file exclusively (never overwrite) and fsync its folder entry."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "xb")  # noqa: SIM115 - closed by the caller
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
    return handle
