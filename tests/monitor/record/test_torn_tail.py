"""Clips left by a crash: a writer killed with SIGKILL still leaves playable footage."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest

from evidence.hashing import sha256_file
from monitor.record import ClipWriter, recover_clip
from monitor.record.torn_tail import complete_length
from tests.monitor.record.conftest import FPS, HEIGHT, WIDTH

REPO = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 2, 9, 16, 45, tzinfo=UTC)

WRITER_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime, timedelta, timezone
    from pathlib import Path
    import av
    from monitor.record import ClipWriter
    from tests.fixtures.media import moving_square_frames

    start = datetime(2026, 2, 9, 16, 45, tzinfo=timezone.utc)
    writer = ClipWriter(Path(sys.argv[1]), width=160, height=120, fps=25.0, start=start)
    for index, image in enumerate(moving_square_frames(100000, 160, 120)):
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
        writer.write(frame, start + timedelta(seconds=index / 25))
        print(index, flush=True)
        time.sleep(0.005)
    """
)


def write_clip(path: Path, frames: list[av.VideoFrame]) -> None:
    writer = ClipWriter(path, width=WIDTH, height=HEIGHT, fps=FPS, start=T0)
    for index, frame in enumerate(frames):
        writer.write(frame, T0 + timedelta(seconds=index / FPS))
    writer.close()


@pytest.mark.slow
def test_writer_killed_mid_clip_leaves_recoverable_footage(tmp_path: Path) -> None:
    path = tmp_path / "killed.mp4"
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER_SCRIPT, str(path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert child.stdout is not None
    for line in child.stdout:
        if int(line) >= 90:  # well into the fourth one-second fragment
            break
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL

    recovered = recover_clip(path)
    assert recovered is not None
    assert recovered.frame_count >= 50  # at least the first two fragments, fsynced before the kill
    assert complete_length(path) == path.stat().st_size  # whole fragments only, torn tail trimmed
    assert recovered.duration == pytest.approx(recovered.frame_count / FPS, abs=0.01)
    assert (recovered.width, recovered.height) == (WIDTH, HEIGHT)
    assert recovered.sha256 == sha256_file(path) and recovered.size == path.stat().st_size
    with av.open(str(path)) as container:
        assert sum(1 for _ in container.decode(video=0)) == recovered.frame_count


def test_torn_last_fragment_is_trimmed(
    tmp_path: Path, square_frames: Callable[[int], list[av.VideoFrame]]
) -> None:
    path = tmp_path / "torn.mp4"
    write_clip(path, square_frames(100))
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) - 2000])  # cut into the last fragment's mdat
    recovered = recover_clip(path)
    assert recovered is not None
    assert 0 < recovered.frame_count < 100 and recovered.trimmed_bytes > 0
    assert path.stat().st_size == len(whole) - 2000 - recovered.trimmed_bytes
    assert whole.startswith(path.read_bytes())
    with av.open(str(path)) as container:
        assert sum(1 for _ in container.decode(video=0)) == recovered.frame_count
    again = recover_clip(path)  # idempotent: nothing more to trim
    assert again is not None and again.trimmed_bytes == 0 and again.sha256 == recovered.sha256


def test_complete_clip_is_left_alone(
    tmp_path: Path, square_frames: Callable[[int], list[av.VideoFrame]]
) -> None:
    path = tmp_path / "whole.mp4"
    write_clip(path, square_frames(30))
    before = sha256_file(path)
    recovered = recover_clip(path)
    assert recovered is not None and recovered.trimmed_bytes == 0 and recovered.sha256 == before
    assert recovered.frame_count == 30


def test_nothing_playable_gives_none(
    tmp_path: Path, square_frames: Callable[[int], list[av.VideoFrame]]
) -> None:
    path = tmp_path / "header-only.mp4"
    write_clip(path, square_frames(30))
    header = complete_length_of_header(path)
    path.write_bytes(path.read_bytes()[:header])
    assert recover_clip(path) is None
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00\x01garbage" * 500)
    assert recover_clip(garbage) is None
    assert garbage.stat().st_size == 4500  # not an MP4: never trimmed
    empty = tmp_path / "empty.mp4"
    empty.touch()
    assert recover_clip(empty) is None
    with pytest.raises(FileNotFoundError):
        recover_clip(tmp_path / "missing.mp4")


def complete_length_of_header(path: Path) -> int:
    """Bytes of ftyp + moov: what a writer killed before its first fragment leaves."""
    data = path.read_bytes()
    moof = data.index(b"moof") - 4
    assert complete_length(path) > moof
    return moof


FULL_DISK_SCRIPT = textwrap.dedent(
    """
    import resource, signal, sys
    from datetime import datetime, timedelta, timezone
    from pathlib import Path
    import av
    from monitor.record import ClipWriteError, ClipWriter
    from tests.fixtures.media import moving_square_frames

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (40000, 40000))  # the kernel refuses bigger files
    start = datetime(2026, 2, 9, 16, 45, tzinfo=timezone.utc)
    writer = ClipWriter(Path(sys.argv[1]), width=160, height=120, fps=25.0, start=start)
    try:
        for index, image in enumerate(moving_square_frames(5000, 160, 120)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
            writer.write(frame, start + timedelta(seconds=index / 25))
    except ClipWriteError as exc:
        print("WRITE", exc)
    try:
        writer.close()
    except ClipWriteError as exc:
        print("CLOSE", exc)
    """
)


def test_full_disk_is_a_clip_write_error_and_what_was_written_recovers(tmp_path: Path) -> None:
    path = tmp_path / "full.mp4"
    done = subprocess.run(
        [sys.executable, "-c", FULL_DISK_SCRIPT, str(path)],
        check=False, cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr
    assert f"WRITE clip {path}: writing failed (File too large)" in done.stdout
    assert f"CLOSE clip {path}: " in done.stdout  # close reports it too, never a bare OSError
    recovered = recover_clip(path)
    assert recovered is not None and recovered.frame_count > 100
