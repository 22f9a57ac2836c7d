"""Retention and the free-space floor: the only code that deletes footage.

Every deletion is a signed custody entry written *before* the file goes, so verification tells
"deleted by retention" from "missing", and a crash between the two leaves a file the log already
accounts for (the next retention pass finishes the job without writing a second entry). Workers
and the supervisor free space concurrently, so each deletion first claims its clip row. Clips on legal
hold are never deleted, not even to make room: when only held clips remain, recording pauses.

A clip whose version in the object store is still locked is not deleted either: only its local
copy goes (as with ``keep_local: false``), the clip stays sealed and is played, downloaded and
verified from the store, and retention deletes it, entry first, once the lock has expired.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, and_, or_, select, update

from evidence.actions import Action
from monitor.objects.uploads import delete_expired_object, is_queued, locked_until, stored_entry
from monitor.site.runtime import Runtime
from monitor.store.db import with_retry
from monitor.store.models import Clip

log = logging.getLogger(__name__)

SPACE_BATCH = 8  # clips fetched per query while freeing space
DELETING = "deleting"  # a clip row's status while one process deletes it
T = TypeVar("T")


@dataclass(frozen=True)
class _Candidate:
    clip_id: str
    path: str
    sha256: str | None
    start: datetime


class StorageGuard:
    """Deletes old or surplus sealed clips of one site, leaving a signed entry for each."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._storage = runtime.config.storage

    def free_mb(self) -> float:
        """Free space on the filesystem holding the storage folder, in MiB."""
        return self._runtime.free_mb()

    def expired(self, now: datetime) -> list[str]:
        """Ids of the clips retention would delete at ``now``, oldest first (for a dry run); a
        clip the object store still keeps locked would only lose its local copy."""
        return [c.clip_id for c in self._candidates(before=self._cutoff(now))
                if locked_until(self._runtime, c.clip_id, now) is None]

    def enforce_retention(self, now: datetime) -> list[str]:
        """Delete sealed, unheld clips that started more than ``retention_days`` before ``now``."""
        cutoff = self._cutoff(now)
        deleted = self._finish_interrupted(now)
        for candidate in self._candidates(before=cutoff):
            if self._delete(candidate, now, reason=f"older than {self._storage.retention_days} days"):
                deleted.append(candidate.clip_id)
        return deleted

    def ensure_space(self, needed_mb: float = 0) -> bool:
        """Delete the oldest unheld sealed clips until ``min_free_mb + needed_mb`` is free.

        Returns False when the floor cannot be reached without touching held clips: the caller
        must pause recording and say so.
        """
        if needed_mb < 0:
            raise ValueError(f"needed_mb must not be negative, got {needed_mb}")
        floor = self._storage.min_free_mb + needed_mb
        now = datetime.now(UTC)
        after: _Candidate | None = None  # clips kept sealed (in the store) stay candidates: page past them
        while self.free_mb() < floor:
            batch = self._rows(limit=SPACE_BATCH, after=after)
            if not batch:
                log.error("storage: %.1f MiB free, floor %.1f MiB, and only held clips remain",
                          self.free_mb(), floor)
                return False
            for candidate in self._unqueued(batch):
                self._delete(candidate, now, reason=f"free space below {floor:g} MiB")
                if self.free_mb() >= floor:
                    return True
            after = batch[-1]
        return True

    # -- internals -------------------------------------------------------------------------

    def _cutoff(self, now: datetime) -> datetime:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return now - timedelta(days=self._storage.retention_days)

    def _candidates(self, *, before: datetime | None = None) -> list[_Candidate]:
        """Sealed clips not on hold and not waiting for the store, oldest first."""
        return self._unqueued(self._rows(before=before))

    def _rows(self, *, before: datetime | None = None, limit: int | None = None,
              after: _Candidate | None = None) -> list[_Candidate]:
        """Sealed clips not on hold, oldest first (after ``after`` in that order)."""
        query = select(Clip.id, Clip.path, Clip.sha256, Clip.start).where(
            Clip.status == "sealed", Clip.legal_hold.is_(False)
        ).order_by(Clip.start, Clip.id)
        if before is not None:
            query = query.where(Clip.start < before)
        if after is not None:
            query = query.where(or_(Clip.start > after.start,
                                    and_(Clip.start == after.start, Clip.id > after.clip_id)))
        if limit is not None:
            query = query.limit(limit)

        def read() -> list[_Candidate]:
            with self._runtime.sessions() as session:
                return [_Candidate(*row) for row in session.execute(query)]

        return _retry(read)

    def _unqueued(self, rows: list[_Candidate]) -> list[_Candidate]:
        # a clip still waiting for the object store has no other copy: it stays until uploaded
        return [c for c in rows if not is_queued(self._runtime, c.clip_id)]

    def _delete(self, candidate: _Candidate, now: datetime, *, reason: str) -> bool:
        """Claim, entry, file, row. False when another process claimed the clip first or it
        was put on legal hold in the meantime: the claim is one conditional UPDATE, so two
        workers freeing space at once never both delete (and log) the same clip. False too for
        a clip whose stored version is still locked: only its local copy goes."""
        if (until := locked_until(self._runtime, candidate.clip_id, now)) is not None:
            self._let_local_go(candidate, until, reason=reason)
            return False
        if not self._claim(candidate.clip_id):
            return False
        return self._finish(candidate, now, reason=reason)

    def _let_local_go(self, candidate: _Candidate, until: datetime, *, reason: str) -> None:
        """Remove the local copies of a clip the store keeps locked; the clip stays sealed."""
        original = self._original_path(candidate.clip_id)
        for relative in (candidate.path, *([original] if original else [])):
            path = self._runtime.paths.absolute(relative)
            if path.is_file():
                path.unlink()
                log.info("storage: clip %s: local copy %s removed (%s); the object store keeps it, "
                         "locked until %s", candidate.clip_id, relative, reason, until.isoformat())

    def _finish(self, candidate: _Candidate, now: datetime, *, reason: str) -> bool:
        """Entry (once), local files, stored version, row; False while the store keeps the version."""
        original = self._original_path(candidate.clip_id)
        if not self._deletion_logged(candidate.clip_id):
            age = now - _aware(candidate.start)
            details = {"path": candidate.path, "age_days": round(age.total_seconds() / 86400, 3), "reason": reason}
            if original is not None:
                details["original_path"] = original
            if (stored := stored_entry(self._runtime, candidate.clip_id)) is not None:  # it goes too
                details["object"] = {"key": stored["key"], "version_id": stored["version_id"]}
            self._runtime.evidence.append(
                Action.DELETED_BY_RETENTION, actor="system", clip_id=candidate.clip_id,
                object_sha256=candidate.sha256, details=details,
            )
        self._runtime.paths.absolute(candidate.path).unlink(missing_ok=True)
        if original is not None:  # clip and original are one piece of evidence: they go together
            self._runtime.paths.absolute(original).unlink(missing_ok=True)
        kept = delete_expired_object(self._runtime, candidate.clip_id, now)
        if kept:  # stays claimed: the next retention pass tries again, without a second entry
            log.warning("storage: clip %s: its object-store copy stays: %s", candidate.clip_id, kept)
            return False
        self._set_status(candidate.clip_id, "deleted")
        log.info("storage: deleted clip %s (%s)", candidate.clip_id, reason)
        return True

    def _original_path(self, clip_id: str) -> str | None:
        seal = self._runtime.evidence.find_seal(clip_id)
        original = seal.details.get("original") if seal is not None else None
        return str(original["path"]) if isinstance(original, dict) and original.get("path") else None

    def _claim(self, clip_id: str) -> bool:
        claim = update(Clip).where(
            Clip.id == clip_id, Clip.status == "sealed", Clip.legal_hold.is_(False)
        ).values(status=DELETING)

        def write() -> bool:
            with self._runtime.sessions.begin() as session:
                # an UPDATE yields a CursorResult; Session.execute() is typed as any Result
                return bool(cast(CursorResult[Any], session.execute(claim)).rowcount)

        return _retry(write)

    def _finish_interrupted(self, now: datetime) -> list[str]:
        """Complete deletions a crash cut short (claimed, maybe logged, file maybe still there)."""
        query = select(Clip.id, Clip.path, Clip.sha256, Clip.start).where(Clip.status == DELETING)

        def read() -> list[_Candidate]:
            with self._runtime.sessions() as session:
                return [_Candidate(*row) for row in session.execute(query)]

        return [c.clip_id for c in _retry(read)
                if self._finish(c, now, reason="a deletion interrupted by a crash")]

    def _deletion_logged(self, clip_id: str) -> bool:
        return any(e.action == Action.DELETED_BY_RETENTION for e in self._runtime.evidence.entries(clip_id))

    def _set_status(self, clip_id: str, status: str) -> None:
        def write() -> None:
            with self._runtime.sessions.begin() as session:
                session.execute(update(Clip).where(Clip.id == clip_id).values(status=status))

        _retry(write)


def _retry(action: Callable[[], T]) -> T:
    return with_retry(action, attempts=6, delay=0.2)


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes for what was stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
