"""One camera's video source: packets and their decoded frames, with wall times.

Opening decodes the first frame before returning, so a wrong URL, a garbage file or an
undecodable stream fails at once with ``SourceUnavailable`` instead of later in the loop,
and width and height are known even when a fast RTSP probe did not report them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from fractions import Fraction
from types import TracebackType
from typing import Self, cast

import av
import av.container

from monitor.capture.errors import SourceDisconnected, SourceEnded, SourceError, SourceUnavailable
from monitor.capture.frames import CapturedPacket, FrameStamper, RejectedPackets
from monitor.capture.opening import open_container, plan_for, read_failure
from monitor.capture.timeline import Timeline

DEFAULT_FPS = 25.0
MAX_FPS = 240.0
PRIME_PACKETS = 600  # packets read at open while waiting for the first decodable frame


class VideoSource:
    """A file, RTSP/HTTP stream or device, iterated as ``CapturedPacket`` items.

    ``realtime`` paces file sources at their frame rate with wall times from the moment they
    were opened; otherwise (analyze mode) files run as fast as possible with wall time
    ``start + pts``, ``start`` defaulting to now.
    Live sources are always stamped on arrival. Iteration ends by raising: ``SourceEnded``
    for a non-looping file, ``SourceDisconnected`` or ``SourceStalled`` for a live stream.

    ``skip_loop_filter`` decodes without H.264/HEVC deblocking, about a third cheaper. Motion
    detection reads an area-averaged, blurred thumbnail of the luma plane, where deblocking
    makes no difference; frames that are recorded must come from ``new_decoder``, which
    always deblocks (the pipeline does this), because skipped deblocking also drifts the
    reference frames until the next keyframe.

    While a clip records, its full-quality decoder already decodes every packet, so the
    pipeline takes over: ``hand_over_decoding`` frees this source's decoder and yields packets
    undecoded (``decoded=False``); ``take_back_decoding`` resumes with a fresh decoder at the
    next keyframe, the first packet a new decoder can start from. One decoder instead of two
    saves a recording worker a decode per frame (and about 5 MB at 1080p).
    """

    def __init__(
        self,
        spec: str,
        *,
        loop: bool = False,
        realtime: bool = True,
        start: datetime | None = None,
        stall_timeout: float = 5.0,
        skip_loop_filter: bool = False,
    ) -> None:
        if stall_timeout <= 0:
            raise ValueError(f"stall_timeout must be positive, got {stall_timeout}")
        if start is not None and start.tzinfo is None:
            raise ValueError("start must be timezone-aware (UTC offset given)")
        self.spec = spec
        self.plan = plan_for(spec, stall_timeout)
        if loop and self.plan.live:  # a config mistake the camera's status must show, not a crash
            raise SourceUnavailable(
                spec, "loop applies to file sources only; remove it for streams"
            )
        self.loop = loop
        self.realtime = realtime
        self.start = start
        self.stall_timeout = stall_timeout
        self.skip_loop_filter = skip_loop_filter
        self._container: av.container.InputContainer | None = None
        self._stream: av.VideoStream | None = None
        self._decoder: av.VideoCodecContext | None = None
        self._decoding = True  # False while the pipeline's decoder has taken over
        self._take_back = False  # resume decoding at the next keyframe
        self._timeline: Timeline | None = None
        self._stamper = FrameStamper()
        self._primed: list[CapturedPacket] = []
        self._reader: Iterator[CapturedPacket] = iter(())
        self._rejected = RejectedPackets(spec)
        self.width = 0
        self.height = 0
        self.fps = DEFAULT_FPS
        self.codec_name = ""

    # -- lifecycle -----------------------------------------------------------------------
    def open(self) -> Self:
        """Open and decode the first frame; raises ``SourceUnavailable`` on any failure."""
        self._open_container()
        try:
            self._prime()
        except SourceError:
            self.close()
            raise
        return self

    def close(self) -> None:
        self._decoder = None
        if self._container is not None:
            self._container.close()
            self._container = None

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _open_container(self) -> None:
        container = open_container(self.spec, self.plan, self.stall_timeout)
        if not container.streams.video:
            container.close()
            raise SourceUnavailable(self.spec, "has no video stream")
        self._container = container
        self._stream = container.streams.video[0]
        if self.realtime or self.plan.live:
            # A camera needs its frame rate, not the decoder's top speed: one thread decodes
            # 1080p at over ten times 15 fps, and spares the threads' wake-ups on every frame
            # (about 5% of a real-time worker's decoding CPU).
            self._stream.codec_context.thread_count = 1
        self.codec_name = self._stream.codec_context.name
        self._decoder = self.detection_decoder() if self._decoding else None
        self.fps = _fps_of(self._stream)
        self._reader = self._packets()
        if not self.plan.live and self._timeline is None:
            anchor = datetime.now(UTC) if self.realtime or self.start is None else self.start
            time_base = self._stream.time_base or Fraction(1, av.time_base)
            self._timeline = Timeline(
                anchor, time_base=time_base, fps=self.fps, realtime=self.realtime
            )

    def _prime(self) -> None:
        """Read until the first frame decodes; keep what was read for the iterator."""
        for _ in range(PRIME_PACKETS):
            item = next(self._reader, None)
            if item is None:
                break
            self._primed.append(item)
            if item.frames:
                self.width = item.frames[0].frame.width
                self.height = item.frames[0].frame.height
                return
        raise SourceUnavailable(self.spec, "no decodable video frame")

    # -- iteration -----------------------------------------------------------------------
    def __iter__(self) -> VideoSource:
        return self

    def __next__(self) -> CapturedPacket:
        """The next packet; an iterator object so that a loop may stop and another resume."""
        if self._container is None:
            raise RuntimeError("open the source (or use it as a context manager) before iterating")
        if self._primed:
            return self._primed.pop(0)
        while (item := next(self._reader, None)) is None:
            self._restart_or_end()
        return item

    def _restart_or_end(self) -> None:
        if self.plan.live:
            raise SourceDisconnected(self.spec, "the stream ended")
        if not self.loop:
            raise SourceEnded(self.spec, f"the file ended after {self._stamper.next_index} frames")
        if self._stamper.next_index == 0:
            raise SourceUnavailable(self.spec, "the file holds no decodable frame to loop")
        assert self._timeline is not None
        self.close()
        self._open_container()
        self._timeline.next_pass()
        self._stamper.reset()

    def _packets(self) -> Iterator[CapturedPacket]:
        """One pass over the open container, the decoder drained at its end."""
        assert self._container is not None and self._stream is not None
        demux = self._container.demux(self._stream)
        wall = datetime.now(UTC)
        while True:
            try:
                packet = next(demux, None)
            except Exception as exc:
                yield from self._drain(av.Packet(), wall)
                raise read_failure(
                    self.spec, exc, live=self.plan.live, stall_timeout=self.stall_timeout
                ) from exc
            if packet is None:
                return
            if packet.size == 0:
                yield from self._drain(packet, wall)
                continue
            wall = self._wall_time(packet)
            if self._take_back and packet.is_keyframe:
                self._take_back, self._decoding = False, True
                self._stamper.reset()
                self._decoder = self.detection_decoder()
            if self._decoder is None:
                yield CapturedPacket(packet, wall, packet.is_keyframe, decoded=False)
                continue
            self._stamper.note(packet, wall)
            frames = self._decode(packet)
            yield CapturedPacket(
                packet, wall, packet.is_keyframe, self._stamper.stamp(frames, wall)
            )

    def _drain(self, packet: av.Packet, wall: datetime) -> Iterator[CapturedPacket]:
        """Frames still inside the decoder, so a stream's last moments reach the clip."""
        if self._decoder is None:
            return
        frames = self._decode(None)
        if frames:
            yield CapturedPacket(packet, wall, False, self._stamper.stamp(frames, wall))

    def _wall_time(self, packet: av.Packet) -> datetime:
        if self._timeline is None:
            return datetime.now(UTC)
        return self._timeline.stamp(packet)

    def _decode(self, packet: av.Packet | None) -> list[av.VideoFrame]:
        """Skip a packet the decoder rejects; give up when it rejects every one."""
        assert self._decoder is not None
        return self._rejected.decode(self._decoder, packet)

    # -- decoders --------------------------------------------------------------------------
    @property
    def video_stream(self) -> av.VideoStream | None:
        """The open stream, whose codec parameters a remux of its packets copies."""
        return self._stream if self._container is not None else None

    def hand_over_decoding(self) -> None:
        """Stop decoding and free the decoder: a full-quality decoder fed the same packets
        (a clip's) now makes the frames. Packets come with ``decoded=False`` until
        ``take_back_decoding``."""
        self._decoding = self._take_back = False
        self._decoder = None
        self._stamper.reset()

    def take_back_decoding(self) -> None:
        """Decode again from the next keyframe on; packets before it stay undecoded. Also how
        a gate that stopped decoding (``hand_over_decoding`` with no decoder to hand to)
        resumes after the pipeline has replayed the pre-roll."""
        if not self._decoding:
            self._take_back = True

    def detection_decoder(self) -> av.VideoCodecContext:
        """A fresh decoder for detection only (the idle and schedule gates' replays)."""
        decoder = self.new_decoder()
        if self.skip_loop_filter:  # read when the decoder opens, at the first packet
            decoder.options = {"skip_loop_filter": "all"}
        return decoder

    def new_decoder(self) -> av.VideoCodecContext:
        """A fresh decoder with this stream's parameters. The stream's own codec context only
        holds the parameters: it is never opened, so the source can drop its decoder."""
        if self._stream is None:
            raise RuntimeError("the source is not open")
        source = self._stream.codec_context
        decoder = cast(av.VideoCodecContext, av.CodecContext.create(source.name, "r"))
        decoder.extradata = source.extradata
        decoder.width = source.width
        decoder.height = source.height
        if source.pix_fmt:
            decoder.pix_fmt = source.pix_fmt
        decoder.codec_tag = source.codec_tag
        decoder.bits_per_coded_sample = source.bits_per_coded_sample
        decoder.thread_type = source.thread_type
        decoder.thread_count = source.thread_count
        return decoder


def _fps_of(stream: av.VideoStream) -> float:
    """The stream's frame rate, or a sensible default when it is unknown or absurd."""
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and 0 < float(rate) <= MAX_FPS:
            return float(rate)
    return DEFAULT_FPS
