"""How many 15 fps cameras one machine holds in real time: our workers vs bare decoders.

A trial starts N processes, waits until every one is online plus a settling time, then
watches a window. It passes when every process averaged at least ``HOLD`` of the file's frame
rate over the window (a worker that falls behind skips ahead and its rate drops). The search
starts from a guess, steps up while trials pass and down while they fail.
"""

from __future__ import annotations

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
    """Largest N that held, walking from ``guess`` in steps of about an eighth of it."""
    step = max(1, guess // 8)
    count = min(max(1, guess), search.max_count)
    trials: list[Trial] = []
    best, worst = 0, search.max_count + 1
    while best + 1 < worst:
        result = trial(kind, path, count, folder / f"{kind}-{count}-{len(trials)}", search)
        trials.append(result)
        if result.held:
            best = max(best, count)
        else:
            worst = min(worst, count)
        count = count + step if result.held else count - step
        count = min(max(count, best + 1), worst - 1)
        if best + 1 < worst and count in {t.count for t in trials}:
            step = 1
            count = best + 1
    return best, trials
