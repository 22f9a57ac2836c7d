"""A covered camera raises a ``tamper`` alert through the real pipeline, outside its schedule:
with the decode gate closed, the checks read keyframes decoded for them alone."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bench.gate_recall import analyze
from monitor.capture.keyframe_screen import MIN_SIZES, SLOW_CHECK
from monitor.config.models import TamperSettings
from monitor.detect.tamper import LEARN_CHECKS
from monitor.store.models import Alert
from tests.conftest import base_config, write_config
from tests.fixtures.media import write_video

pytestmark = [pytest.mark.footage, pytest.mark.slow]
START = "2026-03-02T20:00:00+00:00"  # 14:00 in Chicago: the zone's after-hours schedule is off
COVER_FROM = 20.0  # seconds into the file


def _cover(image: np.ndarray) -> np.ndarray:
    image[:, : int(image.shape[1] * 0.92)] = 8
    return image


def _turn(image: np.ndarray) -> np.ndarray:
    """The camera turned: it now sees the bottom-right 60% of the old view, full size."""
    h, w = image.shape[:2]
    return cv2.resize(image[int(h * 0.4):, int(w * 0.4):], (w, h), interpolation=cv2.INTER_LINEAR)


def _changed_vtest(source: Path, seconds: float, change: Callable[[np.ndarray], np.ndarray]) -> Iterator[np.ndarray]:
    with av.open(str(source)) as container:
        for frame in container.decode(container.streams.video[0]):
            t = float(frame.time or 0.0)
            if t >= seconds:
                return
            image = frame.to_ndarray(format="rgb24")
            yield change(image) if t >= COVER_FROM else image


def _after_hours_camera(storage: Path, video: Path) -> dict[str, object]:
    zone = {"id": "door", "polygon": [[0.1, 0.1], [0.4, 0.1], [0.4, 0.5], [0.1, 0.5]],
            "schedule": "after-hours", "min_area": 0.02}
    data = base_config(storage, cameras=[{"id": "hall", "source": str(video), "zones": [zone]}],
                       schedules={"after-hours": {"windows": [
                           {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "15:30", "to": "07:00"}]}})
    data["site"]["timezone"] = "America/Chicago"
    return data


def test_covered_camera_is_reported_once_by_analyze_with_a_masked_snapshot(
        footage: Path, tmp_path: Path) -> None:
    video = write_video(tmp_path / "covered.mp4", _changed_vtest(footage / "opencv-doc/vtest.avi", 34.0, _cover),
                        fps=10, gop=10)  # a keyframe a second, as cameras send
    config = write_config(tmp_path, _after_hours_camera(tmp_path / "data", video))
    result = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "analyze", str(video), "--camera", "hall",
         "--config", str(config), "--start", START],
        check=False, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [(x["alert"], x["camera"], x["reason"]) for x in lines] == [("tamper", "hall", "covered")], lines
    seconds = (datetime.fromisoformat(lines[0]["time"]) - datetime.fromisoformat(START)).total_seconds()
    assert COVER_FROM + 4.9 <= seconds <= COVER_FROM + 6.5, lines

    engine = create_engine(f"sqlite:///{tmp_path}/data/hotspot.db")
    with Session(engine) as session:
        alert = session.scalars(select(Alert)).one()
    assert (alert.kind, alert.reason) == ("tamper", "covered")
    assert alert.snapshot_path is not None
    snapshot = np.asarray(av.open(str(tmp_path / "data" / alert.snapshot_path)).decode(video=0).__next__()
                          .to_ndarray(format="gray"))
    uncovered = snapshot[:, int(snapshot.shape[1] * 0.94):]  # the sliver the cover left, outside the zone
    assert uncovered.max() <= 20, "the snapshot is privacy-masked like every other picture"


def test_off_schedule_checks_few_keyframes_and_still_finds_a_turned_camera(footage: Path, tmp_path: Path) -> None:
    """Keyframe sizes screen the checks while nothing else decodes: a normal view is checked
    once per ``SLOW_CHECK`` after the reference is learnt, not at every keyframe, and a turned
    camera (same keyframe sizes) is still reported within ``SLOW_CHECK`` plus the hold."""
    seconds = 60.0
    start = datetime.fromisoformat(START)
    hold = TamperSettings().hold_seconds
    video = write_video(tmp_path / "turned.mp4", _changed_vtest(footage / "opencv-doc/vtest.avi", seconds, _turn),
                        fps=10, gop=10)  # a keyframe a second
    result = analyze(tmp_path / "run", _after_hours_camera(tmp_path / "run" / "data", video), video, start=start)
    with Session(create_engine(f"sqlite:///{tmp_path}/run/data/hotspot.db")) as session:
        alerts = list(session.scalars(select(Alert)))
    assert [(a.kind, a.reason) for a in alerts] == [("tamper", "moved")]
    reported = (alerts[0].time.replace(tzinfo=UTC) - start).total_seconds()
    assert COVER_FROM + hold <= reported <= COVER_FROM + SLOW_CHECK.total_seconds() + hold + 1.0, reported
    # The first frames until the gate closes, the reference view's checks, a band of sizes, one
    # check per SLOW_CHECK, and every keyframe while the turn is pending and then until the new
    # view has held: before the screen, every one of the 60 keyframes was decoded.
    first, stats = 3, result.stats
    assert stats.packets == seconds * 10
    bound = first + LEARN_CHECKS + MIN_SIZES + seconds / SLOW_CHECK.total_seconds() + 2 * (hold + 1)
    assert stats.decoded <= bound, stats
