"""Whether a camera must decode its next packet: the schedule gate and the idle gate.

Decoding is almost all a camera's CPU. Nothing needs it while no zone is active by schedule
and no clip is open (the schedule gate: packets only go into the pre-roll), and little needs it
while zones are active but nothing moves (the idle gate). A still scene's P-frames are tens of
bytes and a moving one's hundreds to thousands, so the idle gate watches packet sizes, which
cost nothing, checks each keyframe against the background (a slow change makes no large
P-frame), and opens as soon as either says something may have changed. Whoever opens the gate
replays the pre-roll from its last keyframe, so detection sees the same frames as if it had
decoded all along.

The gate trusts packet sizes only where it measured that they track motion: while it decodes
it keeps the sizes of P-frames seen when detection found the zones quiet, and a shadow gate
runs beside detection; a zone that moved while the shadow gate would have stayed shut is a
miss, and a miss (or quiet P-frames too large beside keyframes: a constant-bitrate encoder, a
noisy night) makes the camera decode everything for a while.

Pure: fed packet sizes, wall times and detection's zone fractions; it never decodes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

QUIET_SHARE = 0.25  # a zone moved less than this share of its min_area: nothing is happening
STILL_FRAME = 0.002  # at most this fraction of the whole frame moved: a still frame
PEEK_SHARE = 0.25  # a keyframe differing from the background this much opens the gate
HOLD = timedelta(seconds=3.0)  # quiet this long (and no event) before the gate closes
CALIBRATION_QUIET = 20  # still stretches measured before the idle gate may close
MOVING_FRAME = 0.01  # at least this fraction changed: the packets before showed motion
MOVING_WINDOWS = 8  # moving stretches measured before the idle gate may close
SAMPLES = 200  # stretches of each kind remembered (a minute or more at 5 analysed frames a second)
# The threshold: the largest of these, over the peaks of still stretches measured here.
OPEN_LOW = (0.1, 3.0)  # three times the 10th percentile (an empty scene's P-frames)...
OPEN_HIGH = (0.9, 1.5)  # ...one and a half times the 90th (sensor noise, compression)...
OPEN_MARGIN = 64  # ...or this many bytes above the 10th percentile
TRACKING_SHARE = 0.95  # stretches with motion whose peak must pass the threshold: sizes track
# Before any motion was measured (a camera started on an empty hall), sizes are trusted when
# still stretches weigh at most this share of a keyframe: tens of bytes against tens of
# kilobytes, as a still scene's P-frames do with a variable-bitrate encoder.
STILL_KEYFRAME_SHARE = 0.02
MIN_KEYFRAME = 64  # bytes; smaller "keyframes" are a container's empty repeats
MISS_PENALTY = timedelta(minutes=10)  # full decoding after a miss


class DecodeMode(StrEnum):
    """What a camera decodes, as its status and ``/metrics`` report it."""

    DECODING = "decoding"  # every frame: something moves, a clip or preview is wanted
    CALIBRATING = "calibrating"  # every frame, measuring quiet packet sizes first
    FALLBACK = "fallback"  # every frame: packet sizes here do not track motion
    IDLE = "idle"  # zones active and still: keyframes only, packet sizes watched
    OFF_SCHEDULE = "off-schedule"  # no zone active and no clip: nothing decoded


class OpenReason(StrEnum):
    SCHEDULE = "schedule"  # a zone became active by schedule
    DEMAND = "demand"  # an event, clip or live/editor preview needs frames
    PACKET = "packet"  # a P-frame larger than the quiet ones
    KEYFRAME = "keyframe"  # the keyframe check saw a change in a zone
    DISTRUST = "distrust"  # packet sizes stopped tracking motion


@dataclass(frozen=True)
class GateStats:
    """Counted since the pipeline started; ``decoded_fraction`` is decodes per packet.

    With a detect substream the gate counts the substream, and the pipeline adds the main
    stream's packets and decodes while only recorded (``main_packets`` is None without one)."""

    mode: DecodeMode
    packets: int
    decoded: int
    openings: int
    misses: int
    main_packets: int | None = None
    main_decoded: int = 0

    @property
    def decoded_fraction(self) -> float:
        return self.decoded / self.packets if self.packets else 1.0


