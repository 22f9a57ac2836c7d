"""Database writes that survive a locked or unreachable database, in order, off the capture path.

The first attempt of a write runs in the caller's thread (the supervisor's record applier, or
the pipeline itself in ``hotspot analyze``), so a healthy database sees it at once. What fails
is queued; once anything waits, later writes queue behind it without touching the database (a
clip row must land before its alert and its seal), and a background thread retries the oldest
one with a backoff of 0.5 s doubling to 5 s. A dead server or a long SQLite lock therefore
holds the caller for one attempt at most.

A signing key the custody log refuses (swapped or restored while running) is treated the same
way: nothing is signed, the writes wait, and they go through once the right key is back.

The queue is kept on disk too (``pending/<camera>.<id>.jsonl`` under the storage folder, one
fsynced JSON line per write) until it drains, so a kill or a power cut during an outage loses
nothing: the recovery pass at the next start redoes the file. A write may therefore run twice, and every
write must be idempotent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy.exc import OperationalError

from evidence.errors import KeyringError
from monitor.seal.spool import SPOOL, Spool
from monitor.site.runtime import Runtime
from monitor.store.db import describe_unavailable, with_retry

log = logging.getLogger(__name__)

RETRY_FIRST = 0.5  # seconds before the first retry of queued writes; doubles up to RETRY_MAX
RETRY_MAX = 5.0


@dataclass(frozen=True)
class Write:
    """One unit of database work, and the JSON record from which a later process can redo it."""

    work: Callable[[], None]
    what: str
    camera_id: str
    record: dict[str, Any]


@dataclass
class Outage:
    """Writes waited for the database: since when, why, how many, for which camera, and where
    they are kept on disk meanwhile."""

    since: datetime
    camera_id: str
    reason: str
    spool: Spool
    queued: int = 0


class OutageQueue:
    """One process's database writes, in order; what fails waits here and is retried."""

    def __init__(self, runtime: Runtime, *, on_drained: Callable[[Outage], None]) -> None:
        self._runtime = runtime
        self._on_drained = on_drained
        self._lock = threading.Lock()
        self._pending: list[Write] = []
        self._outage: Outage | None = None
        self._retry_at = 0.0
        self._retry_delay = RETRY_FIRST
        self._retrier: threading.Thread | None = None

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def _attempt(self, work: Callable[[], None]) -> None:
        """The schema may not exist yet when the process started without a database."""
        self._runtime.connect()
        work()
        self._runtime.database_error = None

    def run(self, write: Write) -> None:
        """Run a unit of work now, or keep it for later if the database does not answer.

        One attempt only: SQLite's busy handler has already waited ``storage.busy_timeout``,
        a PostgreSQL host that drops packets costs the whole connect timeout per attempt, and
        a queued write is retried within half a second anyway.
        """
        with self._lock:
            if self._pending:  # keep order: a clip row must exist before its alert and its seal
                self._defer(write, None)
                return
        try:
            self._attempt(write.work)
        except (OperationalError, KeyringError) as exc:
            log.error("deferring %s: %s", write.what, _reason(exc))
            with self._lock:
                self._defer(write, exc)

    def _defer(self, write: Write, exc: OperationalError | KeyringError | None) -> None:
        """Called with the lock held."""
        self._pending.append(write)
        reason = _reason(exc) if exc is not None else None
        if reason is not None:
            self._runtime.database_error = reason
        if self._outage is None:
            spool = Spool(self._runtime.paths.root / SPOOL, write.camera_id)
            self._outage = Outage(datetime.now(UTC), write.camera_id, reason or "unavailable", spool)
            self._retry_delay = RETRY_FIRST
            self._retry_at = time.monotonic() + RETRY_FIRST
        self._outage.queued += 1
        self._outage.spool.append(write.record)

    def retry(self, *, block: bool = False) -> None:
        """Without ``block``: start a background retry when the backoff allows, and return.
        With ``block`` (shutdown): wait for it, then try hard (about 18 s) in this thread."""
        if block:
            if self._retrier is not None:
                self._retrier.join()
            self._drain(attempts=8)
            return
        with self._lock:
            due = bool(self._pending) and time.monotonic() >= self._retry_at
            if not due or (self._retrier is not None and self._retrier.is_alive()):
                return
            self._retrier = threading.Thread(target=self._drain, kwargs={"attempts": 1},
                                             name="database-retry", daemon=True)
        self._retrier.start()

    def _drain(self, *, attempts: int) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    outage, self._outage = self._outage, None
                    break
                write = self._pending[0]
            try:
                with_retry(partial(self._attempt, write.work), attempts=attempts, delay=0.25)
            except (OperationalError, KeyringError) as exc:
                with self._lock:
                    self._runtime.database_error = _reason(exc)
                    self._retry_delay = min(self._retry_delay * 2, RETRY_MAX)
                    self._retry_at = time.monotonic() + self._retry_delay
                return
            with self._lock:
                self._pending.pop(0)
        if outage is not None:
            outage.spool.remove()
            self._on_drained(outage)


def _reason(exc: OperationalError | KeyringError) -> str:
    if isinstance(exc, KeyringError):
        return f"signing key refused, nothing is signed until it is fixed: {exc}"
    return describe_unavailable(exc)
