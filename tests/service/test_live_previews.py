"""Live-view and zone-editor frames on demand, over real HTTP: a request makes the worker draw."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from monitor.demo.scene import render_demo
from monitor.service.routers.cameras import WAIT_FOR
from tests.service.conftest import Server, make_site, serve

CAMERA = "demo-hallway"
SIZE = (640, 360)


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The service with one real worker playing the rendered demo hallway in a loop."""
    folder = tmp_path_factory.mktemp("watched")
    video = folder / "hallway.mp4"
    render_demo(video, seconds=4, size=SIZE)
    door = [[0.53, 0.2], [0.74, 0.2], [0.74, 0.98], [0.53, 0.98]]
    camera = {"id": CAMERA, "source": str(video), "loop": True,
              "zones": [{"id": "locker-door", "polygon": door}]}
    site = make_site(folder, camera=camera, start_workers=True)
    with serve(site.app) as url:
        yield Server(url, site)


def _decoded(response: httpx.Response) -> np.ndarray:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["cache-control"] == "no-store"
    image = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "not a JPEG"
    return image


def _asked_at(request_file: Path) -> int:
    """File times, not ``time.time()``: the file system's clock is coarser."""
    return request_file.stat().st_mtime_ns


def _frames_flowing(client: httpx.Client) -> bool:
    camera = next(c for c in client.get("/api/cameras").json() if c["id"] == CAMERA)
    return camera["state"] == "online" and camera["last_frame"] is not None


@pytest.mark.slow
def test_worker_draws_previews_only_when_asked(watched: Server) -> None:
    paths = watched.site.runtime.paths
    live, editor = paths.preview_file(CAMERA, "live"), paths.preview_file(CAMERA, "editor")
    with watched.client("security") as security, watched.client("admin") as admin:
        deadline = time.monotonic() + 30
        while not _frames_flowing(security):
            assert time.monotonic() < deadline, "the demo worker never came online"
            time.sleep(0.2)
        time.sleep(1.5)  # frames go through the pipeline; the worker looks for requests meanwhile
        assert not live.exists() and not editor.exists(), "nobody was watching"

        started = time.monotonic()
        image = _decoded(security.get(f"/api/cameras/{CAMERA}/live.jpg"))
        assert time.monotonic() - started < WAIT_FOR + 1.0
        assert image.shape == (SIZE[1], SIZE[0], 3)
        assert live.stat().st_mtime_ns >= _asked_at(paths.preview_request_file(CAMERA, "live")), \
            "the frame was drawn for this request"
        assert not editor.exists(), "the live view does not ask for the editor's frame"

        assert security.get(f"/api/cameras/{CAMERA}/editor.jpg").status_code == 403
        editor_image = _decoded(admin.get(f"/api/cameras/{CAMERA}/editor.jpg"))
        assert editor_image.shape == (SIZE[1], SIZE[0], 3)
        _decoded(admin.get(f"/api/cameras/{CAMERA}/editor.jpg"))
    # The unmasked picture exists in memory only, and each one served is on the record.
    on_disk = [p for p in paths.root.rglob("*") if p.is_file() and "editor" in p.name and p.suffix != ".watch"]
    assert not editor.exists() and not on_disk, on_disk
    views = [e for e in watched.site.runtime.evidence.entries() if str(e.action) == "editor_frame_viewed"]
    assert [(e.actor, e.details["camera"]) for e in views] == [("admin", CAMERA)] * 2


def test_stale_frame_is_not_served_as_live(server: Server) -> None:
    """No worker runs here: an old frame is refused after a bounded wait, a new one is served."""
    paths = server.site.runtime.paths
    live = paths.preview_file("east-stairwell", "live")
    live.parent.mkdir(parents=True, exist_ok=True)  # as the camera's worker makes it
    with server.client("security") as client:
        cv2.imwrite(str(live), np.full((90, 160, 3), 200, np.uint8))
        hour_ago = time.time() - 3600
        os.utime(live, (hour_ago, hour_ago))
        asked, started = time.time(), time.monotonic()
        response = client.get("/api/cameras/east-stairwell/live.jpg")
        waited = time.monotonic() - started
        assert response.status_code == 404
        assert "has no live frame yet (is it online?)" in response.json()["detail"]
        assert WAIT_FOR <= waited < WAIT_FOR + 1.0
        assert paths.preview_request_file("east-stairwell", "live").stat().st_mtime >= asked - 1

        os.utime(live)  # as if the worker had just written it
        assert _decoded(client.get("/api/cameras/east-stairwell/live.jpg")).shape == (90, 160, 3)
        assert client.get("/api/cameras/no-such-camera/live.jpg").status_code == 404
        assert not paths.preview_request_file("no-such-camera", "live").exists()
