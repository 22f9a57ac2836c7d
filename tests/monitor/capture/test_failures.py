"""Sources that cannot work fail fast, with the right error and no password in the message."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from monitor.capture import (
    SourceDisconnected,
    SourceEnded,
    SourceError,
    SourceStalled,
    SourceUnavailable,
    VideoSource,
)
from tests.fixtures.media import write_video
from tests.monitor.capture.conftest import StreamServer


def open_fails(spec: str, stall_timeout: float = 5.0) -> tuple[SourceUnavailable, float]:
    began = time.monotonic()
    with pytest.raises(SourceUnavailable) as caught:
        VideoSource(spec, stall_timeout=stall_timeout).open()
    return caught.value, time.monotonic() - began


def test_missing_file(tmp_path: Path) -> None:
    error, elapsed = open_fails(str(tmp_path / "nowhere.mp4"))
    assert "nowhere.mp4" in str(error) and "not found" in str(error)
    assert elapsed < 1


def test_garbage_file(tmp_path: Path) -> None:
    path = tmp_path / "garbage.mp4"
    path.write_bytes(bytes(range(256)) * 400)
    error, elapsed = open_fails(str(path))
    assert "garbage.mp4" in str(error) and "not a readable video" in str(error)
    assert elapsed < 1


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.touch()
    error, _ = open_fails(str(path))
    assert "empty.mp4" in str(error)


def test_file_without_video(tmp_path: Path) -> None:
    import av
    import numpy as np

    path = tmp_path / "tone.wav"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 8000), dtype=np.int16), format="s16", layout="mono"
        )
        frame.sample_rate = 8000
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    error, _ = open_fails(str(path))
    assert "no video stream" in str(error)


def test_truncated_video_with_no_decodable_frame(tmp_path: Path) -> None:
    import numpy as np

    path = write_video(
        tmp_path / "cut.ts", [np.zeros((120, 160, 3), np.uint8)] * 5, container_format="mpegts"
    )
    path.write_bytes(path.read_bytes()[:600])
    error, _ = open_fails(str(path))
    assert "cut.ts" in str(error)


def test_refused_rtsp_url_is_fast_and_redacted(closed_port: int) -> None:
    error, elapsed = open_fails(f"rtsp://admin:s3cret@127.0.0.1:{closed_port}/stream1")
    assert "connection refused" in str(error)
    assert "s3cret" not in str(error) and "admin" not in str(error)
    assert f"rtsp://***@127.0.0.1:{closed_port}/stream1" in str(error)
    assert elapsed < 1


def test_silent_rtsp_server_times_out_at_open(silent_server: int) -> None:
    error, elapsed = open_fails(f"rtsp://u:pw@127.0.0.1:{silent_server}/x", stall_timeout=0.5)
    assert "pw" not in str(error)
    assert elapsed < 3


def test_unsupported_scheme() -> None:
    error, _ = open_fails("ftp://user:pw@host/file.mp4")
    assert "unsupported scheme 'ftp'" in str(error) and "pw" not in str(error)


def test_http_stream_that_freezes_is_reported_stalled(
    mpegts: Path, serve: Callable[..., StreamServer]
) -> None:
    server = serve(mpegts, stall_after=len(mpegts.read_bytes()) // 2)
    frames = 0
    with VideoSource(server.url, stall_timeout=0.5) as source:
        began = time.monotonic()
        with pytest.raises(SourceStalled, match=r"no packet for 0\.5 s"):
            for item in source:
                frames += len(item.frames)
                began = time.monotonic()
        waited = time.monotonic() - began
    assert frames > 10
    assert waited < 3


def test_http_stream_that_ends_is_a_disconnect(
    mpegts: Path, serve: Callable[..., StreamServer]
) -> None:
    server = serve(mpegts)
    frames = 0
    with VideoSource(server.url, stall_timeout=2) as source:
        assert source.codec_name == "h264" and (source.width, source.height) == (160, 120)
        with pytest.raises(SourceDisconnected):
            for item in source:
                frames += len(item.frames)
    assert frames == 100


def test_every_failure_is_a_source_error() -> None:
    for kind in (SourceUnavailable, SourceStalled, SourceDisconnected):
        assert issubclass(kind, SourceError)


def test_corruption_mid_file_skips_the_damage_and_carries_on(tmp_path: Path, mpegts: Path) -> None:
    data = bytearray(mpegts.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 3000] = bytes((i * 37) % 256 for i in range(3000))
    damaged = tmp_path / "damaged.ts"
    damaged.write_bytes(bytes(data))
    frames = 0
    with VideoSource(str(damaged), realtime=False) as source, pytest.raises(SourceEnded):
        for item in source:
            frames += len(item.frames)
    assert 60 <= frames <= 100
