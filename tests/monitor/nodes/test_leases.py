"""Camera leases on a real PostgreSQL server: one holder at a time, take-over only after expiry,
and a fair share of the unpinned cameras for each live node."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config import Camera, load_config
from monitor.nodes.lease_book import Holder, LeaseBook
from monitor.nodes.sharing import plan_moves
from monitor.site.runtime import Runtime
from tests.conftest import base_config, write_config
from tests.fixtures.postgres_server import PostgresServer, postgres_server, postgres_url

__all__ = ["postgres_server", "postgres_url"]  # fixtures: imported so pytest finds them

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def lease(camera_id: str, node: str, *, expires_in: float = 10.0, released: bool = False) -> Holder:
    return Holder(camera_id, node, NOW, NOW + timedelta(seconds=expires_in), released, None, False, {})


def cams(*ids: str, pins: dict[str, str] | None = None) -> list[Camera]:
    return [Camera(id=cid, source="x.mp4", node=(pins or {}).get(cid)) for cid in ids]


def test_a_lone_node_takes_every_camera_and_shares_them_when_another_joins() -> None:
    cameras = cams("a1", "b2", "c3")
    alone = plan_moves(cameras, me="n1", held=set(), holders={}, live_nodes=["n1"], now=NOW)
    assert alone.take == ["a1", "b2", "c3"] and alone.release == []
    holders = {c: lease(c, "n1") for c in ("a1", "b2", "c3")}
    crowded = plan_moves(cameras, me="n1", held={"a1", "b2", "c3"}, holders=holders,
                         live_nodes=["n1", "n2"], now=NOW)
    assert crowded.release == ["c3"] and crowded.take == [], "one camera goes per heartbeat"
    holders["c3"] = lease("c3", "n1", released=True)
    joined = plan_moves(cameras, me="n2", held=set(), holders=holders, live_nodes=["n1", "n2"], now=NOW)
    assert joined.take == ["c3"]


def test_pins_win_and_an_expired_lease_is_free_but_a_live_one_is_not() -> None:
    cameras = cams("a1", "b2", pins={"a1": "n2"})
    holders = {"b2": lease("b2", "n2", expires_in=-1)}
    moves = plan_moves(cameras, me="n1", held=set(), holders=holders, live_nodes=["n1"], now=NOW)
    assert moves.take == ["b2"], "a pinned camera is never taken by another node; a dead node's is"
    holders = {"b2": lease("b2", "n2")}
    moves = plan_moves(cameras, me="n1", held=set(), holders=holders, live_nodes=["n1", "n2"], now=NOW)
    assert moves.take == []
    pinned_elsewhere = plan_moves(cameras, me="n1", held={"a1"}, holders={}, live_nodes=["n1"], now=NOW)
    assert pinned_elsewhere.release == ["a1"], "a camera pinned (by an edit) to another node is let go"


def race(book: LeaseBook, camera: str, start: threading.Barrier, won: list[str]) -> None:
    start.wait()
    if book.take(camera) is not None:
        won.append(book.node)


@pytest.fixture
def runtime(tmp_path: Path, postgres_url: str) -> Iterator[Runtime]:
    data = base_config(tmp_path / "data")
    data["storage"]["database"] = postgres_url
    site = Runtime.open(load_config(write_config(tmp_path, data)))
    yield site
    site.close()


def test_of_nodes_racing_for_a_camera_exactly_one_wins_and_others_wait_for_expiry(
    runtime: Runtime, postgres_server: PostgresServer,
) -> None:
    books = [LeaseBook(runtime.sessions, f"n{i}", lease_seconds=1.0) for i in range(4)]
    for round_ in range(5):  # a fresh camera (INSERT race), then the same after expiry (UPDATE race)
        camera = f"cam{round_ % 2}"
        if round_ >= 2:
            time.sleep(1.1)
        start = threading.Barrier(len(books))
        won: list[str] = []

        threads = [threading.Thread(target=race, args=(book, camera, start, won)) for book in books]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(won) == 1, f"round {round_}: {won} all took {camera}"
        winner = next(b for b in books if b.node == won[0])
        others = [b for b in books if b is not winner]
        assert all(b.take(camera) is None for b in others), "a live lease is nobody else's"
        assert winner.renew({camera: {"state": "online"}}) == {camera}
        assert others[0].renew({camera: {}}) == set(), "renewing a lease held by another keeps nothing"
    winner.release({"cam0", "cam1"})
    before = books[0].take("cam0")
    assert before is not None and before.released, "a released camera is free at once"
    assert books[0].holders()["cam0"].node == "n0"
