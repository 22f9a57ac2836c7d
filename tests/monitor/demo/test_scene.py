"""The rendered demo hallway: fast to make, plays as a camera would, and its shipped hotspot
fires a few times per loop while its privacy zones blank the door pane and the window."""

from __future__ import annotations

import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from monitor.config import Camera, load_config
from monitor.demo.scene import SceneStyle, Walker, demo_walkers, figure_mask, render_demo
from monitor.detect import PrivacyMasker
from monitor.detect.planes import plane_view
from monitor.detect.zones import polygon_mask
from tests.fixtures import scenes

REPO = Path(__file__).resolve().parents[3]
SIZE = (960, 540)
FPS = 15


@pytest.fixture(scope="module")
def demo_camera() -> Camera:
    return load_config(REPO / "config" / "cameras.yaml").camera("demo-hallway")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    path = tmp_path_factory.mktemp("demo") / "hallway.mp4"
    started = time.perf_counter()
    render_demo(path)
    return path, time.perf_counter() - started


@pytest.mark.slow
def test_demo_renders_quickly_as_camera_like_h264(demo: tuple[Path, float]) -> None:
    path, seconds = demo
    print(f"\ndemo render: {seconds:.1f} s for 60 s of {SIZE[0]}x{SIZE[1]} at {FPS} fps")
    assert seconds < 30
    assert not path.with_name(path.name + ".part").exists()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", *SIZE)
        keyframes = [p.pts for p in container.demux(stream) if p.is_keyframe]
        frames, time_base = stream.frames, stream.time_base
    assert frames == 60 * FPS
    assert max(np.diff(keyframes)) * time_base <= 2  # seconds, like a camera's GOP


@pytest.mark.slow
def test_shipped_hotspot_fires_a_few_times_per_loop_and_only_for_figures_in_it(
    demo: tuple[Path, float], demo_camera: Camera
) -> None:
    observations = scenes.observe(demo[0], demo_camera)
    fired = [i for i, obs in observations if obs.triggered]
    found = scenes.runs(fired, int(demo_camera.recording.post_roll * FPS))
    print(f"\ndemo: {len(found)} events per loop at {[round(a / FPS, 1) for a, _ in found]} s")
    assert 3 <= len(found) <= 6
    zone = polygon_mask(demo_camera.zones[0].polygon, *SIZE)
    walkers = demo_walkers(60)
    for index in fired:
        recent = range(max(0, index - FPS), index + 1)
        assert any(
            cv2.countNonZero(cv2.bitwise_and(figure_mask(walkers, i / FPS, *SIZE), zone))
            for i in recent
        ), f"triggered at {index / FPS:.1f} s with no figure in the zone"


def test_one_demo_figure_stays_outside_the_shipped_hotspot(demo_camera: Camera) -> None:
    zone = polygon_mask(demo_camera.zones[0].polygon, *SIZE)
    inside = []
    for walker in demo_walkers(60):
        covered = [
            cv2.countNonZero(cv2.bitwise_and(figure_mask([walker], t / 10, *SIZE), zone))
            for t in range(600)
        ]
        inside.append(any(covered))
    assert inside.count(False) >= 1 and inside.count(True) >= 3


@pytest.mark.slow
def test_privacy_zones_blank_the_door_pane_and_the_window(
    demo: tuple[Path, float], demo_camera: Camera
) -> None:
    with av.open(str(demo[0])) as container:
        frame = next(f for i, f in enumerate(container.decode(video=0)) if i == 8 * FPS)
    masked = plane_view(PrivacyMasker(demo_camera, *SIZE).apply(frame).planes[0])
    editor_masker = PrivacyMasker(demo_camera, *SIZE, explicit_only=True)
    editor = plane_view(editor_masker.apply(frame).planes[0])
    original = plane_view(frame.planes[0])
    for privacy in demo_camera.privacy.zones:
        region = polygon_mask(privacy.polygon, *SIZE) > 0
        assert original[region].std() > 5, f"{privacy.id} shows nothing worth hiding"
        assert (masked[region] == 16).all() and (editor[region] == 16).all()
    door = polygon_mask(demo_camera.zones[0].polygon, *SIZE) > 0
    pane = polygon_mask(demo_camera.privacy.zones[0].polygon, *SIZE) > 0
    assert np.array_equal(masked[door & ~pane], original[door & ~pane])


def test_walker_follows_its_waypoints_at_constant_speed() -> None:
    walker = Walker(((0.0, 0.5), (1.0, 0.5), (1.0, 1.0)), start=2.0, end=5.0)
    assert walker.feet(1.9) is None and walker.feet(5.1) is None
    assert walker.feet(2.0) == (0.0, 0.5)
    assert walker.feet(4.0) == pytest.approx((1.0, 0.5))
    assert walker.feet(4.5) == pytest.approx((1.0, 0.75))


@pytest.mark.parametrize(
    ("options", "message"),
    [({"size": (641, 360)}, "even"), ({"fps": 0}, "positive"), ({"noise": -1}, "noise")],
)
def test_bad_scene_options_are_refused(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SceneStyle(**options)


def test_bad_walkers_are_refused() -> None:
    with pytest.raises(ValueError, match="2 waypoints"):
        Walker(((0.5, 0.5),), 0.0, 1.0)
    with pytest.raises(ValueError, match="end after it starts"):
        Walker(((0.0, 0.5), (1.0, 0.5)), 3.0, 3.0)
