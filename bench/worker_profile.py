"""Where a camera worker's CPU goes per packet: a cProfile of the real worker, in-process.

```sh
.venv/bin/python -m bench.worker_profile --state off-schedule --packets 3000
```

The worker (``CameraWorker.run``: source, pipeline, reporter, control queue) plays the busy
clip at 1080p as the gates benchmark does, in one of its states, with real-time pacing's
sleeps left out so a few thousand packets take seconds. Times are CPU time
(``time.process_time``), so the table shows what the worker spends, not what it waits.
"""

from __future__ import annotations

import argparse
import cProfile
import multiprocessing as mp
import pstats
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.footage import SIZES, upscaled
from bench.gates import gate_site, still_hall
from monitor.capture import timeline
from monitor.workers.camera_worker import CameraWorker

SHOWN = 25


def unpaced() -> None:
    """Real-time sources keep their wall times but no longer wait for them."""
    timeline.Timeline._pace = lambda self, packet: None  # type: ignore[method-assign]


def profile(state: str, size: str, packets: int, folder: Path, *,
            profiled: bool = True) -> tuple[pstats.Stats | None, float]:
    """The profile of ``packets`` packets of one worker (None when not ``profiled``), and its
    CPU seconds per packet."""
    path = still_hall(size, 40.0) if state == "still" else upscaled(size, 40.0)
    config = gate_site(path, folder, off_schedule=state == "off-schedule")
    messages: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    worker = CameraWorker(config, "cam-0", messages, mp.Queue())
    count = 0
    frames = worker.reporter.frames

    def counting(*args: object, **kwargs: object) -> None:
        nonlocal count
        count += 1
        if count >= packets:
            worker.request_stop()
        frames(*args, **kwargs)  # type: ignore[arg-type]

    worker.reporter.frames = counting  # type: ignore[method-assign]
    profiler = cProfile.Profile(time.process_time)
    began = time.process_time()
    profiler.runcall(worker.run) if profiled else worker.run()
    spent = time.process_time() - began
    return pstats.Stats(profiler) if profiled else None, spent / max(count, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", default="off-schedule", choices=("off-schedule", "still", "busy"))
    parser.add_argument("--size", default="1080p", choices=sorted(SIZES))
    parser.add_argument("--packets", type=int, default=3000)
    parser.add_argument("--time-only", action="store_true", help="no profiler: CPU per packet only")
    args = parser.parse_args(argv)
    unpaced()
    with tempfile.TemporaryDirectory() as scratch:
        stats, per_packet = profile(args.state, args.size, args.packets, Path(scratch), profiled=not args.time_only)
    print(f"{args.state} at {args.size}: {1000 * per_packet:.3f} ms CPU per packet"
          f"{'' if stats is None else ' (profiler included)'}")
    if stats is not None:
        stats.sort_stats("tottime").print_stats(SHOWN)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
