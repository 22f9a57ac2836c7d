"""Wall times for file sources: ``anchor + pts offset``, continued across loops.

A file has no clock of its own. In analyze mode the investigator states when it started;
in real-time mode (the demo camera) the anchor is the moment it was opened and packets are
released at the file's frame rate. Looping adds one file period per pass, so wall times
keep rising and the pre-roll and clip writer never see time run backwards.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from fractions import Fraction

import av

MAX_LAG = 1.0  # seconds behind schedule before real-time pacing gives up catching up


class Timeline:
    """Maps a file's packet timestamps to wall times, and paces them when real-time."""

    def __init__(
        self, anchor: datetime, *, time_base: Fraction, fps: float, realtime: bool
    ) -> None:
        self.anchor = anchor
        self._seconds_per_tick = float(time_base)  # float math: Fraction per packet is slow
        self.frame_seconds = 1.0 / fps
        self.realtime = realtime
        self._mono0 = time.monotonic()
        self._first_ts: int | None = None
        self._loop_offset = 0.0
        self._pass_end = 0.0
        self._count = 0

    def _seconds(self, ts: int | None) -> float:
        """Seconds since the start of the first pass for a stream timestamp."""
        if ts is None:
            return self._loop_offset + self._count * self.frame_seconds
        if self._first_ts is None:
            self._first_ts = ts
        return self._loop_offset + (ts - self._first_ts) * self._seconds_per_tick

    def stamp(self, packet: av.Packet) -> datetime:
        """The packet's wall time (pts based, so frames stay in display order)."""
        ts = packet.pts if packet.pts is not None else packet.dts
        seconds = self._seconds(ts)
        length = packet.duration * self._seconds_per_tick if packet.duration else self.frame_seconds
        self._pass_end = max(self._pass_end, seconds - self._loop_offset + length)
        self._count += 1
        if self.realtime:
            self._pace(packet)
        return self.anchor + timedelta(seconds=seconds)

    def _pace(self, packet: av.Packet) -> None:
        """Sleep until the packet is due; re-anchor instead of racing when far behind."""
        ts = packet.dts if packet.dts is not None else packet.pts
        due = self._mono0 + self._seconds(ts)
        lag = time.monotonic() - due
        if lag > MAX_LAG:
            self._mono0 += lag
            self.anchor += timedelta(seconds=lag)
        elif lag < 0:
            time.sleep(-lag)

    def next_pass(self) -> None:
        """The file restarts: continue one file period later."""
        self._loop_offset += max(self._pass_end, self.frame_seconds)
        self._pass_end = 0.0
        self._count = 0
