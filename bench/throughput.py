"""Single-camera throughput as fast as the file can be read: decode only vs our pipeline.

Both sides open the same file with PyAV's default decoder settings (what ``VideoSource`` uses)
and time from opening the file to its last frame. The pipeline side is exactly what a worker
runs per packet: capture with wall times, pre-roll, detection, live view and, in ``event``
mode, masking and H.264 encoding of every frame.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import av

from bench.sites import camera_entry, site_config
from bench.table import Row, Spread
from monitor.capture import SourceEnded, VideoSource
from monitor.pipeline import CameraPipeline, StreamInfo
from monitor.runtime import Runtime

START = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Rate:
    """Frames handled, wall seconds, and CPU seconds of this process (all threads)."""

    frames: int
    seconds: float
    cpu: float

    @property
    def fps(self) -> float:
        return self.frames / self.seconds

    @property
    def cpu_fps(self) -> float:
        """Frames per CPU second: what the machine can sustain when it is shared."""
        return self.frames / self.cpu


class Stopwatch:
    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def rate(self, frames: int) -> Rate:
        return Rate(frames, time.perf_counter() - self.wall, time.process_time() - self.cpu)


def decode_only(path: Path) -> Rate:
    """Demux and decode every frame with PyAV, doing nothing with it."""
    watch = Stopwatch()
    frames = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for packet in container.demux(stream):
            frames += len(stream.codec_context.decode(packet if packet.size else None))
    return watch.rate(frames)


def pipeline(path: Path, folder: Path, mode: str) -> Rate:
    """Run the camera pipeline over the file (``mode`` as in ``bench.sites.MODES``)."""
    config = site_config(folder, [camera_entry("bench", path, mode=mode)])
    runtime = Runtime.open(config)
    try:
        watch = Stopwatch()
        with VideoSource(str(path), realtime=False, start=START, skip_loop_filter=True) as source:
            stream = StreamInfo(source.width, source.height, source.fps, source.new_decoder)
            camera = CameraPipeline(runtime, config.cameras[0], stream, live_view=True)
            last = START
            try:
                for packet in source:
                    camera.process(packet)
                    if packet.frames:
                        last = packet.frames[-1].wall_time
            except SourceEnded:
                pass
            rate = watch.rate(camera.frames)
            camera.close(last, reason="end_of_file")
        return rate
    finally:
        runtime.close()


def measure(path: Path, scratch: Path, *, size: str, runs: int) -> list[Row]:
    """Interleave decode-only, idle and event runs so that each ratio compares neighbours."""
    results: dict[str, list[Rate]] = {"decode": [], "idle": [], "event": []}
    for run in range(runs):
        results["decode"].append(decode_only(path))
        for mode in ("idle", "event"):
            results[mode].append(pipeline(path, scratch / f"{size}-{mode}-{run}", mode))
    decode = results["decode"]
    rows = []
    for mode, label in (("idle", "pipeline, detection, no event"), ("event", "pipeline, event recording")):
        ours = results[mode]
        rows.append(Row(
            f"throughput: {label}", size, Spread.of([r.fps for r in ours]), "fps",
            reference=Spread.of([r.fps for r in decode]), reference_name="decode only",
            ratio=Spread.of([o.fps / d.fps for o, d in zip(ours, decode)]),
            target=">= 0.95x" if mode == "idle" else "",
            met=_met(ours, decode) if mode == "idle" else None, digits=0,
        ))
        rows.append(Row(
            f"throughput per CPU second: {label}", size, Spread.of([r.cpu_fps for r in ours]), "fps",
            reference=Spread.of([r.cpu_fps for r in decode]), reference_name="decode only",
            ratio=Spread.of([o.cpu_fps / d.cpu_fps for o, d in zip(ours, decode)]), digits=0,
        ))
    return rows


def _met(ours: list[Rate], decode: list[Rate]) -> bool:
    return Spread.of([o.fps / d.fps for o, d in zip(ours, decode)]).median >= 0.95
