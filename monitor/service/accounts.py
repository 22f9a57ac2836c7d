"""Users, passwords, sessions and API tokens: the rules shared by the service and the CLI."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.service.throttle import RateLimit
from monitor.store.users import ROLES, ApiToken, LoginAttempt, User, WebSession

__all__ = ["RateLimit"]  # re-exported: settings and tests name it with the other account rules

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MIN_PASSWORD = 10
MIN_STRENGTH = 3  # zxcvbn score: 3 = about 10^10 guesses needed, beyond an online attack's reach
SESSION_LIFETIME = timedelta(hours=12)
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so a wrong username costs as long as a
    wrong password. Made on first use, not at import: Argon2 takes 64 MiB, and the camera
    worker processes import the command line that imports this module."""
    return _hasher.hash(secrets.token_hex(16))


class AccountError(ValueError):
    """A request about users that cannot be done; the message says why."""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def one_time_password() -> str:
    return secrets.token_urlsafe(12)


def check_username(username: str) -> str:
    if not USERNAME.match(username):
        raise AccountError(
            f"username {username!r} is not allowed: use 1-64 lower-case letters, digits, '.', '_' or '-'"
        )
    return username


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"role {role!r} is unknown; roles are {', '.join(ROLES)}")
    return role


def check_password(password: str, username: str, *, context: tuple[str, ...] = ()) -> str:
    """Refuse short, common and guessable passwords, judged by zxcvbn (Dropbox's estimator, with
    its lists of leaked passwords, names, words, keyboard walks and dates) knowing the username
    and ``context`` (such as the site's name), which an attacker would try first."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    if password.lower() == username.lower():
        raise AccountError("the password must not be the username")
    from zxcvbn import zxcvbn  # loaded on first use: camera workers import this module's package

    # zxcvbn judges at most 72 characters (it raises past that); beyond, length alone suffices
    estimate = zxcvbn(password[:72], user_inputs=_guessable_words(username, *context, "hotspot monitor"))
    if estimate["score"] < MIN_STRENGTH:
        feedback = estimate["feedback"]
        hint = " ".join(filter(None, [feedback.get("warning"), *feedback.get("suggestions", [])]))
        raise AccountError(f"the password is too easy to guess{': ' + hint if hint else ''}")
    return password


def _guessable_words(*texts: str) -> list[str]:
    """Each text whole, without spaces or punctuation, and word by word ("Test School" gives
    "test school", "testschool", "test", "school"): how people build passwords from names."""
    words: set[str] = set()
    for text in texts:
        lowered = text.lower()
        parts = re.findall(r"[a-z0-9]+", lowered)
        words.update({lowered, "".join(parts), *parts})
    return sorted(w for w in words if w)


def find_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise AccountError(f"no user {username!r}")
    return user


def add_user(session: Session, username: str, role: str, password: str | None = None,
             *, context: tuple[str, ...] = ()) -> tuple[User, str]:
    """Create a user; without a password, a one-time password is made (returned) that must be changed."""
    check_username(username)
    check_role(role)
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise AccountError(f"user {username!r} already exists")
    secret = password if password is not None else one_time_password()
    if password is not None:
        check_password(password, username, context=context)
    user = User(username=username, role=role, password_hash=_hasher.hash(secret),
                must_change_password=password is None)
    session.add(user)
    session.flush()
    return user, secret


def set_password(session: Session, user: User, password: str, *, temporary: bool,
                 revoke_tokens: bool = True, context: tuple[str, ...] = ()) -> int:
    """Store a new password; a temporary one must be changed at the next login. Ends every
    session and, unless the user keeps them, revokes the API tokens (a stolen password may
    have made one). Returns how many tokens were revoked."""
    if not temporary:
        check_password(password, user.username, context=context)
    user.password_hash = _hasher.hash(password)
    user.must_change_password = temporary
    for row in session.scalars(select(WebSession).where(WebSession.user_id == user.id)):
        session.delete(row)
    return revoke_api_tokens(session, user) if revoke_tokens else 0


def revoke_api_tokens(session: Session, user: User) -> int:
    """Revoke every live API token of ``user``; returns how many."""
    revoked = 0
    for token in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False))):
        token.revoked = True
        revoked += 1
    return revoked


def set_disabled(session: Session, user: User, disabled: bool) -> None:
    """Disable or enable; disabling also ends the user's sessions and revokes the API tokens."""
    user.disabled = disabled
    if disabled:
        for row in session.scalars(select(WebSession).where(WebSession.user_id == user.id)):
            session.delete(row)
        revoke_api_tokens(session, user)


def ensure_first_admin(session: Session) -> str | None:
    """On a site without users, create ``admin`` and return its one-time password."""
    if session.scalar(select(func.count()).select_from(User)):
        return None
    _user, secret = add_user(session, "admin", "admin")
    return secret


def password_matches(user: User | None, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash if user else _dummy_hash(), password) and user is not None
    except (VerificationError, InvalidHashError):
        return False


def log_attempt(session: Session, *, username: str, remote: str, success: bool, reason: str) -> None:
    session.add(LoginAttempt(username=username[:64], remote=remote[:64], success=success, reason=reason))


def open_session(session: Session, user: User) -> tuple[str, str]:
    """Start a browser session; returns (cookie token, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session.add(WebSession(token_sha256=digest(token), user_id=user.id, csrf_token=csrf,
                           created_at=now, expires_at=now + SESSION_LIFETIME))
    user.last_login = now
    return token, csrf


def session_user(session: Session, token: str) -> tuple[User, WebSession] | None:
    row = session.get(WebSession, digest(token))
    if row is None:
        return None
    if row.expires_at.replace(tzinfo=row.expires_at.tzinfo or UTC) < datetime.now(UTC):
        session.delete(row)
        return None
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        return None
    return user, row


def new_api_token(session: Session, user: User, name: str) -> tuple[ApiToken, str]:
    if not name.strip() or len(name) > 64:
        raise AccountError("a token needs a name of 1-64 characters")
    secret = "hs_" + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name.strip(), token_sha256=digest(secret))
    session.add(token)
    session.flush()
    return token, secret


def token_user(session: Session, secret: str) -> User | None:
    token = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == digest(secret)))
    if token is None or token.revoked:
        return None
    user = session.get(User, token.user_id)
    if user is None or user.disabled:
        return None
    now = datetime.now(UTC)
    last = token.last_used
    # Record use at most once a minute: a script polling the API should not write on every call.
    if last is None or now - (last if last.tzinfo else last.replace(tzinfo=UTC)) > timedelta(minutes=1):
        token.last_used = now
    return user


def same_secret(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
