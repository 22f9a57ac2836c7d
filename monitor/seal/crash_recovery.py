"""After a crash or power loss: seal or quarantine every clip that was left open.

Runs when the service starts (everything) and when a camera worker has died (its camera).
Nothing is deleted. A clip the supervisor saw opened (its row says "recording") whose file
holds at least one playable frame is sealed under the ``recovered`` action, marked incomplete
with the reason; anything else, and every file no row names, is moved to quarantine with a
custody entry: a file the supervisor never saw opened is never sealed.

Writes queued on disk during a database outage (``pending/``) are redone first: a clip whose
seal was queued when the process died is finished, and must be sealed complete, not taken
for an orphan.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from evidence.actions import SEAL_ACTIONS, Action
from monitor.objects.uploads import queue_upload
from monitor.record import recover_clip
from monitor.seal.clip_sealer import original_beside, recovered_original, sidecar_path
from monitor.seal.database_outbox import DatabaseOutbox, opened_identity
from monitor.seal.quarantine import quarantine_file
from monitor.seal.spool import JOURNALS, SPOOL
from monitor.site.runtime import Runtime
from monitor.store.db import describe_unavailable
from monitor.store.models import Clip

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecoveryAction:
    clip_id: str
    outcome: str  # recovered | already-sealed | quarantined | missing
    detail: str


def _sealed_ids(runtime: Runtime) -> set[str]:
    return {e.clip_id for e in runtime.evidence.entries() if e.action in SEAL_ACTIONS and e.clip_id}


def _sidecar_metadata(path: Path) -> dict[str, object]:
    """What the worker wrote beside the clip: descriptive only, the row's fields win."""
    try:
        side = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    metadata = side.get("metadata") if isinstance(side, dict) else None
    return dict(metadata) if isinstance(metadata, dict) else {}


def _quarantine(runtime: Runtime, clip_id: str, path: Path, why: str) -> RecoveryAction:
    quarantine_file(runtime, clip_id, path, why)
    return RecoveryAction(clip_id, "quarantined", why)


def _recover_original(runtime: Runtime, clip_path: Path) -> dict[str, object] | None:
    """Cut the clip's original back to what was synced; sealed with it as one piece of evidence."""
    found = original_beside(runtime.paths, clip_path)
    return None if found is None else recovered_original(*found)


def _recover_file(runtime: Runtime, row: Clip, path: Path, reason: str) -> RecoveryAction:
    """Seal what a crash left of a clip the supervisor saw opened, under ``recovered``, with the
    hash of the file as it is now and the row's account of when and where it was made."""
    recovered = recover_clip(path)
    if recovered is None:
        return _quarantine(runtime, row.id, path, f"no playable frame after: {reason}")
    end = row.start + timedelta(seconds=recovered.duration)
    metadata = {**_sidecar_metadata(path), **opened_identity(row), "zones": list(row.zones or []),
                "end": end.isoformat(), "frame_count": recovered.frame_count,
                "trimmed_bytes": recovered.trimmed_bytes}
    seal = runtime.evidence.seal_clip(clip_id=row.id, path=row.path, sha256=recovered.sha256,
                                      size=recovered.size, metadata=metadata, incomplete=reason, recovered=True,
                                      original=_recover_original(runtime, path))
    queue_upload(runtime, clip_id=row.id, path=row.path, sha256=recovered.sha256, start=row.start)
    with runtime.sessions.begin() as session:
        current = session.get(Clip, row.id)
        if current is not None:
            current.end, current.frame_count = end, recovered.frame_count
            current.sha256, current.size_bytes = seal.object_sha256, recovered.size
            current.status, current.incomplete_reason = "sealed", reason
    sidecar_path(path).unlink(missing_ok=True)
    return RecoveryAction(row.id, "recovered", f"{recovered.frame_count} frames recovered")


SERVICE_DIED = "the service stopped unexpectedly (power loss or kill)"


