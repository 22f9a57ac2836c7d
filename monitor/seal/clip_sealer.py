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

from evidence.canonical import canonical_json
from evidence.hashing import sha256_bytes, sha256_file
from evidence.original import FORMAT, OriginalDigest, progress_path, recover_encrypted
from monitor.config import Camera, Config, as_data
from monitor.record import ClipWriteError, ClipWriter, EmptyClipError, recover_clip
from monitor.record.original import OriginalWriter
from monitor.record.torn_tail import trim_torn_tail
from monitor.site.folders import Site
from monitor.store.paths import StoragePaths

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
    original: OriginalWriter | None = None  # the camera's own packets for the same span


def sidecar_path(clip_path: Path) -> Path:
    return clip_path.with_suffix(".json")


def masking_hash(camera: Camera) -> str:
    """SHA-256 of what decides which pixels a clip masks: the privacy settings and the zones
    (everything outside them is masked by default). Sealed as the clip's derivation."""
    material = {"privacy": as_data(camera.privacy), "zones": [as_data(z.polygon) for z in camera.zones]}
    return sha256_bytes(canonical_json(material))


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
        original: OriginalWriter | None = None,
    ) -> OpenClip:
        metadata = clip_metadata(
            camera=camera, config=config, config_hash=config_hash, event_id=event_id, part=part,
            start=start, stream=stream, placement=placement,
        )
        path = writer.path
        self._site.recording.add(clip_id)
        sidecar = sidecar_path(path)
        side: dict[str, object] = {"clip_id": clip_id, "metadata": metadata}
        if original is not None:
            side["original"] = {"path": self._site.paths.relative(original.path), "recipient": original.recipient}
        sidecar.write_text(json.dumps(side), encoding="utf-8")
        self._outbox.submit({
            "op": "clip", "id": clip_id, "event_id": event_id, "part": part, "camera_id": camera.id,
            "start": start.isoformat(), "width": stream[0], "height": stream[1], "fps": stream[2],
            "config_hash": config_hash, "path": self._site.paths.relative(path),
        })
        if original is not None:
            metadata["derivation"] = {
                "made_from": "the frames of the sealed original, decoded, masked and re-encoded",
                "masking_config_hash": masking_hash(camera),
            }
        return OpenClip(writer, clip_id, event_id, camera.id, path, metadata, original=original)

    def finish(self, clip: OpenClip, *, incomplete: str | None) -> None:
        self._site.recording.discard(clip.clip_id)
        try:
            written = clip.writer.close()
        except EmptyClipError as exc:  # nothing was captured, so there is nothing to seal
            log.warning("%s", exc)
            self._drop_original(clip)
            self._outbox.submit({"op": "empty", "clip_id": clip.clip_id, "camera_id": clip.camera_id,
                                 "path": self._site.paths.relative(clip.path)})
            return
        except ClipWriteError:
            if clip.original is not None:
                clip.original.abandon()
            raise
        self.seal(clip.clip_id, clip.event_id, clip.camera_id, clip.path, original=self.close_original(clip),
                  written_meta={
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
        original = None
        if clip.original is not None:
            original = recovered_original(self._site.paths.relative(clip.original.path), clip.original.path,
                                          clip.original.recipient)
        self.seal(clip.clip_id, clip.event_id, clip.camera_id, clip.path, original=original, written_meta={
            **clip.metadata, "zones": sorted(clip.zones), "end": end.isoformat(),
            "frame_count": recovered.frame_count, "trimmed_bytes": recovered.trimmed_bytes,
        }, sha256=recovered.sha256, size=recovered.size, start=start, end=end,
            frame_count=recovered.frame_count, incomplete=reason)

    def seal(
        self, clip_id: str, event_id: str, camera_id: str, path: Path, *, written_meta: dict[str, object],
        sha256: str, size: int, start: datetime, end: datetime, frame_count: int, incomplete: str | None,
        original: dict[str, object] | None = None,
    ) -> None:
        """Sealed in the custody log first (authoritative), then the clip row is marked sealed.
        ``original``: the native original kept beside the clip, sealed in the same entry."""
        record: dict[str, Any] = {
            "op": "seal", "clip_id": clip_id, "event_id": event_id, "camera_id": camera_id,
            "path": self._site.paths.relative(path), "metadata": written_meta, "sha256": sha256,
            "size": size, "start": start.isoformat(), "end": end.isoformat(), "frame_count": frame_count,
            "incomplete": incomplete,
        }
        if original is not None:
            record["original"] = original
        self._outbox.submit(record)

    def close_original(self, clip: OpenClip) -> dict[str, object] | None:
        """Finish the original with its clip; a failing disk leaves what was synced, recovered."""
        writer = clip.original
        if writer is None:
            return None
        relative = self._site.paths.relative(writer.path)
        if writer.stopped is not None:  # stopped early: sealed as far as it was synced
            recovered = recovered_original(relative, writer.path, writer.recipient)
            return None if recovered is None else {**recovered, "stopped": writer.stopped}
        try:
            digest = writer.close()
        except ClipWriteError as exc:
            log.error("clip %s: %s", clip.clip_id, exc)
            writer.abandon()
            return recovered_original(relative, writer.path, writer.recipient)
        progress_path(writer.path).unlink(missing_ok=True)
        return original_record(relative, writer.recipient, digest, packets=writer.packets,
                               discontinuities=writer.discontinuities)

    def _drop_original(self, clip: OpenClip) -> None:
        """An empty clip has no span: its original goes too."""
        if clip.original is not None:
            clip.original.abandon()
            clip.original.path.unlink(missing_ok=True)
            progress_path(clip.original.path).unlink(missing_ok=True)

    def record_alert(self, fields: dict[str, object]) -> None:
        self._outbox.submit(alert_record(fields))


def original_record(relative: str, recipient: str | None, digest: OriginalDigest,
                    **counts: int) -> dict[str, object]:
    """What the seal says of an original: where, encrypted to whom, and both hashes."""
    return {"path": relative, "format": FORMAT if recipient else "plain", "container": "fragmented-mp4",
            "recipient": recipient, **digest.to_json(), **counts}


def recovered_original(relative: str, path: Path, recipient: str | None) -> dict[str, object] | None:
    """After a crash or a disk failure: what of the original can be proven, or None."""
    if not path.is_file():
        return None
    if recipient is not None:
        digest = recover_encrypted(path)
        if digest is None:  # not one chunk was synced: ciphertext nobody can prove anything from
            log.warning("original %s: nothing was synced before the failure; removed", relative)
            path.unlink(missing_ok=True)
            progress_path(path).unlink(missing_ok=True)
            return None
    else:
        trim_torn_tail(path)
        plain = sha256_file(path)
        size = path.stat().st_size
        digest = OriginalDigest(plain, size, plain, size, complete=False)
    progress_path(path).unlink(missing_ok=True)
    return original_record(relative, recipient, digest)


def original_beside(paths: StoragePaths, clip_path: Path) -> tuple[str, Path, str | None] | None:
    """The original the clip's sidecar says is written beside it: relative path, file, recipient."""
    try:
        side = json.loads(sidecar_path(clip_path).read_text(encoding="utf-8"))
        original = side.get("original")
        relative = str(original["path"])
        recipient = original.get("recipient")
        return relative, paths.absolute(relative), recipient if isinstance(recipient, str) else None
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return None
