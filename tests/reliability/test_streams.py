"""A real RTSP camera under the real supervisor: killed, frozen, and brought back."""

from __future__ import annotations

import time
from collections.abc import Callable

import av
import pytest

from tests.fixtures import scenes
from tests.reliability.conftest import RtspServer, Site, camera, wait_for

pytestmark = [pytest.mark.rtsp, pytest.mark.slow]

CAM = "stairs"


def _online_site(make_site: Callable[..., Site], server: RtspServer, scene: scenes.Scene) -> Site:
    site = make_site([camera(CAM, server.url, scene)]).start()
    wait_for(lambda: site.status(CAM).state == "online", 20, "the camera to come online")
    return site


def test_killed_camera_goes_offline_seals_its_event_and_comes_back(
    make_site: Callable[..., Site], rtsp_server: RtspServer, walk_scene: scenes.Scene
) -> None:
    site = _online_site(make_site, rtsp_server, walk_scene)
    wait_for(lambda: site.received("motion", CAM), 15, "a motion alert (an open event)")
    time.sleep(0.5)  # the event is open and its clip has frames
    rtsp_server.kill()
    killed = time.monotonic()

    wait_for(lambda: site.status(CAM).state == "offline", 5, "the camera to be shown offline")
    wait_for(lambda: site.received("camera-offline", CAM), 5, "a camera-offline alert")
    assert time.monotonic() - killed < 5
    cut = wait_for(lambda: [c for c in site.clips(CAM) if c.status == "sealed"], 5, "the open clip sealed")
    assert len(cut) == 1 and cut[0].incomplete_reason, "the clip cut by the outage says why"
    assert [c.status for c in site.clips(CAM)] == ["sealed"]
    with av.open(str(site.root / cut[0].path)) as container:
        assert sum(1 for _ in container.decode(video=0)) == cut[0].frame_count > 0

    rtsp_server.start()  # same port: the camera rebooted
    back = time.monotonic()
    wait_for(lambda: site.status(CAM).state == "online", 10, "a reconnect within 10 s")
    wait_for(lambda: site.received("camera-online", CAM), 5, "a camera-online alert")
    assert time.monotonic() - back < 10
    motions = len(site.received("motion", CAM))
    wait_for(lambda: len(site.received("motion", CAM)) > motions, 2 * scenes_loop(walk_scene) + 5,
             "detection to resume after the reconnect")
    resumed = wait_for(
        lambda: [c for c in site.clips(CAM) if c.status == "sealed" and c.id != cut[0].id],
        2 * scenes_loop(walk_scene) + 5, "a motion clip sealed after the reconnect")
    assert resumed[0].start > cut[0].end
    assert site.status(CAM).restarts == 0, "a lost stream is the worker's business, not a crash"


def test_frozen_camera_is_caught_by_the_stall_watchdog(
    make_site: Callable[..., Site], rtsp_server: RtspServer, walk_scene: scenes.Scene
) -> None:
    site = _online_site(make_site, rtsp_server, walk_scene)
    rtsp_server.freeze()
    frozen = time.monotonic()
    wait_for(lambda: site.status(CAM).state == "offline", 15, "the stalled stream to be noticed")
    # FFmpeg's read timeout (the worker's 5 s stall limit) fires after about twice the setting.
    assert time.monotonic() - frozen < 12
    assert "no packet" in (site.status(CAM).last_error or "")
    wait_for(lambda: site.received("camera-offline", CAM), 5, "a camera-offline alert")
    rtsp_server.restart()
    wait_for(lambda: site.status(CAM).state == "online", 10, "a reconnect after the freeze")


def scenes_loop(scene: scenes.Scene) -> float:
    return scene.frames / scene.fps
