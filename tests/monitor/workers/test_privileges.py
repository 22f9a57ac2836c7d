"""Started as root, camera workers run as an unprivileged user that cannot reach the key.

Run as root (as the suite is here): a real supervisor records a real clip with its worker
running as ``nobody``, and a process dropped the way a worker drops tries what a compromised
worker would.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import pwd
import shutil
import stat
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest

from evidence.actions import Action
from evidence.hashing import sha256_file
from evidence.verify import verify_store
from monitor.config import load_config
from monitor.seal.crash_recovery import recover_at_start
from monitor.site.runtime import Runtime
from monitor.store.models import Clip
from monitor.workers.privileges import WorkerUserError, check_reachable, worker_user
from monitor.workers.spawning import start_without_main
from monitor.workers.supervisor import Supervisor
from tests.conftest import base_config, write_config
from tests.fixtures import scenes
from tests.fixtures.child_modules import try_storage_as
from tests.reliability.conftest import camera, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs root")


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A folder the unprivileged user can reach (pytest's own are 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="hotspot-workers-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def site(folder: Path, cameras: list[dict[str, object]] | None = None) -> Path:
    data = base_config(folder / "data", cameras=cameras or [])
    data["storage"]["worker_user"] = "nobody"
    return write_config(folder, data)


def test_a_worker_dropped_to_its_user_cannot_read_the_key_but_can_record(open_folder: Path) -> None:
    runtime = Runtime.open(load_config(site(open_folder)))
    user = worker_user("nobody")
    assert user is not None
    check_reachable(runtime.paths.root, user)
    runtime.evidence.write_checkpoint()
    (runtime.paths.root / "checkpoints.log").touch()
    queued = runtime.paths.root / "pending" / "hall.queued.jsonl"
    queued.write_text("{}\n")  # the supervisor's queue
    context = mp.get_context("spawn")
    answer = context.Queue()
    process = context.Process(target=try_storage_as, args=(user, str(runtime.paths.root), answer))
    start_without_main(process)
    results = answer.get(timeout=60)
    process.join(10)
    runtime.close()
    assert results == {
        "read signing key": "denied", "read database": "denied", "append checkpoints": "denied",
        "write quarantine": "denied", "read a queue file": "denied", "become root again": "denied",
        "write a clip": "allowed", "write a journal": "allowed",
    }
    assert queued.stat().st_uid == 0, "a worker cannot replace the supervisor's queue file with its own"


def test_the_supervisors_workers_run_unprivileged_and_their_clips_are_sealed(open_folder: Path) -> None:
    scene = scenes.walk_through(open_folder / "walk.mp4", seconds=6.0, fps=15, size=(320, 240))
    scene.path.chmod(0o644)  # the camera's source: the service's umask keeps new files private
    config = load_config(site(open_folder, [camera("hall", str(scene.path), scene, loop=True)]))
    supervisor = Supervisor(config)
    supervisor.start()
    root = Path(config.storage.path)
    try:
        pid = wait_for(lambda: (s := supervisor.statuses()["hall"]).state == "online" and s.pid, 30,
                       "the camera online")
        nobody = pwd.getpwnam("nobody").pw_uid
        assert psutil.Process(pid).uids() == (nobody, nobody, nobody)
        runtime = Runtime.open(config)
        wait_for(lambda: [e for e in runtime.evidence.entries() if e.action == Action.SEALED], 40,
                 "a clip recorded by the unprivileged worker and sealed")
        runtime.close()
    finally:
        supervisor.stop()
    assert (root / "keys" / "signing.pem").stat().st_mode & 0o777 == 0o600
    assert stat.S_IMODE((root / "keys").stat().st_mode) == 0o700
    assert stat.S_IMODE(root.stat().st_mode) == 0o701, "the worker user may pass, not list"
    nobody = pwd.getpwnam("nobody").pw_uid
    clip = next((root / "clips").rglob("*.mp4"))
    assert clip.stat().st_uid == nobody and clip.parent.stat().st_uid == nobody
    assert (root / "hotspot.db").stat().st_uid == 0 and stat.S_IMODE((root / "hotspot.db").stat().st_mode) == 0o600
    report = verify_store(root, Runtime.open(config).engine)
    assert report.ok, [f.message for f in report.failures]


def test_a_queue_file_the_worker_user_wrote_is_not_trusted(open_folder: Path) -> None:
    """pending/ holds the supervisor's outage queues and the workers' journals: a queue file
    owned by the worker user is read like a journal, so it cannot open a clip."""
    runtime = Runtime.open(load_config(site(open_folder)))
    path = runtime.paths.clip_file("hall", datetime(2026, 11, 23, tzinfo=UTC), "queued")
    path.parent.mkdir(parents=True)
    shutil.copyfile(scenes.walk_through(open_folder / "w.mp4", seconds=2.0, fps=10, size=(160, 120)).path, path)
    relative = runtime.paths.relative(path)
    forged = runtime.paths.root / "pending" / "hall.0123.jsonl"
    forged.parent.mkdir(exist_ok=True)
    opened = {"op": "clip", "id": "queued", "event_id": "e", "part": 0, "camera_id": "hall",
              "start": "2026-11-23T00:00:00+00:00", "width": 160, "height": 120, "fps": 10.0,
              "config_hash": "0" * 64, "path": relative}
    sealed = {"op": "seal", "clip_id": "queued", "event_id": "e", "camera_id": "hall", "path": relative,
              "metadata": {"width": 160, "height": 120, "fps": 10.0, "config_hash": "0" * 64},
              "sha256": sha256_file(path), "size": path.stat().st_size, "start": opened["start"],
              "end": "2026-11-23T00:00:02+00:00", "frame_count": 20, "incomplete": None}
    forged.write_text(json.dumps(opened) + "\n" + json.dumps(sealed) + "\n")
    os.chown(forged, pwd.getpwnam("nobody").pw_uid, -1)
    recover_at_start(runtime)
    assert [e.action for e in runtime.evidence.entries("queued")] == [Action.QUARANTINED]
    with runtime.sessions() as session:
        assert session.get(Clip, "queued") is None
    runtime.close()


def test_an_unknown_worker_user_stops_the_start(open_folder: Path) -> None:
    with pytest.raises(WorkerUserError, match="no such user"):
        worker_user("no-such-user-here")
