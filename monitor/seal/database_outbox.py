"""Records written to the database and the custody log, without ever losing one.

Every write goes through a ``OutageQueue``, so a busy or unreachable database delays writes
instead of losing them or stalling the caller. Once the queue drains, an alert of kind
``database`` tells staff how long writes waited and how many there were.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from monitor.seal.clip_sealer import alert_record, sidecar_path
from monitor.seal.outage_queue import Outage, OutageQueue, Write
from monitor.seal.spool import SPOOL, is_journal, spooled
from monitor.site.runtime import Runtime
from monitor.site.storage_guard import StorageGuard
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

    def submit(self, record: dict[str, Any]) -> None:
        """Parse ``record`` now (a bad one fails here, not in a retry) and write it."""
        self._writes.run(self._write(record))

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
        for path, records in spooled(self._runtime.paths.root / SPOOL, camera_id, prefix=prefix):
            for record in records:
                try:
                    write = self._write(record)
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

    def _write(self, record: dict[str, Any]) -> Write:
        op = record["op"]
        if op == "clip":
            return Write(self._insert_clip(record), f"recording clip {record['id']}", record["camera_id"], record)
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

    def _insert_clip(self, record: dict[str, Any]) -> Callable[[], None]:
        row = {k: record[k] for k in ("id", "event_id", "part", "camera_id", "width", "height", "fps",
                                      "config_hash", "path")}
        start = datetime.fromisoformat(record["start"])

        def work() -> None:
            with self._runtime.sessions.begin() as session:
                if session.get(Clip, row["id"]) is None:  # a redo must not undo a later seal
                    session.add(Clip(**row, start=start, zones=[], status="recording"))

        return work

    def _mark_empty(self, record: dict[str, Any]) -> Callable[[], None]:
        clip_id, path = record["clip_id"], self._runtime.paths.absolute(record["path"])

        def work() -> None:
            with self._runtime.sessions.begin() as session:
                row = session.get(Clip, clip_id)
                if row is not None:
                    row.status = "empty"
            sidecar_path(path).unlink(missing_ok=True)

        return work

    def _seal(self, record: dict[str, Any]) -> Callable[[], None]:
        clip_id, event_id, camera_id = record["clip_id"], record["event_id"], record["camera_id"]
        relative, meta, size = record["path"], record["metadata"], int(record["size"])
        path = self._runtime.paths.absolute(relative)
        start, end = datetime.fromisoformat(record["start"]), datetime.fromisoformat(record["end"])
        zones = tuple(meta.get("zones", ()))

        def work() -> None:
            evidence = self._runtime.evidence
            seal = evidence.find_seal(clip_id)
            if seal is None:
                seal = evidence.seal_clip(clip_id=clip_id, path=relative, sha256=record["sha256"], size=size,
                                          metadata=meta, incomplete=record["incomplete"])
            incomplete = seal.details.get("incomplete")  # the custody log wins over a redo
            with self._runtime.sessions.begin() as session:
                row = session.get(Clip, clip_id)
                if row is not None and row.status != "recording":
                    return  # a redo from a journal, after the clip was sealed, held or deleted
                if row is None:
                    row = Clip(id=clip_id, event_id=event_id, camera_id=camera_id, start=start,
                               width=int(meta["width"]), height=int(meta["height"]), fps=float(meta["fps"]),
                               config_hash=str(meta["config_hash"]), path=relative)
                    session.add(row)
                row.zones = list(zones)
                row.end = end
                row.frame_count = int(record["frame_count"])
                row.sha256 = seal.object_sha256
                row.size_bytes = size
                row.status = "sealed"
                row.incomplete_reason = incomplete
            sidecar_path(path).unlink(missing_ok=True)
            self._on_sealed(SealedMessage(
                clip_id=clip_id, event_id=event_id, camera_id=camera_id, zones=zones, start=start,
                end=end, path=str(path), sha256=str(seal.object_sha256), incomplete=incomplete,
            ))

        return work

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
                message = AlertMessage(
                    alert_id=alert.id, camera_id=alert.camera_id, kind=alert.kind, time=alert.time,
                    zones=tuple(alert.zones or ()), score=alert.score or 0.0,
                    snapshot_path=alert.snapshot_path, message=alert.message or "",
                )
            self._on_alert(message)

        return work
