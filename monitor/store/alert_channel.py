"""New alerts announced to every node through PostgreSQL's LISTEN/NOTIFY.

Each node's live board polls the alerts table, but on PostgreSQL ids are handed out before
commit: a row with a lower id committed by one node after another node's higher id was seen
would never be polled (``id > last seen``). A notification names the alert's id, is sent with
the insert's own transaction (PostgreSQL delivers it on commit, never for a rolled-back row),
and wakes every node's board at once to fetch exactly that row. Other databases have one node
and keep polling.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

CHANNEL = "hotspot_alerts"
RECONNECT_EVERY = 2.0  # seconds between attempts to listen again after the server went away


def notify_alert(session: Session, alert_id: int) -> None:
    """Announce a new or acknowledged alert on commit of ``session``'s transaction (PostgreSQL only)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_notify(CHANNEL, str(alert_id))))


class AlertListener:
    """A thread holding one connection that listens for new alerts; ``on_alert(id)`` for each,
    and ``on_alert(None)`` after (re)connecting: whatever came meanwhile must be polled."""

    def __init__(self, engine: Engine, on_alert: Callable[[int | None], None]) -> None:
        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._on_alert = on_alert
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alert-listener", daemon=True)

    @staticmethod
    def wanted(engine: Engine) -> bool:
        return engine.dialect.name == "postgresql"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        import psycopg  # the postgres extra; only a PostgreSQL site gets here

        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self._on_alert(None)
                    while not self._stop.is_set():
                        for note in connection.notifies(timeout=1.0):
                            if note.payload.isdigit():
                                self._on_alert(int(note.payload))
            except psycopg.Error as exc:
                log.warning("live alerts from other nodes wait for the database: %s", str(exc).strip())
                self._stop.wait(RECONNECT_EVERY)
