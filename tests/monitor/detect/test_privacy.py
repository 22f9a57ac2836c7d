"""Privacy masking checked on frames that went through a real H.264 encode and decode."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from monitor.config import Camera
from monitor.detect import PrivacyMasker
from monitor.detect.planes import plane_view
from monitor.detect.preview import Preview
from monitor.detect.privacy import pixelate
from monitor.detect.zones import polygon_mask
from tests.fixtures import scenes
from tests.monitor.detect.frames import SIZE, scene, to_frame

HOTSPOT = ((0.50, 0.20), (0.90, 0.20), (0.90, 0.95), (0.50, 0.95))
PANE = ((0.60, 0.25), (0.70, 0.25), (0.70, 0.45), (0.60, 0.45))  # inside the hotspot


def camera(**privacy: object) -> Camera:
    return scenes.camera({"door": HOTSPOT}, privacy={"zones": [{"polygon": PANE}], **privacy})


def round_trip(frames: list[av.VideoFrame], path: Path) -> list[av.VideoFrame]:
    """Encode with libx264 to MP4 and decode again, as a clip and its viewer would."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=15, options={"crf": "23"})
        stream.width, stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        for index, frame in enumerate(frames):
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with av.open(str(path)) as container:
        return list(container.decode(video=0))


def interior(mask: np.ndarray, pixels: int = 6) -> np.ndarray:
    """Pixels at least ``pixels`` away from the mask's edge, where codec ringing cannot reach."""
    kernel = np.ones((2 * pixels + 1, 2 * pixels + 1), np.uint8)
    return cv2.erode(mask, kernel) > 0


def hidden_and_visible(shown: list, hidden: list) -> tuple[np.ndarray, np.ndarray]:
    """Interiors of what must be hidden and what must stay visible."""
    width, height = SIZE
    visible = np.zeros((height, width), np.uint8)
    for polygon in shown:
        visible |= polygon_mask(polygon, width, height)
    for polygon in hidden:
        visible &= ~polygon_mask(polygon, width, height)
    return interior(~visible), interior(visible)


def test_fill_survives_h264_outside_zones_and_in_privacy_zones(tmp_path: Path) -> None:
    masker = PrivacyMasker(camera(), *SIZE)
    sources = [to_frame(scene((x, 0.9))) for x in np.linspace(0.1, 0.9, 10)]
    decoded = round_trip([masker.apply(f) for f in sources], tmp_path / "fill.mp4")
    hidden, visible = hidden_and_visible([HOTSPOT], [PANE])
    for source, frame in zip(sources, decoded):
        y, u, v = (plane_view(p) for p in frame.planes)
        assert np.abs(y[hidden].astype(int) - 16).max() <= 2
        for chroma in (u, v):
            assert np.abs(chroma[hidden[::2, ::2]].astype(int) - 128).max() <= 2
        original = plane_view(source.planes[0])
        assert np.abs(y[visible].astype(int) - original[visible]).mean() < 3.0
    assert 0.55 < masker.hidden_fraction < 0.75


