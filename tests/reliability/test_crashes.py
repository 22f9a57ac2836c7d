"""kill -9 of a camera worker, and of the whole ``hotspot run`` (a power cut), mid-clip."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import av
import psutil
import pytest

from evidence.actions import Action
from evidence.store import EvidenceStore
from evidence.verify import verify_store
from monitor.config import load_config
from monitor.seal.crash_recovery import recover_at_start
from monitor.site.runtime import Runtime
from monitor.store.models import Clip
from monitor.store.paths import StoragePaths
from tests.fixtures import scenes
from tests.reliability.conftest import Site, camera, wait_for

pytestmark = pytest.mark.slow

# A post-roll longer than the scene's loop keeps each camera's event (and clip) open from its first motion.
LONG_EVENTS = {"pre_roll": 1.0, "post_roll": 8.0, "max_clip": 120}


def _decoded_frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def _recording(site: Site, camera_id: str, fragments: int = 0) -> Clip | None:
    """The clip being written, once its file holds ``fragments`` complete fragments."""
    clip = next((c for c in site.clips(camera_id) if c.status == "recording"), None)
    if clip is None or not (site.root / clip.path).is_file():
        return None
    return clip if (site.root / clip.path).read_bytes().count(b"moof") > fragments else None


def _assert_store_verifies(site: Site) -> None:
    report = verify_store(site.root, site.engine)
    assert report.ok, [f.message for f in report.failures]
    assert not [c for c in site.clips() if c.status == "recording"], "nothing may stay unsealed"


def test_killed_worker_is_restarted_and_its_clip_recovered_and_sealed(
    make_site: Callable[..., Site], walk_scene: scenes.Scene
) -> None:
    site = make_site([camera("hall", str(walk_scene.path), walk_scene, loop=True, recording=LONG_EVENTS)])
    site.start()
    wait_for(lambda: site.received("motion", "hall"), 20, "an event to open")
    victim = wait_for(lambda: _recording(site, "hall", fragments=1), 10, "the clip to hold fragments")
    pid = site.status("hall").pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)

    wait_for(lambda: site.status("hall").pid != pid and site.status("hall").state == "online", 15,
             "the supervisor to restart the worker")
    assert site.status("hall").restarts == 1
    assert site.received("camera-offline", "hall"), "the crash is reported to staff"
    sealed = wait_for(lambda: next((c for c in site.clips("hall") if c.id == victim.id
                                    and c.status == "sealed"), None), 10, "the killed clip sealed")
    assert "stopped unexpectedly" in (sealed.incomplete_reason or "")
    assert _decoded_frames(site.root / sealed.path) == sealed.frame_count > 0
    store = EvidenceStore.open(site.root, site.engine)
    seal = store.sealed(victim.id)
    assert seal.action == Action.RECOVERED, "a clip nobody closed is sealed as recovered, not as a normal seal"
    assert seal.details["incomplete"] == sealed.incomplete_reason
    assert seal.object_sha256 == sealed.sha256
    site.stop()
    _assert_store_verifies(site)


def test_a_restarted_worker_runs_its_supervisors_config_not_the_file_as_edited_since(
    make_site: Callable[..., Site], walk_scene: scenes.Scene
) -> None:
    """Hand edits take effect at the next start: a worker restarted meanwhile must neither pick
    up half an edit nor die of a broken one (it used to re-read the file, and crash-looped)."""
    site = make_site([camera("hall", str(walk_scene.path), walk_scene, loop=True)])
    site.start()
    pid = wait_for(lambda: (s := site.status("hall")).state == "online" and s.pid, 20, "the camera online")
    site.config_path.write_text("cameras: [ {id: hall, source: ", encoding="utf-8")  # saved half-typed
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: (s := site.status("hall")).pid != pid and s.state == "online", 15,
             "the worker restarted on the supervisor's config")
    assert site.status("hall").restarts == 1


def _live_since(site: Site, camera_id: str, moment: float) -> bool:
    StoragePaths(site.root).request_preview(camera_id, "live")  # workers draw previews only when asked
    live = site.root / "live" / camera_id / "live.jpg"
    return live.is_file() and live.stat().st_mtime > moment


HOTSPOT = str(Path(sys.executable).with_name("hotspot"))  # the installed console script


def _hotspot(log: Path, *args: str, **popen: object) -> subprocess.Popen[str]:
    """``hotspot ARGS`` with its output (and its workers') appended to ``log``."""
    with log.open("a") as sink:
        return subprocess.Popen([HOTSPOT, *args], text=True, stdout=sink,  # type: ignore[call-overload]
                                stderr=subprocess.STDOUT, **popen)


def _killed_while_recording(
    make_site: Callable[..., Site], walk_scene: scenes.Scene, *, whole_group: bool
) -> tuple[Site, list[psutil.Process]]:
    """A site whose ``hotspot run`` was killed while both cameras recorded: with every worker
    (a power cut) or alone; also returns its workers as they were."""
    site = make_site([camera(cam, str(walk_scene.path), walk_scene, loop=True, recording=LONG_EVENTS)
                      for cam in ("east", "west")])
    log = site.config_path.with_name("run.log")
    first = _hotspot(log, "run", "--config", str(site.config_path), start_new_session=True)
    workers: list[psutil.Process] = []
    try:
        wait_for(lambda: all(_recording(site, cam, fragments=1) for cam in ("east", "west")), 30,
                 f"both cameras recording (see {log})")
        workers = psutil.Process(first.pid).children()
    finally:
        if whole_group:
            os.killpg(first.pid, signal.SIGKILL)  # the service and every worker, at once
        else:
            first.kill()
        first.wait(timeout=10)
    return site, workers


def _orphans(site: Site) -> list[Clip]:
    orphans = [c for c in site.clips() if c.status == "recording"]
    assert {c.camera_id for c in orphans} == {"east", "west"}
    assert all((site.root / c.path).with_suffix(".json").is_file() for c in orphans)
    return orphans


def test_power_loss_while_recording_is_recovered_on_next_start(
    make_site: Callable[..., Site], walk_scene: scenes.Scene
) -> None:
    site, _ = _killed_while_recording(make_site, walk_scene, whole_group=True)
    config = str(site.config_path)
    log = site.config_path.with_name("run.log")
    orphans = _orphans(site)

    restarted = time.time()
    second = _hotspot(log, "run", "--config", config)
    try:
        wait_for(lambda: all(c.status in ("sealed", "quarantined") for c in site.clips()
                             if c.id in {o.id for o in orphans}), 30, "recovery of every orphan")
        wait_for(lambda: all(_live_since(site, cam, restarted) for cam in ("east", "west")), 30,
                 "the cameras running again after recovery")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    assert second.returncode == 0, log.read_text()
    by_id = {c.id: c for c in site.clips()}
    for orphan in orphans:
        recovered = by_id[orphan.id]
        assert recovered.status == "sealed", f"{orphan.id}: playable footage must be sealed, not lost"
        assert "power loss" in (recovered.incomplete_reason or "")
        assert _decoded_frames(site.root / recovered.path) == recovered.frame_count > 0
    store = EvidenceStore.open(site.root, site.engine)
    assert all(store.sealed(o.id).action == Action.RECOVERED for o in orphans)
    assert not [e for e in store.entries() if e.action in (Action.QUARANTINED, Action.SEALED)
                and e.clip_id in {o.id for o in orphans}]
    _assert_store_verifies(site)
    verify = subprocess.run([HOTSPOT, "verify", "--config", config],
                            check=False, capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    said = verify.stdout + verify.stderr
    assert "recovered:" in said and all(o.id in said for o in orphans), said


def test_supervisor_recovers_leftovers_when_start_up_recovery_did_not_run(
    make_site: Callable[..., Site], walk_scene: scenes.Scene
) -> None:
    """The start-up pass is skipped while the database is down; if it is back by the time the
    supervisor connects, the supervisor must still recover what the power cut left."""
    site, _ = _killed_while_recording(make_site, walk_scene, whole_group=True)
    orphans = {c.id for c in _orphans(site)}
    site.start(recovered=False)
    wait_for(lambda: all(c.status == "sealed" for c in site.clips() if c.id in orphans), 30,
             "the supervisor's recovery of every orphan")
    assert all("power loss" in (c.incomplete_reason or "") for c in site.clips() if c.id in orphans)


def test_workers_of_a_killed_supervisor_seal_their_clips_and_exit(
    make_site: Callable[..., Site], walk_scene: scenes.Scene
) -> None:
    """Only ``hotspot run`` is killed, not its workers: orphans must not go on recording, or the
    next start would recover a clip they still write into (and its seal would then fail to
    verify). Each seals its clip into its journal and exits; the next start writes the seal."""
    site, workers = _killed_while_recording(make_site, walk_scene, whole_group=False)
    assert len(workers) >= 2
    open_clips = {c.id for c in site.clips() if c.status == "recording"}
    _, alive = psutil.wait_procs(workers, timeout=20)
    for process in alive:  # never leave them running after a failure
        process.kill()
    assert not alive, "orphaned workers still running (see run.log beside the site's config)"

    runtime = Runtime.open(load_config(site.config_path))
    try:
        assert recover_at_start(runtime) is not None
    finally:
        runtime.close()
    clips = {c.id: c for c in site.clips()}
    assert open_clips and all(clips[i].status == "sealed" and not clips[i].incomplete_reason
                              for i in open_clips), [(clips[i].status, clips[i].incomplete_reason)
                                                     for i in open_clips]
    _assert_store_verifies(site)
