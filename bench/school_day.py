"""Cameras held in real time for a school day's mix, against the decode-limited count.

```sh
.venv/bin/python -m bench.school_day                      # 1080p, counts doubled then refined
.venv/bin/python -m bench.school_day --counts 12 24 36    # only these fleet sizes
.venv/bin/python -m bench.school_day --size 720p --breakdown   # CPU per profile, about 2 minutes
.venv/bin/python -m bench.school_day --size 1080p --breakdown --substream   # cameras with a 360p substream
.venv/bin/python -m bench.school_day --size 1080p --breakdown --busy detect  # busy cameras do not record
```

A school's hotspot cameras are not all busy at once. The fleet here is the issue's mix: a third
of the cameras outside their zone's schedule (the busy clip, demuxed only), half with an active
zone on a still hall (the idle gate), and the rest busy (the busy clip with a door-sized hotspot
at ``min_area`` 0.02: events open and clips record, as at a passing period). The reference is the
same number of bare paced decoders of the busy clip: what any peer that decodes everything holds.
With ``--busy detect`` the busy cameras are the "busy footage" state of ``bench.gates`` instead:
a full-frame zone at ``min_area`` 1.0 that detection measures on every analysed frame and that
never opens an event (people moving in view, none in a hotspot): they decode every frame but
do not record.
With ``--substream`` every camera of the mix also has a 360p detect substream of the same footage
(``detect.source``): detection reads it, clips still come from the main stream; the reference
stays a bare decoder of the main stream.

A fleet holds real time when every process's mean frame rate over the window is at least 95% of
the file's. The figure is the largest count that holds, for each kind, in one run.

``--breakdown`` runs six cameras of the mix (two off schedule, three still, one busy) beside one
bare paced decoder, all at once, and reports each profile's CPU per frame over the same window:
the fleet a machine holds against bare decoders is then the decoder's cost over the mix's mean
cost, whatever the machine, and the profile with the largest share of it is what limits it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.fleet import Fleet, mean_rates, watch_all
from bench.footage import FPS, SIZES, upscaled
from bench.gates import still_hall
from bench.motion_peer import cpu_seconds
from bench.sites import FULL_FRAME
from monitor.config import Config, load_config
from monitor.site.runtime import Runtime

HELD = 0.95  # share of the file's frame rate a camera must keep
DOOR = [[0.55, 0.3], [0.8, 0.3], [0.8, 0.95], [0.55, 0.95]]  # a door-sized hotspot
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


MIX = ("off-schedule", "off-schedule", "still", "still", "still", "busy")


def profile(index: int) -> str:
    """Two cameras in six off schedule, three still, one busy."""
    return MIX[index % 6]


class SchoolDayFleet(Fleet):
    """Our workers, each camera with its profile's file, zone and schedule."""

    def __init__(self, busy: Path, still: Path, count: int, folder: Path,
                 substreams: dict[Path, Path] | None = None, *, busy_records: bool = True) -> None:
        self._busy, self._still = busy, still
        self._substreams = substreams or {}  # a main file -> its detect substream's file
        self._busy_records = busy_records
        super().__init__("ours", busy, count, folder)

    def _site(self, path: Path, folder: Path, mode: str, encoder_preset: str | None,
              max_clip: float) -> Config:
        from ruamel.yaml import YAML

        hour = (datetime.now(UTC) + timedelta(hours=12)).hour  # never during the run
        cameras: list[dict[str, Any]] = []
        for index in range(self.count):
            kind = profile(index)
            zone: dict[str, Any] = {"id": "hotspot", "polygon": FULL_FRAME if kind == "still" else DOOR,
                                    "min_area": 0.02}
            if kind == "busy" and not self._busy_records:
                zone.update(polygon=FULL_FRAME, min_area=1.0)
            if kind == "off-schedule":
                zone["schedule"] = "elsewhen"
            source = self._still if kind == "still" else self._busy
            entry: dict[str, Any] = {"id": f"cam-{index}", "source": str(source), "loop": True, "zones": [zone],
                                     "recording": {"pre_roll": 5.0, "post_roll": 10.0, "max_clip": max_clip}}
            if source in self._substreams:
                entry["detect"] = {"source": str(self._substreams[source])}
            cameras.append(entry)
        folder.mkdir(parents=True, exist_ok=True)
        storage = folder / "data"
        data = {
            "site": {"name": "School day", "timezone": "UTC", "holidays": []},
            "storage": {"path": str(storage), "database": f"sqlite:///{storage}/hotspot.db", "worker_user": None},
            "schedules": {"elsewhen": {"windows": [{"days": DAYS, "from": f"{hour:02d}:00", "to": f"{hour:02d}:30"}]}},
            "cameras": cameras,
        }
        with (folder / "cameras.yaml").open("w", encoding="utf-8") as handle:
            YAML().dump(data, handle)
        config = load_config(folder / "cameras.yaml")
        Runtime.open(config).close()
        return config


def holds(fleet: Fleet, *, settle: float, window: float) -> tuple[bool, float]:
    """(every process kept real time over the window, the slowest one's frame rate)."""
    try:
        fleet.wait_online()
        fleet.watch(settle)
        rates = mean_rates(fleet.watch(window), fleet.count)
    finally:
        fleet.stop()
    slowest = min(rates)
    return slowest >= HELD * FPS, slowest


