"""A detect substream over real RTSP: two servers play the same walk at 1280x720 and 640x360
as if live since the same moment, as a camera's main stream and substream do.

One site runs a camera that detects on its main stream and one that detects on the substream;
their events and clips must agree within one analysis interval, the second's clips at the main
stream's size and its alert snapshots at the substream's. Then the substream fails (killed,
never there, or frozen long enough to drift) while the main stream goes on recording.
"""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import cv2
import pytest

from monitor.detect import PrivacyMasker
from monitor.service.routers.cameras import camera_statuses
from monitor.store.models import Clip
from monitor.workers.supervisor import CameraStatus
from tests.fixtures import scenes
from tests.reliability.conftest import RtspServer, Site, camera, gst_rtsp_available, wait_for

pytestmark = [pytest.mark.rtsp, pytest.mark.slow]

LOOP = 6.0  # seconds: one walk through the zone per loop
MAIN, SUB = (1280, 720), (640, 360)
# Two live cameras analyse different frames (one analysis interval, 0.2 s, apart at most), and
# a camera without a substream stamps a packet when its pipeline reads it, late after a clip's
# pre-roll replay; measured here up to 0.35 s apart. On one timeline the bound is one interval
# (tests/monitor/pipeline/test_substream.py).
LIVE_BOUND = timedelta(seconds=0.5)
SITE_ZONE = "America/Chicago"  # tests.conftest.base_config's site
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
START = 45.0  # seconds for a started site to detect on the substream (2-9 s measured at every phase of the walk)


@pytest.fixture(scope="module")
def walks(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[int, int], scenes.Scene]:
    """The same walk rendered at both sizes (zones are fractions: the same truth)."""
    folder = tmp_path_factory.mktemp("substream-media")
    return {size: scenes.walk_through(folder / f"walk-{size[0]}.mp4", seconds=LOOP, fps=15, size=size)
            for size in (MAIN, SUB)}


@pytest.fixture
def servers(walks: dict[tuple[int, int], scenes.Scene]) -> Iterator[dict[str, RtspServer]]:
    """A main-stream server and a substream server on one clock, killable one at a time."""
    if not gst_rtsp_available():
        pytest.skip("GStreamer RTSP server missing: apt-get install gir1.2-gst-rtsp-server-1.0 python3-gi")
    clock = time.time()
    started = {name: RtspServer(walks[size].path, clock=clock).start()
               for name, size in (("main", MAIN), ("sub", SUB))}
    yield started
    for server in started.values():
        server.kill()


def at_phase(server: RtspServer, seconds: float) -> None:
    """Wait until the served loop is ``seconds`` in. The walker is out of the picture from 4.8 s
    to 7.2 s (the next loop's 1.2 s): a background started then holds no figure, which would
    otherwise stay in it as a ghost for as long as the figure stood there."""
    assert server.clock is not None
    time.sleep((seconds - (time.time() - server.clock)) % LOOP)


def with_substream(camera_id: str, main: str, sub: str, scene: scenes.Scene, *, max_drift: float = 2.0,
                   **extra: Any) -> dict[str, Any]:
    return camera(camera_id, main, scene, detect={"source": sub, "max_drift": max_drift},
                  tamper={"enabled": False}, **extra)


def sealed(site: Site, camera_id: str) -> list[Clip]:
    return [clip for clip in site.clips(camera_id) if clip.status == "sealed"]


def snapshot_size(site: Site, camera_id: str, after: datetime) -> tuple[int, int]:
    """The size of the first motion snapshot after ``after``."""
    alert = next(a for a in site.alert_rows("motion")
                 if a.camera_id == camera_id and a.snapshot_path and a.time > after)
    image = cv2.imread(str(site.root / (alert.snapshot_path or "")))
    assert image is not None
    return image.shape[1], image.shape[0]


def nearest(clips: list[Clip], clip: Clip) -> Clip:
    return min(clips, key=lambda other: abs(other.start - clip.start))


