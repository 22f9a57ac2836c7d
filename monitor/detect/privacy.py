"""Privacy masking of full-size yuv420p frames, applied before anything is encoded or stored.

``fill`` writes video black (Y 16) and neutral chroma (U = V = 128) over the masked pixels: the
original values are gone, so no filter can bring them back. ``pixelate`` keeps coarse block
averages, which hides detail but is not irreversible; it exists for sites that ask for it.
"""

from __future__ import annotations

import av
import cv2
import numpy as np

from monitor.config import Camera
from monitor.detect.planes import plane_view
from monitor.detect.zones import union_mask

FILL_LUMA = 16
FILL_CHROMA = 128
PIXELATE_BLOCKS_ACROSS = 40
INPUT_FORMATS = frozenset({"yuv420p", "yuvj420p"})


def masked_region(camera: Camera, width: int, height: int, *, explicit_only: bool) -> np.ndarray:
    """``uint8`` mask (255 = hidden) of the pixels this camera's privacy settings hide."""
    privacy = union_mask((zone.polygon for zone in camera.privacy.zones), width, height)
    if explicit_only or camera.privacy.mask == "privacy-zones-only":
        return privacy
    hotspots = union_mask((zone.polygon for zone in camera.zones), width, height)
    return cv2.bitwise_or(cv2.bitwise_not(hotspots), privacy)


def block_max(mask: np.ndarray, factor: int) -> np.ndarray:
    """A 0/255 ``mask`` reduced by a whole ``factor`` (up to 15) that divides its size: a block
    is set when any of its pixels is. The mean of a block holding one 255 still rounds to at
    least 1, and OpenCV's area reduction is a hundred times faster than a numpy ``max``."""
    height, width = mask.shape
    means = cv2.resize(mask, (width // factor, height // factor), interpolation=cv2.INTER_AREA)
    return cv2.compare(means, 0, cv2.CMP_GT)


def chroma_mask(luma_mask: np.ndarray) -> np.ndarray:
    """Mask at chroma size: a chroma sample is hidden when any of its luma pixels is."""
    height, width = luma_mask.shape
    padded = np.zeros((height + height % 2, width + width % 2), np.uint8)
    padded[:height, :width] = luma_mask
    return block_max(padded, 2)


class PrivacyMasker:
    """Hides a camera's private regions in every frame; masks are built once per camera and size."""

    def __init__(
        self, camera: Camera, width: int, height: int, *, explicit_only: bool = False
    ) -> None:
        if width < 2 or height < 2:
            raise ValueError(f"frame size must be at least 2x2, got {width}x{height}")
        self.width, self.height = width, height
        self.style = camera.privacy.style
        luma = masked_region(camera, width, height, explicit_only=explicit_only)
        chroma = chroma_mask(luma)
        self.hidden_fraction = cv2.countNonZero(luma) / (width * height)
        self._hidden = (luma, chroma, chroma)
        self._keep = tuple(cv2.bitwise_not(mask) for mask in self._hidden)
        fills = (FILL_LUMA, FILL_CHROMA, FILL_CHROMA)
        self._fill = tuple(cv2.bitwise_and(mask, fill) for mask, fill in zip(self._hidden, fills))

    def apply(self, frame: av.VideoFrame) -> av.VideoFrame:
        """A new yuv420p frame with the hidden pixels masked; the input frame is left untouched."""
        self.check(frame)
        out = av.VideoFrame(self.width, self.height, "yuv420p")
        for index, (source, target) in enumerate(zip(frame.planes, out.planes)):
            src, dst = plane_view(source), plane_view(target)
            if self.style == "fill":
                self._fill_plane(index, src, dst)
            else:
                self._pixelate_plane(index, src, dst)
        out.pts = frame.pts
        if frame.time_base is not None:
            out.time_base = frame.time_base
        return out

    @property
    def hidden(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Masks (255 = hidden) of the Y, U and V planes."""
        return self._hidden

    def check(self, frame: av.VideoFrame) -> None:
        """Refuse a frame this masker cannot mask completely."""
        if frame.format.name not in INPUT_FORMATS:
            raise ValueError(
                f"privacy masking needs yuv420p or yuvj420p frames, got {frame.format.name}"
            )
        if (frame.width, frame.height) != (self.width, self.height):
            raise ValueError(
                f"frame is {frame.width}x{frame.height} but the mask was built for "
                f"{self.width}x{self.height}"
            )

    def _fill_plane(self, index: int, src: np.ndarray, dst: np.ndarray) -> None:
        cv2.bitwise_and(src, self._keep[index], dst=dst)
        cv2.bitwise_or(dst, self._fill[index], dst=dst)

    def _pixelate_plane(self, index: int, src: np.ndarray, dst: np.ndarray) -> None:
        height, width = src.shape
        block = max(2, round(self.width / PIXELATE_BLOCKS_ACROSS) // (1 if index == 0 else 2))
        blocks = (-(-width // block), -(-height // block))
        small = cv2.resize(src, blocks, interpolation=cv2.INTER_AREA)
        coarse = cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
        np.copyto(dst, src)
        cv2.copyTo(coarse, self._hidden[index], dst)
