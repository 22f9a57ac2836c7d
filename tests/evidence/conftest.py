"""Evidence stores on real SQLite files (WAL, as the service runs them) with real H.264 clips."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from evidence.actions import Action
from evidence.entry import CustodyRecord
from evidence.export import Disclosure
from evidence.hashing import sha256_file
from evidence.store import EvidenceStore
from monitor.store.db import make_engine
from tests.fixtures.media import make_h264_mp4

START = datetime(2026, 3, 2, 10, 15, tzinfo=UTC)


def disclose(*, case: str = "2026-014", reason: str = "discipline hearing", by: str = "Dr. Okafor",
             recipient: str = "District counsel", interest: str = "represents the district at the hearing") -> Disclosure:
    """A complete disclosure record; tests override the fields they look at."""
    return Disclosure(case=case, reason=reason, by=by, recipient=recipient, interest=interest)


@dataclass
class Site:
    """One storage folder, its database and its evidence store."""

    root: Path
    engine: Engine
    ev: EvidenceStore

    def clip_path(self, clip_id: str) -> Path:
        return self.root / "clips" / "cam1" / "2026-03-02" / f"{clip_id}.mp4"


def open_site(root: Path, *, checkpoint_every: int = 3, witness: Path | None = None, **options: Any) -> Site:
    engine = make_engine(f"sqlite:///{root}/hotspot.db")
    return Site(root, engine, EvidenceStore.open(root, engine, checkpoint_every=checkpoint_every, witness=witness,
                                                 **options))


def clip_metadata(index: int, frames: int) -> dict[str, object]:
    start = START + timedelta(minutes=index)
    return {
        "camera": "cam1", "zones": ["stairwell"], "start": start.isoformat(),
        "end": (start + timedelta(seconds=frames / 25)).isoformat(), "frame_count": frames,
        "width": 160, "height": 120, "fps": 25.0, "config_hash": "ab" * 32,
        "zones_config": [{"name": "stairwell", "polygon": [[0, 0], [1, 0], [1, 1]]}],
        "schedules": {"school-day": {"mon": ["07:30-15:30"]}}, "privacy": {"masks": [], "fill": "black"},
    }


def seal_real_clip(site: Site, clip_id: str, index: int, *, source: Path | None = None) -> CustodyRecord:
    """Write (or copy) a distinct H.264 clip into the store and seal it."""
    path = site.clip_path(clip_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = 8 + index
    if source is None:
        make_h264_mp4(path, frames=frames)
    else:
        shutil.copyfile(source, path)
    return site.ev.seal_clip(
        clip_id=clip_id, path=path.relative_to(site.root).as_posix(), sha256=sha256_file(path),
        size=path.stat().st_size, metadata=clip_metadata(index, frames),
    )


@pytest.fixture(scope="session")
def mp4_library(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Four distinct small H.264 MP4s, encoded once per session."""
    folder = tmp_path_factory.mktemp("mp4")
    return [make_h264_mp4(folder / f"{i}.mp4", frames=8 + i) for i in range(4)]


def build_site(root: Path, mp4s: list[Path]) -> Site:
    """A store with three sealed clips, some handling, a key rotation and a final checkpoint."""
    site = open_site(root)
    for index in range(3):
        seal_real_clip(site, f"clip{index}", index, source=mp4s[index])
    site.ev.append(Action.VIEWED, actor="ms.garcia", clip_id="clip0")
    site.ev.append(Action.HOLD_SET, actor="principal", clip_id="clip1", details={"case": "2026-014"})
    site.ev.rotate_key(actor="admin")
    site.ev.append(Action.DOWNLOADED, actor="ms.garcia", clip_id="clip0")
    site.ev.append(Action.CONFIG_CHANGED, actor="admin", details={"config_hash": "cd" * 32})
    site.ev.write_checkpoint()
    return site


@pytest.fixture(scope="session")
def site_template(tmp_path_factory: pytest.TempPathFactory, mp4_library: list[Path]) -> Path:
    built = build_site(tmp_path_factory.mktemp("site") / "data", mp4_library)
    built.engine.dispose()
    return built.root


@pytest.fixture
def site(tmp_path: Path, site_template: Path) -> Iterator[Site]:
    """A fresh copy of the built store (building it once keeps the suite fast)."""
    shutil.copytree(site_template, tmp_path / "data")
    copy = open_site(tmp_path / "data")
    yield copy
    copy.engine.dispose()
