"""The whole service dies while a finished clip's seal waits for a locked database.

On the next start the recovery pass must redo the queued writes before it looks for orphans:
the clip was finished, so it is sealed complete, once, and is not taken for a crash leftover.
"""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import pytest

from evidence.actions import Action
from evidence.hashing import sha256_file
from evidence.verify import verify_store
from monitor.capture import SourceEnded, VideoSource
from monitor.config import load_config
from monitor.pipeline.camera import CameraPipeline, StreamInfo
from monitor.seal.clip_sealer import sidecar_path
from monitor.seal.crash_recovery import recover_at_start
from monitor.seal.database_outbox import DatabaseOutbox
from monitor.seal.spool import SPOOL
from monitor.site.runtime import Runtime
from tests.fixtures import scenes
from tests.reliability.conftest import Site, camera, site_config
from tests.reliability.test_database import SHORT_TIMEOUT, START, hold_write_lock

pytestmark = pytest.mark.slow

LOCK_SECONDS = 4.0


def record_with_writes_queued(config_path: Path, scene: scenes.Scene, site: Site) -> None:
    """Run one event through the pipeline while another connection holds the write lock, then
    stop as a kill -9 would: the clip file, its sidecar and the queue file stay on disk, and
    nothing retries the writes held in memory."""
    runtime = Runtime.open(load_config(config_path))
    taken = threading.Event()
    holder = hold_write_lock(site.database, LOCK_SECONDS, taken)
    assert taken.wait(10)
    with VideoSource(str(scene.path), realtime=False, start=datetime.fromisoformat(START)) as source:
        pipeline = CameraPipeline(runtime, runtime.config.camera("hall"), StreamInfo.of(source),
                                  live_view=False, outbox=DatabaseOutbox(runtime))
        try:
            for packet in source:
                pipeline.process(packet)
        except SourceEnded:
            pass
    assert holder.is_alive(), "the lock must outlast the run"
    assert pipeline.pending_writes == 3, "the clip row, its alert and its seal are queued"
    holder.join()  # the process is gone: its queue in memory is never retried


def test_recovery_redoes_a_queued_seal_before_looking_for_orphans(
    tmp_path: Path, walk_scene: scenes.Scene,
) -> None:
    config_path = site_config(tmp_path, [camera("hall", str(walk_scene.path), walk_scene)],
                              busy_timeout=SHORT_TIMEOUT)
    Runtime.open(load_config(config_path)).close()
    site = Site(config_path)
    record_with_writes_queued(config_path, walk_scene, site)
    [clip_file] = sorted((site.root / "clips").rglob("*.mp4"))
    [spool] = (site.root / SPOOL).glob("hall.*.jsonl")
    assert '"op": "seal"' in spool.read_text() and sidecar_path(clip_file).exists()
    assert site.clips() == [], "nothing reached the database before the kill"

    runtime = Runtime.open(load_config(config_path))  # the next start
    assert recover_at_start(runtime) == [], "the finished clip is no orphan"
    assert recover_at_start(runtime) == [], "a second pass finds nothing more to do"

    [row] = site.clips("hall")
    assert (row.id, row.status, row.incomplete_reason, row.sha256) == \
        (clip_file.stem, "sealed", None, sha256_file(clip_file))
    seals = [e for e in runtime.evidence.entries() if e.action == Action.SEALED]
    assert [(e.clip_id, e.details["incomplete"]) for e in seals] == [(clip_file.stem, None)]
    assert [a.event_id for a in site.alert_rows("motion")] == [row.event_id]
    assert "were redone" in site.alert_rows("database")[0].message
    assert not sidecar_path(clip_file).exists() and not list((site.root / SPOOL).iterdir())
    report = verify_store(site.root, site.engine)
    assert report.ok, [f.message for f in report.failures]
    runtime.close()
    site.engine.dispose()
