"""The per-camera process: opens the source, feeds the pipeline, reports, reconnects.

A process per camera means a decoder that aborts (some files kill the whole process inside
FFmpeg or OpenCV) or a stream that hangs affects only its own camera. The process parses
untrusted stream data, so it holds neither the database nor the signing key: its clip, seal
and alert records go to the supervisor (``monitor.seal.worker_outbox``), which writes them.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from monitor.capture import Backoff, CapturedFrame, CapturedPacket, SourceError, VideoSource
from monitor.capture.gate import GateStats
from monitor.config import Config
from monitor.detect.threads import one_opencv_thread
from monitor.pipeline.camera import CameraPipeline, StreamInfo
from monitor.seal.clip_sealer import alert_record
from monitor.seal.worker_outbox import WorkerOutbox
from monitor.site.folders import Site
from monitor.workers.heap import fix_mmap_threshold
from monitor.workers.messages import EditorFrame, StatusMessage
from monitor.workers.privileges import WorkerUser, drop_privileges
from monitor.workers.substream_feed import DetectState, SubstreamFeed

log = logging.getLogger(__name__)

STATUS_INTERVAL = 1.0
CONTROL_INTERVAL = 0.1  # seconds between looks at the control queue while packets flow


@dataclass(frozen=True)
class WorkerArgs:
    config: Config
    """The supervisor's validated config: a worker never parses the file (nor loads pydantic)."""
    camera_id: str
    worker: str | None = None
    """Names this process's journals, so the supervisor can redo them once it has died."""
    token: str = ""
    """Goes with every message: the supervisor knows the sender by it, never by what a
    message says (``SenderQueue``). Other workers never see it."""
    run_as: WorkerUser | None = None
    """Started by root: the unprivileged user this process becomes before anything else."""


class SenderQueue:
    """The supervisor's message queue, each message sent as ``(token, message)``."""

    def __init__(self, messages: mp.Queue, token: str) -> None:  # type: ignore[type-arg]
        self._messages = messages
        self._token = token

    def put(self, message: object, timeout: float | None = None) -> None:
        self._messages.put((self._token, message), timeout=timeout)

    def put_nowait(self, message: object) -> None:
        self._messages.put_nowait((self._token, message))

    def cancel_join_thread(self) -> None:
        self._messages.cancel_join_thread()


class Reporter:
    """Sends status messages without ever blocking capture: a full queue drops them (records
    go through the outbox, which waits and journals instead)."""

    def __init__(self, camera_id: str, messages: mp.Queue) -> None:  # type: ignore[type-arg]
        self.camera_id = camera_id
        self._messages = messages
        self.dropped = 0
        self._frames = 0
        self._since = time.monotonic()
        self._last_frame: datetime | None = None
        self._gate: GateStats | None = None
        self._gate_before: GateStats | None = None
        self.state = "starting"
        self.error: str | None = None
        self.detect: DetectState | None = None  # a camera with a detect substream: where detection reads

    def send(self, message: object) -> None:
        try:
            self._messages.put_nowait(message)
        except queue.Full:
            self.dropped += 1

    def status(self, state: str, error: str | None = None) -> None:
        self.state, self.error = state, error
        self._emit(0.0)

    def frames(self, count: int, wall_time: datetime,
               gate: Callable[[datetime], GateStats] | None = None) -> None:
        """``count`` frames of the stream went by (decoded or not: ``gate`` says how many
        were, asked only when a status goes out, not per packet)."""
        self._frames += count
        self._last_frame = wall_time
        elapsed = time.monotonic() - self._since
        if elapsed >= STATUS_INTERVAL:
            if gate is not None:
                self._gate = gate(wall_time)
            self._emit(self._frames / elapsed)
            self._frames, self._since = 0, time.monotonic()

    def _emit(self, fps: float) -> None:
        mode, fraction, main = "", 1.0, None
        if (gate := self._gate) is not None:
            before = self._gate_before
            packets = gate.packets - (before.packets if before else 0)
            decoded = gate.decoded - (before.decoded if before else 0)
            mode, fraction = str(gate.mode), round(decoded / packets, 3) if packets > 0 else 1.0
            main = _main_fraction(gate, before, fraction)
            self._gate_before = gate
        detect = self.detect
        self.send(StatusMessage(self.camera_id, self.state, round(fps, 2), self.error,
                                self._last_frame, self.dropped, mode, fraction,
                                detect.source if detect else "", detect.error if detect else None,
                                main))


