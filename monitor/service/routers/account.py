"""The caller's own account: who am I, change my password, my API tokens."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from evidence.actions import Action
from monitor.service.accounts import (
    AccountError,
    check_password,
    new_api_token,
    password_matches,
    set_password,
)
from monitor.service.deps import ActiveUser, Authenticated, Db, State
from monitor.service.params import RowId
from monitor.service.permissions import ROLE_PERMISSIONS
from monitor.service.times import UtcTime
from monitor.store.users import ApiToken, User

router = APIRouter(prefix="/api/me", tags=["account"])


class MeOut(BaseModel):
    username: str
    role: str
    must_change_password: bool
    permissions: list[str]


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)
    revoke_tokens: bool = Field(default=True, description="also revoke my API tokens (the default)")


class PasswordChangedOut(BaseModel):
    sessions_ended: bool = Field(description="every session ended: log in again with the new password")
    tokens_revoked: int = Field(description="how many of my API tokens were revoked")


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)


class TokenOut(BaseModel):
    id: int
    name: str
    created_at: UtcTime
    last_used: UtcTime | None
    revoked: bool


class NewTokenOut(TokenOut):
    token: str = Field(description="shown once; send as 'Authorization: Bearer <token>'")


def _user(db: Db, principal: Authenticated) -> User:
    user = db.get(User, principal.user_id)
    if user is None:
        raise HTTPException(401, "log in first")
    return user


@router.get("", summary="The logged-in user", response_model=MeOut)
def me(principal: Authenticated) -> MeOut:
    return MeOut(username=principal.username, role=principal.role,
                 must_change_password=principal.must_change_password,
                 permissions=sorted(p.value for p in ROLE_PERMISSIONS.get(principal.role, ())))


@router.post("/password", summary="Change my password (ends every session and, by default, revokes my "
             "API tokens)", response_model=PasswordChangedOut)
def change_password(body: PasswordIn, principal: Authenticated, db: Db, state: State) -> PasswordChangedOut:
    user = _user(db, principal)
    context = (state.config.site.name,)
    try:  # judged before the (slow, Argon2) check of the current password
        check_password(body.new_password, user.username, context=context)
    except AccountError as exc:
        raise HTTPException(422, str(exc)) from None
    if not password_matches(user, body.current_password):
        raise HTTPException(403, "the current password is wrong")
    if body.new_password == body.current_password:
        raise HTTPException(422, "the new password must differ from the current one")
    revoked = set_password(db, user, body.new_password, temporary=False, revoke_tokens=body.revoke_tokens,
                           context=context)
    db.commit()
    state.runtime.evidence.append(Action.PASSWORD_CHANGED, actor=user.username,
                                  details={"user": user.username, "tokens_revoked": revoked})
    return PasswordChangedOut(sessions_ended=True, tokens_revoked=revoked)


@router.get("/tokens", summary="My API tokens", response_model=list[TokenOut])
def list_tokens(principal: ActiveUser, db: Db) -> list[TokenOut]:
    rows = db.scalars(select(ApiToken).where(ApiToken.user_id == principal.user_id).order_by(ApiToken.id))
    return [TokenOut.model_validate(row, from_attributes=True) for row in rows]


@router.post("/tokens", summary="Create an API token for scripts", response_model=NewTokenOut, status_code=201)
def create_token(body: TokenIn, principal: ActiveUser, db: Db, state: State) -> NewTokenOut:
    try:
        token, secret = new_api_token(db, _user(db, principal), body.name)
    except AccountError as exc:
        raise HTTPException(422, str(exc)) from None
    db.commit()
    state.runtime.evidence.append(Action.TOKEN_CREATED, actor=principal.username,
                                  details={"user": principal.username, "token": token.name, "token_id": str(token.id)})
    return NewTokenOut(**TokenOut.model_validate(token, from_attributes=True).model_dump(), token=secret)


@router.post("/tokens/{token_id}/revoke", summary="Revoke one of my API tokens", status_code=204)
def revoke_token(token_id: RowId, principal: ActiveUser, db: Db, state: State) -> None:
    token = db.get(ApiToken, token_id)
    if token is None or token.user_id != principal.user_id:
        raise HTTPException(404, f"no token {token_id} of yours")
    token.revoked = True
    db.commit()
    state.runtime.evidence.append(Action.TOKEN_REVOKED, actor=principal.username,
                                  details={"user": principal.username, "token": token.name, "token_id": str(token.id)})
