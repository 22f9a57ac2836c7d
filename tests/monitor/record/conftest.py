"""Record fixtures: yuv420p frames of known content."""

from __future__ import annotations

from collections.abc import Callable

import av
import pytest

from tests.fixtures.media import moving_square_frames

WIDTH, HEIGHT, FPS = 160, 120, 25.0


@pytest.fixture
def square_frames() -> Callable[[int], list[av.VideoFrame]]:
    """``square_frames(n)``: n yuv420p frames of a moving square, as the pipeline gives them."""

    def make(count: int) -> list[av.VideoFrame]:
        return [
            av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
            for image in moving_square_frames(count, WIDTH, HEIGHT)
        ]

    return make
