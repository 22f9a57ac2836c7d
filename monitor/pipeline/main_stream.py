"""The recorded stream of a camera whose detection reads a detect substream (docs/substream.md).

Detection, alert snapshots and the live view read the substream; clips and originals come from
the main stream, matched by wall time. So the main stream keeps its own pre-roll (every packet,
whole GOPs, as a camera without a substream does) and is decoded only while a clip records, by
a full-quality decoder made for that clip.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.capture import CapturedFrame, PacketDecoder, PacketPreroll

if TYPE_CHECKING:
    from monitor.pipeline.camera import StreamInfo


@dataclass
class MainStream:
    """The main stream's pre-roll and, while a clip records, its decoder."""

    stream: StreamInfo
    preroll: PacketPreroll
    decoder: PacketDecoder | None = None


def replay(decoder: PacketDecoder, preroll: PacketPreroll, start: datetime) -> Iterator[CapturedFrame]:
    """The buffered frames from ``start`` on, decoded one at a time from the keyframe before
    it: a list of five seconds of decoded 1080p frames tripled the worker's peak memory."""
    for item in preroll.since(start):
        for frame in decoder.decode(item):
            if frame.wall_time >= start:
                yield frame
