"""The dashboard: server-rendered pages; small scripts in /static call the JSON API.

Each page requires the same permission as the API it shows, so a page never offers what
the server would refuse.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from monitor.service.alert_feed import alert_json
from monitor.service.deps import (
    ActiveUser,
    Authenticated,
    CanEditSchedules,
    CanEditZones,
    CanManageUsers,
    CanVerify,
    CanViewAlerts,
    CanViewAudit,
    CanViewClips,
    CanViewLive,
    Db,
    Principal,
    State,
)
from monitor.service.params import OptionalRowId
from monitor.service.permissions import Permission, allowed
from monitor.service.routers.alerts import filtered_alerts
from monitor.service.routers.audit import custody_rows, login_rows
from monitor.service.routers.auth import issue_login_csrf
from monitor.service.routers.bundles import site_key_ids
from monitor.service.routers.cameras import camera_or_404, camera_statuses
from monitor.service.routers.clips import clip_json, clip_or_404, entry_json, search_clips
from monitor.service.routers.schedules import schedules_json
from monitor.service.routers.zones import zones_json

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
Text = Annotated[str | None, Query(max_length=200)]
NAV = (
    ("/alerts", "Alerts", Permission.ALERTS_VIEW),
    ("/live", "Live", Permission.LIVE_VIEW),
    ("/clips", "Clips", Permission.CLIPS_VIEW),
    ("/cases", "Cases", Permission.CASES_OPEN),
    ("/timeline", "Timeline", Permission.CLIPS_VIEW),
    ("/verify", "Verify bundle", Permission.BUNDLES_VERIFY),
    ("/zones", "Zones", Permission.ZONES_EDIT),
    ("/schedules", "Schedules", Permission.SCHEDULES_EDIT),
    ("/users", "Users", Permission.USERS_MANAGE),
    ("/audit", "Audit", Permission.AUDIT_VIEW),
)


def _blank(value: str | None) -> str | None:
    return value or None


def _form_values(**values: object) -> dict[str, str]:
    """Filter values as the search form shows them again: blanks for unset, ISO for times."""
    return {k: v.isoformat() if isinstance(v, datetime) else ("" if v is None else str(v)) for k, v in values.items()}


def render(request: Request, name: str, user: Principal | None, state: Any, **context: Any) -> HTMLResponse:
    nav = [(href, label) for href, label, p in NAV if user and not user.must_change_password
           and allowed(user.role, p)]
    response = templates.TemplateResponse(request, name, {
        "user": user, "nav": nav, "site": state.config.site.name, "path": request.url.path, **context,
    })
    response.headers["Cache-Control"] = "no-store"  # the CSP and other headers: monitor.service.edge
    return response


@router.get("/")
def home(_user: ActiveUser) -> Response:
    return RedirectResponse("/alerts", status_code=303)


def local_target(next_url: str | None, default: str = "/alerts") -> str:
    r"""``next_url`` if it is a path on this site, else ``default``: parsed, not pattern-matched.

    Browsers drop tabs and newlines from a URL and read a backslash as a slash, so
    ``/\t/evil.example`` becomes ``//evil.example``, another site; any control character,
    whitespace or backslash therefore refuses the value outright. What remains must parse
    with no scheme and no host, and its path must start with exactly one slash.
    """
    if not next_url or any(ch <= " " or ch in "\\\x7f" for ch in next_url):
        return default
    parts = urlsplit(next_url)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return default
    return urlunsplit(("", "", parts.path, parts.query, parts.fragment))


@router.get("/login")
def login_page(request: Request, state: State, next: Text = None) -> HTMLResponse:
    response = render(request, "login.html", None, state, next=local_target(next))
    issue_login_csrf(request, response)
    return response


@router.get("/account")
def account_page(request: Request, user: Authenticated, state: State) -> HTMLResponse:
    return render(request, "account.html", user, state)


@router.get("/alerts")
def alerts_page(
    request: Request, user: CanViewAlerts, db: Db, state: State,
    camera: Text = None, zone: Text = None, unacknowledged: bool = False,
) -> HTMLResponse:
    rows = filtered_alerts(db, camera=_blank(camera), zone=_blank(zone), unacknowledged=unacknowledged, limit=200)
    return render(request, "alerts.html", user, state, alerts=[alert_json(a) for a in rows],
                  cameras=state.config.cameras, camera_states=camera_statuses(state),
                  filters={"camera": camera or "", "zone": zone or "",
                                                         "unacknowledged": unacknowledged},
                  can_ack=allowed(user.role, Permission.ALERTS_ACK),
                  can_clips=allowed(user.role, Permission.CLIPS_VIEW),
                  can_cases=allowed(user.role, Permission.CASES_OPEN))


@router.get("/live")
def live_page(request: Request, user: CanViewLive, state: State) -> HTMLResponse:
    return render(request, "live.html", user, state, cameras=camera_statuses(state))


@router.get("/clips")
def clips_page(
    request: Request, user: CanViewClips, db: Db, state: State,
    camera: Text = None, zone: Text = None, since: datetime | None = None, until: datetime | None = None,
    alert_id: OptionalRowId = None, hold: Text = None,
) -> HTMLResponse:
    on_hold = {"yes": True, "no": False}.get(hold or "")
    rows = search_clips(db, camera=_blank(camera), zone=_blank(zone), since=since, until=until,
                        alert_id=alert_id, hold=on_hold, limit=200)
    filters = _form_values(camera=camera, zone=zone, since=since, until=until, alert_id=alert_id, hold=hold)
    return render(request, "clips.html", user, state, clips=[clip_json(c) for c in rows],
                  cameras=state.config.cameras, filters=filters)


@router.get("/clips/{clip_id}")
def clip_page(request: Request, clip_id: str, user: CanViewClips, db: Db, state: State) -> HTMLResponse:
    clip = clip_or_404(db, clip_id)
    custody = [entry_json(e) for e in state.runtime.evidence.entries(clip_id=clip.id)]
    last_check = next((e for e in reversed(custody) if e["action"] == "verified"), None)
    return render(request, "clip.html", user, state, clip=clip_json(clip), custody=custody, last_check=last_check,
                  can_export=allowed(user.role, Permission.CLIPS_EXPORT),
                  can_hold=allowed(user.role, Permission.HOLDS_MANAGE))


@router.get("/verify")
def verify_page(request: Request, user: CanVerify, state: State) -> HTMLResponse:
    return render(request, "verify.html", user, state, limit_mb=state.settings.max_bundle_bytes // 2**20,
                  site_keys=site_key_ids(state.runtime.evidence))


@router.get("/zones")
def zones_page(request: Request, user: CanEditZones, state: State, camera: Text = None) -> HTMLResponse:
    cameras = state.config.cameras
    chosen = camera_or_404(state, camera) if camera else (cameras[0] if cameras else None)
    return render(request, "zones.html", user, state, cameras=cameras,
                  camera=zones_json(chosen) if chosen else None,
                  schedules=sorted(state.config.schedules))


@router.get("/schedules")
def schedules_page(request: Request, user: CanEditSchedules, state: State) -> HTMLResponse:
    return render(request, "schedules.html", user, state, data=schedules_json(state.config))


@router.get("/users")
def users_page(request: Request, user: CanManageUsers, state: State) -> HTMLResponse:
    return render(request, "users.html", user, state)


@router.get("/audit")
def audit_page(
    request: Request, user: CanViewAudit, db: Db, state: State,
    username: Text = None, actor: Text = None, action: Text = None, clip_id: Text = None,
    since: datetime | None = None, until: datetime | None = None,
) -> HTMLResponse:
    logins = login_rows(db, username=_blank(username), since=since, until=until, limit=200)
    custody = custody_rows(state, actor=_blank(actor), action=_blank(action), clip_id=_blank(clip_id),
                           since=since, until=until, limit=500)
    filters = _form_values(username=username, actor=actor, action=action, clip_id=clip_id, since=since,
                           until=until)
    return render(request, "audit.html", user, state, logins=logins, custody=custody, filters=filters)
