"""Reduced live-view previews: right size, and no hidden pixel contributes to a visible one."""

from __future__ import annotations

import tracemalloc

import av
import cv2
import numpy as np
import pytest

from monitor.detect import PrivacyMasker
from monitor.detect.preview import Preview, preview_factor
from tests.fixtures import scenes

HOTSPOT = ((0.13, 0.17), (0.61, 0.21), (0.57, 0.93), (0.11, 0.88))  # slanted edges cut blocks
PANE = ((0.30, 0.30), (0.41, 0.30), (0.41, 0.47), (0.30, 0.47))
WIDTH, HEIGHT = 1280, 720


def frame_where_hidden_is_white(masker: PrivacyMasker) -> av.VideoFrame:
    """Visible pixels are a flat grey; hidden ones are white with saturated chroma."""
    luma, chroma, _ = masker.hidden
    y = np.where(luma > 0, 255, 100).astype(np.uint8)
    uv = np.where(chroma > 0, 255, 128).astype(np.uint8)
    i420 = np.concatenate([y.reshape(-1), uv.reshape(-1), uv.reshape(-1)]).reshape(-1, WIDTH)
    return av.VideoFrame.from_ndarray(i420, format="yuv420p")


def grey(luma: int) -> tuple[int, ...]:
    """The BGR colour of a neutral pixel of this luma, through the same conversion."""
    i420 = np.array([[luma, luma], [luma, luma], [128, 128]], np.uint8)
    return tuple(int(v) for v in cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420)[0, 0])


@pytest.mark.parametrize(
    ("size", "factor"),
    [((1920, 1080), 2), ((1280, 720), 2), ((640, 360), 1), ((2560, 1440), 4), ((1366, 768), 1)],
)
def test_factor_brings_width_under_the_limit_with_whole_blocks(size: tuple[int, int], factor: int) -> None:
    assert preview_factor(*size) == factor


def test_fill_preview_shows_only_visible_pixels_and_fill() -> None:
    camera = scenes.camera({"door": HOTSPOT}, privacy={"zones": [{"polygon": PANE}]})
    masker = PrivacyMasker(camera, WIDTH, HEIGHT)
    preview = Preview(masker)
    image = preview.bgr(frame_where_hidden_is_white(masker))
    assert image.shape == (HEIGHT // 2, WIDTH // 2, 3)
    colours = {tuple(c) for c in np.unique(image.reshape(-1, 3), axis=0)}
    assert colours == {grey(16), grey(100)}  # any mix with white would add a colour
    assert 0.15 < float(np.mean(np.all(image == grey(100), axis=2))) < 0.45  # the hotspot shows


def test_pixelate_preview_is_masked_at_full_size_first() -> None:
    camera = scenes.camera({"door": HOTSPOT}, privacy={"style": "pixelate"})
    masker = PrivacyMasker(camera, WIDTH, HEIGHT)
    frame = frame_where_hidden_is_white(masker)
    image = Preview(masker).bgr(frame)
    full = masker.apply(frame).to_ndarray(format="bgr24")
    assert image.shape == (HEIGHT // 2, WIDTH // 2, 3)
    assert abs(float(image.mean()) - float(full.mean())) < 2.0


def test_preview_refuses_a_frame_of_another_size() -> None:
    masker = PrivacyMasker(scenes.camera({"door": HOTSPOT}), WIDTH, HEIGHT)
    with pytest.raises(ValueError, match="mask was built for 1280x720"):
        Preview(masker).bgr(av.VideoFrame(640, 360, "yuv420p"))


def test_a_fill_preview_and_its_masker_keep_no_full_size_mask() -> None:
    """A 1080p zone-editor masker is never applied: neither it nor its preview may keep the
    full-size masks the preview's reduced ones come from (the smallest, chroma, is 0.5 MB)."""
    camera = scenes.camera({"door": HOTSPOT}, privacy={"zones": [{"polygon": PANE}]})
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        masker = PrivacyMasker(camera, 1920, 1080, explicit_only=True)
        preview = Preview(masker, max_width=320)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert preview.size == (320, 180)
    assert held < (1920 // 2) * (1080 // 2)
