"""How many 1080p cameras record at once on this machine, for each libx264 preset: a hotspot
over the whole frame (every clip encoded the whole frame before clips were cropped) against
one over a quarter of it.

```sh
.venv/bin/python -m bench.recording_cameras    # 5-10 minutes (11 on a machine at load 5-11)
.venv/bin/python -m bench.recording_cameras --presets veryfast --hotspots quarter
```

Each camera is a real worker recording all the time (an event opens at once and never
closes) while it plays the busy clip in real time. A count holds when every worker averaged at
least ``HOLD`` of 15 fps over the window. Workers are added and stopped one at a time, so a
search never restarts the ones already running: a first worker alone gives the CPU a camera
costs, which guesses the count (``capacity_guess``), and ``bench.cameras.largest_holding``
finds the largest count that holds from there. The machine is shared: each figure comes with
the load average while it was measured, and figures compare only within one run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.cameras import HOLD, largest_holding
from bench.fleet import Fleet, mean_rates, watch_all
from bench.footage import FPS, upscaled
from bench.gates import QUARTER
from bench.motion_peer import cpu_seconds
from bench.sites import FULL_FRAME, camera_entry, write_site
from monitor.config import Config, load_config
from monitor.site.runtime import Runtime

PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "medium")
HOTSPOTS = {"whole": FULL_FRAME, "quarter": QUARTER}
MAX_COUNT = 40
PRE_ROLL = 1.0  # seconds: the replay when a clip opens is a start-up cost, not what is measured
HEADROOM = 0.9  # share of the cores a guess fills: decoding bursts and the harness need the rest


def capacity_guess(cpu_ms_per_frame: float, *, cores: int, fps: float = FPS, headroom: float = HEADROOM) -> int:
    """Cameras whose CPU fits in ``headroom`` of ``cores`` when each costs ``cpu_ms_per_frame``
    at ``fps``; at least 1, so a search always starts somewhere."""
    if cpu_ms_per_frame <= 0:
        raise ValueError(f"CPU per frame must be positive, got {cpu_ms_per_frame}")
    return max(1, int(cores * 1000.0 * headroom / (fps * cpu_ms_per_frame)))


@dataclass(frozen=True)
class Trial:
    """``count`` workers over one window: did all hold, the slowest rate, CPU per frame."""

    count: int
    held: bool
    slowest_fps: float
    cpu_ms_per_frame: float
    load: float  # one-minute load average at the end of the window


class RecordingWorker(Fleet):
    """One worker recording all the time with the given hotspot and encoder preset."""

    def __init__(self, path: Path, folder: Path, *, preset: str, zone: list[list[float]]) -> None:
        self._preset, self._zone = preset, zone
        super().__init__("ours", path, 1, folder)

    def _site(self, path: Path, folder: Path, mode: str, encoder_preset: str | None,
              max_clip: float) -> Config:
        entry = camera_entry("cam-0", path, mode="event", loop=True, zone=self._zone,
                             encoder_preset=self._preset)
        entry["recording"]["pre_roll"] = PRE_ROLL
        config = load_config(write_site(folder, [entry]))
        Runtime.open(config).close()
        return config


class RecordingCameras:
    """A growing or shrinking set of recording workers of one preset and hotspot."""

    def __init__(self, path: Path, folder: Path, *, preset: str, zone: list[list[float]],
                 settle: float, window: float) -> None:
        self._path, self._folder, self._preset, self._zone = path, folder, preset, zone
        self._settle, self._window = settle, window
        self._workers: list[Fleet] = []
        self.trials: list[Trial] = []

    def holds(self, count: int) -> bool:
        """Run ``count`` workers (starting or stopping the difference) and watch them."""
        while len(self._workers) > count:
            self._workers.pop().stop()
        while len(self._workers) < count:
            worker = RecordingWorker(self._path, self._folder / f"w{len(self._workers)}-{len(self.trials)}",
                                     preset=self._preset, zone=self._zone)
            self._workers.append(worker)
            worker.wait_online()
        watch_all(self._workers, self._settle)
        pids = [worker.processes[0].pid or 0 for worker in self._workers]
        before = [cpu_seconds(pid) for pid in pids]
        start = watch_all(self._workers, self._window)
        used = sum(cpu_seconds(pid) - spent for pid, spent in zip(pids, before))
        rates = [mean_rates(worker.since(start), 1)[0] for worker in self._workers]
        frames = sum(rates) * self._window
        slowest = min(rates)
        self.trials.append(Trial(count, slowest >= HOLD * FPS, slowest,
                                 1000 * used / frames if frames else float("inf"), os.getloadavg()[0]))
        print(f"  {self._preset} {count} camera(s): slowest {slowest:.1f} fps, "
              f"{self.trials[-1].cpu_ms_per_frame:.1f} ms CPU/frame, load {self.trials[-1].load:.1f}", flush=True)
        return self.trials[-1].held

    def close(self) -> None:
        while self._workers:
            self._workers.pop().stop()


def cameras_recording(path: Path, folder: Path, *, preset: str, zone: list[list[float]],
                      settle: float, window: float) -> tuple[int, list[Trial]]:
    """Largest count of workers recording at once that held real time, and its trials."""
    cameras = RecordingCameras(path, folder, preset=preset, zone=zone, settle=settle, window=window)
    try:
        if not cameras.holds(1):
            return 0, cameras.trials
        guess = capacity_guess(cameras.trials[0].cpu_ms_per_frame, cores=os.cpu_count() or 1)
        return largest_holding(lambda count: count == 1 or cameras.holds(count), guess, MAX_COUNT), cameras.trials
    finally:
        cameras.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), choices=PRESETS)
    parser.add_argument("--hotspots", nargs="+", default=list(HOTSPOTS), choices=list(HOTSPOTS))
    parser.add_argument("--settle", type=float, default=8.0, help="seconds after a change before measuring")
    parser.add_argument("--window", type=float, default=6.0, help="seconds measured per count")
    args = parser.parse_args(argv)
    path = upscaled("1080p", 20.0)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for preset in args.presets:
            cells = []
            for hotspot in args.hotspots:
                count, trials = cameras_recording(path, Path(scratch) / f"{preset}-{hotspot}", preset=preset,
                                                  zone=HOTSPOTS[hotspot], settle=args.settle, window=args.window)
                held = [t for t in trials if t.count == count]
                cost = held[-1].cpu_ms_per_frame if held else trials[0].cpu_ms_per_frame
                load = held[-1].load if held else trials[-1].load
                cells.append(f"{count} ({cost:.1f} ms/frame, load {load:.1f})")
            rows.append(f"| {preset} | " + " | ".join(cells) + " |")
    print(f"1080p cameras recording at once on {os.cpu_count()} cores (every camera >= {HOLD:.0%} of {FPS} fps; "
          f"{args.window:.0f} s windows)")
    print("| preset | " + " | ".join(f"hotspot: {h}" for h in args.hotspots) + " |")
    print("|---|" + "---|" * len(args.hotspots))
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
