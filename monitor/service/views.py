"""Remembers who is already watching which clip, so one viewing is one custody entry.

A browser plays a clip through many range requests (and repeats them when seeking); the
custody log should say "viewed by jdoe at 10:02", not list every request.
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
        """True when ``username`` has not viewed ``clip_id`` within the window (and remember it)."""
        now = time.monotonic()
        with self._lock:
            self._seen = {k: t for k, t in self._seen.items() if now - t < self._window}
            if (username, clip_id) in self._seen:
                return False
            self._seen[(username, clip_id)] = now
            return True
