"""``hotspot analyze`` end to end: a real video through detection, masking, recording, sealing."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from monitor.detect.zones import polygon_mask
from monitor.store.models import Alert, Clip
from tests.conftest import base_config, write_config
from tests.fixtures import scenes

START = "2026-11-23T16:05:00-06:00"  # a Monday, after hours in Chicago


def _site(tmp_path: Path, scene: scenes.Scene, **camera: object) -> Path:
    zone = {"id": "door", "polygon": [list(p) for p in scene.polygons["zone"]], "min_area": 0.02}
    cam = {"id": "hall", "source": str(scene.path), "zones": [zone],
           "recording": {"pre_roll": 1.0, "post_roll": 1.0, "max_clip": 60}, **camera}
    data = base_config(tmp_path / "data", cameras=[cam], schedules={
        "after-hours": {"windows": [{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "15:30", "to": "07:00"}]},
        "lunch": {"windows": [{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "11:30", "to": "13:00"}]},
    })
    return write_config(tmp_path, data)


def _analyze(config: Path, video: Path, start: str = START) -> list[dict[str, object]]:
    result = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "analyze", str(video), "--camera", "hall",
         "--config", str(config), "--start", start],
        check=False, capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def _sealed_metadata(tmp_path: Path, clip_id: str) -> dict[str, Any]:
    """The clip metadata its custody entry sealed."""
    engine = create_engine(f"sqlite:///{tmp_path}/data/hotspot.db")
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT action, details FROM custody_log WHERE clip_id = :c"),
                                  {"c": clip_id}).all()
    engine.dispose()
    details = [json.loads(d) if isinstance(d, str) else d for action, d in rows if action == "sealed"]
    return details[0]["metadata"]


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> scenes.Scene:
    return scenes.walk_through(tmp_path_factory.mktemp("scene") / "walk.mp4", seconds=8)


def test_motion_in_zone_yields_one_sealed_masked_clip(tmp_path: Path, walk: scenes.Scene) -> None:
    config = _site(tmp_path, walk)
    events = _analyze(config, walk.path)
    assert len(events) == 1, events
    event = events[0]
    assert event["camera"] == "hall" and event["zones"] == ["door"]
    start, end = (datetime.fromisoformat(str(event[k])) for k in ("start", "end"))
    assert start.utcoffset() is not None
    first_inside = walk.frames_inside("zone", 0.02)[0] / walk.fps
    scene_start = datetime.fromisoformat(START)
    # The clip starts one pre-roll second before detection, which follows motion within ~0.5 s.
    assert abs((start - scene_start).total_seconds() - (first_inside - 1.0)) < 0.8
    last_inside = walk.frames_inside("zone", 0.02)[-1] / walk.fps
    assert abs((end - scene_start).total_seconds() - (last_inside + 1.0)) < 0.8
    assert len(str(event["sha256"])) == 64

    clip = Path(str(event["clip"]))
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        frames = [f.to_ndarray(format="gray") for f in container.decode(stream)]
    expected = (end - start).total_seconds() * walk.fps
    assert abs(len(frames) - expected) <= 2
    # Only the rectangle around the zone is encoded, where the seal says it lies in the frame.
    frame_width, frame_height = walk.style.size
    height, width = frames[0].shape
    sealed = _sealed_metadata(tmp_path, str(event["clip_id"]))
    placement = sealed["placement"]
    assert (placement["frame_width"], placement["frame_height"]) == (frame_width, frame_height)
    assert (sealed["width"], sealed["height"]) == (width, height) and width * height < frame_width * frame_height / 4
    xs = [int(x * frame_width) for x, _ in walk.polygons["zone"]]
    ys = [int(y * frame_height) for _, y in walk.polygons["zone"]]
    left, top = placement["x"], placement["y"]
    assert left <= min(xs) and top <= min(ys) and left + width >= max(xs) and top + height >= max(ys)
    # Privacy: outside the zone every pixel is black in every decoded frame.
    outside = np.ones((frame_height, frame_width), bool)
    outside[min(ys) - 2:max(ys) + 2, min(xs) - 2:max(xs) + 2] = False
    outside = outside[top:top + height, left:left + width]
    if outside.any():  # a rectangular zone fills its rectangle: nothing outside it is encoded
        assert max(int(f[outside].max()) for f in frames) <= 20

    engine = create_engine(f"sqlite:///{tmp_path}/data/hotspot.db")
    with Session(engine) as session:
        row = session.scalars(select(Clip)).one()
        alert = session.scalars(select(Alert)).one()
    assert row.status == "sealed" and row.sha256 == event["sha256"] and row.zones == ["door"]
    assert (row.width, row.height, row.frame_count) == (width, height, len(frames))
    assert alert.kind == "motion" and alert.zones == ["door"] and alert.clip_id == row.id
    assert (tmp_path / "data" / str(alert.snapshot_path)).stat().st_size > 0


def _gray(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="gray").astype(np.float32) for f in container.decode(video=0)]


def test_a_rectangular_hotspot_clip_is_the_picture_where_its_seal_places_it(tmp_path: Path) -> None:
    """A rectangle's pixels are copied without a mask (its right edge is on an odd pixel, so
    the clip's even rectangle also holds a filled column): put back at the sealed placement,
    every clip frame is the camera's frame inside the hotspot, and four pixels off it is not."""
    polygon = ((0.40, 0.25), (0.80, 0.25), (0.80, 0.90), (0.40, 0.90))
    scene = scenes.walk_through(tmp_path / "walk.mp4", polygon, seconds=6)
    events = _analyze(_site(tmp_path, scene), scene.path)
    assert len(events) == 1, events
    placement = _sealed_metadata(tmp_path, str(events[0]["clip_id"]))["placement"]
    clip, source = _gray(Path(str(events[0]["clip"]))), _gray(scene.path)
    first = round((datetime.fromisoformat(str(events[0]["start"])) - datetime.fromisoformat(START))
                  .total_seconds() * scene.fps)
    height, width = source[0].shape
    kept = polygon_mask(polygon, width, height)
    interior = np.zeros(kept.shape, bool)  # away from the edge, where the codec's ringing reaches
    interior[int(0.25 * height) + 4:int(0.90 * height) - 4, int(0.40 * width) + 4:int(0.80 * width) - 4] = True

    def error(x: int, y: int) -> float:
        errors = []
        for index, part in enumerate(clip):
            canvas = np.zeros_like(source[0])
            canvas[y:y + part.shape[0], x:x + part.shape[1]] = part
            errors.append(float(np.abs(canvas - source[first + index])[interior].mean()))
        return max(errors)

    placed = error(placement["x"], placement["y"])
    assert placed < 3.0, f"the clip differs from the camera's picture by {placed:.1f} levels"
    assert error(placement["x"] + 4, placement["y"]) > 2 * placed  # the picture is detailed enough to tell
    rect = (slice(placement["y"], placement["y"] + clip[0].shape[0]),
            slice(placement["x"], placement["x"] + clip[0].shape[1]))
    assert not kept[rect].all()  # the even rectangle holds a filled column (its values: test_privacy)


