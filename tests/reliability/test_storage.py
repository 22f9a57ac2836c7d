"""Retention and the free-space floor on a small real filesystem (a size-limited tmpfs)."""

from __future__ import annotations

import contextlib
import threading
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pyrage
import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from evidence.actions import Action
from evidence.hashing import sha256_file
from evidence.verify import verify_store
from monitor.capture import SourceEnded, VideoSource
from monitor.cli import app
from monitor.config import load_config
from monitor.pipeline.camera import CameraPipeline, StreamInfo
from monitor.record.original import OriginalWriter
from monitor.seal.clip_sealer import original_record
from monitor.seal.crash_recovery import recover_camera
from monitor.seal.database_outbox import DatabaseOutbox
from monitor.site.runtime import Runtime
from monitor.site.storage_guard import StorageGuard
from monitor.store.models import Alert, Clip
from tests.conftest import write_config
from tests.fixtures import scenes
from tests.reliability.conftest import camera
from tests.reliability.stores import ballast, hold, open_runtime, seal_copy

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def rows(runtime: Runtime) -> dict[str, Clip]:
    with runtime.sessions() as session:
        return {c.id: c for c in session.query(Clip)}


def deletions(runtime: Runtime) -> dict[str, dict[str, object]]:
    entries = [e for e in runtime.evidence.entries() if e.action == Action.DELETED_BY_RETENTION]
    return {str(e.clip_id): {"sha256": e.object_sha256, "actor": e.actor, **e.details} for e in entries}


def assert_deleted_with_entries(runtime: Runtime, clip_ids: list[str], paths: dict[str, Path]) -> None:
    logged = deletions(runtime)
    table = rows(runtime)
    for clip_id in clip_ids:
        assert not paths[clip_id].exists()
        assert table[clip_id].status == "deleted"
        entry = logged[clip_id]
        assert entry["sha256"] == table[clip_id].sha256 and entry["actor"] == "system"
        assert entry["path"] == table[clip_id].path
    report = verify_store(runtime.paths.root, runtime.engine)
    assert report.ok, [f.message for f in report.failures]


def test_retention_deletes_old_unheld_clips_with_signed_entries(tmp_path: Path, noise_clips: list[Path]) -> None:
    runtime = open_runtime(tmp_path / "data", retention_days=30)
    ages = {"old": 40, "old-held": 35, "recent": 5}
    paths = {cid: seal_copy(runtime, noise_clips[i], cid, NOW - timedelta(days=days))
             for i, (cid, days) in enumerate(ages.items())}
    hold(runtime, "old-held")
    guard = StorageGuard(runtime)

    assert guard.expired(NOW) == ["old"]
    assert guard.enforce_retention(NOW) == ["old"]
    assert_deleted_with_entries(runtime, ["old"], paths)
    assert deletions(runtime)["old"]["age_days"] == 40
    assert paths["old-held"].exists() and paths["recent"].exists()
    assert guard.enforce_retention(NOW + timedelta(days=26)) == ["recent"]
    assert guard.enforce_retention(NOW + timedelta(days=400)) == []
    assert paths["old-held"].exists(), "a clip on legal hold is never deleted"
    runtime.close()


def test_retention_and_hold_treat_a_clip_and_its_original_as_one(tmp_path: Path, noise_clips: list[Path]) -> None:
    recipient = str(pyrage.x25519.Identity.generate().to_public())
    runtime = open_runtime(tmp_path / "data", retention_days=30,
                           originals={"recipient": recipient, "custodians": ["a", "b"]})
    originals = {}
    for index, (clip_id, days) in enumerate({"old": 40, "old-held": 35}.items()):
        start = NOW - timedelta(days=days)
        target = runtime.paths.original_file("hall", start, clip_id, encrypted=True)
        with av.open(str(noise_clips[index])) as source:
            writer = OriginalWriter(target, source.streams.video[0], recipient=recipient)
            for packet in source.demux(source.streams.video[0]):
                writer.write(packet)
            digest = writer.close()
        originals[clip_id] = target
        seal_copy(runtime, noise_clips[index], clip_id, start, original=original_record(
            runtime.paths.relative(target), recipient, digest))
    hold(runtime, "old-held")
    assert StorageGuard(runtime).enforce_retention(NOW) == ["old"]
    assert not originals["old"].exists() and originals["old-held"].exists()
    assert deletions(runtime)["old"]["original_path"] == runtime.paths.relative(originals["old"])
    report = verify_store(runtime.paths.root, runtime.engine)
    assert report.ok, [f.message for f in report.failures]
    originals["old-held"].write_bytes(originals["old-held"].read_bytes()[:-1])
    report = verify_store(runtime.paths.root, runtime.engine)
    assert [(f.kind, f.clip_id) for f in report.failures] == [("modified", "old-held")]
    runtime.close()


