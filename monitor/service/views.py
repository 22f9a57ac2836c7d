"""Remembers who is already watching which clip, so one viewing is one custody entry.

A browser plays a clip through many range requests (and repeats them when seeking); the
custody log should say "viewed by jdoe at 10:02", not list every request. Every request that
delivers clip bytes asks, whatever its Range header: which request a player sends first is
the client's choice, so it cannot decide what is logged. A viewing lasts while its requests
keep coming: it ends after ``window`` seconds without one.
"""

from __future__ import annotations

import threading
import time

VIEW_WINDOW_SECONDS = 300.0


class ViewLog:
    def __init__(self, window: float = VIEW_WINDOW_SECONDS) -> None:
        self._window = window
        self._seen: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def first_view(self, username: str, clip_id: str) -> bool:
        """True when this request starts a viewing of ``clip_id`` by ``username`` (none of their
        requests for it within the window); either way the viewing goes on from now."""
        now = time.monotonic()
        with self._lock:
            self._seen = {k: t for k, t in self._seen.items() if now - t < self._window}
            first = (username, clip_id) not in self._seen
            self._seen[(username, clip_id)] = now
            return first

    def forget(self, username: str, clip_id: str) -> None:
        """The entry for a viewing could not be written: the next request must try again."""
        with self._lock:
            self._seen.pop((username, clip_id), None)
