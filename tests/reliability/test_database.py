"""SQLite held under a write lock by another connection: alerts and seals wait, then land."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evidence.verify import verify_store
from monitor.cli import app
from monitor.config import load_config
from monitor.runtime import Runtime
from tests.fixtures import scenes
from tests.reliability.conftest import Site, camera, site_config

pytestmark = pytest.mark.slow

LOCK_SECONDS = 4.0
START = "2026-11-23T16:05:00-06:00"  # after hours on a Monday


def hold_write_lock(database: Path, seconds: float, taken: threading.Event) -> threading.Thread:
    """Another connection takes SQLite's write lock and keeps it for ``seconds``."""
    def hold() -> None:
        connection = sqlite3.connect(database, isolation_level=None)
        connection.execute("BEGIN EXCLUSIVE")
        connection.execute("UPDATE custody_append_lock SET appends = appends WHERE id = 1")
        taken.set()
        time.sleep(seconds)
        connection.execute("COMMIT")
        connection.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    return thread


def test_alerts_and_seals_land_after_a_long_write_lock(tmp_path: Path, walk_scene: scenes.Scene) -> None:
    config_path = site_config(tmp_path, [camera("hall", str(walk_scene.path), walk_scene)])
    Runtime.open(load_config(config_path)).close()  # the database exists before anyone locks it
    site = Site(config_path)
    taken = threading.Event()
    holder = hold_write_lock(site.database, LOCK_SECONDS, taken)
    assert taken.wait(10)
    began = time.monotonic()
    # In-process, so the run itself takes about a second and the wait is the lock's.
    result = CliRunner().invoke(app, ["analyze", str(walk_scene.path), "--camera", "hall",
                                      "--config", str(config_path), "--start", START])
    holder.join()
    assert result.exit_code == 0, result.output
    assert time.monotonic() - began >= LOCK_SECONDS - 0.5, "the writes must have waited for the lock"
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(events) == 1 and len(events[0]["sha256"]) == 64
    alerts = site.alert_rows("motion")
    clips = site.clips("hall")
    assert len(alerts) == 1 and alerts[0].snapshot_path
    assert [(c.id, c.status, c.sha256) for c in clips] == [(events[0]["clip_id"], "sealed", events[0]["sha256"])]
    report = verify_store(site.root, site.engine)
    assert report.ok, [f.message for f in report.failures]
    site.engine.dispose()
