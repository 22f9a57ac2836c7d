"""Presentation timestamps for a clip from wall times that may jump or run backwards.

Live wall times come from the machine's clock on arrival: NTP can step it back, a stalled
stream can leave a gap, a burst can deliver two frames in the same millisecond. A muxer
rejects non-increasing timestamps, so this clock keeps them strictly increasing and, after a
large jump either way, continues one nominal frame later instead of freezing or squashing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction

TIME_BASE = Fraction(1, 90000)
TICKS_PER_SECOND = 90000
MIN_JUMP_SECONDS = 2.0
JUMP_FRAMES = 5


class PtsClock:
    """Maps wall times to strictly increasing 1/90000 s ticks, the first frame at 0."""

    def __init__(self, fps: float) -> None:
        self.frame_ticks = max(1, round(TICKS_PER_SECOND / fps))
        self.jump_ticks = round(max(MIN_JUMP_SECONDS, JUMP_FRAMES / fps) * TICKS_PER_SECOND)
        self._anchor: datetime | None = None
        self.last: int | None = None
        self.jumps = 0

    def pts(self, wall_time: datetime) -> int:
        if self._anchor is None or self.last is None:
            self._anchor = wall_time
            self.last = 0
            return 0
        raw = round((wall_time - self._anchor).total_seconds() * TICKS_PER_SECOND)
        if abs(raw - self.last) > self.jump_ticks:
            raw = self.last + self.frame_ticks
            self._anchor = wall_time - timedelta(seconds=raw / TICKS_PER_SECOND)
            self.jumps += 1
        self.last = max(raw, self.last + 1)
        return self.last
