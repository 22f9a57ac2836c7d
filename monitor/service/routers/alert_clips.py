"""An alert's own clip, for the people who answer alerts.

Security staff need to see what triggered an alert, not to browse the archive: they may play
the clips recorded for an alert on the board, for ``ALERT_CLIP_WINDOW`` after it (about a
shift), and each viewing is a custody entry. Search, download and export stay with investigators.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy import select

from evidence.actions import Action
from monitor.service.deps import CanPlayAlertClip, Db, State
from monitor.service.params import RowId
from monitor.service.stored_video import clip_video
from monitor.service.times import iso, utc
from monitor.store.models import Alert, Clip

router = APIRouter(prefix="/api/alerts", tags=["alerts"])
ALERT_CLIP_WINDOW = timedelta(hours=12)


def _recent_alert(db: Db, alert_id: int) -> Alert:
    alert = db.get(Alert, alert_id)
    if alert is None:
        raise HTTPException(404, f"no alert {alert_id}")
    if datetime.now(UTC) - utc(alert.time) > ALERT_CLIP_WINDOW:
        hours = int(ALERT_CLIP_WINDOW.total_seconds() // 3600)
        raise HTTPException(403, f"alert {alert_id} is more than {hours} hours old: its clips are for investigators")
    return alert


def alert_clips(db: Db, alert: Alert) -> list[Clip]:
    """The sealed clips recorded for the alert's event (one, or several parts of a long event)."""
    if alert.event_id:
        query = select(Clip).where(Clip.event_id == alert.event_id)
    elif alert.clip_id:
        query = select(Clip).where(Clip.id == alert.clip_id)
    else:
        return []
    return list(db.scalars(query.where(Clip.status == "sealed").order_by(Clip.start)))


@router.get("/{alert_id}/clips", summary="The sealed clips of a recent alert")
def list_alert_clips(alert_id: RowId, _user: CanPlayAlertClip, db: Db) -> list[dict[str, Any]]:
    alert = _recent_alert(db, alert_id)
    return [{"id": c.id, "start": iso(c.start), "end": iso(c.end),
             "video_url": f"/api/alerts/{alert.id}/clips/{c.id}/video"} for c in alert_clips(db, alert)]


@router.get("/{alert_id}/clips/{clip_id}/video", response_class=FileResponse,
            summary="Play a recent alert's clip (range requests); logs one view per viewing")
def play_alert_clip(alert_id: RowId, clip_id: str, request: Request, user: CanPlayAlertClip, db: Db,
                    state: State) -> Response:
    alert = _recent_alert(db, alert_id)
    clip = next((c for c in alert_clips(db, alert) if c.id == clip_id), None)
    if clip is None:
        raise HTTPException(404, f"clip {clip_id!r} is not a clip of alert {alert_id}")
    response = clip_video(state.runtime, clip, request)
    if state.views.first_view(user.username, clip.id):
        try:
            state.runtime.evidence.append(Action.VIEWED, actor=user.username, clip_id=clip.id,
                                          object_sha256=clip.sha256,
                                          details={"via": "alert board", "alert_id": str(alert.id)})
        except BaseException:  # no entry, no bytes
            state.views.forget(user.username, clip.id)
            raise
    return response
