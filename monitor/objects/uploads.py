"""Sealed clips waiting for the object store, kept on disk until the store has confirmed them.

Sealing never waits for the store: a seal only writes one small fsynced file,
``pending/uploads/<clip id>.json``, naming the clip, its hash and until when it must be kept.
The supervisor's ``Uploader`` thread sends the oldest first; only once the store has confirmed
the upload (its SHA-256 checked by the store) does it write the custody entry naming the
object's key, version id and retention date, remove the queue file and, when
``storage.objects.keep_local`` is false, the local copy. A store that is down or a database
that is down leaves the file where it is, retried with a backoff of 1 s doubling to 30 s; a
crash at any point is redone at the next start (a second upload makes a second locked version,
and the custody entry names the one it confirmed).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from evidence.actions import Action
from monitor.objects.bucket import Bucket, ObjectStoreError
from monitor.seal.spool import SPOOL
from monitor.site.folders import Site
from monitor.site.runtime import Runtime
from monitor.store.models import Clip

log = logging.getLogger(__name__)

UPLOADS = "uploads"  # folder under pending/
RETRY_FIRST = 1.0
RETRY_MAX = 30.0
MIN_LOCK = timedelta(days=1)  # a clip uploaded after its retention ended is still kept this long


def uploads_folder(site: Site) -> Path:
    return site.paths.root / SPOOL / UPLOADS


def queue_upload(site: Site, *, clip_id: str, path: str, sha256: str, start: datetime) -> None:
    """Queue a sealed clip for the store (no-op without ``storage.objects``); durable on return.

    Its lock runs until the end of the site's retention period, counted from the clip's start,
    as retention counts it."""
    if site.config.storage.objects is None:
        return
    retain_until = start + timedelta(days=site.config.storage.retention_days)
    record = {"clip_id": clip_id, "path": path, "sha256": sha256, "retain_until": retain_until.isoformat(),
              "queued": datetime.now(UTC).isoformat()}
    folder = uploads_folder(site)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{clip_id}.json"
    temporary = final.with_suffix(".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump(record, handle, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, final)


def stored_entry(runtime: Runtime, clip_id: str) -> dict[str, Any] | None:
    """The custody details of the clip's confirmed upload, if there is one."""
    for entry in runtime.evidence.entries(clip_id):
        if entry.action == Action.STORED:
            return dict(entry.details)
    return None


def is_queued(site: Site, clip_id: str) -> bool:
    """The clip waits for the store: its local copy is the only one and must stay."""
    return (uploads_folder(site) / f"{clip_id}.json").is_file()


def set_object_hold(runtime: Runtime, clip_id: str, *, on: bool) -> str | None:
    """Mirror a legal hold onto the clip's stored version; None when done (or nothing is
    stored yet: the upload then carries the hold), else why it failed."""
    objects = runtime.config.storage.objects
    stored = stored_entry(runtime, clip_id) if objects is not None else None
    if objects is None or stored is None:
        return None
    try:
        bucket = Bucket(objects)
        for key, version in _versions(stored):
            bucket.set_legal_hold(key, version, on=on)
    except ObjectStoreError as exc:
        log.error("clip %s: %s", clip_id, exc)
        return str(exc)
    return None


def delete_expired_object(runtime: Runtime, clip_id: str, now: datetime) -> str | None:
    """Retention: remove the clip's stored version once its lock has expired. Returns why it
    stays (still locked, or the store refused), None when deleted or never stored."""
    objects = runtime.config.storage.objects
    stored = stored_entry(runtime, clip_id) if objects is not None else None
    if objects is None or stored is None:
        return None
    if (until := _retained_until(stored, now)) is not None:
        return f"locked until {until.isoformat()}"
    try:
        bucket = Bucket(objects)
        for key, version in _versions(stored):
            bucket.delete_version(key, version)
    except ObjectStoreError as exc:
        log.error("clip %s: %s", clip_id, exc)
        return str(exc)
    return None


def locked_until(runtime: Runtime, clip_id: str, now: datetime) -> datetime | None:
    """Until when the store still keeps the clip's version locked, None when it is not stored
    (or the site has no store any more) or the lock has expired."""
    if runtime.config.storage.objects is None:
        return None
    stored = stored_entry(runtime, clip_id)
    return None if stored is None else _retained_until(stored, now)


def _retained_until(stored: dict[str, Any], now: datetime) -> datetime | None:
    until = datetime.fromisoformat(str(stored["retain_until"]))
    return until if until > now else None


def _versions(stored: dict[str, Any]) -> list[tuple[str, str]]:
    """The stored versions a ``stored`` entry names: the clip's, and its original's when kept."""
    versions = [(str(stored["key"]), str(stored["version_id"]))]
    original = stored.get("original")
    if isinstance(original, dict):
        versions.append((str(original["key"]), str(original["version_id"])))
    return versions


@dataclass(frozen=True)
class Backlog:
    """What the dashboard shows: how many clips wait for the store, since when, and why."""

    waiting: int
    oldest: datetime | None
    last_error: str | None


