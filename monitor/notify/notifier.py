"""The notifier: committed alerts in, messages out, on a thread of its own.

``submit`` runs in the supervisor's record-applier thread: it only routes the alert and writes
one small file per delivery, so a receiver that is down or slow never holds capture or
sealing. The thread sends what is due, retries with backoff, and gives a delivery up (moved
to ``notify/failed/``, counted, shown on the dashboard) after ``notify.give_up_after``.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.config.models import Config
from monitor.notify.channels import DeliveryError, MqttPublisher, send_email, send_webhook
from monitor.notify.delivery_queue import Delivery, DeliveryQueue
from monitor.notify.payload import alert_payload
from monitor.notify.routing import RateLimit, Target, targets
from monitor.workers.messages import AlertMessage

log = logging.getLogger(__name__)
IDLE_WAIT = 5.0  # seconds the thread sleeps when nothing is due and nobody wakes it


@dataclass
class NotifyStatus:
    """What the dashboard and /metrics show."""

    queued: int = 0
    failed: int = 0
    sent: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    last_error: dict[str, str] = field(default_factory=dict)  # channel -> why its last attempt failed

    def as_json(self) -> dict[str, Any]:
        return {"queued": self.queued, "failed": self.failed, "sent": dict(self.sent),
                "errors": dict(self.errors), "last_error": self.last_error}


class Notifier:
    """One per process that supervises cameras (``hotspot serve``, ``hotspot run``)."""

    def __init__(self, config: Config, storage: Path, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._config = config
        self._storage = storage
        self._clock = clock
        self._queue = DeliveryQueue(storage / "notify")
        self._limit = RateLimit(config.notify.min_interval)
        self._mqtt = MqttPublisher(config.notify.mqtt) if config.notify.mqtt else None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._status = NotifyStatus(failed=self._queue.failed_count())
        self._thread = threading.Thread(target=self._run, name="notifier", daemon=True)

    @property
    def channels(self) -> list[str]:
        return self._config.notify.channel_names()

    @property
    def enabled(self) -> bool:
        return bool(self.channels)

    def status(self) -> NotifyStatus:
        with self._lock:
            return replace(self._status, sent=Counter(self._status.sent), errors=Counter(self._status.errors),
                           last_error=dict(self._status.last_error))

    def apply_config(self, config: Config) -> None:
        """Routes edited on the dashboard apply to the next alert; channels need a restart."""
        self._config = replace(self._config, notify=replace(config.notify, webhooks=self._config.notify.webhooks,
                                                            mqtt=self._config.notify.mqtt,
                                                            email=self._config.notify.email))
        self._limit = RateLimit(config.notify.min_interval)

    def start(self) -> None:
        if self.enabled:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=15)
        if self._mqtt is not None:
            self._mqtt.close()

    def submit(self, alert: AlertMessage) -> None:
        """Route ``alert`` and queue its deliveries on disk (or hold them for a grouped one)."""
        if not self.enabled:
            return
        now = self._clock()
        local = alert.time.astimezone(self._config.site.tz)
        for target in targets(self._config.notify, alert, local):
            if self._limit.admit(target, alert, now):
                self._enqueue(target, [alert])
        self._wake.set()

    def _enqueue(self, target: Target, alerts: list[AlertMessage]) -> None:
        newest = alerts[-1]
        payload = alert_payload(newest, self._config)
        if len(alerts) > 1:  # held back by the rate limit: one message names them all
            payload["grouped_alert_ids"] = [a.alert_id for a in alerts]
        payload["route"] = target.route
        now = self._clock().isoformat()
        delivery = Delivery(id=self._queue.new_id(target.channel), channel=target.channel, payload=payload,
                            route=target.route, email_to=list(target.email_to),
                            snapshot_path=newest.snapshot_path, created=now, next_attempt=now)
        self._queue.add(delivery)
        with self._lock:
            self._status.queued += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            now = self._clock()
            for target, held in self._limit.due(now):
                self._enqueue(target, held)
            waiting = self._queue.waiting()
            with self._lock:
                self._status.queued = len(waiting)
            later = [d for d in waiting if not d.due(now)]
            for delivery in waiting:
                if self._stop.is_set():
                    return
                if delivery.due(now):
                    self._attempt(delivery, now)
            wait = IDLE_WAIT
            times = [datetime.fromisoformat(d.next_attempt) for d in later]
            if (grouped := self._limit.next_due()) is not None:
                times.append(grouped)
            if times:
                wait = max(0.05, min(IDLE_WAIT, (min(times) - self._clock()).total_seconds()))
            self._wake.wait(wait)
            self._wake.clear()

    def _attempt(self, delivery: Delivery, now: datetime) -> None:
        try:
            self._send(delivery)
        except DeliveryError as exc:
            self._failed(delivery, str(exc), now)
        except Exception as exc:  # a bug in one channel must not stop the others
            log.exception("notification %s failed", delivery.id)
            self._failed(delivery, f"{type(exc).__name__}: {exc}", now)
        else:
            self._queue.done(delivery)
            with self._lock:
                self._status.sent[delivery.channel] += 1
                self._status.last_error.pop(delivery.channel, None)

    def _failed(self, delivery: Delivery, error: str, now: datetime) -> None:
        delivery.failed_attempt(error, now)
        with self._lock:
            self._status.errors[delivery.channel] += 1
            self._status.last_error[delivery.channel] = error
        created = datetime.fromisoformat(delivery.created)
        if now - created >= timedelta(seconds=self._config.notify.give_up_after):
            log.warning("gave up on notification %s to %s: %s", delivery.id, delivery.channel, error)
            self._queue.give_up(delivery)
            with self._lock:
                self._status.failed += 1
        else:
            self._queue.update(delivery)

    def _send(self, delivery: Delivery) -> None:
        notify = self._config.notify
        if delivery.channel.startswith("webhook:"):
            name = delivery.channel.split(":", 1)[1]
            for n, hook in enumerate(notify.webhooks, 1):
                if (hook.name or f"webhook-{n}") == name:
                    send_webhook(hook, delivery)
                    return
            raise DeliveryError(f"{delivery.channel} is no longer configured")
        if delivery.channel == "mqtt" and self._mqtt is not None:
            self._mqtt.send(delivery)
        elif delivery.channel == "email" and notify.email is not None:
            send_email(notify.email, delivery, self._storage)
        else:
            raise DeliveryError(f"{delivery.channel} is no longer configured")
