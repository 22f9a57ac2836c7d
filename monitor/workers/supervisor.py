"""Starts one worker process per camera and keeps it running.

A worker that dies (a decoder that aborts, a kill -9, an out-of-memory kill) is restarted
after a capped, jittered backoff; the others never notice. Statuses and records arrive on
one bounded queue; records are written by the supervisor's ``RecordApplier``, which tells
whoever runs the supervisor (the service, or ``hotspot run``) of each committed alert.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy.exc import OperationalError

from monitor.capture import Backoff
from monitor.config import Camera, Config
from monitor.nodes.keeper import LeaseKeeper
from monitor.nodes.lease_book import Holder, LeaseBook
from monitor.nodes.remote_status import remote_status
from monitor.notify.notifier import Notifier
from monitor.objects.uploads import Uploader
from monitor.seal.clip_sealer import alert_record
from monitor.seal.crash_recovery import SERVICE_DIED
from monitor.seal.record_applier import RecordApplier
from monitor.seal.worker_outbox import journal_prefix
from monitor.site.runtime import Runtime
from monitor.site.storage_guard import StorageGuard
from monitor.store.db import describe_unavailable
from monitor.store.file_modes import camera_folders
from monitor.workers.camera_worker import WorkerArgs, worker_main
from monitor.workers.messages import (
    AlertMessage,
    EditorFrame,
    JournalDone,
    SealedMessage,
    SpaceWanted,
    StatusMessage,
    WriteRequest,
)
from monitor.workers.privileges import WorkerUser, check_reachable, owners, worker_users
from monitor.workers.spawning import start_without_main

log = logging.getLogger(__name__)

HEALTHY_AFTER = 30.0  # seconds online before a worker's restart backoff resets
RETENTION_EVERY = 60.0  # seconds between retention passes
SPACE_EVERY = 5.0  # seconds between looks at free space, so workers seldom find it short


@dataclass(frozen=True)
class CameraStatus:
    camera_id: str
    state: str  # starting | online | offline | disabled
    fps: float = 0.0
    last_error: str | None = None
    restarts: int = 0
    last_frame: datetime | None = None
    pid: int | None = None
    decode_mode: str = ""
    decoded_fraction: float = 1.0
    detect_source: str = ""  # with a detect substream: "substream", or "main" while it is down
    detect_error: str | None = None  # why detection is not on the substream
    main_decoded_fraction: float | None = None  # with a detect substream: the main stream's decodes per packet
    node: str = ""  # the recorder node recording it (several nodes only)
    moved_from: str | None = None  # how it came to that node, when another node had it before


@dataclass
class _Slot:
    """Bookkeeping for one camera's worker process."""

    process: mp.process.BaseProcess | None
    control: mp.Queue  # type: ignore[type-arg]
    status: CameraStatus
    backoff: Backoff
    restart_at: float | None = None
    started_at: float = 0.0
    crash_reported: bool = False
    worker: str = ""
    """The running (or last) process's name for its journals."""
    token: str = ""
    """The running process's secret: messages that carry it come from this camera's worker."""


