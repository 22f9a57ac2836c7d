"""Event recall and false events on real footage: CDnet 2014 baseline "highway".

The per-frame ground-truth masks say exactly which pixels move, so "was there motion inside
polygon P at frame i" is known for any polygon. The polygons below are drawn for this test:
three on the lanes, two where nothing but trees and verge move. Frames before 470 have no
ground truth (``temporalROI.txt``) and only warm the background up.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from monitor.detect.background import Background
from monitor.detect.motion import BLUR_KERNEL
from monitor.detect.planes import plane_view
from monitor.detect.zones import polygon_mask
from tests.fixtures import media, scenes

pytestmark = [pytest.mark.footage, pytest.mark.slow]

NOMINAL_FPS = 60  # SOURCES.md; the AVI header's rate is wrong
FIRST_SCORED = 469  # frame index of gt000470.png
MERGE_GAP = NOMINAL_FPS // 2  # motion half a second apart is one event
MOVING = 255
LANES = {
    "near-lanes": ((0.12, 0.62), (0.50, 0.62), (0.45, 0.98), (0.02, 0.98)),
    "right-lane": ((0.50, 0.55), (0.72, 0.55), (0.74, 0.90), (0.45, 0.90)),
    "mid-lane": ((0.45, 0.30), (0.70, 0.30), (0.66, 0.55), (0.38, 0.55)),
}
QUIET = {
    "trees": ((0.0, 0.0), (0.35, 0.0), (0.15, 0.45), (0.0, 0.55)),
    "verge": ((0.86, 0.10), (1.0, 0.10), (1.0, 0.95), (0.88, 0.95)),
}
MIN_AREA = 0.03


def video(footage: Path) -> Path:
    return footage / "bgslibrary" / "video03.avi"


def ground_truth(footage: Path, index: int) -> np.ndarray:
    path = footage / "cdnet-highway" / "groundtruth" / f"gt{index + 1:06d}.png"
    mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise FileNotFoundError(path)
    return mask


@pytest.fixture(scope="module")
def truth(footage: Path) -> dict[str, list[float]]:
    """Per polygon, the moving fraction of its area in every scored frame (index - 469)."""
    polygons = {**LANES, **QUIET}
    masks = {name: polygon_mask(p, 320, 240) > 0 for name, p in polygons.items()}
    fractions: dict[str, list[float]] = {name: [] for name in polygons}
    for index in range(FIRST_SCORED, 1699):
        moving = ground_truth(footage, index) == MOVING
        for name, mask in masks.items():
            fractions[name].append(np.count_nonzero(moving & mask) / np.count_nonzero(mask))
    return fractions


@dataclass
class Tally:
    """Event-level agreement between triggers and ground truth, summed over polygons."""

    real: int = 0
    recalled: int = 0
    detected: int = 0
    false: int = 0
    latencies: list[int] = field(default_factory=list)

    def add(self, seen: list[float], fired: list[int], lag: int) -> None:
        """``seen``: moving fraction per scored frame; ``fired``: frames that triggered."""
        moving = [FIRST_SCORED + k for k, fraction in enumerate(seen) if fraction >= MIN_AREA]
        real, found = scenes.runs(moving, MERGE_GAP), scenes.runs(fired, MERGE_GAP)
        for start, end in real:
            hits = [i for i in fired if start <= i <= end + lag]
            if hits:
                self.recalled += 1
                self.latencies.append(hits[0] - start)
        for start, end in found:
            window = seen[max(0, start - lag - FIRST_SCORED) : end + 1 - FIRST_SCORED]
            self.false += int(max(window) < MIN_AREA / 2)
        self.real += len(real)
        self.detected += len(found)


@pytest.fixture(scope="module")
def camera_h264(footage: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sequence as a camera would stream it: H.264 at a typical surveillance quality."""
    target = tmp_path_factory.mktemp("cdnet") / "highway.mp4"
    with av.open(str(video(footage))) as source:
        frames = (frame.to_ndarray(format="rgb24") for frame in source.decode(video=0))
        return media.write_video(target, frames, fps=NOMINAL_FPS, gop=2 * NOMINAL_FPS,
                                 options={"crf": "30", "preset": "veryfast"})


