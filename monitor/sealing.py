"""Writing clip and alert rows and sealing finished clips, without ever losing one.

Every database write here is retried when the database is busy or unreachable; what still
fails is kept in memory and retried on the next packet, and a sidecar JSON next to each clip
lets the recovery pass seal it even if the process dies before the database comes back.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.exc import OperationalError

from monitor.config import Camera, Config
from monitor.messages import AlertMessage, SealedMessage
from monitor.record import ClipWriteError, ClipWriter, EmptyClipError, recover_clip
from monitor.runtime import Runtime
from monitor.store.db import with_retry
from monitor.store.models import Alert, Clip

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

    def __init__(self, runtime: Runtime, *, on_sealed: Callable[[SealedMessage], None] | None) -> None:
        self._runtime = runtime
        self._on_sealed = on_sealed or (lambda _m: None)
        self._pending: list[Callable[[], None]] = []
        self.db_errors = 0

    def _run(self, work: Callable[[], None], what: str) -> None:
        """Run a unit of work now, or keep it for later if the database stays unavailable."""
        def report(exc: Exception, attempt: int) -> None:
            self.db_errors += 1
            log.warning("database unavailable while %s (attempt %d): %s", what, attempt, exc)

        if self._pending:  # keep order: a clip row must exist before its alert and its seal
            self._pending.append(work)
            return
        try:
            with_retry(work, attempts=4, delay=0.1, on_retry=report)
        except OperationalError as exc:
            log.error("deferring %s: database still unavailable: %s", what, exc)
            self._pending.append(work)

    def retry_pending(self, *, block: bool = False) -> None:
        while self._pending:
            try:
                with_retry(self._pending[0], attempts=8 if block else 1, delay=0.25)
            except OperationalError:
                return
            self._pending.pop(0)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def open(
        self, *, writer: ClipWriter, clip_id: str, event_id: str, part: int, camera: Camera,
        config: Config, config_hash: str, start: datetime, stream: tuple[int, int, float],
    ) -> OpenClip:
        metadata = clip_metadata(
            camera=camera, config=config, config_hash=config_hash, event_id=event_id, part=part,
            start=start, stream=stream,
        )
        path = writer.path
        sidecar = sidecar_path(path)
        sidecar.write_text(json.dumps({"clip_id": clip_id, "metadata": metadata}), encoding="utf-8")
        clip = OpenClip(writer, clip_id, event_id, camera.id, path, metadata)
        row = Clip(
            id=clip_id, event_id=event_id, part=part, camera_id=camera.id, zones=[], start=start,
            width=stream[0], height=stream[1], fps=stream[2], config_hash=config_hash,
            path=self._runtime.paths.relative(path), status="recording",
        )

        def insert() -> None:
            with self._runtime.sessions.begin() as session:
                session.merge(row)

        self._run(insert, f"recording clip {clip_id}")
        return clip

    def finish(self, clip: OpenClip, *, incomplete: str | None) -> None:
        try:
            written = clip.writer.close()
        except EmptyClipError as exc:  # nothing was captured, so there is nothing to seal
            log.warning("%s", exc)
            self._discard(clip)
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

    def _discard(self, clip: OpenClip) -> None:
        def work() -> None:
            with self._runtime.sessions.begin() as session:
                row = session.get(Clip, clip.clip_id)
                if row is not None:
                    row.status = "empty"
            sidecar_path(clip.path).unlink(missing_ok=True)

        self._run(work, f"discarding empty clip {clip.clip_id}")

    def seal(
        self, clip_id: str, event_id: str, camera_id: str, path: Path, *, written_meta: dict[str, object],
        sha256: str, size: int, start: datetime, end: datetime, frame_count: int, incomplete: str | None,
    ) -> None:
        """Seal in the custody log first (authoritative), then mark the clip row sealed."""
        relative = self._runtime.paths.relative(path)
        zones = tuple(written_meta.get("zones", ()))  # type: ignore[arg-type]

        def work() -> None:
            evidence = self._runtime.evidence
            if evidence.find_seal(clip_id) is None:
                evidence.seal_clip(clip_id=clip_id, path=relative, sha256=sha256, size=size,
                                   metadata=written_meta, incomplete=incomplete)
            with self._runtime.sessions.begin() as session:
                row = session.get(Clip, clip_id)
                if row is None:
                    row = Clip(
                        id=clip_id, event_id=event_id, camera_id=camera_id, start=start,
                        width=int(written_meta["width"]), height=int(written_meta["height"]),  # type: ignore[call-overload]
                        fps=float(written_meta["fps"]), config_hash=str(written_meta["config_hash"]),  # type: ignore[arg-type]
                        path=relative,
                    )
                    session.add(row)
                row.zones = list(zones)
                row.end = end
                row.frame_count = frame_count
                row.sha256 = sha256
                row.size_bytes = size
                row.status = "sealed"
                row.incomplete_reason = incomplete
            sidecar_path(path).unlink(missing_ok=True)
            self._on_sealed(SealedMessage(
                clip_id=clip_id, event_id=event_id, camera_id=camera_id, zones=zones,
                start=start, end=end, path=str(path), sha256=sha256, incomplete=incomplete,
            ))

        self._run(work, f"sealing clip {clip_id}")

    def record_alert(self, fields: dict[str, object], notify: Callable[[AlertMessage], None]) -> None:
        """Insert an alert (built afresh on every attempt) and notify once it is committed."""
        def work() -> None:
            with self._runtime.sessions.begin() as session:
                alert = Alert(**fields)
                session.add(alert)
                session.flush()
                message = AlertMessage(
                    alert_id=alert.id, camera_id=alert.camera_id, kind=alert.kind, time=alert.time,
                    zones=tuple(alert.zones or ()), score=alert.score or 0.0,
                    snapshot_path=alert.snapshot_path, message=alert.message or "",
                )
            notify(message)

        self._run(work, f"recording a {fields.get('kind')} alert")