class Uploader:
    """The supervisor's thread that empties ``pending/uploads/`` into the bucket."""

    def __init__(self, runtime: Runtime, *, bucket: Bucket | None = None) -> None:
        objects = runtime.config.storage.objects
        if objects is None:
            raise ValueError("storage.objects is not configured")
        self._runtime = runtime
        self._keep_local = objects.keep_local
        self.bucket = bucket or Bucket(objects)
        self._lock_checked = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None

    def check_at_start(self) -> None:
        """Refuse a bucket without Object Lock (raises ``ObjectLockMissing``); a store that
        cannot be reached only delays the check to the first upload."""
        try:
            self._check_lock()
        except ObjectStoreError as exc:
            if exc.__class__ is not ObjectStoreError:
                raise
            self.last_error = str(exc)
            log.warning("object store unreachable at start, uploads wait: %s", exc)

    def _check_lock(self) -> None:
        if not self._lock_checked:
            self.bucket.check_object_lock()
            self._lock_checked = True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="uploader", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(30)

    def wake(self) -> None:
        """A clip was queued: try now rather than at the next retry."""
        self._wake.set()

    def backlog(self) -> Backlog:
        queued = self._queued()
        oldest = None
        if queued:
            oldest = datetime.fromtimestamp(queued[0].stat().st_mtime, UTC)
        return Backlog(waiting=len(queued), oldest=oldest, last_error=self.last_error if queued else None)

    def _queued(self) -> list[Path]:
        folder = uploads_folder(self._runtime)
        files = []
        for path in folder.glob("*.json"):
            try:
                files.append((path.stat().st_mtime, path))
            except FileNotFoundError:
                continue
        return [path for _, path in sorted(files)]

    def _run(self) -> None:
        delay = RETRY_FIRST
        while not self._stop.is_set():
            if self.drain():
                delay = RETRY_FIRST
                self._wake.wait(RETRY_MAX)
            else:
                self._wake.wait(delay)
                delay = min(delay * 2, RETRY_MAX)
            self._wake.clear()

    def drain(self) -> bool:
        """Upload everything queued, oldest first; False when the store or the database is away."""
        queued = self._queued()
        for path in queued:
            if self._stop.is_set():
                return True
            try:
                self.upload(path)
            except Exception as exc:  # noqa: BLE001 - the store, the disk or the database: each only delays it
                if isinstance(exc, ObjectStoreError) and exc.__class__ is not ObjectStoreError:
                    log.error("%s", exc)  # the bucket lost its lock: say so loudly, keep waiting
                self.last_error = str(exc).splitlines()[0]
                log.warning("upload of %s waits: %s", path.stem, self.last_error)
                return False
        if queued:  # an empty queue says nothing of whether the store answers
            self.last_error = None
        return True

    def upload(self, queued: Path) -> None:
        """Send one queued clip, record it in the custody log, then let the local copy go."""
        try:
            record = json.loads(queued.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except ValueError:
            log.error("%s: not an upload record; removed", queued)
            queued.unlink(missing_ok=True)
            return
        clip_id, relative, sha256 = record["clip_id"], record["path"], record["sha256"]
        local = self._runtime.paths.absolute(relative)
        if stored_entry(self._runtime, clip_id) is not None:
            queued.unlink(missing_ok=True)  # confirmed before a crash or by an earlier redo
            self._let_go(local)
            return
        if not local.is_file():
            log.error("clip %s: %s is gone before its upload; verification reports it", clip_id, relative)
            queued.unlink(missing_ok=True)
            return
        self._check_lock()
        retain_until = max(datetime.fromisoformat(record["retain_until"]), datetime.now(UTC) + MIN_LOCK)
        held = self._held(clip_id)
        stored = self.bucket.put_locked(relative, local, sha256=sha256, retain_until=retain_until, legal_hold=held)
        details: dict[str, Any] = {"bucket": self.bucket.url, "key": stored.key, "version_id": stored.version_id,
                                   "retain_until": stored.retain_until.isoformat(), "mode": "COMPLIANCE"}
        original = self._original(clip_id)
        if original is not None:  # clip and original are one piece of evidence: stored together
            kept = self.bucket.put_locked(original[0], original[1], sha256=original[2], retain_until=retain_until,
                                          legal_hold=held)
            details["original"] = {"key": kept.key, "version_id": kept.version_id}
        self._runtime.evidence.append(Action.STORED, actor="system", clip_id=clip_id, object_sha256=sha256,
                                      details=details)
        queued.unlink(missing_ok=True)
        self._let_go(local)
        if original is not None:
            self._let_go(original[1])
        log.info("clip %s stored as %s (%s), locked until %s", clip_id, stored.key, stored.version_id,
                 stored.retain_until.isoformat())

    def _original(self, clip_id: str) -> tuple[str, Path, str] | None:
        """The clip's sealed original (path, file, SHA-256 of the bytes on disk), when kept."""
        seal = self._runtime.evidence.find_seal(clip_id)
        original = seal.details.get("original") if seal is not None else None
        if not isinstance(original, dict) or not original.get("path") or not original.get("ciphertext_sha256"):
            return None
        path = self._runtime.paths.absolute(str(original["path"]))
        return (str(original["path"]), path, str(original["ciphertext_sha256"])) if path.is_file() else None

    def _held(self, clip_id: str) -> bool:
        with self._runtime.sessions() as session:
            row = session.get(Clip, clip_id)
            return bool(row is not None and row.legal_hold)

    def _let_go(self, local: Path) -> None:
        if not self._keep_local:
            local.unlink(missing_ok=True)