@pytest.mark.parametrize("decoding", ["as shot", "h264 without deblocking"])
def test_event_recall_and_false_events(
    footage: Path, truth: dict[str, list[float]], decoding: str, request: pytest.FixtureRequest
) -> None:
    """Also on H.264 decoded the way camera workers decode for detection (``skip_loop_filter``):
    the shortcut must not cost an event or add a false one."""
    camera = scenes.camera(
        {**LANES, **QUIET}, min_area=MIN_AREA, detection={"analysis_fps": 10, "min_frames": 2}
    )
    if decoding == "as shot":
        observations = scenes.observe(video(footage), camera, fps=NOMINAL_FPS)
    else:
        observations = scenes.observe(request.getfixturevalue("camera_h264"), camera,
                                      fps=NOMINAL_FPS, decoder_options={"skip_loop_filter": "all"})
    lag = (camera.detection.min_frames + 1) * observations[1][0]
    tally = Tally()
    for name in {**LANES, **QUIET}:
        fired = [i for i, obs in observations if i >= FIRST_SCORED and name in obs.triggered]
        tally.add(truth[name], fired, lag)
        if name in QUIET:
            assert fired == [], f"{name}: motion where only trees and verge move"
    latency = statistics.median(tally.latencies) / NOMINAL_FPS
    print(f"\nCDnet highway ({decoding}): {tally.recalled}/{tally.real} events recalled, {tally.detected} "
          f"detected, {tally.false} false, median latency {latency:.2f} s of video")
    assert tally.real >= 15, "the polygons should see plenty of traffic"
    assert tally.recalled / tally.real >= 0.9
    assert tally.false <= 1
    assert latency <= 0.5


def pixel_f1(footage: Path, masks_of) -> float:
    """F1 of moving pixels over the scored frames (shadow counts as static, 170 is ignored)."""
    tp = fp = fn = 0
    with av.open(str(video(footage))) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index % 6:
                continue
            found = masks_of(frame) > 0
            if index < FIRST_SCORED:
                continue
            gt = ground_truth(footage, index)
            valid = gt != 170
            real = gt == MOVING
            tp += np.count_nonzero(found & real & valid)
            fp += np.count_nonzero(found & ~real & valid)
            fn += np.count_nonzero(~found & real & valid)
    return 2 * tp / (2 * tp + fp + fn)


def luma(frame: av.VideoFrame) -> np.ndarray:
    """The detector's input at full size (the footage is already 320 wide)."""
    return cv2.GaussianBlur(plane_view(frame.planes[0]), BLUR_KERNEL, 0)


def test_background_model_pixel_f1_against_mog2(footage: Path) -> None:
    """The measurement behind choosing the running average: at the analysis rate the detector
    runs at (10 per second), it separates moving pixels better than OpenCV's MOG2."""
    background = Background(320, 240, threshold=25, analysis_fps=10)

    def ours(frame: av.VideoFrame) -> np.ndarray:
        gray = luma(frame)
        if not background.ready:
            background.reset(gray)
            return np.zeros_like(gray)
        return background.update(gray).copy()

    mog2 = cv2.createBackgroundSubtractorMOG2(detectShadows=False)
    f1_ours = pixel_f1(footage, ours)
    f1_mog2 = pixel_f1(footage, lambda frame: mog2.apply(luma(frame)))
    print(f"\nCDnet highway pixel F1 at 10 analyses/s: running average {f1_ours:.3f}, "
          f"MOG2 {f1_mog2:.3f}")
    assert f1_ours >= 0.78
    assert f1_ours > f1_mog2
