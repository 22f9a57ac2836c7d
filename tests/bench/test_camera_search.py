"""The search for the number of cameras held: every answer found, in few trials."""

from __future__ import annotations

import pytest

from bench.cameras import largest_holding


@pytest.mark.parametrize("max_count", [1, 7, 40, 80])
@pytest.mark.parametrize("guess", [1, 5, 30, 80, 200])
def test_finds_the_largest_count_that_holds_from_any_guess(guess: int, max_count: int) -> None:
    for limit in range(max_count + 2):
        assert largest_holding(Threshold(limit, max_count), guess, max_count) == min(limit, max_count)


class Threshold:
    """Holds up to ``limit``; refuses counts out of range or asked twice."""

    def __init__(self, limit: int, max_count: int) -> None:
        self.limit, self.max_count = limit, max_count
        self.tried: list[int] = []

    def __call__(self, count: int) -> bool:
        assert 1 <= count <= self.max_count and count not in self.tried
        self.tried.append(count)
        return count <= self.limit


def test_halves_the_gap_once_a_count_holds_and_another_fails() -> None:
    holds = Threshold(75, 80)
    assert largest_holding(holds, 87, 80) == 75
    assert holds.tried == [80, 70, 75, 77, 76]