def _main_fraction(gate: GateStats, before: GateStats | None, fraction: float) -> float | None:
    """The main stream's decodes per packet over the interval, with a detect substream. No main
    packet was counted while detection read the main stream itself: the gate's ``fraction``
    is then the main stream's."""
    if gate.main_packets is None:
        return None
    packets = gate.main_packets - ((before.main_packets or 0) if before else 0)
    decoded = gate.main_decoded - (before.main_decoded if before else 0)
    return round(decoded / packets, 3) if packets > 0 else fraction


class CameraWorker:
    """Plain object behind the process, so tests can drive it in-process too."""

    def __init__(
        self, config: Config, camera_id: str, messages: mp.Queue, control: mp.Queue,  # type: ignore[type-arg]
        *, worker: str | None = None,
    ) -> None:
        self.config = config
        self.camera = config.camera(camera_id)
        self.reporter = Reporter(camera_id, messages)
        self.site = Site.open(config)
        self.outbox = WorkerOutbox(self.site, camera_id, messages, worker=worker)
        self.control = control
        self._supervisor = os.getppid()
        self.orphaned = False
        self.backoff = Backoff()
        self.pipeline: CameraPipeline | None = None
        self.pipeline_size: tuple[int, int] | None = None  # the frame size the pipeline was built for
        self.stopping = False
        self._outage_reported = False
        self._next_control = 0.0  # monotonic time of the next look at the control queue

    def run(self) -> None:
        while not self.stopping:
            try:
                self._stream_once()
            except SourceError as exc:
                self._lost(str(exc))
                self._sleep(self.backoff.next_delay())
        if self.pipeline is not None:
            self.pipeline.close(datetime.now(UTC), reason="shutdown")

    def _stream_once(self) -> None:
        camera = self.camera
        if camera.detect is not None:
            self._stream_pair_once()
            return
        self.reporter.detect = None
        with VideoSource(camera.source, loop=camera.loop, realtime=True, skip_loop_filter=True) as source:
            pipeline = self._pipeline_for(StreamInfo.of(source))
            self.reporter.status("online")
            self._recovered()
            for packet in source:
                self._detected(packet, pipeline.process(packet))
                if self._control_due() and self._check_control():
                    return

    def _stream_pair_once(self) -> None:
        """The main stream and the detect substream (``substream_feed``); the feed owns and
        closes the main source once it has it."""
        source = VideoSource(self.camera.source, loop=self.camera.loop, realtime=True,
                             skip_loop_filter=True).open()
        try:
            self.reporter.detect = self.reporter.detect or DetectState()
            feed = SubstreamFeed(self.camera, source, self.reporter.detect, submit=self.outbox.submit)
            pipeline = self._pipeline_for(feed.main_stream)
        except BaseException:
            source.close()
            raise
        self.reporter.status("online")
        self._recovered()
        feed.run(pipeline, on_detected=self._detected,
                 check_control=lambda: self._control_due() and self._check_control())

    def _detected(self, packet: CapturedPacket, frames: tuple[CapturedFrame, ...]) -> None:
        """After each packet detection read. Counted per packet: while the gate is closed
        nothing is decoded, and the stream is as healthy as when everything is."""
        assert self.pipeline is not None
        if frames or self.pipeline.gate_closed:
            self.backoff.reset()
        self.reporter.frames(1, packet.wall_time, self.pipeline.gate_stats)

    def _control_due(self) -> bool:
        """Polling the queue is a system call, a quarter of an off-schedule worker's CPU when
        made for every packet; a stop or an edit waits 0.1 s at most."""
        if (now := time.monotonic()) < self._next_control:
            return False
        self._next_control = now + CONTROL_INTERVAL
        return True

    def _pipeline_for(self, stream: StreamInfo) -> CameraPipeline:
        """The pipeline, made anew for a first stream or one of another size; otherwise told
        that its stream restarted (detecting on it again, when it had a substream)."""
        camera = self.camera
        if self.pipeline is None or (self.pipeline_size != (stream.width, stream.height)):
            if self.pipeline is not None:
                self.pipeline.close(datetime.now(UTC), reason="stream changed size")
            self.pipeline = CameraPipeline(
                self.site, camera, stream, outbox=self.outbox, encoder_threads=1,
                on_editor_frame=lambda jpeg: self.reporter.send(EditorFrame(camera.id, jpeg)))
            self.pipeline_size = (stream.width, stream.height)
        else:
            self.pipeline.detect_on_main()
            self.pipeline.stream_restarted(stream)
        return self.pipeline

    def request_stop(self) -> None:
        """Finish the current packet, close and seal the open clip, and return from ``run``."""
        self.stopping = True

    def _check_control(self) -> bool:
        """Apply pending config updates; True when asked to stop, or when the supervisor is
        gone (killed alone): an orphan would keep its clip open while the next start recovers
        it, then write on into a sealed file."""
        if not self.orphaned and os.getppid() != self._supervisor:
            log.warning("camera %s: the supervisor is gone; sealing the clip and exiting", self.camera.id)
            self.orphaned = self.stopping = True
        while not self.stopping:
            try:
                kind, payload = self.control.get_nowait()
            except queue.Empty:
                return False
            if kind == "stop":
                self.stopping = True
            elif kind == "config" and self.pipeline is not None:
                camera = payload.camera(self.camera.id)
                restream = camera.detect != self.camera.detect
                self.config, self.camera = payload, camera
                self.pipeline.update_config(payload)
                if restream:  # another detect stream: open the streams again
                    self.pipeline.close(datetime.now(UTC), reason="detect stream changed")
                    return True
        return True

    def _lost(self, error: str) -> None:
        log.warning("camera %s: %s", self.camera.id, error)
        self.reporter.status("offline", error)
        if self.pipeline is not None:
            self.pipeline.close(datetime.now(UTC), reason="stream lost")
        if not self._outage_reported:
            self._outage_reported = True
            self.outbox.submit(alert_record({
                "kind": "camera-offline", "camera_id": self.camera.id, "time": datetime.now(UTC),
                "message": f"Camera {self.camera.label} is offline: {error}",
            }))

    def _recovered(self) -> None:
        if self._outage_reported:
            self._outage_reported = False
            self.outbox.submit(alert_record({
                "kind": "camera-online", "camera_id": self.camera.id, "time": datetime.now(UTC),
                "message": f"Camera {self.camera.label} is back online",
            }))

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.stopping:
            if self._check_control():
                return
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))


def worker_main(args: WorkerArgs, messages: mp.Queue, control: mp.Queue) -> None:  # type: ignore[type-arg]
    """Process entry point (spawned).

    Ctrl-C in a terminal (and a service manager's SIGTERM) reaches every process of the group at
    once: a worker that died of it would leave its clip for the recovery pass, sealed as
    incomplete. So SIGINT is left to the supervisor, which stops workers in order, and SIGTERM
    makes the worker close and seal its clip before it exits.
    """
    if args.run_as is not None:
        drop_privileges(args.run_as)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {args.camera_id} %(levelname)s %(message)s")
    one_opencv_thread()
    fix_mmap_threshold()
    worker = CameraWorker(args.config, args.camera_id, SenderQueue(messages, args.token), control,  # type: ignore[arg-type]
                          worker=args.worker)
    signal.signal(signal.SIGTERM, lambda _signum, _frame: worker.request_stop())
    worker.run()
    if worker.orphaned:  # nobody reads the queue: exit without flushing it (records are journaled)
        messages.cancel_join_thread()


__all__ = ["CameraWorker", "WorkerArgs", "worker_main"]
