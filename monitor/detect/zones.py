"""Polygon masks rasterised once per frame size, so the per-frame path only does lookups."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from monitor.config import Camera

Point = tuple[float, float]
_SHIFT = 8  # fixed-point bits for sub-pixel polygon vertices


def polygon_mask(polygon: Sequence[Point], width: int, height: int) -> np.ndarray:
    """A ``uint8`` mask (255 inside) of a polygon given in fractions of the frame.

    A polygon smaller than a pixel still covers the pixel under its centroid, so a tiny zone
    drawn in the editor never silently becomes a zone that can never trigger.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"mask size must be positive, got {width}x{height}")
    mask = np.zeros((height, width), np.uint8)
    scale = np.array([width, height], np.float64)
    points = np.asarray(polygon, np.float64) * scale
    fixed = np.round(points * (1 << _SHIFT)).astype(np.int32)
    cv2.fillPoly(mask, [fixed], 255, lineType=cv2.LINE_8, shift=_SHIFT)
    if not mask.any():
        cx, cy = points.mean(axis=0)
        mask[min(int(cy), height - 1), min(int(cx), width - 1)] = 255
    return mask


def union_mask(polygons: Iterable[Sequence[Point]], width: int, height: int) -> np.ndarray:
    """The union of several polygons' masks (all zeros when there are none)."""
    mask = np.zeros((height, width), np.uint8)
    for polygon in polygons:
        cv2.bitwise_or(mask, polygon_mask(polygon, width, height), dst=mask)
    return mask


@dataclass(frozen=True)
class ZoneMasks:
    """A camera's hotspot masks at one size, with their pixel counts for area fractions."""

    width: int
    height: int
    masks: dict[str, np.ndarray]
    pixels: dict[str, int]

    @classmethod
    def build(cls, camera: Camera, width: int, height: int) -> ZoneMasks:
        masks = {zone.id: polygon_mask(zone.polygon, width, height) for zone in camera.zones}
        for mask in masks.values():
            mask.setflags(write=False)
        pixels = {zone_id: int(cv2.countNonZero(mask)) for zone_id, mask in masks.items()}
        return cls(width=width, height=height, masks=masks, pixels=pixels)

    def fraction(self, zone_id: str, moving: np.ndarray, scratch: np.ndarray) -> float:
        """Fraction of the zone's pixels set in ``moving``; ``scratch`` avoids an allocation."""
        cv2.bitwise_and(moving, self.masks[zone_id], dst=scratch)
        return cv2.countNonZero(scratch) / self.pixels[zone_id]
