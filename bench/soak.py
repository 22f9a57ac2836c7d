"""Soak: eight cameras of real footage, looped over RTSP for ten minutes, under the real supervisor.

Reports each worker's resident memory over time and its trend after warm-up (a leak shows as a
steady slope), the events detected and clips sealed per camera, and ``hotspot verify`` at the end.

    .venv/bin/python -m bench.soak                    # 8 cameras, 10 minutes
    .venv/bin/python -m bench.soak --quick            # 3 cameras, 30 s (what the test runs)
    .venv/bin/python -m bench.soak --transport file   # looped files instead of RTSP streams

The footage (../shared/footage, never copied here) is re-encoded once to H.264 MP4 in
bench/.cache/soak, because the RTSP server streams H.264 without transcoding.
Exit status: 0 when every clip is sealed, events fired and the store verifies; 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import psutil
from ruamel.yaml import YAML
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from bench.footage import CACHE, FOOTAGE
from monitor.config import load_config
from monitor.store.models import Alert, Clip
from monitor.workers.supervisor import Supervisor

REPO = Path(__file__).resolve().parent.parent
RTSP_SERVER = REPO / "tests" / "fixtures" / "rtsp_server.py"
ZONE = [[0.2, 0.3], [0.8, 0.3], [0.8, 0.95], [0.2, 0.95]]
FEEDS = (  # camera id, footage file
    ("walkway", "opencv-doc/vtest.avi"),
    ("room", "intel-sample-videos/one-by-one-person-detection.mp4"),
    ("parking", "intel-sample-videos/car-detection.mp4"),
    ("road", "bgslibrary/video.avi"),
    ("motorway", "bgslibrary/video02.avi"),
    ("highway", "bgslibrary/video03.avi"),
    ("walkway-east", "opencv-doc/vtest.avi"),
    ("room-east", "intel-sample-videos/one-by-one-person-detection.mp4"),
)
MIB = 1024 * 1024


@dataclass
class WorkerTrace:
    """One camera's samples: seconds since start, RSS in MiB, CPU percent."""

    camera: str
    times: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    pids: set[int] = field(default_factory=set)

    def slope(self, since: float) -> float:
        """Least-squares RSS trend in MiB per minute over the samples from ``since`` seconds on."""
        points = [(t / 60, r) for t, r in zip(self.times, self.rss_mb, strict=True) if t >= since]
        if len(points) < 3:
            return 0.0
        return float(np.polyfit([t for t, _ in points], [r for _, r in points], 1)[0])

    def summary(self, warmup: float, seconds: float) -> dict[str, Any]:
        """A one-off step (an encoder's buffers, an allocator arena) raises the warm-up trend;
        a leak also shows in the trend over the second half."""
        settled = [r for t, r in zip(self.times, self.rss_mb, strict=True) if t >= warmup]
        return {
            "camera": self.camera, "samples": len(self.times), "pids": len(self.pids),
            "rss_after_warmup_mb": settled[0] if settled else None,
            "rss_end_mb": self.rss_mb[-1] if self.rss_mb else None,
            "rss_max_mb": max(self.rss_mb) if self.rss_mb else None,
            "rss_slope_mb_per_min": round(self.slope(warmup), 2),
            "rss_slope_second_half_mb_per_min": round(self.slope(seconds / 2), 2),
            "cpu_mean_percent": round(float(np.mean(self.cpu)), 1) if self.cpu else None,
        }


# -- inputs ------------------------------------------------------------------------------------

def h264_copy(name: str, cache: Path) -> Path:
    """The footage file as H.264 MP4 (no B-frames, a keyframe every 2 s), encoded once."""
    source = FOOTAGE / name
    if not source.is_file():
        raise SystemExit(f"real footage {source} not found (set HOTSPOT_FOOTAGE)")
    target = cache / f"{Path(name).stem}.mp4"
    if target.is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part.mp4")
    with av.open(str(source)) as reader, av.open(str(partial), "w") as writer:
        rate = Fraction(float(reader.streams.video[0].average_rate or 25)).limit_denominator(1001)
        stream = writer.add_stream("libx264", rate=rate, options={"preset": "veryfast", "bf": "0",
                                                                  "g": str(round(2 * rate))})
        stream.pix_fmt = "yuv420p"
        for index, frame in enumerate(reader.decode(video=0)):
            if index == 0:
                stream.width, stream.height = frame.width - frame.width % 2, frame.height - frame.height % 2
            image = frame.reformat(width=stream.width, height=stream.height, format="yuv420p")
            image.pts, image.time_base = index, 1 / rate
            writer.mux(stream.encode(image))
        writer.mux(stream.encode(None))
    partial.replace(target)
    return target


