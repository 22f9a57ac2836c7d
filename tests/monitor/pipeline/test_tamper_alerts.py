"""A covered camera raises a ``tamper`` alert through the real pipeline, outside its schedule:
with the decode gate closed, the checks read keyframes decoded for them alone."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import av
import numpy as np
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from monitor.store.models import Alert
from tests.conftest import base_config, write_config
from tests.fixtures.media import write_video

pytestmark = [pytest.mark.footage, pytest.mark.slow]
START = "2026-03-02T20:00:00+00:00"  # 14:00 in Chicago: the zone's after-hours schedule is off
COVER_FROM = 20.0  # seconds into the file


def _covered_vtest(source: Path, seconds: float) -> Iterator[np.ndarray]:
    with av.open(str(source)) as container:
        for frame in container.decode(container.streams.video[0]):
            t = float(frame.time or 0.0)
            if t >= seconds:
                return
            image = frame.to_ndarray(format="rgb24")
            if t >= COVER_FROM:
                image[:, : int(image.shape[1] * 0.92)] = 8
            yield image


def test_covered_camera_is_reported_once_by_analyze_with_a_masked_snapshot(
        footage: Path, tmp_path: Path) -> None:
    video = write_video(tmp_path / "covered.mp4", _covered_vtest(footage / "opencv-doc/vtest.avi", 34.0),
                        fps=10, gop=10)  # a keyframe a second, as cameras send
    zone = {"id": "door", "polygon": [[0.1, 0.1], [0.4, 0.1], [0.4, 0.5], [0.1, 0.5]],
            "schedule": "after-hours", "min_area": 0.02}
    data = base_config(tmp_path / "data", cameras=[{"id": "hall", "source": str(video), "zones": [zone]}],
                       schedules={"after-hours": {"windows": [
                           {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "15:30", "to": "07:00"}]}})
    data["site"]["timezone"] = "America/Chicago"
    config = write_config(tmp_path, data)
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
