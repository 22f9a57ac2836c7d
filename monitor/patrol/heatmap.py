"""Activity by hour of the week, per zone, in the site's time zone.

Events are motion alerts; seconds of motion are the spans of the clips that recorded the zone,
cut at local hour boundaries so that an event across 14:00 counts in both hours. Hours are the
site's wall-clock hours: in the week clocks go back, the repeated hour is counted twice in its
bucket; in the week they go forward, the skipped hour gets nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.store.models import Alert, Clip

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOURS_PER_WEEK = 7 * 24
SECONDS_PER_EVENT = 60.0
"""Activity weight: one motion alert weighs as much as a minute of recorded motion."""


def zone_key(camera_id: str, zone_id: str) -> str:
    return f"{camera_id}/{zone_id}"


def hour_of_week(moment: datetime, tz: ZoneInfo) -> int:
    """0 = Monday 00:00-01:00 local time, 167 = Sunday 23:00-24:00."""
    local = moment.astimezone(tz)
    return local.weekday() * 24 + local.hour


@dataclass
class ZoneActivity:
    """One zone's week: ``events[h]`` motion alerts and ``seconds[h]`` of motion in hour ``h``."""

    events: list[int] = field(default_factory=lambda: [0] * HOURS_PER_WEEK)
    seconds: list[float] = field(default_factory=lambda: [0.0] * HOURS_PER_WEEK)

    def weight(self, hour: int) -> float:
        return self.events[hour] + self.seconds[hour] / SECONDS_PER_EVENT

    def total_events(self) -> int:
        return sum(self.events)

    def total_seconds(self) -> float:
        return sum(self.seconds)


@dataclass
class HeatMap:
    since: datetime
    until: datetime
    timezone: str
    zones: dict[str, ZoneActivity]

    def activity(self, zone: str) -> ZoneActivity:
        return self.zones.get(zone) or ZoneActivity()

    def as_json(self) -> dict[str, object]:
        return {
            "since": self.since.isoformat(), "until": self.until.isoformat(), "timezone": self.timezone,
            "days": list(DAYS), "event_weight_seconds": SECONDS_PER_EVENT,
            "zones": {
                key: {
                    "events": [a.events[d * 24:(d + 1) * 24] for d in range(7)],
                    "seconds": [[round(s, 1) for s in a.seconds[d * 24:(d + 1) * 24]] for d in range(7)],
                    "total_events": a.total_events(), "total_seconds": round(a.total_seconds(), 1),
                }
                for key, a in sorted(self.zones.items())
            },
        }


def split_by_local_hour(start: datetime, end: datetime, tz: ZoneInfo) -> Iterable[tuple[int, float]]:
    """(hour of week, seconds) for each local hour the span [start, end) touches.

    Every UTC offset in use is a whole number of minutes, so the next local hour boundary is
    the next UTC instant at which the local minutes and seconds read zero.
    """
    moment = start
    while moment < end:
        local = moment.astimezone(tz)
        into_hour = timedelta(minutes=local.minute, seconds=local.second, microseconds=local.microsecond)
        boundary = min(moment + timedelta(hours=1) - into_hour, end)
        yield local.weekday() * 24 + local.hour, (boundary - moment).total_seconds()
        moment = boundary


def build_heatmap(db: Session, *, since: datetime, until: datetime, tz: ZoneInfo,
                  zones: Iterable[str] = ()) -> HeatMap:
    """The heat map of [since, until); ``zones`` are listed even when they saw nothing."""
    found: dict[str, ZoneActivity] = {key: ZoneActivity() for key in zones}
    alerts = db.execute(select(Alert.camera_id, Alert.zones, Alert.time).where(
        Alert.kind == "motion", Alert.time >= since, Alert.time < until))
    for camera_id, alert_zones, moment in alerts:
        hour = hour_of_week(moment, tz)
        for zone in alert_zones or ():
            found.setdefault(zone_key(camera_id, zone), ZoneActivity()).events[hour] += 1
    clips = db.execute(select(Clip.camera_id, Clip.zones, Clip.start, Clip.end).where(
        Clip.end.is_not(None), Clip.status != "empty", Clip.end > since, Clip.start < until))
    for camera_id, clip_zones, start, end in clips:
        if end is None:  # excluded by the query; says so to the type checker
            continue
        for hour, seconds in split_by_local_hour(max(start, since), min(end, until), tz):
            for zone in clip_zones or ():
                found.setdefault(zone_key(camera_id, zone), ZoneActivity()).seconds[hour] += seconds
    return HeatMap(since=since, until=until, timezone=tz.key, zones=found)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The instant the local calendar day ``day`` begins."""
    return datetime.combine(day, time(0), tzinfo=tz)
