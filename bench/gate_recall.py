"""Events with the decode gates against full decoding, in-process as ``hotspot analyze`` runs.

```sh
.venv/bin/python bench/gate_recall.py            # every shared file, ~1-2 min of CPU
.venv/bin/python bench/gate_recall.py video03    # files whose path contains the word
```

Each file is run twice through ``CameraPipeline`` with one hotspot: the whole frame less a
margin, and the idle gate on and off. Recall is the share of full decoding's events matched
by one with the gate that starts within one analysis interval (and the reverse for extras).
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from monitor.capture import SourceEnded, VideoSource
from monitor.capture.gate import GateStats
from monitor.config import load_config
from monitor.pipeline.camera import CameraPipeline, StreamInfo
from monitor.seal.database_outbox import DatabaseOutbox
from monitor.site.runtime import Runtime
from monitor.workers.messages import SealedMessage

FOOTAGE = REPO.parent / "shared" / "footage"
START = datetime.fromisoformat("2026-11-23T16:05:00-06:00")  # a Monday, after hours in Chicago
# Every decodable shared file; demo.avi is the one that makes OpenCV abort (see SOURCES.md).
FILES = (
    "bgslibrary/video03.avi",  # CDnet highway
    "bgslibrary/video.avi",
    "bgslibrary/video02.avi",
    "intel-sample-videos/one-by-one-person-detection.mp4",
    "intel-sample-videos/car-detection.mp4",
    "opencv-doc/vtest.avi",
)
HOTSPOTS = {  # a door-sized hotspot on each side: most of the time nothing moves in it
    "left": [[0.0, 0.2], [0.3, 0.2], [0.3, 0.8], [0.0, 0.8]],
    "right": [[0.7, 0.3], [1.0, 0.3], [1.0, 0.9], [0.7, 0.9]],
}


@dataclass(frozen=True)
class Run:
    events: list[tuple[datetime, datetime]]
    stats: GateStats
    cpu_seconds: float


def config_data(storage: Path, source: Path, *, idle_gate: bool, **camera: Any) -> dict[str, Any]:
    schedules = camera.pop("schedules", {})
    zones = [{"id": name, "polygon": polygon, "min_area": 0.02} for name, polygon in HOTSPOTS.items()]
    cam = {"id": "cam", "source": str(source), "zones": camera.pop("zones", zones),
           "recording": {"pre_roll": 1.0, "post_roll": 2.0, "max_clip": 300, "encoder_preset": "ultrafast"},
           "detection": {"idle_gate": idle_gate}, **camera}
    return {
        "site": {"name": "Bench", "timezone": "America/Chicago", "holidays": []},
        "storage": {"path": str(storage), "database": f"sqlite:///{storage}/hotspot.db"},
        "schedules": schedules,
        "cameras": [cam],
    }


def analyze(folder: Path, data: dict[str, Any], source: Path, start: datetime = START) -> Run:
    """``hotspot analyze`` in-process: the sealed clips' spans and the gate's counts."""
    from ruamel.yaml import YAML

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "cameras.yaml"
    with path.open("w", encoding="utf-8") as handle:
        YAML().dump(data, handle)
    config = load_config(path)
    runtime = Runtime.open(config)
    sealed: list[SealedMessage] = []
    began = time.process_time()
    try:
        with VideoSource(str(source), realtime=False, start=start, skip_loop_filter=True) as video:
            camera = config.cameras[0]
            pipeline = CameraPipeline(runtime, camera, StreamInfo.of(video), live_view=False,
                                      outbox=DatabaseOutbox(runtime, on_sealed=sealed.append))
            last = start
            with contextlib.suppress(SourceEnded):
                for packet in video:
                    frames = pipeline.process(packet)
                    last = max(last, frames[-1].wall_time if frames else packet.wall_time)
            pipeline.close(last, reason="end_of_file")
            stats = pipeline.gate_stats(last)
    finally:
        runtime.close()
    cpu = time.process_time() - began
    return Run(sorted((m.start, m.end) for m in sealed), stats, cpu)


def compare(full: Run, gated: Run, interval: timedelta) -> tuple[int, int, list[str]]:
    """(matched, extra, problems): events must match one to one, starts within ``interval``
    (clip starts are trigger minus pre-roll, so trigger times differ by the same)."""
    problems = []
    matched = 0
    for start, end in full.events:
        if any(abs(start - s) <= interval for s, _ in gated.events):
            matched += 1
        else:
            problems.append(f"missed {start.time()}-{end.time()}")
    extra = [s for s, _ in gated.events if not any(abs(s - f) <= interval for f, _ in full.events)]
    problems += [f"extra {s.time()}" for s in extra]
    return matched, len(extra), problems


def main(words: list[str]) -> int:
    files = [f for f in FILES if not words or any(w in f for w in words)]
    failed = 0
    print("| file | events (full) | matched | extra | decoded (gate) | mode at end | CPU s full / gate |")
    print("|---|---|---|---|---|---|---|")
    for name in files:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            source = FOOTAGE / name
            full = analyze(folder / "full", config_data(folder / "full" / "data", source, idle_gate=False), source)
            gated = analyze(folder / "gate", config_data(folder / "gate" / "data", source, idle_gate=True), source)
        matched, extra, problems = compare(full, gated, timedelta(seconds=0.2))
        failed += bool(problems)
        print(f"| {name} | {len(full.events)} | {matched} | {extra} | {gated.stats.decoded_fraction:.2f} "
              f"| {gated.stats.mode} | {full.cpu_seconds:.1f} / {gated.cpu_seconds:.1f} |"
              + (f" {'; '.join(problems)}" if problems else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
