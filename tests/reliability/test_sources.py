"""Broken sources each fail alone: a healthy camera under the same supervisor keeps recording."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures import scenes
from tests.reliability.conftest import Site, camera, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.footage]

# camera id -> what its last error must say
EXPECTED_ERRORS = {
    "missing": "not found",
    "garbage": "not a readable video",
    "refusing": "connection refused",
}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_bad_sources_fail_alone_while_a_healthy_camera_keeps_producing(
    make_site: Callable[..., Site], walk_scene: scenes.Scene, tmp_path: Path, footage: Path
) -> None:
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(bytes(range(256)) * 400)
    sources = {
        "healthy": str(walk_scene.path),
        "missing": str(tmp_path / "no-such-file.mp4"),
        "garbage": str(garbage),
        "refusing": f"rtsp://127.0.0.1:{closed_port()}/stream",
        "decoder-crash": str(footage / "bgslibrary" / "demo.avi"),
    }
    site = make_site([camera(cid, src, walk_scene, loop=cid != "refusing") for cid, src in sources.items()])
    site.start()
    wait_for(lambda: site.status("healthy").state == "online", 30, "the healthy camera online")
    healthy_pid = site.status("healthy").pid

    for camera_id, reason in EXPECTED_ERRORS.items():
        status = wait_for(lambda c=camera_id: (s := site.status(c)).state == "offline" and s.last_error and s,
                          20, f"camera {camera_id} reported offline")
        assert reason in (status.last_error or ""), (camera_id, status.last_error)
        wait_for(lambda c=camera_id: site.received("camera-offline", c), 10, f"an offline alert for {camera_id}")

    clip = wait_for(lambda: [c for c in site.clips("healthy") if c.status == "sealed"], 30,
                    "a sealed clip from the healthy camera")
    assert clip[0].frame_count > 0
    began, frames_seen = time.monotonic(), site.status("healthy").last_frame
    wait_for(lambda: site.status("healthy").last_frame != frames_seen, 5, "the healthy camera still live")
    assert time.monotonic() - began < 5
    healthy = site.status("healthy")
    assert healthy.state == "online" and healthy.fps > 5
    assert healthy.restarts == 0 and healthy.pid == healthy_pid, "the healthy worker was never disturbed"
    assert not site.received("camera-offline", "healthy")
    assert not [c for c in site.clips() if c.camera_id in EXPECTED_ERRORS]
