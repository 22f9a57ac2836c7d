"""Where the pipeline's time goes: a deterministic profile of one idle run, summarised."""

from __future__ import annotations

import cProfile
import pstats
from pathlib import Path

from bench.throughput import pipeline

SHOWN = 12


def hot_spots(path: Path, folder: Path) -> str:
    """A Markdown table of the functions with the most own time in one pipeline run."""
    profiler = cProfile.Profile()
    profiler.enable()
    pipeline(path, folder, "idle")
    profiler.disable()
    stats = pstats.Stats(profiler)
    entries = stats.stats  # type: ignore[attr-defined]
    total = sum(own for _calls, _prim, own, _cum, _callers in entries.values())
    ranked = sorted(entries.items(), key=lambda item: item[1][2], reverse=True)[:SHOWN]
    lines = ["| function | calls | own time | share |", "|---|---|---|---|"]
    for (filename, line, name), (calls, _prim, own, _cum, _callers) in ranked:
        where = f"{Path(filename).name}:{line} {name}" if line else name
        lines.append(f"| `{where}` | {calls} | {own:.3f} s | {own / total:.0%} |")
    return "\n".join(lines)
