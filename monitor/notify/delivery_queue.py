"""Deliveries kept on disk until their receiver has them, so a receiver that is down, or a
restart, loses no alert: one JSON file per delivery in ``notify/queue/``, moved to
``notify/failed/`` when ``notify.give_up_after`` has passed without success."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

MAX_BACKOFF = 300.0  # seconds between retries at most


@dataclass
class Delivery:
    """One message to one channel. ``payload`` is the alert as every channel sees it."""

    id: str
    channel: str
    payload: dict[str, Any]
    route: str | None = None
    email_to: list[str] = field(default_factory=list)
    snapshot_path: str | None = None  # relative to storage; e-mail attaches it (masked)
    created: str = ""  # ISO-8601 UTC, when the alert was queued
    attempts: int = 0
    next_attempt: str = ""  # ISO-8601 UTC
    last_error: str | None = None

    def due(self, now: datetime) -> bool:
        return datetime.fromisoformat(self.next_attempt) <= now

    def failed_attempt(self, error: str, now: datetime) -> None:
        """Back off 1, 2, 4 ... seconds, at most ``MAX_BACKOFF``."""
        self.attempts += 1
        self.last_error = error
        delay = min(MAX_BACKOFF, 2.0 ** (self.attempts - 1))
        self.next_attempt = (now + timedelta(seconds=delay)).isoformat()


def _write_durably(path: Path, data: dict[str, Any]) -> None:
    temporary = path.with_suffix(".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump(data, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


class DeliveryQueue:
    """The on-disk queue; every method is safe to call from several threads."""

    def __init__(self, folder: Path) -> None:
        self.pending = folder / "queue"
        self.failed = folder / "failed"
        self.pending.mkdir(parents=True, exist_ok=True)
        self.failed.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._counter = 0

    def add(self, delivery: Delivery) -> None:
        with self._lock:
            _write_durably(self.pending / f"{delivery.id}.json", asdict(delivery))

    def new_id(self, channel: str) -> str:
        with self._lock:
            self._counter += 1
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            return f"{stamp}-{self._counter:04d}-{channel.replace(':', '-')}"

    def waiting(self) -> list[Delivery]:
        """Oldest first; a file that cannot be read is moved to failed/ rather than retried forever."""
        out = []
        for path in sorted(self.pending.glob("*.json")):
            try:
                out.append(Delivery(**json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError, TypeError):
                os.replace(path, self.failed / path.name)
        return out

    def update(self, delivery: Delivery) -> None:
        self.add(delivery)

    def done(self, delivery: Delivery) -> None:
        (self.pending / f"{delivery.id}.json").unlink(missing_ok=True)

    def give_up(self, delivery: Delivery) -> None:
        with self._lock:
            _write_durably(self.failed / f"{delivery.id}.json", asdict(delivery))
            (self.pending / f"{delivery.id}.json").unlink(missing_ok=True)

    def failed_count(self) -> int:
        return sum(1 for _ in self.failed.glob("*.json"))
