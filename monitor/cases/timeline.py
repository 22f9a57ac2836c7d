"""The incident timeline: every camera's clips and alerts in a window, on one time axis.

Times go out in UTC (ISO 8601); the page draws them in the site's time zone, which travels with
the answer so the browser needs no setting of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from monitor.store.models import Alert, Clip

MAX_WINDOW = timedelta(days=7)
MAX_ITEMS = 2000


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime

    def __post_init__(self) -> None:
        if self.until <= self.since:
            raise ValueError("the window ends before it starts")
        if self.until - self.since > MAX_WINDOW:
            raise ValueError(f"a timeline window is at most {MAX_WINDOW.days} days")

    @classmethod
    def around(cls, moment: datetime, minutes: float) -> Window:
        span = timedelta(minutes=minutes)
        return cls(moment - span, moment + span)


def clips_in(session: Session, window: Window, *, cameras: list[str] | None = None) -> list[Clip]:
    """Clips that overlap the window (a clip still recording counts from its start), in time order."""
    query = (select(Clip).where(Clip.status.not_in(("deleted", "empty")), Clip.start <= window.until,
                                or_(Clip.end.is_(None), Clip.end >= window.since))
             .order_by(Clip.start, Clip.camera_id).limit(MAX_ITEMS))
    if cameras:
        query = query.where(Clip.camera_id.in_(cameras))
    return list(session.scalars(query))


def alerts_in(session: Session, window: Window, *, cameras: list[str] | None = None) -> list[Alert]:
    query = (select(Alert).where(Alert.time >= window.since, Alert.time <= window.until)
             .order_by(Alert.time, Alert.id).limit(MAX_ITEMS))
    if cameras:
        query = query.where(Alert.camera_id.in_(cameras))
    return list(session.scalars(query))


def timeline_json(session: Session, window: Window, *, timezone: str, cameras: list[str] | None = None,
                  case_clips: set[str] | None = None) -> dict[str, Any]:
    clips = clips_in(session, window, cameras=cameras)
    alerts = alerts_in(session, window, cameras=cameras)
    in_case = case_clips or set()
    return {
        "since": window.since.isoformat(), "until": window.until.isoformat(), "timezone": timezone,
        "cameras": sorted({c.camera_id for c in clips} | {a.camera_id for a in alerts} | set(cameras or ())),
        "clips": [{"id": c.id, "camera_id": c.camera_id, "zones": list(c.zones or []),
                   "start": c.start.isoformat(), "end": (c.end or c.start).isoformat(),
                   "sha256": c.sha256, "in_case": c.id in in_case} for c in clips],
        "alerts": [{"id": a.id, "camera_id": a.camera_id, "kind": a.kind, "time": a.time.isoformat(),
                    "zones": list(a.zones or []), "message": a.message, "clip_id": a.clip_id} for a in alerts],
    }
