"""CPU per frame with the decode gates, against the Motion daemon, in one run side by side.

```sh
.venv/bin/python -m bench.gates                 # 1080p, a 40 s window, about two minutes
.venv/bin/python -m bench.gates --size 720p --window 20
```

Two files at the same size and rate: the shared busy clip (``bench/footage.upscaled``) and a
still hall (its first frame held, with sensor noise of 1.5 luma levels, encoded the same way).
At the same moment, each played in real time by:

- Motion, as ``bench/motion_peer`` runs it (no schedules: it decodes every frame);
- our worker with a full-frame hotspot at ``min_area`` 1.0 (detection measures every analysed
  frame, no event opens), in three states:
  - **busy**: the busy clip, zone active: at the decode floor, as before the gates;
  - **still**: the still hall, zone active: the idle gate decodes keyframes only;
  - **off-schedule**: the busy clip, zone scheduled at another hour: demux only;
- a bare paced decoder of the busy clip, the floor of any decoder.

Each process's CPU is sampled over the same window after a settling time long enough for the
idle gate to calibrate. The ratio is ours / Motion on the same file.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.fleet import CTX, Fleet, mean_rates, paced_decode, watch_all
from bench.footage import CACHE, FPS, GOP, SIZES, upscaled
from bench.motion_peer import _child, _stop_motion, cpu_seconds, motion_conf
from bench.sites import FULL_FRAME
from monitor.config import Config, load_config
from monitor.site.runtime import Runtime
from monitor.workers.spawning import start_without_main

PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium")
TARGETS = {"busy": None, "still": 0.25, "off-schedule": 0.05}
NOISE = 1.5


def still_hall(label: str, seconds: float, cache: Path = CACHE) -> Path:
    """The busy clip's first frame held for ``seconds``, with fresh sensor noise each frame."""
    frames = round(seconds * FPS)
    path = cache / f"still-{label}-{frames}f.mp4"
    if path.is_file():
        return path
    with av.open(str(upscaled(label, 6.0))) as reader:
        first = next(reader.decode(video=0)).to_ndarray(format="rgb24").astype(np.float32)
    rng = np.random.default_rng(7)
    partial = path.with_suffix(".part.mp4")
    with av.open(str(partial), "w") as writer:
        stream = writer.add_stream("libx264", rate=FPS, options={"preset": "veryfast", "crf": "23"})
        stream.width, stream.height, stream.pix_fmt = first.shape[1], first.shape[0], "yuv420p"
        stream.codec_context.gop_size = GOP
        stream.codec_context.max_b_frames = 0
        for index in range(frames):
            noisy = np.clip(first + rng.normal(0.0, NOISE, first.shape[:2])[..., None], 0, 255)
            frame = av.VideoFrame.from_ndarray(noisy.astype(np.uint8), format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, FPS)
            writer.mux(stream.encode(frame))
        writer.mux(stream.encode(None))
    partial.replace(path)
    return path


class DemuxFleet(Fleet):
    """One process that only demuxes the file at its pace."""

    def __init__(self, path: Path, folder: Path) -> None:
        super().__init__("decode", path, 1, folder)

    def _spawn(self, index: int, path: Path) -> Any:
        process = CTX.Process(target=paced_decode, args=(str(path), f"cam-{index}", self.reports, self._stop, False),
                              daemon=True)
        start_without_main(process)
        return process


class GateFleet(Fleet):
    """One of our workers with a full-frame hotspot, its zone on a schedule or always on."""

    def __init__(self, path: Path, folder: Path, *, off_schedule: bool = False,
                 zone: list[list[float]] = FULL_FRAME, min_area: float = 1.0, post_roll: float = 10.0,
                 encoder_preset: str | None = None) -> None:
        self._off_schedule, self._zone, self._min_area, self._post_roll = off_schedule, zone, min_area, post_roll
        super().__init__("ours", path, 1, folder, mode="idle", encoder_preset=encoder_preset)

    def _site(self, path: Path, folder: Path, mode: str, encoder_preset: str | None,
              max_clip: float) -> Config:
        return gate_site(path, folder, off_schedule=self._off_schedule, zone=self._zone,
                         min_area=self._min_area, post_roll=self._post_roll, max_clip=max_clip,
                         encoder_preset=encoder_preset)


def gate_site(path: Path, folder: Path, *, off_schedule: bool = False, zone: list[list[float]] = FULL_FRAME,
              min_area: float = 1.0, post_roll: float = 10.0, max_clip: float = 3600.0,
              encoder_preset: str | None = None) -> Config:
    """One camera ``cam-0`` looping ``path`` with one hotspot, on a schedule that never runs
    during the benchmark when ``off_schedule``; ``encoder_preset`` None keeps the default."""
    from ruamel.yaml import YAML

    hotspot: dict[str, Any] = {"id": "hotspot", "polygon": zone, "min_area": min_area}
    schedules = {}
    if off_schedule:  # an hour from now for half an hour: never during the run
        hour = (datetime.now(UTC) + timedelta(hours=12)).hour
        days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        schedules["elsewhen"] = {"windows": [{"days": days, "from": f"{hour:02d}:00", "to": f"{hour:02d}:30"}]}
        hotspot["schedule"] = "elsewhen"
    folder.mkdir(parents=True, exist_ok=True)
    storage = folder / "data"
    recording: dict[str, Any] = {"pre_roll": 5.0, "post_roll": post_roll, "max_clip": max_clip}
    if encoder_preset is not None:
        recording["encoder_preset"] = encoder_preset
    data = {
        "site": {"name": "Benchmark", "timezone": "UTC", "holidays": []},
        "storage": {"path": str(storage), "database": f"sqlite:///{storage}/hotspot.db"},
        "schedules": schedules,
        "cameras": [{"id": "cam-0", "source": str(path), "loop": True, "zones": [hotspot], "recording": recording}],
    }
    with (folder / "cameras.yaml").open("w", encoding="utf-8") as handle:
        YAML().dump(data, handle)
    config = load_config(folder / "cameras.yaml")
    Runtime.open(config).close()
    return config


