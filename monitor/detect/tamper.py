"""Camera tamper and view loss: a covered, turned, defocused or darkened view.

Staff must know when a camera stops seeing what it should ("no hidden or blocked points of
view, no pockets of darkness"), whatever its zones' schedules say. The checks run on a small
luma thumbnail a few times a second and compare it with a reference view learned while the
view was normal. Every measure is normalised for brightness and contrast, so lights switched
on or off (a brief change, then a stable view with the same structure) match the reference;
a condition must also hold for ``hold_seconds`` before it is reported, so a person walking
past the lens is not a covered camera.

- covered: most of the frame is flat (no texture), and it was not before;
- dark: the mean luma is below ``dark_level`` (too dark to see, whatever the cause);
- defocused: fine detail collapses against the reference;
- moved: the layout of edges no longer matches the reference, though the view is sharp.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import cv2
import numpy as np

from monitor.config.models import TamperSettings

THUMB_WIDTH = 160
BLOCK = 8
FLAT_STD = 2.0  # a block varying less than this, brightness-compensated, is flat (noise is above it)
TEXTURED_STD = 6.0  # a reference block varying at least this much has texture a cover hides
COVERED_FLAT = 0.6  # fraction of the reference's textured blocks gone flat that means covered
MAX_GAIN = 4.0  # brightness compensation stops here: a black cover is flat, not a dim room
DEFOCUS_RATIO = 0.35  # fine detail below this fraction of the reference's
MOVED_MATCH = 0.3  # edge layout correlating less than this with the reference, still sharp: turned
LEARN_CHECKS = 6  # checks that build the first reference
REFERENCE_RATE = 0.05  # how fast the reference follows slow changes (daylight) while normal


@dataclass(frozen=True)
class ViewMeasure:
    """What one check measured; ``match`` and ``detail`` are relative to the reference."""

    mean: float
    flat: float  # fraction of the reference's textured blocks that are flat now
    match: float  # correlation of the coarse, normalised view with the reference (-1..1)
    detail: float  # fine detail relative to the reference's (1.0 = as sharp)


@dataclass(frozen=True)
class TamperAlert:
    """A tamper condition that held for ``hold_seconds``; ``since`` is when it began."""

    reason: str  # covered | moved | defocused | dark
    time: datetime
    since: datetime
    measure: ViewMeasure

    @property
    def message(self) -> str:
        return {
            "covered": "Camera view covered or blocked",
            "moved": "Camera turned away from its view",
            "defocused": "Camera view out of focus",
            "dark": "Camera view too dark to see",
        }[self.reason]


def _normalised(image: np.ndarray) -> np.ndarray:
    values = image.astype(np.float32)
    values -= float(values.mean())
    norm = float(np.sqrt((values * values).sum()))
    return values / norm if norm > 1e-3 else values


def _structure(thumb: np.ndarray) -> np.ndarray:
    """Where the view's edges are, at a quarter of the thumbnail: what a turned camera loses.
    Edge strength scales with brightness, and the normalisation takes that out again."""
    blurred = cv2.GaussianBlur(thumb, (5, 5), 0).astype(np.float32)
    edges = cv2.magnitude(cv2.Sobel(blurred, cv2.CV_32F, 1, 0), cv2.Sobel(blurred, cv2.CV_32F, 0, 1))
    size = (THUMB_WIDTH // 4, max(2, thumb.shape[0] // 4))
    return _normalised(cv2.resize(edges, size, interpolation=cv2.INTER_AREA))


def _detail(thumb: np.ndarray) -> float:
    """Fine detail per unit of contrast: blur removes the first, lights change both alike."""
    contrast = float(thumb.std())
    if contrast < 1.0:
        return 0.0
    laplacian = cv2.Laplacian(thumb, cv2.CV_32F, ksize=3)
    return float(np.abs(laplacian).mean()) / contrast


def _block_std(thumb: np.ndarray) -> np.ndarray:
    rows, cols = thumb.shape[0] // BLOCK, thumb.shape[1] // BLOCK
    blocks = thumb[: rows * BLOCK, : cols * BLOCK].astype(np.float32)
    return blocks.reshape(rows, BLOCK, cols, BLOCK).swapaxes(1, 2).reshape(rows * cols, -1).std(axis=1)


class TamperDetector:
    """Checks one camera's view; feed it luma planes with wall times, it reports conditions."""

    def __init__(self, settings: TamperSettings) -> None:
        self._settings = settings
        self._interval = timedelta(seconds=1.0 / settings.check_fps)
        self._last: datetime | None = None
        self._learning: list[np.ndarray] = []
        self._coarse: np.ndarray | None = None  # normalised reference, coarse scale
        self._detail: float = 0.0
        self._mean: float = 0.0
        self._textured: np.ndarray | None = None  # the reference's blocks that have texture
        self._pending: tuple[str, datetime] | None = None
        self._reported: str | None = None
        self._normal_since: datetime | None = None

    @property
    def settled(self) -> bool:
        """Has its reference view and sees it now: no condition pending or reported."""
        return self._coarse is not None and self._pending is None and self._reported is None

    def due(self, when: datetime) -> bool:
        """Whether a check is due: the caller decodes or reduces a frame only then."""
        return self._last is None or when - self._last >= self._interval or when < self._last

    def check(self, luma: np.ndarray, when: datetime) -> TamperAlert | None:
        """One check of a full-size luma plane; an alert when a condition has just held long enough."""
        if not self.due(when):
            return None
        self._last = when
        height, width = luma.shape
        thumb = cv2.resize(luma, (THUMB_WIDTH, max(8, round(height * THUMB_WIDTH / width))),
                           interpolation=cv2.INTER_AREA)
        coarse = _structure(thumb)
        if self._coarse is None:
            self._learn(thumb)
            return None
        mean = float(thumb.mean())
        measure = ViewMeasure(
            mean=mean, flat=self._flat(thumb, mean),
            match=float((coarse * self._coarse).sum()),
            detail=_detail(thumb) / self._detail if self._detail > 0 else 1.0,
        )
        return self._decide(self._condition(measure), measure, thumb, coarse, when)

    def _flat(self, thumb: np.ndarray, mean: float) -> float:
        assert self._textured is not None
        if not self._textured.any():
            return 0.0
        gain = min(MAX_GAIN, self._mean / max(mean, 1.0))
        return float((_block_std(thumb)[self._textured] * gain < FLAT_STD).mean())

    def _learn(self, thumb: np.ndarray) -> None:
        self._learning.append(thumb)
        if len(self._learning) >= LEARN_CHECKS:
            median = np.median(np.stack(self._learning), axis=0).astype(np.uint8)
            self._coarse = _structure(median)
            self._detail = float(np.median([_detail(t) for t in self._learning]))
            self._mean = float(median.mean())
            self._textured = _block_std(median) >= TEXTURED_STD
            self._learning = []

    def _condition(self, measure: ViewMeasure) -> str | None:
        if measure.flat >= COVERED_FLAT:
            return "covered"
        if measure.mean < self._settings.dark_level:
            return "dark"
        if measure.detail < DEFOCUS_RATIO:
            return "defocused"
        if measure.match < MOVED_MATCH:
            return "moved"
        return None

    def _decide(self, condition: str | None, measure: ViewMeasure, thumb: np.ndarray,
                coarse: np.ndarray, when: datetime) -> TamperAlert | None:
        hold = timedelta(seconds=self._settings.hold_seconds)
        if condition is None:
            self._pending = None
            self._follow(thumb, coarse)
            if self._reported is not None:
                self._normal_since = self._normal_since or when
                if when - self._normal_since >= hold:  # back to normal: may report again
                    self._reported = None
            return None
        self._normal_since = None
        if self._pending is None or self._pending[0] != condition:
            self._pending = (condition, when)
        reason, since = self._pending
        if when - since < hold or self._reported == reason:
            return None
        self._reported = reason
        if reason == "moved":  # the new view is where the camera points now: learn it
            self._coarse, self._detail, self._mean = coarse, _detail(thumb), float(thumb.mean())
            self._textured = _block_std(thumb) >= TEXTURED_STD
        return TamperAlert(reason=reason, time=when, since=since, measure=measure)

    def _follow(self, thumb: np.ndarray, coarse: np.ndarray) -> None:
        """Slow changes (daylight, a door left open) become part of the reference view."""
        assert self._coarse is not None
        self._coarse = _normalised((1 - REFERENCE_RATE) * self._coarse + REFERENCE_RATE * coarse)
        self._detail = (1 - REFERENCE_RATE) * self._detail + REFERENCE_RATE * _detail(thumb)
        self._mean = (1 - REFERENCE_RATE) * self._mean + REFERENCE_RATE * float(thumb.mean())


def run_checks(detector: TamperDetector, frames: Iterator[tuple[np.ndarray, datetime]]) -> list[TamperAlert]:
    """Every alert over a sequence of (luma, wall time): for analysis of a file and for tests."""
    return [alert for luma, when in frames if (alert := detector.check(luma, when)) is not None]
