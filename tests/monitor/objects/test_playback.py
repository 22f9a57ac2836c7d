"""Playing a clip whose local copy went after upload: streamed from the store, with ranges."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from monitor.objects.uploads import Uploader, queue_upload
from tests.fixtures.seaweedfs import SeaweedServer
from tests.monitor.objects.conftest import assert_served, bucket_name, drained
from tests.service.conftest import Server, make_site, serve

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("credentials")]


def test_dashboard_plays_a_clip_from_the_store(tmp_path: Path, seaweed: SeaweedServer) -> None:
    bucket = seaweed.make_bucket(bucket_name())
    storage = {"path": str(tmp_path / "data"), "database": f"sqlite:///{tmp_path}/data/hotspot.db",
               "worker_user": None,
               "objects": {"endpoint": seaweed.endpoint, "bucket": bucket, "keep_local": False}}
    site = make_site(tmp_path, config={"storage": storage})
    clip, _alert = site.add_clip()
    local = site.runtime.paths.absolute(clip.path)
    data = local.read_bytes()
    queue_upload(site.runtime, clip_id=clip.id, path=clip.path, sha256=str(clip.sha256), start=clip.start)
    assert drained(Uploader(site.runtime)) and not local.exists()

    with serve(site.app) as url:
        server = Server(url, site)
        with server.client("investigator") as client:
            assert hashlib.sha256(data).hexdigest() == clip.sha256
            assert_served(client, f"/api/clips/{clip.id}/video", data)
            tail = client.get(f"/api/clips/{clip.id}/video", headers={"Range": "bytes=-50"})
            assert tail.status_code == 206 and tail.content == data[-50:]
            beyond = client.get(f"/api/clips/{clip.id}/video", headers={"Range": f"bytes={len(data)}-"})
            assert beyond.status_code == 416
        views = [e for e in site.runtime.evidence.entries(clip.id) if e.action == "viewed"]
        assert len(views) == 1
