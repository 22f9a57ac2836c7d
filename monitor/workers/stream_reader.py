"""One stream of a camera read on a thread of its own, its packets put on a queue it shares.

A camera with a detect substream reads two live streams at once; PyAV releases the GIL while
it demuxes and decodes, so a thread per stream keeps both drained without a second process.
The reader also stands for its source towards the pipeline (``pipeline.camera.Decoding``):
the pipeline's decoding control (``hand_over_decoding``, ``take_back_decoding``) is applied
on the reading thread between two packets, never while the source's decoder is in use.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import av

from monitor.capture import Backoff, CapturedPacket, SourceDisconnected, SourceError, VideoSource

log = logging.getLogger(__name__)

PUT_WAIT = 0.2  # seconds between checks for a stop while the queue is full
HEALTHY_PACKETS = 100  # packets read after which a reconnect starts from the first delay again


@dataclass(frozen=True)
class Opened:
    """The reader opened its source: its frame size and rate."""

    width: int
    height: int
    fps: float


@dataclass(frozen=True)
class Failed:
    """The source could not be opened, ended, stalled, or was asked to resync."""

    error: SourceError


Item = CapturedPacket | Opened | Failed


class StreamReader:
    """Reads ``open_source()`` and puts ``(self, item)`` on ``out`` until stopped. With a
    ``backoff`` it opens the source again after every failure; without, it stops at the first
    (the worker reconnects the main stream itself, as for a camera with one stream)."""

    def __init__(
        self,
        role: str,
        out: queue.Queue[tuple[StreamReader, Item]],
        open_source: Callable[[], VideoSource],
        *,
        spec: str,
        backoff: Backoff | None = None,
    ) -> None:
        self.role = role
        self.spec = spec
        self._out = out
        self._open = open_source
        self._backoff = backoff
        self._source: VideoSource | None = None
        self._pending: deque[Callable[[VideoSource], None]] = deque()
        self._resync: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"read-{role}", daemon=True)

    def start(self) -> StreamReader:
        self._thread.start()
        return self

    def stop(self, timeout: float = 1.0) -> None:
        """Stop reading; the thread closes its source. A read blocked in FFmpeg ends by the
        source's own timeout, so this waits only ``timeout`` for it (the thread is a daemon)."""
        self._stop.set()
        self._thread.join(timeout)

    def resync(self, reason: str) -> None:
        """Drop the source at the next packet (reported as a failure) and open it again."""
        self._resync = reason

    # -- the source, as the pipeline sees it --------------------------------------------------
    def _current(self) -> VideoSource:
        if self._source is None:
            raise RuntimeError(f"{self.role} stream is not open")
        return self._source

    def new_decoder(self) -> av.VideoCodecContext:
        return self._current().new_decoder()

    def detection_decoder(self) -> av.VideoCodecContext:
        return self._current().detection_decoder()

    @property
    def video_stream(self) -> av.VideoStream | None:
        return self._source.video_stream if self._source is not None else None

    def hand_over_decoding(self) -> None:
        self._pending.append(VideoSource.hand_over_decoding)

    def take_back_decoding(self) -> None:
        self._pending.append(VideoSource.take_back_decoding)

    # -- the reading thread ----------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                source = self._open()
            except SourceError as exc:
                self._put(Failed(exc))
            else:
                self._read(source)
            if self._backoff is None or self._stop.wait(self._backoff.next_delay()):
                return

    def _read(self, source: VideoSource) -> None:
        self._pending.clear()  # meant for the source before this one
        self._resync = None
        self._source = source
        try:
            self._put(Opened(source.width, source.height, source.fps))
            for count, packet in enumerate(source, 1):
                while self._pending:
                    self._pending.popleft()(source)
                if (reason := self._resync) is not None:
                    raise SourceDisconnected(source.spec, reason)
                if count == HEALTHY_PACKETS and self._backoff is not None:
                    self._backoff.reset()
                if not self._put(packet):
                    return
        except SourceError as exc:
            self._put(Failed(exc))
        except Exception as exc:  # a reader thread must report, never die silently
            log.exception("%s stream reader failed", self.role)
            self._put(Failed(SourceDisconnected(source.spec, f"reading failed: {exc}")))
        finally:
            source.close()

    def _put(self, item: Item) -> bool:
        """Wait while the queue is full (the pipeline is busy: the socket buffers meanwhile);
        False once stopped."""
        while not self._stop.is_set():
            try:
                self._out.put((self, item), timeout=PUT_WAIT)
                return True
            except queue.Full:
                continue
        return False
