"""The audit view's data: login attempts and custody entries, filterable."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from monitor.service.deps import CanViewAudit, Db, State
from monitor.service.routers.clips import entry_json
from monitor.service.state import ServiceState
from monitor.service.times import iso, utc
from monitor.store.users import LoginAttempt

router = APIRouter(prefix="/api/audit", tags=["audit"])
Limit = Annotated[int, Query(ge=1, le=5000)]
Text = Annotated[str | None, Query(max_length=200)]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="rows to skip (paging), newest first")]


def _aware(value: datetime | None) -> datetime | None:
    return utc(value) if value is not None else None


def login_rows(
    db: Db, *, username: str | None = None, success: bool | None = None, since: datetime | None = None,
    until: datetime | None = None, limit: int = 200, offset: int = 0,
) -> list[dict[str, Any]]:
    query = select(LoginAttempt).order_by(LoginAttempt.id.desc())
    if username:
        query = query.where(LoginAttempt.username == username)
    if success is not None:
        query = query.where(LoginAttempt.success.is_(success))
    if since:
        query = query.where(LoginAttempt.time >= _aware(since))
    if until:
        query = query.where(LoginAttempt.time <= _aware(until))
    return [
        {"time": iso(row.time), "username": row.username, "remote": row.remote,
         "success": row.success, "reason": row.reason}
        for row in db.scalars(query.offset(offset).limit(limit))
    ]


def custody_rows(
    state: ServiceState, *, actor: str | None = None, action: str | None = None, clip_id: str | None = None,
    since: datetime | None = None, until: datetime | None = None, limit: int = 200, offset: int = 0,
) -> list[dict[str, Any]]:
    since, until = _aware(since), _aware(until)
    rows: list[dict[str, Any]] = []
    skipped = 0
    for entry in reversed(list(state.runtime.evidence.entries(clip_id=clip_id or None))):
        if (actor and entry.actor != actor) or (action and str(entry.action) != action):
            continue
        if (since and utc(entry.time) < since) or (until and utc(entry.time) > until):
            continue
        if skipped < offset:
            skipped += 1
            continue
        rows.append(entry_json(entry))
        if len(rows) >= limit:
            break
    return rows


@router.get("/logins", summary="Logins and failed logins, newest first")
def logins(
    _user: CanViewAudit, db: Db, username: Text = None, success: bool | None = None,
    since: datetime | None = None, until: datetime | None = None, limit: Limit = 200, offset: Offset = 0,
) -> list[dict[str, Any]]:
    return login_rows(db, username=username, success=success, since=since, until=until, limit=limit,
                      offset=offset)


@router.get("/custody", summary="Custody log entries, newest first")
def custody(
    _user: CanViewAudit, state: State, actor: Text = None, action: Text = None, clip_id: Text = None,
    since: datetime | None = None, until: datetime | None = None, limit: Limit = 200, offset: Offset = 0,
) -> list[dict[str, Any]]:
    return custody_rows(state, actor=actor, action=action, clip_id=clip_id, since=since, until=until, limit=limit,
                        offset=offset)
