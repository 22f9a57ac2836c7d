"""Only what the supervisor saw opened is sealed as evidence.

The attacker here can write the storage folder and a camera worker's journal (a compromised
worker can): a foreign video with a sidecar, forged journal lines, a record that names another
camera. Real SQLite file, real video files, the real record writer and recovery pass.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from evidence.actions import Action
from evidence.bundle import verify_bundle
from evidence.export import Disclosure, export_bundle
from evidence.hashing import sha256_file
from evidence.verify import verify_store
from monitor.config import load_config
from monitor.seal.crash_recovery import recover_at_start
from monitor.seal.database_outbox import DatabaseOutbox
from monitor.seal.record_applier import RecordApplier
from monitor.seal.spool import SPOOL
from monitor.site.runtime import Runtime
from monitor.store.models import Clip
from tests.conftest import FOOTAGE, base_config, write_config
from tests.reliability.stores import noise_clip

T0 = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
FOREIGN = FOOTAGE / "intel-sample-videos" / "car-detection.mp4"
META = {"width": 320, "height": 240, "fps": 10.0, "config_hash": "0" * 64}


@pytest.fixture
def site(tmp_path: Path) -> Runtime:
    data = base_config(tmp_path / "data", cameras=[
        {"id": cam, "source": "/dev/null", "zones": [{"id": "door", "polygon": [[0, 0], [1, 0], [1, 1]]}]}
        for cam in ("hall", "gate")])
    runtime = Runtime.open(load_config(write_config(tmp_path, data)))
    yield runtime
    runtime.close()


@pytest.fixture
def foreign_video() -> Path:
    if not FOREIGN.is_file():
        pytest.skip(f"real footage not found at {FOREIGN}")
    return FOREIGN


def clip_open(clip_id: str, camera: str = "hall", start: datetime = T0) -> dict[str, Any]:
    return {"op": "clip", "id": clip_id, "event_id": f"ev-{clip_id}", "part": 0, "camera_id": camera,
            "start": start.isoformat(), **{k: META[k] for k in ("width", "height", "fps", "config_hash")},
            "path": f"clips/{camera}/{start:%Y-%m-%d}/{clip_id}.mp4"}


def clip_seal(clip_id: str, path: Path, *, camera: str = "hall", sha256: str | None = None,
              start: datetime = T0) -> dict[str, Any]:
    return {"op": "seal", "clip_id": clip_id, "event_id": f"ev-{clip_id}", "camera_id": camera,
            "path": f"clips/{camera}/{start:%Y-%m-%d}/{path.name}",
            "metadata": {**META, "camera": camera, "start": start.isoformat(), "zones": ["door"]},
            "sha256": sha256 or sha256_file(path), "size": path.stat().st_size,
            "start": start.isoformat(), "end": (start + timedelta(seconds=2)).isoformat(),
            "frame_count": 20, "incomplete": None}


def forge_journal(runtime: Runtime, camera: str, *records: dict[str, Any]) -> Path:
    journal = runtime.paths.root / SPOOL / f"{camera}.journal-evil-000001.jsonl"
    journal.parent.mkdir(parents=True, exist_ok=True)
    journal.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return journal


def clip_file(runtime: Runtime, clip_id: str, camera: str = "hall") -> Path:
    path = runtime.paths.clip_file(camera, T0, clip_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def seals(runtime: Runtime, clip_id: str) -> list[tuple[str, str | None]]:
    return [(e.action.value, e.object_sha256) for e in runtime.evidence.entries(clip_id)
            if e.action in (Action.SEALED, Action.RECOVERED)]


def actions(runtime: Runtime, clip_id: str) -> list[str]:
    return [e.action.value for e in runtime.evidence.entries(clip_id)]


def row(runtime: Runtime, clip_id: str) -> Clip | None:
    with runtime.sessions() as session:
        return session.get(Clip, clip_id)


def test_a_forged_journal_line_for_an_unknown_clip_quarantines_the_foreign_video(
    site: Runtime, foreign_video: Path,
) -> None:
    """The journal says a clip was opened and sealed, with the foreign file's true hash: the
    supervisor never saw it opened, so it is quarantined, never sealed."""
    path = clip_file(site, "forged")
    shutil.copyfile(foreign_video, path)
    forge_journal(site, "hall", clip_open("forged"), clip_seal("forged", path))
    recover_at_start(site)
    assert seals(site, "forged") == []
    assert actions(site, "forged") == ["quarantined"]
    assert not path.exists() and list(site.paths.quarantine.glob("forged*.mp4"))
    assert verify_store(site.paths.root, site.engine).ok


def test_a_forged_journal_seal_with_a_fake_hash_is_never_a_normal_seal(site: Runtime) -> None:
    """The clip was opened (its row exists); a journal line claims a hash the file does not
    have. The supervisor hashes the file itself: the mismatch is quarantined."""
    DatabaseOutbox(site).submit(clip_open("real"))
    path = noise_clip(clip_file(site, "real"), seed=1, frames=5)
    fake = "ab" * 32
    forge_journal(site, "hall", clip_seal("real", path, sha256=fake))
    recover_at_start(site)
    assert Action.SEALED.value not in actions(site, "real")
    assert all(sha != fake for _, sha in seals(site, "real"))
    assert "quarantined" in actions(site, "real")
    assert verify_store(site.paths.root, site.engine).ok


def test_the_seal_carries_the_hash_the_supervisor_computed(site: Runtime) -> None:
    """A live worker's seal of a clip it opened is sealed with the file's own hash."""
    applier = RecordApplier(site, on_alert=lambda _m: None)
    applier.start()
    applier.submit_from_worker("hall", clip_open("live"))
    path = noise_clip(clip_file(site, "live"), seed=2, frames=5)
    applier.submit_from_worker("hall", clip_seal("live", path))
    applier.stop([])
    assert seals(site, "live") == [("sealed", sha256_file(path))]
    assert row(site, "live").status == "sealed"


def test_a_foreign_video_with_a_sidecar_is_quarantined_not_sealed(site: Runtime, foreign_video: Path) -> None:
    """Copied into clips/<camera>/ with a sidecar choosing its start time: the recovery pass
    used to seal it as an incomplete clip."""
    path = clip_file(site, "planted")
    shutil.copyfile(foreign_video, path)
    path.with_suffix(".json").write_text(json.dumps({"clip_id": "planted", "metadata": {
        **META, "camera": "hall", "event_id": "ev-x", "start": "2026-01-01T08:00:00+00:00"}}))
    recover_at_start(site)
    assert seals(site, "planted") == []
    assert actions(site, "planted") == ["quarantined"]
    [entry] = site.evidence.entries("planted")
    assert entry.object_sha256 == sha256_file(foreign_video), "the custody entry names what was quarantined"
    assert row(site, "planted") is None
    assert verify_store(site.paths.root, site.engine).ok


def test_a_clip_left_open_by_a_crash_is_sealed_as_recovered_from_the_supervisors_row(
    site: Runtime, tmp_path: Path,
) -> None:
    """Recovered, not sealed: verify and the bundle say so; the start time is the row's, not
    what the (worker-written) sidecar claims."""
    DatabaseOutbox(site).submit(clip_open("crashed"))
    path = noise_clip(clip_file(site, "crashed"), seed=3, frames=10)
    path.with_suffix(".json").write_text(json.dumps({"clip_id": "crashed", "metadata": {
        **META, "camera": "hall", "start": "2020-01-01T00:00:00+00:00"}}))
    recover_at_start(site)
    [(action, sha)] = seals(site, "crashed")
    assert (action, sha) == ("recovered", sha256_file(path))
    sealed = row(site, "crashed")
    assert sealed.status == "sealed" and "power loss" in (sealed.incomplete_reason or "")
    seal = site.evidence.sealed("crashed")
    assert seal.action == Action.RECOVERED and seal.details["metadata"]["start"] == T0.isoformat()
    report = verify_store(site.paths.root, site.engine)
    assert report.ok and report.recovered == ("crashed",)
    bundle = export_bundle(site.evidence, "crashed", tmp_path / "crashed.zip", disclosure=Disclosure(
        case="C-1", reason="hearing", by="t", recipient="counsel", interest="represents the district"))
    verified = verify_bundle(bundle)
    assert verified.sealed_as == "recovered"


def test_a_worker_cannot_seal_a_file_as_another_cameras_clip(site: Runtime, foreign_video: Path) -> None:
    """The hall worker is compromised: it opens a clip in the gate camera's name, or points its
    own clip at the gate camera's folder. Neither becomes a row, so nothing is sealed."""
    applier = RecordApplier(site, on_alert=lambda _m: None)
    applier.start()
    gate = clip_file(site, "spoof", camera="gate")
    shutil.copyfile(foreign_video, gate)
    applier.submit_from_worker("hall", clip_open("spoof", camera="gate"))
    applier.submit_from_worker("hall", clip_seal("spoof", gate, camera="gate"))
    crossed = {**clip_open("cross"), "path": "clips/gate/2026-11-23/cross.mp4"}
    applier.submit_from_worker("hall", crossed)
    applier.stop([])
    assert row(site, "spoof") is None and row(site, "cross") is None
    assert seals(site, "spoof") == [] and seals(site, "cross") == []


