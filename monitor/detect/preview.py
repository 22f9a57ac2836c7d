"""Reduced, privacy-masked preview images for the live view and the zone editor.

Profiling the worker at 1080p showed full-size live JPEGs (colour conversion, encoding and a
full-size masked copy, 2.5 times a second) costing a third of the decoder's time. A preview
is the frame reduced by a whole factor with area averaging, so each preview pixel is the mean
of one k x k block of the frame. With ``fill`` masking, a preview pixel is hidden when any
pixel of its block is hidden: no hidden pixel contributes to a visible one. ``pixelate``
frames are masked at full size first. The reduced masks are made once from the masker's
full-size ones, which are not kept.
"""

from __future__ import annotations

import math

import av
import cv2
import numpy as np

from monitor.detect.planes import plane_view
from monitor.detect.privacy import (
    FILL_CHROMA,
    FILL_LUMA,
    KeptRegion,
    PrivacyMasker,
    Visible,
    block_max,
    visible_mask,
)

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
        self._visible = self._reduced_masks() if self._mask_reduced else (True, True, True)
        kept = [v.mask.size for v in self._visible if isinstance(v, KeptRegion)]
        self._scratch = np.empty(max(kept, default=0), np.uint8)

    def _reduced_masks(self) -> tuple[Visible, Visible, Visible]:
        """Kept pixels of Y, U and V at preview size; the full-size masks are dropped here."""
        luma, chroma, _ = self._masker.hidden
        reduced_chroma = visible_mask(block_max(chroma, self.factor))
        return visible_mask(block_max(luma, self.factor)), reduced_chroma, reduced_chroma

    def bgr(self, frame: av.VideoFrame) -> np.ndarray:
        """The masked, reduced frame as BGR pixels (a new array)."""
        if not self._mask_reduced:
            frame = self._masker.apply(frame)
        else:
            self._masker.check(frame)
        planes = zip(frame.planes, self._planes, self._visible, (FILL_LUMA, FILL_CHROMA, FILL_CHROMA))
        for plane, target, visible, fill in planes:
            source = plane_view(plane)
            if self.factor == 1:
                np.copyto(target, source)
            elif visible is True:
                self._reduce(source, target)
            else:
                target.fill(fill)
                if visible is not False:
                    self._show(source, target, visible)
        return cv2.cvtColor(self._i420, cv2.COLOR_YUV2BGR_I420)

    def _show(self, source: np.ndarray, target: np.ndarray, kept: KeptRegion) -> None:
        """Reduce only the frame's blocks under ``kept`` and copy its kept pixels to ``target``;
        whole blocks average the same alone as inside the frame."""
        rows, cols, k = kept.rows, kept.cols, self.factor
        blocks = source[rows.start * k:rows.stop * k, cols.start * k:cols.stop * k]
        reduced = self._scratch[: kept.mask.size].reshape(kept.mask.shape)
        self._reduce(blocks, reduced)
        cv2.copyTo(reduced, kept.mask, target[rows, cols])

    @staticmethod
    def _reduce(source: np.ndarray, target: np.ndarray) -> None:
        cv2.resize(source, (target.shape[1], target.shape[0]), dst=target, interpolation=cv2.INTER_AREA)
