"""Sealed clips go to a real S3 store (SeaweedFS) under Object Lock, and wait on disk while it is down."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evidence.actions import Action
from monitor.cli import app
from monitor.config import load_config
from monitor.objects import uploads
from monitor.objects.bucket import Bucket, ObjectLockMissing, ObjectStoreError
from monitor.objects.uploads import Uploader, uploads_folder
from monitor.site.runtime import Runtime
from monitor.site.storage_guard import StorageGuard
from monitor.workers.supervisor import Supervisor
from tests.evidence import tampering
from tests.fixtures.seaweedfs import SeaweedServer
from tests.monitor.objects.conftest import START, bucket_name, drained, objects_config, october_clip

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("credentials")]


def analyze(config_path: Path, scene_path: Path) -> list[dict[str, object]]:
    """Record and seal the scene in-process (the real record path); the sealed clips' events."""
    result = CliRunner().invoke(app, ["analyze", str(scene_path), "--camera", "hall",
                                      "--config", str(config_path), "--start", START])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def test_bucket_without_object_lock_is_refused_at_start(tmp_path: Path, seaweed: SeaweedServer, walk_scene) -> None:
    plain = seaweed.make_bucket(bucket_name(), object_lock=False)
    config = load_config(objects_config(tmp_path, walk_scene, seaweed.endpoint, plain))
    supervisor = Supervisor(config)
    with pytest.raises(ObjectLockMissing) as refused:
        supervisor.start()
    message = str(refused.value)
    assert plain in message and "Object Lock" in message and "storage.objects.bucket" in message


def test_sealed_clip_is_stored_locked_with_its_checksum(tmp_path: Path, seaweed: SeaweedServer, walk_scene) -> None:
    bucket = seaweed.make_bucket(bucket_name())
    config = load_config(objects_config(tmp_path, walk_scene, seaweed.endpoint, bucket, keep_local=False))
    [event] = analyze(tmp_path / "cameras.yaml", walk_scene.path)
    runtime = Runtime.open(config)
    assert [p.stem for p in uploads_folder(runtime).glob("*.json")] == [event["clip_id"]]
    uploader = Uploader(runtime)
    uploader.check_at_start()
    assert drained(uploader), uploader.last_error
    assert uploader.backlog().waiting == 0

    [stored] = [e for e in runtime.evidence.entries(str(event["clip_id"])) if e.action == Action.STORED]
    details = stored.details
    seal = runtime.evidence.sealed(str(event["clip_id"]))
    assert details["key"] == f"school-12/{seal.details['path']}" and details["mode"] == "COMPLIANCE"
    clip_start = datetime.fromisoformat(seal.details["metadata"]["start"])
    assert datetime.fromisoformat(details["retain_until"]) == clip_start + timedelta(days=30)

    head = seaweed.client().head_object(Bucket=bucket, Key=details["key"], VersionId=details["version_id"],
                                        ChecksumMode="ENABLED")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert abs(head["ObjectLockRetainUntilDate"] - clip_start - timedelta(days=30)) < timedelta(seconds=1)
    assert head["ChecksumSHA256"] == base64.b64encode(bytes.fromhex(str(event["sha256"]))).decode()
    body = seaweed.client().get_object(Bucket=bucket, Key=details["key"], VersionId=details["version_id"])
    assert hashlib.sha256(body["Body"].read()).hexdigest() == event["sha256"]
    # keep_local: false -> the local copy went, but only after the confirmed upload
    assert not runtime.paths.absolute(str(seal.details["path"])).exists()

    # The attacker with the store's credentials: the locked version cannot be deleted or shortened.
    client = seaweed.client()
    with pytest.raises(Exception, match="AccessDenied"):
        client.delete_object(Bucket=bucket, Key=details["key"], VersionId=details["version_id"])
    with pytest.raises(Exception, match="AccessDenied|InvalidRequest"):
        client.put_object_retention(Bucket=bucket, Key=details["key"], VersionId=details["version_id"],
                                    Retention={"Mode": "COMPLIANCE",
                                               "RetainUntilDate": datetime.now(UTC) + timedelta(days=1)})
    assert client.head_object(Bucket=bucket, Key=details["key"], VersionId=details["version_id"])
    runtime.close()


