"""The event state machine: motion opens an event, more motion extends it, quiet closes it.

Pure: fed with wall times and the zones that saw motion, it returns records and never
touches frames, files or clocks, so every timing rule is tested exactly. Times in the
records are UTC-aware datetimes; durations in the settings are seconds.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from monitor.config.models import RecordingSettings

CloseReason = Literal["post_roll", "stream_lost", "shutdown"]


@dataclass(frozen=True)
class EventOpened:
    """Motion started. The first clip covers ``start`` (trigger minus pre-roll) onwards."""

    event_id: str
    clip_id: str
    part: int
    start: datetime
    trigger_time: datetime
    zones: tuple[str, ...]
    score: float


@dataclass(frozen=True)
class ClipRolled:
    """The clip reached ``max_clip``: close ``closed_clip_id`` at ``at``, go on in ``clip_id``."""

    event_id: str
    closed_clip_id: str
    clip_id: str
    part: int
    at: datetime


@dataclass(frozen=True)
class EventClosed:
    """The event ended at ``end``; ``zones`` are every zone that saw motion during it."""

    event_id: str
    clip_id: str
    end: datetime
    zones: tuple[str, ...]
    reason: CloseReason


EventRecord = EventOpened | ClipRolled | EventClosed


@dataclass
class _OpenEvent:
    event_id: str
    clip_id: str
    part: int
    clip_start: datetime
    last_motion: datetime
    zones: list[str]


class EventTracker:
    """One camera's event state, driven by ``update`` once per analysed frame."""

    def __init__(self, recording: RecordingSettings, camera_id: str) -> None:
        self.camera_id = camera_id
        self.pre_roll = timedelta(seconds=recording.pre_roll)
        self.post_roll = timedelta(seconds=recording.post_roll)
        self.max_clip = timedelta(seconds=recording.max_clip)
        self._open: _OpenEvent | None = None
        self._last_end: datetime | None = None

    @property
    def active(self) -> bool:
        return self._open is not None

    @property
    def clip_id(self) -> str | None:
        """The clip currently being recorded, if any."""
        return self._open.clip_id if self._open else None

    @property
    def current(self) -> tuple[str, str, int, datetime] | None:
        """The open event's id, its current clip's id, part number and start, if any."""
        if self._open is None:
            return None
        return self._open.event_id, self._open.clip_id, self._open.part, self._open.clip_start

    def update(self, now: datetime, triggered: tuple[str, ...], score: float) -> list[EventRecord]:
        """Advance to ``now`` with the zones that saw motion in this frame (empty: none)."""
        _require_aware(now)
        records: list[EventRecord] = []
        if self._open and now > self._open.last_motion + self.post_roll:
            records.append(self._close(self._open.last_motion + self.post_roll, "post_roll"))
        if triggered:
            records.extend(self._motion(now, triggered, score))
        if self._open and now - self._open.clip_start >= self.max_clip:
            records.append(self._roll(now))
        return records

    def close(self, now: datetime, reason: CloseReason = "shutdown") -> list[EventRecord]:
        """Close any open event because the stream was lost or the worker stops."""
        _require_aware(now)
        if self._open is None:
            return []
        quiet_since = self._open.last_motion + self.post_roll
        if now > quiet_since:
            return [self._close(quiet_since, "post_roll")]
        return [self._close(max(now, self._open.clip_start), reason)]

    def _motion(self, now: datetime, triggered: tuple[str, ...], score: float) -> list[EventRecord]:
        if self._open is not None:
            self._open.last_motion = max(self._open.last_motion, now)
            self._open.zones.extend(zone for zone in triggered if zone not in self._open.zones)
            return []
        start = now - self.pre_roll
        if self._last_end is not None and start < self._last_end <= now:
            start = self._last_end  # never record the previous clip's footage twice
        self._open = _OpenEvent(
            event_id=_new_id(),
            clip_id=_new_id(),
            part=1,
            clip_start=start,
            last_motion=now,
            zones=list(dict.fromkeys(triggered)),
        )
        opened = self._open
        return [
            EventOpened(opened.event_id, opened.clip_id, 1, start, now, tuple(opened.zones), score)
        ]

    def _roll(self, now: datetime) -> ClipRolled:
        assert self._open is not None
        closed = self._open.clip_id
        self._open.clip_id = _new_id()
        self._open.part += 1
        self._open.clip_start = now
        return ClipRolled(self._open.event_id, closed, self._open.clip_id, self._open.part, now)

    def _close(self, end: datetime, reason: CloseReason) -> EventClosed:
        assert self._open is not None
        closed = EventClosed(
            self._open.event_id, self._open.clip_id, end, tuple(self._open.zones), reason
        )
        self._last_end = end
        self._open = None
        return closed


def _new_id() -> str:
    return uuid.uuid4().hex


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None:
        raise ValueError(f"event times must be timezone-aware, got naive {moment.isoformat()}")
