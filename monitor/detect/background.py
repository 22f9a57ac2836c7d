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
SETTLE_SECONDS = 2.0  # after a reset, learn faster: still pixels this quickly...
SETTLE_ADAPT_SECONDS = 0.5  # ...and moving ones at ADAPT_SECONDS, so no ghost is held
GAIN_RANGE = (0.25, 4.0)
GAIN_STRIDE = 3  # sample every third pixel of every third row for the gain estimate
OPEN_KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))


class Background:
    """Per-pixel running average; ``moving`` returns the pixels that differ from it."""

    def __init__(self, width: int, height: int, *, threshold: int, analysis_fps: float) -> None:
        self.shape = (height, width)
        self.threshold = float(threshold)
        self.alpha = _alpha(ADAPT_SECONDS * analysis_fps)
        self.hold_alpha = _alpha(ADAPT_SECONDS * analysis_fps * HOLD_FACTOR)
        self.settle_alpha = _alpha(SETTLE_ADAPT_SECONDS * analysis_fps)
        self.settle_frames = math.ceil(SETTLE_SECONDS * analysis_fps)
        self._settling = 0
        self._last_gain = 1.0
        self._mean: np.ndarray | None = None
        self._work = np.empty(self.shape, np.float32)
        self._gray = np.empty(self.shape, np.float32)
        self._moving = np.empty(self.shape, np.uint8)
        self._still = np.empty(self.shape, np.uint8)
        self._held = np.empty(self.shape, np.uint8)
        # 255 where the pixel has matched the background since the last reset: only there is
        # a difference something that arrived (held); elsewhere the model itself is wrong.
        self._known = np.zeros(self.shape, np.uint8)

    @property
    def ready(self) -> bool:
        return self._mean is not None

    def reset(self, gray: np.ndarray) -> None:
        """Forget the past: the next frames are compared with ``gray`` and learnt from faster for
        a while, so that someone standing in the reset frame leaves no lasting ghost."""
        self._mean = gray.astype(np.float32)
        self._known.fill(0)
        self._settling = self.settle_frames

    def adopt(self, other: Background) -> None:
        """Continue from another model's learned background when the sizes match."""
        if other.shape == self.shape and other._mean is not None:
            self._mean = other._mean.copy()
            np.copyto(self._known, other._known)

    def update(self, gray: np.ndarray) -> np.ndarray:
        """Compare ``gray`` with the background, then learn from it.

        Returns a ``uint8`` mask (255 = moving) after removing the global gain and isolated
        specks; the array is reused by the next call. The background adopts the frame's gain at
        once, then blends the frame in: quickly where still, slowly where something arrived and
        moves or stands. A pixel that has differed ever since the reset is no arrival but what
        the reset frame held and has gone (someone who stood there): it is learnt at the normal
        rate, so that ghost fades within seconds instead of being held like a person.
        """
        mean = self._compare(gray)
        still_alpha, moving_alpha = self.alpha, self.hold_alpha
        if self._settling > 0:
            self._settling -= 1
            still_alpha, moving_alpha = self.settle_alpha, self.alpha
        self._learn(mean, self._moving, still_alpha, moving_alpha, self.alpha)
        return self._moving

    def catch_up(self, gray: np.ndarray, frames: float) -> np.ndarray:
        """``update`` for a frame that stands for ``frames`` analysed frames nobody decoded
        (the idle gate checks one keyframe a GOP): learn as much as they would have taught."""
        mean = self._compare(gray)
        frames = max(1.0, frames)
        alpha = 1.0 - (1.0 - self.alpha) ** frames
        self._learn(mean, self._moving, alpha, 1.0 - (1.0 - self.hold_alpha) ** frames, alpha)
        return self._moving

    def forget(self) -> None:
        """Drop the model: the next frame starts a new one (after hours nobody decoded)."""
        self._mean = None

    def _compare(self, gray: np.ndarray) -> np.ndarray:
        mean = self._mean
        if mean is None:
            raise RuntimeError("the background has no frame yet; call reset() first")
        np.multiply(mean, _gain(gray, mean), out=mean)
        np.copyto(self._gray, gray)
        cv2.absdiff(self._gray, mean, dst=self._work)
        cv2.compare(self._work, self.threshold, cv2.CMP_GT, dst=self._moving)  # type: ignore[call-overload]  # cv2 stubs omit a scalar src2
        cv2.morphologyEx(self._moving, cv2.MORPH_OPEN, OPEN_KERNEL, dst=self._moving)
        return mean

    def _learn(self, mean: np.ndarray, moving: np.ndarray, still_alpha: float, held_alpha: float,
               unknown_alpha: float) -> None:
        """Still pixels at ``still_alpha``; moving ones at ``held_alpha`` where they matched
        the background since the reset, else at ``unknown_alpha``."""
        cv2.bitwise_not(moving, dst=self._still)
        cv2.bitwise_or(self._known, self._still, dst=self._known)
        cv2.bitwise_and(moving, self._known, dst=self._held)
        cv2.accumulateWeighted(self._gray, mean, still_alpha, mask=self._still)
        cv2.accumulateWeighted(self._gray, mean, held_alpha, mask=self._held)
        cv2.bitwise_xor(moving, self._held, dst=self._held)  # moving, never matched
        cv2.accumulateWeighted(self._gray, mean, unknown_alpha, mask=self._held)


def _alpha(frames: float) -> float:
    """Blend weight per frame for an exponential time constant of ``frames`` frames."""
    return 1.0 - math.exp(-1.0 / max(1.0, frames))


def _gain(gray: np.ndarray, mean: np.ndarray) -> float:
    """Median of per-pixel ratios frame / background on a sparse grid.

    Per-pixel ratios stay near 1 wherever nothing moved, whatever share of the frame is dark or
    bright; a ratio of medians does not, and jumps when a car changes which mode is the median.
    """
    sample = mean[::GAIN_STRIDE, ::GAIN_STRIDE]
    usable = sample > 8.0
    if not usable.any():
        return 1.0
    ratios = gray[::GAIN_STRIDE, ::GAIN_STRIDE][usable] / sample[usable]
    middle = ratios.size // 2  # partition, not np.median: a third of the cost, same answer to 1e-3
    low, high = GAIN_RANGE
    return min(high, max(low, float(np.partition(ratios, middle)[middle])))
