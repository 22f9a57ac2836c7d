"""The dashboard: server-rendered pages; small scripts in /static call the JSON API.

Each page requires the same permission as the API it shows, so a page never offers what
the server would refuse.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from evidence.actions import Action
from evidence.timestamps import TOKENS_DIR, pending_backlog
from monitor.patrol.planner import site_heatmap, site_predictability
from monitor.service.alert_feed import alert_json
from monitor.service.custody_text import Sentences
from monitor.service.deps import (
    ActiveUser,
    Authenticated,
    CanEditNotify,
    CanEditSchedules,
    CanEditZones,
    CanManageUsers,
    CanPlanPatrols,
    CanVerify,
    CanViewAlerts,
    CanViewAudit,
    CanViewClips,
    CanViewLive,
    Db,
    Principal,
    State,
)
from monitor.service.params import MAX_ID
from monitor.service.permissions import Permission, allowed
from monitor.service.routers.alerts import filtered_alerts
from monitor.service.routers.audit import custody_rows, login_rows
from monitor.service.routers.auth import issue_login_csrf
from monitor.service.routers.bundles import site_key_ids
from monitor.service.routers.cameras import camera_or_404, camera_statuses
from monitor.service.routers.clips import clip_json, clip_or_404, entry_json, search_clips
from monitor.service.routers.notify import notify_status_json, routes_json
from monitor.service.routers.patrol import heatmap_view
from monitor.service.routers.schedules import schedules_json
from monitor.service.routers.zones import zones_json
from monitor.service.site_clock import SiteClock
from monitor.service.site_names import zone_choices
from monitor.service.unmask_requests import RequestGone
from monitor.store.models import Clip

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
    ("/notify", "Notifications", Permission.NOTIFY_EDIT),
    ("/users", "Users", Permission.USERS_MANAGE),
    ("/audit", "Audit", Permission.AUDIT_VIEW),
    ("/heatmap", "Heat map", Permission.PATROL_PLAN),
    ("/patrol", "Patrol", Permission.PATROL_PLAN),
)


def _blank(value: str | None) -> str | None:
    return value or None


def _form_values(clock: SiteClock, **values: object) -> dict[str, str]:
    """Filter values as the search form shows them again: blanks for unset, site time for times."""
    return {k: clock.field(v) if isinstance(v, datetime) else ("" if v is None else str(v)) for k, v in values.items()}


def _when(value: str | None, label: str) -> datetime | None:
    """A From/To field as the browser sends it: blank is no limit; anything else must be a time."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"{label}: {value!r} is not a date and time") from None


def clock_of(state: Any) -> SiteClock:
    return SiteClock(state.config.site.timezone)


