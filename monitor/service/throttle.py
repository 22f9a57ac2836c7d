"""Slowing password guessing without handing anyone a lockout of a known user.

Failed logins are counted per address and per username-and-address, never per username
alone: an attacker who knows a username can slow down only their own address, and the
user logs in from theirs. Past a few free failures each counter demands a pause after its
latest failure that doubles with every further failure, up to a cap. Refused (throttled)
attempts are audited but not counted, so hammering does not lengthen anyone's wait, and a
successful login clears its username-and-address counter (not the address's: a guesser's
own account must not reset it). Attempts from one address are judged one at a time, so a
burst of parallel requests cannot all slip through a check made before any failed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.service.times import utc
from monitor.store.users import LoginAttempt

THROTTLED = "throttled"


@dataclass(frozen=True)
class RateLimit:
    failures: int = 5
    """Free failed logins for one username from one address."""
    address_failures: int = 20
    """Free failed logins from one address, whatever the usernames."""
    first_delay: timedelta = timedelta(seconds=1)
    """The pause after the first failure beyond the free ones; it doubles with each further one."""
    max_delay: timedelta = timedelta(minutes=15)
    window: timedelta = timedelta(hours=1)
    """Failures older than this are forgotten."""


def _pause(failures: int, free: int, limit: RateLimit) -> timedelta:
    if failures < free:
        return timedelta(0)
    return min(limit.first_delay * 2 ** min(failures - free, 32), limit.max_delay)


def _failures(session: Session, since: datetime, *conditions: object) -> tuple[int, datetime | None]:
    """How many counted failures match, and when the latest was."""
    query = select(func.count(), func.max(LoginAttempt.time)).where(
        LoginAttempt.success.is_(False), LoginAttempt.reason != THROTTLED, LoginAttempt.time >= since,
        *conditions,  # type: ignore[arg-type]
    )
    count, latest = session.execute(query).one()
    return int(count or 0), utc(latest) if latest is not None else None


def seconds_to_wait(session: Session, limit: RateLimit, *, username: str, remote: str) -> float:
    """0 when this attempt may go ahead, else how long this address (for this username) must wait."""
    now = datetime.now(UTC)
    since = now - limit.window
    last_success = session.scalar(select(func.max(LoginAttempt.time)).where(
        LoginAttempt.success.is_(True), LoginAttempt.username == username, LoginAttempt.remote == remote))
    pair_since = max(since, utc(last_success)) if last_success is not None else since
    waits = []
    for free, (count, latest) in (
        (limit.failures, _failures(session, pair_since, LoginAttempt.username == username,
                                   LoginAttempt.remote == remote)),
        (limit.address_failures, _failures(session, since, LoginAttempt.remote == remote)),
    ):
        if latest is not None:
            waits.append((latest + _pause(count, free, limit) - now).total_seconds())
    return max([0.0, *waits])


class AddressGate:
    """One login attempt at a time per address (in this process)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._users: dict[str, int] = {}

    @contextmanager
    def one_at_a_time(self, remote: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(remote, threading.Lock())
            self._users[remote] = self._users.get(remote, 0) + 1
        try:
            with lock:
                yield
        finally:
            with self._guard:
                self._users[remote] -= 1
                if not self._users[remote]:
                    del self._users[remote], self._locks[remote]
