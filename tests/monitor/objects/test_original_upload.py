"""A clip's encrypted native original goes to the store with the clip, locked the same way."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.objects.uploads import Uploader, set_object_hold, stored_entry
from monitor.seal.database_outbox import DatabaseOutbox
from monitor.site.runtime import Runtime
from tests.conftest import base_config, write_config
from tests.fixtures.seaweedfs import SeaweedServer
from tests.monitor.objects.conftest import bucket_name, drained
from tests.monitor.seal.test_only_seen_clips_sealed import clip_file, clip_open, clip_seal
from tests.monitor.seal.test_original_seals import SITE_KEY, write_original
from tests.reliability.stores import noise_clip

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("credentials")]


def test_original_is_stored_with_its_clip(tmp_path: Path, seaweed: SeaweedServer) -> None:
    bucket = seaweed.make_bucket(bucket_name())
    data = base_config(tmp_path / "data", cameras=[
        {"id": "hall", "source": "/dev/null", "zones": [{"id": "door", "polygon": [[0, 0], [1, 0], [1, 1]]}]}],
        originals={"recipient": SITE_KEY, "custodians": ["a", "b"]})
    data["storage"]["objects"] = {"endpoint": seaweed.endpoint, "bucket": bucket, "keep_local": False}
    runtime = Runtime.open(load_config(write_config(tmp_path, data)))
    outbox = DatabaseOutbox(runtime)
    outbox.submit(clip_open("own"))
    path = noise_clip(clip_file(runtime, "own"), seed=3, frames=5)
    original = write_original(runtime, "own", path)
    outbox.submit({**clip_seal("own", path), "original": original})
    sealed = runtime.evidence.sealed("own").details["original"]
    local_original = runtime.paths.root / str(sealed["path"])
    assert local_original.is_file()

    assert drained(Uploader(runtime))
    stored = stored_entry(runtime, "own")
    assert stored is not None and stored["original"]["key"] == str(sealed["path"])
    client = seaweed.client()
    head = client.head_object(Bucket=bucket, Key=stored["original"]["key"],
                              VersionId=stored["original"]["version_id"], ChecksumMode="ENABLED")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ChecksumSHA256"] == base64.b64encode(bytes.fromhex(str(sealed["ciphertext_sha256"]))).decode()
    assert not local_original.exists() and not path.exists()
    assert set_object_hold(runtime, "own", on=True) is None
    hold = client.get_object_legal_hold(Bucket=bucket, Key=stored["original"]["key"],
                                        VersionId=stored["original"]["version_id"])
    assert hold["LegalHold"]["Status"] == "ON"
    with pytest.raises(Exception, match="AccessDenied"):
        client.delete_object(Bucket=bucket, Key=stored["original"]["key"], VersionId=stored["original"]["version_id"])
    runtime.close()
