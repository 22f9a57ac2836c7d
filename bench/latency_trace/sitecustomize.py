"""Timestamps along the alert path, for ``bench.latency --trace`` only.

The bench puts this folder on ``PYTHONPATH`` of the ``hotspot serve`` it starts, so every
process of it (the service, the supervisor, each spawned camera worker) imports this at
start-up and wraps a few methods to print one line per stage to stderr (the serve log):
``BENCHTRACE <stage> <camera> <key> <epoch seconds>``, where ``key`` is the alert's trigger
time (a gate opening has the packet's wall time instead). Nothing in the project imports it.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime
from typing import Any


def _line(stage: str, camera: str, key: datetime | str, at: float | None = None) -> None:
    when = key.isoformat() if isinstance(key, datetime) else str(key)
    sys.stderr.write(f"BENCHTRACE {stage} {camera} {when} {time.time() if at is None else at:.6f}\n")
    sys.stderr.flush()


def _wrap(owner: type, name: str, before: Any = None, after: Any = None) -> None:
    original = getattr(owner, name)

    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if before is not None:
            before(self, *args, **kwargs)
        result = original(self, *args, **kwargs)
        if after is not None:
            after(self, *args, **kwargs)
        return result

    setattr(owner, name, wrapper)


def _alert_time(record: dict[str, Any]) -> str | None:
    fields = record.get("fields") if record.get("op") == "alert" else None
    return str(fields["time"]) if fields and fields.get("kind") == "motion" else None


def _install() -> None:
    from monitor.pipeline.camera import CameraPipeline
    from monitor.record import EventOpened
    from monitor.seal.database_outbox import DatabaseOutbox
    from monitor.seal.record_applier import RecordApplier
    from monitor.seal.worker_outbox import WorkerOutbox
    from monitor.service.alert_feed import AlertFeed
    from monitor.workers.messages import AlertMessage
    from monitor.workers.supervisor import Supervisor

    _wrap(CameraPipeline, "_open_gate",
          before=lambda self, packet, reason, since: _line(f"gate-open:{reason.name}", self.camera.id, packet.wall_time))
    def opened(self: CameraPipeline, record: object, *_: object) -> None:
        if isinstance(record, EventOpened):
            _line("event-opened", self.camera.id, record.trigger_time)

    _wrap(CameraPipeline, "_handle", before=opened)
    _wrap(CameraPipeline, "_write_snapshot",
          after=lambda self, record, *_: _line("snapshot-written", self.camera.id, record.trigger_time))
    _wrap(CameraPipeline, "_open_clip",
          after=lambda self, *_: _line("clip-opened", self.camera.id, "-"))
    _wrap(DatabaseOutbox, "submit",
          before=lambda self, record, **_: _line(f"db-start:{record.get('op')}", "-", "-"),
          after=lambda self, record, **_: _line(f"db-done:{record.get('op')}", "-", "-"))
    _wrap(AlertFeed, "_new_alerts", before=lambda self, *_: _line("feed-query", "-", "-"))

    def sent(self: WorkerOutbox, record: dict[str, Any]) -> None:
        if (key := _alert_time(record)) is not None:
            _line("sent", self._camera_id, key)

    _wrap(WorkerOutbox, "submit", after=sent)

    def received(self: RecordApplier, camera_id: str, record: dict[str, Any]) -> None:
        if (key := _alert_time(record)) is not None:
            _line("supervisor", camera_id, key)

    _wrap(RecordApplier, "submit_from_worker", before=received)
    def stored(self: Supervisor, message: AlertMessage) -> None:
        if message.kind == "motion":
            _line("stored", message.camera_id, message.time)

    def published(self: AlertFeed, item: dict[str, Any]) -> None:
        if item.get("kind") == "motion":
            _line("published", str(item["camera_id"]), str(item["time"]))

    _wrap(Supervisor, "_committed_alert", before=stored)
    _wrap(AlertFeed, "_publish", before=published)


if os.environ.get("HOTSPOT_BENCH_TRACE") == "1":
    _install()
