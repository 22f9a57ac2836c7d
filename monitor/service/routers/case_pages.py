"""Dashboard pages for cases and the incident timeline; their scripts call /api/cases and /api/timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from monitor.cases.book import CaseBook
from monitor.cases.timeline import Window
from monitor.service.alert_feed import alert_json
from monitor.service.deps import CanOpenCases, CanViewClips, Db, State
from monitor.service.permissions import Permission, allowed
from monitor.service.routers.cases import case_json, visible_case
from monitor.service.routers.pages import render
from monitor.store.models import Alert

router = APIRouter(include_in_schema=False)
TIMELINE_PADDING = timedelta(minutes=1)
DEFAULT_SPAN = timedelta(hours=1)


@router.get("/cases")
def cases_page(request: Request, user: CanOpenCases, db: Db, state: State,
               alert: Annotated[int | None, Query()] = None) -> HTMLResponse:
    book = CaseBook(state.runtime, db)
    manage = allowed(user.role, Permission.CASES_MANAGE)
    cases = [case_json(book, c, full=False) for c in book.all_cases(created_by=None if manage else user.username)]
    source = db.get(Alert, alert) if alert is not None else None
    return render(request, "cases.html", user, state, cases=cases, can_manage=manage,
                  timezone=state.config.site.timezone,
                  alert=alert_json(source, state.config) if source else None)


@router.get("/cases/{case_ref}")
def case_page(request: Request, case_ref: str, user: CanOpenCases, db: Db, state: State) -> HTMLResponse:
    book = CaseBook(state.runtime, db)
    case = case_json(book, visible_case(book, case_ref, user))
    return render(request, "case.html", user, state, case=case, timezone=state.config.site.timezone,
                  can_manage=allowed(user.role, Permission.CASES_MANAGE),
                  can_clips=allowed(user.role, Permission.CLIPS_VIEW))


def _site_time(value: datetime | None, state: State) -> datetime | None:
    """Form times without a zone are the site's wall clock."""
    if value is None:
        return None
    return value.replace(tzinfo=state.config.site.tz) if value.tzinfo is None else value


@router.get("/timeline")
def timeline_page(request: Request, user: CanViewClips, db: Db, state: State,
                  since: datetime | None = None, until: datetime | None = None,
                  case: Annotated[str | None, Query(max_length=64)] = None) -> HTMLResponse:
    """The window: given, else the case's incident window (padded), else the last hour."""
    start, end, case_data = _site_time(since, state), _site_time(until, state), None
    if case and allowed(user.role, Permission.CASES_OPEN):
        book = CaseBook(state.runtime, db)
        case_data = case_json(book, visible_case(book, case, user), full=False)
        window_start, window_end = book.window(book.get(case))
        start = start or (window_start - TIMELINE_PADDING if window_start else None)
        end = end or (window_end + TIMELINE_PADDING if window_end else None)
    end = end or datetime.now(UTC)
    start = start or end - DEFAULT_SPAN
    try:
        window = Window(start.astimezone(UTC), end.astimezone(UTC))
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    tz = state.config.site.tz
    return render(request, "timeline.html", user, state, window=window, case=case_data,
                  timezone=state.config.site.timezone,
                  form={"since": window.since.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S"),
                        "until": window.until.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S")},
                  can_manage=allowed(user.role, Permission.CASES_MANAGE))
