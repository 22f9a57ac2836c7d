"""``hotspot run`` and ``hotspot analyze``: the pipeline from the command line."""

from __future__ import annotations

import heapq
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy.exc import OperationalError

from monitor.capture import CapturedPacket, SourceEnded, SourceError, VideoSource
from monitor.cli.common import (
    DEFAULT_CONFIG,
    ConfigOption,
    NodeOption,
    console,
    database_label,
    interactive,
    load_or_exit,
    start_recovery,
)
from monitor.detect.threads import one_opencv_thread
from monitor.pipeline.camera import CameraPipeline, StreamInfo, describe_alert, describe_sealed
from monitor.seal.database_outbox import DatabaseOutbox
from monitor.site.runtime import Runtime
from monitor.store.db import describe_unavailable
from monitor.workers.heap import fix_mmap_threshold
from monitor.workers.messages import AlertMessage
from monitor.workers.supervisor import CameraStatus, Supervisor


def _parse_start(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        start = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not ISO-8601 (e.g. 2026-11-23T16:05:00-06:00)") from None
    if start.tzinfo is None:
        raise typer.BadParameter(f"{value!r} has no UTC offset; add one, e.g. -06:00 or Z")
    return start


def analyze(
    video: Annotated[Path, typer.Argument(help="video file to process", exists=False)],
    camera: Annotated[str, typer.Option("--camera", help="camera id whose zones and privacy apply")],
    config: ConfigOption = DEFAULT_CONFIG,
    start: Annotated[str | None, typer.Option(help="wall-clock time of the first frame, ISO-8601")] = None,
    detect: Annotated[Path | None, typer.Option(
        "--detect", help="the camera's detect substream recorded with VIDEO (same start): detection "
                         "reads it, clips come from VIDEO. Without it detection reads VIDEO, even for a "
                         "camera with a detect section (a file analysis has no live substream)")] = None,
) -> None:
    """Process a video file as if it were CAMERA's stream; print one JSON line per clip and per
    alert that is not motion (tamper)."""
    one_opencv_thread()
    fix_mmap_threshold()  # records clips like a camera worker
    cfg = load_or_exit(config)
    try:
        cam = cfg.camera(camera)
    except KeyError:
        known = ", ".join(c.id for c in cfg.cameras) or "none"
        console.print(f"[red]error:[/] {config}: no camera {camera!r} (cameras: {known})")
        raise typer.Exit(2) from None
    begin = _parse_start(start)
    with ExitStack() as stack:
        sub = _open_substream(detect, begin) if detect is not None else None
        if sub is not None:
            stack.callback(sub.close)
        try:
            runtime = Runtime.open(cfg)
        except OperationalError as exc:  # analyze seals what it finds, so it cannot do without
            console.print(f"[red]error:[/] database {database_label(cfg)} is unavailable "
                          f"({describe_unavailable(exc)}): start it, or fix storage.database in {config}",
                          soft_wrap=True, highlight=False)
            raise typer.Exit(1) from None
        stack.callback(runtime.close)
        try:
            with _file_source(video, begin) as source:
                outbox = DatabaseOutbox(runtime, on_sealed=lambda m: print(describe_sealed(m), flush=True),
                                        on_alert=_print_alert)
                pipeline = CameraPipeline(runtime, cam, StreamInfo.of(source), live_view=False, outbox=outbox,
                                          detect=StreamInfo.of(sub) if sub is not None else None)
                packets = _until_end(source, MAIN)
                if sub is not None:  # on ties the main stream first, as the worker's readers deliver
                    packets = heapq.merge(packets, _until_end(sub, DETECT), key=lambda item: item[0])
                last = _feed(packets, pipeline, begin, detect)
                pipeline.close(last, reason="end_of_file")
        except SourceError as exc:
            console.print(f"[red]error:[/] {exc}")
            raise typer.Exit(1) from None


def _print_alert(message: AlertMessage) -> None:
    if (line := describe_alert(message)) is not None:
        print(line, flush=True)


MAIN, DETECT = "main", "detect"
Tagged = tuple[datetime, str, CapturedPacket | None]  # wall time, stream, packet (None: the stream ended)


def _file_source(path: Path, begin: datetime) -> VideoSource:
    return VideoSource(str(path), loop=False, realtime=False, start=begin, skip_loop_filter=True)


def _open_substream(path: Path, begin: datetime) -> VideoSource:
    """The ``--detect`` file, opened before anything else so that a wrong name costs nothing."""
    try:
        return _file_source(path, begin).open()
    except SourceError as exc:
        console.print(f"[red]error:[/] --detect {path}: {exc.problem}", soft_wrap=True, highlight=False)
        raise typer.Exit(2) from None


def _until_end(source: VideoSource, stream: str) -> Iterator[Tagged]:
    """A file's packets, read one at a time in its own (decode) order, which ``heapq.merge``
    keeps; then its end, at its latest wall time."""
    last: datetime | None = None
    try:
        for packet in source:
            last = packet.wall_time if last is None else max(last, packet.wall_time)
            yield packet.wall_time, stream, packet
    except SourceEnded:
        pass
    if last is not None:
        yield last, stream, None


def _feed(packets: Iterable[Tagged], pipeline: CameraPipeline, begin: datetime, detect: Path | None) -> datetime:
    """Hand each packet to the pipeline as the camera worker does (``substream_feed``), with a
    progress bar on a terminal; returns the wall time of the last frame analysed. The analysis
    ends with the main file; a substream file that ends first leaves detection to the main one."""
    last = begin
    progress = Progress(TextColumn("analyzing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        console=console, disable=not interactive())
    with progress:
        task = progress.add_task("frames", total=None)
        for wall_time, stream, packet in packets:
            if packet is None:
                if stream == MAIN:
                    break
                console.print(f"[yellow]warning:[/] --detect {detect} ended at {wall_time.isoformat()}, "
                              "before the video: detecting on the video from there",
                              soft_wrap=True, highlight=False)
                pipeline.detect_on_main()
            elif stream == MAIN and pipeline.detects_on_substream:
                pipeline.record(packet)
            elif frames := pipeline.process(packet):
                last = frames[-1].wall_time
                progress.advance(task, len(frames))
    return last


def _status_table(statuses: dict[str, CameraStatus]) -> Table:
    table = Table("camera", "state", "fps", "restarts", "last error")
    for status in statuses.values():
        table.add_row(status.camera_id, status.state, f"{status.fps:.1f}", str(status.restarts),
                      status.last_error or "")
    return table


def run(config: ConfigOption = DEFAULT_CONFIG, node: NodeOption = None) -> None:
    """Start every camera worker and keep them running until interrupted; with ``--node``, only
    the cameras this recorder node wins the lease of (docs/nodes.md)."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # before anything slow, so a stop is never lost
        signal.signal(sig, lambda *_: stop.set())
    cfg = load_or_exit(config)
    node = node or cfg.node
    runtime = Runtime.open(cfg, require_database=False)  # cameras record through an outage
    try:
        recovered = start_recovery(runtime, cfg, node, meanwhile="cameras record and queue their alerts "
                                                                 "and seals until it returns")
    finally:
        runtime.close()
    if stop.is_set():
        return
    supervisor = Supervisor(cfg, recovered=recovered, node=node)
    supervisor.start()
    if node is None:
        console.print(f"started {len(cfg.cameras)} camera worker(s); Ctrl-C to stop")
    else:
        console.print(f"node {node}: records the cameras whose lease it holds, of {len(cfg.cameras)}; "
                      "Ctrl-C to stop", highlight=False)
    try:
        if interactive():
            with Live(_status_table(supervisor.statuses()), console=console, refresh_per_second=1) as live:
                while not stop.wait(1.0):
                    live.update(_status_table(supervisor.statuses()))
        else:
            stop.wait()
    finally:
        supervisor.stop()
    sys.exit(0)


def register(app: typer.Typer) -> None:
    app.command()(run)
    app.command()(analyze)
