"""Is a zone active at a given instant? Evaluated on the site's local wall clock.

Windows are defined in local time, so a window "15:30-07:00" is 15.5 hours long on
ordinary days and still ends at 07:00 local on the morning clocks change. We work
with local dates and minutes-of-day rather than UTC offsets for exactly that reason.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from monitor.config.models import DAYS, Schedule, Site, minutes_of


def _window_covers(schedule: Schedule, local_day: date, minute: int, holidays: set[date]) -> bool:
    """Does a window that starts on ``local_day`` (or the day before) cover ``minute``?"""
    weekday = DAYS[local_day.weekday()]
    yesterday = local_day - timedelta(days=1)
    for window in schedule.windows:
        start, end = minutes_of(window.start), minutes_of(window.end)
        if end > start:  # same-day window
            if weekday in window.days and _day_allowed(schedule, local_day, holidays) and start <= minute < end:
                return True
        else:  # crosses midnight: the evening part today, the morning part from yesterday's window
            if weekday in window.days and _day_allowed(schedule, local_day, holidays) and minute >= start:
                return True
            if (
                DAYS[yesterday.weekday()] in window.days
                and _day_allowed(schedule, yesterday, holidays)
                and minute < end
            ):
                return True
    return False


def _day_allowed(schedule: Schedule, day: date, holidays: set[date]) -> bool:
    return not (day in holidays and schedule.on_holidays == "inactive")


def is_active(schedule: Schedule | None, when: datetime, site: Site) -> bool:
    """True when ``schedule`` is active at the aware instant ``when``; None means always."""
    if schedule is None:
        return True
    if when.tzinfo is None:
        raise ValueError("schedule checks need a timezone-aware datetime")
    local = when.astimezone(ZoneInfo(site.timezone))
    holidays = set(site.holidays)
    if local.date() in holidays and schedule.on_holidays == "all-day":
        return True
    return _window_covers(schedule, local.date(), local.hour * 60 + local.minute, holidays)
