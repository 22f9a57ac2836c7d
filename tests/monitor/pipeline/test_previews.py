"""Live-view and zone-editor previews are made only while the service asks for them."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from monitor.capture import VideoSource
from monitor.config import load_config
from monitor.pipeline import preview_requests
from monitor.pipeline.camera import CameraPipeline, StreamInfo
from monitor.seal.database_outbox import DatabaseOutbox
from monitor.site.runtime import Runtime
from tests.conftest import base_config, write_config
from tests.fixtures import scenes

START = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
WINDOW = 1.0
CHECK_PERIOD = 0.2


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> scenes.Scene:
    return scenes.empty(tmp_path_factory.mktemp("scene") / "empty.mp4", seconds=3)


class Camera:
    """A real pipeline fed by a looping file source, a given stretch of stream time at a time."""

    def __init__(self, runtime: Runtime, source: VideoSource) -> None:
        stream = StreamInfo.of(source)
        self.editor_frames: list[bytes] = []
        self.pipeline = CameraPipeline(runtime, runtime.config.cameras[0], stream, live_view=True,
                                       outbox=DatabaseOutbox(runtime), on_editor_frame=self.editor_frames.append)
        self._packets = iter(source)
        self.last = START

    def feed(self, seconds: float) -> None:
        until = self.last.timestamp() + seconds
        while self.last.timestamp() < until:
            packet = next(self._packets)
            if frames := self.pipeline.process(packet):
                self.last = frames[-1].wall_time


def _jpeg_size(path: Path | bytes) -> tuple[int, int]:
    data = path if isinstance(path, bytes) else path.read_bytes()
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, f"{path} is not a JPEG"
    return image.shape[1], image.shape[0]


def test_previews_are_written_only_within_the_request_window(
    tmp_path: Path, scene: scenes.Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(preview_requests, "WINDOW", WINDOW)
    monkeypatch.setattr(preview_requests, "CHECK_PERIOD", CHECK_PERIOD)
    zone = {"id": "door", "polygon": [list(p) for p in scene.polygons["zone"]]}
    cam = {"id": "hall", "source": str(scene.path), "zones": [zone]}
    config = write_config(tmp_path, base_config(tmp_path / "data", cameras=[cam]))
    runtime = Runtime.open(load_config(config))
    paths = runtime.paths
    live, editor = paths.preview_file("hall", "live"), paths.preview_file("hall", "editor")
    try:
        with VideoSource(str(scene.path), loop=True, realtime=False, start=START) as source:
            camera = Camera(runtime, source)
            camera.feed(2.0)
            assert not live.exists() and not camera.editor_frames, "nobody asked for a preview"

            paths.request_preview("hall", "live")
            time.sleep(CHECK_PERIOD)
            camera.feed(1.0)
            assert _jpeg_size(live) == scene.style.size
            assert not camera.editor_frames, "the editor frame is asked for separately"
            first_live = live.stat().st_mtime_ns

            paths.request_preview("hall", "editor")
            time.sleep(CHECK_PERIOD)
            camera.feed(2.0)
            assert camera.editor_frames and _jpeg_size(camera.editor_frames[-1]) == scene.style.size
            assert not editor.exists(), "the unmasked editor picture is handed over in memory, never stored"
            assert live.stat().st_mtime_ns > first_live, "live frames keep coming within the window"

            time.sleep(WINDOW + CHECK_PERIOD)  # nobody asks again
            stamps, sent = live.stat().st_mtime_ns, len(camera.editor_frames)
            camera.feed(3.0)
            assert (live.stat().st_mtime_ns, len(camera.editor_frames)) == (stamps, sent)
            camera.pipeline.close(camera.last, reason="end_of_file")
    finally:
        runtime.close()
