"""In-memory frames for tests that need exact control of single frames (no encoding)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import av
import numpy as np

from monitor.demo.scene import draw_figure, hallway, i420_planes
from tests.fixtures.scenes import START

SIZE = (640, 360)


def to_frame(buffer: np.ndarray) -> av.VideoFrame:
    """A yuv420p frame from an I420 buffer."""
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(buffer), format="yuv420p")


def scene(figure_at: tuple[float, float] | None = None, *, gain: float = 1.0) -> np.ndarray:
    """The empty hallway, optionally with a figure whose feet are at ``figure_at``."""
    buffer = hallway(*SIZE)
    if figure_at is not None:
        for plane, value in zip(i420_planes(buffer), (40, 150, 110)):
            draw_figure(plane, figure_at, 0.5, value)
    luma = i420_planes(buffer)[0]
    np.copyto(luma, np.clip(luma * gain, 0, 255).astype(np.uint8))
    return buffer


def times() -> Iterator:
    """Wall-clock times one analysis interval (0.2 s) apart."""
    step = 0
    while True:
        yield START + timedelta(seconds=0.2 * step)
        step += 1
