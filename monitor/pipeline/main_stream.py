"""The recorded stream of a camera whose detection reads a detect substream (docs/substream.md).

Detection, alert snapshots and the live view read the substream; clips and originals come from
the main stream, matched by wall time. So the main stream keeps its own pre-roll (every packet,
whole GOPs, as a camera without a substream does) and is decoded only while a clip records, by
a full-quality decoder made for that clip.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.capture import CapturedFrame, CapturedPacket, PacketDecoder, PacketPreroll

if TYPE_CHECKING:
    from monitor.pipeline.camera import StreamInfo


@dataclass
class MainDecodes:
    """The main stream's packets and decodes while detection reads the substream, so an
    operator sees what recording costs. The gate counts only the stream detection reads: the
    main stream's decodes while detection falls back to it are the gate's, never counted here."""

    packets: int = 0
    decoded: int = 0


@dataclass
class MainStream:
    """The main stream's pre-roll and, while a clip records, its decoder."""

    stream: StreamInfo
    preroll: PacketPreroll
    counts: MainDecodes
    decoder: PacketDecoder | None = None

    def push(self, packet: CapturedPacket) -> None:
        """Every main-stream packet goes into the pre-roll, decoded or not."""
        self.counts.packets += 1
        self.preroll.push(packet)

    def decode(self, packet: CapturedPacket) -> tuple[CapturedFrame, ...]:
        assert self.decoder is not None
        self.counts.decoded += 1
        return self.decoder.decode(packet)

    def replay(self, start: datetime) -> Iterator[CapturedFrame]:
        """A clip's pre-roll from the keyframe before ``start``, each packet counted as decoded."""
        assert self.decoder is not None
        return replay(self.decoder, self._counted(self.preroll.since(start)), start)

    def _counted(self, packets: Iterable[CapturedPacket]) -> Iterator[CapturedPacket]:
        for packet in packets:
            self.counts.decoded += 1
            yield packet


def replay(decoder: PacketDecoder, packets: Iterable[CapturedPacket], start: datetime) -> Iterator[CapturedFrame]:
    """The frames from ``start`` on of pre-roll ``packets`` (from a keyframe), decoded one at a
    time: a list of five seconds of decoded 1080p frames tripled the worker's peak memory."""
    for item in packets:
        for frame in decoder.decode(item):
            if frame.wall_time >= start:
                yield frame