@pytest.fixture
def tight_store(small_fs: Callable[[int], Path], noise_clips: list[Path]) -> Iterator[tuple[Runtime, dict[str, Path]]]:
    """A 24 MiB filesystem with a 6 MiB floor and six sealed clips; the oldest and the fourth held."""
    root = small_fs(24)
    runtime = open_runtime(root / "data", min_free_mb=6)
    paths = {f"c{i}": seal_copy(runtime, clip, f"c{i}", NOW - timedelta(days=10 - i))
             for i, clip in enumerate(noise_clips)}
    hold(runtime, "c0")
    hold(runtime, "c3")
    yield runtime, paths
    runtime.close()


def test_space_floor_deletes_oldest_unheld_first_and_never_held(
    tight_store: tuple[Runtime, dict[str, Path]]
) -> None:
    runtime, paths = tight_store
    guard = StorageGuard(runtime)
    assert guard.ensure_space()
    assert not deletions(runtime), "nothing is deleted while above the floor"
    filler = ballast(runtime.paths.root.parent, guard.free_mb() - 4.0)  # 2 MiB under the floor
    assert guard.free_mb() < 6

    assert guard.ensure_space()
    assert guard.free_mb() >= 6
    deleted = sorted(deletions(runtime))
    assert deleted and deleted == ["c1", "c2", "c4", "c5"][: len(deleted)], "oldest unheld first"
    assert_deleted_with_entries(runtime, deleted, paths)
    assert paths["c0"].exists() and paths["c3"].exists()

    filler.unlink()
    ballast(runtime.paths.root.parent, guard.free_mb() - 1.0)
    assert not guard.ensure_space(), "only held clips left: recording must pause"
    assert sorted(deletions(runtime)) == ["c1", "c2", "c4", "c5"]
    assert paths["c0"].exists() and paths["c3"].exists()
    assert rows(runtime)["c0"].status == rows(runtime)["c3"].status == "sealed"
    assert not guard.ensure_space(needed_mb=0.5)


def test_space_returns_when_the_filler_goes(tight_store: tuple[Runtime, dict[str, Path]]) -> None:
    runtime, _ = tight_store
    guard = StorageGuard(runtime)
    with runtime.sessions.begin() as session:
        for clip in session.query(Clip):
            clip.legal_hold = True
    filler = ballast(runtime.paths.root.parent, guard.free_mb() - 3.0)
    assert not guard.ensure_space()
    filler.unlink()
    assert guard.ensure_space()
    assert not deletions(runtime)


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    runtime = open_runtime(tmp_path / "data")
    guard = StorageGuard(runtime)
    with pytest.raises(ValueError, match="timezone-aware"):
        guard.enforce_retention(datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="negative"):
        guard.ensure_space(-1)
    runtime.close()


