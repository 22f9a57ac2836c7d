"""A camera process gives a clip's encoder memory back when the clip closes.

A fresh interpreter, so that glibc's allocator starts from its defaults, fixes the mmap
threshold as camera workers do, then opens, feeds and closes a 1080p libx264 encoder four times
and reads its resident memory after each close. Without the fixed threshold, memory after the
later closes sat 13-23 MiB above the first in most runs (glibc's heap kept the next encoder's
frames), and sometimes it did not.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

CLIPS = """
import json, tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av, psutil

from monitor.workers.heap import fix_mmap_threshold
from monitor.record import ClipWriter

fixed = fix_mmap_threshold()
frame = av.VideoFrame(1920, 1080, "yuv420p")
for plane in frame.planes:
    plane.update(bytes(range(256)) * (plane.buffer_size // 256) + bytes(plane.buffer_size % 256))
start, folder, after = datetime(2026, 3, 2, tzinfo=UTC), Path(tempfile.mkdtemp()), []
for clip in range(4):
    writer = ClipWriter(folder / f"{clip}.mp4", width=1920, height=1080, fps=15, start=start, threads=1)
    for index in range(8):
        writer.write(frame, start + timedelta(seconds=index / 15))
    writer.close()
    del writer
    after.append(psutil.Process().memory_info().rss / 2**20)
print(json.dumps({"fixed": fixed, "after": after}))
"""


def rss_after_closes() -> tuple[bool, list[float]]:
    run = subprocess.run([sys.executable, "-c", CLIPS], cwd=REPO, capture_output=True,
                         text=True, timeout=120, check=True)
    result = json.loads(run.stdout)
    return result["fixed"], result["after"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_memory_of_a_closed_clip_goes_back_to_the_system() -> None:
    fixed, after = rss_after_closes()
    assert fixed, "mallopt refused the threshold: not glibc?"
    assert max(after) - after[0] < 4, after  # MiB; each encoder holds about 38