def test_store_checks_the_checksum(tmp_path: Path, seaweed: SeaweedServer, walk_scene) -> None:
    """A file that changed after sealing (or on the way) is refused by the store, not stored."""
    bucket = seaweed.make_bucket(bucket_name())
    config = load_config(objects_config(tmp_path, walk_scene, seaweed.endpoint, bucket))
    target = Bucket(config.storage.objects)  # type: ignore[arg-type]
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"sealed bytes")
    wrong = hashlib.sha256(b"other bytes").hexdigest()
    with pytest.raises(ObjectStoreError, match="upload of school-12/clips/x.mp4 failed"):
        target.put_locked("clips/x.mp4", path, sha256=wrong, retain_until=datetime.now(UTC) + timedelta(days=1))
    listed = seaweed.client().list_object_versions(Bucket=bucket).get("Versions", [])
    assert listed == []


def test_store_down_delays_uploads_not_sealing(tmp_path: Path, walk_scene) -> None:
    """Nothing listens on the store's port: the clip is recorded and sealed, waits on disk with
    its local copy, and goes up once the store answers."""
    store = SeaweedServer(tmp_path / "seaweed")  # ports chosen, not started: the store is down
    bucket = "district-clips"
    config_path = objects_config(tmp_path, walk_scene, store.endpoint, bucket, keep_local=False)
    config = load_config(config_path)
    supervisor = Supervisor(config)
    supervisor.start()  # starts although the store cannot be reached
    try:
        assert supervisor.uploader is not None and "cannot read its Object Lock" in str(supervisor.uploader.last_error)
    finally:
        supervisor.stop()
    [event] = analyze(config_path, walk_scene.path)
    runtime = Runtime.open(config)
    seal = runtime.evidence.sealed(str(event["clip_id"]))
    local = runtime.paths.absolute(str(seal.details["path"]))
    uploader = Uploader(runtime)
    assert not uploader.drain()
    backlog = uploader.backlog()
    assert backlog.waiting == 1 and "Could not connect" in str(backlog.last_error)
    assert local.is_file(), "nothing is deleted locally before its upload is confirmed"
    store.start()
    try:
        store.make_bucket(bucket)
        assert drained(uploader), uploader.last_error
        assert uploader.backlog().waiting == 0 and not local.exists()
        [stored] = [e for e in runtime.evidence.entries(str(event["clip_id"])) if e.action == Action.STORED]
        head = store.client().head_object(Bucket=bucket, Key=stored.details["key"],
                                          VersionId=stored.details["version_id"])
        assert head["ObjectLockMode"] == "COMPLIANCE"
    finally:
        store.stop()
        runtime.close()


