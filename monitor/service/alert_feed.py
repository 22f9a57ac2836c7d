"""Fan-out of new alerts to every open alert board.

The alerts table is the single source: a poll picks up rows with an id above the last one
seen, whoever wrote them (a worker, ``hotspot analyze``, a restarted service). An alert this
service's supervisor committed is sent to the boards at once from the committed row's values
(``committed``), without waiting for the poll's thread and query, which under load took up to
80 ms of the alert latency; the poll then finds it already sent, and still finds it if the
callback is missed. On PostgreSQL every node's new and acknowledged
alerts are also announced by id (``monitor.store.alert_channel``), fetched by id: a lower id
committed late by another node is not skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from monitor.config import Config
from monitor.service.site_names import camera_name, zone_names
from monitor.service.times import iso
from monitor.store.models import Alert
from monitor.workers.messages import AlertMessage

QUEUE_SIZE = 100


def alert_json(alert: Alert, config: Config) -> dict[str, Any]:
    return {
        "id": alert.id,
        "kind": alert.kind,
        "camera_id": alert.camera_id,
        "camera_name": camera_name(config, alert.camera_id),
        "time": iso(alert.time),
        "zones": list(alert.zones or []),
        "zone_names": zone_names(config, alert.camera_id, alert.zones or []),
        "score": alert.score,
        "message": alert.message,
        "snapshot_url": f"/api/alerts/{alert.id}/snapshot.jpg" if alert.snapshot_path else None,
        "clip_id": alert.clip_id,
        "event_id": alert.event_id,
        "acknowledged_at": iso(alert.acknowledged_at),
        "acknowledged_by": alert.acknowledged_by,
        "ack_note": alert.ack_note,
    }


class AlertFeed:
    def __init__(self, sessions: sessionmaker[Session], config: Callable[[], Config], *,
                 poll_seconds: float) -> None:
        self._sessions = sessions
        self._config = config
        self._poll_seconds = poll_seconds
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_id = 0
        self._announced: set[int] = set()  # alerts nodes announced (new or changed), fetched at the next look
        self._published: OrderedDict[int, str | None] = OrderedDict()  # id -> its acknowledgement, as sent

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def committed(self, message: AlertMessage) -> None:
        """Thread-safe: an alert row the supervisor has just committed goes to every board now."""
        if self._loop is None or self._loop.is_closed():
            return
        row = Alert(id=message.alert_id, kind=message.kind, reason=message.reason,
                    camera_id=message.camera_id, time=message.time, zones=list(message.zones),
                    score=message.score, message=message.message,
                    snapshot_path=message.snapshot_path, event_id=message.event_id, clip_id=message.clip_id)
        self._loop.call_soon_threadsafe(self._publish_once, alert_json(row, self._config()))

    def wake(self) -> None:
        """Thread-safe: ask the poll to look now (called from the supervisor's thread)."""
        if self._loop is not None and self._wake is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    def announced(self, alert_id: int | None) -> None:
        """Thread-safe: a node committed or acknowledged alert ``alert_id`` (None: look for
        anything new)."""
        if self._loop is not None and self._wake is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._fetch_soon, alert_id)

    def _fetch_soon(self, alert_id: int | None) -> None:
        assert self._wake is not None
        if alert_id is not None:
            self._announced.add(alert_id)
        self._wake.set()

    def announce(self, item: dict[str, Any]) -> None:
        """Thread-safe: send a changed alert (e.g. acknowledged) to every board."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._publish_once, item)

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._subscribers.discard(queue)

    async def run(self) -> None:
        """Poll until cancelled; started by the app's lifespan."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._last_id = await asyncio.to_thread(self._max_id)
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)
            self._wake.clear()
            announced, self._announced = self._announced, set()
            for item in await asyncio.to_thread(self._new_alerts, announced):
                self._publish_once(item)

    def _max_id(self) -> int:
        with self._sessions() as session:
            return session.scalar(select(func.max(Alert.id))) or 0

    def _new_alerts(self, announced: set[int]) -> list[dict[str, Any]]:
        """Rows past the last seen id, and those announced (committed late with a lower id)."""
        with self._sessions() as session:
            rows = list(session.scalars(select(Alert).where(Alert.id > self._last_id)
                                        .order_by(Alert.id).limit(500)))
            late = announced - {row.id for row in rows}
            if late:
                rows = sorted([*rows, *session.scalars(select(Alert).where(Alert.id.in_(late)))],
                              key=lambda row: row.id)
            items = [alert_json(row, self._config()) for row in rows]
        if items:
            self._last_id = max(self._last_id, max(item["id"] for item in items))
        return items

    def _publish_once(self, item: dict[str, Any]) -> None:
        """Each alert once, and again only when its acknowledgement changed (the acknowledging
        node announces it itself and through the database)."""
        state = item.get("acknowledged_at")
        if item["id"] in self._published and self._published[item["id"]] == state:
            return
        self._published[item["id"]] = state
        self._published.move_to_end(item["id"])
        while len(self._published) > QUEUE_SIZE * 10:
            self._published.popitem(last=False)
        self._publish(item)

    def _publish(self, item: dict[str, Any]) -> None:
        for queue in list(self._subscribers):
            if queue.full():  # a stalled board loses its oldest alert, never blocks the others
                queue.get_nowait()
            queue.put_nowait(item)
