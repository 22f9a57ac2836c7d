"""Recovering a clip left by a crash: keep every complete fragment, drop the torn tail.

A killed writer leaves a fragmented MP4 whose last box may be cut short, or a ``moof``
whose ``mdat`` never arrived. Players stumble on such a tail, so it is trimmed back to the
end of the last complete fragment (the count of bytes removed is reported for the custody
record) before the file is decoded to prove that something plays.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import av

from evidence.hashing import sha256_file

_HEADER = struct.Struct(">I4s")
_LARGE = struct.Struct(">Q")


@dataclass(frozen=True)
class RecoveredClip:
    """What survived: playable frames, their span in seconds, and the trimmed tail size."""

    path: Path
    sha256: str
    size: int
    frame_count: int
    duration: float
    width: int
    height: int
    trimmed_bytes: int


def recover_clip(path: Path) -> RecoveredClip | None:
    """Trim and decode a crash leftover; None when not one frame plays."""
    path = Path(path)
    trimmed = trim_torn_tail(path)
    decoded = _decode_all(path)
    if decoded is None:
        return None
    frame_count, duration, width, height = decoded
    return RecoveredClip(
        path=path,
        sha256=sha256_file(path),
        size=path.stat().st_size,
        frame_count=frame_count,
        duration=duration,
        width=width,
        height=height,
        trimmed_bytes=trimmed,
    )


def complete_length(path: Path) -> int:
    """Bytes up to the end of the last complete top-level box that is not a bare ``moof``."""
    size = path.stat().st_size
    good = 0
    with open(path, "rb") as handle:
        offset = 0
        while offset + _HEADER.size <= size:
            handle.seek(offset)
            length, kind = _HEADER.unpack(handle.read(_HEADER.size))
            if length == 1:
                if offset + 16 > size:
                    break
                (length,) = _LARGE.unpack(handle.read(_LARGE.size))
            if length < _HEADER.size or offset + length > size:
                break
            offset += length
            if kind != b"moof":  # a fragment is complete only once its mdat is
                good = offset
    return good


def trim_torn_tail(path: Path) -> int:
    """Cut an MP4 back to its last complete box; returns the bytes removed.

    Anything that does not start with an ``ftyp`` box is left untouched.
    """
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(_HEADER.size)
    if len(head) < _HEADER.size or _HEADER.unpack(head)[1] != b"ftyp":
        return 0
    keep = complete_length(path)
    if keep == 0 or keep == size:
        return 0
    with open(path, "r+b") as handle:
        handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())
    return size - keep


def _decode_all(path: Path) -> tuple[int, float, int, int] | None:
    """Frame count, span in seconds (first to last frame plus one frame), width, height."""
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError):
        return None
    with container:
        if not container.streams.video:
            return None
        stream = container.streams.video[0]
        count, first, last, size = 0, None, None, (0, 0)
        try:
            for frame in container.decode(stream):
                count += 1
                first = frame.time if first is None else first
                last = frame.time
                size = (frame.width, frame.height)
        except av.error.FFmpegError:
            pass  # keep what decoded before the damage
    if count == 0 or first is None or last is None:
        return None
    rate = float(stream.average_rate or stream.guessed_rate or 0) or None
    span = last - first + (1.0 / rate if rate else 0.0)
    return count, span, size[0], size[1]
