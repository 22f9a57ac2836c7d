"""A broken cameras.yaml names the file, the camera and the field, and says what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import ConfigError, config_hash, load_config
from tests.conftest import REPO, base_config, write_config


def _camera(**overrides: object) -> dict[str, object]:
    camera: dict[str, object] = {
        "id": "east-stairwell",
        "source": "rtsp://user:pass@camera-host/stream1",
        "zones": [{"id": "landing", "polygon": [[0.1, 0.2], [0.6, 0.2], [0.6, 0.95], [0.1, 0.95]]}],
    }
    camera.update(overrides)
    return camera


def _error(tmp_path: Path, **data: object) -> str:
    path = write_config(tmp_path, base_config(tmp_path, **data))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    return message


def test_shipped_config_is_valid() -> None:
    config = load_config(REPO / "config" / "cameras.yaml")
    assert config.cameras and config.cameras[0].zones


def test_self_intersecting_polygon(tmp_path: Path) -> None:
    bowtie = [[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]]
    message = _error(tmp_path, cameras=[_camera(zones=[{"id": "z", "polygon": bowtie}])])
    assert "camera 'east-stairwell'" in message
    assert "zones[0].polygon" in message
    assert "intersects itself" in message


@pytest.mark.parametrize(
    ("polygon", "words"),
    [
        ([[0.1, 0.1], [0.5, 0.5]], "at least 3 points"),
        ([[0.1, 0.1], [1.5, 0.1], [0.5, 0.5]], "outside [0, 1]"),
        ([[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]], "no area"),
    ],
)
def test_bad_polygons(tmp_path: Path, polygon: list[list[float]], words: str) -> None:
    message = _error(tmp_path, cameras=[_camera(zones=[{"id": "z", "polygon": polygon}])])
    assert words in message and "zones[0].polygon" in message


def test_unknown_schedule_and_field(tmp_path: Path) -> None:
    zone = {"id": "z", "polygon": [[0, 0], [1, 0], [1, 1]], "schedule": "nightz"}
    message = _error(tmp_path, cameras=[_camera(zones=[zone])])
    assert "schedule 'nightz' is not defined" in message
    message = _error(tmp_path, cameras=[_camera(recordin={"pre_roll": 3})])
    assert "camera 'east-stairwell': recordin: unknown field" in message


def test_bad_values_say_what_is_allowed(tmp_path: Path) -> None:
    message = _error(tmp_path, cameras=[_camera(privacy={"style": "blur"})])
    assert "privacy.style" in message and "'fill'" in message and "'pixelate'" in message
    for zone in ("Mars/Olympus", "America"):  # "America" is a folder of the tz database
        message = _error(tmp_path, site={"name": "S", "timezone": zone})
        assert "site.timezone" in message and "unknown time zone" in message
    message = _error(tmp_path, schedules={"s": {"windows": [{"days": ["mon"], "from": "25:00", "to": "07:00"}]}})
    assert "schedules.s.windows[0].from" in message and "HH:MM" in message


def test_duplicate_ids(tmp_path: Path) -> None:
    message = _error(tmp_path, cameras=[_camera(), _camera()])
    assert "camera id 'east-stairwell' is used twice" in message


def test_not_yaml_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "cameras.yaml"
    path.write_text("site: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "absent.yaml")


def test_unquoted_times_are_read_as_clock_times(tmp_path: Path) -> None:
    path = tmp_path / "cameras.yaml"
    path.write_text(
        "site: {name: S}\nschedules:\n  s:\n    windows: [{days: [mon], from: 15:30, to: 07:00}]\ncameras: []\n"
    )
    window = load_config(path).schedules["s"].windows[0]
    assert (window.start, window.end) == ("15:30", "07:00")


def test_config_hash_tracks_what_decides_recording(tmp_path: Path) -> None:
    first = load_config(write_config(tmp_path, base_config(tmp_path, cameras=[_camera()])))
    moved = _camera(zones=[{"id": "landing", "polygon": [[0.1, 0.2], [0.7, 0.2], [0.6, 0.95]]}])
    second = load_config(write_config(tmp_path, base_config(tmp_path, cameras=[moved])))
    renamed = load_config(write_config(tmp_path, base_config(tmp_path, cameras=[_camera()])))
    assert config_hash(first, first.cameras[0]) != config_hash(second, second.cameras[0])
    assert config_hash(first, first.cameras[0]) == config_hash(renamed, renamed.cameras[0])


ISSUE_EXAMPLE = """
site: {name: Lincoln High School, timezone: America/Chicago, holidays: ["2026-12-24", 2026-12-25]}
schedules:
  after-hours:
    windows:
      - {days: [mon, tue, wed, thu, fri], from: "15:30", to: "07:00"}
      - {days: [sat, sun], from: 00:00, to: "24:00"}
    on_holidays: all-day
