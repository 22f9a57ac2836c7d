"""Messages that cross process boundaries: worker -> supervisor -> service."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class AlertMessage:
    """An alert row that is already committed; ``snapshot_path`` is relative to storage."""

    alert_id: int
    camera_id: str
    kind: str
    time: datetime
    zones: tuple[str, ...] = ()
    score: float = 0.0
    snapshot_path: str | None = None
    message: str = ""
    reason: str | None = None  # tamper alerts: covered | moved | defocused | dark
    clip_id: str | None = None  # the clip recording the event, for motion alerts
    event_id: str | None = None


# ``monitor.capture.gate.DecodeMode``'s values, for the service, which does not load PyAV
DECODE_MODES = ("decoding", "calibrating", "fallback", "idle", "off-schedule")


@dataclass(frozen=True)
class StatusMessage:
    """A worker's periodic report; ``fps`` is frames decoded per second over the last interval."""

    camera_id: str
    state: str  # starting | online | offline
    fps: float = 0.0
    last_error: str | None = None
    last_frame: datetime | None = None
    dropped_messages: int = 0
    decode_mode: str = ""
    """What the camera decodes (``monitor.capture.gate.DecodeMode``); empty before it knows."""
    decoded_fraction: float = 1.0
    """Frames decoded per frame of the stream over the last interval (replays included)."""
    detect_source: str = ""
    """With a detect substream: "substream" while detection reads it, "main" while it cannot."""
    detect_error: str | None = None
    """Why detection reads the main stream of a camera with a substream (redacted)."""
    main_decoded_fraction: float | None = None
    """With a detect substream: the main stream's decodes per packet over the last interval
    (clips and their pre-roll replays); None without one."""


@dataclass(frozen=True)
class EditorFrame:
    """The zone editor's picture (only privacy zones masked), as JPEG bytes. It travels in
    memory only: an unmasked picture of people is never written to disk."""

    camera_id: str
    jpeg: bytes


@dataclass(frozen=True)
class SealedMessage:
    """A clip was sealed; ``analyze`` prints these, the service may refresh on them."""

    clip_id: str
    event_id: str
    camera_id: str
    zones: tuple[str, ...]
    start: datetime
    end: datetime
    path: str
    sha256: str
    incomplete: str | None = None
    extra: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class WriteRequest:
    """A camera worker's clip, seal or alert record, for the supervisor to write."""

    camera_id: str
    record: dict[str, object]


@dataclass(frozen=True)
class JournalDone:
    """Every record of the worker's journal file ``name`` has been sent."""

    camera_id: str
    name: str


@dataclass(frozen=True)
class SpaceWanted:
    """A worker found less than ``storage.min_free_mb`` free when it wanted to record."""

    camera_id: str