class Supervisor:
    def __init__(
        self, config: Config, *, on_alert: Callable[[AlertMessage], None] | None = None,
        recovered: bool = False, node: str | None = None,
    ) -> None:
        """``config`` is what every worker runs, restarts included (none reads the file).
        ``recovered``: the start-up recovery pass has run; otherwise (the database was down,
        or nobody ran it) the supervisor recovers each camera's leftovers once it answers.
        ``node``: one of several recorder nodes on the site's database; cameras start only
        once this node holds their lease (``monitor.nodes``), and each is recovered then."""
        self._recovered = recovered
        self.node = node
        self.keeper: LeaseKeeper | None = None
        self.config = config
        self._on_alert = on_alert or (lambda _m: None)
        self._ctx = mp.get_context("spawn")
        self._messages: mp.Queue = self._ctx.Queue(maxsize=2000)  # type: ignore[type-arg]
        self._slots: dict[str, _Slot] = {}
        self._editor_frames: dict[str, tuple[float, bytes]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._runtime: Runtime | None = None
        self._applier: RecordApplier | None = None
        self._exited: list[tuple[str, str]] = []  # (camera, worker) whose journals await a redo
        self._senders: dict[str, str] = {}  # a running worker's token -> its camera
        self.notifier: Notifier | None = None
        self.uploader: Uploader | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Workers start even while the database is down: they record, and their records wait
        here until it returns; their clips are recovered then if start-up recovery could not.
        (Whether the database answers now does not tell: it may have come back since.)"""
        self._runtime = Runtime.open(self.config, require_database=False)
        for user in (self._runtime.worker_users or {}).values():  # Runtime.open gave them their folders
            check_reachable(self._runtime.paths.root, user)
        self.uploader = self._open_uploader(self._runtime)
        self.notifier = Notifier(self.config, self._runtime.paths.root)
        self.notifier.start()
        self._applier = RecordApplier(self._runtime, on_alert=self._committed_alert,
                                      on_sealed=self._sealed)
        self._applier.start()
        if self.node is not None:
            book = LeaseBook(self._runtime.sessions, self.node, lease_seconds=self.config.nodes.lease)
            self.keeper = LeaseKeeper(book, self, heartbeat=self.config.nodes.heartbeat)
        elif not self._recovered:
            for camera in self.config.cameras:
                self._applier.recover_later(camera.id)
        if self.keeper is None:
            with self._lock:
                for camera in self.config.cameras:
                    self._add(camera.id, enabled=camera.enabled)
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self._thread.start()
        if self.keeper is not None:
            self.keeper.start()

    @staticmethod
    def _open_uploader(runtime: Runtime) -> Uploader | None:
        """With ``storage.objects``: refuse a bucket without Object Lock now, upload in the
        background (a store that is down only delays uploads)."""
        if runtime.config.storage.objects is None:
            return None
        uploader = Uploader(runtime)
        uploader.check_at_start()
        uploader.start()
        return uploader

    def stop(self, timeout: float = 15.0) -> None:
        """Ask every worker to close its clip and exit; kill those that do not."""
        if self.keeper is not None:
            self.keeper.stop()
        self._stop.set()
        with self._lock:
            for slot in self._slots.values():
                self._stop_slot(slot)
            deadline = time.monotonic() + timeout
            for slot in self._slots.values():
                if slot.process is not None:
                    slot.process.join(max(0.1, deadline - time.monotonic()))
                    if slot.process.is_alive():
                        slot.process.kill()
                        slot.process.join(2)
        if self._thread is not None:
            self._thread.join(5)
        self._drain()
        if self._applier is not None:
            with self._lock:
                workers = self._exited + [(c, slot.worker) for c, slot in self._slots.items() if slot.worker]
            self._applier.stop(workers)
        if self.keeper is not None:
            self.keeper.leave()
        if self.notifier is not None:
            self.notifier.stop()
        if self.uploader is not None:
            self.uploader.stop()
        if self._runtime is not None:
            self._runtime.close()

    def editor_frame(self, camera_id: str, max_age: float) -> bytes | None:
        """The zone editor's latest picture of the camera, if one arrived within ``max_age`` s.
        Kept in this process's memory only (see ``EditorFrame``)."""
        with self._lock:
            found = self._editor_frames.get(camera_id)
        return found[1] if found and time.monotonic() - found[0] <= max_age else None

    def statuses(self) -> dict[str, CameraStatus]:
        """Each camera's status; while the database is away, every recording camera says so."""
        problem = self._applier.database_problem() if self._applier is not None else None
        problem = problem or self._store_problem()
        with self._lock:
            own = {cid: replace(slot.status, last_error=problem)
                   if problem and slot.status.state in ("starting", "online") else slot.status
                   for cid, slot in self._slots.items()}
        if self.keeper is None:
            return own
        holders = self.keeper.holders()
        others = {c.id: remote_status(c.id, holders.get(c.id)) for c in self.config.cameras
                  if c.enabled and c.id not in own}
        return {**others, **{cid: replace(status, node=self.keeper.node) for cid, status in own.items()}}

    # -- several nodes: called by the lease keeper -----------------------------------------

    def take_camera(self, camera_id: str, before: Holder) -> None:
        """This node won the camera's lease: redo and recover what its previous holder left
        (on the shared storage folder), then start its worker; a take-over from a node that
        stopped renewing is an alert."""
        assert self._applier is not None and self.node is not None
        moved_from = None
        if before.node and before.node != self.node:
            how = "taken over" if not before.released else "handed over"
            moved_from = f"{how} from node {before.node} at {datetime.now(UTC):%H:%M:%S} UTC"
            reason = (f"recorder node {before.node} stopped renewing its lease "
                      f"(expired {before.expires_at:%Y-%m-%d %H:%M:%S} UTC)" if not before.released
                      else f"recorder node {before.node} let the camera go")
        else:
            reason = SERVICE_DIED
        if not self._applier.take_over(camera_id, reason=reason).wait(120):
            log.warning("camera %s: recovery of earlier leftovers still runs; starting anyway", camera_id)
        if moved_from and not before.released:
            log.warning("camera %s: %s", camera_id, moved_from)
            self._applier.submit(alert_record({
                "kind": "camera-moved", "camera_id": camera_id, "time": datetime.now(UTC),
                "message": f"Camera {camera_id} {moved_from}: {reason}; node {self.node} records it now",
            }))
        camera = self._camera(camera_id)
        with self._lock:
            if self._stop.is_set() or camera_id in self._slots or camera is None:
                return
            self._add(camera_id, enabled=camera.enabled)
            slot = self._slots[camera_id]
            slot.status = replace(slot.status, moved_from=moved_from)

    def drop_camera(self, camera_id: str) -> None:
        """Stop the camera's worker (it seals its clip), then write its journals."""
        with self._lock:
            slot = self._slots.pop(camera_id, None)
            if slot is None:
                return
            self._stop_slot(slot)
        if slot.process is not None:
            slot.process.join(15)
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join(2)
        if self._applier is not None and slot.worker:
            crashed = slot.process is not None and slot.process.exitcode != 0
            self._applier.worker_gone(camera_id, slot.worker, recover=crashed).wait(120)

    def lease_status(self, camera_id: str) -> dict[str, object]:
        with self._lock:
            slot = self._slots.get(camera_id)
            status = slot.status if slot is not None else CameraStatus(camera_id, "starting")
        return {"state": status.state, "fps": status.fps, "last_error": status.last_error,
                "restarts": status.restarts, "moved_from": status.moved_from,
                "last_frame": status.last_frame.isoformat() if status.last_frame else None}

    def _camera(self, camera_id: str) -> Camera | None:
        return next((c for c in self.config.cameras if c.id == camera_id), None)

    def _store_problem(self) -> str | None:
        """The object store's backlog, shown like the database's: on every recording camera."""
        backlog = self.uploader.backlog() if self.uploader is not None else None
        if backlog is None or not backlog.waiting or not backlog.last_error:
            return None
        return (f"object store unavailable ({backlog.last_error}): recording continues, "
                f"{backlog.waiting} clip upload(s) waiting")

    def _sealed(self, _message: SealedMessage) -> None:
        if self.uploader is not None:
            self.uploader.wake()

    def _committed_alert(self, message: AlertMessage) -> None:
        """Staff hear of an alert once it is committed: on the board and on their channels."""
        if self.notifier is not None:
            self.notifier.submit(message)
        self._on_alert(message)

    def apply_config(self, config: Config) -> None:
        """Push edited zones, schedules and privacy to running workers; add or stop cameras."""
        old = {c.id: c for c in self.config.cameras}
        self.config = config
        if self.notifier is not None:
            self.notifier.apply_config(config)
        with self._lock:
            for camera in config.cameras:
                previous = old.get(camera.id)
                slot = self._slots.get(camera.id)
                if slot is None:
                    if self.keeper is None:  # with leases, the keeper starts new cameras
                        self._add(camera.id, enabled=camera.enabled)
                elif not camera.enabled:
                    self._stop_slot(slot)
                    slot.status = replace(slot.status, state="disabled")
                elif previous is None or previous.source != camera.source or previous.loop != camera.loop \
                        or slot.process is None:
                    self._restart_now(camera.id, slot)
                else:
                    slot.control.put(("config", config))
            for camera_id in set(self._slots) - {c.id for c in config.cameras}:
                slot = self._slots.pop(camera_id)
                self._stop_slot(slot)
                self._exited.append((camera_id, slot.worker))

    # -- internals (called with the lock held) ---------------------------------------------

    def _add(self, camera_id: str, *, enabled: bool) -> None:
        slot = _Slot(None, self._ctx.Queue(), CameraStatus(camera_id, "starting"), Backoff())
        self._slots[camera_id] = slot
        if enabled:
            self._spawn(camera_id, slot)
        else:
            slot.status = CameraStatus(camera_id, "disabled")

    def _spawn(self, camera_id: str, slot: _Slot) -> None:
        slot.worker = uuid.uuid4().hex[:12]
        self._senders.pop(slot.token, None)
        slot.token = secrets.token_hex(16)
        self._senders[slot.token] = camera_id
        args = WorkerArgs(self.config, camera_id, slot.worker, slot.token, self._user_of(camera_id))
        process = self._ctx.Process(
            target=worker_main, args=(args, self._messages, slot.control),
            name=f"hotspot-{camera_id}", daemon=True,
        )
        start_without_main(process)
        slot.process, slot.restart_at, slot.started_at = process, None, time.monotonic()
        slot.status = replace(slot.status, pid=process.pid, state="starting" if not slot.status.restarts else slot.status.state)

    def _user_of(self, camera_id: str) -> WorkerUser | None:
        """Who the camera's worker runs as; a camera added since the start gets its user (its
        own uid, per camera) and its folders now."""
        runtime = self._runtime
        assert runtime is not None
        users = runtime.worker_users
        if users is None:
            return None
        if camera_id not in users:
            added = worker_users(self.config.storage, runtime.paths.root, [camera_id], runtime.modes)
            assert added is not None, "workers had users at start, so they have now"
            users.update(added)
            runtime.modes = replace(runtime.modes, workers=owners(users))
            camera_folders(runtime.paths.root, camera_id, runtime.modes)
            check_reachable(runtime.paths.root, users[camera_id])
        return users[camera_id]

    def _stop_slot(self, slot: _Slot) -> None:
        if slot.process is not None and slot.process.is_alive():
            slot.control.put(("stop", None))
        slot.restart_at = None

    def _restart_now(self, camera_id: str, slot: _Slot) -> None:
        if slot.process is not None:
            if slot.process.is_alive():
                slot.control.put(("stop", None))
                slot.process.join(10)
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join(2)
            self._gone(camera_id, slot, crashed=slot.process.exitcode != 0)
        slot.control = self._ctx.Queue()
        self._spawn(camera_id, slot)

    # -- the watch loop --------------------------------------------------------------------

    def _watch(self) -> None:
        next_retention = next_space = time.monotonic()
        while not self._stop.is_set():
            self._drain(timeout=0.2)
            with self._lock:
                for camera_id, slot in self._slots.items():
                    self._check(camera_id, slot)
            if time.monotonic() >= next_space:
                next_space = time.monotonic() + SPACE_EVERY
                self._keep_space()
            if time.monotonic() >= next_retention and self._runtime is not None:
                next_retention = time.monotonic() + RETENTION_EVERY
                self._retention()

    def _keep_space(self) -> None:
        """Free space before a worker finds it short: workers cannot delete clips themselves."""
        assert self._runtime is not None and self._applier is not None
        if self._runtime.below_floor():
            self._applier.make_space()

    def _retention(self) -> None:
        """Old clips go on schedule, not only when the disk fills; a failure waits for next time."""
        assert self._runtime is not None
        try:
            deleted = StorageGuard(self._runtime).enforce_retention(datetime.now(UTC))
        except OperationalError as exc:
            log.warning("retention pass waits for the database: %s", describe_unavailable(exc))
            return
        except Exception:  # a retention failure must never stop supervision
            log.exception("retention pass failed")
            return
        if deleted:
            log.info("retention deleted %d clip(s)", len(deleted))

    def _drain(self, timeout: float = 0.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                message = self._messages.get(timeout=max(0.0, deadline - time.monotonic()))
            except (queue.Empty, OSError, ValueError):
                return
            sender = self._sender(message)
            if sender is None:
                continue
            camera_id, message = sender
            if isinstance(message, StatusMessage):
                self._status(message)
            elif isinstance(message, EditorFrame):
                with self._lock:
                    self._editor_frames[message.camera_id] = (time.monotonic(), message.jpeg)
            elif self._applier is not None:
                self._hand_over(camera_id, message)
            deadline = time.monotonic()  # after the first message, take only what is already there

    def _status(self, message: StatusMessage) -> None:
        with self._lock:
            slot = self._slots.get(message.camera_id)
            if slot is None:
                return
            slot.status = replace(
                slot.status, state=message.state, fps=message.fps,
                decode_mode=message.decode_mode, decoded_fraction=message.decoded_fraction,
                detect_source=message.detect_source, detect_error=message.detect_error,
                main_decoded_fraction=message.main_decoded_fraction,
                last_error=message.last_error or slot.status.last_error,
                last_frame=message.last_frame or slot.status.last_frame,
            )
            if message.state == "online":
                slot.crash_reported = False
                if time.monotonic() - slot.started_at > HEALTHY_AFTER:
                    slot.backoff.reset()

    def _sender(self, envelope: object) -> tuple[str, object] | None:
        """The camera whose worker sent this, by the token only that worker was given; a
        worker that names another camera in a message is still only itself."""
        token, message = envelope if isinstance(envelope, tuple) and len(envelope) == 2 else ("", envelope)
        with self._lock:
            camera_id = self._senders.get(token) if isinstance(token, str) else None
        if camera_id is None:
            log.error("dropped a %s from an unknown sender", type(message).__name__)
            return None
        claimed = getattr(message, "camera_id", camera_id)
        if claimed != camera_id:
            log.error("camera %s: its worker sent a %s in camera %r's name; dropped",
                      camera_id, type(message).__name__, claimed)
            return None
        return camera_id, message

    def _hand_over(self, camera_id: str, message: object) -> None:
        """A worker's record, the end of one of its journals, or its call for space."""
        assert self._applier is not None
        if isinstance(message, WriteRequest):
            self._applier.submit_from_worker(camera_id, message.record)
        elif isinstance(message, JournalDone):
            worker = self._worker_of(camera_id)
            if worker and message.name.startswith(f"{camera_id}.{journal_prefix(worker)}"):
                self._applier.journal_done(camera_id, message.name)
            else:
                log.error("camera %s: its worker named a journal not its own: %r", camera_id, message.name)
        elif isinstance(message, SpaceWanted):
            self._applier.make_space()

    def _worker_of(self, camera_id: str) -> str:
        with self._lock:
            slot = self._slots.get(camera_id)
            return slot.worker if slot is not None else ""

    def _gone(self, camera_id: str, slot: _Slot, *, crashed: bool) -> None:
        """A worker exited: its journals are redone; after a crash, its clips are recovered."""
        if self._applier is not None and slot.worker:
            self._applier.worker_gone(camera_id, slot.worker, recover=crashed)
            slot.worker = ""

    def _check(self, camera_id: str, slot: _Slot) -> None:
        process = slot.process
        if self._stop.is_set() or process is None or slot.status.state == "disabled":
            return
        if process.is_alive():
            return
        if slot.restart_at is None:
            code = process.exitcode
            reason = f"killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
            delay = slot.backoff.next_delay()
            error = f"camera worker {reason}; restarting in {delay:.1f} s"
            log.warning("camera %s: %s", camera_id, error)
            slot.status = replace(slot.status, state="offline", last_error=error, fps=0.0,
                                  restarts=slot.status.restarts + 1)
            slot.restart_at = time.monotonic() + delay
            self._gone(camera_id, slot, crashed=True)
            if not slot.crash_reported:
                slot.crash_reported = True
                self._crash_alert(camera_id, error)
        elif time.monotonic() >= slot.restart_at:
            slot.control = self._ctx.Queue()
            self._spawn(camera_id, slot)

    def _crash_alert(self, camera_id: str, error: str) -> None:
        """Through the record applier, so an alert written while the database is down waits
        for it like every other record."""
        if self._applier is None:
            return
        self._applier.submit(alert_record({
            "kind": "camera-offline", "camera_id": camera_id, "time": datetime.now(UTC),
            "message": f"Camera {camera_id} is offline: {error}",
        }))
