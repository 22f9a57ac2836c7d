"""A site with two cameras and three zones, its real SQLite file, and helpers to seed history."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.config import Config, load_config
from monitor.site.runtime import Runtime
from monitor.store.models import Alert, Clip
from tests.conftest import base_config, write_config

SQUARE = [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]]
CAMERAS = [
    {"id": "east", "source": "unused.mp4", "zones": [{"id": "landing", "polygon": SQUARE},
                                                     {"id": "door", "polygon": SQUARE}]},
    {"id": "lot", "source": "unused.mp4", "zones": [{"id": "gate", "polygon": SQUARE}]},
]


@dataclass
class PatrolSite:
    config_path: Path
    config: Config
    runtime: Runtime

    def alert(self, zone: str, time: datetime, *, kind: str = "motion", also: tuple[str, ...] = ()) -> None:
        camera, name = zone.split("/")
        with self.runtime.sessions.begin() as db:
            db.add(Alert(kind=kind, camera_id=camera, time=time, zones=[name, *also], score=0.2))

    def clip(self, zone: str, start: datetime, end: datetime | None, *, status: str = "sealed",
             also: tuple[str, ...] = ()) -> None:
        camera, name = zone.split("/")
        with self.runtime.sessions.begin() as db:
            db.add(Clip(id=uuid.uuid4().hex, event_id=uuid.uuid4().hex, camera_id=camera, zones=[name, *also],
                        start=start, end=end, width=320, height=240, fps=10.0, config_hash="0" * 64,
                        path="unused.mp4", status=status))


def make_patrol_site(folder: Path, **config: Any) -> Iterator[PatrolSite]:
    path = write_config(folder, base_config(folder / "data", cameras=CAMERAS, **config))
    loaded = load_config(path)
    runtime = Runtime.open(loaded)
    try:
        yield PatrolSite(path, loaded, runtime)
    finally:
        runtime.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[PatrolSite]:
    yield from make_patrol_site(tmp_path)
