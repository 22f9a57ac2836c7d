"""What capture hands to the rest of the pipeline: packets with their decoded frames.

Frames get the wall time of the packet that carried the same presentation timestamp, so
B-frame reordering does not shuffle times, and so that decoding buffered pre-roll packets
later with a ``PacketDecoder`` stamps exactly the frames the live decoder produced.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import av

YUV420P = "yuv420p"
_MAX_PENDING = 256


@dataclass(frozen=True)
class CapturedFrame:
    """A decoded frame, always yuv420p, with its UTC wall-clock time and stream position."""

    frame: av.VideoFrame
    wall_time: datetime
    index: int


@dataclass(frozen=True)
class CapturedPacket:
    """An encoded packet, its wall time, and the frames its decoding released (maybe none).

    ``decoded`` is False for packets the source left undecoded because it handed decoding
    to the pipeline's full-quality decoder (see ``VideoSource.hand_over_decoding``).
    """

    packet: av.Packet
    wall_time: datetime
    keyframe: bool
    frames: tuple[CapturedFrame, ...] = ()
    decoded: bool = True


def to_yuv420p(frame: av.VideoFrame) -> av.VideoFrame:
    """Detection reads the Y plane and the encoder wants yuv420p: convert only when needed."""
    if frame.format.name == YUV420P:
        return frame
    return frame.reformat(format=YUV420P)


class FrameStamper:
    """Gives each decoded frame the wall time of the packet with the same pts."""

    def __init__(self) -> None:
        self._pending: dict[int, datetime] = {}
        self.next_index = 0

    def note(self, packet: av.Packet, wall_time: datetime) -> None:
        if packet.pts is None:
            return
        if len(self._pending) >= _MAX_PENDING:
            del self._pending[next(iter(self._pending))]
        self._pending[packet.pts] = wall_time

    def stamp(
        self, frames: Iterable[av.VideoFrame], fallback: datetime
    ) -> tuple[CapturedFrame, ...]:
        stamped = []
        for frame in frames:
            wall = self._pending.pop(frame.pts, fallback) if frame.pts is not None else fallback
            stamped.append(CapturedFrame(to_yuv420p(frame), wall, self.next_index))
            self.next_index += 1
        return tuple(stamped)

    def reset(self) -> None:
        self._pending.clear()


class PacketDecoder:
    """A decoder of its own fed buffered and live packets, with its own pts -> wall time map.

    Each clip gets one (from ``VideoSource.new_decoder``), so every frame written as evidence
    comes from a full-quality decoder that saw the stream from a keyframe on, whatever
    shortcuts the source's own decoder takes for detection.
    """

    def __init__(self, decoder: av.VideoCodecContext) -> None:
        self._decoder = decoder
        self._stamper = FrameStamper()

    def decode(self, item: CapturedPacket) -> tuple[CapturedFrame, ...]:
        """The frames this packet releases (maybe none); a corrupt packet releases none."""
        if item.packet.size == 0:
            return ()
        self._stamper.note(item.packet, item.wall_time)
        return self._stamper.stamp(decode_or_skip(self._decoder, item.packet), item.wall_time)

    def drain(self, fallback: datetime) -> tuple[CapturedFrame, ...]:
        """Frames still held for reordering; the decoder takes no packets afterwards."""
        return self._stamper.stamp(decode_or_skip(self._decoder, None), fallback)


def decode_or_skip(decoder: av.VideoCodecContext, packet: av.Packet | None) -> list[av.VideoFrame]:
    """Decode one packet; a corrupt packet yields no frames instead of ending the clip."""
    try:
        return decoder.decode(packet)
    except av.error.FFmpegError:
        return []
