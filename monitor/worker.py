"""The per-camera process: opens the source, feeds the pipeline, reports, reconnects.

A process per camera means a decoder that aborts (some files kill the whole process inside
FFmpeg or OpenCV) or a stream that hangs affects only its own camera.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.exc import OperationalError

from monitor.capture import Backoff, SourceError, VideoSource
from monitor.config import Config, load_config
from monitor.messages import AlertMessage, StatusMessage
from monitor.pipeline import CameraPipeline, StreamInfo
from monitor.recovery import recover_camera
from monitor.runtime import Runtime
from monitor.sealing import ClipSealer
from monitor.store.db import describe_unavailable

log = logging.getLogger(__name__)

STATUS_INTERVAL = 1.0
CONNECT_EVERY = 2.0  # seconds between attempts to reach the database while recovery waits for it


@dataclass(frozen=True)
class WorkerArgs:
    config_path: str
    camera_id: str


class Reporter:
    """Sends status and alert messages without ever blocking capture: a full queue drops."""

    def __init__(self, camera_id: str, messages: mp.Queue) -> None:  # type: ignore[type-arg]
        self.camera_id = camera_id
        self._messages = messages
        self.dropped = 0
        self._frames = 0
        self._since = time.monotonic()
        self._last_frame: datetime | None = None
        self.state = "starting"
        self.error: str | None = None

    def send(self, message: object) -> None:
        try:
            self._messages.put_nowait(message)
        except queue.Full:
            self.dropped += 1

    def status(self, state: str, error: str | None = None) -> None:
        self.state, self.error = state, error
        self._emit(0.0)

    def frames(self, count: int, wall_time: datetime) -> None:
        self._frames += count
        self._last_frame = wall_time
        elapsed = time.monotonic() - self._since
        if elapsed >= STATUS_INTERVAL:
            self._emit(self._frames / elapsed)
            self._frames, self._since = 0, time.monotonic()

    def _emit(self, fps: float) -> None:
        self.send(StatusMessage(self.camera_id, self.state, round(fps, 2), self.error,
                                self._last_frame, self.dropped))


class CameraWorker:
    """Plain object behind the process, so tests can drive it in-process too."""

    def __init__(self, config: Config, camera_id: str, messages: mp.Queue, control: mp.Queue) -> None:  # type: ignore[type-arg]
        self.config = config
        self.camera = config.camera(camera_id)
        self.reporter = Reporter(camera_id, messages)
        self.runtime = Runtime.open(config, require_database=False)
        self.control = control
        self.backoff = Backoff()
        self.pipeline: CameraPipeline | None = None
        self.alerts = ClipSealer(self.runtime, on_sealed=None, on_alert=self.reporter.send)
        self.stopping = False
        self._outage_reported = False
        self._recovery_due = True
        self._connect_at = 0.0
        self._probe: threading.Thread | None = None
        if not self.runtime.connected:
            self.reporter.status("starting", self._database_problem())

    def run(self) -> None:
        if self.runtime.connected:
            self._recover()
        while not self.stopping:
            try:
                self._stream_once()
            except SourceError as exc:
                self._lost(str(exc))
                self._sleep(self.backoff.next_delay())
        if self.pipeline is not None:
            self.pipeline.close(datetime.now(UTC), reason="shutdown")
        self.alerts.retry_pending(block=True)

    def _stream_once(self) -> None:
        camera = self.camera
        with VideoSource(camera.source, loop=camera.loop, realtime=True, skip_loop_filter=True) as source:
            stream = StreamInfo(source.width, source.height, source.fps, source.new_decoder)
            if self.pipeline is None or (self.pipeline_size != (source.width, source.height)):
                if self.pipeline is not None:
                    self.pipeline.close(datetime.now(UTC), reason="stream changed size")
                self.pipeline = CameraPipeline(self.runtime, camera, stream,
                                               on_alert=self.reporter.send)
                self.pipeline_size = (source.width, source.height)
            else:
                self.pipeline.stream_restarted()
            self.reporter.status("online")
            self._recovered()
            for packet in source:
                self.pipeline.process(packet)
                self._database_upkeep()
                if packet.frames:
                    self.reporter.frames(len(packet.frames), packet.frames[-1].wall_time)
                    self.backoff.reset()
                if self._check_control():
                    return

    def _pending_writes(self) -> int:
        return self.alerts.pending + (self.pipeline.pending_writes if self.pipeline else 0)

    def _database_problem(self) -> str | None:
        pending = self._pending_writes()
        if self.runtime.connected and not pending:
            return None
        reason = self.runtime.database_error or "not reachable"
        return f"database unavailable ({reason}): recording continues, {pending} alert/seal write(s) waiting"

    def _database_upkeep(self) -> None:
        """Between packets: retry queued writes, finish a recovery that waited, report."""
        self.alerts.retry_pending()
        if self._recovery_due:
            if self.runtime.connected:
                self._recover()
            else:
                self._probe_database()
        error = self._database_problem()
        if error != self.reporter.error and self.reporter.state == "online":
            self.reporter.status("online", error)

    def _probe_database(self) -> None:
        """Reach for the database off the capture thread: a server that drops packets instead
        of refusing them holds each attempt for the whole connect timeout."""
        if time.monotonic() < self._connect_at or (self._probe is not None and self._probe.is_alive()):
            return
        self._connect_at = time.monotonic() + CONNECT_EVERY
        self._probe = threading.Thread(target=self.runtime.try_connect, name="database-probe", daemon=True)
        self._probe.start()

    def _recover(self) -> None:
        """Redo the writes a previous worker of this camera queued, and seal what it left open,
        once the database answers.

        Not while this worker has a clip open or a write queued: recovery would take that
        clip's row, still marked recording, for a crash leftover.
        """
        if self.runtime.recording or self._pending_writes():
            return
        try:
            self.alerts.redo_spooled(self.camera.id)  # before recovery takes those clips for leftovers
            if self._pending_writes():
                return
            recover_camera(self.runtime, self.camera.id, reason="the camera worker stopped unexpectedly")
        except OperationalError as exc:
            log.warning("camera %s: recovery waits for the database: %s", self.camera.id,
                        describe_unavailable(exc))
            return
        self._recovery_due = False

    def _check_control(self) -> bool:
        """Apply pending config updates; True when asked to stop."""
        while True:
            try:
                kind, payload = self.control.get_nowait()
            except queue.Empty:
                return False
            if kind == "stop":
                self.stopping = True
                return True
            if kind == "config" and self.pipeline is not None:
                self.config = payload
                self.camera = payload.camera(self.camera.id)
                self.pipeline.update_config(payload)

    def _lost(self, error: str) -> None:
        log.warning("camera %s: %s", self.camera.id, error)
        self.reporter.status("offline", error)
        if self.pipeline is not None:
            self.pipeline.close(datetime.now(UTC), reason="stream lost")
        if not self._outage_reported:
            self._outage_reported = True
            self.alerts.record_alert({
                "kind": "camera-offline", "camera_id": self.camera.id, "time": datetime.now(UTC),
                "message": f"Camera {self.camera.label} is offline: {error}",
            }, self.reporter.send)

    def _recovered(self) -> None:
        if self._outage_reported:
            self._outage_reported = False
            self.alerts.record_alert({
                "kind": "camera-online", "camera_id": self.camera.id, "time": datetime.now(UTC),
                "message": f"Camera {self.camera.label} is back online",
            }, self.reporter.send)

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.stopping:
            if self._check_control():
                return
            self._database_upkeep()
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))


def worker_main(args: WorkerArgs, messages: mp.Queue, control: mp.Queue) -> None:  # type: ignore[type-arg]
    """Process entry point (spawned)."""
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {args.camera_id} %(levelname)s %(message)s")
    config = load_config(Path(args.config_path))
    CameraWorker(config, args.camera_id, messages, control).run()


__all__ = ["AlertMessage", "CameraWorker", "WorkerArgs", "worker_main"]
