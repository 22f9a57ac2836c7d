"""One engine per process, configured so several camera workers can share a SQLite file."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")
log = logging.getLogger(__name__)

DEFAULT_BUSY_TIMEOUT = 30.0  # seconds a SQLite writer waits for another's lock before failing
CONNECT_TIMEOUT = 5  # seconds to reach a PostgreSQL server that does not answer at all


def make_engine(url: str, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and foreign keys.

    A plain ``postgresql://`` URL uses psycopg 3 (the ``postgres`` extra), not SQLAlchemy's
    psycopg2 default, so the URL in ``cameras.yaml`` need not name a driver.
    """
    if busy_timeout <= 0:
        raise ValueError(f"busy_timeout must be positive, got {busy_timeout}")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": busy_timeout, "check_same_thread": False})
        milliseconds = max(1, round(busy_timeout * 1000))

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={milliseconds}")
            cursor.close()

        return engine
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    connect_args = {"connect_timeout": CONNECT_TIMEOUT} if parsed.get_backend_name() == "postgresql" else {}
    return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def describe_unavailable(exc: OperationalError) -> str:
    """The driver's first line ("database is locked", "connection refused"), for staff to read."""
    original = str(exc.orig) if exc.orig is not None else str(exc)
    lines = [line.strip() for line in original.splitlines() if line.strip()]
    return lines[0] if lines else type(exc.orig or exc).__name__


def with_retry(action: Callable[[], T], *, attempts: int = 8, delay: float = 0.25) -> T:
    """Run ``action``, retrying when the database is locked or unreachable.

    Alerts and seals must not be lost to a busy SQLite file or a PostgreSQL restart, so the
    caller's unit of work is repeated with exponential backoff before the error surfaces.
    """
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except OperationalError as exc:
            if attempt == attempts:
                raise
            log.warning("database unavailable (attempt %d of %d): %s", attempt, attempts,
                        describe_unavailable(exc))
            time.sleep(min(delay * 2 ** (attempt - 1), 5.0))
    raise AssertionError("unreachable")
