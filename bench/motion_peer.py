"""CPU seconds per frame: our worker against the Motion daemon on the same file, side by side.

Motion (Debian package ``motion``) reads the file through ``netcam_url file:///...`` and plays
it at the file's frame rate, with detection on at an equivalent threshold (noise level 25
luma levels like our ``detection.threshold``; 2% of the frame's pixels like a full-frame zone
at ``min_area`` 0.02) and no picture or movie output. It runs under ``/usr/bin/time -v``.
Our real worker processes play the same file in real time at the same moment:

- ``idle``: detection on every analysed frame, no event (like Motion: nothing written);
- ``busy``: the equivalent threshold, so people walking in open events and ours also encodes
  privacy-masked H.264 clips, which Motion does not do here;
- ``decode``: a bare process that only decodes the file at the same pace with PyAV's default
  settings, as Motion must at the least: the floor under any ratio to Motion.

CPU is sampled from each process at the start and end of the same window, after start-up.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.fleet import Fleet, mean_rates, watch_all
from bench.footage import FPS
from bench.table import Row, Spread

NOISE_LEVEL = 25
AREA = 0.02
TARGET = 0.25


def motion_conf(path: Path, size: tuple[int, int], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    width, height = size
    settings = {
        "daemon": "off", "setup_mode": "off", "log_level": "4", "target_dir": str(folder),
        "netcam_url": f"file://{path.resolve()}", "width": str(width), "height": str(height),
        "framerate": str(FPS), "threshold": str(round(AREA * width * height)),
        "noise_level": str(NOISE_LEVEL), "noise_tune": "off", "picture_output": "off",
        "movie_output": "off", "stream_port": "0", "webcontrol_port": "0",
    }
    conf = folder / "motion.conf"
    conf.write_text("".join(f"{key} {value}\n" for key, value in settings.items()))
    return conf


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


@dataclass(frozen=True)
class PerFrame:
    """CPU milliseconds per frame in the window for Motion, ours idle and busy, a bare decoder."""

    motion: float
    idle: float
    busy: float
    decode: float
    motion_peak_mb: float


def side_by_side(path: Path, size: tuple[int, int], folder: Path, *, settle: float, window: float) -> PerFrame:
    conf = motion_conf(path, size, folder / "motion")
    timed = subprocess.Popen(["/usr/bin/time", "-v", "motion", "-n", "-c", str(conf)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    fleets = {mode: Fleet("ours", path, 1, folder / mode, mode=mode) for mode in ("idle", "busy")}
    fleets["decode"] = Fleet("decode", path, 1, folder / "decode")
    motion = 0
    try:
        for fleet in fleets.values():
            fleet.wait_online()
        motion = _child(timed.pid)
        time.sleep(settle)
        pids = {"motion": motion, **{mode: f.processes[0].pid or 0 for mode, f in fleets.items()}}
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        started = watch_all(list(fleets.values()), window)
        spent = time.monotonic() - started
        rates = {mode: mean_rates(f.since(started), 1)[0] for mode, f in fleets.items()}
        used = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    finally:
        for fleet in fleets.values():
            fleet.stop()
        _stop_motion(timed, motion)
        _, report = timed.communicate(timeout=30)
    return PerFrame(
        motion=1000 * used["motion"] / (FPS * spent),
        idle=1000 * used["idle"] / (rates["idle"] * spent),
        busy=1000 * used["busy"] / (rates["busy"] * spent),
        decode=1000 * used["decode"] / (rates["decode"] * spent),
        motion_peak_mb=_peak_kb(report) / 1000,
    )


def _stop_motion(timed: subprocess.Popen[str], motion: int) -> None:
    """/usr/bin/time waits for its child, so Motion itself is asked to stop."""
    try:
        psutil.Process(motion or _child(timed.pid)).send_signal(signal.SIGINT)
    except (psutil.Error, RuntimeError):
        timed.kill()


def _child(pid: int) -> int:
    """Motion's own pid under /usr/bin/time."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        children = psutil.Process(pid).children()
        if children:
            return children[0].pid
        time.sleep(0.05)
    raise RuntimeError("motion did not start under /usr/bin/time")


def _peak_kb(report: str) -> float:
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", report)
    if not found:
        raise RuntimeError(f"/usr/bin/time printed no peak memory: {report[-500:]}")
    return float(found.group(1))


def measure(path: Path, size: tuple[int, int], label: str, scratch: Path, *, runs: int,
            settle: float, window: float) -> list[Row]:
    samples = [side_by_side(path, size, scratch / f"motion-{label}-{run}", settle=settle, window=window)
               for run in range(runs)]
    motion = Spread.of([s.motion for s in samples])
    peak = Spread.of([s.motion_peak_mb for s in samples]).median
    rows = []
    for mode, note in (("idle", "ours detecting, no event"), ("busy", "ours also recording clips"),
                       ("decode", "a bare paced decoder, the floor")):
        ours = [getattr(s, mode) for s in samples]
        ratio = Spread.of([o / s.motion for o, s in zip(ours, samples)])
        rows.append(Row(
            "CPU ms per frame vs Motion", label, Spread.of(ours), "ms", reference=motion,
            reference_name=f"Motion, peak RSS {peak:.0f} MB", ratio=ratio,
            target=f"<= {TARGET}x" if mode == "idle" else "",
            met=ratio.median <= TARGET if mode == "idle" else None, digits=2, note=note,
        ))
    return rows
