"""VideoSource on real files: frames, formats, wall times, looping and pacing."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import numpy as np
import pytest

from monitor.capture import CapturedFrame, SourceEnded, SourceUnavailable, VideoSource
from tests.monitor.capture.conftest import FPS, GOP

START = datetime(2026, 3, 2, 22, 15, tzinfo=UTC)


def all_frames(source: VideoSource, limit: int | None = None) -> list[CapturedFrame]:
    """Every frame until the source ends (or ``limit`` frames)."""
    frames: list[CapturedFrame] = []
    try:
        for item in source:
            frames.extend(item.frames)
            if limit is not None and len(frames) >= limit:
                return frames[:limit]
    except SourceEnded:
        pass
    return frames


def y_plane(frame: av.VideoFrame) -> np.ndarray:
    """The luma plane without padding (``to_ndarray`` refuses odd-sized yuv420p)."""
    plane = frame.planes[0]
    rows = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
    return rows[:, : plane.width]


def test_h264_file_in_analyze_mode_is_stamped_start_plus_pts(h264_mp4: Path) -> None:
    with VideoSource(str(h264_mp4), realtime=False, start=START) as source:
        assert (source.width, source.height, source.fps, source.codec_name) == (
            160,
            120,
            FPS,
            "h264",
        )
        frames = all_frames(source)
    assert len(frames) == 60
    assert [f.index for f in frames] == list(range(60))
    assert all(f.frame.format.name == "yuv420p" for f in frames)
    expected = [START + timedelta(seconds=i / FPS) for i in range(60)]
    assert [f.wall_time for f in frames] == expected


def test_non_looping_file_ends_with_source_ended(h264_mp4: Path) -> None:
    with (
        VideoSource(str(h264_mp4), realtime=False) as source,
        pytest.raises(SourceEnded, match="ended after 60 frames"),
    ):
        for _ in source:
            pass


def test_keyframes_follow_the_gop(h264_mp4: Path) -> None:
    with VideoSource(str(h264_mp4), realtime=False) as source:
        keyframes = []
        try:
            for position, item in enumerate(source):
                if item.keyframe:
                    keyframes.append(position)
        except SourceEnded:
            pass
    assert keyframes == list(range(0, 60, GOP))


@pytest.mark.footage
def test_msmpeg4_avi_footage_decodes_every_frame(footage: Path) -> None:
    path = footage / "opencv-doc" / "vtest.avi"
    with VideoSource(str(path), realtime=False, start=START) as source:
        assert (source.width, source.height, source.codec_name) == (768, 576, "msmpeg4")
        frames = all_frames(source)
    assert len(frames) == 795
    assert frames[-1].wall_time == START + timedelta(seconds=794 / 10)
    assert {f.frame.format.name for f in frames} == {"yuv420p"}


@pytest.mark.footage
def test_rawvideo_that_aborts_opencv_decodes_and_converts(footage: Path) -> None:
    """demo.avi is bottom-up bgr24; PyAV reads it, and every frame comes out as yuv420p."""
    path = footage / "bgslibrary" / "demo.avi"
    with VideoSource(str(path), realtime=False) as source:
        assert (source.width, source.height, source.codec_name) == (48, 48, "rawvideo")
        frames = all_frames(source)
    assert len(frames) == 51
    with av.open(str(path)) as container:
        reference = [f.reformat(format="yuv420p") for f in container.decode(video=0)]
    for ours, theirs in zip(frames, reference, strict=True):
        assert ours.frame.format.name == "yuv420p"
        np.testing.assert_array_equal(ours.frame.to_ndarray(), theirs.to_ndarray())
    assert int(np.ptp(frames[0].frame.to_ndarray()[:48])) > 20  # a real picture, not a blank


def test_loop_keeps_wall_times_rising_across_passes(h264_mp4: Path) -> None:
    with VideoSource(str(h264_mp4), loop=True, realtime=False, start=START) as source:
        frames = all_frames(source, limit=200)
    times = [f.wall_time for f in frames]
    assert all(later > earlier for earlier, later in itertools.pairwise(times))
    assert times[60] - times[59] == timedelta(seconds=1 / FPS)  # no gap or overlap at the seam
    assert times[-1] == START + timedelta(seconds=199 / FPS)
    assert [f.index for f in frames] == list(range(200))


def test_realtime_file_is_paced_at_its_frame_rate(h264_mp4: Path) -> None:
    began = time.monotonic()
    opened = datetime.now(UTC)
    with VideoSource(str(h264_mp4), realtime=True) as source:
        frames = all_frames(source, limit=26)
    elapsed = time.monotonic() - began
    assert 0.95 <= elapsed < 2.5  # 25 frame intervals at 25 fps
    assert abs((frames[0].wall_time - opened).total_seconds()) < 0.5
    assert frames[25].wall_time - frames[0].wall_time == timedelta(seconds=1)


def test_iterating_an_unopened_source_is_an_error(h264_mp4: Path) -> None:
    with pytest.raises(RuntimeError, match="open the source"):
        next(iter(VideoSource(str(h264_mp4))))


def test_bad_arguments_are_refused(h264_mp4: Path) -> None:
    with pytest.raises(ValueError, match="stall_timeout"):
        VideoSource(str(h264_mp4), stall_timeout=0)
    with pytest.raises(ValueError, match="timezone-aware"):
        VideoSource(str(h264_mp4), start=datetime(2026, 1, 1))
    with pytest.raises(SourceUnavailable, match="file sources only"):
        VideoSource("rtsp://user:pw@camera/stream", loop=True)


def test_full_range_mjpeg_is_converted_to_yuv420p(tmp_path: Path) -> None:
    path = tmp_path / "camera.avi"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mjpeg", rate=10)
        stream.width, stream.height, stream.pix_fmt = 161, 121, "yuvj420p"
        for shade in range(0, 250, 25):
            image = np.full((121, 161, 3), shade, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode(None))
    with VideoSource(str(path), realtime=False) as source:
        assert source.codec_name == "mjpeg"
        frames = all_frames(source)
    assert len(frames) == 10
    assert {(f.frame.format.name, f.frame.width, f.frame.height) for f in frames} == {
        ("yuv420p", 161, 121)
    }
    luma = [int(y_plane(f.frame).mean()) for f in frames]
    assert luma == sorted(luma) and luma[0] < 30 and luma[-1] > 200  # limited-range luma 16..235


def test_realtime_file_behind_schedule_catches_up_instead_of_racing(h264_mp4: Path) -> None:
    """A consumer that stalls (busy CPU) must not get a burst of stale frames afterwards."""
    with VideoSource(str(h264_mp4), realtime=True) as source:
        before = all_frames(source, limit=5)
        time.sleep(1.5)
        after = all_frames(source, limit=10)
    assert abs((after[-1].wall_time - datetime.now(UTC)).total_seconds()) < 0.3
    assert after[-1].wall_time - before[-1].wall_time > timedelta(seconds=1.5)
    times = [f.wall_time for f in before + after]
    assert all(later > earlier for earlier, later in itertools.pairwise(times))
