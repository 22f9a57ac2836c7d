"""Patrol plans: full coverage, inside the shift, fresh every time, weighted by the heat map,
recorded, and checked for repetitions across shifts."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from monitor.cli import app
from monitor.patrol.heatmap import HeatMap, ZoneActivity
from monitor.patrol.plan import PlanError, Shift, Visit, draw_plan
from monitor.patrol.planner import draw_and_record, site_predictability
from monitor.patrol.points import Point, site_points
from monitor.patrol.records import predictability, record_plan
from monitor.store.patrols import PatrolPlan
from tests.monitor.patrol.conftest import PatrolSite

CHICAGO = ZoneInfo("America/Chicago")
POINTS = [Point("east/landing", ("east/landing",)), Point("east/door", ("east/door",)), Point("lot/gate", ("lot/gate",))]
EMPTY = HeatMap(since=datetime(2026, 1, 1, tzinfo=UTC), until=datetime(2026, 2, 1, tzinfo=UTC),
                timezone="America/Chicago", zones={})


def _check_plan(visits: list[Visit], shift: Shift, points: list[Point], minimum: int) -> None:
    counts = Counter(v.point for v in visits)
    assert {p.name for p in points} <= set(counts), "a point was left out"
    assert min(counts[p.name] for p in points) >= minimum
    assert all(shift.start <= v.time < shift.end for v in visits)
    assert len({v.time for v in visits}) == len(visits), "two visits at the same minute"


@pytest.mark.parametrize(("day", "text", "minutes"), [
    (date(2026, 3, 3), "08:00-16:00", 480),
    (date(2026, 3, 3), "22:00-06:00", 480),  # across midnight
    (date(2026, 3, 7), "22:00-06:00", 420),  # across midnight and the spring DST change
    (date(2026, 10, 31), "22:00-06:00", 540),  # across midnight and the autumn DST change
    (date(2026, 3, 3), "23:30-00:15", 45),
])
def test_every_point_gets_its_visits_within_the_shift(day: date, text: str, minutes: int) -> None:
    shift = Shift.parse(day, text, CHICAGO)
    assert shift.minutes == minutes
    for _ in range(50):
        visits = draw_plan(shift, POINTS, EMPTY, min_visits=3, visits_per_hour=2.0)
        assert len(visits) == max(9, -(-2 * minutes // 60))
        _check_plan(visits, shift, POINTS, 3)


def test_a_night_shift_runs_into_the_next_morning() -> None:
    shift = Shift.parse(date(2026, 3, 3), "22:00-06:00", CHICAGO)
    assert shift.start.astimezone(CHICAGO) == datetime(2026, 3, 3, 22, 0, tzinfo=CHICAGO)
    assert shift.end.astimezone(CHICAGO) == datetime(2026, 3, 4, 6, 0, tzinfo=CHICAGO)
    assert shift.label() == "2026-03-03 22:00-06:00"


@pytest.mark.parametrize("text", ["22:00", "25:00-06:00", "22:00-06:60", "10pm-6am", "22:00-22:00x"])
def test_bad_shifts_are_refused(text: str) -> None:
    with pytest.raises(PlanError):
        Shift.parse(date(2026, 3, 3), text, CHICAGO)


def test_a_plan_that_cannot_fit_is_refused() -> None:
    shift = Shift.parse(date(2026, 3, 3), "10:00-10:05", CHICAGO)
    with pytest.raises(PlanError, match="do not fit"):
        draw_plan(shift, POINTS, EMPTY, min_visits=2, visits_per_hour=1.0)


def test_times_differ_from_shift_to_shift_even_with_the_module_random_seeded() -> None:
    """An observer who knows Python's default generator and its seed still learns nothing."""
    shift = Shift.parse(date(2026, 3, 3), "22:00-06:00", CHICAGO)
    plans = []
    for _ in range(5):
        random.seed(1234)
        plans.append(tuple(v.time for v in draw_plan(shift, POINTS, EMPTY, min_visits=2, visits_per_hour=2.0)))
    assert len(set(plans)) == 5
    firsts = {p[0] for p in plans}
    assert len(firsts) >= 3, "the first visit should not be pinned to one time"


