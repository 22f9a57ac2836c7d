"""Zone rasterisation: the mask a zone is measured with matches the polygon the admin drew."""

from __future__ import annotations

import cv2
import pytest

from monitor.config.geometry import polygon_area
from monitor.detect import ZoneMasks
from monitor.detect.zones import polygon_mask, union_mask
from tests.fixtures import scenes

TRIANGLE = [(0.1, 0.1), (0.9, 0.2), (0.4, 0.8)]
SQUARE = [(0.5, 0.5), (0.7, 0.5), (0.7, 0.7), (0.5, 0.7)]


@pytest.mark.parametrize("size", [(320, 180), (1920, 1080), (97, 61)])
def test_mask_area_matches_the_polygon(size: tuple[int, int]) -> None:
    width, height = size
    for polygon in (TRIANGLE, SQUARE):
        pixels = cv2.countNonZero(polygon_mask(polygon, width, height))
        expected = polygon_area(polygon) * width * height
        assert abs(pixels - expected) <= 0.05 * expected + 2 * (width + height) / 10


def test_a_zone_smaller_than_a_pixel_still_covers_one() -> None:
    tiny = [(0.5, 0.5), (0.5005, 0.5), (0.5, 0.5005)]
    assert cv2.countNonZero(polygon_mask(tiny, 64, 36)) == 1


def test_union_and_zone_masks() -> None:
    both = union_mask([TRIANGLE, SQUARE], 320, 180)
    assert cv2.countNonZero(both) >= cv2.countNonZero(polygon_mask(TRIANGLE, 320, 180))
    masks = ZoneMasks.build(scenes.camera({"a": TRIANGLE, "b": SQUARE}), 320, 180)
    assert set(masks.masks) == {"a", "b"}
    assert masks.pixels["b"] == cv2.countNonZero(polygon_mask(SQUARE, 320, 180))
    with pytest.raises(ValueError, match="positive"):
        polygon_mask(SQUARE, 0, 10)
