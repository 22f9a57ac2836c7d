"""Opening a source spec with PyAV, and turning FFmpeg's errors into source errors.

Every network source gets a read timeout: a camera that stops sending without closing the
socket would otherwise block the worker forever (FFmpeg waits indefinitely by default).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import av
import av.container

from monitor.capture.errors import (
    SourceDisconnected,
    SourceError,
    SourceStalled,
    SourceUnavailable,
)

LIVE_SCHEMES = frozenset({"rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "tcp", "srt"})
DEVICE_PREFIX = "/dev/video"


@dataclass(frozen=True)
class OpenPlan:
    """How to open one spec: what to pass to ``av.open`` and whether it is live."""

    target: str
    live: bool
    read_timeout: float | None = None
    format: str | None = None
    options: dict[str, str] = field(default_factory=dict)


def plan_for(spec: str, stall_timeout: float) -> OpenPlan:
    """Classify ``spec`` as file, network stream or capture device."""
    if not spec or not spec.strip():
        raise SourceUnavailable(spec, "the source is empty; give a file path, URL or device")
    scheme = urlsplit(spec).scheme.lower()
    if scheme in ("rtsp", "rtsps"):
        # FFmpeg's RTSP reader waits out its timeout twice (once more after a keep-alive),
        # so half the budget makes a frozen camera show as stalled after ``stall_timeout``.
        half = stall_timeout / 2
        options = {
            "rtsp_transport": "tcp",
            "timeout": str(int(half * 1_000_000)),
            "probesize": "32",
            "analyzeduration": "0",
        }
        return OpenPlan(spec, live=True, read_timeout=half, options=options)
    if scheme in LIVE_SCHEMES:
        micros = str(int(stall_timeout * 1_000_000))
        return OpenPlan(spec, live=True, read_timeout=stall_timeout, options={"rw_timeout": micros})
    if spec.startswith(DEVICE_PREFIX):
        return OpenPlan(spec, live=True, read_timeout=stall_timeout, format="v4l2")
    if scheme == "file":
        spec = urlsplit(spec).path
    elif len(scheme) > 1:
        raise SourceUnavailable(
            spec, f"unsupported scheme {scheme!r}; use rtsp, http(s), a file or a device"
        )
    return OpenPlan(os.path.expanduser(spec), live=False)


def open_container(spec: str, plan: OpenPlan, stall_timeout: float) -> av.container.InputContainer:
    """``av.open`` with the plan's options; every failure becomes ``SourceUnavailable``."""
    timeout = (stall_timeout, plan.read_timeout) if plan.live else None
    try:
        return av.open(plan.target, format=plan.format, options=plan.options, timeout=timeout)
    except Exception as exc:
        raise SourceUnavailable(spec, describe_open_failure(exc, stall_timeout)) from exc


def describe_open_failure(exc: BaseException, stall_timeout: float) -> str:
    """A short human reason, without FFmpeg's message (which repeats the unredacted URL)."""
    if isinstance(exc, FileNotFoundError):
        return "file or device not found"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, (av.error.ExitError, av.error.TimeoutError, TimeoutError)):
        return f"no answer within {stall_timeout:g} s"
    if isinstance(exc, av.error.InvalidDataError):
        return "not a readable video (FFmpeg found invalid data)"
    return f"cannot be opened ({reason_of(exc)})"


def reason_of(exc: BaseException) -> str:
    """FFmpeg's reason without the file name it appends (it may hold credentials)."""
    strerror = getattr(exc, "strerror", None)
    return str(strerror) if strerror else type(exc).__name__


def read_failure(spec: str, exc: BaseException, *, live: bool, stall_timeout: float) -> SourceError:
    """Translate an error raised while demuxing an already open source."""
    if isinstance(exc, (av.error.ExitError, av.error.TimeoutError, TimeoutError)):
        return SourceStalled(spec, f"no packet for {stall_timeout:g} s")
    if live and isinstance(exc, OSError):
        return SourceDisconnected(spec, f"connection lost ({reason_of(exc)})")
    return SourceUnavailable(spec, f"read failed ({reason_of(exc)})")