def render(request: Request, name: str, user: Principal | None, state: Any, **context: Any) -> HTMLResponse:
    nav = [(href, label) for href, label, p in NAV if user and not user.must_change_password
           and allowed(user.role, p)]
    response = templates.TemplateResponse(request, name, {
        "user": user, "nav": nav, "site": state.config.site.name, "path": request.url.path,
        "clock": clock_of(state), "timezone": state.config.site.timezone, **context,
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
    rows = filtered_alerts(db, state.config, camera=_blank(camera), zone=_blank(zone),
                           unacknowledged=unacknowledged, limit=200)
    return render(request, "alerts.html", user, state, alerts=[alert_json(a, state.config) for a in rows],
                  zones=zone_choices(state.config),
                  cameras=state.config.cameras, camera_states=camera_statuses(state),
                  filters={"camera": camera or "", "zone": zone or "",
                                                         "unacknowledged": unacknowledged},
                  can_ack=allowed(user.role, Permission.ALERTS_ACK),
                  can_clips=allowed(user.role, Permission.CLIPS_VIEW),
                  can_play=allowed(user.role, Permission.ALERTS_CLIP),
                  can_cases=allowed(user.role, Permission.CASES_OPEN))


@router.get("/live")
def live_page(request: Request, user: CanViewLive, state: State) -> HTMLResponse:
    return render(request, "live.html", user, state, cameras=camera_statuses(state))


def _row_id(value: str | None, name: str) -> int | None:
    """A form's id field: blank is none; anything but a row id is refused here (422), never
    handed to the database, which cannot hold numbers past 2^63-1."""
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_ID:
        raise HTTPException(422, f"{name} must be a row id (1 to 2^63-1)")
    return int(value)


@router.get("/clips")
def clips_page(
    request: Request, user: CanViewClips, db: Db, state: State,
    camera: Text = None, zone: Text = None, since: Text = None, until: Text = None,
    alert_id: Text = None, hold: Text = None,
) -> HTMLResponse:
    on_hold = {"yes": True, "no": False}.get(hold or "")
    clock = clock_of(state)
    since_at, until_at = clock.read(_when(since, "From")), clock.read(_when(until, "To"))
    rows = search_clips(db, state.config, camera=_blank(camera), zone=_blank(zone), since=since_at, until=until_at,
                        alert_id=_row_id(alert_id, "alert_id"), hold=on_hold, limit=200)
    filters = _form_values(clock, camera=camera, zone=zone, since=since, until=until, alert_id=alert_id, hold=hold)
    return render(request, "clips.html", user, state, clips=[clip_json(c, state.config) for c in rows],
                  zones=zone_choices(state.config),
                  cameras=state.config.cameras, filters=filters)


def sealed_placement(custody: list[dict[str, Any]]) -> dict[str, float] | None:
    """Where the clip's encoded rectangle lies in the camera's frame, as percentages, from
    its seal; None when it is the whole frame (or the clip is not sealed yet)."""
    for entry in custody:
        details = entry["details"] if isinstance(entry["details"], dict) else {}
        placement = (details.get("metadata") or {}).get("placement") if entry["action"] in ("sealed", "recovered") else None
        if not placement:
            continue
        frame_width, frame_height = placement["frame_width"], placement["frame_height"]
        width, height = details["metadata"]["width"], details["metadata"]["height"]
        if (width, height) == (frame_width, frame_height):
            return None
        return {"aspect": frame_width / frame_height, "frame_width": frame_width,
                "left": 100 * placement["x"] / frame_width, "top": 100 * placement["y"] / frame_height,
                "width": 100 * width / frame_width, "height": 100 * height / frame_height}
    return None


@router.get("/clips/{clip_id}")
def clip_page(request: Request, clip_id: str, user: CanViewClips, db: Db, state: State) -> HTMLResponse:
    clip = clip_or_404(db, clip_id)
    custody = readable(state, db, [entry_json(e) for e in state.runtime.evidence.entries(clip_id=clip.id)])
    last_check = next((e for e in reversed(custody) if e["action"] == "verified"), None)
    seal = state.runtime.evidence.find_seal(clip.id)
    original = seal.details.get("original") if seal is not None else None
    return render(request, "clip.html", user, state, clip=clip_json(clip, state.config), custody=custody,
                  last_check=last_check, placement=sealed_placement(custody),
                  can_export=allowed(user.role, Permission.CLIPS_EXPORT),
                  can_hold=allowed(user.role, Permission.HOLDS_MANAGE),
                  encrypted_original=isinstance(original, dict) and original.get("recipient") is not None)


@router.get("/unmask/{request_id}")
def unmask_page(request: Request, request_id: str, user: ActiveUser, state: State) -> HTMLResponse:
    """Where custodians enter their share and the requester downloads the original."""
    try:
        status = state.unmask.get(request_id).status()
    except RequestGone:
        status = None
    return render(request, "unmask.html", user, state, status=status, request_id=request_id,
                  minutes=state.config.originals.approval_minutes)


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


@router.get("/notify")
def notify_page(request: Request, user: CanEditNotify, state: State) -> HTMLResponse:
    return render(request, "notify.html", user, state, data=routes_json(state.config),
                  status=notify_status_json(state))


@router.get("/users")
def users_page(request: Request, user: CanManageUsers, state: State) -> HTMLResponse:
    return render(request, "users.html", user, state)


AUDIT_PAGE = 50
LOGINS_PAGE = 20


def _page_url(request: Request, key: str, number: int) -> str:
    """This address with one page number changed (the filters stay)."""
    params = dict(request.query_params)
    params[key] = str(number)
    return f"{request.url.path}?{urlencode(params)}"


def readable(state: Any, db: Db, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entries with a ``sentence`` (names, site time) and the clip each one is about."""
    ids = {e["clip_id"] for e in entries if e.get("clip_id")}
    clips = {c.id: clip_json(c, state.config) for c in db.scalars(select(Clip).where(Clip.id.in_(ids)))} if ids else {}
    sentence = Sentences(state.config, clock_of(state))
    return [{**e, "raw": e, "sentence": sentence(e, clips.get(e.get("clip_id") or ""))} for e in entries]


@router.get("/audit")
def audit_page(
    request: Request, user: CanViewAudit, db: Db, state: State,
    username: Text = None, actor: Text = None, action: Text = None, clip_id: Text = None,
    since: Text = None, until: Text = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1, logins_page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    clock = clock_of(state)
    since_at, until_at = clock.read(_when(since, "From")), clock.read(_when(until, "To"))
    logins = login_rows(db, username=_blank(username), since=since_at, until=until_at, limit=LOGINS_PAGE + 1,
                        offset=(logins_page - 1) * LOGINS_PAGE)
    custody = custody_rows(state, actor=_blank(actor), action=_blank(action), clip_id=_blank(clip_id),
                           since=since_at, until=until_at, limit=AUDIT_PAGE + 1, offset=(page - 1) * AUDIT_PAGE)
    filters = _form_values(clock, username=username, actor=actor, action=action, clip_id=clip_id, since=since,
                           until=until)
    pages = {
        "custody": {"number": page, "older": _page_url(request, "page", page + 1) if len(custody) > AUDIT_PAGE else None,
                    "newer": _page_url(request, "page", page - 1) if page > 1 else None},
        "logins": {"number": logins_page,
                   "older": _page_url(request, "logins_page", logins_page + 1) if len(logins) > LOGINS_PAGE else None,
                   "newer": _page_url(request, "logins_page", logins_page - 1) if logins_page > 1 else None},
    }
    return render(request, "audit.html", user, state, logins=logins[:LOGINS_PAGE],
                  custody=readable(state, db, custody[:AUDIT_PAGE]), filters=filters, pages=pages,
                  actions=[a.value for a in Action],
                  timestamp_backlog=pending_backlog(state.runtime.paths.root / TOKENS_DIR,
                                                    state.config.evidence.timestamp_authorities))


@router.get("/heatmap")
def heatmap_page(
    request: Request, user: CanPlanPatrols, db: Db, state: State,
    since: date | None = None, metric: Annotated[str, Query(pattern="^(events|seconds)$")] = "events",
) -> HTMLResponse:
    config = state.config
    heatmap = site_heatmap(db, config, since=since)
    data = heatmap.as_json()
    labels = {f"{c.id}/{z.id}": f"{c.label} · {z.name or z.id}" for c in config.cameras for z in c.zones}
    return render(request, "heatmap.html", user, state, view=heatmap_view(data, metric, labels), data=data,
                  metric=metric, since=(since or heatmap.since.date()).isoformat())


@router.get("/patrol")
def patrol_page(request: Request, user: CanPlanPatrols, db: Db, state: State) -> HTMLResponse:
    config = state.config
    today = datetime.now(config.site.tz).date().isoformat()
    report = site_predictability(db, config).as_json()
    return render(request, "patrol.html", user, state, today=today, settings=config.patrol, report=report)
