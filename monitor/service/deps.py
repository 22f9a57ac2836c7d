"""Dependencies every route uses: the service state, a database session, the caller and their rights.

Each permission has its own ``Annotated`` alias, so a route's signature states who may call it,
and a route with none of these is public only because it says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from monitor.service.accounts import same_secret, session_user, token_user
from monitor.service.permissions import Permission, allowed
from monitor.service.state import ServiceState

SESSION_COOKIE = "hotspot_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.service
    return state


State = Annotated[ServiceState, Depends(get_state)]


def get_db(state: State) -> Iterator[Session]:
    with state.runtime.sessions() as session:
        yield session


Db = Annotated[Session, Depends(get_db)]


@dataclass(frozen=True)
class Principal:
    """The authenticated caller; ``csrf`` is set for browser sessions only."""

    user_id: int
    username: str
    role: str
    must_change_password: bool
    csrf: str | None


class LoginRequired(HTTPException):
    def __init__(self) -> None:
        super().__init__(401, "log in first", headers={"WWW-Authenticate": "Bearer"})


class PasswordChangeRequired(HTTPException):
    def __init__(self) -> None:
        super().__init__(403, "change your one-time password first (Account page)")


def authenticate(request: Request, db: Db) -> Principal:
    """Bearer token for scripts, else the session cookie; cookie requests that change state need CSRF."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        user = token_user(db, header[7:].strip())
        if user is None:
            raise LoginRequired()
        db.commit()
        return Principal(user.id, user.username, user.role, user.must_change_password, None)
    cookie = request.cookies.get(SESSION_COOKIE)
    found = session_user(db, cookie) if cookie else None
    if found is None:
        db.commit()
        raise LoginRequired()
    user, web_session = found
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not same_secret(sent, web_session.csrf_token):
            raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header (CSRF protection)")
    return Principal(user.id, user.username, user.role, user.must_change_password, web_session.csrf_token)


Authenticated = Annotated[Principal, Depends(authenticate)]


class _Require:
    """A dependency that lets through only callers whose role has ``permission``."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def __call__(self, principal: Authenticated) -> Principal:
        if principal.must_change_password:
            raise PasswordChangeRequired()
        if not allowed(principal.role, self.permission):
            raise HTTPException(403, f"role {principal.role!r} lacks permission {self.permission.value}")
        return principal


def _active(principal: Authenticated) -> Principal:
    if principal.must_change_password:
        raise PasswordChangeRequired()
    return principal


ActiveUser = Annotated[Principal, Depends(_active)]
CanViewAlerts = Annotated[Principal, Depends(_Require(Permission.ALERTS_VIEW))]
CanAckAlerts = Annotated[Principal, Depends(_Require(Permission.ALERTS_ACK))]
CanPlayAlertClip = Annotated[Principal, Depends(_Require(Permission.ALERTS_CLIP))]
CanViewCameras = Annotated[Principal, Depends(_Require(Permission.CAMERAS_VIEW))]
CanViewLive = Annotated[Principal, Depends(_Require(Permission.LIVE_VIEW))]
CanViewClips = Annotated[Principal, Depends(_Require(Permission.CLIPS_VIEW))]
CanExport = Annotated[Principal, Depends(_Require(Permission.CLIPS_EXPORT))]
CanVerify = Annotated[Principal, Depends(_Require(Permission.BUNDLES_VERIFY))]
CanManageHolds = Annotated[Principal, Depends(_Require(Permission.HOLDS_MANAGE))]
CanEditZones = Annotated[Principal, Depends(_Require(Permission.ZONES_EDIT))]
CanEditSchedules = Annotated[Principal, Depends(_Require(Permission.SCHEDULES_EDIT))]
CanEditNotify = Annotated[Principal, Depends(_Require(Permission.NOTIFY_EDIT))]
CanManageUsers = Annotated[Principal, Depends(_Require(Permission.USERS_MANAGE))]
CanViewAudit = Annotated[Principal, Depends(_Require(Permission.AUDIT_VIEW))]
CanOpenCases = Annotated[Principal, Depends(_Require(Permission.CASES_OPEN))]
CanManageCases = Annotated[Principal, Depends(_Require(Permission.CASES_MANAGE))]
CanPlanPatrols = Annotated[Principal, Depends(_Require(Permission.PATROL_PLAN))]


def route_permission(dependant_calls: list[object]) -> str:
    """Name the access rule of a route from its dependency callables (for the docs and tests)."""
    for call in dependant_calls:
        if isinstance(call, _Require):
            return call.permission.value
    if _active in dependant_calls:
        return "any active user"
    if authenticate in dependant_calls:
        return "any logged-in user"
    return "public"
