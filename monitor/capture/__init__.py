"""Capture: PyAV sources, reconnect backoff, and the GOP-aligned packet pre-roll."""

from monitor.capture.backoff import Backoff
from monitor.capture.errors import (
    SourceDisconnected,
    SourceEnded,
    SourceError,
    SourceStalled,
    SourceUnavailable,
    redact,
)
from monitor.capture.frames import CapturedFrame, CapturedPacket, PacketDecoder
from monitor.capture.preroll import PacketPreroll
from monitor.capture.source import VideoSource

__all__ = [
    "Backoff",
    "CapturedFrame",
    "CapturedPacket",
    "PacketDecoder",
    "PacketPreroll",
    "SourceDisconnected",
    "SourceEnded",
    "SourceError",
    "SourceStalled",
    "SourceUnavailable",
    "VideoSource",
    "redact",
]
