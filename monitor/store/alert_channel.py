"""New alerts announced to every node through PostgreSQL's LISTEN/NOTIFY.

Each node's live board polls the alerts table, but on PostgreSQL ids are handed out before
commit: a row with a lower id committed by one node after another node's higher id was seen
would never be polled (``id > last seen``). A notification names the alert's id, is sent with
the insert's own transaction (PostgreSQL delivers it on commit, never for a rolled-back row),
and wakes every node's board at once to fetch exactly that row (``monitor.store.listener``).
Other databases have one node and keep polling.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

CHANNEL = "hotspot_alerts"


def notify_alert(session: Session, alert_id: int) -> None:
    """Announce a new or acknowledged alert on commit of ``session``'s transaction (PostgreSQL only)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_notify(CHANNEL, str(alert_id))))


def alert_handler(on_alert: Callable[[int | None], None]) -> Callable[[str | None], None]:
    """``on_alert(id)`` for each announced alert, ``on_alert(None)`` when some may have been missed."""
    def handle(payload: str | None) -> None:
        if payload is None or payload.isdigit():
            on_alert(None if payload is None else int(payload))

    return handle
