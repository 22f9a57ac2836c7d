"""Started as root, each camera's worker runs as its own uid, which cannot reach the key nor
another camera's files.

Run as root (as the suite is here): a real supervisor records a real clip with its worker
running as the camera's uid, and a process dropped the way a worker drops tries what a
compromised worker would, up to getting a foreign video sealed as another camera's clip.
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
from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence.actions import Action
from evidence.hashing import sha256_file
from evidence.store import EvidenceStore
from evidence.verify import verify_store
from monitor.config import load_config
from monitor.config.models import WorkerUids
from monitor.seal.crash_recovery import recover_at_start
from monitor.site.runtime import Runtime
from monitor.store.db import make_engine
from monitor.store.models import Clip
from monitor.workers.camera_uids import CameraUidError, check_unused
from monitor.workers.privileges import WorkerUser, WorkerUserError, check_reachable, worker_user
from monitor.workers.spawning import start_without_main
from monitor.workers.supervisor import Supervisor
from tests.conftest import base_config, write_config
from tests.fixtures import scenes
from tests.fixtures.child_modules import attack_camera, try_storage_as
from tests.reliability.conftest import camera, wait_for
from tests.reliability.stores import noise_clip

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs root")


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A folder the unprivileged user can reach (pytest's own are 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="hotspot-workers-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def site(folder: Path, cameras: list[dict[str, object]] | None = None, **storage: object) -> Path:
    data = base_config(folder / "data", cameras=cameras or [])
    del data["storage"]["worker_user"]  # the default: a uid per camera
    data["storage"].update(storage)
    return write_config(folder, data)


def still(camera_id: str) -> dict[str, object]:
    return {"id": camera_id, "source": "/dev/null", "zones": [{"id": "door", "polygon": [[0, 0], [1, 0], [1, 1]]}]}


def test_a_camera_worker_cannot_read_the_key_nor_touch_another_cameras_files(open_folder: Path) -> None:
    runtime = Runtime.open(load_config(site(open_folder, [still("hall"), still("yard")])))
    users = runtime.worker_users
    assert users is not None and users["hall"].uid != users["yard"].uid
    for user in users.values():
        check_reachable(runtime.paths.root, user)
    runtime.evidence.write_checkpoint()
    (runtime.paths.root / "checkpoints.log").touch()
    queued = runtime.paths.root / "pending" / "hall.queued.jsonl"
    queued.write_text("{}\n")  # the supervisor's queue
    yards = runtime.paths.root / "clips" / "yard" / "2026-11-23"
    yards.mkdir()
    os.chown(yards, users["yard"].uid, users["yard"].gid)  # as yard's worker makes it
    (yards / "open.mp4").write_bytes(b"yard's footage")
    os.chown(yards / "open.mp4", users["yard"].uid, users["yard"].gid)
    context = mp.get_context("spawn")
    answer = context.Queue()
    process = context.Process(target=try_storage_as, args=(users["hall"], str(runtime.paths.root), answer))
    start_without_main(process)
    results = answer.get(timeout=60)
    process.join(10)
    runtime.close()
    assert results == {
        "read signing key": "denied", "read database": "denied", "append checkpoints": "denied",
        "write quarantine": "denied", "read a queue file": "denied", "write a queue file": "denied",
        "write a clip": "allowed", "write a journal": "allowed", "write a snapshot": "allowed",
        "write a preview": "allowed", "write an original": "allowed",
        "write yard's clip": "denied", "change yard's open clip": "denied", "read yard's open clip": "denied",
        "write yard's journal": "denied", "write yard's snapshot": "denied", "write yard's preview": "denied",
        "write yard's original": "denied", "make a camera folder": "denied", "list the clips folder": "denied",
        "become root again": "denied",
    }
    assert queued.stat().st_uid == 0, "a worker cannot replace the supervisor's queue file with its own"


def test_each_camera_keeps_its_uid_across_restarts_and_new_cameras(open_folder: Path) -> None:
    first = Runtime.open(load_config(site(open_folder, [still("hall"), still("yard")])))
    given = {camera: user.uid for camera, user in (first.worker_users or {}).items()}
    first.close()
    assert sorted(given.values()) == [60600, 60601]
    again = Runtime.open(load_config(site(open_folder, [still("gate"), still("yard")])))
    now = {camera: user.uid for camera, user in (again.worker_users or {}).items()}
    again.close()
    assert now == {**given, "gate": 60602}, "a removed camera keeps its uid, a new one takes the next"
    assignments = open_folder / "data" / "worker-uids.json"
    assert json.loads(assignments.read_text()) == now
    assert (assignments.stat().st_uid, stat.S_IMODE(assignments.stat().st_mode)) == (0, 0o600)
    root = open_folder / "data"
    for top in ("clips", "originals", "snapshots", "live", "journals"):
        assert (root / top).stat().st_uid == 0 and stat.S_IMODE((root / top).stat().st_mode) == 0o701
        for camera_id, uid in now.items():
            folder = (root / top / camera_id).stat()
            assert (folder.st_uid, folder.st_gid, stat.S_IMODE(folder.st_mode)) == (uid, uid, 0o700), (top, camera_id)
    assert stat.S_IMODE((root / "pending").stat().st_mode) == 0o700 and (root / "pending").stat().st_uid == 0


def test_a_full_uid_range_stops_the_start_naming_the_field(open_folder: Path) -> None:
    path = site(open_folder, [still("hall"), still("yard")], worker_uids={"first": 60600, "count": 1})
    with pytest.raises(CameraUidError, match=r"storage.worker_uids 60600-60600: all 1 uids are given .* 'yard'"):
        Runtime.open(load_config(path))


def test_a_uid_range_an_account_uses_is_refused() -> None:
    with pytest.raises(CameraUidError, match=r"storage.worker_uids 0-0: 0 is the user 'root'"):
        check_unused(WorkerUids(first=0, count=1))  # past the file's own check (first >= 1000)


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
        hall = json.loads((root / "worker-uids.json").read_text())["hall"]
        assert psutil.Process(pid).uids() == (hall, hall, hall) and psutil.Process(pid).gids()[0] == hall
        runtime = Runtime.open(config)
        wait_for(lambda: [e for e in runtime.evidence.entries() if e.action == Action.SEALED], 40,
                 "a clip recorded by the unprivileged worker and sealed")
        runtime.close()
    finally:
        supervisor.stop()
    assert (root / "keys" / "signing.pem").stat().st_mode & 0o777 == 0o600
    assert stat.S_IMODE((root / "keys").stat().st_mode) == 0o700
    assert stat.S_IMODE(root.stat().st_mode) == 0o701, "the worker user may pass, not list"
    clip = next((root / "clips").rglob("*.mp4"))
    assert clip.stat().st_uid == hall and clip.parent.stat().st_uid == hall
    assert (root / "hotspot.db").stat().st_uid == 0 and stat.S_IMODE((root / "hotspot.db").stat().st_mode) == 0o600
    report = verify_store(root, Runtime.open(config).engine)
    assert report.ok, [f.message for f in report.failures]


def test_a_queue_file_the_worker_user_wrote_is_not_trusted(open_folder: Path) -> None:
    """pending/ holds the supervisor's outage queues, which workers cannot reach; a queue file
    another user owns is read like a journal anyway, so it cannot open a clip."""
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


def test_a_compromised_worker_cannot_get_a_foreign_video_sealed_as_another_cameras_clip(
    open_folder: Path,
) -> None:
    """With one shared worker user, hall's worker could freeze yard's, put a foreign video in
    place of yard's open clip, journal a seal with its hash and kill yard's worker: the
    supervisor redid the journal and sealed the foreign video as a normal clip of yard."""
    scene = scenes.walk_through(open_folder / "walk.mp4", seconds=6.0, fps=15, size=(320, 240))
    scene.path.chmod(0o644)
    foreign = noise_clip(open_folder / "foreign.mp4", seed=7, frames=10)
    foreign.chmod(0o644)
    slow = {"pre_roll": 1.0, "post_roll": 6.0, "max_clip": 12}  # open long enough, closed in time
    config = load_config(site(open_folder, [camera("hall", str(scene.path), scene, loop=True),
                                            {**camera("yard", str(scene.path), scene, loop=True), "recording": slow}]))
    root = Path(config.storage.path)
    supervisor = Supervisor(config)
    supervisor.start()
    engine = make_engine(config.storage.database)
    try:
        statuses = wait_for(lambda: (s := supervisor.statuses()) and all(x.state == "online" for x in s.values()) and s,
                            30, "both cameras online")
        with Session(engine) as session:
            opened = wait_for(lambda: session.scalars(select(Clip).where(
                Clip.camera_id == "yard", Clip.status == "recording")).first(), 40, "a clip of yard open")
            session.expunge(opened)
        [journal] = (root / "journals" / "yard").glob("yard.journal-*.jsonl")
        seal = {"op": "seal", "clip_id": opened.id, "event_id": opened.event_id, "camera_id": "yard",
                "path": opened.path, "metadata": {"width": 320, "height": 240, "fps": 10.0, "zones": ["door"]},
                "sha256": sha256_file(foreign), "size": foreign.stat().st_size, "start": opened.start.isoformat(),
                "end": datetime.now(UTC).isoformat(), "frame_count": 10, "incomplete": None}
        hall = psutil.Process(statuses["hall"].pid).uids().real
        attacker = WorkerUser("hall's worker", hall, psutil.Process(statuses["hall"].pid).gids().real)
        context = mp.get_context("spawn")
        answer = context.Queue()
        process = context.Process(target=attack_camera, args=(
            attacker, statuses["yard"].pid, str(root / opened.path), str(foreign), str(journal), json.dumps(seal), answer))
        start_without_main(process)
        results = answer.get(timeout=60)
        process.join(10)
        with Session(engine) as session:
            wait_for(lambda: session.get(Clip, opened.id, populate_existing=True).status != "recording", 40,
                     "yard's clip closed")
    finally:
        supervisor.stop()
    assert results == {"stop its worker": "denied", "replace its clip": "denied",
                       "forge its journal": "denied", "kill its worker": "denied"}
    entries = EvidenceStore.open(root, engine).entries(opened.id)
    assert sha256_file(foreign) not in {e.object_sha256 for e in entries}, "the foreign video was never sealed"
    assert [e.action for e in entries] == [Action.SEALED], "yard's own clip, sealed normally"
    assert entries[0].object_sha256 == sha256_file(root / opened.path)
    engine.dispose()


def test_a_link_in_a_cameras_folder_does_not_give_its_target_away(open_folder: Path) -> None:
    """A worker owns its folders and may leave a link there for the next start's walk (run as
    root) to follow: the walk changes the opened file only, never a link's target."""
    config_path = site(open_folder, [still("hall")])
    Runtime.open(load_config(config_path)).close()
    outside = open_folder / "outside"
    outside.mkdir()
    outside.chmod(0o755)
    (outside / "file").write_text("root's")
    (outside / "file").chmod(0o644)
    hall = open_folder / "data" / "clips" / "hall"
    (hall / "2026-11-23").symlink_to(outside)
    (hall / "clip.mp4").symlink_to(outside / "file")
    Runtime.open(load_config(config_path)).close()
    for path in (outside, outside / "file"):
        info = path.stat()
        assert (info.st_uid, info.st_gid) == (0, 0), path
    assert stat.S_IMODE(outside.stat().st_mode) == 0o755 and stat.S_IMODE((outside / "file").stat().st_mode) == 0o644