def recover_at_start(runtime: Runtime) -> list[RecoveryAction] | None:
    """The service's pass over every camera; None when the database is not there yet, in
    which case the supervisor recovers each camera once the database answers."""
    if runtime.connected:
        try:
            return recover_camera(runtime, None, reason=SERVICE_DIED)
        except OperationalError as exc:  # lost during the pass: the next start finishes it
            runtime.database_error = describe_unavailable(exc)
    log.warning("recovery at start skipped, each camera is recovered once the database "
                "answers: %s", runtime.database_error)
    return None


def _redo_queued(runtime: Runtime, camera_id: str | None) -> bool:
    """Redo the writes earlier processes queued on disk; False if some must wait again."""
    folder = runtime.paths.root / SPOOL
    found = (*folder.glob("*.jsonl"), *(runtime.paths.root / JOURNALS).glob("*/*.jsonl"))
    cameras = {camera_id} if camera_id else {p.name.split(".", 1)[0] for p in found}
    outbox = DatabaseOutbox(runtime)
    for camera in sorted(cameras):
        outbox.redo_spooled(camera)
    return outbox.pending == 0


def recover_camera(
    runtime: Runtime, camera_id: str | None, *, reason: str, before: datetime | None = None,
) -> list[RecoveryAction]:
    """Seal or quarantine every unfinished clip of ``camera_id`` (None: all cameras).

    At start-up, writes queued on disk are redone first, and nothing happens while they
    cannot be (they are queued again): their clips would be taken for orphans. With
    ``before`` (a worker died while its successor may already record), only clips begun and
    files last written before then count, and the caller has redone the dead worker's
    journals itself: the successor's live journal is not touched.
    """
    if before is None and not _redo_queued(runtime, camera_id):
        log.warning("recovery waits: writes queued before a restart could not be redone (%s)",
                    runtime.database_error)
        return []
    actions: list[RecoveryAction] = []
    sealed = _sealed_ids(runtime)
    with runtime.sessions() as session:
        query = select(Clip).where(Clip.status == "recording")
        if camera_id is not None:
            query = query.where(Clip.camera_id == camera_id)
        if before is not None:
            query = query.where(Clip.start < before)
        rows = list(session.scalars(query))
    known: set[str] = set()
    for row in rows:
        known.add(row.id)
        path = runtime.paths.absolute(row.path)
        if row.id in sealed:
            _mark_from_seal(runtime, row.id)
            actions.append(RecoveryAction(row.id, "already-sealed", "seal found; clip row updated"))
        elif path.exists():
            actions.append(_recover_file(runtime, row, path, reason))
        else:
            _mark_missing(runtime, row.id, reason)
            actions.append(RecoveryAction(row.id, "missing", "clip file not found"))
    folder = runtime.paths.clips / camera_id if camera_id else runtime.paths.clips
    with runtime.sessions() as session:
        rows_by_id = set(session.scalars(select(Clip.id)))
    for path in sorted(folder.rglob("*.mp4")) if folder.exists() else []:
        clip_id = path.stem
        if clip_id in sealed or clip_id in known or clip_id in rows_by_id:
            continue
        if before is not None and path.stat().st_mtime >= before.timestamp():
            continue
        actions.append(_quarantine(runtime, clip_id, path, "no record of this clip being opened by "
                                   f"its camera; found after: {reason}"))
    for action in actions:
        log.warning("recovery: clip %s %s (%s)", action.clip_id, action.outcome, action.detail)
    return actions


def _mark_from_seal(runtime: Runtime, clip_id: str) -> None:
    seal = runtime.evidence.sealed(clip_id)
    with runtime.sessions.begin() as session:
        row = session.get(Clip, clip_id)
        if row is not None:
            row.status, row.sha256 = "sealed", seal.object_sha256
            row.size_bytes = int(seal.details.get("size") or 0)


def _mark_missing(runtime: Runtime, clip_id: str, reason: str) -> None:
    runtime.evidence.append(
        Action.QUARANTINED, actor="system", clip_id=clip_id,
        details={"reason": f"clip file missing after: {reason}"},
    )
    with runtime.sessions.begin() as session:
        row = session.get(Clip, clip_id)
        if row is not None:
            row.status = "quarantined"
            row.incomplete_reason = f"file missing after: {reason}"