def test_zone_outside_its_schedule_never_triggers(tmp_path: Path, walk: scenes.Scene) -> None:
    config = _site(tmp_path, walk)
    text = config.read_text().replace("min_area: 0.02", "min_area: 0.02\n    schedule: lunch")
    config.write_text(text)
    assert _analyze(config, walk.path) == []  # 16:05 is not lunch time
    assert len(_analyze(config, walk.path, "2026-11-23T12:00:00-06:00")) == 1


def test_motion_outside_every_zone_never_triggers(tmp_path: Path) -> None:
    scene = scenes.walk_outside(tmp_path / "outside.mp4", seconds=8)
    assert _analyze(_site(tmp_path, scene), scene.path) == []


def test_long_event_is_split_at_max_clip(tmp_path: Path) -> None:
    scene = scenes.walk_through(tmp_path / "long.mp4", seconds=40, size=(320, 180))
    config = _site(tmp_path, scene)
    config.write_text(config.read_text().replace("max_clip: 60", "max_clip: 5"))
    events = _analyze(config, scene.path)
    assert len(events) >= 2
    assert len({e["event_id"] for e in events}) == 1
    for earlier, later in itertools.pairwise(events):
        gap = datetime.fromisoformat(str(later["start"])) - datetime.fromisoformat(str(earlier["end"]))
        assert abs(gap) <= timedelta(seconds=0.2)


@pytest.mark.parametrize(("preset", "x264_options"), [(None, b"subme=1"), ("veryfast", b"subme=2"), ("ultrafast", b"subme=0")])
def test_clips_are_encoded_with_the_cameras_preset(
    tmp_path: Path, walk: scenes.Scene, preset: str | None, x264_options: bytes,
) -> None:
    """A busy site trades file size for CPU per recorded frame; libx264 writes the options it
    used into the stream, so the clip itself shows which preset made it."""
    recording: dict[str, object] = {"pre_roll": 1.0, "post_roll": 1.0, "max_clip": 60}
    if preset:
        recording["encoder_preset"] = preset
    [event] = _analyze(_site(tmp_path, walk, recording=recording), walk.path)
    assert x264_options in Path(str(event["clip"])).read_bytes()
