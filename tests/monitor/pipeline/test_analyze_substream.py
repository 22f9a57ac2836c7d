"""``hotspot analyze VIDEO --detect SUBFILE``: a recorded main stream and its detect substream
through the real CLI, merged by wall time as the camera worker feeds them (docs/substream.md).

Two walks rendered at 1280x720 and 640x360: the clips must be those of analysing the main file
alone (starts and ends within one analysis interval), cut from the main stream, with alert
snapshots from the substream; a substream file that ends first leaves detection to the main one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from monitor.store.models import Alert, Clip
from tests.conftest import base_config, write_config
from tests.fixtures import scenes

MAIN, SUB = (1280, 720), (640, 360)
INTERVAL = timedelta(seconds=0.2)  # one analysis interval at 5 analysed frames a second
SECONDS, WALKS = 12.0, 2
START = "2026-11-23T16:05:00-06:00"


@dataclass(frozen=True)
class Files:
    main: Path
    sub: Path
    short_sub: Path  # the substream's first walk only: it ends 6 s before the main file


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    folder = tmp_path_factory.mktemp("walks")
    main, sub = (scenes.walks_through(folder / f"walk-{size[0]}.mp4", WALKS, seconds=SECONDS, size=size, fps=15).path
                 for size in (MAIN, SUB))
    short = scenes.walks_through(folder / "short-640.mp4", 1, seconds=SECONDS / WALKS, size=SUB, fps=15).path
    return Files(main, sub, short)


@dataclass
class Analysis:
    """One ``hotspot analyze`` run on a site of its own; the camera names a detect section,
    which a file analysis ignores without ``--detect``."""

    data: Path
    returncode: int
    stderr: str
    events: list[dict[str, object]]

    @classmethod
    def run(cls, folder: Path, files: Files, detect: Path | None = None) -> Analysis:
        zone = {"id": "door", "polygon": [list(p) for p in scenes.ZONE], "min_area": 0.02}
        cam = {"id": "hall", "source": str(files.main), "zones": [zone], "tamper": {"enabled": False},
               "detect": {"source": str(files.sub)}, "recording": {"pre_roll": 1.0, "post_roll": 1.0}}
        folder.mkdir()
        config = write_config(folder, base_config(folder / "data", cameras=[cam]))
        result = subprocess.run(
            [sys.executable, "-m", "monitor.cli", "analyze", str(files.main), "--camera", "hall",
             "--config", str(config), "--start", START, *(["--detect", str(detect)] if detect else [])],
            check=False, capture_output=True, text=True, timeout=240,
        )
        events = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        return cls(folder / "data", result.returncode, result.stderr, events)

    @property
    def spans(self) -> list[tuple[datetime, datetime]]:
        assert self.returncode == 0, self.stderr
        return [(datetime.fromisoformat(str(e["start"])), datetime.fromisoformat(str(e["end"]))) for e in self.events]

    @contextmanager
    def _session(self) -> Iterator[Session]:
        engine = create_engine(f"sqlite:///{self.data}/hotspot.db")
        try:
            with Session(engine) as session:
                yield session
        finally:
            engine.dispose()

    def clip_sizes(self) -> list[tuple[int, int]]:
        with self._session() as session:
            return [(clip.width, clip.height) for clip in session.scalars(select(Clip).order_by(Clip.start))]

    def snapshot_sizes(self) -> list[tuple[int, int]]:
        with self._session() as session:
            paths = session.scalars(select(Alert.snapshot_path).where(Alert.kind == "motion")
                                    .order_by(Alert.time)).all()
        sizes = []
        for path in paths:
            image = cv2.imread(str(self.data / (path or "")))
            assert image is not None, path
            sizes.append((image.shape[1], image.shape[0]))
        return sizes


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, files: Files) -> Analysis:
    """The main file alone: detection on it, although the camera names a substream."""
    return Analysis.run(tmp_path_factory.mktemp("reference") / "site", files)


def assert_same_events(reference: Analysis, run: Analysis) -> None:
    assert len(run.spans) == len(reference.spans) == WALKS, (reference.events, run.events)
    for (start, end), (other_start, other_end) in zip(reference.spans, run.spans, strict=True):
        assert abs(start - other_start) <= INTERVAL and abs(end - other_end) <= INTERVAL


def test_detecting_on_a_substream_file_gives_the_main_files_clips(
    tmp_path: Path, files: Files, reference: Analysis,
) -> None:
    run = Analysis.run(tmp_path / "site", files, detect=files.sub)
    assert_same_events(reference, run)
    assert run.clip_sizes() == reference.clip_sizes()
    assert run.clip_sizes()[0][0] > 0.3 * SUB[0], "clips are cut from the main stream's frames"
    assert reference.snapshot_sizes() == [MAIN] * WALKS
    assert run.snapshot_sizes() == [SUB] * WALKS
    assert "warning" not in run.stderr


def test_a_substream_file_that_ends_first_leaves_detection_to_the_main_file(
    tmp_path: Path, files: Files, reference: Analysis,
) -> None:
    run = Analysis.run(tmp_path / "site", files, detect=files.short_sub)
    assert_same_events(reference, run)
    assert run.snapshot_sizes() == [SUB, MAIN]  # the second walk came after the substream ended
    assert f"--detect {files.short_sub} ended at" in run.stderr


@pytest.mark.parametrize("problem", ["missing", "not video"])
def test_an_unusable_substream_file_is_named_with_exit_2(tmp_path: Path, files: Files, problem: str) -> None:
    sub = tmp_path / "sub.mp4"
    if problem == "not video":
        sub.write_text("not a video\n")
    run = Analysis.run(tmp_path / "site", files, detect=sub)
    assert run.returncode == 2, run.stderr
    assert f"--detect {sub}" in run.stderr and run.events == []
