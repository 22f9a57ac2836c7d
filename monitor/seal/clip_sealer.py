"""Clip and alert records of one camera, from the clip's first frame to its seal.

A record is a JSON-able dict (``op`` = clip, empty, seal or alert) handed to an ``Outbox``:
in a camera worker it goes to the supervisor, which writes and seals it
(``monitor.seal.worker_outbox``); in-process (``hotspot analyze``, recovery) straight to the
database (``monitor.seal.database_outbox``). A sidecar JSON next to each clip lets the recovery
pass seal it even if the process dies before its seal record is written.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from monitor.config import Camera, Config, as_data
from monitor.record import ClipWriteError, ClipWriter, EmptyClipError, recover_clip
from monitor.site.folders import Site

log = logging.getLogger(__name__)


class Outbox(Protocol):
    """Where a camera's records go; every record must be safe to write twice."""

    def submit(self, record: dict[str, Any]) -> None: ...

    def retry(self, *, block: bool = False) -> None:
        """Push on with records that wait; ``block`` at shutdown."""

    @property
    def pending(self) -> int:
        """Records waiting for the database."""

    def make_space(self) -> bool:
        """True when there is room to record (freeing some if this side may delete clips)."""

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
    start: datetime, stream: tuple[int, int, float], placement: dict[str, int] | None = None,
) -> dict[str, object]:
    """Everything a court needs to know about how a clip was made, stored in its seal.

    ``width`` and ``height`` are the encoded picture's; ``placement`` says where it lies in
    the camera's frame (``x``, ``y``, ``frame_width``, ``frame_height``, in pixels): a clip
    encodes only the rectangle that holds visible pixels."""
    used = {z.schedule for z in camera.zones if z.schedule}
    placement = placement or {"x": 0, "y": 0, "frame_width": stream[0], "frame_height": stream[1]}
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
        "placement": placement,
        "config_hash": config_hash,
        "timezone": config.site.timezone,
        "zones_config": as_data(camera.zones),
        "schedules": {n: as_data(s) for n, s in config.schedules.items() if n in used},
        "holidays": as_data(config.site.holidays),
        "privacy": as_data(camera.privacy),
        "recording": as_data(camera.recording),
    }


def alert_record(fields: dict[str, object]) -> dict[str, Any]:
    when = fields.get("time")
    if not isinstance(when, datetime):
        raise TypeError(f"an alert's time must be a datetime, got {when!r}")
    return {"op": "alert", "fields": {**fields, "time": when.isoformat()}}


class ClipSealer:
    """Turns one camera's clips and alerts into records for its outbox."""

    def __init__(self, site: Site, outbox: Outbox) -> None:
        self._site = site
        self._outbox = outbox

    def open(
        self, *, writer: ClipWriter, clip_id: str, event_id: str, part: int, camera: Camera,
        config: Config, config_hash: str, start: datetime, stream: tuple[int, int, float],
        placement: dict[str, int] | None = None,
    ) -> OpenClip:
        metadata = clip_metadata(
            camera=camera, config=config, config_hash=config_hash, event_id=event_id, part=part,
            start=start, stream=stream, placement=placement,
        )
        path = writer.path
        self._site.recording.add(clip_id)
        sidecar = sidecar_path(path)
        sidecar.write_text(json.dumps({"clip_id": clip_id, "metadata": metadata}), encoding="utf-8")
        self._outbox.submit({
            "op": "clip", "id": clip_id, "event_id": event_id, "part": part, "camera_id": camera.id,
            "start": start.isoformat(), "width": stream[0], "height": stream[1], "fps": stream[2],
            "config_hash": config_hash, "path": self._site.paths.relative(path),
        })
        return OpenClip(writer, clip_id, event_id, camera.id, path, metadata)

    def finish(self, clip: OpenClip, *, incomplete: str | None) -> None:
        self._site.recording.discard(clip.clip_id)
        try:
            written = clip.writer.close()
        except EmptyClipError as exc:  # nothing was captured, so there is nothing to seal
            log.warning("%s", exc)
            self._outbox.submit({"op": "empty", "clip_id": clip.clip_id, "camera_id": clip.camera_id,
                                 "path": self._site.paths.relative(clip.path)})
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
        """Sealed in the custody log first (authoritative), then the clip row is marked sealed."""
        self._outbox.submit({
            "op": "seal", "clip_id": clip_id, "event_id": event_id, "camera_id": camera_id,
            "path": self._site.paths.relative(path), "metadata": written_meta, "sha256": sha256,
            "size": size, "start": start.isoformat(), "end": end.isoformat(), "frame_count": frame_count,
            "incomplete": incomplete,
        })

    def record_alert(self, fields: dict[str, object]) -> None:
        self._outbox.submit(alert_record(fields))
