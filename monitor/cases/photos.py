"""A case photograph: one frame of a sealed clip, decoded from the clip file itself.

The clip file holds only masked pixels (privacy masking runs before encoding), so a frame taken
from it can never show more than the clip does. Nothing here reads a live or unmasked source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

import av
import cv2
import numpy as np

JPEG_QUALITY = 90


class PhotoError(ValueError):
    """The clip has no frame at that moment, or cannot be decoded."""


@dataclass(frozen=True)
class Frame:
    jpeg: bytes
    offset_seconds: float  # of the frame actually taken, from the clip's first frame
    width: int
    height: int


def frame_at(clip: BinaryIO, offset_seconds: float, *, name: str) -> Frame:
    """The last frame shown at ``offset_seconds`` (the first one if the offset precedes it) of the
    clip's bytes; ``name`` says which clip in errors."""
    if not offset_seconds >= 0:
        raise PhotoError(f"offset must be zero or more seconds, got {offset_seconds}")
    chosen: tuple[float, np.ndarray] | None = None
    try:
        with av.open(clip, "r") as container:
            stream = container.streams.video[0]
            first: float | None = None
            for frame in container.decode(stream):
                if frame.pts is None or frame.time_base is None:
                    continue
                moment = float(frame.pts * frame.time_base)
                first = moment if first is None else first
                if chosen is not None and moment - first > offset_seconds:
                    break
                chosen = (moment - first, frame.to_ndarray(format="bgr24"))
    except (av.FFmpegError, OSError) as exc:
        raise PhotoError(f"{name}: cannot be decoded ({exc})") from exc
    if chosen is None:
        raise PhotoError(f"{name}: holds no frame")
    at, image = chosen
    if offset_seconds - at > 1.0:
        raise PhotoError(f"{name}: the clip ends {at:.2f} s in, before {offset_seconds:.2f} s")
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise PhotoError(f"{name}: the frame could not be encoded as JPEG")
    return Frame(bytes(data), round(at, 3), image.shape[1], image.shape[0])