def test_verify_reads_and_checks_clips_from_the_store(tmp_path: Path, seaweed: SeaweedServer, walk_scene) -> None:
    """`hotspot verify` hashes the store's copy of a clip whose local copy went after upload,
    and names an object-store copy that does not match its seal."""
    bucket = seaweed.make_bucket(bucket_name())
    config_path = objects_config(tmp_path, walk_scene, seaweed.endpoint, bucket, keep_local=False)
    [event] = analyze(config_path, walk_scene.path)
    runtime = Runtime.open(load_config(config_path))
    assert drained(Uploader(runtime))
    seal = runtime.evidence.sealed(str(event["clip_id"]))
    assert not runtime.paths.absolute(str(seal.details["path"])).exists()

    result = CliRunner().invoke(app, ["verify", "--config", str(config_path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout[result.stdout.index("{"):])
    assert report["ok"] and report["bytes_hashed"] == seal.details["size"]

    # A newer version under the same key (the store allows it) is not the sealed version.
    key = f"school-12/{seal.details['path']}"
    seaweed.client().put_object(Bucket=bucket, Key=key, Body=b"forged", ObjectLockMode="COMPLIANCE",
                                ObjectLockRetainUntilDate=datetime.now(UTC) + timedelta(days=1))
    assert CliRunner().invoke(app, ["verify", "--config", str(config_path)]).exit_code == 0

    # Without the store's credentials the clip cannot be checked: verification says so and fails.
    monkey = pytest.MonkeyPatch()
    monkey.delenv("AWS_ACCESS_KEY_ID")
    try:
        result = CliRunner().invoke(app, ["verify", "--config", str(config_path)])
    finally:
        monkey.undo()
    assert result.exit_code == 1 and "only in the object store" in result.output
    runtime.close()


def test_legal_hold_and_retention_follow_the_stored_version(tmp_path: Path, seaweed: SeaweedServer, walk_scene,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A hold is set and released on the stored version; retention deletes the version only
    once its lock has expired (the store itself refuses earlier)."""
    monkeypatch.setattr(uploads, "MIN_LOCK", timedelta(seconds=4))  # a clip from October: lock ends in 4 s
    bucket = seaweed.make_bucket(bucket_name())
    runtime, clip_id, stored = october_clip(objects_config(tmp_path, walk_scene, seaweed.endpoint, bucket), walk_scene)
    key, version = stored["key"], stored["version_id"]
    client = seaweed.client()

    assert uploads.set_object_hold(runtime, clip_id, on=True) is None
    assert client.get_object_legal_hold(Bucket=bucket, Key=key, VersionId=version)["LegalHold"]["Status"] == "ON"
    assert uploads.set_object_hold(runtime, clip_id, on=False) is None
    assert client.get_object_legal_hold(Bucket=bucket, Key=key, VersionId=version)["LegalHold"]["Status"] == "OFF"

    assert "locked until" in str(uploads.delete_expired_object(runtime, clip_id, datetime.now(UTC)))
    with pytest.raises(Exception, match="AccessDenied"):
        client.delete_object(Bucket=bucket, Key=key, VersionId=version)
    time.sleep(max(0.0, (datetime.fromisoformat(stored["retain_until"]) - datetime.now(UTC)).total_seconds()) + 1)
    assert StorageGuard(runtime).enforce_retention(datetime.now(UTC)) == [clip_id]
    versions = client.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])
    assert version not in [v["VersionId"] for v in versions]
    runtime.close()


def test_checkpoints_are_witnessed_in_the_bucket(tmp_path: Path, seaweed: SeaweedServer, walk_scene) -> None:
    """The attacker has the storage folder and the database: they delete the newest entries
    with the local checkpoints. The bucket's locked checkpoints name what was removed."""
    bucket = seaweed.make_bucket(bucket_name())
    config_path = objects_config(tmp_path, walk_scene, seaweed.endpoint, bucket)
    analyze(config_path, walk_scene.path)
    runtime = Runtime.open(load_config(config_path))
    assert drained(Uploader(runtime))
    runtime.evidence.flush_checkpoint()
    client = seaweed.client()
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix="school-12/checkpoints/")["Contents"]]
    assert keys
    head = client.head_object(Bucket=bucket, Key=keys[-1])
    assert head["ObjectLockMode"] == "COMPLIANCE"
    with pytest.raises(Exception, match="AccessDenied"):
        client.delete_object(Bucket=bucket, Key=keys[-1], VersionId=head["VersionId"])
    assert CliRunner().invoke(app, ["verify", "--config", str(config_path)]).exit_code == 0
    runtime.close()

    removed = tampering.hide_newest(runtime.paths.root, 2)
    result = CliRunner().invoke(app, ["verify", "--config", str(config_path), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout[result.stdout.index("{"):])
    assert [(f["kind"], f["seq"]) for f in report["failures"]] == [("truncated", removed[0])]
    assert bucket in report["failures"][0]["message"]
