"""Routes by camera, zone, kind and site time (overnight windows, days); grouping of bursts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config import ConfigError
from monitor.notify.routing import RateLimit, Target, targets
from monitor.workers.messages import AlertMessage
from tests.monitor.notify.test_delivery import site_config

NIGHT = {"name": "night-lot", "cameras": ["east-stairwell"], "zones": ["landing"], "days": ["fri"],
         "from": "22:00", "to": "06:00", "channels": ["email"], "email_to": ["night@lincoln.example"]}
DESK = {"name": "desk", "kinds": ["tamper"], "channels": ["webhook"]}
CHANNELS = {"webhooks": [{"url": "http://127.0.0.1:1/a", "secret_env": "A", "name": "radio"},
                         {"url": "http://127.0.0.1:1/b", "secret_env": "B"}],
            "email": {"host": "127.0.0.1", "from": "h@lincoln.example", "to": ["desk@lincoln.example"]}}


def _alert(local: str, *, kind: str = "motion", zones: tuple[str, ...] = ("landing",), n: int = 1) -> AlertMessage:
    when = datetime.fromisoformat(local).astimezone(UTC)
    return AlertMessage(alert_id=n, camera_id="east-stairwell", kind=kind, time=when, zones=zones)


@pytest.mark.parametrize(("local", "expected"), [
    ("2026-03-06T23:30:00-06:00", [Target("email", "night-lot", ("night@lincoln.example",))]),  # Friday night
    ("2026-03-07T05:59:00-06:00", [Target("email", "night-lot", ("night@lincoln.example",))]),  # ...its morning
    ("2026-03-07T06:00:00-06:00", []),  # Saturday: the window ended
    ("2026-03-07T23:30:00-06:00", []),  # Saturday night is not Friday's
    ("2026-03-05T23:30:00-06:00", []),  # Thursday night
])
def test_an_overnight_route_belongs_to_the_day_it_starts(tmp_path: Path, local: str, expected: list[Target]) -> None:
    notify = site_config(tmp_path, {**CHANNELS, "routes": [NIGHT, DESK]}).notify
    alert = _alert(local)
    assert targets(notify, alert, alert.time.astimezone(datetime.fromisoformat(local).tzinfo)) == expected


def test_kinds_zones_and_all_webhooks(tmp_path: Path) -> None:
    notify = site_config(tmp_path, {**CHANNELS, "routes": [NIGHT, DESK]}).notify
    tamper = _alert("2026-03-06T12:00:00-06:00", kind="tamper", zones=())
    assert targets(notify, tamper, tamper.time) == [Target("webhook:radio", "desk"), Target("webhook:webhook-2", "desk")]
    elsewhere = _alert("2026-03-06T23:30:00-06:00", zones=("door",))
    assert targets(notify, elsewhere, elsewhere.time.astimezone(datetime.fromisoformat("2026-03-06T23:30:00-06:00").tzinfo)) == []


def test_without_routes_every_channel_gets_every_alert(tmp_path: Path) -> None:
    notify = site_config(tmp_path, CHANNELS).notify
    alert = _alert("2026-03-06T12:00:00-06:00")
    assert [t.channel for t in targets(notify, alert, alert.time)] == ["webhook:radio", "webhook:webhook-2", "email"]


def test_a_route_naming_a_channel_that_is_not_configured_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        site_config(tmp_path, {**CHANNELS, "routes": [{"name": "x", "channels": ["mqtt"]}]})
    assert "notify" in str(caught.value) and "route 'x': channel 'mqtt' is not configured" in str(caught.value)


def test_a_burst_is_one_message_now_and_one_grouped_message_later() -> None:
    limit, target = RateLimit(60), Target("email", None)
    start = datetime(2026, 3, 6, 18, tzinfo=UTC)
    burst = [_alert((start + timedelta(seconds=s)).isoformat(), n=i) for i, s in enumerate((0, 10, 20, 30))]
    admitted = [limit.admit(target, a, start + timedelta(seconds=i)) for i, a in enumerate(burst)]
    assert admitted == [True, False, False, False]
    assert limit.due(start + timedelta(seconds=59)) == []
    grouped = limit.due(start + timedelta(seconds=62))
    assert [(t, [a.alert_id for a in alerts]) for t, alerts in grouped] == [(target, [1, 2, 3])]
    later = _alert((start + timedelta(minutes=5)).isoformat(), n=9)
    assert limit.admit(target, later, start + timedelta(minutes=5)), "a new event later is sent at once"
    other_kind = _alert((start + timedelta(seconds=5)).isoformat(), kind="tamper", n=10)
    assert limit.admit(target, other_kind, start + timedelta(minutes=5)), "kinds are limited apart"
