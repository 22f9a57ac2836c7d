"""Privacy masking of full-size yuv420p frames, applied before anything is encoded or stored.

``fill`` writes video black (Y 16) and neutral chroma (U = V = 128) over the masked pixels: the
original values are gone, so no filter can bring them back. ``pixelate`` keeps coarse block
averages, which hides detail but is not irreversible; it exists for sites that ask for it.

A masker holds one mask of the pixels it keeps per plane size (U and V share theirs), cut to
the rectangle around them and built on the first ``apply``: a 1080p camera's zone-editor masker
is only read once, reduced, by its preview, so it never holds a full-size array. Each plane is
masked by writing what hidden pixels become and copying the kept pixels over it through that
one mask.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

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


@dataclass(frozen=True)
class KeptRegion:
    """The pixels of one plane that stay visible: ``mask`` (255 = kept) over the rectangle
    ``rows`` x ``cols``. Every pixel outside the rectangle is hidden. ``whole``: the mask
    keeps its whole rectangle (a rectangular hotspot), so no pixel needs the mask.
    """

    rows: slice
    cols: slice
    mask: np.ndarray
    whole: bool = False

    def show(self, src: np.ndarray, dst: np.ndarray) -> None:
        """Copy the kept pixels of ``src`` over ``dst``, which holds what hidden ones become."""
        self._copy(src[self.rows, self.cols], self.mask, dst[self.rows, self.cols])

    def show_within(self, src: np.ndarray, dst: np.ndarray, top: int, left: int, fill: int) -> None:
        """The part of the masked plane from (``top``, ``left``) on, into ``dst``: hidden pixels
        become ``fill``. A whole region fills only around its rectangle."""
        r0, r1 = max(self.rows.start, top), min(self.rows.stop, top + dst.shape[0])
        c0, c1 = max(self.cols.start, left), min(self.cols.stop, left + dst.shape[1])
        if r0 >= r1 or c0 >= c1:
            dst.fill(fill)
            return
        inner = dst[r0 - top:r1 - top, c0 - left:c1 - left]
        if self.whole:
            for strip in (dst[:r0 - top], dst[r1 - top:], dst[r0 - top:r1 - top, :c0 - left],
                          dst[r0 - top:r1 - top, c1 - left:]):
                strip.fill(fill)
        else:
            dst.fill(fill)
        mask = self.mask[r0 - self.rows.start:r1 - self.rows.start, c0 - self.cols.start:c1 - self.cols.start]
        self._copy(src[r0:r1, c0:c1], mask, inner)

    def _copy(self, src: np.ndarray, mask: np.ndarray, dst: np.ndarray) -> None:
        """A whole region needs no mask: a plain copy is about twice as fast as a masked one."""
        if self.whole:
            np.copyto(dst, src)
        else:
            cv2.copyTo(src, mask, dst)


@dataclass(frozen=True)
class Rect:
    """A rectangle of the frame in luma pixels, with even corners (4:2:0 chroma lines up)."""

    x: int
    y: int
    width: int
    height: int


Visible = KeptRegion | bool
"""What one plane keeps; ``True``/``False`` when it keeps every pixel/none."""


def masked_region(camera: Camera, width: int, height: int, *, explicit_only: bool) -> np.ndarray:
    """``uint8`` mask (255 = hidden) of the pixels this camera's privacy settings hide."""
    privacy = union_mask((zone.polygon for zone in camera.privacy.zones), width, height)
    if explicit_only or camera.privacy.mask == "privacy-zones-only":
        return privacy
    hidden = union_mask((zone.polygon for zone in camera.zones), width, height)
    cv2.bitwise_not(hidden, dst=hidden)
    return cv2.bitwise_or(hidden, privacy, dst=hidden)