def test_weighting_favours_the_busy_hour_and_place() -> None:
    """The gate is busy from 23:00 to 24:00 on Tuesdays; nothing else ever happens."""
    gate = ZoneActivity()
    gate.events[1 * 24 + 23] = 40
    heatmap = HeatMap(since=EMPTY.since, until=EMPTY.until, timezone="America/Chicago", zones={"lot/gate": gate})
    shift = Shift.parse(date(2026, 3, 3), "22:00-02:00", CHICAGO)  # a Tuesday night
    busy: Counter[tuple[str, int]] = Counter()
    draws = 300
    for _ in range(draws):
        for visit in draw_plan(shift, POINTS, heatmap, min_visits=1, visits_per_hour=3.0):
            busy[(visit.point, visit.time.astimezone(CHICAGO).hour)] += 1
    total = draws * 12
    busy_share = busy[("lot/gate", 23)] / total
    uniform_share = 1 / (len(POINTS) * 4)
    assert busy_share > 3 * uniform_share, busy
    assert busy[("lot/gate", 23)] > 4 * busy[("lot/gate", 1)]
    assert busy[("lot/gate", 23)] > 4 * busy[("east/door", 23)]
    assert min(busy[("east/door", h)] for h in (22, 23, 0, 1)) > 0, "quiet hours still get visits"


