"""Drawing a patrol plan: systematic in coverage, unsystematic in timing.

Every point gets ``min_visits`` visits; the rest of the plan's visits go to (point, minute)
pairs drawn in proportion to the heat map's activity for that point at that hour of the week.
A small floor keeps quiet places and hours possible, so an observer learns nothing certain
from a quiet hour either. Draws come from the operating system's CSPRNG
(``secrets.SystemRandom``): a plan cannot be predicted from earlier plans or from the time
it was drawn.
"""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from random import Random
from zoneinfo import ZoneInfo

import numpy as np

from monitor.config.models import minutes_of
from monitor.patrol.heatmap import HeatMap, hour_of_week
from monitor.patrol.points import Point

QUIET_SHARE = 0.1
"""Weight of a minute with no activity, as a share of the average minute's weight."""
MAX_GAP_MINUTES = 5
EARLIEST_DAY, LATEST_DAY = date(1970, 1, 1), date(2999, 12, 31)  # far from datetime's limits
_SHIFT = re.compile(r"^(\d\d:\d\d)-(\d\d:\d\d)$")


class PlanError(ValueError):
    """A shift or a request that no plan can satisfy (said in words an officer understands)."""


@dataclass(frozen=True)
class Shift:
    start: datetime  # aware UTC; the first minute of the shift
    end: datetime  # aware UTC; after the last minute
    tz: ZoneInfo

    @classmethod
    def parse(cls, day: date, text: str, tz: ZoneInfo) -> Shift:
        """``HH:MM-HH:MM`` on local day ``day``; an end at or before the start is the next day."""
        if not EARLIEST_DAY <= day <= LATEST_DAY:
            raise PlanError(f"date {day.isoformat()}: plans are for {EARLIEST_DAY.year} to {LATEST_DAY.year}")
        found = _SHIFT.match(text.strip())
        if not found:
            raise PlanError(f"shift {text!r}: write HH:MM-HH:MM, for example 22:00-06:00")
        try:
            first, last = (minutes_of(_clock(part)) for part in found.groups())
        except ValueError as exc:
            raise PlanError(f"shift {text!r}: {exc}") from None
        midnight = datetime.combine(day, datetime.min.time())
        start = (midnight + timedelta(minutes=first)).replace(tzinfo=tz)
        end = (midnight + timedelta(minutes=last + (1440 if last <= first else 0))).replace(tzinfo=tz)
        return cls(start=start.astimezone(UTC), end=end.astimezone(UTC), tz=tz)

    @property
    def minutes(self) -> int:
        """Real minutes on duty: a night shift across a DST change is an hour shorter or longer."""
        return int((self.end - self.start).total_seconds() // 60)

    def label(self) -> str:
        start, end = self.start.astimezone(self.tz), self.end.astimezone(self.tz)
        return f"{start:%Y-%m-%d} {start:%H:%M}-{end:%H:%M}"


def _clock(text: str) -> str:
    hours, minutes = int(text[:2]), int(text[3:])
    if hours > 24 or minutes > 59 or (hours == 24 and minutes):
        raise ValueError(f"{text} is not a time of day")
    return text


@dataclass(frozen=True)
class Visit:
    time: datetime  # aware UTC, on a whole minute
    point: str


def shift_hours(shift: Shift) -> list[int]:
    """The hour of the week (site time) each minute of the shift falls in."""
    return [hour_of_week(shift.start + timedelta(minutes=m), shift.tz) for m in range(shift.minutes)]


def minute_weights(hours: list[int], point: Point, heatmap: HeatMap) -> list[float]:
    """Activity of ``point`` in each of ``hours``."""
    zones = [heatmap.activity(z) for z in point.zones]
    return [sum(a.weight(h) for a in zones) for h in hours]


def draw_plan(shift: Shift, points: list[Point], heatmap: HeatMap, *, min_visits: int,
              visits_per_hour: float, rng: Random | None = None) -> list[Visit]:
    """A fresh plan for ``shift``: at least ``min_visits`` per point, visits in time order."""
    rng = rng or secrets.SystemRandom()
    if not points:
        raise PlanError("there are no patrol points: configure zones or patrol.points")
    total = max(min_visits * len(points), math.ceil(visits_per_hour * shift.minutes / 60))
    if total > shift.minutes:
        raise PlanError(f"{total} visits do not fit in a {shift.minutes}-minute shift; lower min_visits "
                        "or visits_per_hour, or use fewer points")
    hours = shift_hours(shift)
    weights = np.array([minute_weights(hours, p, heatmap) for p in points], dtype=np.float64)
    busy = float(weights.sum())
    weights += QUIET_SHARE * busy / weights.size if busy else 1.0
    gap = max(0, min(MAX_GAP_MINUTES, shift.minutes // (2 * total)))
    free = _FreeMinutes(shift.minutes, gap)
    chosen: list[tuple[int, int]] = []
    order = [i for i in range(len(points)) for _ in range(min_visits)]
    rng.shuffle(order)
    for index in order:
        chosen.append((index, free.draw(rng, weights[index:index + 1])[1]))
    for _ in range(total - len(chosen)):
        chosen.append(free.draw(rng, weights))
    start = shift.start
    visits = [Visit(start + timedelta(minutes=m), points[i].name) for i, m in chosen]
    return sorted(visits, key=lambda v: (v.time, v.point))


class _FreeMinutes:
    """The minutes of the shift still free: at least ``gap`` minutes from every visit drawn when
    possible, else only not the same minute."""

    def __init__(self, minutes: int, gap: int) -> None:
        self.spaced = np.ones(minutes, dtype=bool)
        self.unused = np.ones(minutes, dtype=bool)
        self.gap = gap

    def draw(self, rng: Random, rows: np.ndarray) -> tuple[int, int]:
        """(row, minute) drawn in proportion to ``rows``' weights among the free minutes; taken."""
        for free in (self.spaced, self.unused):
            cumulative = np.cumsum((rows * free).ravel())
            if cumulative.size and cumulative[-1] > 0:
                index = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
                row, minute = divmod(min(index, cumulative.size - 1), rows.shape[1])
                self.unused[minute] = False
                self.spaced[max(0, minute - self.gap):minute + self.gap + 1] = False
                return row, minute
        raise PlanError("no free minute left in the shift")  # draw_plan's size check prevents this
