"""A gain-compensated running-average background of the analysis frame.

Chosen over MOG2 by measurement on the CDnet highway sequence (see tests/monitor/detect): the
running average is cheaper, its threshold is the admin's ``detection.threshold`` in luma levels,
and a global gain estimate lets it ride through exposure drift and lights dimming without
reporting the whole frame as moving.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

ADAPT_SECONDS = 3.0  # time constant of the background where nothing moves
HOLD_FACTOR = 10.0  # moving pixels are absorbed this many times more slowly (parked objects)
GAIN_RANGE = (0.25, 4.0)
OPEN_KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))


class Background:
    """Per-pixel running average; ``moving`` returns the pixels that differ from it."""

    def __init__(self, width: int, height: int, *, threshold: int, analysis_fps: float) -> None:
        self.shape = (height, width)
        self.threshold = float(threshold)
        frames = max(1.0, ADAPT_SECONDS * analysis_fps)
        self.alpha = 1.0 - math.exp(-1.0 / frames)
        self.hold_alpha = 1.0 - math.exp(-1.0 / (frames * HOLD_FACTOR))
        self._mean: np.ndarray | None = None
        self._work = np.empty(self.shape, np.float32)
        self._gray = np.empty(self.shape, np.float32)
        self._moving = np.empty(self.shape, np.uint8)
        self._still = np.empty(self.shape, np.uint8)

    @property
    def ready(self) -> bool:
        return self._mean is not None

    def reset(self, gray: np.ndarray) -> None:
        """Forget the past: the next frames are compared with ``gray``."""
        self._mean = gray.astype(np.float32)

    def adopt(self, other: Background) -> None:
        """Continue from another model's learned background when the sizes match."""
        if other.shape == self.shape and other._mean is not None:
            self._mean = other._mean.copy()

    def moving(self, gray: np.ndarray) -> np.ndarray:
        """``uint8`` mask (255 = moving) after removing global gain and isolated specks.

        The returned array is reused by the next call.
        """
        if self._mean is None:
            raise RuntimeError("the background has no frame yet; call reset() first")
        np.multiply(self._mean, _gain(gray, self._mean), out=self._work)
        np.copyto(self._gray, gray)
        cv2.absdiff(self._gray, self._work, dst=self._work)
        cv2.compare(self._work, self.threshold, cv2.CMP_GT, dst=self._moving)
        cv2.morphologyEx(self._moving, cv2.MORPH_OPEN, OPEN_KERNEL, dst=self._moving)
        return self._moving

    def learn(self, gray: np.ndarray, moving: np.ndarray) -> None:
        """Blend ``gray`` in: quickly where still, slowly where something moves."""
        if self._mean is None:
            self.reset(gray)
            return
        cv2.bitwise_not(moving, dst=self._still)
        cv2.accumulateWeighted(gray, self._mean, self.alpha, mask=self._still)
        cv2.accumulateWeighted(gray, self._mean, self.hold_alpha, mask=moving)


def _gain(gray: np.ndarray, mean: np.ndarray) -> float:
    """Ratio of the frame's median luma to the background's: robust to people walking by."""
    background = float(np.median(mean))
    if background < 1.0:
        return 1.0
    low, high = GAIN_RANGE
    return min(high, max(low, float(np.median(gray)) / background))
