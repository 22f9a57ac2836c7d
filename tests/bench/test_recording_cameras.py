"""The guess that starts the search for how many cameras record at once."""

from __future__ import annotations

import pytest

from bench.recording_cameras import capacity_guess


def test_fills_the_cores_up_to_the_headroom() -> None:
    # 2 cores at 90%: 1800 ms of CPU a second; a camera at 15 fps and 10 ms a frame takes 150.
    assert capacity_guess(10.0, cores=2, fps=15.0) == 12
    assert capacity_guess(10.0, cores=2, fps=15.0, headroom=1.0) == 13  # 2000 / 150 = 13.3
    assert capacity_guess(10.0, cores=4, fps=15.0) == 24


def test_a_camera_that_needs_more_than_the_machine_still_starts_the_search_at_one() -> None:
    assert capacity_guess(500.0, cores=2, fps=15.0) == 1


@pytest.mark.parametrize("cost", [0.0, -1.0])
def test_refuses_a_cost_that_is_not_positive(cost: float) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        capacity_guess(cost, cores=2)