def test_a_live_seal_for_a_file_that_changed_after_closing_is_quarantined(site: Runtime) -> None:
    applier = RecordApplier(site, on_alert=lambda _m: None)
    applier.start()
    applier.submit_from_worker("hall", clip_open("swapped"))
    path = noise_clip(clip_file(site, "swapped"), seed=4, frames=5)
    record = clip_seal("swapped", path)
    noise_clip(path, seed=5, frames=5)  # replaced between the worker's close and the seal
    applier.submit_from_worker("hall", record)
    applier.stop([])
    assert seals(site, "swapped") == []
    assert actions(site, "swapped") == ["quarantined"]


def test_a_forged_empty_line_does_not_keep_a_crashed_clip_from_recovery(site: Runtime) -> None:
    """'Empty' would take the clip out of the recovery pass and leave its file unsealed."""
    DatabaseOutbox(site).submit(clip_open("kept"))
    path = noise_clip(clip_file(site, "kept"), seed=6, frames=5)
    forge_journal(site, "hall", {"op": "empty", "clip_id": "kept", "camera_id": "hall",
                                 "path": site.paths.relative(path)})
    recover_at_start(site)
    assert seals(site, "kept") == [("recovered", sha256_file(path))]


def test_a_queue_file_that_is_a_link_is_not_the_services_own(site: Runtime, foreign_video: Path,
                                                              tmp_path: Path) -> None:
    """A worker can link pending/<camera>.<id>.jsonl to a file the service's user owns; the link
    is the worker's, so its lines cannot open a clip."""
    path = clip_file(site, "linked")
    shutil.copyfile(foreign_video, path)
    lines = tmp_path / "owned-by-the-service.jsonl"
    lines.write_text(json.dumps(clip_open("linked")) + "\n" + json.dumps(clip_seal("linked", path)) + "\n")
    lines.chmod(0o600)
    (site.paths.root / SPOOL).mkdir(exist_ok=True)
    (site.paths.root / SPOOL / "hall.0123.jsonl").symlink_to(lines)
    recover_at_start(site)
    assert seals(site, "linked") == [] and actions(site, "linked") == ["quarantined"]


def test_a_journal_that_is_an_endless_device_is_set_aside_not_read(site: Runtime) -> None:
    """A link to /dev/zero, or a pipe nobody writes, would hold the supervisor's start forever."""
    pending = site.paths.root / SPOOL
    pending.mkdir(exist_ok=True)
    (pending / "hall.journal-evil-000001.jsonl").symlink_to("/dev/zero")
    os.mkfifo(pending / "hall.journal-evil-000002.jsonl")
    assert recover_at_start(site) == []
    assert not list(pending.iterdir())
    assert len(list(site.paths.quarantine.glob("hall.journal-evil-*"))) == 2
