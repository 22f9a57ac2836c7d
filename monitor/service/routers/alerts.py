"""The alert board's data: list and filter alerts, snapshots, acknowledgement, the live stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sse_starlette import EventSourceResponse, ServerSentEvent

from monitor.config import Config
from monitor.service.alert_feed import alert_json
from monitor.service.deps import CanAckAlerts, CanViewAlerts, Db, State
from monitor.service.params import RowId
from monitor.service.site_names import zone_ids_for
from monitor.store.alert_channel import notify_alert
from monitor.store.models import Alert

router = APIRouter(prefix="/api/alerts", tags=["alerts"])
STREAM_SECONDS = 600.0  # browsers reconnect on their own; a bounded stream cannot leak


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=2000)


def filtered_alerts(
    db: Db, config: Config, *, camera: str | None, zone: str | None, unacknowledged: bool, limit: int,
) -> list[Alert]:
    query = select(Alert).order_by(Alert.id.desc())
    if camera:
        query = query.where(Alert.camera_id == camera)
    if unacknowledged:
        query = query.where(Alert.acknowledged_at.is_(None))
    rows = list(db.scalars(query.limit(limit if not zone else 5000)))
    if zone:  # zones are a JSON list; filter portably in Python
        wanted = zone_ids_for(config, zone)
        rows = [row for row in rows if wanted & set(row.zones or [])][:limit]
    return rows


@router.get("", summary="Alerts, newest first")
def list_alerts(
    _user: CanViewAlerts, db: Db, state: State,
    camera: Annotated[str | None, Query(max_length=64)] = None,
    zone: Annotated[str | None, Query(max_length=64)] = None,
    unacknowledged: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    rows = filtered_alerts(db, state.config, camera=camera, zone=zone, unacknowledged=unacknowledged, limit=limit)
    return [alert_json(a, state.config) for a in rows]


def _alert(db: Db, alert_id: int) -> Alert:
    alert = db.get(Alert, alert_id)
    if alert is None:
        raise HTTPException(404, f"no alert {alert_id}")
    return alert


@router.get("/stream", summary="Server-sent events: every new or changed alert", include_in_schema=False)
async def stream(_user: CanViewAlerts, state: State, request: Request) -> EventSourceResponse:
    queue = state.feed.subscribe()

    async def events() -> AsyncIterator[ServerSentEvent]:
        deadline = asyncio.get_running_loop().time() + STREAM_SECONDS
        try:
            yield ServerSentEvent(comment="connected")
            while asyncio.get_running_loop().time() < deadline:
                try:
                    item = await asyncio.wait_for(queue.get(), 1.0)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    continue
                yield ServerSentEvent(data=json.dumps(item), event="alert", id=str(item["id"]))
        finally:
            state.feed.unsubscribe(queue)

    return EventSourceResponse(events(), ping=15, headers={"Cache-Control": "no-store"})


@router.get("/{alert_id}", summary="One alert")
def get_alert(alert_id: RowId, _user: CanViewAlerts, db: Db, state: State) -> dict[str, Any]:
    return alert_json(_alert(db, alert_id), state.config)


@router.get("/{alert_id}/snapshot.jpg", summary="The alert's privacy-masked snapshot",
            response_class=FileResponse)
def snapshot(alert_id: RowId, _user: CanViewAlerts, db: Db, state: State) -> FileResponse:
    alert = _alert(db, alert_id)
    if not alert.snapshot_path:
        raise HTTPException(404, f"alert {alert_id} has no snapshot")
    try:
        path = state.runtime.paths.absolute(alert.snapshot_path)
    except ValueError:
        raise HTTPException(404, f"alert {alert_id}: snapshot path is outside the storage folder") from None
    if not path.is_file():
        raise HTTPException(404, f"alert {alert_id}: snapshot file is missing")
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


@router.post("/{alert_id}/ack", summary="Acknowledge an alert with a note")
def acknowledge(alert_id: RowId, body: AckIn, user: CanAckAlerts, db: Db, state: State) -> dict[str, Any]:
    alert = _alert(db, alert_id)
    if alert.acknowledged_at is not None:
        raise HTTPException(409, f"alert {alert_id} was already acknowledged by {alert.acknowledged_by}")
    alert.acknowledged_at = datetime.now(UTC)
    alert.acknowledged_by = user.username
    alert.ack_note = body.note.strip()
    notify_alert(db, alert.id)  # the other nodes' boards show it acknowledged too
    db.commit()
    item = alert_json(alert, state.config)
    state.feed.announce(item)
    return item