cameras:
  - id: east-stairwell
    name: East stairwell
    source: rtsp://user:pass@camera-host/stream1
    zones:
      - {id: landing, polygon: [[0.10, 0.20], [0.60, 0.20], [0.60, 0.95], [0.10, 0.95]], schedule: after-hours}
      - {id: door, polygon: [[0, 0], [1, 0], [1, 1]]}
    privacy: {style: pixelate, zones: [{polygon: [[0.7, 0.0], [1.0, 0.0], [1.0, 0.4], [0.7, 0.4]]}]}
    recording: {pre_roll: 5, post_roll: 10, max_clip: 300}
"""


def test_config_hash_is_the_one_earlier_releases_sealed(tmp_path: Path) -> None:
    """Clips from before and after an upgrade are compared by this hash, so the form it is taken
    over (the YAML's: 'from'/'to', dates as text, numbers as validated) must not drift. Earlier
    releases encoded with `veryfast` by default: named explicitly, it gives their hash; left to
    the default (now `superfast`), the hash says the clips are encoded differently."""
    path = tmp_path / "cameras.yaml"
    path.write_text(ISSUE_EXAMPLE.replace("max_clip: 300}", "max_clip: 300, encoder_preset: veryfast}"),
                    encoding="utf-8")
    config = load_config(path)
    assert config_hash(config, config.cameras[0]) == \
        "7f98aa32944c2acfe7dc5ecfc6ab3b05d0956f5fbf718a094a068ac677758943"
    path.write_text(ISSUE_EXAMPLE, encoding="utf-8")
    config = load_config(path)
    assert config.cameras[0].recording.encoder_preset == "superfast"
    assert config_hash(config, config.cameras[0]) != \
        "7f98aa32944c2acfe7dc5ecfc6ab3b05d0956f5fbf718a094a068ac677758943"


def test_ids_say_what_is_allowed(tmp_path: Path) -> None:
    message = _error(tmp_path, cameras=[_camera(id="East Stairwell")])
    assert "camera 'East Stairwell': id: use lower-case letters, digits, '-' and '_'" in message


def test_unknown_encoder_preset_names_the_field_and_the_choices(tmp_path: Path) -> None:
    message = _error(tmp_path, cameras=[_camera(recording={"encoder_preset": "placebo"})])
    assert "recording.encoder_preset" in message and "'ultrafast'" in message and "'veryfast'" in message


@pytest.mark.parametrize(
    ("detect", "field", "words"),
    [
        ({"max_drift": 2.0}, "detect.source", "required field is missing"),
        ({"source": ""}, "detect.source", "at least 1 character"),
        ({"source": "rtsp://user:pass@camera-host/stream1"}, "detect.source", "is the same stream as source"),
        ({"source": "rtsp://camera-host/stream2", "max_drift": 0}, "detect.max_drift", "greater than 0"),
        ({"source": "rtsp://camera-host/stream2", "max_drift": "soon"}, "detect.max_drift", "valid number"),
        ({"source": "rtsp://camera-host/stream2", "role": "detect"}, "detect.role", "unknown field"),
    ],
)
def test_detect_substream_errors_name_the_field(
    tmp_path: Path, detect: dict[str, object], field: str, words: str,
) -> None:
    message = _error(tmp_path, cameras=[_camera(detect=detect)])
    assert f"camera 'east-stairwell': {field}: " in message and words in message
    assert "pass@" not in message  # the main source's credentials are never repeated


def test_detect_substream_is_hashed_only_where_set(tmp_path: Path) -> None:
    """What detection reads decides which events are recorded; cameras without a substream keep
    the hash they had."""
    plain = load_config(write_config(tmp_path, base_config(tmp_path, cameras=[_camera()])))
    sub = load_config(write_config(tmp_path, base_config(tmp_path, cameras=[
        _camera(detect={"source": "rtsp://camera-host/stream2"})])))
    other = load_config(write_config(tmp_path, base_config(tmp_path, cameras=[
        _camera(detect={"source": "rtsp://camera-host/stream3"})])))
    hashes = {config_hash(c, c.cameras[0]) for c in (plain, sub, other)}
    assert len(hashes) == 3
    assert sub.cameras[0].detect is not None and sub.cameras[0].detect.max_drift == 2.0