def test_retention_command_dry_run_then_for_real(tmp_path: Path, noise_clips: list[Path]) -> None:
    runtime = open_runtime(tmp_path / "data", retention_days=30, min_free_mb=0)
    old = datetime.now(UTC) - timedelta(days=45)
    paths = {cid: seal_copy(runtime, noise_clips[i], cid, old) for i, cid in enumerate(["expired", "held"])}
    hold(runtime, "held")
    config = str(tmp_path / "cameras.yaml")

    dry = CliRunner().invoke(app, ["retention", "--config", config, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would delete expired" in dry.stdout and "held" not in dry.stdout
    assert paths["expired"].exists() and not deletions(runtime)

    real = CliRunner().invoke(app, ["retention", "--config", config])
    assert real.exit_code == 0, real.output
    assert "deleted expired" in real.stdout
    assert_deleted_with_entries(runtime, ["expired"], paths)
    assert paths["held"].exists()
    runtime.close()


def test_retention_command_fails_when_only_held_clips_remain_below_the_floor(
    tight_store: tuple[Runtime, dict[str, Path]]
) -> None:
    runtime, paths = tight_store
    with runtime.sessions.begin() as session:
        for clip in session.query(Clip):
            clip.legal_hold = True
    ballast(runtime.paths.root.parent, StorageGuard(runtime).free_mb() - 3.0)
    result = CliRunner().invoke(app, ["retention", "--config", str(runtime.paths.root.parent / "cameras.yaml")])
    assert result.exit_code == 1
    assert "legal hold" in " ".join(result.output.split())
    assert all(path.exists() for path in paths.values())


def test_recording_pauses_with_an_alert_below_the_floor_and_resumes(
    small_fs: Callable[[int], Path], noise_clips: list[Path], walk_scene: scenes.Scene
) -> None:
    root = small_fs(24)
    runtime = open_runtime(root / "data", min_free_mb=6)
    held = {cid: seal_copy(runtime, noise_clips[i], cid, NOW - timedelta(days=3)) for i, cid in enumerate(["h1", "h2"])}
    for clip_id in held:
        hold(runtime, clip_id)
    config = root / "cameras.yaml"
    data = YAML(typ="safe").load(config.read_text())
    data["cameras"] = [camera("hall", str(walk_scene.path), walk_scene)]
    write_config(root, data)
    filler = ballast(root, StorageGuard(runtime).free_mb() - 3.0)

    def analyze(start: str) -> list[str]:
        result = CliRunner().invoke(app, ["analyze", str(walk_scene.path), "--camera", "hall",
                                          "--config", str(config), "--start", start])
        assert result.exit_code == 0, result.output
        # clip lines; the storage alert that pauses recording has a line of its own
        return [line for line in result.stdout.splitlines() if line.startswith("{") and '"clip_id"' in line]

    assert analyze("2026-11-23T16:05:00-06:00") == [], "no clip may be recorded below the floor"
    with runtime.sessions() as session:
        kinds = [a.kind for a in session.query(Alert).filter(Alert.camera_id == "hall")]
        assert "storage" in kinds and "motion" in kinds, kinds
        assert {c.id for c in session.query(Clip)} == set(held)
    assert all(path.exists() for path in held.values()), "held clips are never deleted to make room"

    filler.unlink()
    resumed = analyze("2026-11-23T16:10:00-06:00")
    assert len(resumed) == 1, "recording resumes once space returns"
    report = verify_store(runtime.paths.root, runtime.engine)
    assert report.ok, [f.message for f in report.failures]
    runtime.close()


@pytest.mark.parametrize("left_kib", [20, 60, 400])
def test_disk_full_mid_clip_loses_nothing(
    small_fs: Callable[[int], Path], walk_scene: scenes.Scene, left_kib: int
) -> None:
    """Another program fills the disk (the floor cannot help): the camera's run must not crash,
    and once space returns every clip file is sealed or recovered, and the store verifies."""
    root = small_fs(6)
    runtime = open_runtime(root / "data", min_free_mb=0)
    config = root / "cameras.yaml"
    data = YAML(typ="safe").load(config.read_text())
    data["cameras"] = [camera("hall", str(walk_scene.path), walk_scene)]
    write_config(root, data)
    filler = ballast(root, StorageGuard(runtime).free_mb() - left_kib / 1024)

    result = CliRunner().invoke(app, ["analyze", str(walk_scene.path), "--camera", "hall",
                                      "--config", str(config), "--start", "2026-11-23T16:05:00-06:00"])
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not crashed, "".join(traceback.format_exception(*result.exc_info))  # type: ignore[misc]
    assert result.exit_code == 0, result.output

    filler.unlink()
    recover_camera(runtime, None, reason="the disk was full")
    with runtime.sessions() as session:
        assert not session.query(Clip).filter(Clip.status == "recording").count()
    report = verify_store(runtime.paths.root, runtime.engine)
    assert report.ok, [f.message for f in report.failures]
    runtime.close()


def test_concurrent_guards_delete_each_clip_once(tight_store: tuple[Runtime, dict[str, Path]]) -> None:
    """Every worker frees space before its next clip: several at once must not double-delete."""
    runtime, paths = tight_store
    ballast(runtime.paths.root.parent, StorageGuard(runtime).free_mb() - 1.0)
    others = [Runtime.open(runtime.config) for _ in range(3)]
    start = threading.Barrier(len(others))
    results: list[bool] = []

    def free(other: Runtime) -> None:
        start.wait()
        results.append(StorageGuard(other).ensure_space())

    threads = [threading.Thread(target=free, args=(other,)) for other in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for other in others:
        other.close()
    assert results == [False] * len(others), "only held clips remain"
    entries = [e.clip_id for e in runtime.evidence.entries() if e.action == Action.DELETED_BY_RETENTION]
    assert sorted(entries) == ["c1", "c2", "c4", "c5"], "one signed entry per deleted clip"
    assert_deleted_with_entries(runtime, entries, paths)
    assert paths["c0"].exists() and paths["c3"].exists()


def test_a_deletion_cut_short_by_a_crash_is_finished_once(tmp_path: Path, noise_clips: list[Path]) -> None:
    runtime = open_runtime(tmp_path / "data", retention_days=30)
    path = seal_copy(runtime, noise_clips[0], "cut", NOW - timedelta(days=40))
    with runtime.sessions.begin() as session:  # claimed and logged, then the process died
        session.get(Clip, "cut").status = "deleting"
    runtime.evidence.append(Action.DELETED_BY_RETENTION, actor="system", clip_id="cut",
                            object_sha256=sha256_file(path), details={"path": runtime.paths.relative(path)})
    assert StorageGuard(runtime).enforce_retention(NOW) == ["cut"]
    assert not path.exists() and rows(runtime)["cut"].status == "deleted"
    assert list(deletions(runtime)) == ["cut"]
    assert verify_store(runtime.paths.root, runtime.engine).ok
    runtime.close()


def test_recording_resumes_mid_event_when_space_returns(
    small_fs: Callable[[int], Path], walk_scene: scenes.Scene
) -> None:
    """Space comes back while the event that found the disk full is still going on: its clip
    starts then (with what the pre-roll still holds) instead of waiting for the next event."""
    root = small_fs(16)
    runtime = open_runtime(root / "data", min_free_mb=6)
    data = YAML(typ="safe").load((root / "cameras.yaml").read_text())
    data["cameras"] = [camera("hall", str(walk_scene.path), walk_scene)]
    config = load_config(write_config(root, data))
    filler = ballast(root, StorageGuard(runtime).free_mb() - 3.0)
    start = datetime(2026, 11, 23, 22, 5, tzinfo=UTC)  # after hours in Chicago
    freed_at = None
    with VideoSource(str(walk_scene.path), realtime=False, start=start, skip_loop_filter=True) as source:
        stream = StreamInfo.of(source)
        pipeline = CameraPipeline(runtime, config.camera("hall"), stream, live_view=False,
                                  outbox=DatabaseOutbox(runtime))
        last = start
        with contextlib.suppress(SourceEnded):
            for packet in source:
                pipeline.process(packet)
                last = packet.wall_time
                if pipeline.recording_paused and freed_at is None:
                    filler.unlink()
                    freed_at = last
        pipeline.close(last, reason="end_of_file")

    assert freed_at is not None, "the event should have found the disk below the floor"
    with runtime.sessions() as session:
        clip = session.query(Clip).one()
        alerts = session.query(Alert).filter(Alert.camera_id == "hall").order_by(Alert.time).all()
    motion = next(a for a in alerts if a.kind == "motion")
    assert [a.message.split()[1] for a in alerts if a.kind == "storage"] == ["paused", "resumed"]
    assert clip.status == "sealed" and clip.event_id == motion.event_id
    # The clip starts within the re-check interval (1 s) and one pre-roll second of the space
    # returning, and runs to the event's end instead of being skipped.
    assert freed_at - timedelta(seconds=1.2) <= clip.start <= freed_at + timedelta(seconds=1.2)
    last_inside = start + timedelta(seconds=walk_scene.frames_inside("zone", 0.02)[-1] / walk_scene.fps)
    assert clip.end >= last_inside
    report = verify_store(runtime.paths.root, runtime.engine)
    assert report.ok, [f.message for f in report.failures]
    runtime.close()
