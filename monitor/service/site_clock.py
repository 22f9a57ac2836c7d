"""The site's wall clock for people: what they read and type is in the school's time zone.

The evidence, the database and the JSON API stay in UTC; only the dashboard converts, here,
so every page shows the same format (to the second, with the zone's abbreviation) and every
From/To field a person fills in is read in the same zone it is labelled with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from monitor.service.times import utc

SHOWN = "%Y-%m-%d %H:%M:%S %Z"
FIELD = "%Y-%m-%dT%H:%M:%S"  # the value an <input type="datetime-local" step="1"> holds


@dataclass(frozen=True)
class SiteClock:
    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, value: datetime | str) -> datetime:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return utc(moment).astimezone(self.zone)

    def show(self, value: datetime | str | None, *, time_only: bool = False) -> str:
        """``2026-12-02 00:06:12 CST`` (or ``00:06:12 CST``); a blank for no time."""
        if value is None or value == "":
            return ""
        return self.local(value).strftime("%H:%M:%S %Z" if time_only else SHOWN)

    def span(self, start: datetime | str, end: datetime | str | None) -> str:
        """``2026-12-02 14:52:56-14:52:59 CST``: one date, one zone, to the second."""
        if end is None or end == "":
            return self.show(start)
        return f"{self.local(start):%Y-%m-%d %H:%M:%S}-{self.show(end, time_only=True)}"

    def field(self, value: datetime | None) -> str:
        """The site-local value of a From/To field (what the person typed, shown again)."""
        return self.local(value).strftime(FIELD) if value is not None else ""

    def read(self, value: datetime | None) -> datetime | None:
        """A From/To value as typed: without an offset it is site time (as its label says)."""
        if value is None:
            return None
        return utc(value.replace(tzinfo=self.zone) if value.tzinfo is None else value)
