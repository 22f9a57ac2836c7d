"""Peak resident memory of a real worker process recording at 1080p with a 5 s pre-roll.

The event never ends and is split into a clip every ``MAX_CLIP`` seconds (the shortest a site
may set), so the peak covers clip boundaries too: there one encoder is freed and the next
allocated, which is where glibc's heap used to hold on to memory (see ``monitor.workers.heap``).

Measured with the default encoder preset and with ``ultrafast``, which a site short of memory
can set per camera (``recording.encoder_preset``): libx264 then keeps no sub-pixel planes, for
larger files (6-70% larger on the shared footage at the same CRF).
"""

from __future__ import annotations

from pathlib import Path

from bench.fleet import Fleet, mean_rates
from bench.table import Row, Spread
from monitor.record.clip_writer import DEFAULT_PRESET

LIMIT_MB = 150.0
MAX_CLIP = 5.0


def peak_mb(path: Path, folder: Path, seconds: float, preset: str = DEFAULT_PRESET) -> tuple[float, float]:
    """(peak RSS in MB, frame rate held) of one worker that records for ``seconds``.

    The event opens at once and stays open, so the worker holds the pre-roll, the clip's
    decoder and the H.264 encoder together, and starts a new clip every ``MAX_CLIP`` seconds:
    its worst case.
    """
    fleet = Fleet("ours", path, 1, folder, mode="event", encoder_preset=preset, max_clip=MAX_CLIP)
    try:
        fleet.wait_online()
        rates = mean_rates(fleet.watch(seconds), 1)
        peak = fleet.peak_rss()[0] / 1e6
    finally:
        fleet.stop()
    return peak, rates[0]


def measure(path: Path, scratch: Path, *, size: str, runs: int, seconds: float) -> list[Row]:
    rows = []
    for preset in (DEFAULT_PRESET, "ultrafast"):
        peaks = [peak_mb(path, scratch / f"rss-{size}-{preset}-{run}", seconds, preset) for run in range(runs)]
        mb = Spread.of([peak for peak, _ in peaks])
        fps = min(rate for _, rate in peaks)
        rows.append(Row(f"worker peak RSS, 5 s pre-roll, recording ({preset}, a clip every {MAX_CLIP:g} s)",
                        size, mb, "MB",
                        target=f"<= {LIMIT_MB:.0f} MB", met=mb.median <= LIMIT_MB, digits=0,
                        note=f"slowest run {fps:.1f} fps"))
    return rows
