"""Zone-scoped motion detection on the downscaled luma plane.

The caller picks which frames to analyse and which zones are active by schedule; the detector
only measures pixels inside active zones, so motion anywhere else can never trigger.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime

import av
import cv2
import numpy as np

from monitor.config import Camera
from monitor.detect.background import Background
from monitor.detect.planes import plane_view
from monitor.detect.zones import ZoneMasks

# This much of the whole frame changing at once, after gain compensation, is lighting (or a
# person right in front of the lens, who then triggers a frame later against the new background).
LIGHTING_FRACTION = 0.35
BLUR_KERNEL = (5, 5)
LUMA_FORMATS = frozenset(
    {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21", "gray"}
)


@dataclass(frozen=True)
class MotionObservation:
    """What one analysed frame showed.

    ``zone_fractions`` holds, for each active zone, the fraction (0..1) of its area that moved.
    ``triggered`` lists the active zones whose fraction reached ``zone.min_area`` on at least
    ``detection.min_frames`` consecutive analysed frames. ``score`` is the largest fraction among
    the triggered zones, or among the active zones when none triggered.
    """

    wall_time: datetime
    zone_fractions: dict[str, float]
    triggered: tuple[str, ...]
    lighting_change: bool
    score: float
    changed_fraction: float = 1.0
    """Fraction of the whole analysis frame whose luma changed by more than the threshold
    since the previous analysed frame, zones or not (1.0 when unknown): the idle gate learns
    from it what the packets of a still picture weigh."""


def analysis_size(camera: Camera, width: int, height: int) -> tuple[int, int]:
    """Analysis frame size: ``detection.analysis_width`` wide (never upscaled), same aspect."""
    analysis_width = min(camera.detection.analysis_width, width)
    return analysis_width, max(1, round(height * analysis_width / width))


def halving_buffers(width: int, height: int, analysis_width: int) -> list[np.ndarray]:
    """Intermediate sizes for reaching the analysis width by exact halvings first.

    OpenCV's area resize has a fast path for a factor of two but is slow for other factors:
    on one core, 1920 -> 960 -> 480 by halvings and a bilinear 480 -> 320 cost 0.3 ms where
    a direct area reduction 1920 -> 320 cost 1.4 ms (profiled at 1080p).
    """
    buffers = []
    while width >= 2 * analysis_width and width % 2 == 0 and height % 2 == 0:
        width, height = width // 2, height // 2
        buffers.append(np.empty((height, width), np.uint8))
    return buffers


class MotionDetector:
    """Keeps one camera's background model and per-zone streaks across analysed frames."""

    def __init__(self, camera: Camera, width: int, height: int) -> None:
        if width < 2 or height < 2:
            raise ValueError(f"frame size must be at least 2x2, got {width}x{height}")
        self.width, self.height = width, height
        self._streaks: dict[str, int] = {}
        self._apply(camera, previous=None)

    def update_camera(self, camera: Camera) -> None:
        """Apply edited zones and detection settings; the learned background survives unless
        the analysis size changes."""
        self._apply(camera, previous=self._background)

    def reframe(self, width: int, height: int) -> None:
        """Read frames of another size (a camera's detect substream, or its main stream instead):
        the learned background carries over when the analysis size is the same, as it is for
        two streams of one picture."""
        self.width, self.height = width, height
        self._apply(self._camera, previous=self._background)

    def _apply(self, camera: Camera, *, previous: Background | None) -> None:
        size = analysis_size(camera, self.width, self.height)
        self._camera = camera
        self._masks = ZoneMasks.build(camera, *size)
        self._min_area = {zone.id: zone.min_area for zone in camera.zones}
        self._background = Background(
            *size, threshold=camera.detection.threshold, analysis_fps=camera.detection.analysis_fps
        )
        if previous is not None:
            self._background.adopt(previous)
        self._streaks = {k: v for k, v in self._streaks.items() if k in self._min_area}
        self._gray = np.empty((size[1], size[0]), np.uint8)
        self._scratch = np.empty_like(self._gray)
        self._previous = np.empty_like(self._gray)
        self._previous_valid = False
        self._halves = halving_buffers(self.width, self.height, size[0])

    def observe(
        self, frame: av.VideoFrame, *, active_zones: AbstractSet[str], wall_time: datetime
    ) -> MotionObservation:
        """Compare ``frame`` with the background, update streaks, then learn from it."""
        self._check(frame, wall_time)
        gray = self._luma(frame)
        background = self._background
        zones = [zone_id for zone_id in self._masks.masks if zone_id in active_zones]
        if not background.ready:
            background.reset(gray)
            return self._quiet(wall_time, zones, lighting=False)
        moving = background.update(gray)
        if cv2.countNonZero(moving) > LIGHTING_FRACTION * moving.size:
            background.reset(gray)
            return self._quiet(wall_time, zones, lighting=True)
        fractions = {z: self._masks.fraction(z, moving, self._scratch) for z in zones}
        return self._judge(wall_time, fractions, self._changed(gray))

    def peek(
        self, frame: av.VideoFrame, *, active_zones: AbstractSet[str], frames_since: float
    ) -> dict[str, float]:
        """The fraction of each active zone that differs from the background in a frame that
        stands for ``frames_since`` analysed frames nobody decoded (the idle gate's keyframe
        check); the background learns what they would have taught, streaks are untouched."""
        gray = self._luma(frame)
        zones = [zone_id for zone_id in self._masks.masks if zone_id in active_zones]
        if not self._background.ready:
            self._background.reset(gray)
            return dict.fromkeys(zones, 1.0)  # nothing to compare with: look properly
        moving = self._background.catch_up(gray, frames_since)
        if cv2.countNonZero(moving) > LIGHTING_FRACTION * moving.size:
            return dict.fromkeys(zones, 1.0)
        return {z: self._masks.fraction(z, moving, self._scratch) for z in zones}

    def forget(self) -> None:
        """Start a new background at the next frame: the old one is hours old (schedule gate)."""
        self._background.forget()
        self._streaks = {}
        self._previous_valid = False

    def _luma(self, frame: av.VideoFrame) -> np.ndarray:
        """The Y plane read in place, area-downscaled and blurred against sensor noise."""
        luma = plane_view(frame.planes[0])
        for half in self._halves:
            cv2.resize(luma, (half.shape[1], half.shape[0]), dst=half, interpolation=cv2.INTER_AREA)
            luma = half
        # after the halvings less than a factor of two remains: bilinear reads every pixel
        cv2.resize(luma, (self._gray.shape[1], self._gray.shape[0]), dst=self._gray,
                   interpolation=cv2.INTER_LINEAR if self._halves else cv2.INTER_AREA)
        cv2.GaussianBlur(self._gray, BLUR_KERNEL, 0, dst=self._gray)
        return self._gray

    def _changed(self, gray: np.ndarray) -> float:
        """Share of pixels changed since the previous analysed frame (then remember this one)."""
        previous = self._previous
        changed = 1.0
        if self._previous_valid:
            cv2.absdiff(gray, previous, dst=self._scratch)
            cv2.compare(self._scratch, self._camera.detection.threshold, cv2.CMP_GT, dst=self._scratch)  # type: ignore[call-overload]
            changed = cv2.countNonZero(self._scratch) / self._scratch.size
        np.copyto(previous, gray)
        self._previous_valid = True
        return changed

    def _judge(self, wall_time: datetime, fractions: dict[str, float], changed: float) -> MotionObservation:
        streaks = {}
        for zone_id, fraction in fractions.items():
            moved = fraction >= self._min_area[zone_id]
            streaks[zone_id] = self._streaks.get(zone_id, 0) + 1 if moved else 0
        self._streaks = streaks
        needed = self._camera.detection.min_frames
        triggered = tuple(z for z, streak in streaks.items() if streak >= needed)
        pool = triggered or tuple(fractions)
        score = max((fractions[z] for z in pool), default=0.0)
        return MotionObservation(
            wall_time=wall_time, zone_fractions=fractions, triggered=triggered,
            lighting_change=False, score=score, changed_fraction=changed,
        )

    def _quiet(self, wall_time: datetime, zones: list[str], *, lighting: bool) -> MotionObservation:
        """An observation that cannot trigger: the first frame, or a frame lit differently."""
        self._streaks = {}
        self._previous_valid = False
        return MotionObservation(
            wall_time=wall_time, zone_fractions=dict.fromkeys(zones, 0.0), triggered=(),
            lighting_change=lighting, score=0.0,
        )

    def _check(self, frame: av.VideoFrame, wall_time: datetime) -> None:
        if frame.format.name not in LUMA_FORMATS:
            raise ValueError(f"motion detection needs a planar YUV frame, got {frame.format.name}")
        if (frame.width, frame.height) != (self.width, self.height):
            raise ValueError(
                f"frame is {frame.width}x{frame.height} but the detector was built for "
                f"{self.width}x{self.height}"
            )
        if wall_time.tzinfo is None:
            raise ValueError("wall_time must be timezone-aware (UTC)")
