"""Record: the event state machine and the fragmented-MP4 H.264 clip writer."""

from monitor.record.clip_writer import ClipWriter, WrittenClip
from monitor.record.errors import ClipWriteError, EmptyClipError, RecordError
from monitor.record.events import (
    ClipRolled,
    EventClosed,
    EventOpened,
    EventRecord,
    EventTracker,
)
from monitor.record.torn_tail import RecoveredClip, recover_clip

__all__ = [
    "ClipRolled",
    "ClipWriteError",
    "ClipWriter",
    "EmptyClipError",
    "EventClosed",
    "EventOpened",
    "EventRecord",
    "EventTracker",
    "RecordError",
    "RecoveredClip",
    "WrittenClip",
    "recover_clip",
]