def start_rtsp(files: list[Path]) -> tuple[subprocess.Popen[str], dict[Path, str]]:
    """One GStreamer server process streaming every file at its own mount point."""
    server = subprocess.Popen(["/usr/bin/python3", str(RTSP_SERVER), *map(str, files), "--port", "0"],
                              stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    line = server.stdout.readline()
    if not line.startswith("READY "):
        server.kill()
        raise SystemExit(f"the RTSP server did not start: {line!r}")
    return server, dict(zip(files, line.split()[1:], strict=True))


def write_site(folder: Path, sources: dict[str, str], *, loop: bool) -> Path:
    cameras = [{
        "id": camera_id, "source": source, "loop": loop,
        "zones": [{"id": "centre", "polygon": ZONE, "min_area": 0.01}],
        "recording": {"pre_roll": 2.0, "post_roll": 3.0, "max_clip": 60.0},
        "detection": {"analysis_fps": 5.0},
    } for camera_id, source in sources.items()]
    data = {"site": {"name": "Soak", "timezone": "UTC"},
            "storage": {"path": str(folder / "data"), "database": f"sqlite:///{folder}/data/hotspot.db",
                        "min_free_mb": 64, "worker_user": None},  # the run's folder may be private
            "cameras": cameras}
    path = folder / "cameras.yaml"
    with path.open("w", encoding="utf-8") as handle:
        YAML().dump(data, handle)
    return path


# -- the run -----------------------------------------------------------------------------------

def sample(supervisor: Supervisor, traces: dict[str, WorkerTrace], elapsed: float,
           processes: dict[int, psutil.Process]) -> None:
    """One RSS and CPU reading per worker; ``processes`` keeps each pid's CPU counter between calls."""
    for camera_id, status in supervisor.statuses().items():
        if status.pid is None:
            continue
        try:
            process = processes.setdefault(status.pid, psutil.Process(status.pid))
            rss = process.memory_info().rss / MIB
            cpu = process.cpu_percent(interval=None)
        except psutil.Error:
            continue
        trace = traces.setdefault(camera_id, WorkerTrace(camera_id))
        trace.times.append(round(elapsed, 1))
        trace.rss_mb.append(round(rss, 1))
        trace.cpu.append(cpu)
        trace.pids.add(status.pid)


def run_site(config: Path, seconds: float, interval: float) -> tuple[dict[str, WorkerTrace], dict[str, Any]]:
    supervisor = Supervisor(load_config(config))
    traces: dict[str, WorkerTrace] = {}
    processes: dict[int, psutil.Process] = {}
    began = time.monotonic()
    supervisor.start()
    try:
        while (elapsed := time.monotonic() - began) < seconds:
            sample(supervisor, traces, elapsed, processes)
            time.sleep(min(interval, max(0.0, seconds - elapsed)))
        statuses = {cid: asdict(s) for cid, s in supervisor.statuses().items()}
    finally:
        supervisor.stop()
    return traces, statuses


def outcomes(config: Path, database: str) -> dict[str, Any]:
    """Events, clips by status, and what ``hotspot verify`` says about the store."""
    engine = create_engine(database)
    with Session(engine) as session:
        events = dict(session.execute(select(Alert.camera_id, func.count()).where(Alert.kind == "motion")
                                      .group_by(Alert.camera_id)).all())
        clips = [(camera, status, count) for camera, status, count in session.execute(
            select(Clip.camera_id, Clip.status, func.count()).group_by(Clip.camera_id, Clip.status))]
    engine.dispose()
    verify = subprocess.run([sys.executable, "-m", "monitor.cli", "verify", "--config", str(config), "--json"],
                            check=False, capture_output=True, text=True, timeout=600)
    sealed = {cam: n for cam, status, n in clips if status == "sealed"}
    unsealed = sum(n for _, status, n in clips if status not in ("sealed", "empty"))
    return {"events": events, "sealed": sealed, "clips_by_status": clips, "unsealed": unsealed,
            "verify_exit": verify.returncode, "verify": _json_or_text(verify.stdout)}


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text.strip()[-2000:]


def report(result: dict[str, Any]) -> str:
    """A Markdown summary: one row per worker, then the totals."""
    lines = [(f"Soak: {len(result['workers'])} cameras ({result['transport']}), {result['seconds']:.0f} s, "
              f"RSS sampled every {result['interval']:g} s, trend after {result['warmup']:.0f} s of warm-up."), "",
             ("| camera | RSS after warm-up MiB | end | max | trend MiB/min | 2nd-half trend | CPU % "
              "| events | clips sealed |"),
             "|---|---|---|---|---|---|---|---|---|"]
    for worker in result["workers"]:
        cam = worker["camera"]
        lines.append(f"| {cam} | {worker['rss_after_warmup_mb']} | {worker['rss_end_mb']} | "
                     f"{worker['rss_max_mb']} | {worker['rss_slope_mb_per_min']} | "
                     f"{worker['rss_slope_second_half_mb_per_min']} | "
                     f"{worker['cpu_mean_percent']} | {result['events'].get(cam, 0)} | "
                     f"{result['sealed'].get(cam, 0)} |")
    lines += ["", (f"Events: {sum(result['events'].values())}; clips sealed: {sum(result['sealed'].values())}; "
                   f"left unsealed: {result['unsealed']}; `hotspot verify` exit {result['verify_exit']}.")]
    return "\n".join(lines)


def soak(args: argparse.Namespace) -> dict[str, Any]:
    feeds = FEEDS[: args.cameras]
    folder = Path(args.out or tempfile.mkdtemp(prefix="hotspot-soak-"))
    folder.mkdir(parents=True, exist_ok=True)
    server = None
    if args.transport == "rtsp":
        files = {name: h264_copy(name, CACHE / "soak") for _, name in feeds}
        server, urls = start_rtsp(sorted(set(files.values())))
        sources = {cid: urls[files[name]] for cid, name in feeds}
    else:
        sources = {cid: str(FOOTAGE / name) for cid, name in feeds}
    config = write_site(folder, sources, loop=args.transport == "file")
    try:
        traces, statuses = run_site(config, args.seconds, args.interval)
    finally:
        if server is not None:
            server.kill()
    warmup = min(60.0, args.seconds / 5)
    return {"transport": args.transport, "seconds": args.seconds, "interval": args.interval, "warmup": warmup,
            "folder": str(folder), "statuses": statuses,
            "workers": [traces[c].summary(warmup, args.seconds) for c, _ in feeds if c in traces],
            "rss": {c: {"t": t.times, "mb": t.rss_mb} for c, t in traces.items()},
            **outcomes(config, f"sqlite:///{folder}/data/hotspot.db")}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 cameras for 30 s")
    parser.add_argument("--cameras", type=int, default=None, help=f"1 to {len(FEEDS)} (default 8)")
    parser.add_argument("--seconds", type=float, default=None, help="duration (default 600)")
    parser.add_argument("--interval", type=float, default=None, help="RSS sampling interval, seconds")
    parser.add_argument("--transport", choices=("rtsp", "file"), default="rtsp")
    parser.add_argument("--out", help="folder for the site's storage (default: a new temporary folder)")
    parser.add_argument("--json", help="also write the full result, RSS series included, to this file")
    parser.add_argument("--report", help="also write the Markdown summary to this file")
    args = parser.parse_args(argv)
    args.cameras = args.cameras or (3 if args.quick else len(FEEDS))
    args.seconds = args.seconds or (30.0 if args.quick else 600.0)
    args.interval = args.interval or (2.0 if args.quick else 10.0)
    if not 1 <= args.cameras <= len(FEEDS) or args.seconds <= 0 or args.interval <= 0:
        parser.error(f"--cameras must be 1-{len(FEEDS)}; --seconds and --interval must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    result = soak(args)
    summary = report(result)
    print(summary)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    if args.report:
        Path(args.report).write_text(summary + "\n", encoding="utf-8")
    healthy = result["verify_exit"] == 0 and not result["unsealed"] and sum(result["events"].values()) > 0
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
