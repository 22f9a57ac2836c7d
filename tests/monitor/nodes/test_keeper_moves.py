"""The lease keeper's turns on a real SQLite database, with the database's clock under the test's
control: a camera this node stopped recording is never renewed, even when releasing its lease
fails, so another node takes it within the lease."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from monitor.config import Camera, Config
from monitor.nodes import lease_book
from monitor.nodes.keeper import LeaseKeeper
from monitor.nodes.lease_book import Holder, LeaseBook
from monitor.store.leases import CameraLease, RecorderNode

LEASE = 3.0


class Host:
    """A supervisor that records whatever it is handed, optionally failing to start a camera."""

    def __init__(self, cameras: list[Camera], *, failing: str | None = None) -> None:
        self.config = cast(Config, SimpleNamespace(cameras=cameras))  # all the keeper reads of it
        self.recording: set[str] = set()
        self._failing = failing

    def take_camera(self, camera_id: str, before: Holder) -> None:
        if camera_id == self._failing:
            raise RuntimeError(f"camera {camera_id}: its worker could not start")
        self.recording.add(camera_id)

    def drop_camera(self, camera_id: str) -> None:
        self.recording.discard(camera_id)

    def lease_status(self, camera_id: str) -> dict[str, Any]:
        return {"state": "online"}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)

    def __call__(self, _session: Session) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(lease_book, "database_now", clock)
    return clock


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    engine = create_engine(f"sqlite:///{tmp_path}/leases.db")
    for table in (CameraLease, RecorderNode):
        table.__table__.create(engine)  # type: ignore[attr-defined]
    return sessionmaker(engine)


def cameras(count: int) -> list[Camera]:
    return [Camera(id=f"cam{i}", source="x.mp4") for i in range(count)]


def turn(*keepers: LeaseKeeper) -> None:
    """One heartbeat of every node: renew, then move."""
    for keeper in keepers:
        keeper.renew()
        keeper.move()


def test_a_camera_let_go_is_not_renewed_when_its_release_fails(clock: Clock, sessions: sessionmaker[Session],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    a_host = Host(cameras(2))
    a = LeaseKeeper(LeaseBook(sessions, "a", lease_seconds=LEASE), a_host, heartbeat=0.5)
    turn(a)
    assert a_host.recording == {"cam0", "cam1"}
    b_host = Host(cameras(2))
    b = LeaseKeeper(LeaseBook(sessions, "b", lease_seconds=LEASE), b_host, heartbeat=0.5)
    b.renew()  # b is alive: a is over its share of 1 and lets cam1 go, but the release fails
    release = LeaseBook.release

    def busy(book: LeaseBook, camera_ids: set[str]) -> None:
        raise OperationalError("UPDATE camera_leases", {}, Exception("database is locked"))

    monkeypatch.setattr(LeaseBook, "release", busy)
    with pytest.raises(OperationalError):
        a.move()
    monkeypatch.setattr(LeaseBook, "release", release)
    assert a_host.recording == {"cam0"}
    for _ in range(int(LEASE / 0.5) + 2):  # heartbeats for one lease and a bit: a must not renew cam1
        clock.advance(0.5)
        turn(a, b)
    assert a_host.recording == {"cam0"} and b_host.recording == {"cam1"}
    holders = a._book.holders()
    assert holders["cam1"].node == "b" and holders["cam1"].taken_over


def test_a_camera_whose_worker_cannot_start_is_released_for_another_node(
    clock: Clock, sessions: sessionmaker[Session],
) -> None:
    a_host = Host(cameras(2), failing="cam0")
    a = LeaseKeeper(LeaseBook(sessions, "a", lease_seconds=LEASE), a_host, heartbeat=0.5)
    b_host = Host(cameras(2))
    b = LeaseKeeper(LeaseBook(sessions, "b", lease_seconds=LEASE), b_host, heartbeat=0.5)
    b.renew()
    a.renew()
    with pytest.raises(RuntimeError):
        a.move()
    assert a._book.holders()["cam0"].released, "released at once, not held (and renewed) without a worker"
    clock.advance(0.5)
    turn(b)
    holders = a._book.holders()
    assert holders["cam0"].node == "b" and b_host.recording == {"cam0"}, holders
    assert "cam0" not in a_host.recording
