"""Which channels an alert goes to, and how often: routes by camera, zone, kind and site time;
a rate limit that groups a burst into one message instead of dropping it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.config.models import DAYS, Notify, Route, minutes_of
from monitor.workers.messages import AlertMessage


@dataclass(frozen=True)
class Target:
    """One message to send: a channel, and the route that chose it (None: no routes configured)."""

    channel: str  # webhook:<name> | mqtt | email
    route: str | None
    email_to: tuple[str, ...] = ()


def _in_window(route: Route, local: datetime) -> bool:
    if route.start is None or route.end is None:
        return not route.days or DAYS[local.weekday()] in route.days
    now = local.hour * 60 + local.minute
    start, end = minutes_of(route.start), minutes_of(route.end)
    if start < end:
        day = local
        inside = start <= now < end
    else:  # crosses midnight: the part after midnight belongs to the day before
        inside = now >= start or now < end
        day = local if now >= start else local - timedelta(days=1)
    return inside and (not route.days or DAYS[day.weekday()] in route.days)


def matches(route: Route, alert: AlertMessage, local: datetime) -> bool:
    """Every condition the route names holds (an empty one matches everything)."""
    return ((not route.cameras or alert.camera_id in route.cameras)
            and (not route.zones or bool(set(route.zones) & set(alert.zones)))
            and (not route.kinds or alert.kind in route.kinds)
            and _in_window(route, local))


def targets(notify: Notify, alert: AlertMessage, local: datetime) -> list[Target]:
    """The channels ``alert`` goes to; without routes, every configured channel."""
    all_webhooks = [name for name in notify.channel_names() if name.startswith("webhook:")]
    if not notify.routes:
        return [Target(name, None) for name in notify.channel_names()]
    chosen: dict[tuple[str, tuple[str, ...]], Target] = {}
    for route in notify.routes:
        if not matches(route, alert, local):
            continue
        for channel in route.channels:
            for name in all_webhooks if channel == "webhook" else [channel]:
                key = (name, tuple(route.email_to) if name == "email" else ())
                chosen.setdefault(key, Target(name, route.name, key[1]))
    return list(chosen.values())


Key = tuple[Target, str, str, tuple[str, ...]]


class RateLimit:
    """At most one message per channel, route, camera, kind and zones every ``min_interval``
    seconds of alert time. Alerts that come sooner are held, and one message for the newest of
    them, naming them all, goes out ``min_interval`` seconds (of wall time) after the first was
    held: a long or repeated event is one message, and none is lost."""

    def __init__(self, min_interval: float) -> None:
        self._interval = timedelta(seconds=min_interval)
        self._last: dict[Key, datetime] = {}
        self._held: dict[Key, tuple[datetime, list[AlertMessage]]] = {}

    @staticmethod
    def _key(target: Target, alert: AlertMessage) -> Key:
        return (target, alert.camera_id, alert.kind, tuple(sorted(alert.zones)))

    def admit(self, target: Target, alert: AlertMessage, now: datetime) -> bool:
        """True: send it now. False: held for the grouped message."""
        key = self._key(target, alert)
        last = self._last.get(key)
        if last is not None and abs(alert.time - last) < self._interval:
            _since, alerts = self._held.setdefault(key, (now, []))
            alerts.append(alert)
            return False
        self._last[key] = alert.time
        return True

    def due(self, now: datetime) -> list[tuple[Target, list[AlertMessage]]]:
        """Held alerts whose wait is over, grouped per key."""
        ready = [key for key, (since, _alerts) in self._held.items() if now - since >= self._interval]
        out = []
        for key in ready:
            _since, alerts = self._held.pop(key)
            self._last[key] = max(self._last[key], alerts[-1].time)
            out.append((key[0], alerts))
        return out

    def next_due(self) -> datetime | None:
        """When the earliest held group may go out."""
        times = [since + self._interval for since, _alerts in self._held.values()]
        return min(times) if times else None
