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

from monitor.capture.errors import SourceUnavailable

YUV420P = "yuv420p"
MAX_BAD_PACKETS = 100  # consecutive rejected packets before a stream counts as broken
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


class RejectedPackets:
    """Decodes through a count of packets rejected in a row: a corrupt packet yields no frames,
    but a stream whose every packet is rejected is broken (``SourceUnavailable``)."""

    def __init__(self, source: str) -> None:
        self._source = source
        self._count = 0

    def decode(self, decoder: av.VideoCodecContext, packet: av.Packet | None) -> list[av.VideoFrame]:
        try:
            frames = decoder.decode(packet)
        except av.error.FFmpegError as exc:
            self._count += 1
            if self._count >= MAX_BAD_PACKETS:
                raise SourceUnavailable(
                    self._source, f"the decoder rejected {self._count} packets in a row ({exc.strerror})"
                ) from exc
            return []
        self._count = 0
        return frames


class PacketDecoder:
    """A decoder of its own fed buffered and live packets, with its own pts -> wall time map.

    Each clip gets one (from ``VideoSource.new_decoder``), so every frame written as evidence
    comes from a full-quality decoder that saw the stream from a keyframe on, whatever
    shortcuts the source's own decoder takes for detection.
    """

    def __init__(self, decoder: av.VideoCodecContext, *, source: str) -> None:
        self._decoder = decoder
        self._rejected = RejectedPackets(source)
        self._stamper = FrameStamper()

    def decode(self, item: CapturedPacket) -> tuple[CapturedFrame, ...]:
        """The frames this packet releases (maybe none); a corrupt packet releases none.

        While it feeds detection the source does not decode, so this decoder is the one to
        notice a stream gone bad: ``SourceUnavailable`` after ``MAX_BAD_PACKETS`` rejected in a
        row, as the source would raise, so the worker seals the clip and reconnects.
        """
        if item.packet.size == 0:
            return ()
        self._stamper.note(item.packet, item.wall_time)
        return self._stamper.stamp(self._rejected.decode(self._decoder, item.packet), item.wall_time)

    def drain(self, fallback: datetime) -> tuple[CapturedFrame, ...]:
        """Frames still held for reordering; the decoder takes no packets afterwards."""
        try:
            frames = self._decoder.decode(None)
        except av.error.FFmpegError:
            return ()
        return self._stamper.stamp(frames, fallback)
