"""The motion detector on rendered H.264 scenes whose truth is known frame by frame."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import av
import numpy as np
import pytest

from monitor.config import Camera
from monitor.demo.scene import Walker
from monitor.detect import MotionDetector
from tests.fixtures import scenes
from tests.monitor.detect.frames import SIZE, scene, times, to_frame

LEFT = ((0.05, 0.30), (0.35, 0.30), (0.35, 0.95), (0.05, 0.95))
RIGHT = ((0.60, 0.30), (0.90, 0.30), (0.90, 0.95), (0.60, 0.95))


def triggered_frames(observations: list) -> list[int]:
    return [index for index, obs in observations if obs.triggered]


def test_motion_inside_zone_triggers_within_a_few_frames(through: scenes.Scene) -> None:
    camera = through.camera()
    observations = scenes.observe(through.path, camera)
    step = observations[1][0]
    entered = through.frames_inside("zone", camera.zones[0].min_area)[0]
    fired = triggered_frames(observations)
    assert fired, "a figure crossing the zone never triggered it"
    assert fired[0] - entered <= (camera.detection.min_frames + 1) * step
    inside = set(through.frames_inside("zone"))
    assert all(index in inside for index in fired), "triggered while no figure was in the zone"


def test_zone_fraction_follows_the_covered_area(through: scenes.Scene) -> None:
    observations = scenes.observe(through.path, through.camera())
    pairs = [(through.coverage[i]["zone"], obs.zone_fractions["zone"]) for i, obs in observations]
    covered = [(truth, seen) for truth, seen in pairs if truth > 0.05]
    assert covered
    for truth, seen in covered:
        assert 0.4 * truth <= seen <= 1.5 * truth + 0.02, (truth, seen)


def test_motion_outside_every_zone_never_triggers(outside: scenes.Scene) -> None:
    observations = scenes.observe(outside.path, outside.camera())
    assert triggered_frames(observations) == []
    assert max(obs.score for _, obs in observations) < 0.005


def test_zone_not_active_never_triggers(scene_dir: Path) -> None:
    walker = Walker(((-0.1, 0.9), (1.1, 0.9)), 1.0, 7.0)
    both = scenes.render(scene_dir / "both.mp4", [walker], {"left": LEFT, "right": RIGHT},
                         seconds=8, noise=3.0)
    assert both.frames_inside("left") and both.frames_inside("right")
    camera = both.camera()
    only_left = scenes.observe(both.path, camera, active_zones=frozenset({"left"}))
    assert {z for _, obs in only_left for z in obs.triggered} == {"left"}
    assert all(set(obs.zone_fractions) == {"left"} for _, obs in only_left)
    none = scenes.observe(both.path, camera, active_zones=frozenset())
    assert triggered_frames(none) == []
    assert all(obs.zone_fractions == {} and obs.score == 0.0 for _, obs in none)


@pytest.mark.parametrize("gain", [1.25, 0.6])
def test_lights_switched_on_or_off_do_not_trigger(scene_dir: Path, gain: float) -> None:
    lit = scenes.empty(scene_dir / f"light-{gain}.mp4", seconds=6, noise=3.0, lighting_at=3.0,
                       lighting_gain=gain)
    observations = scenes.observe(lit.path, lit.camera(detection={"min_frames": 1}))
    assert triggered_frames(observations) == []


def test_noise_and_specks_do_not_trigger(scene_dir: Path) -> None:
    noisy = scenes.empty(scene_dir / "noisy.mp4", seconds=6, noise=8.0, specks=30)
    camera = noisy.camera(detection={"min_frames": 1})
    observations = scenes.observe(noisy.path, camera)
    assert triggered_frames(observations) == []
    assert max(obs.score for _, obs in observations) < camera.zones[0].min_area / 2


def camera_for(polygon: tuple, **detection: object) -> Camera:
    return scenes.camera({"zone": polygon}, detection=detection)


def feed(detector: MotionDetector, buffers: list[np.ndarray], clock) -> list:
    return [detector.observe(to_frame(b), active_zones=frozenset({"zone"}), wall_time=next(clock))
            for b in buffers]


def test_lighting_change_beyond_a_gain_is_reported_relearned_and_never_triggers() -> None:
    """A new exposure curve (gamma 0.5: shadows lift far more than highlights) is no gain."""
    detector = MotionDetector(camera_for(RIGHT, min_frames=1), *SIZE)
    clock = times()
    feed(detector, [scene()] * 5, clock)
    first, *after = feed(detector, [relit(scene())] * 4, clock)
    assert first.lighting_change and not first.triggered
    assert not any(obs.triggered or obs.lighting_change for obs in after)
    assert feed(detector, [relit(scene((0.75, 0.9)))], clock)[0].triggered == ("zone",)


def relit(buffer: np.ndarray) -> np.ndarray:
    curve = (255 * (np.arange(256) / 255) ** 0.5).astype(np.uint8)
    luma = buffer[: SIZE[1]]
    np.copyto(luma, curve[luma])
    return buffer


def test_motion_must_last_min_frames() -> None:
    buffers = [scene()] * 4 + [scene((0.75, 0.9))] + [scene()] * 2 + [scene((0.75, 0.9))] * 2
    results = {}
    for min_frames in (1, 2):
        detector = MotionDetector(camera_for(RIGHT, min_frames=min_frames), *SIZE)
        results[min_frames] = [bool(o.triggered) for o in feed(detector, buffers, times())]
    assert results[1] == [False] * 4 + [True, False, False, True, True]
    assert results[2] == [False] * 4 + [False, False, False, False, True]


def test_update_camera_moves_zones_and_keeps_the_background() -> None:
    detector = MotionDetector(camera_for(LEFT, min_frames=1), *SIZE)
    clock = times()
    feed(detector, [scene()] * 5, clock)
    detector.update_camera(camera_for(RIGHT, min_frames=1))
    moved = feed(detector, [scene((0.75, 0.9))], clock)[0]
    assert moved.triggered == ("zone",) and moved.zone_fractions["zone"] > 0.05


def test_first_frame_only_learns() -> None:
    detector = MotionDetector(camera_for(RIGHT, min_frames=1), *SIZE)
    first = feed(detector, [scene((0.75, 0.9))], times())[0]
    assert first.triggered == () and first.zone_fractions == {"zone": 0.0}


def test_bad_frames_are_refused_with_a_reason() -> None:
    detector = MotionDetector(camera_for(RIGHT), *SIZE)
    when = next(times())
    nothing: frozenset[str] = frozenset()
    with pytest.raises(ValueError, match="built for 640x360"):
        detector.observe(av.VideoFrame(320, 180, "yuv420p"), active_zones=nothing, wall_time=when)
    with pytest.raises(ValueError, match="planar YUV"):
        detector.observe(av.VideoFrame(*SIZE, "rgb24"), active_zones=nothing, wall_time=when)
    with pytest.raises(ValueError, match="timezone-aware"):
        naive = datetime(2026, 1, 1)
        detector.observe(to_frame(scene()), active_zones=nothing, wall_time=naive)
    with pytest.raises(ValueError, match="at least 2x2"):
        MotionDetector(camera_for(RIGHT), 1, 1)


def test_someone_who_stops_keeps_triggering_for_a_while_then_becomes_background() -> None:
    """A person standing at the door still matters; a bag left there for minutes does not."""
    detector = MotionDetector(camera_for(RIGHT), *SIZE)
    clock = times()
    feed(detector, [scene()] * 10, clock)
    standing = feed(detector, [scene((0.75, 0.9))] * 5 * 120, clock)  # two minutes at 5 fps
    triggered = [bool(obs.triggered) for obs in standing]
    assert all(triggered[1 : 5 * 20]), "stopped triggering within 20 s of standing still"
    assert not any(triggered[5 * 90 :]), "still triggering after 90 s of standing still"


def test_someone_in_the_first_frame_who_walks_away_leaves_no_lasting_ghost() -> None:
    """The first frame is the background until learnt better. Where someone stood in it, the
    empty floor then differs from it: that ghost must fade at the normal rate, not be held like
    someone who stopped, or it keeps an event open for half a minute after they left."""
    detector = MotionDetector(camera_for(RIGHT), *SIZE)
    clock = times()
    empty = feed(detector, [scene((0.75, 0.9))] + [scene()] * 5 * 60, clock)[1:]
    triggered = [index for index, obs in enumerate(empty) if obs.triggered]
    assert triggered, "the floor where the figure stood never differed from the first frame"
    assert triggered[-1] < 5 * 6, f"the ghost triggered until {(triggered[-1] + 1) / 5:g} s after the first frame"
