"""The free-space floor removes only the local copy of a clip whose stored version is still
locked: the clip stays sealed and verifiable from the store, and retention deletes it (entry
first, then the version) once the lock has expired, unless a legal hold keeps it; a store that
cannot be reached then leaves the clip claimed for the next pass, without a second entry."""

from __future__ import annotations

import socket
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from evidence.actions import Action
from monitor.cli import app
from monitor.objects import uploads
from monitor.site.runtime import Runtime
from monitor.site.storage_guard import StorageGuard
from monitor.store.holds import change_hold
from monitor.store.models import Clip
from tests.fixtures.seaweedfs import SeaweedServer
from tests.monitor.objects.conftest import bucket_name, objects_config, october_clip

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("credentials")]

LOCK = timedelta(seconds=8)  # a clip from October uploaded now is locked this long


def hold(runtime: Runtime, clip_id: str, *, on: bool) -> None:
    with runtime.sessions() as session:
        clip = session.get(Clip, clip_id)
        assert clip is not None
        assert change_hold(session, runtime.evidence, clip, hold=on, actor="principal", details={"reason": "case"})
    assert uploads.set_object_hold(runtime, clip_id, on=on) is None


def status(runtime: Runtime, clip_id: str) -> str:
    with runtime.sessions() as session:
        return str(session.scalars(select(Clip.status).where(Clip.id == clip_id)).one())


def store_down(runtime: Runtime, *, port: int) -> Runtime:
    """The same site with its store unreachable (nothing listens on ``port``)."""
    storage = runtime.config.storage
    assert storage.objects is not None
    objects = replace(storage.objects, endpoint=f"http://127.0.0.1:{port}")
    return Runtime.open(replace(runtime.config, storage=replace(storage, objects=objects)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def verify_passes(config_path: Path) -> None:
    result = CliRunner().invoke(app, ["verify", "--config", str(config_path)])
    assert result.exit_code == 0, result.output


def test_floor_keeps_a_locked_clip_in_the_store_and_retention_deletes_it_once_expired(
        tmp_path: Path, seaweed: SeaweedServer, walk_scene, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uploads, "MIN_LOCK", LOCK)
    bucket = seaweed.make_bucket(bucket_name())
    config_path = objects_config(tmp_path, walk_scene, seaweed.endpoint, bucket)  # keep_local: true
    runtime, clip_id, stored = october_clip(config_path, walk_scene)
    seal = runtime.evidence.sealed(clip_id)
    local, key, version = runtime.paths.absolute(str(seal.details["path"])), stored["key"], stored["version_id"]
    client = seaweed.client()

    def in_store() -> bool:
        versions = client.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])
        return version in [v["VersionId"] for v in versions]

    guard = StorageGuard(runtime)
    assert local.is_file() and guard.ensure_space(needed_mb=10**9) is False  # nothing else left to free
    assert not local.exists() and in_store() and status(runtime, clip_id) == "sealed"
    assert guard.enforce_retention(datetime.now(UTC)) == []  # past retention, but still locked
    assert in_store() and status(runtime, clip_id) == "sealed"
    verify_passes(config_path)  # hashed from the store

    hold(runtime, clip_id, on=True)
    time.sleep(max(0.0, (datetime.fromisoformat(stored["retain_until"]) - datetime.now(UTC)).total_seconds()) + 1)
    assert guard.enforce_retention(datetime.now(UTC)) == []  # the lock expired, the hold keeps it
    assert in_store() and status(runtime, clip_id) == "sealed"
    assert not any(e.action == Action.DELETED_BY_RETENTION for e in runtime.evidence.entries(clip_id))

    hold(runtime, clip_id, on=False)
    unreachable = store_down(runtime, port=free_port())
    assert StorageGuard(unreachable).enforce_retention(datetime.now(UTC)) == []  # logged, not yet deleted
    assert in_store() and status(runtime, clip_id) == "deleting"
    unreachable.close()
    assert guard.enforce_retention(datetime.now(UTC)) == [clip_id]  # the next pass finishes it
    assert not in_store() and status(runtime, clip_id) == "deleted"
    [entry] = [e for e in runtime.evidence.entries(clip_id) if e.action == Action.DELETED_BY_RETENTION]
    assert entry.details["object"] == {"key": key, "version_id": version}
    assert entry.details["reason"] == "older than 30 days"
    verify_passes(config_path)
    runtime.close()
