"""The keyframe screen on real encoded footage: a covered, defocused or darkened view makes the
first keyframe after the change a check; an unchanged view or lights switched off costs only
the slow checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from monitor.capture.keyframe_screen import SLOW_CHECK, KeyframeScreen
from tests.fixtures.media import write_video

pytestmark = [pytest.mark.footage, pytest.mark.slow]
T0 = datetime(2026, 3, 2, 20, tzinfo=UTC)
ONSET = 20.0
SECONDS = 40.0


def _cover(image: np.ndarray) -> np.ndarray:
    image[:, : int(image.shape[1] * 0.92)] = 8
    return image


def _blur(image: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), image.shape[1] / 90)


def _darken(image: np.ndarray) -> np.ndarray:
    return (image.astype(np.float32) * 0.06).astype(np.uint8)


def _lights_off(image: np.ndarray) -> np.ndarray:
    return np.clip(image.astype(np.float32) * 0.55 + 6, 0, 255).astype(np.uint8)


def _keyframes(footage: Path, tmp_path: Path, change: Callable[[np.ndarray], np.ndarray] | None) -> list[tuple[float, int]]:
    """(seconds, size) of each keyframe of vtest encoded as a camera sends it, changed from ONSET."""
    def frames() -> Iterator[np.ndarray]:
        with av.open(str(footage / "opencv-doc/vtest.avi")) as container:
            for frame in container.decode(video=0):
                t = float(frame.time or 0.0)
                if t >= SECONDS:
                    return
                image = frame.to_ndarray(format="rgb24")
                yield change(image) if change is not None and t >= ONSET else image

    video = write_video(tmp_path / "keyframes.mp4", frames(), fps=10, gop=10)
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        return [(float(p.pts * stream.time_base), p.size) for p in container.demux(stream)
                if p.is_keyframe and p.size]


def _screened(keyframes: list[tuple[float, int]], *, abnormal_from: float | None) -> list[float]:
    """The times the screen asks for a check, with a detector settled on the view before
    ``abnormal_from`` and holding a condition once a check has seen the change."""
    screen, checks = KeyframeScreen(), []
    condition = False
    for t, size in keyframes:
        when = T0 + timedelta(seconds=t)
        if screen.wants(size, when, settled=not condition):
            checks.append(t)
            condition = abnormal_from is not None and t >= abnormal_from
            screen.checked(size, when, normal=not condition)
    return checks


@pytest.mark.parametrize("change", [_cover, _blur, _darken], ids=["covered", "defocused", "dark"])
def test_a_view_that_loses_its_detail_is_checked_at_its_first_keyframe(
        footage: Path, tmp_path: Path, change: Callable[[np.ndarray], np.ndarray]) -> None:
    keyframes = _keyframes(footage, tmp_path, change)
    checks = _screened(keyframes, abnormal_from=ONSET)
    first_changed = min(t for t, _size in keyframes if t >= ONSET)
    assert first_changed in checks, (checks, keyframes)
    assert all(t in checks for t, _size in keyframes if t >= ONSET), "a held condition is checked each keyframe"


@pytest.mark.parametrize("change", [None, _lights_off], ids=["unchanged", "lights-off"])
def test_a_normal_view_costs_the_slow_checks_only(
        footage: Path, tmp_path: Path, change: Callable[[np.ndarray], np.ndarray] | None) -> None:
    keyframes = _keyframes(footage, tmp_path, change)
    checks = _screened(keyframes, abnormal_from=None)
    slow = SECONDS / SLOW_CHECK.total_seconds()
    # the band's first sizes, then the slow checks, and for the lights a few until the band follows
    assert len(checks) <= 3 + slow + (4 if change else 0), (checks, keyframes)
    assert len(checks) < len(keyframes) / 4
