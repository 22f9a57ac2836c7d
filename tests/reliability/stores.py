"""Stores for storage tests: real sealed clips of incompressible video, and disk ballast."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from evidence.hashing import sha256_file
from monitor.config import load_config
from monitor.seal.clip_sealer import ClipSealer
from monitor.seal.database_outbox import DatabaseOutbox
from monitor.site.folders import MIB
from monitor.site.runtime import Runtime
from monitor.store.models import Clip
from tests.conftest import base_config, write_config
from tests.fixtures.media import write_video


def noise_clip(path: Path, seed: int, frames: int = 20) -> Path:
    """A real H.264 MP4 of random pixels: about 1.5 MiB that does not compress away."""
    rng = np.random.default_rng(seed)
    images = (rng.integers(0, 256, (240, 320, 3), dtype=np.uint8) for _ in range(frames))
    return write_video(path, images, fps=10, options={"preset": "ultrafast"})


def open_runtime(storage: Path, *, originals: dict[str, object] | None = None, **fields: object) -> Runtime:
    data = base_config(storage, **({"originals": originals} if originals else {}))
    data["storage"].update(fields)
    return Runtime.open(load_config(write_config(storage.parent, data)))


def seal_copy(runtime: Runtime, source: Path, clip_id: str, start: datetime,
              original: dict[str, object] | None = None) -> Path:
    """Copy a clip into the store and seal it the way the pipeline does (with its original)."""
    path = runtime.paths.clip_file("hall", start, clip_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, path)
    meta = {"width": 320, "height": 240, "fps": 10.0, "config_hash": "0" * 64, "zones": ["door"]}
    outbox = DatabaseOutbox(runtime)
    outbox.submit({"op": "clip", "id": clip_id, "event_id": f"event-{clip_id}", "part": 0, "camera_id": "hall",
                   "start": start.isoformat(), **{k: meta[k] for k in ("width", "height", "fps", "config_hash")},
                   "path": runtime.paths.relative(path)})  # as the pipeline opens it: sealing needs the row
    ClipSealer(runtime, outbox).seal(
        clip_id, f"event-{clip_id}", "hall", path, written_meta=meta, sha256=sha256_file(path),
        size=path.stat().st_size, start=start, end=start + timedelta(seconds=2), frame_count=20,
        incomplete=None, original=original,
    )
    return path


def hold(runtime: Runtime, clip_id: str) -> None:
    with runtime.sessions.begin() as session:
        row = session.get(Clip, clip_id)
        assert row is not None
        row.legal_hold = True


def ballast(folder: Path, mib: float) -> Path:
    path = folder / "ballast.bin"
    with path.open("wb") as handle:
        handle.write(b"\0" * int(mib * MIB))
    return path
