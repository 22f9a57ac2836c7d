"""The heat map of a seeded alert and clip history (real SQLite file) has exactly the counts the
history implies, in the site's wall-clock hours, across both DST changes of 2026 (Chicago)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from typer.testing import CliRunner

from monitor.cli import app
from monitor.patrol.heatmap import HOURS_PER_WEEK, split_by_local_hour
from monitor.patrol.planner import site_heatmap
from tests.monitor.patrol.conftest import PatrolSite

MON, TUE, WED, SUN = 0, 1, 2, 6


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def h(day: int, hour: int) -> int:
    return day * 24 + hour


def seed(site: PatrolSite) -> tuple[dict[str, dict[int, int]], dict[str, dict[int, float]]]:
    """The history, and the (zone -> hour of week -> count) it implies, worked out by hand."""
    # Chicago: CST (UTC-6) until 2026-03-08 02:00, CDT (UTC-5) until 2026-11-01 02:00.
    site.alert("east/landing", utc("2026-03-02T21:10"))  # Mon 15:10 CST
    site.alert("east/landing", utc("2026-03-08T07:30"))  # Sun 01:30 CST
    site.alert("east/landing", utc("2026-03-08T08:30"))  # Sun 03:30 CDT: one UTC hour later, two local
    site.alert("east/landing", utc("2026-03-09T20:10"))  # Mon 15:10 CDT: same local hour as the first
    site.alert("east/landing", utc("2026-03-04T05:59"), also=("door",))  # Tue 23:59 CST, two zones
    site.alert("lot/gate", utc("2026-11-01T06:15"))  # Sun 01:15 CDT
    site.alert("lot/gate", utc("2026-11-01T07:15"))  # Sun 01:15 CST: the repeated hour
    site.alert("lot/gate", utc("2026-03-03T12:00"), kind="camera-offline")  # not motion
    site.alert("lot/gate", utc("2026-02-28T12:00"))  # before the period
    site.clip("east/landing", utc("2026-03-02T20:59:30"), utc("2026-03-02T21:00:45"))  # Mon 14:59:30-15:00:45
    site.clip("lot/gate", utc("2026-03-08T07:50"), utc("2026-03-08T08:10"))  # Sun 01:50 CST-03:10 CDT
    site.clip("lot/gate", utc("2026-11-01T06:50"), utc("2026-11-01T07:10"))  # Sun 01:50 CDT-01:10 CST
    site.clip("lot/gate", utc("2026-03-01T05:59"), utc("2026-03-01T06:01"))  # from Sat 23:59, before the period
    site.clip("east/landing", utc("2026-03-04T16:00"), utc("2026-03-04T16:01"), also=("door",))  # Wed 10:00
    site.clip("east/door", utc("2026-03-05T16:00"), None, status="recording")  # still open: no span yet
    site.clip("east/door", utc("2026-03-05T17:00"), utc("2026-03-05T17:05"), status="empty")  # nothing captured
    events = {
        "east/landing": {h(MON, 15): 2, h(SUN, 1): 1, h(SUN, 3): 1, h(TUE, 23): 1},
        "east/door": {h(TUE, 23): 1},
        "lot/gate": {h(SUN, 1): 2},
    }
    seconds = {
        "east/landing": {h(MON, 14): 30.0, h(MON, 15): 45.0, h(WED, 10): 60.0},
        "east/door": {h(WED, 10): 60.0},
        "lot/gate": {h(SUN, 1): 600.0 + 1200.0, h(SUN, 3): 600.0, h(SUN, 0): 60.0},
    }
    return events, seconds


def test_counts_are_exactly_what_the_history_implies(site: PatrolSite) -> None:
    events, seconds = seed(site)
    with site.runtime.sessions() as db:
        result = site_heatmap(db, site.config, since=date(2026, 3, 1), until=utc("2026-11-08T00:00"))
    assert set(result.zones) == {"east/landing", "east/door", "lot/gate"}
    for zone, activity in result.zones.items():
        assert {i: n for i, n in enumerate(activity.events) if n} == events[zone], zone
        assert {i: s for i, s in enumerate(activity.seconds) if s} == seconds[zone], zone
    assert result.zones["lot/gate"].seconds[h(SUN, 2)] == 0  # 02:00-03:00 did not exist on 2026-03-08


def test_the_period_bounds_count(site: PatrolSite) -> None:
    seed(site)
    with site.runtime.sessions() as db:
        spring = site_heatmap(db, site.config, since=date(2026, 3, 8), until=utc("2026-03-08T08:00"))
    gate = spring.zones["lot/gate"]
    assert sum(gate.events) == 0 and {i: s for i, s in enumerate(gate.seconds) if s} == {h(SUN, 1): 600.0}
    assert {i: n for i, n in enumerate(spring.zones["east/landing"].events) if n} == {h(SUN, 1): 1}


def test_a_span_is_cut_at_local_hours_even_with_a_half_hour_offset() -> None:
    from zoneinfo import ZoneInfo

    kolkata = ZoneInfo("Asia/Kolkata")  # UTC+05:30: local hours start at UTC half hours
    parts = list(split_by_local_hour(utc("2026-03-02T08:20"), utc("2026-03-02T09:40"), kolkata))
    assert parts == [(h(MON, 13), 600.0), (h(MON, 14), 3600.0), (h(MON, 15), 600.0)]
    assert sum(s for _, s in parts) == timedelta(minutes=80).total_seconds()
    assert all(0 <= hour < HOURS_PER_WEEK for hour, _ in parts)


def test_the_command_prints_the_same_counts(site: PatrolSite) -> None:
    events, _seconds = seed(site)
    result = CliRunner().invoke(app, ["heatmap", "--since", "2026-03-01", "--json", "--config", str(site.config_path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    landing = data["zones"]["east/landing"]["events"]
    assert landing[MON][15] == 2 and landing[SUN][3] == 1 and landing[SUN][2] == 0
    assert data["zones"]["lot/gate"]["events"][SUN][1] == 2
    assert data["zones"]["east/door"]["total_events"] == sum(events["east/door"].values())
    table = CliRunner().invoke(app, ["heatmap", "--since", "2026-03-01", "--config", str(site.config_path)])
    assert table.exit_code == 0, table.output
    assert "east/landing: 5 event(s), 135 s of motion" in table.output
    lines = table.output.splitlines()
    landing_start = next(i for i, line in enumerate(lines) if line.startswith("east/landing:"))
    mon_row = next(line for line in lines[landing_start:] if line.startswith("mon"))
    assert mon_row.split()[1:] == ["."] * 15 + ["2"] + ["."] * 8
    bad = CliRunner().invoke(app, ["heatmap", "--since", "March", "--config", str(site.config_path)])
    assert bad.exit_code == 2
