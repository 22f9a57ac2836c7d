"""VideoSource against a real RTSP server: open, lose the server, freeze it, reconnect."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.capture import Backoff, SourceDisconnected, SourceError, SourceStalled, VideoSource
from tests.fixtures.media import make_h264_mp4
from tests.reliability.conftest import RtspServer, gst_rtsp_available

pytestmark = [pytest.mark.rtsp, pytest.mark.slow]


@pytest.fixture
def rtsp(tmp_path: Path) -> Iterator[RtspServer]:
    if not gst_rtsp_available():
        pytest.skip(
            "GStreamer RTSP server missing: apt-get install gir1.2-gst-rtsp-server-1.0 python3-gi"
        )
    server = RtspServer(make_h264_mp4(tmp_path / "served.mp4", frames=50, gop=10)).start()
    yield server
    server.kill()


def frames_until(source: VideoSource, count: int) -> int:
    seen = 0
    for item in source:
        seen += len(item.frames)
        if seen >= count:
            break
    return seen


def test_stream_opens_fast_and_is_stamped_on_arrival(rtsp: RtspServer) -> None:
    began = time.monotonic()
    with VideoSource(rtsp.url, stall_timeout=2) as source:
        assert time.monotonic() - began < 1.5
        assert (source.width, source.height, source.codec_name) == (160, 120, "h264")
        items = []
        for item in source:
            items.append(item)
            if sum(len(i.frames) for i in items) >= 60:  # crosses the server's loop seam
                break
    frames = [f for item in items for f in item.frames]
    assert all(f.frame.format.name == "yuv420p" for f in frames)
    assert abs((frames[-1].wall_time - datetime.now(UTC)).total_seconds()) < 1
    assert any(item.keyframe for item in items)


def test_killed_server_is_a_disconnect_within_a_second(rtsp: RtspServer) -> None:
    with VideoSource(rtsp.url, stall_timeout=2) as source:
        frames_until(source, 5)
        rtsp.kill()
        killed = time.monotonic()
        with pytest.raises(SourceDisconnected):
            for _ in source:
                pass
    assert time.monotonic() - killed < 1


def test_frozen_server_is_reported_stalled(rtsp: RtspServer) -> None:
    with VideoSource(rtsp.url, stall_timeout=1) as source:
        frames_until(source, 5)
        rtsp.freeze()
        frozen = time.monotonic()
        with pytest.raises(SourceStalled, match="no packet for 1 s"):
            for _ in source:
                pass
    assert time.monotonic() - frozen < 1.8


def test_reconnects_with_backoff_when_the_server_returns(rtsp: RtspServer) -> None:
    rtsp.kill()
    backoff = Backoff(0.2, 1.0)
    restarted_at = None
    attempts = 0
    while True:
        attempts += 1
        if attempts == 3:
            rtsp.start()  # same port, as a camera rebooting
            restarted_at = time.monotonic()
        try:
            with VideoSource(rtsp.url, stall_timeout=1) as source:
                assert frames_until(source, 10) == 10
                break
        except SourceError:
            time.sleep(backoff.next_delay())
    assert restarted_at is not None and time.monotonic() - restarted_at < 10
    assert attempts == 3
