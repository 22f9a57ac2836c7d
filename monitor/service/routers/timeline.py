"""The incident timeline's data: every camera's clips and alerts in a window, and what else
happened within N minutes of a moment."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from monitor.cases.timeline import Window, clips_in, timeline_json
from monitor.service.deps import CanViewClips, Db, State
from monitor.service.times import utc

router = APIRouter(prefix="/api/timeline", tags=["timeline"])
Camera = Annotated[list[str] | None, Query(max_length=64)]


def _window(since: datetime, until: datetime) -> Window:
    try:
        return Window(utc(since), utc(until))
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("", summary="Every camera's clips and alerts in a window, on one time axis")
def timeline(_user: CanViewClips, db: Db, state: State, since: datetime, until: datetime,
             camera: Camera = None) -> dict[str, Any]:
    return timeline_json(db, _window(since, until), timezone=state.config.site.timezone, cameras=camera)


@router.get("/near", summary="Clips from every camera within N minutes of a moment (no zone: site time)")
def near(_user: CanViewClips, db: Db, state: State, at: datetime,
         minutes: Annotated[float, Query(gt=0, le=24 * 60)] = 5) -> dict[str, Any]:
    moment = utc(at if at.tzinfo else at.replace(tzinfo=state.config.site.tz))
    clips = clips_in(db, _window(moment - timedelta(minutes=minutes), moment + timedelta(minutes=minutes)))
    return {"at": moment.isoformat(), "minutes": minutes, "clips": [
        {"id": c.id, "camera_id": c.camera_id, "zones": list(c.zones or []), "start": c.start.isoformat(),
         "end": (c.end or c.start).isoformat(), "seconds_from_moment": round((c.start - moment).total_seconds(), 1),
         "offset_at_moment": _offset(c.start, c.end, moment)} for c in clips]}


def _offset(start: datetime, end: datetime | None, moment: datetime) -> float | None:
    """Where in the clip the moment falls (seconds), if it does."""
    if start <= moment <= (end or start):
        return round((moment - start).total_seconds(), 2)
    return None
