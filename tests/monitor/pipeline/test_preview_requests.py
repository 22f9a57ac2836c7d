"""Preview requests between processes: request files on disk, looked at once per period."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from monitor.pipeline import preview_requests
from monitor.pipeline.preview_requests import PreviewRequests
from monitor.store.paths import StoragePaths


@pytest.fixture
def paths(tmp_path: Path) -> StoragePaths:
    paths = StoragePaths(tmp_path / "data")
    paths.ensure()
    return paths


def test_a_request_is_noticed_at_the_next_look_not_at_every_frame(
    paths: StoragePaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(preview_requests, "CHECK_PERIOD", 0.3)
    requests = PreviewRequests(paths, "hall")
    assert requests.wanted() == frozenset()
    paths.request_preview("hall", "editor")
    assert requests.wanted() == frozenset(), "the files were looked at less than a period ago"
    time.sleep(0.3)
    assert requests.wanted() == {"editor"}


@pytest.mark.parametrize("offset", [-preview_requests.WINDOW - 1, preview_requests.WINDOW + 1])
def test_a_request_outside_the_window_does_not_count(paths: StoragePaths, offset: float) -> None:
    """Too old, or dated in the future after the wall clock stepped back."""
    paths.request_preview("hall", "live")
    when = time.time() + offset
    os.utime(paths.preview_request_file("hall", "live"), (when, when))
    assert PreviewRequests(paths, "hall").wanted() == frozenset()
    paths.request_preview("hall", "live")
    assert PreviewRequests(paths, "hall").wanted() == {"live"}


def test_request_files_are_per_camera_and_kind(paths: StoragePaths) -> None:
    files = {paths.preview_request_file(cam, kind)
             for cam in ("hall", "gym") for kind in ("live", "editor")}
    assert len(files) == 4 and all(f.parent == paths.live / f.parent.name for f in files)
    assert paths.preview_file("hall", "live") == paths.live / "hall" / "live.jpg", "the camera's own folder"
    assert paths.preview_file("hall", "editor") == paths.live / "hall" / "editor.jpg"
