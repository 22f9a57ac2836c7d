"""A real PostgreSQL server that goes away: cameras keep recording, writes wait, then land.

The server is stopped with ``pg_ctl stop -m fast`` (every client disconnected at once) and
started again on the same port and data folder, as a database restart or a network cut would.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from evidence.actions import Action
from evidence.store import EvidenceStore
from evidence.verify import verify_store
from monitor.cli import app
from monitor.config import load_config
from monitor.seal.clip_sealer import sidecar_path
from monitor.seal.spool import JOURNALS, SPOOL
from monitor.store.db import make_engine
from monitor.store.models import Alert, Clip
from monitor.store.paths import StoragePaths
from monitor.workers.supervisor import CameraStatus, Supervisor
from tests.fixtures import scenes
from tests.fixtures.postgres_server import (
    OWNER,
    PostgresServer,
    postgres_server,
    postgres_url,
    reap_orphans,
)
from tests.reliability.conftest import camera, site_config, wait_for

pytestmark = pytest.mark.slow
__all__ = ["postgres_server", "postgres_url"]  # fixtures: imported so pytest finds them

WAITING = re.compile(r"database unavailable \((.+)\): recording continues, (\d+) alert/seal write")
ORPHAN = "orphan-1"


def clips(engine: Engine) -> list[Clip]:
    """Clip rows; none while the site has not created its schema yet."""
    if not inspect(engine).has_table(Alert.__tablename__):
        return []
    with Session(engine) as session:
        return list(session.scalars(select(Clip)))


def alerts(engine: Engine, kind: str) -> list[Alert]:
    if not inspect(engine).has_table(Alert.__tablename__):
        return []
    with Session(engine) as session:
        return list(session.scalars(select(Alert).where(Alert.kind == kind)))


def waiting_writes(error: str | None) -> int:
    """How many writes a camera's status says are queued (0 when it says nothing of the kind)."""
    match = WAITING.search(error or "")
    return int(match.group(2)) if match else 0


def recorded_files(root: Path) -> list[Path]:
    return [p for p in sorted((root / "clips").rglob("*.mp4")) if p.stem != ORPHAN]


def plant_orphan(root: Path, video: Path) -> None:
    """A clip file with its sidecar that no row names: the supervisor never saw it opened (a
    crash before its row was written, or a file planted by whoever can write the folder)."""
    start = datetime(2026, 11, 23, 21, 0, tzinfo=UTC)
    path = StoragePaths(root).clip_file("hall", start, ORPHAN)
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(video, path)
    metadata = {"camera": "hall", "event_id": "event-orphan", "start": start.isoformat(),
                "width": 320, "height": 240, "fps": 15.0, "config_hash": "0" * 64}
    sidecar_path(path).write_text(json.dumps({"clip_id": ORPHAN, "metadata": metadata}))


def looping_site(folder: Path, scene: scenes.Scene, database: str) -> tuple[Path, Path]:
    """cameras.yaml for one camera looping the walk scene, and its storage folder."""
    config_path = site_config(folder, [camera("hall", str(scene.path), scene, loop=True)], database=database)
    return config_path, Path(load_config(config_path).storage.path)


def check_store(config_path: Path, engine: Engine, *, complete: set[str]) -> None:
    """Every clip sealed exactly once, ``complete`` ones not marked incomplete, one motion alert
    per event the pipeline saw, and ``hotspot verify`` passes."""
    rows = clips(engine)
    assert rows and all(c.status == "sealed" and c.sha256 for c in rows), [(c.id, c.status) for c in rows]
    assert complete <= {c.id for c in rows if c.incomplete_reason is None}, \
        "clips finished while the database was down are sealed complete"
    root = Path(load_config(config_path).storage.path)
    entries = EvidenceStore.open(root, engine).entries()
    seals = Counter(e.clip_id for e in entries if e.action == Action.SEALED)
    assert seals == Counter({c.id: 1 for c in rows}), seals
    events = Counter(a.event_id for a in alerts(engine, "motion"))
    assert events == Counter({c.event_id: 1 for c in rows if c.id != ORPHAN}), events
    report = verify_store(root, engine)
    assert report.ok, [f.message for f in report.failures]
    result = CliRunner().invoke(app, ["verify", "--config", str(config_path)])
    assert result.exit_code == 0, result.output