def block_max(mask: np.ndarray, factor: int) -> np.ndarray:
    """A 0/255 ``mask`` reduced by a whole ``factor`` (up to 15) that divides its size: a block
    is set when any of its pixels is. The mean of a block holding one 255 still rounds to at
    least 1, and OpenCV's area reduction is a hundred times faster than a numpy ``max``. A
    threshold, unlike ``cv2.compare`` with a scalar, also takes a 1x1 result (a 2x2 frame's
    chroma)."""
    height, width = mask.shape
    means = cv2.resize(mask, (width // factor, height // factor), interpolation=cv2.INTER_AREA)
    return cv2.threshold(means, 0, 255, cv2.THRESH_BINARY, dst=means)[1]


def chroma_mask(luma_mask: np.ndarray) -> np.ndarray:
    """Mask at chroma size: a chroma sample is hidden when any of its luma pixels is."""
    height, width = luma_mask.shape
    if height % 2 or width % 2:
        luma_mask = cv2.copyMakeBorder(
            luma_mask, 0, height % 2, 0, width % 2, cv2.BORDER_CONSTANT, value=0
        )
    return block_max(luma_mask, 2)


def visible_mask(hidden: np.ndarray) -> Visible:
    """The kept pixels of a 0/255 ``hidden`` mask (which is inverted in place), cut to their
    bounding rectangle; a bool when the plane is uniform, so a camera that hides nothing (or
    everything) holds no array."""
    count = cv2.countNonZero(hidden)
    if count in (0, hidden.size):
        return count == 0
    kept = cv2.bitwise_not(hidden, dst=hidden)
    left, top, width, height = cv2.boundingRect(kept)
    rows, cols = slice(top, top + height), slice(left, left + width)
    return KeptRegion(rows, cols, kept[rows, cols].copy(), whole=hidden.size - count == width * height)


def block_spans(size: int, block: int) -> list[tuple[int, int, int]]:
    """``(start, stop, blocks)`` runs of equal blocks along one side: whole blocks, then a last
    block widened by the leftover pixels, so that no block is smaller than ``block``."""
    count = max(1, size // block)
    last = (count - 1) * block
    return ([(0, last, count - 1)] if count > 1 else []) + [(last, size, 1)]


def pixelate(src: np.ndarray, dst: np.ndarray, block: int) -> None:
    """Write ``src`` as averages of blocks of at least ``block`` x ``block`` into ``dst``. Each
    run of equal blocks is reduced on its own because OpenCV's area reduction by a whole factor
    is ten times faster than by a fractional one."""
    height, width = src.shape
    for top, bottom, rows in block_spans(height, block):
        for left, right, cols in block_spans(width, block):
            small = cv2.resize(src[top:bottom, left:right], (cols, rows), interpolation=cv2.INTER_AREA)
            cv2.resize(small, (right - left, bottom - top), dst=dst[top:bottom, left:right],
                       interpolation=cv2.INTER_NEAREST)


class PrivacyMasker:
    """Hides a camera's private regions in every frame; masks are built at the first frame,
    once per camera and size."""

    def __init__(
        self, camera: Camera, width: int, height: int, *, explicit_only: bool = False
    ) -> None:
        if width < 2 or height < 2:
            raise ValueError(f"frame size must be at least 2x2, got {width}x{height}")
        self.width, self.height = width, height
        self.style = camera.privacy.style
        self._camera, self._explicit_only = camera, explicit_only
        luma_block = max(2, round(width / PIXELATE_BLOCKS_ACROSS))
        self._blocks = (luma_block, max(2, luma_block // 2), max(2, luma_block // 2))
        self._visible: tuple[Visible, Visible] | None = None

    @property
    def hidden(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Masks (255 = hidden) of the Y, U and V planes, rasterised anew on each call so that a
        preview reducing them leaves no full-size copy behind."""
        luma = self._hidden_luma()
        chroma = chroma_mask(luma)
        return luma, chroma, chroma

    @cached_property
    def hidden_fraction(self) -> float:
        """Fraction of the frame's pixels that are hidden."""
        return cv2.countNonZero(self._hidden_luma()) / (self.width * self.height)

    def apply(self, frame: av.VideoFrame, out: av.VideoFrame | None = None) -> av.VideoFrame:
        """``frame`` with the hidden pixels masked, in a new yuv420p frame or in ``out``; the
        input frame is left untouched.

        Every pixel of ``out`` is written, so nothing of the frame it held before survives: a
        clip reuses one (libx264 copies each frame it is given), where a new 1080p frame per
        frame left glibc's heap holding four of them (12 MB).
        """
        self.check(frame)
        luma, chroma = self._kept()
        if out is None:
            out = av.VideoFrame(self.width, self.height, "yuv420p")
        elif (out.width, out.height, out.format.name) != (self.width, self.height, "yuv420p"):
            raise ValueError(
                f"cannot mask into a {out.width}x{out.height} {out.format.name} frame; "
                f"this masker writes {self.width}x{self.height} yuv420p"
            )
        fills = (FILL_LUMA, FILL_CHROMA, FILL_CHROMA)
        for source, target, visible, fill, block in zip(
            frame.planes, out.planes, (luma, chroma, chroma), fills, self._blocks
        ):
            self._mask_plane(plane_view(source), plane_view(target), visible, fill, block)
        out.pts = frame.pts
        if frame.time_base is not None:
            out.time_base = frame.time_base
        return out

    @cached_property
    def visible_rect(self) -> Rect:
        """The smallest even-aligned rectangle outside which every pixel is filled: all a clip
        needs to encode (a door-sized hotspot at 1080p is a small part of the frame). The whole
        frame for ``pixelate``, whose hidden pixels still show something, or when nothing or
        everything is hidden."""
        width, height = self.width - self.width % 2, self.height - self.height % 2
        luma, _ = self._kept()
        if self.style != "fill" or isinstance(luma, bool):
            return Rect(0, 0, width, height)
        x, y = luma.cols.start - luma.cols.start % 2, luma.rows.start - luma.rows.start % 2
        right = min(width, luma.cols.stop + luma.cols.stop % 2)
        bottom = min(height, luma.rows.stop + luma.rows.stop % 2)
        return Rect(x, y, max(2, right - x), max(2, bottom - y))

    def apply_within(self, frame: av.VideoFrame, rect: Rect, out: av.VideoFrame | None = None) -> av.VideoFrame:
        """``apply``, but only the part of the masked frame inside ``rect`` (``fill`` style:
        a clip encodes only that)."""
        self.check(frame)
        if self.style != "fill":
            raise ValueError("only a filled mask can be cut to a rectangle: pixelated pixels are visible")
        if out is None:
            out = av.VideoFrame(rect.width, rect.height, "yuv420p")
        elif (out.width, out.height, out.format.name) != (rect.width, rect.height, "yuv420p"):
            raise ValueError(f"cannot mask into a {out.width}x{out.height} {out.format.name} frame; "
                             f"the rectangle is {rect.width}x{rect.height} yuv420p")
        luma, chroma = self._kept()
        for plane, (source, target, visible, fill) in enumerate(zip(
            frame.planes, out.planes, (luma, chroma, chroma), (FILL_LUMA, FILL_CHROMA, FILL_CHROMA)
        )):
            scale = 1 if plane == 0 else 2
            top, left = rect.y // scale, rect.x // scale
            src, dst = plane_view(source), plane_view(target)
            if visible is True:
                np.copyto(dst, src[top:top + dst.shape[0], left:left + dst.shape[1]])
            elif visible is False:
                dst.fill(fill)
            else:
                visible.show_within(src, dst, top, left, fill)
        out.pts = frame.pts
        if frame.time_base is not None:
            out.time_base = frame.time_base
        return out

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

    def _hidden_luma(self) -> np.ndarray:
        return masked_region(self._camera, self.width, self.height, explicit_only=self._explicit_only)

    def _kept(self) -> tuple[Visible, Visible]:
        """What the Y and the U/V planes keep, built on first use."""
        if self._visible is None:
            luma, chroma, _ = self.hidden
            self._visible = (visible_mask(luma), visible_mask(chroma))
        return self._visible

    def _mask_plane(self, src: np.ndarray, dst: np.ndarray, visible: Visible, fill: int, block: int) -> None:
        if visible is True:
            np.copyto(dst, src)
            return
        if self.style == "fill":
            dst.fill(fill)
        else:
            pixelate(src, dst, block)
        if visible is not False:
            visible.show(src, dst)
