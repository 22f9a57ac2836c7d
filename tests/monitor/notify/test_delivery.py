"""Alerts reach real receivers on loopback: a signed webhook, a Mosquitto broker, an SMTP server;
a receiver that is down loses nothing, and one that stays down is given up on, visibly."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from monitor.config import Config, load_config
from monitor.notify.notifier import Notifier
from monitor.workers.messages import AlertMessage
from tests.conftest import base_config, write_config
from tests.fixtures.receivers import (
    MQTT_PASSWORD,
    MQTT_USER,
    SMTP_PASSWORD,
    SMTP_USER,
    Broker,
    LoopbackCert,
    Mailbox,
    Webhook,
)

SECRET = "webhook-secret-for-tests-0123456789"
WHEN = datetime(2026, 3, 2, 21, 15, 7, tzinfo=UTC)  # 15:15:07 in Chicago


def wait_for(check: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def site_config(tmp_path: Path, notify: dict[str, Any]) -> Config:
    camera = {"id": "east-stairwell", "name": "East stairwell", "source": "x.mp4",
              "zones": [{"id": "landing", "name": "Landing", "polygon": [[0, 0], [1, 0], [1, 1]]}]}
    data = base_config(tmp_path / "data", cameras=[camera])
    data["site"]["timezone"] = "America/Chicago"
    data["notify"] = notify
    return load_config(write_config(tmp_path, data))


def alert(alert_id: int = 1, *, when: datetime = WHEN, kind: str = "motion",
          snapshot: str | None = None) -> AlertMessage:
    return AlertMessage(alert_id=alert_id, camera_id="east-stairwell", kind=kind, time=when,
                        zones=("landing",), score=0.31, snapshot_path=snapshot, message="Motion in landing",
                        clip_id="c" * 32)


@pytest.fixture
def running() -> Iterator[list[Notifier]]:
    started: list[Notifier] = []
    yield started
    for notifier in started:
        notifier.stop()


def start(notifier: Notifier, running: list[Notifier]) -> Notifier:
    running.append(notifier)
    notifier.start()
    return notifier


def test_webhook_requests_are_signed_and_carry_no_pixels_or_secrets(
        tmp_path: Path, webhook: Webhook, monkeypatch: pytest.MonkeyPatch, running: list[Notifier]) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    config = site_config(tmp_path, {"webhooks": [{"url": webhook.url, "secret_env": "HOOK_SECRET"}],
                                    "dashboard_url": "https://hotspot.lincoln.example"})
    notifier = start(Notifier(config, tmp_path / "data"), running)
    notifier.submit(alert(snapshot="snapshots/east-stairwell/a.jpg"))
    wait_for(lambda: len(webhook.requests) == 1, "the webhook request")
    headers, body = webhook.requests[0]
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Hotspot-Signature"] == f"sha256={expected}"
    payload = json.loads(body)
    assert payload["sent_at"] == headers["X-Hotspot-Timestamp"], "the signature covers the timestamp"
    assert abs(int(payload["sent_at"]) - time.time()) < 60
    assert (payload["camera"], payload["zones"], payload["zone_names"]) == ("east-stairwell", ["landing"], ["Landing"])
    assert payload["time"] == "2026-03-02T21:15:07+00:00"
    assert payload["site_time"] == "2026-03-02T15:15:07-06:00"
    assert payload["snapshot_url"] == "https://hotspot.lincoln.example/api/alerts/1/snapshot"
    assert payload["clip_id"] == "c" * 32
    assert SECRET not in body.decode() and "base64" not in body.decode()
    wait_for(lambda: notifier.status().sent["webhook:webhook-1"] == 1, "the delivery counted")


def test_a_receiver_that_is_down_gets_the_alert_when_it_returns_even_after_a_restart(
        tmp_path: Path, webhook: Webhook, monkeypatch: pytest.MonkeyPatch, running: list[Notifier]) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    config = site_config(tmp_path, {"webhooks": [{"url": webhook.url, "secret_env": "HOOK_SECRET"}]})
    webhook.down = True
    first = start(Notifier(config, tmp_path / "data"), running)
    first.submit(alert())
    wait_for(lambda: len(webhook.requests) >= 2, "a retry")
    assert first.status().last_error["webhook:webhook-1"].endswith("HTTP 503")
    first.stop()
    queued = list((tmp_path / "data" / "notify" / "queue").glob("*.json"))
    assert len(queued) == 1, "the undelivered alert is kept on disk"
    webhook.down = False
    second = start(Notifier(config, tmp_path / "data"), running)
    wait_for(lambda: second.status().sent["webhook:webhook-1"] == 1, "delivery after the restart", timeout=20)
    ids = {json.loads(body)["id"] for _h, body in webhook.requests}
    assert ids == {1}
    assert not list((tmp_path / "data" / "notify" / "queue").glob("*.json"))


def test_a_receiver_that_stays_down_is_given_up_on_visibly(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, running: list[Notifier]) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    port_nobody_listens_on = "http://127.0.0.1:9/hook"
    config = site_config(tmp_path, {"webhooks": [{"url": port_nobody_listens_on, "secret_env": "HOOK_SECRET"}],
                                    "give_up_after": 10})
    offset = [0.0]
    lock = threading.Lock()

    def clock() -> datetime:
        with lock:
            return datetime.now(UTC) + timedelta(seconds=offset[0])

    notifier = start(Notifier(config, tmp_path / "data", clock=clock), running)
    notifier.submit(alert())
    wait_for(lambda: notifier.status().errors["webhook:webhook-1"] >= 1, "a failed attempt")
    with lock:
        offset[0] = 3600.0  # an hour later: past give_up_after, and past any backoff
    notifier._wake.set()  # the clock jumped; the thread would wait out its sleep
    wait_for(lambda: notifier.status().failed == 1, "the delivery given up")
    assert len(list((tmp_path / "data" / "notify" / "failed").glob("*.json"))) == 1
    assert "ConnectError" in notifier.status().last_error["webhook:webhook-1"]


@contextlib.contextmanager
def subscriber(port: int, topic: str, cert: LoopbackCert | None = None) -> Iterator[list[tuple[str, bytes]]]:
    """A test client subscribed to ``topic`` (acknowledged before it yields); what it receives."""
    received: list[tuple[str, bytes]] = []
    subscribed = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    if cert is not None:
        client.username_pw_set(MQTT_USER, MQTT_PASSWORD)
        client.tls_set(ca_certs=str(cert.cert))
    client.on_message = lambda _c, _u, msg: received.append((msg.topic, msg.payload))
    client.on_subscribe = lambda *_a: subscribed.set()
    client.connect("127.0.0.1", port)
    client.subscribe(topic, qos=1)
    client.loop_start()
    try:
        assert subscribed.wait(10), "the test's subscription"
        yield received
    finally:
        client.loop_stop()
        client.disconnect()


def test_mqtt_broker_gets_one_message_per_event_on_the_documented_topics(
        tmp_path: Path, mosquitto: Broker, running: list[Notifier]) -> None:
    with subscriber(mosquitto.port, "school/#") as received:
        config = site_config(tmp_path, {"mqtt": {"host": "127.0.0.1", "port": mosquitto.port,
                                                 "topic_prefix": "school"}})
        notifier = start(Notifier(config, tmp_path / "data"), running)
        notifier.submit(alert(1))
        notifier.submit(alert(2, when=WHEN + timedelta(minutes=5), kind="tamper"))
        wait_for(lambda: sum(t == "school/events" for t, _p in received) == 2, "two events")
        time.sleep(0.3)  # nothing more is coming
    topics = sorted(t for t, _p in received if t != "school/available")
    assert topics == sorted(["school/events", "school/east-stairwell/alerts",
                             "school/east-stairwell/landing/alerts"] * 2)
    events = [json.loads(p) for t, p in received if t == "school/events"]
    assert [(e["id"], e["kind"], e["camera"], e["zones"]) for e in events] == [
        (1, "motion", "east-stairwell", ["landing"]), (2, "tamper", "east-stairwell", ["landing"])]
    assert ("school/available", b"online") in received


def test_mqtt_over_tls_with_a_login(
        tmp_path: Path, mosquitto_tls: tuple[Broker, LoopbackCert], monkeypatch: pytest.MonkeyPatch,
        running: list[Notifier]) -> None:
    broker, cert = mosquitto_tls
    monkeypatch.setenv("MQTT_USER", MQTT_USER)
    monkeypatch.setenv("MQTT_PASSWORD", MQTT_PASSWORD)
    with subscriber(broker.port, "hotspot/events", cert) as received:
        mqtt_settings = {"host": "127.0.0.1", "port": broker.port, "tls": True, "ca_file": str(cert.cert),
                         "username_env": "MQTT_USER", "password_env": "MQTT_PASSWORD"}
        notifier = start(Notifier(site_config(tmp_path, {"mqtt": mqtt_settings}), tmp_path / "data"), running)
        notifier.submit(alert())
        wait_for(lambda: [t for t, _p in received] == ["hotspot/events"], "the event over TLS")


def test_email_arrives_with_the_masked_snapshot(
        tmp_path: Path, smtp_server: Mailbox, running: list[Notifier]) -> None:
    config = site_config(tmp_path, {"email": {"host": "127.0.0.1", "port": smtp_server.port, "starttls": False,
                                              "from": "hotspot@lincoln.example", "to": ["desk@lincoln.example"]}})
    snapshot = tmp_path / "data" / "snapshots" / "east-stairwell" / "a.jpg"
    snapshot.parent.mkdir(parents=True)
    jpeg = b"\xff\xd8\xff\xe0masked-jpeg-bytes\xff\xd9"
    snapshot.write_bytes(jpeg)
    notifier = start(Notifier(config, tmp_path / "data"), running)
    notifier.submit(alert(snapshot="snapshots/east-stairwell/a.jpg"))
    wait_for(lambda: len(smtp_server.messages) == 1, "the e-mail")
    message = smtp_server.messages[0]
    assert message["To"] == "desk@lincoln.example"
    assert message["Subject"] == ("[Hotspot] Motion in landing: East stairwell / Landing at 2026-03-02 15:15:07 "
                                  "(America/Chicago)")
    attachments = [part for part in message.walk() if part.get_content_type() == "image/jpeg"]
    assert [a.get_payload(decode=True) for a in attachments] == [jpeg]


def test_email_over_starttls_with_a_login(
        tmp_path: Path, smtp_starttls: tuple[Mailbox, LoopbackCert], monkeypatch: pytest.MonkeyPatch,
        running: list[Notifier]) -> None:
    box, cert = smtp_starttls
    monkeypatch.setenv("SMTP_USER", SMTP_USER)
    monkeypatch.setenv("SMTP_PASSWORD", SMTP_PASSWORD)
    email = {"host": "127.0.0.1", "port": box.port, "starttls": True, "ca_file": str(cert.cert),
             "username_env": "SMTP_USER", "password_env": "SMTP_PASSWORD",
             "from": "hotspot@lincoln.example", "to": ["desk@lincoln.example"]}
    notifier = start(Notifier(site_config(tmp_path, {"email": email}), tmp_path / "data"), running)
    notifier.submit(alert())
    wait_for(lambda: len(box.messages) == 1, "the e-mail over TLS")
    assert box.logins == [(SMTP_USER, SMTP_PASSWORD)]
    plain = start(Notifier(site_config(tmp_path, {"email": {**email, "ca_file": None}}), tmp_path / "other"),
                  running)
    plain.submit(alert(2))
    wait_for(lambda: "CERTIFICATE_VERIFY_FAILED" in plain.status().last_error.get("email", ""),
             "a server whose certificate nobody trusts to be refused")
