"""ClipWriter output decoded back with PyAV: codec, frames, timing, hash, robustness."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice, pairwise
from pathlib import Path

import av
import numpy as np
import pytest

from evidence.hashing import sha256_file
from monitor.capture import CapturedFrame, SourceEnded, VideoSource
from monitor.detect.planes import plane_view
from monitor.record import ClipWriter, EmptyClipError
from tests.monitor.record.conftest import FPS, HEIGHT, WIDTH

T0 = datetime(2026, 2, 9, 16, 45, tzinfo=UTC)
Frames = Callable[[int], list[av.VideoFrame]]


def probe(path: Path) -> tuple[av.VideoStream, list[av.VideoFrame], float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        assert container.duration is not None
        return stream, frames, container.duration / av.time_base


def frames_of(source: VideoSource) -> Iterator[CapturedFrame]:
    try:
        for item in source:
            yield from item.frames
    except SourceEnded:
        return


def new_writer(path: Path, start: datetime = T0) -> ClipWriter:
    return ClipWriter(path, width=WIDTH, height=HEIGHT, fps=FPS, start=start)


def test_clip_decodes_as_h264_yuv420p_with_right_count_duration_and_hash(
    tmp_path: Path, square_frames: Frames
) -> None:
    path = tmp_path / "clips" / "cam" / "2026-02-09" / "clip.mp4"
    writer = new_writer(path)
    source = square_frames(75)
    for index, frame in enumerate(source):
        writer.write(frame, T0 + timedelta(seconds=index / FPS))
    clip = writer.close()
    stream, frames, duration = probe(path)
    assert (stream.codec_context.name, stream.codec_context.pix_fmt) == ("h264", "yuv420p")
    assert (stream.width, stream.height) == (WIDTH, HEIGHT)
    assert len(frames) == clip.frame_count == 75
    assert duration == pytest.approx(75 / FPS, abs=0.01)
    assert frames[0].time == 0 and frames[-1].time == pytest.approx(74 / FPS)
    assert clip.sha256 == sha256_file(path) and clip.size == path.stat().st_size
    assert (clip.start, clip.end) == (T0, T0 + timedelta(seconds=74 / FPS))
    for ours, theirs in zip(frames[::15], source[::15], strict=True):
        error = np.abs(ours.to_ndarray()[:HEIGHT].astype(int) - theirs.to_ndarray()[:HEIGHT])
        assert error.mean() < 3  # the picture survives encoding


def test_one_reused_frame_buffer_gives_the_same_clip_as_a_new_frame_each_time(
    tmp_path: Path, square_frames: Frames
) -> None:
    """libx264 copies each frame it is given, so a clip may refill one buffer: were a frame
    still held when the next is written into it, the clips would differ."""
    frames = square_frames(30)
    hashes = []
    for name in ("fresh", "reused"):
        writer = ClipWriter(tmp_path / f"{name}.mp4", width=WIDTH, height=HEIGHT, fps=FPS, start=T0, threads=1)
        buffer = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        for index, frame in enumerate(frames):
            if name == "reused":
                for source, target in zip(frame.planes, buffer.planes):
                    plane_view(target)[:] = plane_view(source)
                frame = buffer
            writer.write(frame, T0 + timedelta(seconds=index / FPS))
        hashes.append(writer.close().sha256)
    assert hashes[0] == hashes[1]


def x264_settings(path: Path) -> dict[str, str]:
    """The settings libx264 writes into the stream it encoded (a user-data SEI)."""
    data = path.read_bytes()
    start = data.index(b"x264 - core")
    text = data[start : data.index(b"\0", start)].decode()
    return dict(item.split("=", 1) for item in text.split(" options: ", 1)[1].split())


def test_clip_carries_the_encoder_settings_chosen_for_it(tmp_path: Path, square_frames: Frames) -> None:
    """No B-frames (no reorder delay before a fragment), a keyframe a second, CRF 23, one
    thread when asked, and no weighted prediction (its 1080p buffer cost 3 MB a worker)."""
    writer = ClipWriter(tmp_path / "settings.mp4", width=WIDTH, height=HEIGHT, fps=FPS, start=T0, threads=1)
    for index, frame in enumerate(square_frames(5)):
        writer.write(frame, T0 + timedelta(seconds=index / FPS))
    settings = x264_settings(writer.close().path)
    assert settings["bframes"] == "0" and settings["weightp"] == "0"
    assert settings["keyint"] == str(round(FPS)) and settings["crf"] == "23.0"
    assert settings["threads"] == "1"


def test_fragments_are_written_as_the_clip_grows(tmp_path: Path, square_frames: Frames) -> None:
    path = tmp_path / "growing.mp4"
    writer = new_writer(path)
    sizes = []
    for index, frame in enumerate(square_frames(100)):
        writer.write(frame, T0 + timedelta(seconds=index / FPS))
        sizes.append(path.stat().st_size)
    writer.close()
    assert sizes[30] > sizes[0] and sizes[80] > sizes[30]  # on disk well before close


@pytest.mark.parametrize(
    "offsets",
    [
        [i / FPS for i in range(30)]
        + [30 / FPS - 3600 + i / FPS for i in range(30)],  # clock steps back
        [i / FPS for i in range(30)] + [7200 + i / FPS for i in range(30)],  # clock jumps ahead
        [i / FPS for i in range(30)]
        + [30 / FPS] * 10
        + [(40 + i) / FPS for i in range(20)],  # repeats
        [(i // 3) / FPS for i in range(60)],  # bursts of identical times
        [0.0, 0.5, 0.3, 0.2, 1.0, 0.9, 1.4] * 8,  # jitter back and forth
    ],
    ids=["backward", "forward", "repeated", "bursts", "jitter"],
)
def test_jumping_or_backward_times_still_make_a_valid_clip(
    tmp_path: Path, square_frames: Frames, offsets: list[float]
) -> None:
    writer = new_writer(tmp_path / "odd.mp4")
    for frame, offset in zip(square_frames(len(offsets)), offsets, strict=True):
        writer.write(frame, T0 + timedelta(seconds=offset))
    clip = writer.close()
    _, frames, duration = probe(clip.path)
    assert len(frames) == len(offsets) == clip.frame_count
    times = [frame.pts or 0 for frame in frames]
    assert all(later > earlier for earlier, later in pairwise(times))
    assert duration < 10  # a jump is bridged by one frame, not by an hour of frozen picture


def test_frames_before_start_are_skipped_until_the_first_is_written(
    tmp_path: Path, square_frames: Frames
) -> None:
    writer = new_writer(tmp_path / "preroll.mp4", start=T0 + timedelta(seconds=1))
    for index, frame in enumerate(square_frames(50)):
        writer.write(frame, T0 + timedelta(seconds=index / FPS))
    clip = writer.close()
    assert clip.frame_count == 25 and writer.skipped == 25
    assert clip.start == T0 + timedelta(seconds=1)
    assert len(probe(clip.path)[1]) == 25


def test_empty_clip_is_removed_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    writer = new_writer(path)
    with pytest.raises(EmptyClipError, match=r"empty\.mp4"):
        writer.close()
    assert not path.exists()


def test_bad_frames_and_arguments_are_refused(tmp_path: Path, square_frames: Frames) -> None:
    writer = new_writer(tmp_path / "strict.mp4")
    wrong = av.VideoFrame(64, 48, "yuv420p")
    with pytest.raises(ValueError, match="160x120 yuv420p frames, got 64x48 yuv420p"):
        writer.write(wrong, T0)
    rgb = square_frames(1)[0].reformat(format="rgb24")
    with pytest.raises(ValueError, match="got 160x120 rgb24"):
        writer.write(rgb, T0)
    writer.write(square_frames(1)[0], T0)
    writer.close()
    with pytest.raises(RuntimeError, match="already closed"):
        writer.write(square_frames(1)[0], T0)
    with pytest.raises(RuntimeError, match="already closed"):
        writer.close()
    with pytest.raises(FileExistsError):
        new_writer(tmp_path / "strict.mp4")  # a clip is never overwritten
    with pytest.raises(ValueError, match="at least 2x2"):
        ClipWriter(tmp_path / "dot.mp4", width=1, height=120, fps=FPS, start=T0)
    with pytest.raises(ValueError, match="timezone-aware"):
        ClipWriter(
            tmp_path / "naive.mp4", width=160, height=120, fps=FPS, start=datetime(2026, 1, 1)
        )


@pytest.mark.footage
def test_clip_from_real_footage_through_the_source(tmp_path: Path, footage: Path) -> None:
    """The msmpeg4 AVI from capture to H.264 clip: every frame arrives, in order."""
    path = footage / "opencv-doc" / "vtest.avi"
    with VideoSource(str(path), realtime=False, start=T0) as source:
        writer = ClipWriter(
            tmp_path / "vtest.mp4",
            width=source.width,
            height=source.height,
            fps=source.fps,
            start=T0,
        )
        for captured in islice(frames_of(source), 200):
            writer.write(captured.frame, captured.wall_time)
    clip = writer.close()
    _, frames, duration = probe(clip.path)
    assert len(frames) == 200 and duration == pytest.approx(20.0, abs=0.01)
    assert clip.end - clip.start == timedelta(seconds=19.9)


def test_odd_frame_size_is_encoded_one_pixel_smaller(tmp_path: Path) -> None:
    writer = ClipWriter(tmp_path / "odd.mp4", width=161, height=121, fps=FPS, start=T0)
    for index in range(10):
        frame = av.VideoFrame.from_ndarray(np.full((121, 161, 3), 200, np.uint8), format="rgb24")
        writer.write(frame.reformat(format="yuv420p"), T0 + timedelta(seconds=index / FPS))
    clip = writer.close()
    stream, frames, _ = probe(clip.path)
    assert (clip.width, clip.height) == (stream.width, stream.height) == (160, 120)
    assert len(frames) == 10
