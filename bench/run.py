"""Run every benchmark and write the table: ``python bench/run.py [--quick] [--out FILE]``.

The full run takes about a quarter of an hour on two cores; ``--quick`` runs every measure
once on a few seconds of video, so that a test can check the benchmark still works.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import av
import psutil

from bench import cameras, latency, memory, motion_peer, throughput
from bench.footage import CACHE, SIZES, onset_scene, upscaled
from bench.profiling import hot_spots
from bench.table import Row, Spread, markdown

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "bench" / "results" / "latest.md"
FINDINGS = REPO / "bench" / "findings.md"


@dataclass(frozen=True)
class Plan:
    clip_seconds: float  # length of the upscaled clips (an event opens 4.2 s in)
    runs: int  # repeats of the throughput, memory and Motion measures
    search: cameras.Search
    rss_seconds: float
    latency_events: int
    motion_settle: float
    motion_window: float
    profile: bool


FULL = Plan(40.0, 3, cameras.Search(settle=3.0, window=6.0, max_count=80), 15.0, 20, 3.0, 15.0, True)
QUICK = Plan(6.0, 1, cameras.Search(settle=0.0, window=1.0, max_count=1), 1.0, 2, 0.3, 1.0, False)


def camera_rows(plan: Plan, clips: dict[str, Path], scratch: Path, guesses: dict[str, dict[str, int]]) -> list[Row]:
    rows = []
    for size, path in clips.items():
        counts = {}
        for kind in ("decode", "ours"):
            counts[kind], trials = cameras.held_count(kind, path, scratch / f"cams-{size}", plan.search,
                                                      guesses[size][kind])
            tried = ", ".join(f"{t.count}:{'held' if t.held else f'{t.slowest_fps:.1f} fps'}" for t in trials)
            print(f"  cameras {size} {kind}: {counts[kind]} ({tried})", flush=True)
        ratio = counts["ours"] / max(1, counts["decode"])
        capped = [kind for kind, count in counts.items() if count >= plan.search.max_count]
        rows.append(Row("cameras held at 15 fps", size, Spread.of([counts["ours"]]), "cameras",
                        reference=Spread.of([counts["decode"]]), reference_name="decode-limited",
                        ratio=Spread.of([ratio]), target=">= 0.8x", met=ratio >= 0.8, digits=0,
                        note=f"search capped at {plan.search.max_count}: {', '.join(capped)}" if capped else ""))
    return rows


def guess_counts(rows: list[Row], max_count: int) -> dict[str, dict[str, int]]:
    """Starting points for the camera search from the measured CPU throughput."""
    guesses: dict[str, dict[str, int]] = {}
    cores = psutil.cpu_count() or 1
    for row in rows:
        if (row.measure.startswith("throughput per CPU second: pipeline, detection")
                and row.reference_name == "decode only"):
            assert row.reference is not None
            guesses[row.size] = {
                "ours": min(max_count, max(1, int(0.85 * cores * row.ours.median / 15))),
                "decode": min(max_count, max(1, int(0.85 * cores * row.reference.median / 15))),
            }
    return guesses


def run(plan: Plan, scratch: Path) -> tuple[list[Row], str]:
    clips = {size: upscaled(size, plan.clip_seconds) for size in SIZES}
    rows: list[Row] = []
    for size, path in clips.items():
        print(f"throughput {size}", flush=True)
        rows += throughput.measure(path, scratch, size=size, runs=plan.runs)
    print("cameras held in real time", flush=True)
    rows += camera_rows(plan, clips, scratch, guess_counts(rows, plan.search.max_count))
    print("worker peak RSS", flush=True)
    rows += memory.measure(clips["1080p"], scratch, size="1080p", runs=plan.runs, seconds=plan.rss_seconds)
    print("alert latency", flush=True)
    rows += latency.measure(onset_scene(plan.latency_events), scratch / "latency")
    for size, path in clips.items():
        print(f"CPU vs Motion {size}", flush=True)
        rows += motion_peer.measure(path, SIZES[size], size, scratch, runs=plan.runs,
                                    settle=plan.motion_settle, window=plan.motion_window)
    profile = hot_spots(clips["1080p"], scratch / "profile") if plan.profile else ""
    return rows, profile


def report(rows: list[Row], profile: str, *, quick: bool, minutes: float) -> str:
    load = ", ".join(f"{value:.1f}" for value in psutil.getloadavg())
    header = [
        "# Benchmark results" + (" (quick smoke run, not figures)" if quick else ""),
        "",
        (f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC in {minutes:.1f} min on {psutil.cpu_count()} cores "
         f"({platform.processor() or platform.machine()}), Python {platform.python_version()}, "
         f"PyAV {av.__version__}; load average at the end {load}. Cells with three numbers are "
         "min / **median** / max over runs; ratios are taken per run between measures made side by side. "
         "See bench/README.md."),
        "",
        markdown(rows),
    ]
    if profile:
        header += ["", "## Profile of the 1080p pipeline, no event (own time per function)", "", profile]
    if not quick:
        header += ["", FINDINGS.read_text(encoding="utf-8").strip()]
    return "\n".join(header) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="every measure once, on seconds of video")
    parser.add_argument("--out", type=Path, help="where to write the table (default: bench/results/latest.md, "
                                                 "or bench/.cache/quick.md with --quick)")
    args = parser.parse_args(argv)
    out = args.out or (CACHE / "quick.md" if args.quick else DEFAULT_OUT)
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hotspot-bench-") as scratch:
        rows, profile = run(QUICK if args.quick else FULL, Path(scratch))
    text = report(rows, profile, quick=args.quick, minutes=(time.monotonic() - began) / 60)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
