"""Pre-roll kept as encoded packets, whole GOPs at a time.

Encoded packets are one to two orders of magnitude smaller than decoded frames, which is
what keeps a 5 s pre-roll at 1080p far below the worker's memory budget. A clip can only
start decoding at a keyframe, so packets are kept and dropped a GOP at a time.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

from monitor.capture.frames import CapturedPacket

DEFAULT_MAX_BYTES = 64 * 1024 * 1024


class PacketPreroll:
    """The last ``seconds`` of packets, starting at a keyframe, capped at ``max_bytes``."""

    def __init__(self, seconds: float, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if seconds < 0:
            raise ValueError(f"pre-roll must be 0 seconds or more, got {seconds}")
        if max_bytes <= 0:
            raise ValueError(f"pre-roll byte cap must be positive, got {max_bytes}")
        self.seconds = seconds
        self._span = timedelta(seconds=seconds)
        self.max_bytes = max_bytes
        self._gops: deque[list[CapturedPacket]] = deque()
        self._gop_bytes: deque[int] = deque()
        self.nbytes = 0
        self.dropped_gops = 0
        self._latest: datetime | None = None

    def push(self, item: CapturedPacket) -> None:
        """Keep the packet (not its decoded frames); drop GOPs older than needed.

        The oldest kept keyframe stays at or before the latest wall time minus ``seconds``.
        """
        size = item.packet.size
        if size == 0:
            return
        if item.keyframe:
            self._gops.append([])
            self._gop_bytes.append(0)
        elif not self._gops:
            return  # nothing decodable before the first keyframe
        # without its decoded frames: holding those would multiply the memory by ~100
        self._gops[-1].append(CapturedPacket(item.packet, item.wall_time, item.keyframe) if item.frames else item)
        self._gop_bytes[-1] += size
        self.nbytes += size
        # B-frames make packet times non-monotonic in decode order: measure from the latest
        if self._latest is None or item.wall_time > self._latest:
            self._latest = item.wall_time
        self._trim(self._latest - self._span)

    def _trim(self, horizon: datetime) -> None:
        while len(self._gops) > 1 and self._gops[1][0].wall_time <= horizon:
            self._drop_oldest()
        while self.nbytes > self.max_bytes and self._gops:
            self._drop_oldest()
            self.dropped_gops += 1

    def _drop_oldest(self) -> None:
        self._gops.popleft()
        self.nbytes -= self._gop_bytes.popleft()

    def since(self, t: datetime) -> list[CapturedPacket]:
        """Packets from the last keyframe at or before ``t`` (or the oldest kept) onwards."""
        start = 0
        for position, gop in enumerate(self._gops):
            if gop[0].wall_time <= t:
                start = position
        return [item for gop in list(self._gops)[start:] for item in gop]

    def clear(self) -> None:
        """Forget everything, e.g. after a reconnect: old packets belong to another decoder."""
        self._gops.clear()
        self._gop_bytes.clear()
        self.nbytes = 0
        self._latest = None

    @property
    def oldest(self) -> datetime | None:
        """Wall time of the oldest kept keyframe, or None when empty."""
        return self._gops[0][0].wall_time if self._gops else None
