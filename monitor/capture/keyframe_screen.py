"""Which keyframes a closed decode gate decodes for the tamper checks alone.

While the gate is closed nothing else decodes, and a 1080p keyframe costs 12-15 ms: checking
every one (every 2 s at a common GOP) was most of an off-schedule camera's CPU. Keyframe sizes,
which cost nothing, screen them. A covered, darkened or defocused view has little left to code,
so its keyframes shrink to a fraction of the usual size: a keyframe whose size leaves the band
of recent normal ones is checked at once. A camera turned to another view keeps its size, so
one keyframe is checked at least every ``SLOW_CHECK`` whatever the sizes. While the detector
learns its reference or holds a condition, every due keyframe is checked, as before.

Pure: fed keyframe sizes, wall times and the detector's state; it never decodes.
"""

from __future__ import annotations

import statistics
from collections import deque
from datetime import datetime, timedelta

WINDOW = 8  # recent normal keyframe sizes the band is taken from
MIN_SIZES = 3  # fewer than this: no band yet, check
LOW, HIGH = 0.5, 2.0  # outside [LOW, HIGH] times their median a keyframe is checked
# (busy traffic moves keyframe sizes between 0.42x and 1.55x of the last eight's median; a
# covered or defocused view drops far below half)
SLOW_CHECK = timedelta(seconds=30)  # a turned camera is found within this plus hold_seconds


class KeyframeScreen:
    """Says which keyframes to decode for a tamper check while nothing else decodes."""

    def __init__(self) -> None:
        self._sizes: deque[int] = deque(maxlen=WINDOW)
        self._checked_at: datetime | None = None

    def wants(self, size: int, when: datetime, *, settled: bool) -> bool:
        """Whether to check this keyframe; ``settled``: the detector has its reference view
        and sees it, with no condition pending or reported."""
        unusual = self._unusual(size)
        if not unusual:
            self._sizes.append(size)
        checked = self._checked_at
        slow_due = checked is None or when - checked >= SLOW_CHECK or when < checked
        return not settled or unusual or slow_due

    def checked(self, size: int, when: datetime, *, normal: bool) -> None:
        """A check ran on this keyframe; a normal view makes its size normal too (the lights
        went off, and keyframes stay smaller all night)."""
        self._checked_at = when
        if normal and self._unusual(size):
            self._sizes.append(size)

    def _unusual(self, size: int) -> bool:
        if len(self._sizes) < MIN_SIZES:
            return True
        median = statistics.median(self._sizes)
        return not LOW * median <= size <= HIGH * median


__all__ = ["MIN_SIZES", "SLOW_CHECK", "KeyframeScreen"]
