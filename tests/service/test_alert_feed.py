"""The live board's feed over real HTTP/SSE: an alert the supervisor commits is forwarded at
once, not when the poll next looks at the table (the board here polls once an hour)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.seal.clip_sealer import alert_record
from monitor.seal.database_outbox import DatabaseOutbox
from tests.service.conftest import live_board, make_site


def test_a_committed_alert_reaches_the_board_without_a_poll_and_only_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = make_site(tmp_path, alert_poll_seconds=3600.0)
    feed = site.app.state.service.feed
    looks: list[set[int]] = []
    look = feed._new_alerts

    def counted(announced: set[int]) -> list[dict[str, object]]:
        looks.append(announced)
        return look(announced)

    monkeypatch.setattr(feed, "_new_alerts", counted)
    with live_board(site) as received:
        # the supervisor's record path: the row is committed, then the callback runs
        DatabaseOutbox(site.runtime, on_alert=feed.committed).submit(alert_record({
            "kind": "motion", "camera_id": "east-stairwell", "time": datetime.now(UTC), "zones": ["landing"],
            "score": 0.3, "message": "Motion in landing", "event_id": "e" * 32}))
        first = received.get(timeout=10)
        assert looks == []  # sent from the committed row's values, not found by a look at the table
        assert (first["kind"], first["camera_name"], first["zones"], first["event_id"], first["acknowledged_at"]) == (
            "motion", "East stairwell", ["landing"], "e" * 32, None)
        # the poll finds that row already sent; it still finds rows nobody announced
        other = site.add_alert()
        feed.wake()
        second = received.get(timeout=10)
        assert second["id"] == other.id != first["id"]
        feed.wake()
        site.add_alert()
        feed.wake()
        assert received.get(timeout=10)["id"] not in (first["id"], second["id"])
