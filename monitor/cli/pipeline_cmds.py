"""``hotspot run`` and ``hotspot analyze``: the pipeline from the command line."""

from __future__ import annotations

import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy.exc import OperationalError

from monitor.capture import SourceEnded, SourceError, VideoSource
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
    try:
        runtime = Runtime.open(cfg)
    except OperationalError as exc:  # analyze seals what it finds, so it cannot do without
        console.print(f"[red]error:[/] database {database_label(cfg)} is unavailable "
                      f"({describe_unavailable(exc)}): start it, or fix storage.database in {config}",
                      soft_wrap=True, highlight=False)
        raise typer.Exit(1) from None
    try:
        with VideoSource(str(video), loop=False, realtime=False, start=begin,
                         skip_loop_filter=True) as source:
            stream = StreamInfo.of(source)
            outbox = DatabaseOutbox(runtime, on_sealed=lambda m: print(describe_sealed(m), flush=True),
                                    on_alert=_print_alert)
            pipeline = CameraPipeline(runtime, cam, stream, live_view=False, outbox=outbox)
            last = _feed(source, pipeline, begin)
            pipeline.close(last, reason="end_of_file")
    except SourceError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    finally:
        runtime.close()


def _print_alert(message: AlertMessage) -> None:
    if (line := describe_alert(message)) is not None:
        print(line, flush=True)


def _feed(source: VideoSource, pipeline: CameraPipeline, begin: datetime) -> datetime:
    """Push every packet through the pipeline, with a progress bar on a terminal."""
    last = begin
    progress = Progress(TextColumn("analyzing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        console=console, disable=not interactive())
    with progress:
        task = progress.add_task("frames", total=None)
        try:
            for packet in source:
                if frames := pipeline.process(packet):
                    last = frames[-1].wall_time
                    progress.advance(task, len(frames))
        except SourceEnded:
            pass
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
