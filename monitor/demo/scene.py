"""A rendered hallway for the demo camera and for tests that need video with known truth.

The repository may not ship footage recorded by others, so the demo camera plays a scene drawn
here: lockers, a locker-room door with a glass pane, a window, figures walking into and out of
the door's hotspot, sensor noise and a lighting change. Figures are drawn straight into the
yuv420p planes and encoded with libx264, which keeps a minute of 960x540 well under 20 seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

Point = tuple[float, float]
NOISE_BANK = 8
CAMERA_GOP_SECONDS = 2


@dataclass(frozen=True)
class Walker:
    """A figure whose feet follow ``waypoints`` (fractions of the frame) at constant speed
    from ``start`` to ``end`` seconds; it is absent outside that interval."""

    waypoints: tuple[Point, ...]
    start: float
    end: float
    height: float = 0.5  # fraction of the frame height
    colour: tuple[int, int, int] = (45, 150, 110)  # Y, U, V of the clothes

    def __post_init__(self) -> None:
        if len(self.waypoints) < 2:
            raise ValueError(f"a walker needs at least 2 waypoints, got {len(self.waypoints)}")
        if self.end <= self.start:
            raise ValueError(f"a walker must end after it starts, got {self.start}..{self.end} s")
        if not 0.0 < self.height <= 1.0:
            raise ValueError(f"height is a fraction of the frame in (0, 1], got {self.height}")

    def feet(self, t: float) -> Point | None:
        """Feet position at ``t`` seconds, or None when the figure is not in the scene."""
        if not self.start <= t <= self.end:
            return None
        points = np.asarray(self.waypoints, np.float64)
        lengths = np.hypot(*np.diff(points, axis=0).T)
        total = float(lengths.sum())
        if total == 0.0:
            return self.waypoints[0]
        travelled = total * (t - self.start) / (self.end - self.start)
        ends = np.cumsum(lengths)
        leg = min(int(np.searchsorted(ends, travelled)), len(lengths) - 1)
        into = (travelled - (ends[leg] - lengths[leg])) / max(float(lengths[leg]), 1e-12)
        x, y = points[leg] + (points[leg + 1] - points[leg]) * min(max(into, 0.0), 1.0)
        return float(x), float(y)


@dataclass(frozen=True)
class SceneStyle:
    """Everything about a rendering besides the walkers."""

    seconds: float = 10.0
    fps: int = 15
    size: tuple[int, int] = (640, 360)
    noise: float = 0.0  # standard deviation of sensor noise, in luma levels
    specks: int = 0  # small flickering dots per frame, anywhere in the picture
    lighting_at: float | None = None  # seconds; the scene's gain steps to lighting_gain then
    lighting_gain: float = 1.25
    seed: int = 7

    def __post_init__(self) -> None:
        width, height = self.size
        if width < 64 or height < 64 or width % 2 or height % 2:
            raise ValueError(f"size must be even and at least 64x64, got {width}x{height}")
        if self.seconds <= 0 or self.fps <= 0:
            raise ValueError(f"seconds and fps must be positive, got {self.seconds}, {self.fps}")
        if self.noise < 0 or self.specks < 0:
            raise ValueError(f"noise and specks must be >= 0, got {self.noise}, {self.specks}")
        if self.lighting_gain <= 0:
            raise ValueError(f"lighting_gain must be positive, got {self.lighting_gain}")

    @property
    def frames(self) -> int:
        return max(1, round(self.seconds * self.fps))


def hallway(width: int, height: int) -> np.ndarray:
    """The empty hallway as one I420 buffer of shape (height * 3 / 2, width)."""
    if width % 2 or height % 2:
        raise ValueError(f"I420 needs an even frame size, got {width}x{height}")
    bgr = np.empty((height, width, 3), np.uint8)
    floor_top = int(0.72 * height)
    bgr[:floor_top] = (170, 196, 214)
    bgr[floor_top:] = (128, 132, 136)
    for x in np.linspace(0, width, 13):
        bottom = (int(width / 2 + (x - width / 2) * 1.6), height)
        cv2.line(bgr, (int(x), floor_top), bottom, (110, 112, 116), 2)
    cv2.rectangle(bgr, (0, int(0.03 * height)), (width, int(0.07 * height)), (235, 240, 240), -1)
    _lockers(bgr, width, height, floor_top)
    _door(bgr, width, height, floor_top)
    _window(bgr, width, height)
    texture = np.random.default_rng(3).normal(0, 4, bgr.shape[:2]).astype(np.int16)
    bgr = np.clip(bgr.astype(np.int16) + texture[..., None], 0, 255).astype(np.uint8)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)


def i420_planes(buffer: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Y, U and V views into an I420 buffer of shape (height * 3 / 2, width)."""
    height, width = buffer.shape[0] * 2 // 3, buffer.shape[1]
    flat = buffer.reshape(-1)
    luma, chroma = width * height, width * height // 4
    return (
        flat[:luma].reshape(height, width),
        flat[luma : luma + chroma].reshape(height // 2, width // 2),
        flat[luma + chroma :].reshape(height // 2, width // 2),
    )


def _lockers(bgr: np.ndarray, width: int, height: int, floor_top: int) -> None:
    left, right, top = int(0.03 * width), int(0.46 * width), int(0.22 * height)
    step = (right - left) / 9
    for i in range(9):
        x0, x1 = int(left + i * step), int(left + (i + 1) * step) - 2
        cv2.rectangle(bgr, (x0, top), (x1, floor_top - 4), (150, 96, 52), -1)
        for k in range(3):
            y = top + 10 + k * 6
            cv2.line(bgr, (x0 + 6, y), (x1 - 6, y), (96, 60, 30), 1)
        middle = (top + floor_top) // 2
        cv2.rectangle(bgr, (x1 - 10, middle), (x1 - 6, middle + 18), (200, 200, 200), -1)


def _door(bgr: np.ndarray, width: int, height: int, floor_top: int) -> None:
    x0, x1, top = int(0.57 * width), int(0.69 * width), int(0.18 * height)
    cv2.rectangle(bgr, (x0 - 6, top - 6), (x1 + 6, floor_top), (60, 60, 60), -1)
    cv2.rectangle(bgr, (x0, top), (x1, floor_top), (52, 92, 140), -1)
    pane = (int(0.605 * width), int(0.26 * height), int(0.655 * width), int(0.38 * height))
    cv2.rectangle(bgr, pane[:2], pane[2:], (200, 190, 160), -1)
    cv2.circle(bgr, ((pane[0] + pane[2]) // 2, pane[3] - 8), 6, (60, 140, 200), -1)
    handle = (x1 - 14, int(0.46 * height)), (x1 - 6, int(0.50 * height))
    cv2.rectangle(bgr, *handle, (210, 210, 210), -1)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(bgr, "LOCKERS", (x0 + 4, top - 12), font, width / 2400, (40, 40, 40), 1)


def _window(bgr: np.ndarray, width: int, height: int) -> None:
    x0, y0, x1, y1 = int(0.78 * width), int(0.15 * height), int(0.95 * width), int(0.45 * height)
    cv2.rectangle(bgr, (x0, y0), (x1, y1), (230, 200, 150), -1)
    cv2.circle(bgr, (int(0.84 * width), int(0.36 * height)), int(0.05 * height), (60, 140, 70), -1)
    cv2.rectangle(bgr, (x0, y0), (x1, y1), (90, 90, 90), 4)
    cv2.line(bgr, ((x0 + x1) // 2, y0), ((x0 + x1) // 2, y1), (90, 90, 90), 3)


def draw_figure(plane: np.ndarray, feet: Point, height: float, value: int) -> None:
    """Draw one figure on a luma, chroma or mask plane; positions scale with the plane's size."""
    rows, cols = plane.shape
    fx, fy = feet[0] * cols, feet[1] * rows
    body = height * rows
    torso = (round(fx), round(fy - 0.45 * body))
    axes = (max(1, round(0.16 * body)), max(1, round(0.42 * body)))
    cv2.ellipse(plane, torso, axes, 0, 0, 360, value, -1)
    cv2.circle(plane, (round(fx), round(fy - 0.9 * body)), max(1, round(0.09 * body)), value, -1)


def figure_mask(walkers: Sequence[Walker], t: float, width: int, height: int) -> np.ndarray:
    """``uint8`` mask (255 = figure) of every walker in the scene at ``t`` seconds."""
    mask = np.zeros((height, width), np.uint8)
    for walker in walkers:
        feet = walker.feet(t)
        if feet is not None:
            draw_figure(mask, feet, walker.height, 255)
    return mask


class _Renderer:
    """Draws frame after frame into one reused I420 buffer."""

    def __init__(self, walkers: Sequence[Walker], style: SceneStyle) -> None:
        self.walkers, self.style = tuple(walkers), style
        width, height = style.size
        self.base = hallway(width, height)
        self.buffer = np.empty_like(self.base)
        self.planes = i420_planes(self.buffer)
        self.rng = np.random.default_rng(style.seed)
        noise = self.rng.normal(0.0, style.noise, (NOISE_BANK, height, width))
        self.noise_up = np.clip(noise, 0, 255).astype(np.uint8)
        self.noise_down = np.clip(-noise, 0, 255).astype(np.uint8)
        self.lit = np.clip(np.arange(256) * style.lighting_gain, 0, 255).astype(np.uint8)

    def frame(self, index: int) -> np.ndarray:
        t = index / self.style.fps
        np.copyto(self.buffer, self.base)
        for walker in self.walkers:
            feet = walker.feet(t)
            if feet is not None:
                for plane, value in zip(self.planes, walker.colour):
                    draw_figure(plane, feet, walker.height, value)
        luma = self.planes[0]
        if self.style.lighting_at is not None and t >= self.style.lighting_at:
            cv2.LUT(luma, self.lit, dst=luma)
        self._specks(luma)
        if self.style.noise > 0:
            k = int(self.rng.integers(NOISE_BANK))
            cv2.add(luma, self.noise_up[k], dst=luma)
            cv2.subtract(luma, self.noise_down[k], dst=luma)
        return self.buffer

    def _specks(self, luma: np.ndarray) -> None:
        height, width = luma.shape
        side = max(2, width // 120)
        for x, y in zip(self.rng.integers(0, width - side, self.style.specks),
                        self.rng.integers(0, height - side, self.style.specks)):
            luma[y : y + side, x : x + side] = 235


def render_scene(path: Path, walkers: Sequence[Walker], style: SceneStyle) -> None:
    """Encode the scene to an H.264 MP4 like a fixed camera's: no B-frames, a keyframe every
    two seconds. The file appears under ``path`` only once complete."""
    partial = path.with_name(path.name + ".part")
    path.parent.mkdir(parents=True, exist_ok=True)
    renderer = _Renderer(walkers, style)
    with av.open(str(partial), "w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream(
            "libx264",
            rate=style.fps,
            options={
                "preset": "veryfast",
                "crf": "23",
                "bf": "0",
                "g": str(CAMERA_GOP_SECONDS * style.fps),
            },
        )
        stream.width, stream.height = style.size
        stream.pix_fmt = "yuv420p"
        for index in range(style.frames):
            frame = av.VideoFrame.from_ndarray(renderer.frame(index), format="yuv420p")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    partial.replace(path)


def demo_walkers(seconds: float) -> list[Walker]:
    """The demo's script, written for one minute and stretched to ``seconds``: four visits to
    the locker-room door and one figure that stays by the lockers, outside the hotspot."""
    k = seconds / 60.0
    door = (0.63, 0.72)
    return [
        Walker(((-0.08, 0.86), (1.08, 0.86)), 2 * k, 14 * k),
        Walker(((0.06, 0.80), (0.40, 0.80), (0.06, 0.80)), 12 * k, 30 * k, colour=(150, 100, 170)),
        Walker((door, (0.63, 0.85), (1.08, 0.88)), 22 * k, 29 * k, colour=(80, 110, 150)),
        Walker(((1.08, 0.93), (-0.08, 0.93)), 40 * k, 53 * k, height=0.55, colour=(200, 128, 128)),
        Walker(((-0.08, 0.82), (0.50, 0.80), door), 50 * k, 58 * k, colour=(30, 128, 128)),
    ]


def render_demo(
    path: Path, *, seconds: float = 60, fps: int = 15, size: tuple[int, int] = (960, 540)
) -> None:
    """Render the demo camera's looping hallway video to ``path``."""
    style = SceneStyle(seconds=seconds, fps=fps, size=size, noise=2.5, lighting_at=0.6 * seconds)
    render_scene(path, demo_walkers(seconds), style)
