"""Benchmark inputs: real footage upscaled to camera sizes, and a rendered scene with known onsets.

The shared footage is 768x432 at 10 fps; cameras send 720p or 1080p at 15 fps (and a 360p detect
substream, scaled down from the same footage) with a keyframe
every two seconds and no B-frames. The upscaled copies are encoded once with libx264 and kept
in a cache folder outside version control (the footage may never enter the repository).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from monitor.demo.scene import SceneStyle, Walker, figure_mask, render_scene
from monitor.detect.zones import polygon_mask

REPO = Path(__file__).resolve().parent.parent
FOOTAGE = Path(os.environ.get("HOTSPOT_FOOTAGE", REPO.parent / "shared" / "footage"))
CACHE = REPO / "bench" / ".cache"
SOURCE = "intel-sample-videos/one-by-one-person-detection.mp4"
SIZES = {"360p": (640, 360), "720p": (1280, 720), "1080p": (1920, 1080)}  # 360p: a detect substream
FPS = 15
GOP = 2 * FPS


def footage_file(name: str = SOURCE) -> Path:
    path = FOOTAGE / name
    if not path.is_file():
        raise FileNotFoundError(f"real footage {path} not found (set HOTSPOT_FOOTAGE)")
    return path


def upscaled(label: str, seconds: float, cache: Path = CACHE) -> Path:
    """The shared clip at ``SIZES[label]``, 15 fps, ``seconds`` long, encoded once and cached."""
    if label not in SIZES:
        raise ValueError(f"unknown size {label!r}; use one of {', '.join(SIZES)}")
    width, height = SIZES[label]
    frames = round(seconds * FPS)
    path = cache / f"{Path(SOURCE).stem}-{label}-{frames}f.mp4"
    if path.is_file():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part.mp4")
    _encode_upscaled(footage_file(), partial, (width, height), frames)
    partial.replace(path)
    return path


def _encode_upscaled(source: Path, target: Path, size: tuple[int, int], frames: int) -> None:
    with av.open(str(source)) as reader, av.open(str(target), "w") as writer:
        stream = writer.add_stream("libx264", rate=FPS, options={"preset": "veryfast", "crf": "23"})
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.codec_context.gop_size = GOP
        stream.codec_context.max_b_frames = 0
        written = 0
        while written < frames:  # loop the source when a longer clip is asked for
            reader.seek(0)
            for frame in reader.decode(video=0):
                scaled = frame.reformat(width=size[0], height=size[1], format="yuv420p",
                                        interpolation="BICUBIC")
                scaled.pts, scaled.time_base = written, Fraction(1, FPS)
                writer.mux(stream.encode(scaled))
                written += 1
                if written == frames:
                    break
        writer.mux(stream.encode(None))


# -- a rendered scene whose motion onsets are known to the frame ------------------------------

LATENCY_ZONE = ((0.40, 0.25), (0.70, 0.25), (0.70, 0.95), (0.40, 0.95))
LATENCY_MIN_AREA = 0.02
EVENT_PERIOD = 3.0  # seconds between walkers; each crosses the zone in about one second
LEAD_IN = 3.0  # empty seconds first, so the background settles


@dataclass(frozen=True)
class OnsetScene:
    path: Path
    fps: int
    seconds: float
    onsets: tuple[float, ...]  # seconds into the file at which a figure first covers min_area


def onset_scene(events: int, cache: Path = CACHE, *, period: float = EVENT_PERIOD,
                noise: float = 2.0) -> OnsetScene:
    """A hallway where a figure walks through the zone every ``period`` seconds. With a long
    period and little sensor noise the idle gate closes between walkers."""
    seconds = LEAD_IN + events * period
    style = SceneStyle(seconds=seconds, fps=FPS, size=(640, 360), noise=noise)
    walkers = [Walker(((0.05, 0.9), (1.05, 0.9)), LEAD_IN + k * period,
                      LEAD_IN + k * period + 1.6, height=0.5) for k in range(events)]
    default = period == EVENT_PERIOD and noise == 2.0
    path = cache / (f"onsets-{events}.mp4" if default else f"onsets-{events}-every{period:g}s-noise{noise:g}.mp4")
    if not path.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part.mp4")
        render_scene(partial, walkers, style)
        partial.replace(path)
    return OnsetScene(path, FPS, seconds, _onsets(walkers, style))


def _onsets(walkers: list[Walker], style: SceneStyle) -> tuple[float, ...]:
    """First frame time of each walker at which it covers ``LATENCY_MIN_AREA`` of the zone."""
    width, height = style.size
    zone = polygon_mask(LATENCY_ZONE, width, height)
    area = cv2.countNonZero(zone)
    onsets = []
    for walker in walkers:
        for index in range(int(walker.start * style.fps), int(walker.end * style.fps) + 1):
            figure = figure_mask([walker], index / style.fps, width, height)
            if cv2.countNonZero(np.bitwise_and(figure, zone)) / area >= LATENCY_MIN_AREA:
                onsets.append(index / style.fps)
                break
        else:
            raise AssertionError(f"walker starting at {walker.start} s never enters the zone")
    return tuple(onsets)
