"""Writing clip and alert rows and sealing finished clips, without ever losing one.

Every database write goes through a ``WriteQueue``, so a busy or unreachable database delays
writes instead of losing them or stalling capture. A sidecar JSON next to each clip lets the
recovery pass seal it even if the process dies before the database comes back. Once the queue
drains, an alert of kind ``database`` tells staff how long writes waited and how many there were.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from monitor.config import Camera, Config
from monitor.messages import AlertMessage, SealedMessage
from monitor.record import ClipWriteError, ClipWriter, EmptyClipError, recover_clip
from monitor.runtime import Runtime
from monitor.store.models import Alert, Clip
from monitor.writes import SPOOL, Outage, Write, WriteQueue, spooled

log = logging.getLogger(__name__)

@dataclass
class OpenClip:
    """A clip being written; ``metadata`` is what the seal will carry."""

    writer: ClipWriter
    clip_id: str
    event_id: str
    camera_id: str
    path: Path
    metadata: dict[str, object]
    zones: set[str] = field(default_factory=set)


def sidecar_path(clip_path: Path) -> Path:
    return clip_path.with_suffix(".json")


def clip_metadata(
    *, camera: Camera, config: Config, config_hash: str, event_id: str, part: int,
    start: datetime, stream: tuple[int, int, float],
) -> dict[str, object]:
    """Everything a court needs to know about how a clip was made, stored in its seal."""
    used = {z.schedule for z in camera.zones if z.schedule}
    return {
        "site": config.site.name,
        "camera": camera.id,
        "camera_name": camera.label,
        "event_id": event_id,
        "part": part,
        "start": start.isoformat(),
        "width": stream[0],
        "height": stream[1],
        "fps": stream[2],
        "config_hash": config_hash,
        "timezone": config.site.timezone,
        "zones_config": [z.model_dump(mode="json") for z in camera.zones],
        "schedules": {n: s.model_dump(mode="json", by_alias=True) for n, s in config.schedules.items() if n in used},
        "holidays": [d.isoformat() for d in config.site.holidays],
        "privacy": camera.privacy.model_dump(mode="json"),
        "recording": camera.recording.model_dump(mode="json"),
    }


class ClipSealer:
    """Owns the database side of the pipeline for one camera."""

    def __init__(
        self, runtime: Runtime, *, on_sealed: Callable[[SealedMessage], None] | None,
        on_alert: Callable[[AlertMessage], None] | None = None,
    ) -> None:
        self._runtime = runtime
        self._on_sealed = on_sealed or (lambda _m: None)
        self._on_alert = on_alert or (lambda _m: None)
        self._writes = WriteQueue(runtime, on_drained=self._report_outage)

    def retry_pending(self, *, block: bool = False) -> None:
        self._writes.retry(block=block)

    @property
    def pending(self) -> int:
        """Alerts and seals waiting for the database."""
        return self._writes.pending

    def _report_outage(self, outage: Outage) -> None:
        """Staff must learn that the database was down even if nobody watched the status."""
        now = datetime.now(UTC)
        waited = (now - outage.since).total_seconds()
        log.warning("database back: %d queued write(s) saved after up to %.1f s", outage.queued, waited)
        self.record_alert({
            "kind": "database", "camera_id": outage.camera_id, "time": now,
            "message": f"The database was unavailable ({outage.reason}): {outage.queued} alert/seal "
                       f"write(s) waited up to {waited:.0f} s and were saved when it returned",
        }, self._on_alert)

    def open(
        self, *, writer: ClipWriter, clip_id: str, event_id: str, part: int, camera: Camera,
        config: Config, config_hash: str, start: datetime, stream: tuple[int, int, float],
    ) -> OpenClip:
        metadata = clip_metadata(
            camera=camera, config=config, config_hash=config_hash, event_id=event_id, part=part,
            start=start, stream=stream,
        )
        path = writer.path
        self._runtime.recording.add(clip_id)
        sidecar = sidecar_path(path)
        sidecar.write_text(json.dumps({"clip_id": clip_id, "metadata": metadata}), encoding="utf-8")
        self._writes.run(self._write({
            "op": "clip", "id": clip_id, "event_id": event_id, "part": part, "camera_id": camera.id,
            "start": start.isoformat(), "width": stream[0], "height": stream[1], "fps": stream[2],
            "config_hash": config_hash, "path": self._runtime.paths.relative(path),
        }))
        return OpenClip(writer, clip_id, event_id, camera.id, path, metadata)

    def finish(self, clip: OpenClip, *, incomplete: str | None) -> None:
        self._runtime.recording.discard(clip.clip_id)
        try:
            written = clip.writer.close()
        except EmptyClipError as exc:  # nothing was captured, so there is nothing to seal
            log.warning("%s", exc)
            self._writes.run(self._write({"op": "empty", "clip_id": clip.clip_id, "camera_id": clip.camera_id,
                                          "path": self._runtime.paths.relative(clip.path)}))
            return
        self.seal(clip.clip_id, clip.event_id, clip.camera_id, clip.path, written_meta={
            **clip.metadata,
            "zones": sorted(clip.zones),
            "end": written.end.isoformat(),
            "frame_count": written.frame_count,
        }, sha256=written.sha256, size=written.size, start=written.start, end=written.end,
            frame_count=written.frame_count, incomplete=incomplete)

    def salvage(self, clip: OpenClip, *, reason: str) -> None:
        """After a write error: close what can be closed, else recover the synced fragments."""
        try:
            self.finish(clip, incomplete=reason)
            return
        except ClipWriteError as exc:
            log.error("clip %s could not be closed: %s", clip.clip_id, exc)
        recovered = recover_clip(clip.path)
        if recovered is None:  # nothing playable: the recovery pass quarantines the file later
            log.error("clip %s: nothing playable was written", clip.clip_id)
            return
        start = datetime.fromisoformat(str(clip.metadata["start"]))
        end = start + timedelta(seconds=recovered.duration)
        self.seal(clip.clip_id, clip.event_id, clip.camera_id, clip.path, written_meta={
            **clip.metadata, "zones": sorted(clip.zones), "end": end.isoformat(),
            "frame_count": recovered.frame_count, "trimmed_bytes": recovered.trimmed_bytes,
        }, sha256=recovered.sha256, size=recovered.size, start=start, end=end,
            frame_count=recovered.frame_count, incomplete=reason)

    def seal(
        self, clip_id: str, event_id: str, camera_id: str, path: Path, *, written_meta: dict[str, object],
        sha256: str, size: int, start: datetime, end: datetime, frame_count: int, incomplete: str | None,
    ) -> None:
        """Seal in the custody log first (authoritative), then mark the clip row sealed."""
        self._writes.run(self._write({
            "op": "seal", "clip_id": clip_id, "event_id": event_id, "camera_id": camera_id,
            "path": self._runtime.paths.relative(path), "metadata": written_meta, "sha256": sha256,
            "size": size, "start": start.isoformat(), "end": end.isoformat(), "frame_count": frame_count,
            "incomplete": incomplete,
        }))

    def record_alert(self, fields: dict[str, object], notify: Callable[[AlertMessage], None]) -> None:
        """Insert an alert and notify once it is committed."""
        when = fields.get("time")
        if not isinstance(when, datetime):
            raise TypeError(f"an alert's time must be a datetime, got {when!r}")
        self._writes.run(self._write({"op": "alert", "fields": {**fields, "time": when.isoformat()}}, notify))

    # -- redoing writes an earlier process queued -----------------------------------------

    def redo_spooled(self, camera_id: str) -> int:
        """Write what an earlier process of this camera queued during an outage and may not
        have written before it died; every write is idempotent, so redoing one is harmless."""
        done = 0
        for path, records in spooled(self._runtime.paths.root / SPOOL, camera_id):
            for record in records:
                try:
                    write = self._write(record)
                except (KeyError, TypeError, ValueError) as exc:
                    log.error("%s: cannot redo %r: %s", path, record.get("op"), exc)
                    continue
                self._writes.run(write)
                done += 1
            path.unlink()
        if done:
            log.warning("camera %s: redid %d write(s) queued before a restart", camera_id, done)
            self.record_alert({
                "kind": "database", "camera_id": camera_id, "time": datetime.now(UTC),
                "message": f"{done} alert/seal write(s) queued while the database was unavailable, "
                           "before the camera worker restarted, were redone when it returned",
            }, self._on_alert)
        return done

    # -- the writes, each built from its JSON record and safe to run twice ------------------

    def _write(self, record: dict[str, Any], notify: Callable[[AlertMessage], None] | None = None) -> Write:
        """Parse ``record`` now (a bad one fails here, not in a retry) into an idempotent write."""
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
            return Write(self._insert_alert(fields, notify or self._on_alert),
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

    def _insert_alert(self, fields: dict[str, Any], notify: Callable[[AlertMessage], None]) -> Callable[[], None]:
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
            notify(message)

        return work
