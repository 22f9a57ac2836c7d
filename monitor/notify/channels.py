"""Sending one delivery: a signed webhook POST, an MQTT publish, or an e-mail. Each raises
``DeliveryError`` with what went wrong; the notifier retries."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import smtplib
import ssl
import threading
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx

from monitor.config.models import Email, Mqtt, Webhook
from monitor.notify.delivery_queue import Delivery
from monitor.notify.payload import subject

TIMEOUT = 10.0  # seconds for one attempt at any channel
SIGNATURE_HEADER = "X-Hotspot-Signature"
TIMESTAMP_HEADER = "X-Hotspot-Timestamp"


class DeliveryError(Exception):
    """One attempt failed; the message says why (never a secret)."""


def _secret(name: str | None) -> str | None:
    if name is None:
        return None
    value = os.environ.get(name)
    if value is None:
        raise DeliveryError(f"environment variable {name} is not set")
    return value


def signed_request(body: dict[str, Any], secret: str, now: float) -> tuple[bytes, dict[str, str]]:
    """The body carries the same timestamp as the header, so the signature covers it and a
    receiver refuses a replayed request by its age."""
    stamp = str(int(now))
    data = json.dumps({**body, "sent_at": stamp}, sort_keys=True).encode()
    signature = hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()
    return data, {"Content-Type": "application/json", TIMESTAMP_HEADER: stamp,
                  SIGNATURE_HEADER: f"sha256={signature}"}


def send_webhook(hook: Webhook, delivery: Delivery) -> None:
    secret = _secret(hook.secret_env)
    assert secret is not None
    data, headers = signed_request(delivery.payload, secret, time.time())
    try:
        response = httpx.post(hook.url, content=data, headers=headers, timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{hook.url}: {type(exc).__name__}: {exc}") from exc
    if response.status_code >= 300:
        raise DeliveryError(f"{hook.url}: HTTP {response.status_code}")


def send_email(settings: Email, delivery: Delivery, storage: Path) -> None:
    payload = delivery.payload
    message = EmailMessage()
    message["Subject"] = subject(payload)
    message["From"] = settings.sender
    message["To"] = ", ".join(delivery.email_to or settings.to)
    lines = [f"{key}: {value}" for key, value in payload.items() if value not in (None, [], "")]
    message.set_content("\n".join(lines) + "\n")
    if delivery.snapshot_path:  # masked when it was written; missing after retention is no error
        snapshot = storage / delivery.snapshot_path
        if snapshot.is_file():
            message.add_attachment(snapshot.read_bytes(), maintype="image", subtype="jpeg",
                                   filename=f"alert-{payload['id']}.jpg")
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=TIMEOUT) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context(cafile=settings.ca_file))
            user, password = _secret(settings.username_env), _secret(settings.password_env)
            if user is not None and password is not None:
                smtp.login(user, password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"smtp {settings.host}:{settings.port}: {type(exc).__name__}: {exc}") from exc


class MqttPublisher:
    """One connection to the broker for the notifier's lifetime, announcing availability with a
    retained ``<prefix>/available`` (``offline`` as its last will)."""

    def __init__(self, settings: Mqtt) -> None:
        import paho.mqtt.client as mqtt  # loaded only where MQTT is configured

        self._settings = settings
        self._prefix = settings.topic_prefix
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"hotspot-{os.getpid()}")
        self._client.will_set(f"{self._prefix}/available", "offline", qos=1, retain=True)
        self._connected = threading.Event()
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = lambda *_a: self._connected.clear()
        self._started = False

    def _on_connect(self, client: Any, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if not reason.is_failure:
            client.publish(f"{self._prefix}/available", "online", qos=1, retain=True)
            self._connected.set()

    def _connect(self) -> None:
        settings = self._settings
        user, password = _secret(settings.username_env), _secret(settings.password_env)
        if user is not None:
            self._client.username_pw_set(user, password)
        if settings.tls:
            self._client.tls_set(ca_certs=settings.ca_file)
        try:
            self._client.connect(settings.host, settings.port, keepalive=30)
        except OSError as exc:
            raise DeliveryError(f"mqtt {settings.host}:{settings.port}: {exc}") from exc
        self._client.loop_start()
        self._started = True

    def topics(self, payload: dict[str, Any]) -> list[str]:
        """``events`` for every alert, ``<camera>/alerts``, and ``<camera>/<zone>/alerts`` per zone."""
        camera = payload["camera"]
        return ([f"{self._prefix}/events", f"{self._prefix}/{camera}/alerts"]
                + [f"{self._prefix}/{camera}/{zone}/alerts" for zone in payload["zones"]])

    def send(self, delivery: Delivery) -> None:
        if not self._started:
            self._connect()
        if not self._connected.wait(TIMEOUT):
            raise DeliveryError(f"mqtt {self._settings.host}:{self._settings.port}: not connected")
        body = json.dumps(delivery.payload, sort_keys=True)
        infos = [self._client.publish(topic, body, qos=1) for topic in self.topics(delivery.payload)]
        deadline = time.monotonic() + TIMEOUT
        for info in infos:
            info.wait_for_publish(max(0.1, deadline - time.monotonic()))
            if not info.is_published():
                raise DeliveryError(f"mqtt {self._settings.host}:{self._settings.port}: publish not acknowledged")

    def close(self) -> None:
        if self._started:
            self._client.publish(f"{self._prefix}/available", "offline", qos=1, retain=True).wait_for_publish(2)
            self._client.disconnect()
            self._client.loop_stop()
