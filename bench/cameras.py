"""How many 15 fps cameras one machine holds in real time: our workers vs bare decoders.

A trial starts N processes, waits until every one is online plus a settling time, then
watches a window. It passes when every process averaged at least ``HOLD`` of the file's frame
rate over the window (a worker that falls behind skips ahead and its rate drops). The search
starts from a guess, steps up while trials pass and down while they fail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.fleet import Fleet, mean_rates
from bench.footage import FPS

HOLD = 0.97


@dataclass(frozen=True)
class Trial:
    count: int
    held: bool
    slowest_fps: float


@dataclass(frozen=True)
class Search:
    """Trial lengths and bounds of the search."""

    settle: float
    window: float
    max_count: int


def trial(kind: str, path: Path, count: int, folder: Path, search: Search) -> Trial:
    fleet = Fleet(kind, path, count, folder)
    try:
        fleet.wait_online()
        fleet.watch(search.settle)
        rates = mean_rates(fleet.watch(search.window), count)
    finally:
        fleet.stop()
    slowest = min(rates)
    return Trial(count, slowest >= HOLD * FPS, slowest)


def held_count(kind: str, path: Path, folder: Path, search: Search, guess: int) -> tuple[int, list[Trial]]:
    """Largest N that held, and the trials that found it."""
    trials: list[Trial] = []

    def holds(count: int) -> bool:
        trials.append(trial(kind, path, count, folder / f"{kind}-{count}-{len(trials)}", search))
        return trials[-1].held

    return largest_holding(holds, guess, search.max_count), trials


def largest_holding(holds: Callable[[int], bool], guess: int, max_count: int) -> int:
    """Largest N in 1..``max_count`` for which ``holds(N)`` (0 if none), for a ``holds`` that is
    true up to some N and false beyond.

    Steps of about an eighth of ``guess`` until one count holds and another does not, then
    halves the gap between them: a trial of N processes takes longer the larger N is, so the
    search tries as few counts as it can.
    """
    step = max(1, guess // 8)
    count = min(max(1, guess), max_count)
    best, worst = 0, max_count + 1  # largest count seen to hold, smallest seen to fail
    while best + 1 < worst:
        held = holds(count)
        if held:
            best = count
        else:
            worst = count
        if best and worst <= max_count:
            count = (best + worst) // 2
        else:
            count = count + step if held else count - step
        count = min(max(count, best + 1), worst - 1)
    return best
