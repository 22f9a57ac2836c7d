"""A camera worker's outbox: each record goes to disk, then to the supervisor to write.

The record is fsynced to the worker's journal
(``journals/<camera>/<camera>.journal-<worker>-<n>.jsonl``, a folder only this camera's worker writes)
before it is sent, so a worker killed with a message still in its pipe loses nothing: the
supervisor redoes a dead worker's journals. After ``JOURNAL_RECORDS`` records, or
``JOURNAL_SECONDS`` after its first one, the worker starts the next file and sends a
``JournalDone`` behind them; the supervisor redoes that file once everything before it is
written, then deletes it. So a record lost on the way waits at most that long.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
import time
import uuid
from typing import Any

from monitor.seal.spool import JOURNAL, Spool, journal_folder
from monitor.site.folders import Site
from monitor.workers.messages import JournalDone, SpaceWanted, WriteRequest

log = logging.getLogger(__name__)

JOURNAL_RECORDS = 200
JOURNAL_SECONDS = 600.0
SEND_TIMEOUT = 5.0  # seconds a full message queue may hold capture; the journal keeps the rest


def journal_prefix(worker: str) -> str:
    """How the supervisor finds one worker's journals."""
    return f"{JOURNAL}{worker}-"


class WorkerOutbox:
    def __init__(self, site: Site, camera_id: str, messages: mp.Queue, *, worker: str | None = None) -> None:  # type: ignore[type-arg]
        self._site = site
        self._camera_id = camera_id
        self._messages = messages
        self._prefix = journal_prefix(worker or uuid.uuid4().hex)
        self._files = 0
        self._journal = self._next_journal()
        self._written = 0
        self._first_at = 0.0
        self._space_asked = False

    def _next_journal(self) -> Spool:
        self._files += 1
        folder = journal_folder(self._site.paths.root, self._camera_id)
        return Spool(folder, self._camera_id, f"{self._prefix}{self._files:06d}")

    def submit(self, record: dict[str, Any]) -> None:
        self._journal.append(record)
        self._send(WriteRequest(self._camera_id, record))
        if not self._written:
            self._first_at = time.monotonic()
        self._written += 1
        if self._written >= JOURNAL_RECORDS:
            self._close_journal()

    def _close_journal(self) -> None:
        done, self._journal, self._written = self._journal, self._next_journal(), 0
        self._send(JournalDone(self._camera_id, done.path.name))

    def _send(self, message: object) -> None:
        """Blocks only while the supervisor's queue is full; a record that cannot be sent
        stays in the journal and is written when its file is redone."""
        try:
            self._messages.put(message, timeout=SEND_TIMEOUT)
        except queue.Full:
            log.error("camera %s: supervisor not taking messages; %s waits in %s",
                      self._camera_id, type(message).__name__, self._journal.path.name)

    def retry(self, *, block: bool = False) -> None:
        """Close a journal that is old enough (every journal at shutdown, ``block``); the
        supervisor retries what the database refuses."""
        if self._written and (block or time.monotonic() - self._first_at >= JOURNAL_SECONDS):
            self._close_journal()

    @property
    def pending(self) -> int:
        return 0

    def make_space(self) -> bool:
        """Room to record now; below the floor the supervisor, which may delete clips, is asked
        to free space, and recording waits (the pipeline checks again every second)."""
        enough = not self._site.below_floor()
        if not enough and not self._space_asked:
            self._send(SpaceWanted(self._camera_id))
        self._space_asked = not enough
        return enough