QUARTER = [[0.5, 0.5], [1.0, 0.5], [1.0, 1.0], [0.5, 1.0]]  # a quarter of the frame


def measure(label: str, folder: Path, *, settle: float, window: float, recording: bool,
            preset: str | None = None) -> dict[str, tuple[float, float]]:
    """CPU ms per frame of each process. ``recording``: instead of the gates, two workers
    that record all the time (an event opens at once and never closes), one with a hotspot
    over the whole frame and one over a quarter of it, beside Motion on the busy clip;
    ``preset`` is their libx264 preset (the cameras' default when None)."""
    import subprocess

    busy, still = upscaled(label, 20.0), still_hall(label, 20.0)
    size = SIZES[label]
    motions = {}
    for name, path in (("busy", busy),) + ((("still", still),) if not recording else ()):
        conf = motion_conf(path, size, folder / f"motion-{name}")
        motions[name] = subprocess.Popen(["/usr/bin/time", "-v", "motion", "-n", "-c", str(conf)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    fleets: dict[str, Fleet] = {
        "recording-full": GateFleet(busy, folder / "full", min_area=0.001, post_roll=600.0, encoder_preset=preset),
        "recording-quarter": GateFleet(busy, folder / "quarter", zone=QUARTER, min_area=0.001, post_roll=600.0,
                                       encoder_preset=preset),
    } if recording else {
        "busy": GateFleet(busy, folder / "busy", off_schedule=False),
        "still": GateFleet(still, folder / "still", off_schedule=False),
        "off-schedule": GateFleet(busy, folder / "off", off_schedule=True),
        "decode": Fleet("decode", busy, 1, folder / "decode"),
        "demux": DemuxFleet(busy, folder / "demux"),
    }
    pids: dict[str, int] = {}
    try:
        for fleet in fleets.values():
            fleet.wait_online()
        pids = {f"motion-{name}": _child(timed.pid) for name, timed in motions.items()}
        time.sleep(settle)
        pids.update({name: fleet.processes[0].pid or 0 for name, fleet in fleets.items()})
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        started = watch_all(list(fleets.values()), window)
        spent = time.monotonic() - started
        used = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
        rates = {name: mean_rates(fleet.since(started), 1)[0] or FPS for name, fleet in fleets.items()}
    finally:
        for fleet in fleets.values():
            fleet.stop()
        for name, timed in motions.items():
            _stop_motion(timed, pids.get(f"motion-{name}", 0))
            timed.communicate(timeout=30)
    result = {name: (1000 * used[name] / (FPS * spent), 1.0) for name in pids if name.startswith("motion-")}
    for name in fleets:
        result[name] = (1000 * used[name] / (rates[name] * spent), 1.0)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1080p", choices=sorted(SIZES))
    parser.add_argument("--settle", type=float, default=20.0, help="seconds before measuring")
    parser.add_argument("--window", type=float, default=40.0, help="seconds measured")
    parser.add_argument("--recording", action="store_true", help="recording full frame vs a quarter")
    parser.add_argument("--preset", choices=PRESETS, help="libx264 preset of the recording workers")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        result = measure(args.size, Path(scratch), settle=args.settle, window=args.window, recording=args.recording,
                         preset=args.preset)
    if args.recording:
        motion = result["motion-busy"][0]
        print(f"CPU ms per frame at {args.size} while recording all the time ({args.preset or 'default'} preset), "
              f"{args.window:.0f} s window, load average {os.getloadavg()[0]:.1f}")
        print("| hotspot | ours ms/frame | Motion ms/frame | ratio | target |")
        print("|---|---|---|---|---|")
        for name, what in (("recording-full", "whole frame"), ("recording-quarter", "a quarter of the frame")):
            ours = result[name][0]
            print(f"| {what} | {ours:.2f} | {motion:.2f} | {ours / motion:.2f}x | "
                  f"{'<= 1.5x' if name == 'recording-quarter' else ''} |")
        return 0
    print(f"CPU ms per frame at {args.size}, {args.window:.0f} s window, all processes side by side")
    print("| state | ours ms/frame | Motion ms/frame | ratio | target |")
    print("|---|---|---|---|---|")
    for state, target in TARGETS.items():
        motion = result["motion-still" if state == "still" else "motion-busy"][0]
        ours = result[state][0]
        print(f"| {state} | {ours:.2f} | {motion:.2f} | {ours / motion:.3f}x | "
              f"{'<= ' + str(target) + 'x' if target else 'decode floor'} |")
    for name, what in (("decode", "bare paced decoder"), ("demux", "bare paced demuxer")):
        floor, motion = result[name][0], result["motion-busy"][0]
        print(f"| {what} (busy clip) | {floor:.2f} | {motion:.2f} | {floor / motion:.3f}x | a floor |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
