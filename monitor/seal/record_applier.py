"""The supervisor's side of the workers' records: written in order, on a thread of their own.

Camera workers hold no database and no signing key; they send their clip, seal and alert
records here (``monitor.seal.worker_outbox``). One thread writes them, so a locked or unreachable
database holds neither the supervisor's watch over the workers nor any camera's capture.
The same thread redoes a dead worker's journals, recovers the clips it left open, and
frees space for recording.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import OperationalError

from evidence.errors import KeyringError
from monitor.seal.admission import RecordRefused, worker_origin
from monitor.seal.crash_recovery import SERVICE_DIED, recover_camera
from monitor.seal.database_outbox import DatabaseOutbox
from monitor.seal.worker_outbox import journal_prefix
from monitor.site.runtime import Runtime
from monitor.store.db import describe_unavailable
from monitor.workers.messages import AlertMessage, SealedMessage

log = logging.getLogger(__name__)

IDLE = 0.5  # seconds between looks at retries, recoveries and the database while nothing arrives
CONNECT_EVERY = 2.0
WORKER_DIED = "the camera worker stopped unexpectedly"


def _idle() -> None:
    """Nothing arrived."""


class RecordApplier:
    def __init__(self, runtime: Runtime, *, on_alert: Callable[[AlertMessage], None],
                 on_sealed: Callable[[SealedMessage], None] | None = None) -> None:
        self._runtime = runtime
        self.outbox = DatabaseOutbox(runtime, on_alert=on_alert, on_sealed=on_sealed)
        self._tasks: queue.Queue[Callable[[], object] | None] = queue.Queue()  # results are ignored
        # camera -> (clips begun before this are orphans, why they were left open)
        self._recoveries: dict[str, tuple[datetime, str]] = {}
        self._connect_at = 0.0
        self._thread = threading.Thread(target=self._run, name="record-applier", daemon=True)

    def start(self) -> None:
        self._thread.start()

    # -- called from the supervisor's threads ----------------------------------------------

    def submit(self, record: dict[str, Any]) -> None:
        """A record of the supervisor's own."""
        self._tasks.put(lambda: self.outbox.submit(record))

    def submit_from_worker(self, camera_id: str, record: dict[str, Any]) -> None:
        """A record from the worker of ``camera_id`` (as the supervisor knows it, not as the
        record says): it may only concern that camera (``monitor.seal.admission``)."""
        self._tasks.put(lambda: self._from_worker(camera_id, record))

    def _from_worker(self, camera_id: str, record: dict[str, Any]) -> None:
        try:
            self.outbox.submit(record, origin=worker_origin(camera_id))
        except RecordRefused as exc:
            log.error("camera %s: refused a record from its worker: %s", camera_id, exc)

    def journal_done(self, camera_id: str, name: str) -> None:
        """Everything before this in the queue came from that journal: redo what a full pipe
        may have dropped, then the file can go."""
        prefix = name.removeprefix(f"{camera_id}.").removesuffix(".jsonl")
        self._tasks.put(lambda: self.outbox.redo_spooled(camera_id, prefix=prefix))

    def worker_gone(self, camera_id: str, worker: str, *, recover: bool) -> threading.Event:
        """Redo the journals of a worker that has exited; after a crash, also seal or
        quarantine the clips it left open (those begun before now: its successor's are newer).
        The event is set once the journals are redone."""
        cutoff = datetime.now(UTC)
        done = threading.Event()

        def task() -> None:
            try:
                self.outbox.redo_spooled(camera_id, prefix=journal_prefix(worker))
                if recover:
                    self._recoveries[camera_id] = (cutoff, WORKER_DIED)
            finally:
                done.set()

        self._tasks.put(task)
        return done

    def take_over(self, camera_id: str, *, reason: str) -> threading.Event:
        """A camera comes to this node from another: redo every journal and queue earlier
        processes left for it, then seal as ``recovered`` (or quarantine) the clips they left
        open. Call before this node's worker starts, whose journal must not be taken for a
        leftover; the event is set once done (or once the recovery is left to wait for the
        database)."""
        cutoff = datetime.now(UTC)
        done = threading.Event()

        def task() -> None:
            try:
                self.outbox.redo_spooled(camera_id)
                if self.outbox.pending or not self._recover(camera_id, cutoff, reason):
                    self._recoveries[camera_id] = (cutoff, reason)
            finally:
                done.set()

        self._tasks.put(task)
        return done

    def recover_later(self, camera_id: str) -> None:
        """The start-up pass could not run: recover this camera once the database answers."""
        cutoff = datetime.now(UTC)
        self._tasks.put(lambda: self._recoveries.setdefault(camera_id, (cutoff, SERVICE_DIED)))

    def make_space(self) -> None:
        self._tasks.put(self._make_space)

    def database_problem(self) -> str | None:
        pending = self.outbox.pending
        if self._runtime.connected and not pending:
            return None
        reason = self._runtime.database_error or "not reachable"
        return f"database unavailable ({reason}): recording continues, {pending} alert/seal write(s) waiting"

    def stop(self, redo: list[tuple[str, str]]) -> None:
        """Write what has arrived, redo the journals of the workers ``redo`` names (camera,
        worker), then try hard to empty the queue before the process exits."""
        self._tasks.put(None)
        if self._thread.is_alive():
            self._thread.join()
        for camera_id, worker in redo:
            self.outbox.redo_spooled(camera_id, prefix=journal_prefix(worker))
        self.outbox.retry(block=True)

    # -- the writer thread -----------------------------------------------------------------

    def _run(self) -> None:
        upkeep_at = 0.0
        while True:
            try:
                task = self._tasks.get(timeout=IDLE)
            except queue.Empty:
                task = _idle
            if task is None:
                return
            try:
                task()
            except Exception:  # one bad record must not stop every camera's writes
                log.exception("writing a camera record failed")
            if time.monotonic() >= upkeep_at:  # also on a busy site, where the queue is never empty
                upkeep_at = time.monotonic() + IDLE
                self._upkeep()

    def _upkeep(self) -> None:
        self.outbox.retry()
        if not self._runtime.connected and time.monotonic() >= self._connect_at:
            self._connect_at = time.monotonic() + CONNECT_EVERY
            try:
                self._runtime.try_connect()
            except KeyringError as exc:  # the database came back, the key is refused: nothing is signed
                self._runtime.database_error = f"signing key refused: {exc}"
                log.error("%s", self._runtime.database_error)
        if self._recoveries and self._runtime.connected and not self.outbox.pending:
            for camera_id, (cutoff, reason) in list(self._recoveries.items()):
                if self._recover(camera_id, cutoff, reason):
                    del self._recoveries[camera_id]

    def _recover(self, camera_id: str, cutoff: datetime, reason: str) -> bool:
        try:
            recover_camera(self._runtime, camera_id, reason=reason, before=cutoff)
        except OperationalError as exc:
            log.warning("camera %s: recovery waits for the database: %s", camera_id, describe_unavailable(exc))
            return False
        return True

    def _make_space(self) -> None:
        try:
            self.outbox.make_space()
        except OperationalError as exc:
            log.warning("freeing space waits for the database: %s", describe_unavailable(exc))


