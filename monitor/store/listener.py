"""One PostgreSQL connection per node listening for what the other nodes announce.

Nodes announce new alerts (``alert_channel``) and configuration edits (``config_channel``)
with ``pg_notify``; PostgreSQL delivers a notification on commit, never for a rolled-back
transaction. One listening connection serves every channel. Other databases have one node
and need none.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping

from sqlalchemy import Engine

log = logging.getLogger(__name__)

RECONNECT_EVERY = 2.0  # seconds between attempts to listen again after the server went away

Handler = Callable[[str | None], None]
"""Called with each notification's payload, and with None after (re)connecting: whatever was
announced meanwhile was missed and must be caught up."""


class NotificationListener:
    """A thread holding one connection that listens on ``handlers``' channels."""

    def __init__(self, engine: Engine, handlers: Mapping[str, Handler]) -> None:
        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._handlers = dict(handlers)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="node-listener", daemon=True)

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
                    for channel in self._handlers:
                        connection.execute(f"LISTEN {channel}")
                    self._deliver(self._handlers, None)
                    while not self._stop.is_set():
                        for note in connection.notifies(timeout=1.0):
                            if note.channel in self._handlers:
                                self._deliver({note.channel: self._handlers[note.channel]}, note.payload)
            except psycopg.Error as exc:
                log.warning("announcements from other nodes wait for the database: %s", str(exc).strip())
                self._stop.wait(RECONNECT_EVERY)

    @staticmethod
    def _deliver(handlers: Mapping[str, Handler], payload: str | None) -> None:
        """A handler's failure is logged; it never ends the listening."""
        for channel, handler in handlers.items():
            try:
                handler(payload)
            except Exception:
                log.exception("handling a notification on %s failed", channel)