def test_plans_are_recorded_and_the_command_draws_with_named_points(site: PatrolSite, tmp_path: Path) -> None:
    points = tmp_path / "points.yaml"
    points.write_text("points:\n  - name: Stairs\n    zones: [east/landing, east/door]\n"
                      "  - name: Parking lot\n    zones: [lot/gate]\n", encoding="utf-8")
    args = ["patrol", "--date", "2026-03-03", "--shift", "22:00-06:00", "--points", str(points),
            "--min-visits", "3", "--json", "--config", str(site.config_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    counts = Counter(v["point"] for v in plan["visits"])
    assert counts.keys() == {"Stairs", "Parking lot"} and min(counts.values()) >= 3
    assert plan["shift"]["label"] == "2026-03-03 22:00-06:00"
    assert [v["time"] for v in plan["visits"]] == sorted(v["time"] for v in plan["visits"])
    again = json.loads(CliRunner().invoke(app, args).output)
    assert again["visits"] != plan["visits"]
    with site.runtime.sessions() as db:
        assert db.scalar(select(func.count()).select_from(PatrolPlan)) == 2
        stored = db.get(PatrolPlan, plan["id"])
        assert stored is not None and [v["point"] for v in stored.visits] == [v["point"] for v in plan["visits"]]
    text = CliRunner().invoke(app, ["patrol", "--date", "2026-03-03", "--shift", "08:00-09:00",
                                    "--config", str(site.config_path)])
    assert text.exit_code == 0, text.output
    assert "east/landing" in text.output and "lot/gate" in text.output


@pytest.mark.parametrize(("content", "message"), [
    ("points:\n  - name: Gym\n    zones: [gym/floor]\n", "no zone gym/floor"),
    ("points:\n  - name: Gym\n    zones: []\n", "zones"),
    ("points:\n  - name: A\n    zones: [lot/gate]\n  - name: A\n    zones: [east/door]\n", "named twice"),
    ("[]", "non-empty list"),
    ("points: [{name: Gym, zones: [east/door], extra: 1}]", "unknown field"),
])
def test_bad_points_files_are_refused(site: PatrolSite, tmp_path: Path, content: str, message: str) -> None:
    points = tmp_path / "points.yaml"
    points.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(app, ["patrol", "--date", "2026-03-03", "--shift", "22:00-06:00",
                                      "--points", str(points), "--config", str(site.config_path)])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_a_json_points_file_is_read(site: PatrolSite, tmp_path: Path) -> None:
    points = tmp_path / "points.json"
    points.write_text(json.dumps([{"name": "Gate", "zones": ["lot/gate"]}]), encoding="utf-8")
    result = CliRunner().invoke(app, ["patrol", "--date", "2026-03-03", "--shift", "07:00-08:00", "--points",
                                      str(points), "--json", "--config", str(site.config_path)])
    assert result.exit_code == 0, result.output
    assert {v["point"] for v in json.loads(result.output)["visits"]} == {"Gate"}


def test_a_bad_shift_on_the_command_line_exits_2(site: PatrolSite) -> None:
    result = CliRunner().invoke(app, ["patrol", "--date", "2026-03-03", "--shift", "late",
                                      "--config", str(site.config_path)])
    assert result.exit_code == 2 and "HH:MM-HH:MM" in result.output


def test_predictability_counts_a_seeded_repetition(site: PatrolSite) -> None:
    """Three night shifts; the gate is visited in the 22:00-22:15 slot in two of them."""
    def at(day: int, clock: str) -> datetime:
        hours, minutes = map(int, clock.split(":"))
        return datetime(2026, 3, day, hours, minutes, tzinfo=CHICAGO).astimezone(UTC)

    plans = {
        3: [Visit(at(3, "22:05"), "lot/gate"), Visit(at(3, "23:40"), "east/door")],
        4: [Visit(at(4, "22:14"), "lot/gate"), Visit(at(4, "23:20"), "east/door")],  # gate repeats
        5: [Visit(at(5, "22:15"), "lot/gate"), Visit(at(5, "22:05"), "east/door")],  # other slot, other point
    }
    with site.runtime.sessions.begin() as db:
        for day, visits in plans.items():
            shift = Shift.parse(date(2026, 3, day), "22:00-06:00", CHICAGO)
            record_plan(db, shift=shift, points=POINTS, visits=visits, min_visits=1, created_by="test")
        # a redrawn shift replaces its earlier draw: this one must not count
        shift = Shift.parse(date(2026, 3, 5), "22:00-06:00", CHICAGO)
        record_plan(db, shift=Shift.parse(date(2026, 3, 5), "22:00-06:00", CHICAGO), points=POINTS,
                    visits=[Visit(at(5, "22:10"), "east/door")], min_visits=1, created_by="test")
        assert shift.start < at(6, "00:00")
    with site.runtime.sessions() as db:
        report = site_predictability(db, site.config, days=14, now=at(10, "12:00"))
    assert (report.plans, report.visits, report.repeated_visits) == (3, 5, 1)
    assert report.repeated_share == 0.2
    assert [(r.point, r.slot, r.plans) for r in report.repetitions] == [("lot/gate", "22:00-22:15", 2)]
    assert report.most_repeated_share == round(2 / 3, 4)
    with site.runtime.sessions() as db:
        assert site_predictability(db, site.config, days=14, now=at(30, "12:00")).plans == 0
    printed = CliRunner().invoke(app, ["patrol-report", "--days", "366", "--json", "--config", str(site.config_path)])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.output)["repeated_visits"] == 1
    table = CliRunner().invoke(app, ["patrol-report", "--days", "366", "--config", str(site.config_path)])
    assert "lot/gate  22:00-22:15  in 2 plans (67%)" in table.output


def test_drawn_plans_rarely_repeat_a_slot(site: PatrolSite) -> None:
    """Twenty recorded night shifts: far fewer same-slot repeats than a fixed routine (all)."""
    with site.runtime.sessions.begin() as db:
        for day in range(1, 21):
            draw_and_record(db, site.config, day=date(2026, 3, day), shift="22:00-06:00", created_by="test")
    with site.runtime.sessions() as db:
        report = site_predictability(db, site.config, days=30, now=datetime(2026, 3, 22, tzinfo=UTC))
    assert report.plans == 20 and report.visits == 19 * 16 + 14  # 2026-03-07 is an hour short
    fixed = predictability([_routine(day) for day in range(10, 30)], tz=CHICAGO, slot_minutes=15)
    assert fixed.repeated_share == 0.95 and fixed.most_repeated_share == 1.0
    assert report.most_repeated_share < 0.7
    assert report.repeated_share < fixed.repeated_share


def _routine(day: int) -> list[Visit]:
    """The same rounds every night, by the wall clock."""
    start = datetime(2026, 3, day, 22, 0, tzinfo=CHICAGO)
    return [Visit((start + timedelta(minutes=30 * i)).astimezone(UTC), p.name) for i, p in enumerate(POINTS * 5)]


def test_default_points_are_the_zones(site: PatrolSite) -> None:
    assert [p.name for p in site_points(site.config)] == ["east/landing", "east/door", "lot/gate"]


def test_named_points_in_the_config_are_checked_and_used(tmp_path: Path) -> None:
    from monitor.config import ConfigError
    from tests.monitor.patrol.conftest import make_patrol_site

    good = {"points": [{"name": "Stairs", "zones": ["east/landing", "east/door"]}], "min_visits": 4}
    (tmp_path / "good").mkdir()
    for site in make_patrol_site(tmp_path / "good", patrol=good):
        assert [(p.name, p.zones) for p in site_points(site.config)] == [("Stairs", ("east/landing", "east/door"))]
        with site.runtime.sessions.begin() as db:
            plan = draw_and_record(db, site.config, day=date(2026, 3, 3), shift="22:00-23:00", created_by="test")
        assert plan.min_visits == 4 and [v["point"] for v in plan.visits] == ["Stairs"] * 4
    for bad, message in ((["east/landing", "gym/floor"], "no zone gym/floor"), (["landing"], "camera-id/zone-id")):
        (tmp_path / "bad").mkdir(exist_ok=True)
        with pytest.raises(ConfigError, match=message):
            next(make_patrol_site(tmp_path / "bad", patrol={"points": [{"name": "X", "zones": bad}]}))
