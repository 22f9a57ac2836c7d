"""Single-camera throughput as fast as the file can be read: decode only vs our pipeline.

Decode-only runs twice: with PyAV's default decoder settings (what any player or recorder
pays to decode the stream) and with the shortcut our detection decoder takes
(``skip_loop_filter``, see ``VideoSource``), so the table shows both where the pipeline
stands against plain decoding and what our own per-frame work costs on top of our decoder.
Each run times from opening the file to its last frame. The pipeline side is exactly what a
worker runs per packet: capture with wall times, pre-roll, detection and, in ``event`` mode,
the clip's full-quality decoder (which then also feeds detection), masking and H.264 encoding
of every frame.
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
from monitor.detect.threads import one_opencv_thread
from monitor.pipeline.camera import CameraPipeline, StreamInfo
from monitor.seal.database_outbox import DatabaseOutbox
from monitor.site.runtime import Runtime

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


def decode_only(path: Path, *, skip_loop_filter: bool = False) -> Rate:
    """Demux and decode every frame with PyAV, doing nothing with it."""
    watch = Stopwatch()
    frames = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if skip_loop_filter:
            stream.codec_context.options = {"skip_loop_filter": "all"}
        for packet in container.demux(stream):
            frames += len(stream.codec_context.decode(packet if packet.size else None))
    return watch.rate(frames)


def pipeline(path: Path, folder: Path, mode: str) -> Rate:
    """Run the camera pipeline over the file (``mode`` as in ``bench.sites.MODES``)."""
    one_opencv_thread()  # as a camera worker runs
    config = site_config(folder, [camera_entry("bench", path, mode=mode)])
    runtime = Runtime.open(config)
    try:
        watch = Stopwatch()
        with VideoSource(str(path), realtime=False, start=START, skip_loop_filter=True) as source:
            stream = StreamInfo.of(source)
            camera = CameraPipeline(runtime, config.cameras[0], stream, live_view=True,
                                    outbox=DatabaseOutbox(runtime))
            last = START
            try:
                for packet in source:
                    if frames := camera.process(packet):
                        last = frames[-1].wall_time
            except SourceEnded:
                pass
            rate = watch.rate(camera.frames)
            camera.close(last, reason="end_of_file")
        return rate
    finally:
        runtime.close()


def measure(path: Path, scratch: Path, *, size: str, runs: int) -> list[Row]:
    """Interleave the decode-only and pipeline runs so that each ratio compares neighbours."""
    results: dict[str, list[Rate]] = {"decode": [], "shortcut": [], "idle": [], "event": []}
    for run in range(runs):
        results["decode"].append(decode_only(path))
        results["shortcut"].append(decode_only(path, skip_loop_filter=True))
        for mode in ("idle", "event"):
            results[mode].append(pipeline(path, scratch / f"{size}-{mode}-{run}", mode))
    rows = []
    for mode, label in (("idle", "pipeline, detection, no event"), ("event", "pipeline, event recording")):
        for reference, name in (("decode", "decode only"), ("shortcut", "decode only, no deblocking")):
            target = mode == "idle" and reference == "decode"
            rows += _rows(results[mode], results[reference], f"{label}", size, name,
                          target=">= 0.95x" if target else "")
    return rows


def _rows(ours: list[Rate], decode: list[Rate], label: str, size: str, name: str, *,
          target: str) -> list[Row]:
    """Wall-clock and per-CPU-second rows of one comparison; the target applies to wall clock."""
    ratio = Spread.of([o.fps / d.fps for o, d in zip(ours, decode)])
    return [
        Row(f"throughput: {label}", size, Spread.of([r.fps for r in ours]), "fps",
            reference=Spread.of([r.fps for r in decode]), reference_name=name, ratio=ratio,
            target=target, met=ratio.median >= 0.95 if target else None, digits=0),
        Row(f"throughput per CPU second: {label}", size, Spread.of([r.cpu_fps for r in ours]), "fps",
            reference=Spread.of([r.cpu_fps for r in decode]), reference_name=name, digits=0,
            ratio=Spread.of([o.cpu_fps / d.cpu_fps for o, d in zip(ours, decode)])),
    ]
