"""What keeping native originals costs a recording 1080p worker: CPU, peak memory, disk.

One real worker (``worker_main``, spawned as the supervisor does) plays the 1080p footage in a
loop in real time with an event open from its first seconds, masked (everything outside the
hotspot), with and without an unmask recipient configured; runs alternate, so both see the
same machine load. CPU is the worker's own (all threads) over the same window; memory is the
kernel's high-water mark; disk is bytes written under clips/ and originals/ over the run.

    .venv/bin/python -m bench.originals [--runs 3] [--seconds 40]   # about 5 minutes
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench.fleet import Fleet, mean_rates
from bench.footage import upscaled
from evidence.custodians import split_new_key

RESULTS = Path(__file__).parent / "results" / "originals.md"
CPU_TARGET = 5.0  # percentage points of one core
RSS_TARGET = 10.0  # MB


def one_run(path: Path, folder: Path, seconds: float, originals: dict[str, object] | None) -> dict[str, float]:
    fleet = Fleet("ours", path, 1, folder, mode="event", max_clip=60.0, originals=originals)
    try:
        fleet.wait_online()
        process = psutil.Process(fleet.processes[0].pid)
        time.sleep(3.0)  # past the pre-roll replay, into steady recording
        before, began = process.cpu_times(), time.monotonic()
        fps = mean_rates(fleet.watch(seconds), 1)[0]
        after, ended = process.cpu_times(), time.monotonic()
        peak = fleet.peak_rss()[0] / 1e6
    finally:
        fleet.stop()
    cpu = (after.user + after.system - before.user - before.system) / (ended - began) * 100
    data = folder / "data"
    per_frame = cpu * 10 / fps if fps else float("nan")  # CPU ms per frame handled
    clips = sum(p.stat().st_size for p in (data / "clips").rglob("*.mp4"))
    kept = sum(p.stat().st_size for p in (data / "originals").rglob("*.age")) if (data / "originals").is_dir() else 0
    return {"cpu": cpu, "cpu_ms": per_frame, "rss": peak, "fps": fps, "clips": clips, "originals": kept}


def writer_alone(path: Path, folder: Path, *, passes: int = 10) -> float:
    """CPU ms per packet of the original's own path (remux, age encryption, hashing, fsync),
    this process and its encryptor thread, over ``passes`` of the 1080p file."""
    import av

    from monitor.record.original import OriginalWriter

    key = split_new_key(["a", "b"], threshold=2, site="Benchmark")
    with av.open(str(path)) as source:
        stream = source.streams.video[0]
        packets = [p for p in source.demux(stream) if p.size]
        writer = OriginalWriter(folder / "alone.mp4.age", stream, recipient=key.recipient)
        began = time.process_time()
        for _ in range(passes):
            for packet in packets:
                writer.write(packet)
        writer.close()
        spent = time.process_time() - began
    return spent * 1000 / (passes * len(packets))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=40.0)
    args = parser.parse_args(argv)
    path = upscaled("1080p", 6.0)
    key = split_new_key(["a", "b"], threshold=2, site="Benchmark")  # the shares are thrown away
    with_originals = {"recipient": key.recipient, "threshold": 2, "custodians": ["a", "b"]}
    results: dict[str, list[dict[str, float]]] = {"without": [], "with": []}
    with tempfile.TemporaryDirectory() as scratch:
        for run in range(args.runs):
            for label, originals in (("without", None), ("with", with_originals)):
                outcome = one_run(path, Path(scratch) / f"{label}-{run}", args.seconds, originals)
                results[label].append(outcome)
                print(label, {k: round(v, 1) for k, v in outcome.items()}, file=sys.stderr)
        alone = writer_alone(path, Path(scratch))
    text = report(results, args, alone)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)
    return 0


def report(results: dict[str, list[dict[str, float]]], args: argparse.Namespace, alone: float) -> str:
    def median(label: str, key: str) -> float:
        return statistics.median(r[key] for r in results[label])

    cpu_extra = statistics.median(w["cpu"] - o["cpu"] for w, o in zip(results["with"], results["without"],
                                                                       strict=True))
    rss_extra = statistics.median(w["rss"] - o["rss"] for w, o in zip(results["with"], results["without"],
                                                                       strict=True))
    ratio = median("with", "originals") / max(median("with", "clips"), 1)
    share = alone / median("without", "cpu_ms") * 100
    lines = [
        f"# Native originals: cost of a recording 1080p worker ({args.runs} paired runs of {args.seconds:g} s)",
        "",
        "`.venv/bin/python -m bench.originals` (medians; extra = with minus without, paired by run)",
        "",
        "| measure | without originals | with originals (age) | extra | target | met |",
        "|---|---|---|---|---|---|",
        (f"| worker CPU, % of one core (points) | {median('without', 'cpu'):.1f} | {median('with', 'cpu'):.1f} | "
         f"{cpu_extra:+.1f} | <= +{CPU_TARGET:g} | {'yes' if cpu_extra <= CPU_TARGET else 'no'} |"),
        (f"| worker peak RSS, MB | {median('without', 'rss'):.0f} | {median('with', 'rss'):.0f} | "
         f"{rss_extra:+.1f} | <= +{RSS_TARGET:g} | {'yes' if rss_extra <= RSS_TARGET else 'no'} |"),
        (f"| worker CPU ms per frame | {median('without', 'cpu_ms'):.1f} | {median('with', 'cpu_ms'):.1f} | "
         f"{median('with', 'cpu_ms') - median('without', 'cpu_ms'):+.1f} | | |"),
        (f"| the original's path alone (remux + age + SHA-256 + fsync), CPU ms per frame | | {alone:.3f} | "
         f"{share:+.1f}% of a recording frame | <= +{CPU_TARGET:g}% | {'yes' if share <= CPU_TARGET else 'no'} |"),
        f"| frames/s held | {median('without', 'fps'):.1f} | {median('with', 'fps'):.1f} | | 15 | |",
        f"| disk: original / masked clip bytes | | {ratio:.2f} | | | |",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