def test_site_started_while_postgres_is_down_records_and_seals_when_it_returns(
    tmp_path: Path, walk_scene: scenes.Scene, postgres_server: PostgresServer, postgres_url: str,
) -> None:
    """The service starts with no server and no schema; its worker records and is killed with
    its journal on disk; the supervisor holds the writes and saves everything, and quarantines
    the file no row names, once the server is back."""
    config_path, root = looping_site(tmp_path, walk_scene, postgres_url)
    plant_orphan(root, walk_scene.path)
    postgres_server.stop()
    supervisor = Supervisor(load_config(config_path))
    supervisor.start()
    engine = make_engine(postgres_url)
    try:
        def queued() -> CameraStatus | None:
            status = supervisor.statuses()["hall"]
            return status if waiting_writes(status.last_error) >= 3 else None

        status = wait_for(queued, 30, "a clip's row, alert and seal waiting for the database")
        assert status.last_error is not None and "Connection refused" in status.last_error, status
        assert status.state == "online" and status.restarts == 0, status
        finished = recorded_files(root)[0].stem  # its seal is among the queued writes
        assert sidecar_path(recorded_files(root)[0]).exists()
        assert list((root / SPOOL).glob("hall.*.jsonl")), "the records are on disk too"
        assert status.pid is not None
        os.kill(status.pid, signal.SIGKILL)
        wait_for(lambda: supervisor.statuses()["hall"].restarts >= 1, 10, "the worker restarted")
        postgres_server.start()
        wait_for(lambda: (root / "quarantine" / f"{ORPHAN}.reason.txt").is_file(), 20,
                 "the unknown file quarantined by the recovery that waited for the database")
        notices = [a.message for a in alerts(engine, "database")]
        assert any("Connection refused" in m and "were saved when it returned" in m for m in notices), notices
    finally:
        supervisor.stop()
    check_store(config_path, engine, complete={finished})
    entries = EvidenceStore.open(root, engine).entries(ORPHAN)
    assert [e.action for e in entries] == [Action.QUARANTINED], "quarantined with a custody entry, never sealed"
    assert len(alerts(engine, "camera-offline")) == 1, "the crash alert, queued by the supervisor"
    assert not list((root / SPOOL).glob("*.jsonl")) and not list((root / JOURNALS).rglob("*.jsonl"))
    assert {p.stem for p in recorded_files(root)} <= {c.id for c in clips(engine)}
    engine.dispose()


def test_postgres_lost_mid_event_queues_writes_and_saves_each_once(
    tmp_path: Path, walk_scene: scenes.Scene, postgres_server: PostgresServer, postgres_url: str,
) -> None:
    config_path, root = looping_site(tmp_path, walk_scene, postgres_url)
    supervisor = Supervisor(load_config(config_path))
    supervisor.start()
    engine = make_engine(postgres_url)
    try:
        first = wait_for(lambda: [c.id for c in clips(engine) if c.status == "recording"], 30,
                         "an event in progress")
        postgres_server.stop()
        wait_for(lambda: len(recorded_files(root)) >= 2, 15, "a second event recorded while the server is down")
        wait_for(lambda: waiting_writes(supervisor.statuses()["hall"].last_error) >= 2, 15,
                 "the camera's status says writes are waiting")
        assert supervisor.statuses()["hall"].restarts == 0
        postgres_server.start()
        wait_for(lambda: alerts(engine, "database"), 15, "the database alert")
        wait_for(lambda: len([c for c in clips(engine) if c.status == "sealed"]) >= 1, 10, "the first seal")
    finally:
        supervisor.stop()
    assert first[0] in {c.id for c in clips(engine)}
    assert len(clips(engine)) >= 2
    assert not [*(root / SPOOL).glob("*.jsonl"), *(root / JOURNALS).rglob("*.jsonl")], \
        "journals and queues are gone once written"
    check_store(config_path, engine, complete={c.id for c in clips(engine)})
    engine.dispose()


def test_a_server_left_by_a_killed_test_run_is_stopped_by_the_next_one() -> None:
    """A run killed before teardown leaves its cluster running; the next session stops it."""
    leftover = PostgresServer().start()
    gone = subprocess.Popen(["true"])
    gone.wait()
    (leftover.folder / OWNER).write_text(str(gone.pid), encoding="ascii")  # its test run is gone
    live = PostgresServer()  # this session's own cluster is left alone
    assert leftover.folder in reap_orphans()
    assert not leftover.running and not leftover.folder.exists()
    assert live.folder.exists()
    live.destroy()