def on_substream(site: Site, camera_id: str, timeout: float, what: str) -> None:
    """Wait until ``camera_id`` detects on its substream; a timeout names the camera's status.
    Detection moves there only while the picture is still (the walker is out of it for 2.4 s
    of every loop), after the worker started: tens of seconds on a loaded machine."""
    try:
        wait_for(lambda: site.status(camera_id).detect_source == "substream", timeout, what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; status: {site.status(camera_id)}") from None


def hall_status(site: Site, check: Callable[[CameraStatus], object], timeout: float, what: str) -> CameraStatus:
    """The camera's status once ``check`` holds for it."""
    return wait_for(lambda: status if check(status := site.status("hall")) else None, timeout, what)


def test_events_and_clips_match_single_stream_detection(
    make_site: Callable[..., Site], servers: dict[str, RtspServer], walks: dict[tuple[int, int], scenes.Scene],
) -> None:
    scene = walks[MAIN]
    site = make_site([
        camera("single", servers["main"].url, scene, tamper={"enabled": False}),
        with_substream("dual", servers["main"].url, servers["sub"].url, scene),
    ])
    at_phase(servers["main"], 4.8)
    site.start()
    on_substream(site, "dual", START, "detection on the substream")
    switched = datetime.now(UTC)
    first_end = max(switched, wait_for(lambda: [c.end for c in sealed(site, "dual") if c.end], 3 * LOOP,
                                       "a clip of the substream camera")[0])
    # Every clip once the substream took over and both cameras' first events are over.
    dual = wait_for(lambda: later[:2] if len(later := [c for c in sealed(site, "dual") if c.start > first_end]) >= 2
                    else None, 3 * LOOP + 5, "two more clips")
    # Each camera runs at its own pace: on a loaded machine the one-stream camera seals later.
    wait_for(lambda: all(any(abs(twin.start - clip.start) <= LIVE_BOUND for twin in sealed(site, "single"))
                         for clip in dual), 2 * LOOP, "the single-stream camera's clips of the same events")
    site.stop()
    single = sealed(site, "single")
    twins = [nearest(single, clip) for clip in dual]
    assert len({twin.id for twin in twins}) == len(dual), "one single-stream event for each"
    for clip, twin in zip(dual, twins, strict=True):
        assert clip.end is not None and twin.end is not None
        assert abs(twin.start - clip.start) <= LIVE_BOUND, (twin.start, clip.start)
        assert abs(twin.end - clip.end) <= LIVE_BOUND, (twin.end, clip.end)
        assert (clip.width, clip.height) == (twin.width, twin.height) == rect_at(scene, MAIN)
    assert snapshot_size(site, "single", first_end) == MAIN
    assert snapshot_size(site, "dual", first_end) == SUB


def test_a_camera_off_schedule_moves_to_its_substream_and_decodes_neither_stream(
    make_site: Callable[..., Site], servers: dict[str, RtspServer], walks: dict[tuple[int, int], scenes.Scene],
) -> None:
    """Off schedule nothing is analysed, so the picture is never found still; with no background
    to leave a ghost in, detection moves to the substream all the same, and then neither stream
    is decoded until the zone's schedule begins."""
    hour = (datetime.now(ZoneInfo(SITE_ZONE)) + timedelta(hours=12)).hour  # never during the test
    schedules = {"elsewhen": {"windows": [{"days": DAYS, "from": f"{hour:02d}:00", "to": f"{hour:02d}:30"}]}}
    hall = with_substream("hall", servers["main"].url, servers["sub"].url, walks[MAIN])
    hall["zones"][0]["schedule"] = "elsewhen"
    site = make_site([hall], schedules=schedules).start()
    on_substream(site, "hall", START, "detection on the substream")
    status = hall_status(site, lambda s: s.decoded_fraction == 0 and s.main_decoded_fraction == 0, 5,
                         "a status interval with nothing decoded")
    assert status.decode_mode == "off-schedule" and status.detect_error is None


def test_a_killed_substream_is_reported_and_the_main_stream_keeps_recording(
    make_site: Callable[..., Site], servers: dict[str, RtspServer], walks: dict[tuple[int, int], scenes.Scene],
) -> None:
    site = make_site([with_substream("hall", servers["main"].url, servers["sub"].url, walks[MAIN])]).start()
    on_substream(site, "hall", START, "detection on the substream")
    at_phase(servers["sub"], 5.3)
    servers["sub"].kill()
    killed = time.monotonic()
    status = hall_status(site, lambda s: s.detect_source == "main", 5, "the fallback")
    assert time.monotonic() - killed < 5
    assert status.state == "online" and "detect" not in (status.last_error or "")
    assert status.detect_error and "127.0.0.1" in status.detect_error
    offline = wait_for(lambda: site.received("camera-offline", "hall"), 5, "a camera-offline alert")
    assert "detect substream" in offline[0].message
    wait_for(lambda: [c for c in sealed(site, "hall") if c.start.timestamp() > time.time() - (time.monotonic() - killed)],
             3 * LOOP, "a clip recorded while the substream is down")
    row = next(r for r in camera_statuses_of(site) if r["id"] == "hall")
    assert row["detect_source"] == "main" and "127.0.0.1" in row["detect_error"]

    servers["sub"].start()  # same port: the substream is back
    on_substream(site, "hall", 3 * LOOP, "detection on the substream again")
    wait_for(lambda: site.received("camera-online", "hall"), 5, "a camera-online alert")


def test_an_unreachable_substream_never_stops_detection(
    make_site: Callable[..., Site], servers: dict[str, RtspServer], walks: dict[tuple[int, int], scenes.Scene],
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    secret = f"rtsp://viewer:s3cret@127.0.0.1:{closed_port}/sub"
    site = make_site([with_substream("hall", servers["main"].url, secret, walks[MAIN])])
    at_phase(servers["main"], 4.8)
    site.start()
    status = hall_status(site, lambda s: s.detect_error, 15, "the substream reported down")
    assert status.detect_source == "main" and status.state == "online"
    assert status.detect_error and "s3cret" not in status.detect_error and "viewer" not in status.detect_error
    clip = wait_for(lambda: site.clips("hall"), 3 * LOOP, "a clip detected on the main stream")
    assert (clip[0].width, clip[0].height) == rect_at(walks[MAIN], MAIN)


def test_a_substream_that_drifts_is_reported_and_resynced(
    make_site: Callable[..., Site], servers: dict[str, RtspServer], walks: dict[tuple[int, int], scenes.Scene],
) -> None:
    """Frozen for 3 s (less than the 5 s stall timeout), the substream falls more than
    ``max_drift`` behind the main stream."""
    site = make_site([with_substream("hall", servers["main"].url, servers["sub"].url, walks[MAIN],
                                     max_drift=1.0)]).start()
    on_substream(site, "hall", START, "detection on the substream")
    at_phase(servers["sub"], 4.8)
    servers["sub"].freeze()
    frozen = time.monotonic()
    status = hall_status(site, lambda s: s.detect_error, 4, "the drift reported")
    assert time.monotonic() - frozen < 2.5
    assert "behind the main stream" in (status.detect_error or "") and status.detect_source == "main"
    time.sleep(max(0.0, 3.0 - (time.monotonic() - frozen)))
    assert servers["sub"].process is not None
    servers["sub"].process.send_signal(signal.SIGCONT)
    on_substream(site, "hall", 3 * LOOP, "the substream resynced")


def camera_statuses_of(site: Site) -> list[dict[str, Any]]:
    """What ``/api/cameras`` answers for the site's supervisor."""
    state = type("State", (), {"config": site.config, "supervisor": site.supervisor})()
    return camera_statuses(state)  # type: ignore[arg-type]


def rect_at(scene: scenes.Scene, size: tuple[int, int]) -> tuple[int, int]:
    """The clip's picture: the zone's bounding box at ``size``, even-cornered."""
    rect = PrivacyMasker(scene.camera(), *size).visible_rect
    return rect.width, rect.height