class DecodeGate:
    """One camera's gate. The pipeline tells it about packets and analysed frames, asks
    ``close_now`` after each packet while decoding and ``open_reason`` for each packet while
    closed, and says when it decoded (``counted``)."""

    def __init__(self, min_area: Mapping[str, float], *, idle_gate: bool = True) -> None:
        self.idle_gate = idle_gate
        self.closed_mode: DecodeMode | None = None  # the mode while closed, None while decoding
        self._min_area = dict(min_area)
        # The largest P-frame between two analysed frames, for stretches that were still and
        # for stretches with motion anywhere in the picture.
        self._quiet_peaks: deque[int] = deque(maxlen=SAMPLES)
        self._moving_peaks: deque[int] = deque(maxlen=SAMPLES)
        self._key_sizes: deque[int] = deque(maxlen=16)
        self._measured: tuple[DecodeMode | None] | None = None  # _measure's answer until samples change
        self._window: list[int] = []  # P-frame sizes since the last analysed frame
        self._last_busy: datetime | None = None  # last analysed frame that was not quiet
        self._shadow_shut = False  # the shadow gate: would the idle gate be shut now?
        self._miss_at: datetime | None = None
        self._threshold_cache: int | None = None
        self.packets = self.decoded = self.openings = self.misses = 0

    def update_zones(self, min_area: Mapping[str, float]) -> None:
        self._min_area = dict(min_area)

    def new_stream(self) -> None:
        """Detection reads another stream (a detect substream, or the main stream instead of
        it): sizes learnt from the old one say nothing about this one's. Decoding resumes;
        the counts go on."""
        for samples in (self._quiet_peaks, self._moving_peaks, self._key_sizes):
            samples.clear()
        self._window.clear()
        self._measured = self._threshold_cache = None
        self._last_busy = self._miss_at = None
        self._shadow_shut = False
        self.closed_mode = None

    # -- measurements ----------------------------------------------------------------------
    def note_packet(self, size: int, *, keyframe: bool) -> None:
        """Every packet, decoded or not, in stream order."""
        self.packets += 1
        if keyframe:
            if size >= MIN_KEYFRAME:
                self._key_sizes.append(size)
        else:
            self._window.append(size)
            if self._shadow_shut and size > self.threshold:
                self._shadow_shut = False  # the shadow gate opened in time

    def counted(self, decodes: int = 1) -> None:
        self.decoded += decodes

    def observed(self, now: datetime, fractions: Mapping[str, float], changed: float) -> None:
        """Detection's zone fractions, and the fraction of the whole frame that moved, for a
        frame analysed while decoding. The gate closes only on a still frame (a P-frame's size
        measures the whole picture), and a zone that moves must never find it shut."""
        quiet = changed <= STILL_FRAME and all(
            f < QUIET_SHARE * self._min_area.get(z, 1.0) for z, f in fractions.items()
        )
        moved = any(f >= self._min_area.get(z, 1.0) for z, f in fractions.items())
        peak = max(self._window, default=0)
        self._measured = None
        if changed >= MOVING_FRAME and self._window:
            self._moving_peaks.append(peak)
        if moved and self._shadow_shut:
            self.misses += 1  # the idle gate would have slept through this
            self._miss_at = now
        if quiet and self._window:
            self._quiet_peaks.append(peak)
            self._threshold_cache = None
        if quiet and peak <= self.threshold:  # the gate, shut now, would stay shut
            if self._last_busy is None:
                self._last_busy = now - HOLD  # first frames: nothing seen moving yet
            self._shadow_shut = self._shadow_shut or (
                self._trusted(now) is None and now - self._last_busy >= HOLD
            )
        else:
            self._last_busy = now
            self._shadow_shut = False
        self._window.clear()

    @property
    def threshold(self) -> int:
        """P-frames above this many bytes may show a change: well above the stillest
        stretches measured here."""
        if self._threshold_cache is None:
            peaks = sorted(self._quiet_peaks) or [0]
            low, high = (peaks[int(share * (len(peaks) - 1))] * factor for share, factor in (OPEN_LOW, OPEN_HIGH))
            self._threshold_cache = int(max(low, high, peaks[int(OPEN_LOW[0] * (len(peaks) - 1))] + OPEN_MARGIN))
        return self._threshold_cache

    def _trusted(self, now: datetime) -> DecodeMode | None:
        """None when packet sizes may gate decoding, else the mode that decodes instead."""
        if not self.idle_gate:
            return DecodeMode.DECODING
        if self._miss_at is not None and now - self._miss_at < MISS_PENALTY:
            return DecodeMode.FALLBACK
        if self._measured is None:  # worked out again once per analysed frame at most
            self._measured = (self._measure(),)
        return self._measured[0]

    def _measure(self) -> DecodeMode | None:
        if len(self._quiet_peaks) < CALIBRATION_QUIET:
            return DecodeMode.CALIBRATING
        if len(self._moving_peaks) < MOVING_WINDOWS:
            if not self._key_sizes:
                return DecodeMode.CALIBRATING
            keyframe = sorted(self._key_sizes)[len(self._key_sizes) // 2]
            still = sorted(self._quiet_peaks)[int(OPEN_HIGH[0] * (len(self._quiet_peaks) - 1))]
            return None if still <= STILL_KEYFRAME_SHARE * keyframe else DecodeMode.CALIBRATING
        threshold = self.threshold
        shown = sum(1 for peak in self._moving_peaks if peak > threshold)
        return None if shown >= TRACKING_SHARE * len(self._moving_peaks) else DecodeMode.FALLBACK

    # -- decisions ---------------------------------------------------------------------------
    def mode(self, now: datetime) -> DecodeMode:
        if self.closed_mode is not None:
            return self.closed_mode
        return self._trusted(now) or DecodeMode.DECODING

    def close_now(self, now: datetime, *, zones_active: bool, busy: bool) -> DecodeMode | None:
        """While decoding: the closed mode to enter now, or None to keep decoding. ``busy``:
        an event or clip is open, or someone watches a preview."""
        if busy:
            return None
        if not zones_active:
            mode = DecodeMode.OFF_SCHEDULE
        elif self._last_busy is not None and now - self._last_busy >= HOLD and self._trusted(now) is None:
            mode = DecodeMode.IDLE
        else:
            return None
        self.closed_mode = mode
        self._shadow_shut = False
        self._window.clear()
        return mode

    def open_reason(
        self, size: int, *, keyframe: bool, zones_active: bool, busy: bool
    ) -> OpenReason | None:
        """While closed: why this packet must be decoded (with what came before it since the
        last keyframe), or None to leave it in the pre-roll only."""
        if busy:
            return OpenReason.DEMAND
        if self.closed_mode is DecodeMode.OFF_SCHEDULE:
            return OpenReason.SCHEDULE if zones_active else None
        if not zones_active:
            self.closed_mode = DecodeMode.OFF_SCHEDULE
            return None
        if not keyframe and size > self.threshold:
            return OpenReason.PACKET
        return None

    def peeked(self, fractions: Mapping[str, float]) -> OpenReason | None:
        """The keyframe check's zone fractions (the keyframe against the background)."""
        if any(f >= PEEK_SHARE * self._min_area.get(z, 1.0) for z, f in fractions.items()):
            return OpenReason.KEYFRAME
        return None

    def opened(self, now: datetime, reason: OpenReason) -> None:
        """The pipeline decodes again. A change the keyframe check saw while P-frames stayed
        small is a miss of the packet sizes: decode everything for a while."""
        if reason is OpenReason.KEYFRAME:
            self.misses += 1
            self._miss_at = now
        self.closed_mode = None
        self.openings += 1
        self._last_busy = now  # stay open at least HOLD: the replayed frames must settle

    def resume(self) -> None:
        """A new source decodes by itself (after a reconnect)."""
        self.closed_mode = None

    def stats(self, now: datetime) -> GateStats:
        return GateStats(self.mode(now), self.packets, self.decoded, self.openings, self.misses)
