"""SQLite held under a write lock by another connection: alerts and seals wait, then land.

Within ``storage.busy_timeout`` a write simply waits for the lock; beyond it the write is queued
in memory, the outage is reported, and the queue drains in order once the lock is released.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evidence.verify import verify_store
from monitor.capture import SourceEnded, VideoSource
from monitor.cli import app
from monitor.config import ConfigError, load_config
from monitor.pipeline.camera import CameraPipeline, StreamInfo
from monitor.seal.clip_sealer import alert_record
from monitor.seal.database_outbox import DatabaseOutbox
from monitor.seal.spool import SPOOL
from monitor.site.runtime import Runtime
from monitor.workers.messages import AlertMessage, SealedMessage
from tests.fixtures import scenes
from tests.reliability.conftest import Site, camera, site_config

pytestmark = pytest.mark.slow

LOCK_SECONDS = 4.0
SHORT_TIMEOUT = 0.25  # storage.busy_timeout for the test that outlasts it
LONG_LOCK_SECONDS = 4.0
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


@pytest.mark.parametrize(("lock_from", "queued"), [("the start", 3), ("mid-event", 1)])
def test_writes_are_queued_past_a_short_busy_timeout_and_land_once(
    tmp_path: Path, walk_scene: scenes.Scene, lock_from: str, queued: int,
) -> None:
    """A lock held far longer than ``storage.busy_timeout``: capture never waits more than one
    timeout, the writes queue, and they land in order, each once, when the lock goes. Taken
    mid-event, the lock meets the seal first, whose custody append must not retry it either."""
    config_path = site_config(tmp_path, [camera("hall", str(walk_scene.path), walk_scene)],
                              busy_timeout=SHORT_TIMEOUT)
    runtime = Runtime.open(load_config(config_path))
    site = Site(config_path)
    taken = threading.Event()
    holder: threading.Thread | None = None
    if lock_from == "the start":
        holder = hold_write_lock(site.database, LONG_LOCK_SECONDS, taken)
        assert taken.wait(10)
    sealed: list[SealedMessage] = []
    notified: list[AlertMessage] = []
    stalls = []
    with VideoSource(str(walk_scene.path), realtime=False, start=datetime.fromisoformat(START)) as source:
        pipeline = CameraPipeline(runtime, runtime.config.camera("hall"), StreamInfo.of(source),
                                  live_view=False,
                                  outbox=DatabaseOutbox(runtime, on_sealed=sealed.append, on_alert=notified.append))
        last = datetime.fromisoformat(START)
        try:
            for packet in source:
                if holder is None and runtime.recording:  # the clip's row and alert are written
                    holder = hold_write_lock(site.database, LONG_LOCK_SECONDS, taken)
                    assert taken.wait(10)
                began = time.monotonic()
                frames = pipeline.process(packet)
                stalls.append(time.monotonic() - began)
                last = frames[-1].wall_time if frames else last
        except SourceEnded:
            pass
        assert holder is not None and holder.is_alive(), "the lock must outlast the run"
        assert pipeline.pending_writes == queued, f"{queued} write(s) wait behind the lock"
        pipeline.close(last, reason="end_of_file")
    assert max(stalls) < SHORT_TIMEOUT + 0.5, f"capture waited {max(stalls):.2f} s on the database"
    holder.join()
    runtime.close()
    assert [(c.id, c.status, c.sha256, c.incomplete_reason) for c in site.clips("hall")] == \
        [(m.clip_id, "sealed", m.sha256, None) for m in sealed] and len(sealed) == 1
    assert len(site.alert_rows("motion")) == 1
    notices = site.alert_rows("database")
    assert len(notices) == 1, [a.message for a in notices]
    assert "database is locked" in notices[0].message and f"{queued} alert/seal write(s)" in notices[0].message, \
        notices[0].message
    assert [m.alert_id for m in notified if m.kind == "database"] == [notices[0].id], \
        "the pipeline's listener (the dashboard's feed) hears of the outage too"
    report = verify_store(site.root, site.engine)
    assert report.ok, [f.message for f in report.failures]
    site.engine.dispose()


@pytest.mark.parametrize("value", [0, -1, 601, "soon"])
def test_busy_timeout_must_be_a_sensible_number_of_seconds(tmp_path: Path, value: object) -> None:
    config_path = site_config(tmp_path, [], busy_timeout=value)
    with pytest.raises(ConfigError, match="busy_timeout"):
        load_config(config_path)


def test_a_queue_left_on_disk_is_redone_once_and_bad_lines_are_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    """A worker died with a write queued: its successor writes it, even from two copies of the
    file (died after writing, before deleting), and names what it cannot read."""
    config_path = site_config(tmp_path, [], busy_timeout=SHORT_TIMEOUT)
    runtime = Runtime.open(load_config(config_path))
    site = Site(config_path)
    taken = threading.Event()
    holder = hold_write_lock(site.database, 1.0, taken)
    assert taken.wait(10)
    alert = {"kind": "motion", "camera_id": "hall", "time": datetime.now(UTC), "message": "Motion in door"}
    DatabaseOutbox(runtime).submit(alert_record(alert))
    [spool] = (runtime.paths.root / SPOOL).glob("hall.*.jsonl")  # the worker dies here
    holder.join()
    spool.write_text(spool.read_text() + '{"op": "teleport"}\n{"op": "alert", "fie', encoding="utf-8")
    shutil.copyfile(spool, spool.with_name("hall.copy.jsonl"))

    assert DatabaseOutbox(runtime).redo_spooled("hall") == 2
    assert [(a.kind, a.message) for a in site.alert_rows("motion")] == [("motion", "Motion in door")]
    assert "2 alert/seal write(s) queued" in site.alert_rows("database")[0].message
    assert not list((runtime.paths.root / SPOOL).iterdir())
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("cannot redo 'teleport': unknown write" in e for e in errors), errors
    assert any("line 3: not a JSON record" in e for e in errors), errors
    runtime.close()
    site.engine.dispose()
