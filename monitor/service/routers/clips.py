"""Clips: search, playback with range requests, download, custody history, verification, holds.

Every play and download is a custody entry naming the user; so are holds and verifications.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from starlette.background import BackgroundTask

from evidence.actions import Action
from evidence.errors import EvidenceError
from evidence.export import Disclosure, export_bundle
from monitor.config import Config
from monitor.objects.bucket import version_reader
from monitor.objects.uploads import set_object_hold
from monitor.service.clip_check import check_clip
from monitor.service.clip_download import download_file
from monitor.service.deps import CanExport, CanManageHolds, CanViewClips, Db, Principal, State
from monitor.service.params import MAX_ID, OptionalRowId
from monitor.service.site_names import camera_name, zone_ids_for, zone_names
from monitor.service.state import ServiceState
from monitor.service.stored_video import clip_video
from monitor.service.times import iso, utc
from monitor.store.cases import open_case_holding
from monitor.store.holds import change_hold
from monitor.store.models import Alert, Clip

router = APIRouter(prefix="/api/clips", tags=["clips"])


class ExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    case: str = Field(min_length=1, max_length=200, description="case or incident number")
    reason: str = Field(min_length=1, max_length=2000, description="why the clip is disclosed")
    recipient: str = Field(min_length=1, max_length=2000, description="the party receiving the clip")
    interest: str = Field(min_length=1, max_length=2000,
                          description="the recipient's legitimate interest in the clip (FERPA 34 CFR 99.32)")


class HoldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000, description="why (case number, request)")


def clip_json(clip: Clip, config: Config) -> dict[str, Any]:
    return {
        "id": clip.id, "event_id": clip.event_id, "part": clip.part, "camera_id": clip.camera_id,
        "camera_name": camera_name(config, clip.camera_id), "zones": list(clip.zones or []),
        "zone_names": zone_names(config, clip.camera_id, clip.zones or []),
        "start": iso(clip.start), "end": iso(clip.end),
        "duration_seconds": round((clip.end - clip.start).total_seconds(), 2) if clip.end else None,
        "frame_count": clip.frame_count, "width": clip.width, "height": clip.height, "fps": clip.fps,
        "sha256": clip.sha256, "size_bytes": clip.size_bytes, "status": clip.status,
        "incomplete_reason": clip.incomplete_reason, "legal_hold": clip.legal_hold,
        "config_hash": clip.config_hash,
    }


def entry_json(entry: Any) -> dict[str, Any]:
    return {
        "seq": entry.seq, "time": iso(entry.time), "actor": entry.actor, "action": str(entry.action),
        "clip_id": entry.clip_id, "object_sha256": entry.object_sha256, "details": entry.details,
        "entry_hash": entry.entry_hash, "key_id": entry.key_id,
    }


def search_clips(
    db: Db, config: Config, *, camera: str | None = None, zone: str | None = None, since: datetime | None = None,
    until: datetime | None = None, alert_id: int | None = None, hold: bool | None = None, limit: int = 100,
) -> list[Clip]:
    query = select(Clip).where(Clip.status != "deleted").order_by(Clip.start.desc())
    if camera:
        query = query.where(Clip.camera_id == camera)
    if since:
        query = query.where(Clip.start >= utc(since))
    if until:
        query = query.where(Clip.start <= utc(until))
    if hold is not None:
        query = query.where(Clip.legal_hold.is_(hold))
    if alert_id is not None:
        alert = db.get(Alert, alert_id) if 1 <= alert_id <= MAX_ID else None  # the driver cannot hold more
        if alert is None:
            return []
        query = query.where(Clip.event_id == alert.event_id if alert.event_id else Clip.id == alert.clip_id)
    rows = list(db.scalars(query.limit(limit if not zone else 5000)))
    if zone:
        wanted = zone_ids_for(config, zone)
        rows = [row for row in rows if wanted & set(row.zones or [])][:limit]
    return rows


@router.get("", summary="Search clips by camera, zone, time range, alert and legal hold")
def list_clips(
    _user: CanViewClips, db: Db, state: State,
    camera: Annotated[str | None, Query(max_length=64)] = None,
    zone: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None, until: datetime | None = None,
    alert_id: OptionalRowId = None, hold: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    rows = search_clips(db, state.config, camera=camera, zone=zone, since=since, until=until, alert_id=alert_id,
                        hold=hold, limit=limit)
    return [clip_json(row, state.config) for row in rows]


def clip_or_404(db: Db, clip_id: str) -> Clip:
    clip = db.get(Clip, clip_id)
    if clip is None or clip.status == "deleted":
        raise HTTPException(404, f"no clip {clip_id!r}")
    return clip


@router.get("/{clip_id}", summary="A clip with its custody history")
def get_clip(clip_id: str, _user: CanViewClips, db: Db, state: State) -> dict[str, Any]:
    clip = clip_or_404(db, clip_id)
    return {**clip_json(clip, state.config), "custody": [entry_json(e) for e in state.runtime.evidence.entries(clip_id=clip.id)]}


@router.get("/{clip_id}/video", summary="Play the clip (HTTP range requests); logs one view per viewing",
            response_class=FileResponse)
def video(clip_id: str, request: Request, user: CanViewClips, db: Db, state: State) -> Response:
    clip = clip_or_404(db, clip_id)
    response = clip_video(state.runtime, clip, request)
    if state.views.first_view(user.username, clip.id):  # any Range: every request delivers bytes
        try:
            state.runtime.evidence.append(Action.VIEWED, actor=user.username, clip_id=clip.id,
                                          object_sha256=clip.sha256, details={"via": "dashboard"})
        except BaseException:  # no entry, no bytes; and the next request tries again
            state.views.forget(user.username, clip.id)
            raise
    return response


@router.get("/{clip_id}/download", summary="Download the MP4 file; logs a download", response_class=FileResponse)
def download(clip_id: str, user: CanExport, db: Db, state: State) -> FileResponse:
    clip = clip_or_404(db, clip_id)
    path, cleanup = download_file(state.runtime, clip)
    try:
        # A download is a disclosure to the logged-in user: the entry names them and their role.
        state.runtime.evidence.append(Action.DOWNLOADED, actor=user.username, clip_id=clip.id,
                                      object_sha256=clip.sha256,
                                      details={"via": "dashboard", "recipient": user.username, "role": user.role})
    except BaseException:
        if cleanup is not None:
            path.unlink(missing_ok=True)
        raise
    return FileResponse(path, media_type="video/mp4", filename=f"{clip.id}.mp4", background=cleanup)


@router.post("/{clip_id}/export", summary="Export a signed evidence bundle (zip) for a case",
             response_class=FileResponse)
def export(clip_id: str, body: ExportIn, user: CanExport, db: Db, state: State) -> FileResponse:
    clip = clip_or_404(db, clip_id)
    if clip.status != "sealed":
        raise HTTPException(409, f"clip {clip.id} is {clip.status}; only sealed clips can be exported")
    folder = Path(tempfile.mkdtemp(prefix="hotspot-export-"))
    name = f"{clip.id}-{_slug(body.case)}.zip"
    out = folder / name  # the name the recipient sees is the one VERIFY.md uses
    disclosure = Disclosure(case=body.case, reason=body.reason, by=user.username, recipient=body.recipient,
                            interest=body.interest)
    try:
        export_bundle(state.runtime.evidence, clip.id, out, disclosure=disclosure,
                      objects=version_reader(state.config.storage.objects))
    except EvidenceError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise HTTPException(409, f"clip {clip.id} cannot be exported: {exc}") from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(out, media_type="application/zip", filename=name,
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:40] or "case"


@router.post("/{clip_id}/verify", summary="Check the file and the clip's custody chain; logs a verification")
def verify_clip(clip_id: str, user: CanViewClips, db: Db, state: State) -> dict[str, Any]:
    clip = clip_or_404(db, clip_id)
    check = check_clip(state.runtime, clip)
    state.runtime.evidence.append(Action.VERIFIED, actor=user.username, clip_id=clip.id,
                                  object_sha256=check.actual_sha256,
                                  details={"status": check.status, "problems": list(check.problems)})
    return {**dataclasses.asdict(check), "ok": check.ok}


def _set_hold(clip_id: str, body: HoldIn, user: Principal, db: Db, state: ServiceState, *, hold: bool) -> dict[str, Any]:
    clip = clip_or_404(db, clip_id)
    if clip.legal_hold == hold:
        raise HTTPException(409, f"clip {clip.id} is {'already' if hold else 'not'} on legal hold")
    if not hold and (case := open_case_holding(db, clip.id)) is not None:
        raise HTTPException(409, f"clip {clip.id} is held by open case {case}; the hold ends when the case closes")
    if not change_hold(db, state.runtime.evidence, clip, hold=hold, actor=user.username,
                       details={"reason": body.reason}):
        raise HTTPException(409, f"clip {clip.id} is {clip.status}: only a sealed clip can be held or released")
    problem = set_object_hold(state.runtime, clip.id, on=hold)  # the store's copy follows the hold
    return {**clip_json(clip, state.config), **({"object_hold_error": problem} if problem else {})}


@router.post("/{clip_id}/hold", summary="Set a legal hold (retention will not delete the clip)")
def set_hold(clip_id: str, body: HoldIn, user: CanManageHolds, db: Db, state: State) -> dict[str, Any]:
    return _set_hold(clip_id, body, user, db, state, hold=True)


@router.post("/{clip_id}/hold/release", summary="Release a legal hold")
def release_hold(clip_id: str, body: HoldIn, user: CanManageHolds, db: Db, state: State) -> dict[str, Any]:
    return _set_hold(clip_id, body, user, db, state, hold=False)