def largest(make: Any, counts: list[int] | None, *, settle: float, window: float, label: str) -> int:
    """The largest count that holds: the given counts, or doubling from 4 then halving the gap."""
    def trial(count: int) -> bool:
        held, slowest = holds(make(count), settle=settle, window=window)
        print(f"  {label}: {count} cameras, slowest {slowest:.1f} fps: {'holds' if held else 'falls behind'}",
              flush=True)
        return held

    if counts:
        return max((c for c in counts if trial(c)), default=0)
    good, bad = 0, 4
    while trial(bad):
        good, bad = bad, bad * 2
    while bad - good > max(2, good // 8):
        middle = (good + bad) // 2
        good, bad = (middle, bad) if trial(middle) else (good, middle)
    return good


def breakdown(busy: Path, still: Path, folder: Path, *, settle: float, window: float,
              substreams: dict[Path, Path] | None = None, busy_records: bool = True) -> dict[str, float]:
    """CPU ms per frame of each profile (the mean of its cameras) and of a bare paced decoder,
    all running at once over the same window."""
    mix = SchoolDayFleet(busy, still, len(MIX), folder / "mix", substreams, busy_records=busy_records)
    decode = Fleet("decode", busy, 1, folder / "decode")
    fleets = [mix, decode]
    try:
        for fleet in fleets:
            fleet.wait_online()
        watch_all(fleets, settle)
        pids = {f"cam-{i}": process.pid or 0 for i, process in enumerate(mix.processes)}
        pids["decode"] = decode.processes[0].pid or 0
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        started = watch_all(fleets, window)
        spent = time.monotonic() - started
        used = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
        rates = dict(zip([f"cam-{i}" for i in range(len(MIX))], mean_rates(mix.since(started), len(MIX))))
        rates["decode"] = mean_rates(decode.since(started), 1)[0]
    finally:
        for fleet in fleets:
            fleet.stop()
    per_frame = {name: 1000 * used[name] / ((rates[name] or FPS) * spent) for name in pids}
    result = {kind: sum(per_frame[f"cam-{i}"] for i, k in enumerate(MIX) if k == kind) / MIX.count(kind)
              for kind in dict.fromkeys(MIX)}
    result["decode"] = per_frame["decode"]
    result["slowest fps"] = min(rates.values())
    result["clips"] = float(sum(1 for _ in (folder / "mix" / "data" / "clips").rglob("*.mp4")))
    return result


def print_breakdown(size: str, result: dict[str, float], window: float) -> None:
    decoder = result["decode"]
    mean = sum(result[kind] for kind in MIX) / len(MIX)
    load = os.getloadavg()
    print(f"CPU ms per frame at {size}, the mix's cameras and a bare decoder side by side, "
          f"{window:.0f} s window; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"slowest {result['slowest fps']:.1f} fps; {result['clips']:.0f} clip file(s) recorded")
    print("| profile | share of the fleet | ms/frame | x bare decoder | share of the fleet's CPU |")
    print("|---|---|---|---|---|")
    for kind in dict.fromkeys(MIX):
        weight = MIX.count(kind) / len(MIX)
        print(f"| {kind} | {MIX.count(kind)}/{len(MIX)} | {result[kind]:.2f} | {result[kind] / decoder:.3f}x | "
              f"{weight * result[kind] / mean:.0%} |")
    print(f"| bare paced decoder | | {decoder:.2f} | 1x | |")
    print(f"\nthe mix costs {mean:.2f} ms a frame on average: it holds {decoder / mean:.2f}x as many cameras "
          "as bare decoders (target >= 3x)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1080p", choices=sorted(SIZES))
    parser.add_argument("--counts", type=int, nargs="*", help="fleet sizes to try (default: search)")
    parser.add_argument("--decoder-counts", type=int, nargs="*",
                        help="numbers of bare decoders to try (default: --counts)")
    parser.add_argument("--settle", type=float, default=25.0, help="seconds before measuring (idle gate calibration)")
    parser.add_argument("--window", type=float, default=20.0, help="seconds measured")
    parser.add_argument("--breakdown", action="store_true", help="CPU per frame of each profile, side by side")
    parser.add_argument("--substream", action="store_true", help="every camera detects on a 360p substream")
    parser.add_argument("--busy", choices=("record", "detect"), default="record",
                        help="busy cameras record (events open) or only detect (motion outside the hotspots)")
    args = parser.parse_args(argv)
    busy_records = args.busy == "record"
    busy, still = upscaled(args.size, 40.0), still_hall(args.size, 40.0)
    substreams = {busy: upscaled("360p", 40.0), still: still_hall("360p", 40.0)} if args.substream else None
    size = (f"{args.size} with a 360p substream" if args.substream else args.size) + \
        ("" if busy_records else ", busy cameras not recording")
    if args.breakdown:
        with tempfile.TemporaryDirectory() as scratch:
            result = breakdown(busy, still, Path(scratch), settle=args.settle, window=args.window,
                               substreams=substreams, busy_records=busy_records)
        print_breakdown(size, result, args.window)
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        trials = iter(range(10_000))
        ours = largest(lambda n: SchoolDayFleet(busy, still, n, folder / f"ours-{next(trials)}", substreams,
                                                busy_records=busy_records),
                       args.counts, settle=args.settle, window=args.window, label="school day")
        decoders = largest(lambda n: Fleet("decode", busy, n, folder / f"decode-{next(trials)}"),
                           args.decoder_counts or args.counts, settle=5.0, window=args.window,
                           label="bare decoders")
    print(f"| {size} | school-day cameras held | bare decoders held | ratio | target |")
    print("|---|---|---|---|---|")
    ratio = f"{ours / decoders:.2f}x" if decoders else "n/a"
    print(f"| {size} | {ours} | {decoders} | {ratio} | >= 3x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
