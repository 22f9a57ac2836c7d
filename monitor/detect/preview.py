"""Reduced, privacy-masked preview images for the live view and the zone editor.

Profiling the worker at 1080p showed full-size live JPEGs (colour conversion, encoding and a
full-size masked copy, 2.5 times a second) costing a third of the decoder's time. A preview
is the frame reduced by a whole factor with area averaging, so each preview pixel is the mean
of one k x k block of the frame. With ``fill`` masking, a preview pixel is hidden when any
pixel of its block is hidden: no hidden pixel contributes to a visible one. ``pixelate``
frames are masked at full size first.
"""

from __future__ import annotations

import math

import av
import cv2
import numpy as np

from monitor.detect.planes import plane_view
from monitor.detect.privacy import FILL_CHROMA, FILL_LUMA, PrivacyMasker, block_max

MAX_WIDTH = 960
MAX_FACTOR = 8


def preview_factor(width: int, height: int, max_width: int = MAX_WIDTH) -> int:
    """Smallest whole factor k that brings ``width`` to ``max_width`` or less and divides the
    chroma planes exactly (so blocks never straddle an edge); 1 when there is none."""
    if max_width < 2:
        raise ValueError(f"max_width must be at least 2, got {max_width}")
    for factor in range(max(1, math.ceil(width / max_width)), MAX_FACTOR + 1):
        if width % (2 * factor) == 0 and height % (2 * factor) == 0:
            return factor
    return 1


class Preview:
    """Turns full-size yuv420p frames into masked BGR images at ``size``."""

    def __init__(self, masker: PrivacyMasker, *, max_width: int = MAX_WIDTH) -> None:
        self._masker = masker
        self.factor = preview_factor(masker.width, masker.height, max_width)
        self.size = (masker.width // self.factor, masker.height // self.factor)
        width, height = self.size
        self._i420 = np.empty((height * 3 // 2, width), np.uint8)
        flat = self._i420.reshape(-1)
        luma, chroma = width * height, (width // 2) * (height // 2)
        self._planes = (
            flat[:luma].reshape(height, width),
            flat[luma:luma + chroma].reshape(height // 2, width // 2),
            flat[luma + chroma:].reshape(height // 2, width // 2),
        )
        self._mask_reduced = masker.style == "fill" and self.factor > 1
        hidden = tuple(block_max(mask, self.factor) for mask in masker.hidden) if self._mask_reduced else ()
        self._keep = tuple(cv2.bitwise_not(mask) for mask in hidden)
        fills = (FILL_LUMA, FILL_CHROMA, FILL_CHROMA)
        self._fill = tuple(cv2.bitwise_and(mask, fill) for mask, fill in zip(hidden, fills))

    def bgr(self, frame: av.VideoFrame) -> np.ndarray:
        """The masked, reduced frame as BGR pixels (a new array)."""
        if not self._mask_reduced:
            frame = self._masker.apply(frame)
        else:
            self._masker.check(frame)
        for index, (plane, target) in enumerate(zip(frame.planes, self._planes)):
            source = plane_view(plane)
            if self.factor == 1:
                np.copyto(target, source)
            else:
                cv2.resize(source, (target.shape[1], target.shape[0]), dst=target,
                           interpolation=cv2.INTER_AREA)
            if self._mask_reduced:
                cv2.bitwise_and(target, self._keep[index], dst=target)
                cv2.bitwise_or(target, self._fill[index], dst=target)
        return cv2.cvtColor(self._i420, cv2.COLOR_YUV2BGR_I420)
