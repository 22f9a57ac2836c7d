"""The largest camera count three recorder nodes on this machine hold in real time, against one.

Each trial is real: a throwaway PostgreSQL, one shared ``cameras.yaml`` and storage folder, and
one or three ``hotspot serve --node`` processes; every camera loops the same file and leases
spread the cameras over the nodes. Once every camera is leased and online, each node's published
status (the ``camera_leases`` rows every dashboard reads) is sampled once a second over a window;
a count holds when every camera averaged at least 97% of the file's frame rate.

    python -m bench.nodes --counts 2,4 --window 15        # a few minutes
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML
from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session

from bench.footage import upscaled
from bench.sites import camera_entry, write_site
from monitor.store.db import make_engine
from monitor.store.leases import CameraLease
from tests.fixtures.postgres_server import PostgresServer, free_port

HOTSPOT = Path(sys.executable).with_name("hotspot")
FILE_FPS = 15.0
HOLDS = 0.97  # fraction of the file's frame rate every camera must average
SETTLE_TIMEOUT = 120.0  # seconds for every camera to be leased and online


@dataclass(frozen=True)
class Trial:
    nodes: int
    cameras: int
    held: bool
    worst_fps: float
    per_node: dict[str, int]
    note: str = ""


def _site(folder: Path, source: Path, cameras: int, database: str) -> Path:
    """Cameras looping ``source``, detecting without recording; fast leases on ``database``."""
    path = write_site(folder, [camera_entry(f"cam{i:02d}", source, mode="idle", loop=True)
                               for i in range(cameras)])
    yaml = YAML()
    data = yaml.load(path.read_text(encoding="utf-8"))
    data["storage"]["database"] = database
    data["nodes"] = {"heartbeat": 0.5, "lease": 3.0}
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(data, handle)
    return path


def _node(config: Path, name: str) -> subprocess.Popen[bytes]:
    """``hotspot serve --node name`` in its own process group, its output in ``name.log``."""
    with (config.parent / f"{name}.log").open("wb") as output:
        return subprocess.Popen([str(HOTSPOT), "serve", "--config", str(config), "--node", name,
                                 "--port", str(free_port())], cwd=config.parent, start_new_session=True,
                                stdout=output, stderr=subprocess.STDOUT)


def _last_line(log: Path) -> str:
    lines = log.read_text(errors="replace").strip().splitlines()
    return lines[-1] if lines else "(no output)"


def _statuses(engine: Engine) -> dict[str, CameraLease]:
    """Leases in force (none before the first node made the tables)."""
    if not inspect(engine).has_table(CameraLease.__tablename__):
        return {}
    with Session(engine) as session:
        return {row.camera_id: row for row in session.scalars(select(CameraLease)) if not row.released}


def _settled(rows: dict[str, CameraLease], cameras: int, nodes: int) -> bool:
    """Every camera leased, online, and spread (no node above its share)."""
    if len(rows) < cameras or any(r.status.get("state") != "online" for r in rows.values()):
        return False
    counts = [sum(1 for r in rows.values() if r.node == f"n{i}") for i in range(nodes)]
    return max(counts) <= math.ceil(cameras / nodes)


def trial(server: PostgresServer, source: Path, *, nodes: int, cameras: int, window: float) -> Trial:
    """One site of ``cameras`` cameras on ``nodes`` nodes, measured over ``window`` seconds."""
    folder = Path(tempfile.mkdtemp(prefix="bench-nodes-"))
    config = _site(folder, source, cameras, server.create_database())
    engine = make_engine(YAML(typ="safe").load(config.read_text())["storage"]["database"])
    processes: list[subprocess.Popen[bytes]] = []
    try:
        deadline = time.monotonic() + SETTLE_TIMEOUT
        for index in range(nodes):  # the first alone: it makes the schema, the others join it
            processes.append(_node(config, f"n{index}"))
            while not (rows := _statuses(engine)) and index == 0 and time.monotonic() < deadline:
                time.sleep(0.5)
        while not _settled(rows := _statuses(engine), cameras, nodes):
            dead = [f"n{i}" for i, p in enumerate(processes) if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                note = f"{dead[0]} exited: {_last_line(folder / f'{dead[0]}.log')}" if dead \
                    else "never all online and spread"
                return Trial(nodes, cameras, False, 0.0, _per_node(rows), note)
            time.sleep(1.0)
        time.sleep(3.0)  # past the workers' first seconds
        samples: dict[str, list[float]] = {}
        end = time.monotonic() + window
        while time.monotonic() < end:
            for camera_id, row in _statuses(engine).items():
                samples.setdefault(camera_id, []).append(float(row.status.get("fps") or 0.0))
            time.sleep(1.0)
        means = [statistics.fmean(v) for v in samples.values()] + [0.0] * (cameras - len(samples))
        worst = min(means)
        return Trial(nodes, cameras, worst >= HOLDS * FILE_FPS, worst, _per_node(_statuses(engine)))
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
        engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)


def _per_node(rows: dict[str, CameraLease]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows.values():
        counts[row.node] = counts.get(row.node, 0) + 1
    return dict(sorted(counts.items()))


def report(trials: list[Trial]) -> str:
    lines = ["| cameras | nodes | holds | worst camera fps | cameras per node | note |", "|---|---|---|---|---|---|"]
    for t in trials:
        spread = ", ".join(f"{n}: {c}" for n, c in t.per_node.items())
        lines.append(f"| {t.cameras} | {t.nodes} | {'yes' if t.held else 'no'} | {t.worst_fps:.1f} | {spread} | {t.note} |")
    for nodes in sorted({t.nodes for t in trials}):
        held = [t.cameras for t in trials if t.nodes == nodes and t.held]
        lines.append(f"\nlargest count held by {nodes} node(s) among those tried: {max(held) if held else 'none'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="2,4", help="camera counts to try, comma-separated")
    parser.add_argument("--nodes", default="1,3", help="node counts to compare, comma-separated")
    parser.add_argument("--window", type=float, default=15.0, help="seconds measured per trial")
    parser.add_argument("--size", default="720p", choices=("720p", "1080p"), help="the looped file's size")
    args = parser.parse_args(argv)
    source = upscaled(args.size, 20.0)
    server = PostgresServer().start()
    trials: list[Trial] = []
    try:
        for cameras in (int(c) for c in args.counts.split(",")):
            for nodes in (int(n) for n in args.nodes.split(",")):
                trials.append(done := trial(server, source, nodes=nodes, cameras=cameras, window=args.window))
                print(f"{cameras} cameras on {nodes} node(s): {'holds' if done.held else 'does not hold'} "
                      f"(worst {done.worst_fps:.1f} fps) {done.per_node} {done.note}", flush=True)
    finally:
        server.destroy()
    print(report(trials))


if __name__ == "__main__":
    main()
