"""Source errors: one root, and a subclass only where the worker reacts differently.

Messages name the source with credentials redacted, because they end up in logs, alerts
and the dashboard, where a camera password must never appear.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_SECRET_KEYS = re.compile(r"pass|pwd|token|secret|auth|key|sig", re.IGNORECASE)


def redact(spec: str) -> str:
    """The source spec with user, password and secret-looking query values replaced by ***."""
    parts = urlsplit(spec)
    if not parts.scheme or not parts.netloc:
        return spec
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(key, "***" if _SECRET_KEYS.search(key) else value) for key, value in pairs], safe="*"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class SourceError(Exception):
    """Root of every capture failure; ``source`` is the redacted spec."""

    def __init__(self, source: str, problem: str) -> None:
        self.source = redact(source)
        self.problem = problem
        super().__init__(f"video source {self.source}: {problem}")


class SourceUnavailable(SourceError):
    """The source cannot be opened or decoded: not found, refused, timed out, or not video."""


class SourceStalled(SourceError):
    """The source is open but delivered no packet within the stall timeout."""


class SourceDisconnected(SourceError):
    """A live stream ended or broke after it was opened; reconnect with backoff."""


class SourceEnded(SourceError):
    """A non-looping file reached its end; nothing to reconnect to."""
