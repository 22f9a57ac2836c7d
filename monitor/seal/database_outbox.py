"""Records written to the database and the custody log, without ever losing one.

Every write goes through a ``OutageQueue``, so a busy or unreachable database delays writes
instead of losing them or stalling the caller. Once the queue drains, an alert of kind
``database`` tells staff how long writes waited and how many there were.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from evidence.hashing import sha256_file
from monitor.objects.uploads import queue_upload
from monitor.seal.admission import SERVICE, Origin, admit, replayed_origin
from monitor.seal.clip_sealer import alert_record, sidecar_path
from monitor.seal.outage_queue import Outage, OutageQueue, Write
from monitor.seal.quarantine import quarantine_file
from monitor.seal.spool import SPOOL, is_journal, spooled
from monitor.site.runtime import Runtime
from monitor.site.storage_guard import StorageGuard
from monitor.store.alert_channel import notify_alert
from monitor.store.models import Alert, Clip
from monitor.workers.messages import AlertMessage, SealedMessage

log = logging.getLogger(__name__)


class DatabaseOutbox:
    """Writes records in order; ``on_alert`` hears of each alert once it is committed and
    ``on_sealed`` of each sealed clip."""

    def __init__(
        self, runtime: Runtime, *, on_sealed: Callable[[SealedMessage], None] | None = None,
        on_alert: Callable[[AlertMessage], None] | None = None,
    ) -> None:
        self._runtime = runtime
        self._on_sealed = on_sealed or (lambda _m: None)
        self._on_alert = on_alert or (lambda _m: None)
        self._writes = OutageQueue(runtime, on_drained=self._report_outage)
        self._guard = StorageGuard(runtime)

    def submit(self, record: dict[str, Any], *, origin: Origin = SERVICE) -> None:
        """Parse ``record`` now (a bad one fails here, not in a retry) and write it.

        ``origin``: who handed it over (see ``monitor.seal.admission``); a record its sender
        may not write raises ``RecordRefused``."""
        self._writes.run(self._write(record, origin))

    def retry(self, *, block: bool = False) -> None:
        self._writes.retry(block=block)

    @property
    def pending(self) -> int:
        return self._writes.pending

    def make_space(self) -> bool:
        return self._guard.ensure_space()

    def _report_outage(self, outage: Outage) -> None:
        """Staff must learn that the database was down even if nobody watched the status."""
        now = datetime.now(UTC)
        waited = (now - outage.since).total_seconds()
        log.warning("database back: %d queued write(s) saved after up to %.1f s", outage.queued, waited)
        self.submit(alert_record({
            "kind": "database", "camera_id": outage.camera_id, "time": now,
            "message": f"The database was unavailable ({outage.reason}): {outage.queued} alert/seal "
                       f"write(s) waited up to {waited:.0f} s and were saved when it returned",
        }))

    # -- redoing writes an earlier process queued -----------------------------------------

    def redo_spooled(self, camera_id: str, *, prefix: str = "") -> int:
        """Write what an earlier process of this camera queued or journaled and may not have
        written before it died (``prefix``: only that process's files); redoing is harmless.

        Records from outage queues are reported to staff with a ``database`` alert; journals
        are the normal path of a worker's records and most were written already.
        """
        done = queued = 0
        for spool in spooled(self._runtime.paths.root / SPOOL, camera_id, prefix=prefix):
            path, records = spool.path, spool.records
            trusted = not is_journal(path) and spool.private
            origin = SERVICE if trusted else replayed_origin(camera_id)
            for record in records:
                try:
                    write = self._write(record, origin)
                except (KeyError, TypeError, ValueError) as exc:
                    log.error("%s: cannot redo %r: %s", path, record.get("op"), exc)
                    continue
                self._writes.run(write)
                done += 1
                queued += not is_journal(path)
            path.unlink()
        if queued:
            log.warning("camera %s: redid %d write(s) queued before a restart", camera_id, queued)
            self.submit(alert_record({
                "kind": "database", "camera_id": camera_id, "time": datetime.now(UTC),
                "message": f"{queued} alert/seal write(s) queued while the database was unavailable, "
                           "before the camera worker restarted, were redone when it returned",
            }))
        return done

    # -- the writes, each built from its JSON record and safe to run twice ------------------

    def _write(self, record: dict[str, Any], origin: Origin) -> Write:
        admit(record, origin)
        op = record["op"]
        if op == "clip":
            return Write(self._insert_clip(record, origin), f"recording clip {record['id']}",
                         record["camera_id"], record)
        if op == "empty":
            return Write(self._mark_empty(record), f"discarding empty clip {record['clip_id']}",
                         record["camera_id"], record)
        if op == "seal":
            return Write(self._seal(record), f"sealing clip {record['clip_id']}", record["camera_id"], record)
        if op == "alert":
            fields = record["fields"]
            return Write(self._insert_alert(fields),
                         f"recording a {fields['kind']} alert", fields["camera_id"], record)
        raise ValueError(f"unknown write {op!r}")

    def _insert_clip(self, record: dict[str, Any], origin: Origin) -> Callable[[], None]:
        """The row that lets the clip be sealed later: only the supervisor (or this process)
        seeing it opened makes one, never a record read back from a file."""
        row = {k: record[k] for k in ("id", "event_id", "part", "camera_id", "width", "height", "fps",
                                      "config_hash", "path")}
        start = datetime.fromisoformat(record["start"])
        if origin.replayed:
            return lambda: None  # its row exists if the clip was opened; else its seal is quarantined

        def work() -> None:
            with self._runtime.sessions.begin() as session:
                if session.get(Clip, row["id"]) is None:  # a redo must not undo a later seal
                    session.add(Clip(**row, start=start, zones=[], status="recording"))

        return work

    def _mark_empty(self, record: dict[str, Any]) -> Callable[[], None]:
        """An empty clip's writer has removed its file; a clip whose file is there is not empty
        (a forged line must not keep a recorded clip from its seal or its recovery)."""
        clip_id, camera_id = record["clip_id"], record["camera_id"]
        path = self._runtime.paths.absolute(record["path"])

        def work() -> None:
            if path.is_file():
                log.error("clip %s: 'empty' record for a clip whose file exists; ignored", clip_id)
                return
            with self._runtime.sessions.begin() as session:
                row = session.get(Clip, clip_id)
                if row is not None and row.camera_id == camera_id and row.status == "recording":
                    row.status = "empty"
            sidecar_path(path).unlink(missing_ok=True)

        return work

    def _seal(self, record: dict[str, Any]) -> Callable[[], None]:
        """Sealed with the hash of the file as the supervisor reads it, and only if the clip's
        row shows the supervisor saw it opened; the custody log first, then the row."""
        clip_id, camera_id, relative = record["clip_id"], record["camera_id"], record["path"]
        path = self._runtime.paths.absolute(relative)
        claimed = (str(record["sha256"]), int(record["size"]))
        end = datetime.fromisoformat(record["end"])
        meta = dict(record["metadata"])
        zones = tuple(meta.get("zones", ()))

        def work() -> None:
            evidence = self._runtime.evidence
            seal = evidence.find_seal(clip_id)
            with self._runtime.sessions() as session:
                row = session.get(Clip, clip_id)
                opened = None if row is None else (row.status, row.camera_id, row.path)
                identity = None if row is None else opened_identity(row)
            if seal is None:
                if opened is None or identity is None:
                    self._unknown(clip_id, path, "no record of this clip being opened")
                    return
                if opened != ("recording", camera_id, relative):
                    log.error("clip %s: seal record for %s does not match its row %s; ignored",
                              clip_id, (camera_id, relative), opened)
                    return
                if not path.is_file():
                    log.error("clip %s: %s is missing; the recovery pass will record it", clip_id, relative)
                    return
                digest, size = sha256_file(path), path.stat().st_size
                if (digest, size) != claimed:
                    quarantine_file(self._runtime, clip_id, path, (
                        f"the file hashes to {digest} ({size} bytes) but its camera reported "
                        f"{claimed[0]} ({claimed[1]} bytes): changed after it was closed"))
                    return
                meta.update(identity)
                seal = evidence.seal_clip(clip_id=clip_id, path=relative, sha256=digest, size=size,
                                          metadata=meta, incomplete=record["incomplete"],
                                          original=self._stored_original(record.get("original"), clip_id,
                                                                         camera_id))
            incomplete = seal.details.get("incomplete")  # the custody log wins over a redo
            sealed_meta = seal.details.get("metadata", {})
            start = datetime.fromisoformat(str(sealed_meta.get("start")))
            queue_upload(self._runtime, clip_id=clip_id, path=str(seal.details["path"]),
                         sha256=str(seal.object_sha256), start=start)
            with self._runtime.sessions.begin() as session:
                row = session.get(Clip, clip_id)
                if row is None or row.status != "recording":
                    return  # a redo from a journal, after the clip was sealed, held or deleted
                row.zones = list(zones)
                row.end = end
                row.frame_count = int(record["frame_count"])
                row.sha256 = seal.object_sha256
                row.size_bytes = int(seal.details.get("size") or 0)
                row.status = "sealed"
                row.incomplete_reason = incomplete
                event_id = row.event_id
            sidecar_path(path).unlink(missing_ok=True)
            self._on_sealed(SealedMessage(
                clip_id=clip_id, event_id=event_id, camera_id=camera_id, zones=zones, start=start,
                end=end, path=str(path), sha256=str(seal.object_sha256), incomplete=incomplete,
            ))

        return work

    def _stored_original(self, original: dict[str, Any] | None, clip_id: str,
                         camera_id: str) -> dict[str, Any] | None:
        """The original as it is on disk now: its ciphertext is re-hashed here, where the key
        to sign is, rather than taken from the worker. Its plaintext hash cannot be: for a
        masked camera nobody here can decrypt it (unmasking checks it against this seal).

        A worker names only its own clip's original (``originals/<camera>/<day>/<clip id>.mp4[.age]``)
        and only the site's recipient: another clip's file, or a key of its choosing, is refused."""
        if original is None:
            return None
        recipient = original.get("recipient")
        relative = str(original.get("path", ""))
        parts = relative.split("/")
        expected_name = f"{clip_id}.mp4.age" if recipient is not None else f"{clip_id}.mp4"
        if len(parts) != 4 or parts[:2] != ["originals", camera_id] or parts[3] != expected_name or (
                recipient is not None and recipient != self._runtime.config.originals.recipient):
            log.error("clip %s: its record names original %r for recipient %r, not its own under the site's "
                      "key; sealed without it", clip_id, relative, recipient)
            return None
        path = self._runtime.paths.absolute(relative)
        if not path.is_file():
            log.error("original %s is missing at seal time; the clip is sealed without it", original["path"])
            return None
        stored = {**original, "ciphertext_sha256": sha256_file(path), "ciphertext_size": path.stat().st_size}
        if stored["ciphertext_sha256"] != original.get("ciphertext_sha256"):
            log.error("original %s: the worker reported %s, the file hashes to %s; sealed as found",
                      original["path"], original.get("ciphertext_sha256"), stored["ciphertext_sha256"])
            stored["reported_ciphertext_sha256"] = original.get("ciphertext_sha256")
        if stored.get("recipient") is None:  # kept in the clear: the plaintext hash is checked too
            stored["sha256"], stored["size"] = stored["ciphertext_sha256"], stored["ciphertext_size"]
        return stored

    def _unknown(self, clip_id: str, path: Path, why: str) -> None:
        """A record names a clip nobody saw opened: whatever file it points at is no evidence.
        Its path was checked to end in ``<clip id>.mp4``, so it cannot be a sealed clip's."""
        with self._runtime.sessions() as session:
            known = session.get(Clip, clip_id) is not None
        if path.is_file() and path.name == f"{clip_id}.mp4" and not known:
            quarantine_file(self._runtime, clip_id, path, why)
        else:
            log.error("clip %s: seal record ignored: %s", clip_id, why)

    def _insert_alert(self, fields: dict[str, Any]) -> Callable[[], None]:
        values = {**fields, "time": datetime.fromisoformat(fields["time"])}
        same = (Alert.kind == values["kind"], Alert.camera_id == values["camera_id"], Alert.time == values["time"])

        def work() -> None:
            with self._runtime.sessions.begin() as session:
                if session.scalar(select(Alert.id).where(*same)) is not None:
                    return  # written by an attempt whose reply was lost, or before a restart
                alert = Alert(**values)
                session.add(alert)
                session.flush()
                notify_alert(session, alert.id)
                message = AlertMessage(
                    alert_id=alert.id, camera_id=alert.camera_id, kind=alert.kind, time=alert.time,
                    zones=tuple(alert.zones or ()), score=alert.score or 0.0,
                    snapshot_path=alert.snapshot_path, message=alert.message or "",
                    reason=alert.reason, clip_id=alert.clip_id, event_id=alert.event_id,
                )
            self._on_alert(message)

        return work


def opened_identity(row: Clip) -> dict[str, object]:
    """What the supervisor recorded when the clip was opened: this, not the worker's claim, is sealed."""
    return {"camera": row.camera_id, "event_id": row.event_id, "part": row.part, "start": row.start.isoformat(),
            "width": row.width, "height": row.height, "fps": row.fps, "config_hash": row.config_hash}
