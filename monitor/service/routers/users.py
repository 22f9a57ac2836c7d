"""User management for admins: add, change role, reset password, disable."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from evidence.actions import Action
from monitor.service.accounts import (
    AccountError,
    add_user,
    find_user,
    one_time_password,
    set_disabled,
    set_password,
)
from monitor.service.deps import CanManageUsers, Db, Principal, State
from monitor.service.times import UtcTime
from monitor.store.users import User

router = APIRouter(prefix="/api/users", tags=["users"])
Role = Literal["security", "investigator", "admin"]


class UserOut(BaseModel):
    username: str
    role: str
    disabled: bool
    must_change_password: bool
    created_at: UtcTime
    last_login: UtcTime | None


class NewUserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    role: Role


class UserChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role | None = None
    disabled: bool | None = None


class OneTimePasswordOut(BaseModel):
    username: str
    password: str = Field(description="one-time password; the user must change it at first login")
    tokens_revoked: int = Field(default=0, description="API tokens of the user revoked by a reset")


def _out(user: User) -> UserOut:
    return UserOut.model_validate(user, from_attributes=True)


def _find(db: Db, username: str) -> User:
    try:
        return find_user(db, username)
    except AccountError as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("", summary="All users", response_model=list[UserOut])
def list_users(_user: CanManageUsers, db: Db) -> list[UserOut]:
    return [_out(u) for u in db.scalars(select(User).order_by(User.username))]


@router.post("", summary="Add a user; returns a one-time password", response_model=OneTimePasswordOut,
             status_code=201)
def create_user(body: NewUserIn, admin: CanManageUsers, db: Db, state: State) -> OneTimePasswordOut:
    try:
        user, secret = add_user(db, body.username, body.role)
    except AccountError as exc:
        raise HTTPException(422, str(exc)) from None
    db.commit()
    state.runtime.evidence.append(Action.USER_ADDED, actor=admin.username,
                                  details={"user": user.username, "role": user.role})
    return OneTimePasswordOut(username=user.username, password=secret)


def _guard_self(admin: Principal, user: User, change: UserChangeIn) -> None:
    """An admin cannot lock themselves out by demoting or disabling their own account."""
    if user.id == admin.user_id and (change.disabled or (change.role and change.role != "admin")):
        raise HTTPException(409, "you cannot disable or demote your own account; ask another admin")


@router.patch("/{username}", summary="Change a user's role or disable/enable them", response_model=UserOut)
def change_user(username: str, body: UserChangeIn, admin: CanManageUsers, db: Db, state: State) -> UserOut:
    user = _find(db, username)
    _guard_self(admin, user, body)
    change: dict[str, object] = {}
    if body.role is not None and body.role != user.role:
        change.update(role=body.role, previous_role=user.role)
        user.role = body.role
    if body.disabled is not None and body.disabled != user.disabled:
        change["disabled"] = body.disabled
        set_disabled(db, user, body.disabled)
    db.commit()
    if change:
        state.runtime.evidence.append(Action.USER_CHANGED, actor=admin.username,
                                      details={"user": user.username, **change})
    return _out(user)


@router.post("/{username}/reset-password", summary="Reset to a one-time password (ends their sessions, revokes their API tokens)",
             response_model=OneTimePasswordOut)
def reset_password(username: str, admin: CanManageUsers, db: Db, state: State) -> OneTimePasswordOut:
    """A reset always revokes the user's API tokens: it is how a stolen account is taken back."""
    user = _find(db, username)
    if user.id == admin.user_id:
        raise HTTPException(409, "you cannot reset your own password here (it would lock you out); "
                                 "change it on your Account page")
    secret = one_time_password()
    revoked = set_password(db, user, secret, temporary=True, revoke_tokens=True)
    db.commit()
    state.runtime.evidence.append(Action.PASSWORD_RESET, actor=admin.username,
                                  details={"user": user.username, "tokens_revoked": revoked})
    return OneTimePasswordOut(username=user.username, password=secret, tokens_revoked=revoked)
