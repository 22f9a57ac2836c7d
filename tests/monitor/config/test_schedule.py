"""Schedules on the site's wall clock: overnight windows, holidays and DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.config import parse_config
from monitor.config.schedule import is_active

CHICAGO = ZoneInfo("America/Chicago")


def _config(on_holidays: str = "all-day"):
    return parse_config({
        "site": {"name": "S", "timezone": "America/Chicago", "holidays": ["2026-12-24", "2026-12-25"]},
        "schedules": {
            "after-hours": {
                "windows": [
                    {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "15:30", "to": "07:00"},
                    {"days": ["sat", "sun"], "from": "00:00", "to": "24:00"},
                ],
                "on_holidays": on_holidays,
            },
            "lunch": {"windows": [{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "11:30", "to": "13:00"}],
                      "on_holidays": "inactive"},
        },
        "cameras": [],
    })


def _local(*args: int) -> datetime:
    return datetime(*args, tzinfo=CHICAGO)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (_local(2026, 11, 23, 15, 29), False),  # Monday, school hours
        (_local(2026, 11, 23, 15, 30), True),  # window opens
        (_local(2026, 11, 23, 23, 59), True),
        (_local(2026, 11, 24, 0, 0), True),  # Tuesday morning: Monday's window crosses midnight
        (_local(2026, 11, 24, 6, 59), True),
        (_local(2026, 11, 24, 7, 0), False),  # window closes
        (_local(2026, 11, 23, 3, 0), False),  # Monday 03:00: Sunday's all-day window ended at 24:00
        (_local(2026, 11, 28, 12, 0), True),  # Saturday all day
        (_local(2026, 11, 30, 3, 0), False),  # Monday 03:00 after a Sunday all-day window: Friday's ended Sat 07:00
    ],
)
def test_after_hours_overnight(when: datetime, expected: bool) -> None:
    config = _config()
    assert is_active(config.schedules["after-hours"], when, config.site) is expected


def test_friday_night_window_runs_into_saturday() -> None:
    config = _config()
    assert is_active(config.schedules["after-hours"], _local(2026, 11, 28, 6, 0), config.site)


def test_holiday_policies() -> None:
    christmas_noon = _local(2026, 12, 25, 12, 0)  # a Friday
    all_day, inactive, as_scheduled = (_config(p) for p in ("all-day", "inactive", "as-scheduled"))
    assert is_active(all_day.schedules["after-hours"], christmas_noon, all_day.site)
    assert not is_active(inactive.schedules["after-hours"], _local(2026, 12, 25, 20, 0), inactive.site)
    assert not is_active(as_scheduled.schedules["after-hours"], christmas_noon, as_scheduled.site)
    assert is_active(as_scheduled.schedules["after-hours"], _local(2026, 12, 25, 20, 0), as_scheduled.site)
    assert not is_active(all_day.schedules["lunch"], _local(2026, 12, 24, 12, 0), all_day.site)
    assert is_active(all_day.schedules["lunch"], _local(2026, 12, 23, 12, 0), all_day.site)


def test_inactive_holiday_still_ends_the_previous_nights_window() -> None:
    config = _config("inactive")
    # Dec 23 (Wed) 15:30 -> Dec 24 07:00: the night before the holiday is ordinary.
    assert is_active(config.schedules["after-hours"], _local(2026, 12, 24, 6, 0), config.site)
    assert not is_active(config.schedules["after-hours"], _local(2026, 12, 24, 16, 0), config.site)


def test_instants_are_converted_to_site_time() -> None:
    config = _config()
    # 21:00 UTC on Monday 2026-11-23 is 15:00 in Chicago (CST, UTC-6): not yet after hours.
    assert not is_active(config.schedules["after-hours"], datetime(2026, 11, 23, 21, 0, tzinfo=UTC), config.site)
    assert is_active(config.schedules["after-hours"], datetime(2026, 11, 23, 21, 30, tzinfo=UTC), config.site)


def test_naive_datetimes_are_refused() -> None:
    config = _config()
    with pytest.raises(ValueError, match="timezone-aware"):
        is_active(config.schedules["lunch"], datetime(2026, 11, 23, 12, 0), config.site)


@pytest.mark.parametrize(
    "transition_utc",
    [datetime(2026, 3, 8, 8, 0, tzinfo=UTC), datetime(2026, 11, 1, 7, 0, tzinfo=UTC)],
    ids=["spring-forward", "fall-back"],
)
def test_overnight_window_across_dst(transition_utc: datetime) -> None:
    """Across both 2026 DST changes the window still ends at exactly 07:00 local, minute by minute."""
    config = parse_config({
        "site": {"name": "S", "timezone": "America/Chicago"},
        "schedules": {"nights": {"windows": [{"days": ["sat", "sun"], "from": "22:00", "to": "07:00"}]}},
        "cameras": [],
    })
    schedule = config.schedules["nights"]
    start = transition_utc - timedelta(hours=12)
    minute = timedelta(minutes=1)
    changes = []
    previous = None
    for step in range(24 * 60):
        instant = start + step * minute
        active = is_active(schedule, instant, config.site)
        if active != previous:
            changes.append((instant.astimezone(CHICAGO).strftime("%H:%M"), active))
            previous = active
    assert [active for _, active in changes] == [False, True, False]
    assert [clock for clock, _ in changes[1:]] == ["22:00", "07:00"]
