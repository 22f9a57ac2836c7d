"""One engine per process, configured so several camera workers can share a SQLite file."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and foreign keys."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def with_retry(
    action: Callable[[], T], *, attempts: int = 8, delay: float = 0.25,
    on_retry: Callable[[Exception, int], None] | None = None,
) -> T:
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
            if on_retry:
                on_retry(exc, attempt)
            time.sleep(min(delay * 2 ** (attempt - 1), 5.0))
    raise AssertionError("unreachable")
