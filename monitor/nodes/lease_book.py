"""The lease table as one node sees it: heartbeats, taking, renewing and letting go of cameras.

Times are the database's clock (``now()`` on PostgreSQL), so nodes whose clocks disagree still
agree on which lease has expired. Taking a camera is one conditional UPDATE (or an INSERT for a
camera never leased): of two nodes racing for it, PostgreSQL lets exactly one row change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Result, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from monitor.store.leases import CameraLease, RecorderNode


@dataclass(frozen=True)
class Holder:
    """A camera's lease as last read: who records it, and from whom it came."""

    camera_id: str
    node: str
    since: datetime
    expires_at: datetime
    released: bool
    previous_node: str | None
    taken_over: bool
    status: dict[str, Any]

    def free(self, now: datetime, me: str) -> bool:
        """Another node may take it (or it is already ``me``'s)."""
        return self.node == me or self.released or self.expires_at <= now


def _holder(row: CameraLease) -> Holder:
    return Holder(row.camera_id, row.node, row.since, row.expires_at, row.released,
                  row.previous_node, row.taken_over, dict(row.status or {}))


def _rows(result: Result[Any]) -> int:
    return cast(CursorResult[Any], result).rowcount


def database_now(session: Session) -> datetime:
    """The database's clock; SQLite has none worth the name, so a single machine's is used."""
    if session.get_bind().dialect.name == "postgresql":
        value = session.scalar(select(func.now()))
        assert isinstance(value, datetime)
        return value.astimezone(UTC)
    return datetime.now(UTC)


class LeaseBook:
    """One node's reads and writes of ``recorder_nodes`` and ``camera_leases``."""

    def __init__(self, sessions: sessionmaker[Session], node: str, *, lease_seconds: float) -> None:
        self._sessions = sessions
        self.node = node
        self._lease = timedelta(seconds=lease_seconds)

    def beat(self) -> datetime:
        """Say this node is alive for one more lease period; the database's time now."""
        with self._sessions.begin() as session:
            now = database_now(session)
            row = session.get(RecorderNode, self.node)
            if row is None:
                session.add(RecorderNode(name=self.node, started_at=now, expires_at=now + self._lease))
            else:
                row.expires_at = now + self._lease
        return now

    def live_nodes(self, now: datetime) -> list[str]:
        with self._sessions() as session:
            return list(session.scalars(select(RecorderNode.name).where(RecorderNode.expires_at > now)))

    def holders(self) -> dict[str, Holder]:
        with self._sessions() as session:
            return {row.camera_id: _holder(row) for row in session.scalars(select(CameraLease))}

    def renew(self, statuses: dict[str, dict[str, Any]]) -> set[str]:
        """Extend this node's leases on ``statuses``' cameras and publish their statuses; the
        cameras still held (a camera missing was taken by another node: stop recording it)."""
        kept: set[str] = set()
        with self._sessions.begin() as session:
            now = database_now(session)
            for camera_id, status in statuses.items():
                changed = _rows(session.execute(
                    update(CameraLease)
                    .where(CameraLease.camera_id == camera_id, CameraLease.node == self.node,
                           CameraLease.released.is_(False))
                    .values(expires_at=now + self._lease, status=status)
                ))
                if changed:
                    kept.add(camera_id)
        return kept

    def take(self, camera_id: str) -> Holder | None:
        """Take the camera if its lease is free; the lease as it was before (a ``Holder`` with
        an empty ``node`` for a camera never leased), or None when another node holds it."""
        with self._sessions.begin() as session:
            now = database_now(session)
            row = session.get(CameraLease, camera_id)
            if row is not None:
                before = _holder(row)
                if not before.free(now, self.node):
                    return None
                changed = _rows(session.execute(
                    update(CameraLease)
                    .where(CameraLease.camera_id == camera_id,
                           (CameraLease.node == self.node) | CameraLease.released.is_(True)
                           | (CameraLease.expires_at <= now))
                    .values(node=self.node, since=now, expires_at=now + self._lease, released=False,
                            previous_node=before.node, status={},
                            taken_over=not before.released and before.node != self.node)
                ))
                return before if changed else None
        try:
            with self._sessions.begin() as session:
                session.add(CameraLease(camera_id=camera_id, node=self.node, since=now, released=False,
                                        expires_at=now + self._lease, taken_over=False, status={}))
        except IntegrityError:  # another node leased it first
            return None
        return Holder(camera_id, "", now, now, True, None, False, {})

    def release(self, camera_ids: set[str]) -> None:
        """Let cameras go at once (their workers have stopped): another node may take them now."""
        if not camera_ids:
            return
        with self._sessions.begin() as session:
            now = database_now(session)
            session.execute(update(CameraLease)
                            .where(CameraLease.camera_id.in_(camera_ids), CameraLease.node == self.node)
                            .values(released=True, expires_at=now, status={}))

    def leave(self) -> None:
        """A clean stop: this node no longer counts when the others share the cameras."""
        with self._sessions.begin() as session:
            session.execute(delete(RecorderNode).where(RecorderNode.name == self.node))
