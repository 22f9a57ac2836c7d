"""Evidence benchmarks: ``python bench/verify_bench.py [--quick] [--json]``.

1. Verification throughput: ``verify_store`` re-hashing large sealed files, against ``sha256sum``
   of the same files (target: at least 0.9x its throughput), and ``sha256_file`` on one file.
2. Seal latency: from closing a 60 s clip (written through the real ``ClipWriter``, hashing as
   it writes) to its SEALED entry being committed (target: at most 0.3 s); for context, the
   same with the clip read back to hash it.

Files are written first, so both sides read from the page cache: this compares hashing and
I/O paths, not the disk. ``--quick`` shrinks everything so a test can check it still runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import av
import numpy as np

from bench.table import Row, Spread, markdown
from evidence.hashing import sha256_file
from evidence.store import EvidenceStore
from evidence.verify import verify_store
from monitor.record import ClipWriter
from monitor.store.db import make_engine

MIB = 1 << 20


@dataclass(frozen=True)
class Plan:
    files: int
    file_mib: int
    runs: int
    clip_seconds: float
    clip_size: tuple[int, int]
    seals: int


FULL = Plan(files=4, file_mib=512, runs=3, clip_seconds=60.0, clip_size=(640, 360), seals=5)
QUICK = Plan(files=2, file_mib=16, runs=1, clip_seconds=10.0, clip_size=(160, 120), seals=2)


def timed(action: Callable[[], object]) -> float:
    begin = time.perf_counter()
    action()
    return time.perf_counter() - begin


def open_store(root: Path) -> EvidenceStore:
    return EvidenceStore.open(root, make_engine(f"sqlite:///{root}/hotspot.db"))


def big_files(root: Path, plan: Plan) -> list[Path]:
    """Sealed files of random bytes (incompressible, like H.264) under clips/."""
    ev = open_store(root)
    paths = []
    for index in range(plan.files):
        path = root / "clips" / "bench" / f"big{index}.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            for _ in range(plan.file_mib):
                handle.write(os.urandom(MIB))
        ev.seal_clip(clip_id=f"big{index}", path=path.relative_to(root).as_posix(), sha256=sha256_file(path),
                     size=path.stat().st_size, metadata={"camera": "bench"})
        paths.append(path)
    return paths


def throughput_rows(root: Path, plan: Plan) -> list[Row]:
    paths = big_files(root, plan)
    total = sum(p.stat().st_size for p in paths) / 1e6
    sha256sum = [timed(lambda: subprocess.run(["sha256sum", *map(str, paths)], check=True, capture_output=True))
                 for _ in range(plan.runs)]
    engine = make_engine(f"sqlite:///{root}/hotspot.db")
    ours, reports = [], []
    for _ in range(plan.runs):
        begin = time.perf_counter()
        reports.append(verify_store(root, engine))
        ours.append(time.perf_counter() - begin)
    if not all(r.ok for r in reports):
        raise SystemExit(f"the benchmark store did not verify: {reports[0].failures}")
    one = [timed(lambda: sha256_file(paths[0])) for _ in range(plan.runs)]
    one_ref = [timed(lambda: subprocess.run(["sha256sum", str(paths[0])], check=True, capture_output=True))
               for _ in range(plan.runs)]
    size = f"{plan.files} x {plan.file_mib} MiB"
    return [
        _rate_row("verify_store (whole store)", size, total, ours, sha256sum, "sha256sum, all files"),
        _rate_row("sha256_file (one file)", f"{plan.file_mib} MiB", plan.file_mib * MIB / 1e6, one, one_ref,
                  "sha256sum, same file"),
    ]


def _rate_row(measure: str, size: str, megabytes: float, ours: list[float], reference: list[float],
              name: str) -> Row:
    rates = [megabytes / t for t in ours]
    reference_rates = [megabytes / t for t in reference]
    ratio = Spread.of([r / Spread.of(reference_rates).median for r in rates])
    return Row(measure=measure, size=size, ours=Spread.of(rates), unit="MB/s", reference=Spread.of(reference_rates),
               reference_name=name, ratio=ratio, target=">= 0.9x", met=ratio.median >= 0.9, digits=0)


def frames(size: tuple[int, int], count: int) -> list[av.VideoFrame]:
    """A textured background with a bright square sliding across it, as yuv420p frames."""
    width, height = size
    base = np.fromfunction(lambda y, x, c: (x * 3 + y * 5 + c * 40) % 256, (height, width, 3)).astype(np.uint8)
    result = []
    for index in range(count):
        image = base.copy()
        x = (index * 7) % max(1, width - 32)
        image[height // 3: height // 3 + 32, x: x + 32] = 240
        result.append(av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p"))
    return result


def seal_rows(root: Path, plan: Plan) -> list[Row]:
    ev = open_store(root)
    fps = 25.0
    pattern = frames(plan.clip_size, 50)
    streaming: list[float] = []
    reread: list[float] = []
    for index in range(plan.seals * 2):
        start = datetime(2026, 3, 2, 10, tzinfo=UTC) + timedelta(minutes=index)
        path = root / "clips" / "bench" / f"seal{index}.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = ClipWriter(path, width=plan.clip_size[0], height=plan.clip_size[1], fps=fps, start=start)
        for n in range(int(plan.clip_seconds * fps)):
            writer.write(pattern[n % len(pattern)], start + timedelta(seconds=n / fps))
        begin = time.perf_counter()
        written = writer.close()
        digest = written.sha256 if index % 2 == 0 else sha256_file(path)
        ev.seal_clip(clip_id=f"seal{index}", path=path.relative_to(root).as_posix(), sha256=digest,
                     size=written.size, metadata={"camera": "bench", "frame_count": written.frame_count})
        (streaming if index % 2 == 0 else reread).append(time.perf_counter() - begin)
    size = f"{plan.clip_seconds:.0f} s {plan.clip_size[0]}x{plan.clip_size[1]}"
    return [
        Row(measure="clip close -> seal committed", size=size, ours=Spread.of(streaming), unit="s",
            reference=Spread.of(reread), reference_name="close, re-read to hash, seal",
            target="<= 0.3 s", met=Spread.of(streaming).median <= 0.3, digits=3),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small files and a short clip, one run")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    if shutil.which("sha256sum") is None:
        parser.error("sha256sum is needed as the reference")
    with tempfile.TemporaryDirectory(prefix="verify-bench-") as folder:
        rows = throughput_rows(Path(folder) / "throughput", plan) + seal_rows(Path(folder) / "seal", plan)
    if args.json:
        print(json.dumps([asdict(row) for row in rows], indent=2))
    else:
        print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
