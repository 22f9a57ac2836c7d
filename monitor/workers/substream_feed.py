"""A camera with a detect substream: both streams fed to one pipeline (docs/substream.md).

Each stream is read on a thread of its own (``stream_reader``) onto one queue, so the pipeline
gets both streams' packets in the order they arrived, which is the order of their wall times:
when an event closes on a substream packet, every main-stream packet up to that time is
already in the clip and none after it is. The substream is reconnected with backoff on its own;
while it is down, or drifts from the main stream by more than ``detect.max_drift`` seconds,
detection reads the main stream (``CameraPipeline.detect_on_main``) and the camera's status
says so. The main stream failing is the camera failing, as without a substream.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from monitor.capture import Backoff, CapturedFrame, CapturedPacket, SourceDisconnected, VideoSource
from monitor.config.models import Camera
from monitor.pipeline.camera import CameraPipeline, StreamInfo
from monitor.seal.clip_sealer import alert_record
from monitor.workers.stream_reader import Failed, Item, Opened, StreamReader

log = logging.getLogger(__name__)

QUEUE_PACKETS = 512  # both streams' packets waiting for the pipeline: seconds of video
IDLE_WAIT = 0.5  # seconds without a packet between two looks at the control queue


@dataclass
class DetectState:
    """What the camera's status says about its detect substream."""

    source: str = "main"  # "substream" while detection reads it, else "main"
    error: str | None = None  # why detection reads the main stream, when it should not


class DriftCheck:
    """The wall times of the two streams' latest packets, compared after every packet."""

    def __init__(self, max_drift: float) -> None:
        self.max_drift = max_drift
        self._main: datetime | None = None
        self._detect: datetime | None = None

    def reset(self) -> None:
        self._main = self._detect = None

    def note(self, *, main: bool, wall_time: datetime) -> float | None:
        """Seconds the substream's latest packet lies after the main stream's (negative:
        behind), when that is more than ``max_drift`` either way; otherwise None."""
        if main:
            self._main = wall_time
        else:
            self._detect = wall_time
        if self._main is None or self._detect is None:
            return None
        drift = (self._detect - self._main).total_seconds()
        return drift if abs(drift) > self.max_drift else None


def open_detect_source(camera: Camera) -> Callable[[], VideoSource]:
    assert camera.detect is not None
    spec = camera.detect.source
    return lambda: VideoSource(spec, loop=camera.loop, realtime=True, skip_loop_filter=True).open()


class SubstreamFeed:
    """Reads a camera's two streams and feeds its pipeline until the main stream fails or the
    worker is told to stop. Built around the open main source, which it then owns."""

    def __init__(self, camera: Camera, main: VideoSource, state: DetectState,
                 *, submit: Callable[[dict[str, object]], None]) -> None:
        assert camera.detect is not None
        self._camera = camera
        self._state = state
        self._submit = submit
        self._queue: queue.Queue[tuple[StreamReader, Item]] = queue.Queue(QUEUE_PACKETS)
        self.main = StreamReader("main", self._queue, lambda: main, spec=main.spec)
        self.main_stream = StreamInfo(main.width, main.height, main.fps, self.main)
        self._detect = StreamReader("detect", self._queue, open_detect_source(camera),
                                    spec=camera.detect.source, backoff=Backoff())
        self._drift = DriftCheck(camera.detect.max_drift)
        self._waiting: StreamInfo | None = None  # the substream opened, detection not on it yet
        self._waiting_since: datetime | None = None  # its first packet while detection waited
        self._outage_reported = False

    def run(
        self,
        pipeline: CameraPipeline,
        *,
        on_detected: Callable[[CapturedPacket, tuple[CapturedFrame, ...]], None],
        check_control: Callable[[], bool],
    ) -> None:
        """``on_detected`` after each packet detection read; returns when ``check_control``
        says so. Raises the main stream's ``SourceError``."""
        self._detect_lost(pipeline, None)
        self.main.start()
        self._detect.start()
        try:
            while True:
                try:
                    reader, item = self._queue.get(timeout=IDLE_WAIT)
                except queue.Empty:
                    if check_control():
                        return
                    continue
                if reader is self.main:
                    self._from_main(pipeline, item, on_detected)
                else:
                    self._from_detect(pipeline, item, on_detected)
                if check_control():
                    return
        finally:
            self._detect.stop()
            self.main.stop()

    def _from_main(self, pipeline: CameraPipeline, item: Item,
                   on_detected: Callable[[CapturedPacket, tuple[CapturedFrame, ...]], None]) -> None:
        if isinstance(item, Failed):
            raise item.error
        if not isinstance(item, CapturedPacket):
            return
        if not pipeline.detects_on_substream:
            on_detected(item, pipeline.process(item))
            return
        pipeline.record(item)
        self._check_drift(pipeline, self._drift.note(main=True, wall_time=item.wall_time))

    def _from_detect(self, pipeline: CameraPipeline, item: Item,
                     on_detected: Callable[[CapturedPacket, tuple[CapturedFrame, ...]], None]) -> None:
        if isinstance(item, Failed):
            self._waiting = self._waiting_since = None
            self._detect_lost(pipeline, str(item.error))
            return
        if isinstance(item, Opened):
            self._waiting, self._waiting_since = StreamInfo(item.width, item.height, item.fps, self._detect), None
            return
        if not pipeline.detects_on_substream:
            if self._waiting is None:
                return
            since = self._waiting_since = self._waiting_since or item.wall_time
            if not pipeline.can_switch(item.wall_time - since):
                return  # detection stays on the main stream until nothing records
            pipeline.detect_on_substream(self._waiting)
            self._waiting = self._waiting_since = None
            self._drift.reset()
            self._detect_back()
        on_detected(item, pipeline.process(item))
        self._check_drift(pipeline, self._drift.note(main=False, wall_time=item.wall_time))

    def _check_drift(self, pipeline: CameraPipeline, drift: float | None) -> None:
        """A substream behind is reconnected (detection on the main stream meanwhile); a main
        stream behind is the camera's failure: recording would miss what detection sees."""
        if drift is None:
            return
        bound = self._drift.max_drift
        if drift > 0:
            raise SourceDisconnected(self.main.spec, f"the main stream is {drift:.1f} s behind the detect "
                                     f"substream (max_drift {bound:g} s)")
        reason = f"the detect substream is {-drift:.1f} s behind the main stream (max_drift {bound:g} s)"
        self._detect.resync(reason + "; reconnecting it")
        self._detect_lost(pipeline, reason)
        self._drift.reset()

    def _detect_lost(self, pipeline: CameraPipeline, error: str | None) -> None:
        """Detection reads the main stream; ``error`` (None: not open yet) is reported like any
        source failure: the status, the log, and one camera-offline alert per outage."""
        pipeline.detect_on_main()
        self._state.source = "main"
        if error is None:
            return
        self._state.error = error
        log.warning("camera %s: detect substream: %s; detecting on the main stream", self._camera.id, error)
        if not self._outage_reported:
            self._outage_reported = True
            self._alert("camera-offline", f"The detect substream of {self._camera.label} is offline: "
                                          f"{error}; detecting on the main stream meanwhile")

    def _detect_back(self) -> None:
        self._state.source, self._state.error = "substream", None
        log.info("camera %s: detecting on the substream", self._camera.id)
        if self._outage_reported:
            self._outage_reported = False
            self._alert("camera-online", f"The detect substream of {self._camera.label} is back; "
                                         "detecting on it again")

    def _alert(self, kind: str, message: str) -> None:
        self._submit(alert_record({"kind": kind, "camera_id": self._camera.id, "time": datetime.now(UTC),
                                   "message": message}))
