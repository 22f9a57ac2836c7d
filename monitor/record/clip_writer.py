"""The clip writer: H.264 in fragmented MP4, hashed and fsynced as it is written.

Fragmented MP4 (``empty_moov`` + a fragment per keyframe) needs no index at the end, so a
killed worker or a power cut leaves a file whose completed fragments play; each fragment is
fsynced as soon as the muxer hands it over. The muxer writes through
``evidence.hashing.HashingWriter`` (non-seekable), so the SHA-256 for sealing is ready when
the file closes, without reading the clip back.

libx264 without B-frames: the first frame is at time 0, no reorder delay holds frames back
from the last fragment, and Chromium plays the result.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import av
import av.container

from evidence.hashing import HashingWriter, create_durably
from monitor.config.models import DEFAULT_PRESET
from monitor.record.errors import ClipWriteError, EmptyClipError
from monitor.record.timestamps import TIME_BASE, PtsClock

MOVFLAGS = "frag_keyframe+empty_moov+default_base_moof"
DEFAULT_CRF = 23


@dataclass(frozen=True)
class WrittenClip:
    """A finished clip. ``start``/``end`` are the wall times of its first and last frames."""

    path: Path
    sha256: str
    size: int
    frame_count: int
    start: datetime
    end: datetime
    width: int
    height: int
    fps: float


class ClipWriter:
    """Encodes privacy-masked yuv420p frames into one clip file.

    An odd frame size is scaled down by one pixel to the even size H.264 4:2:0 requires;
    ``width`` and ``height`` are the encoded size.

    Frames earlier than ``start`` that arrive before the first written frame are skipped:
    pre-roll decoding begins at a keyframe before the clip's start.

    ``threads`` 0 lets libx264 choose (slices over every core: fastest for one file); camera
    workers pass 1 (see ``CameraPipeline``).
    """

    def __init__(
        self,
        path: Path,
        *,
        width: int,
        height: int,
        fps: float,
        start: datetime,
        preset: str = DEFAULT_PRESET,
        crf: int = DEFAULT_CRF,
        threads: int = 0,
    ) -> None:
        if width < 2 or height < 2:
            raise ValueError(f"clip size must be at least 2x2, got {width}x{height}")
        if fps <= 0:
            raise ValueError(f"clip fps must be positive, got {fps}")
        if start.tzinfo is None:
            raise ValueError("clip start must be timezone-aware")
        self.path = Path(path)
        self.frame_size = (width, height)
        self.width, self.height = width - width % 2, height - height % 2  # H.264 4:2:0 needs even
        self.fps, self.start = fps, start
        self._clock = PtsClock(fps)
        self._first: datetime | None = None
        self._last: datetime | None = None
        self.frame_count = 0
        self.skipped = 0
        self._synced = 0
        self._closed = False
        self._sink = HashingWriter(create_durably(self.path))
        try:
            self._container, self._stream = self._open_encoder(preset, crf, threads)
        except Exception:
            self._sink.close()
            self.path.unlink(missing_ok=True)
            raise

    def _close_file(self) -> None:
        """Close the file even when the disk is full (the buffered tail cannot be flushed)."""
        with contextlib.suppress(OSError):
            self._sink.close()

    def _open_encoder(
        self, preset: str, crf: int, threads: int
    ) -> tuple[av.container.OutputContainer, av.VideoStream]:
        container = av.open(
            self._sink, "w", format="mp4", options={"movflags": MOVFLAGS, "flush_packets": "1"}
        )
        rate = Fraction(self.fps).limit_denominator(1001)
        # zerolatency drops x264's lookahead and frame threads: about 60 MB less per 1080p
        # worker, and each frame reaches its fragment on disk without waiting for later ones.
        # No weighted prediction: it only pays on fades, which fixed cameras rarely see, and
        # at 1080p it kept a weighted copy of the reference (about 3 MB per recording worker).
        options = {"preset": preset, "crf": str(crf), "tune": "zerolatency", "weightp": "none"}
        stream = container.add_stream("libx264", rate=rate, options=options)
        stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
        stream.time_base = TIME_BASE
        context = stream.codec_context
        context.time_base = TIME_BASE
        context.gop_size = max(1, round(self.fps))
        context.max_b_frames = 0
        if threads:
            context.thread_count = threads
        return container, stream

    def write(self, frame: av.VideoFrame, wall_time: datetime) -> None:
        """Encode one frame at ``wall_time``; sets the frame's pts and time base."""
        if self._closed:
            raise RuntimeError(f"clip {self.path} is already closed")
        if self._first is None and wall_time < self.start:
            self.skipped += 1
            return
        if (frame.width, frame.height) != self.frame_size or frame.format.name != "yuv420p":
            width, height = self.frame_size
            raise ValueError(
                f"clip {self.path.name} takes {width}x{height} yuv420p frames, "
                f"got {frame.width}x{frame.height} {frame.format.name}"
            )
        if self.frame_size != (self.width, self.height):
            frame = frame.reformat(width=self.width, height=self.height)
        frame.pts = self._clock.pts(wall_time)
        frame.time_base = TIME_BASE
        self._mux(self._stream.encode(frame))
        self._first = self._first or wall_time
        self._last = wall_time
        self.frame_count += 1

    def _mux(self, packets: list[av.Packet]) -> None:
        try:
            for packet in packets:
                packet.duration = self._clock.frame_ticks
                self._container.mux(packet)
            if self._sink.size > self._synced:
                self._sink.sync()
                self._synced = self._sink.size
        except OSError as exc:
            raise ClipWriteError(
                f"clip {self.path}: writing failed ({exc.strerror or exc})"
            ) from exc

    def close(self) -> WrittenClip:
        """Flush the encoder, finish the file, and return its hash and metadata."""
        if self._closed:
            raise RuntimeError(f"clip {self.path} is already closed")
        self._closed = True
        try:
            self._mux(self._stream.encode(None))
            self._container.close()
            self._sink.sync()
        except OSError as exc:
            raise ClipWriteError(
                f"clip {self.path}: finishing failed ({exc.strerror or exc})"
            ) from exc
        finally:
            self._close_file()
        if self._first is None or self._last is None:
            self.path.unlink(missing_ok=True)
            raise EmptyClipError(f"clip {self.path}: no frame at or after {self.start.isoformat()}")
        return WrittenClip(
            path=self.path,
            sha256=self._sink.hexdigest(),
            size=self._sink.size,
            frame_count=self.frame_count,
            start=self._first,
            end=max(self._last, self._first),
            width=self.width,
            height=self.height,
            fps=self.fps,
        )
