"""Previews on demand: the service asks by touching a request file, the worker looks once a second.

Encoding live-view and zone-editor JPEGs for every camera all the time cost a tenth to a
fifth of a 1080p worker's CPU (about 1 ms of 4-5 ms per frame) while nobody watched most
cameras. A request file's modification time is when someone last asked for that preview,
so asking works across processes with no new IPC and survives a worker restart.
"""

from __future__ import annotations

import logging
import time

from monitor.store.paths import PREVIEW_KINDS, PreviewKind, StoragePaths

log = logging.getLogger(__name__)

WINDOW = 10.0  # seconds one request keeps its preview coming (live.js asks every 0.5 s)
CHECK_PERIOD = 1.0  # seconds of monotonic time between two looks at the request files


class PreviewRequests:
    """Which of a camera's previews someone asked for within the last ``WINDOW`` seconds."""

    def __init__(self, paths: StoragePaths, camera_id: str) -> None:
        self._files = {kind: paths.preview_request_file(camera_id, kind) for kind in PREVIEW_KINDS}
        self._next_look: float | None = None
        self._wanted: frozenset[PreviewKind] = frozenset()

    def wanted(self) -> frozenset[PreviewKind]:
        """Cheap enough per frame: the files are looked at once per ``CHECK_PERIOD``."""
        clock = time.monotonic()
        if self._next_look is None or clock >= self._next_look:
            self._next_look = clock + CHECK_PERIOD
            self._wanted = frozenset(kind for kind in PREVIEW_KINDS if self._recent(kind))
        return self._wanted

    def _recent(self, kind: PreviewKind) -> bool:
        try:
            asked = self._files[kind].stat().st_mtime
        except FileNotFoundError:
            return False
        except OSError as exc:
            log.warning("cannot read preview request %s: %s", self._files[kind], exc)
            return False
        # abs(): after the wall clock steps back, a request dated in the future does not count.
        return abs(time.time() - asked) < WINDOW
