"""Logging in and out of the dashboard. Failed attempts are logged and throttled (monitor.service.throttle)."""

from __future__ import annotations

import math
import secrets

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from monitor.service.accounts import (
    digest,
    log_attempt,
    open_session,
    password_matches,
    same_secret,
)
from monitor.service.deps import CSRF_HEADER, SESSION_COOKIE, Authenticated, Db, State
from monitor.service.throttle import THROTTLED, seconds_to_wait
from monitor.store.users import User, WebSession

router = APIRouter(prefix="/api/auth", tags=["auth"])
LOGIN_CSRF_COOKIE = "hotspot_login_csrf"


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class LoginOut(BaseModel):
    username: str
    role: str
    must_change_password: bool
    csrf_token: str


def set_cookie(response: Response, request: Request, name: str, value: str, *, http_only: bool) -> None:
    response.set_cookie(name, value, httponly=http_only, samesite="strict", path="/",
                        secure=request.url.scheme == "https")


def issue_login_csrf(request: Request, response: Response) -> str:
    """The login form's double-submit token (there is no session to bind it to yet)."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    set_cookie(response, request, LOGIN_CSRF_COOKIE, token, http_only=False)
    return token


def _remote(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/login", summary="Log in (public); sets the session cookie", response_model=LoginOut)
def login(body: LoginIn, request: Request, response: Response, db: Db, state: State) -> LoginOut:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not same_secret(request.headers.get(CSRF_HEADER, ""), expected):
        raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header (open the login page first)")
    remote = _remote(request)
    with state.login_gate.one_at_a_time(remote):
        return _attempt(body, remote=remote, request=request, response=response, db=db, state=state)


def _attempt(
    body: LoginIn, *, remote: str, request: Request, response: Response, db: Db, state: State,
) -> LoginOut:
    wait = seconds_to_wait(db, state.settings.rate_limit, username=body.username, remote=remote)
    if wait > 0:
        log_attempt(db, username=body.username, remote=remote, success=False, reason=THROTTLED)
        db.commit()
        raise HTTPException(429, f"too many failed logins from your address; try again in {math.ceil(wait)} s",
                            headers={"Retry-After": str(math.ceil(wait))})
    user = db.scalar(select(User).where(User.username == body.username))
    ok = password_matches(user, body.password)
    if not ok or user is None or user.disabled:
        reason = "disabled" if ok and user is not None else "wrong username or password"
        log_attempt(db, username=body.username, remote=remote, success=False, reason=reason)
        db.commit()
        raise HTTPException(401, "wrong username or password")
    token, csrf = open_session(db, user)
    log_attempt(db, username=user.username, remote=remote, success=True, reason="")
    db.commit()
    set_cookie(response, request, SESSION_COOKIE, token, http_only=True)
    return LoginOut(username=user.username, role=user.role,
                    must_change_password=user.must_change_password, csrf_token=csrf)


@router.post("/logout", summary="End this browser session", status_code=204)
def logout(principal: Authenticated, request: Request, response: Response, db: Db) -> None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        row = db.get(WebSession, digest(cookie))
        if row is not None and row.user_id == principal.user_id:
            db.delete(row)
            db.commit()
    response.delete_cookie(SESSION_COOKIE, path="/")