def hidden_planes(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """What ``camera()`` hides in Y and in U/V, worked out from its polygons alone: a chroma
    sample is hidden when any of its four luma pixels is."""
    luma = (polygon_mask(HOTSPOT, width, height) == 0) | (polygon_mask(PANE, width, height) > 0)
    return luma, luma.reshape(height // 2, 2, width // 2, 2).any(axis=(1, 3))


@pytest.mark.parametrize("style", ["fill", "pixelate"])
def test_masks_built_on_first_use_hide_exactly_the_private_pixels(style: str, tmp_path: Path) -> None:
    sources = round_trip([to_frame(scene((x, 0.9))) for x in (0.2, 0.7)], tmp_path / "in.mp4")
    fresh = PrivacyMasker(camera(style=style), *SIZE)  # builds its masks in its first apply
    primed = PrivacyMasker(camera(style=style), *SIZE)
    before = Preview(primed, max_width=SIZE[0] // 2).bgr(sources[1])  # reads hidden unbuilt
    primed.apply(sources[1])
    assert np.array_equal(Preview(primed, max_width=SIZE[0] // 2).bgr(sources[1]), before)
    luma, chroma = hidden_planes(*SIZE)
    for source in sources:
        fresh_planes, primed_planes, originals = (
            [plane_view(p) for p in frame.planes]
            for frame in (fresh.apply(source), primed.apply(source), source)
        )
        for out, again, original, hidden, fill in zip(
            fresh_planes, primed_planes, originals, (luma, chroma, chroma), (16, 128, 128)
        ):
            assert np.array_equal(out, again)
            assert np.array_equal(out[~hidden], original[~hidden])
            if style == "fill":
                assert (out[hidden] == fill).all()
        y, original = fresh_planes[0].astype(np.int16), originals[0].astype(np.int16)
        both_hidden = luma[:, 1:] & luma[:, :-1]
        detail = np.count_nonzero(np.diff(original, axis=1)[both_hidden])
        assert np.count_nonzero(np.diff(y, axis=1)[both_hidden]) < 0.15 * detail


def test_privacy_zones_only_hides_just_the_privacy_zones(tmp_path: Path) -> None:
    masked = PrivacyMasker(camera(mask="privacy-zones-only"), *SIZE).apply(to_frame(scene()))
    editor = PrivacyMasker(camera(), *SIZE, explicit_only=True).apply(to_frame(scene()))
    hidden, visible = hidden_and_visible([((0, 0), (1, 0), (1, 1), (0, 1))], [PANE])
    original = plane_view(to_frame(scene()).planes[0])
    for frame in (masked, editor):
        y = plane_view(frame.planes[0])
        assert (y[hidden] == 16).all()
        assert np.array_equal(y[visible], original[visible])


def test_no_hotspot_means_the_whole_frame_is_hidden() -> None:
    empty = Camera(id="c", source="x.mp4")
    out = PrivacyMasker(empty, *SIZE).apply(to_frame(scene()))
    assert (plane_view(out.planes[0]) == 16).all()
    assert (plane_view(out.planes[1]) == 128).all()


def test_pixelate_keeps_only_coarse_blocks(tmp_path: Path) -> None:
    source = to_frame(scene((0.3, 0.9)))
    out = PrivacyMasker(camera(style="pixelate"), *SIZE).apply(source)
    hidden, visible = hidden_and_visible([HOTSPOT], [PANE])
    y = plane_view(out.planes[0]).astype(np.int16)
    original = plane_view(source.planes[0]).astype(np.int16)
    assert np.array_equal(y[visible], original[visible])
    detail = np.abs(np.diff(original, axis=1))[hidden[:, 1:]]
    left = np.abs(np.diff(y, axis=1))[hidden[:, 1:]]
    assert np.count_nonzero(left) < 0.15 * np.count_nonzero(detail)
    assert np.abs(y[hidden] - original[hidden]).mean() > 1.0
    decoded = round_trip([out], tmp_path / "pixelate.mp4")[0]
    assert np.abs(plane_view(decoded.planes[0])[hidden].astype(np.int16) - y[hidden]).mean() < 3.0


@pytest.mark.parametrize(("height", "width", "block"), [(1080, 1920, 48), (241, 321, 16), (7, 5, 8)])
def test_pixelate_writes_block_means_and_no_edge_block_is_smaller(height: int, width: int, block: int) -> None:
    """Blocks start every ``block`` pixels; the leftover pixels join the last block of a row or
    column, so the blocks at the frame's bottom and right edges hide at least as much."""
    source = np.random.default_rng(2).integers(0, 256, (height, width), np.uint8)
    out = np.zeros_like(source)
    pixelate(source, out, block)

    def edges(size: int) -> list[int]:
        return [i * block for i in range(max(1, size // block))] + [size]

    rows, cols = edges(height), edges(width)
    for top, bottom in pairwise(rows):
        for left, right in pairwise(cols):
            cell = out[top:bottom, left:right]
            assert (cell == cell[0, 0]).all()
            assert abs(int(cell[0, 0]) - source[top:bottom, left:right].mean()) <= 0.5


def test_chroma_of_any_hidden_pixel_is_neutral_at_odd_sizes() -> None:
    width, height = 321, 241
    frame = av.VideoFrame.from_ndarray(
        np.random.default_rng(1).integers(0, 256, (height, width, 3), np.uint8), format="rgb24"
    ).reformat(format="yuv420p")
    masker = PrivacyMasker(camera(), width, height)
    out = masker.apply(frame)
    y, u, v = (plane_view(p) for p in out.planes)
    rows, cols = np.nonzero(y == 16)
    hidden_luma = polygon_mask(HOTSPOT, width, height) == 0
    assert (y[hidden_luma] == 16).all()
    assert (u[rows // 2, cols // 2] == 128).all() and (v[rows // 2, cols // 2] == 128).all()


def test_the_captured_frame_is_left_untouched_and_not_shared() -> None:
    source = to_frame(scene())
    before = source.to_ndarray().copy()
    out = PrivacyMasker(camera(), *SIZE).apply(source)
    plane_view(out.planes[0])[:] = 0
    assert np.array_equal(source.to_ndarray(), before)


@pytest.mark.parametrize("mask", ["outside-zones", "privacy-zones-only"])
@pytest.mark.parametrize("style", ["fill", "pixelate"])
def test_masking_into_a_used_frame_leaves_nothing_of_the_frame_before(style: str, mask: str) -> None:
    """A clip masks every frame into the same buffer: what it held must not show through."""
    masker = PrivacyMasker(camera(style=style, mask=mask), *SIZE)
    used = masker.apply(to_frame(scene((0.7, 0.9))))
    for plane in used.planes:  # worst case: a buffer of values no mask or scene writes
        plane_view(plane)[:] = 3
    again = masker.apply(to_frame(scene((0.3, 0.8))), used)
    assert again is used
    assert np.array_equal(again.to_ndarray(), masker.apply(to_frame(scene((0.3, 0.8)))).to_ndarray())


def test_a_buffer_of_another_size_or_format_is_refused() -> None:
    masker = PrivacyMasker(camera(), *SIZE)
    with pytest.raises(ValueError, match="cannot mask into a 320x180 yuv420p frame"):
        masker.apply(to_frame(scene()), av.VideoFrame(320, 180, "yuv420p"))
    with pytest.raises(ValueError, match="yuvj420p"):
        masker.apply(to_frame(scene()), av.VideoFrame(*SIZE, "yuvj420p"))


def test_full_range_frames_are_accepted_and_come_out_yuv420p() -> None:
    source = to_frame(scene()).reformat(format="yuvj420p")
    out = PrivacyMasker(camera(), *SIZE).apply(source)
    assert out.format.name == "yuv420p"


def test_bad_frames_are_refused_with_a_reason() -> None:
    masker = PrivacyMasker(camera(), *SIZE)
    with pytest.raises(ValueError, match="yuv420p or yuvj420p"):
        masker.apply(av.VideoFrame(*SIZE, "rgb24"))
    with pytest.raises(ValueError, match="built for 640x360"):
        masker.apply(av.VideoFrame(320, 180, "yuv420p"))
    with pytest.raises(ValueError, match="at least 2x2"):
        PrivacyMasker(camera(), 0, 10)


@pytest.mark.parametrize("size", [SIZE, (SIZE[0] + 1, SIZE[1] + 1)], ids=["even", "odd"])
def test_a_clip_encodes_only_the_rectangle_that_holds_visible_pixels(size: tuple[int, int]) -> None:
    """Cut to the hotspot's bounding box with even corners, pixel for pixel what masking the
    whole frame leaves there, privacy zones inside it still filled; nothing visible outside."""
    width, height = size
    rng = np.random.default_rng(3)
    image = rng.integers(40, 255, (height, width, 3), dtype=np.uint8)
    frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
    masker = PrivacyMasker(camera(), width, height)
    rect = masker.visible_rect
    assert rect.x % 2 == rect.y % 2 == rect.width % 2 == rect.height % 2 == 0
    assert rect.width * rect.height < 0.4 * width * height
    whole = masker.apply(frame)
    cut = masker.apply_within(frame, rect)
    assert (cut.width, cut.height) == (rect.width, rect.height)
    for plane, scale in zip(range(3), (1, 2, 2)):
        full_plane, cut_plane = plane_view(whole.planes[plane]), plane_view(cut.planes[plane])
        top, left = rect.y // scale, rect.x // scale
        assert np.array_equal(cut_plane, full_plane[top:top + cut_plane.shape[0], left:left + cut_plane.shape[1]])
        outside = np.ones(full_plane.shape, bool)
        outside[top:top + cut_plane.shape[0], left:left + cut_plane.shape[1]] = False
        assert np.all(full_plane[outside] == (16 if plane == 0 else 128)), "a visible pixel lies outside"
    pane = polygon_mask(PANE, width, height) > 0
    luma = plane_view(whole.planes[0])
    assert np.all(luma[pane] == 16)


ALIGNED = ((0.50, 0.50), (1.00, 0.50), (1.00, 1.00), (0.50, 1.00))  # a quarter, even corners
ODD = ((201 / 640, 101 / 360), (450 / 640, 101 / 360), (450 / 640, 250 / 360), (201 / 640, 250 / 360))
"""Kept pixels 201-450 x 101-250: the clip's even rectangle, 200-451 x 100-251, reaches one
pixel past the hotspot on every side."""
TRAPEZOID = ((0.55, 0.30), (0.80, 0.32), (0.78, 0.95), (0.57, 0.93))  # a door seen at an angle


@pytest.mark.parametrize(("size", "polygon", "whole"), [
    (SIZE, ALIGNED, True), ((SIZE[0] + 1, SIZE[1] + 1), ALIGNED, True), (SIZE, ODD, True),
    (SIZE, TRAPEZOID, False),
], ids=["aligned", "odd-frame", "odd-corners", "trapezoid"])
def test_a_clip_shows_exactly_the_hotspot_pixels_where_they_are(
    size: tuple[int, int], polygon: tuple[tuple[float, float], ...], whole: bool,
) -> None:
    """Every pixel of the clip's rectangle inside the hotspot is the camera's pixel at that
    place, every other one is filled, and the cut is the masked frame's. A rectangular
    hotspot keeps its whole rectangle and is copied without a mask; where the clip's even
    rectangle reaches past it (odd corners, an odd frame's last column) those pixels are
    still filled."""
    width, height = size
    rng = np.random.default_rng(5)
    image = rng.integers(40, 255, (height, width, 3), dtype=np.uint8)
    frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
    masker = PrivacyMasker(scenes.camera({"door": polygon}), width, height)
    rect = masker.visible_rect
    luma_kept = masker._kept()[0]
    assert not isinstance(luma_kept, bool) and luma_kept.whole is whole
    whole_frame = masker.apply(frame)
    reused = av.VideoFrame(rect.width, rect.height, "yuv420p")  # a clip's buffer holds the last frame
    for plane in reused.planes:
        plane_view(plane).fill(255)
    cut = masker.apply_within(frame, rect, reused)
    for plane, scale in zip(range(3), (1, 2, 2)):
        full_plane, cut_plane = plane_view(whole_frame.planes[plane]), plane_view(cut.planes[plane])
        top, left = rect.y // scale, rect.x // scale
        assert np.array_equal(cut_plane, full_plane[top:top + cut_plane.shape[0], left:left + cut_plane.shape[1]])
    kept = polygon_mask(polygon, width, height) > 0
    luma, source = plane_view(cut.planes[0]), plane_view(frame.planes[0])
    inside = kept[rect.y:rect.y + rect.height, rect.x:rect.x + rect.width]
    assert np.array_equal(luma[inside], source[rect.y:rect.y + rect.height, rect.x:rect.x + rect.width][inside])
    assert np.all(luma[~inside] == 16), "a pixel outside the hotspot is visible in the clip"
    assert np.all(plane_view(whole_frame.planes[0])[~kept] == 16)


def test_pixelated_masks_are_never_cut() -> None:
    masker = PrivacyMasker(camera(style="pixelate"), *SIZE)
    assert (masker.visible_rect.width, masker.visible_rect.height) == SIZE
    with pytest.raises(ValueError, match="pixelated pixels are visible"):
        masker.apply_within(to_frame(scene()), masker.visible_rect)
