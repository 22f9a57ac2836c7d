"""Retention and the free-space floor on a small real filesystem (a size-limited tmpfs)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from evidence.actions import Action
from evidence.hashing import sha256_file
from evidence.verify import verify_store
from monitor.cli import app
from monitor.config import load_config
from monitor.runtime import Runtime
from monitor.sealing import ClipSealer
from monitor.storage_guard import MIB, StorageGuard
from monitor.store.models import Clip
from tests.conftest import base_config, write_config
from tests.fixtures.media import write_video

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def noise_clip(path: Path, seed: int, frames: int = 20) -> Path:
    """A real H.264 MP4 of random pixels: about 1.5 MiB that does not compress away."""
    rng = np.random.default_rng(seed)
    images = (rng.integers(0, 256, (240, 320, 3), dtype=np.uint8) for _ in range(frames))
    return write_video(path, images, fps=10, options={"preset": "ultrafast"})


@pytest.fixture(scope="module")
def noise_clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("noise")
    return [noise_clip(folder / f"noise{i}.mp4", seed=i) for i in range(6)]


def open_runtime(storage: Path, **fields: object) -> Runtime:
    data = base_config(storage)
    data["storage"].update(fields)
    return Runtime.open(load_config(write_config(storage.parent, data)))


def seal_copy(runtime: Runtime, source: Path, clip_id: str, start: datetime) -> Path:
    """Copy a clip into the store and seal it the way the pipeline does."""
    path = runtime.paths.clip_file("hall", start, clip_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, path)
    meta = {"width": 320, "height": 240, "fps": 10.0, "config_hash": "0" * 64, "zones": ["door"]}
    ClipSealer(runtime, on_sealed=None).seal(
        clip_id, f"event-{clip_id}", "hall", path, written_meta=meta, sha256=sha256_file(path),
        size=path.stat().st_size, start=start, end=start + timedelta(seconds=2), frame_count=20,
        incomplete=None,
    )
    return path


def hold(runtime: Runtime, clip_id: str) -> None:
    with runtime.sessions.begin() as session:
        row = session.get(Clip, clip_id)
        assert row is not None
        row.legal_hold = True


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


def ballast(folder: Path, mib: float) -> Path:
    path = folder / "ballast.bin"
    with path.open("wb") as handle:
        handle.write(b"\0" * int(mib * MIB))
    return path


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
