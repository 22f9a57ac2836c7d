"""Downloading and exporting a clip whose local copy went after upload: the stored version the
custody log names is streamed, checked against the seal before anything is handed out, and the
bundles verify offline. A stored copy that differs from its seal is refused everywhere."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from evidence.actions import Action
from monitor.cli import app
from monitor.objects.uploads import Uploader, queue_upload
from monitor.service.clip_download import DOWNLOADS
from monitor.service.routers.bundles import site_key_ids
from monitor.store.models import Clip
from tests.fixtures.seaweedfs import SeaweedServer
from tests.monitor.objects.conftest import assert_served, bucket_name, drained
from tests.service.conftest import Server, Site, make_site, serve

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("credentials")]

DISCLOSURE = {"case": "2026-0301", "reason": "hearing", "recipient": "District Office",
              "interest": "student discipline"}


def stored_only_site(folder: Path, seaweed: SeaweedServer) -> Site:
    storage = {"path": str(folder / "data"), "database": f"sqlite:///{folder}/data/hotspot.db",
               "worker_user": None,
               "objects": {"endpoint": seaweed.endpoint, "bucket": seaweed.make_bucket(bucket_name()),
                           "keep_local": False}}
    return make_site(folder, config={"storage": storage})


def upload(site: Site, clip: Clip, *, sha256: str) -> bytes:
    """Upload the clip's file as ``sha256`` (the store checks it), let the local copy go; its bytes."""
    local = site.runtime.paths.absolute(clip.path)
    data = local.read_bytes()
    queue_upload(site.runtime, clip_id=clip.id, path=clip.path, sha256=sha256, start=clip.start)
    assert drained(Uploader(site.runtime)) and not local.exists()
    return data


def saved(response: httpx.Response, folder: Path) -> Path:
    assert response.status_code == 200, response.text
    name = re.search(r'filename="?([^";]+)', response.headers["content-disposition"])
    assert name is not None
    bundle = folder / name.group(1)
    bundle.write_bytes(response.content)
    return bundle


def verified_offline(bundle: Path, site: Site) -> str:
    """``python -m evidence verify`` pinned to the site's key: what it printed (it must pass)."""
    done = subprocess.run([sys.executable, "-m", "evidence", "verify", str(bundle),
                           "--trust", site_key_ids(site.runtime.evidence)[0]],
                          check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "VERIFIED" in done.stdout, done.stdout + done.stderr
    return done.stdout


def leftovers(site: Site) -> list[Path]:
    folder = site.runtime.paths.root / "pending" / DOWNLOADS
    time.sleep(0.3)  # the response's background task removes the checked copy after sending it
    return list(folder.iterdir()) if folder.is_dir() else []


def test_download_and_bundles_of_a_clip_only_in_the_store(tmp_path: Path, seaweed: SeaweedServer) -> None:
    site = stored_only_site(tmp_path, seaweed)
    clip, _alert = site.add_clip()
    data = upload(site, clip, sha256=str(clip.sha256))

    with serve(site.app) as url, Server(url, site).client("investigator") as client:
        assert hashlib.sha256(data).hexdigest() == clip.sha256
        assert_served(client, f"/api/clips/{clip.id}/download", data)
        assert leftovers(site) == []

        clip_bundle = saved(client.post(f"/api/clips/{clip.id}/export", json=DISCLOSURE), tmp_path)
        case = client.post("/api/cases", json={"number": "2026-0302", "title": "Stairwell",
                                               "narrative": "A fight on the landing."}).json()
        added = client.post(f"/api/cases/{case['id']}/clips", json={"clip_id": clip.id, "note": "the fight"})
        assert added.status_code == 200, added.text
        photo = client.post(f"/api/cases/{case['id']}/photos", json={"clip_id": clip.id, "offset_seconds": 0.5})
        assert photo.status_code == 200, photo.text  # a frame of the stored version, checked against the seal
        case_bundle = saved(client.post(f"/api/cases/{case['id']}/export", json={
            "reason": "hearing", "recipient": "District Office", "interest": "student discipline"}), tmp_path)

    assert clip.id in verified_offline(clip_bundle, site)
    assert "2026-0302" in verified_offline(case_bundle, site)
    out = tmp_path / "cli" / "bundle.zip"
    out.parent.mkdir()
    result = CliRunner().invoke(app, ["export", clip.id, "--out", str(out), "--by", "j.park", "--config",
                                      str(site.config_path), *[f"--{k}={v}" for k, v in DISCLOSURE.items()]])
    assert result.exit_code == 0, result.output
    verified_offline(out, site)
    actions = [e.action for e in site.runtime.evidence.entries(clip.id)]
    assert actions.count(Action.DOWNLOADED) == 2 and actions.count(Action.EXPORTED) == 2


def test_a_stored_copy_that_differs_from_its_seal_is_refused(tmp_path: Path, seaweed: SeaweedServer) -> None:
    """The file changed after its seal and went up under its new hash (which the store checked):
    the stored bytes are not the sealed ones, so nothing is downloaded or exported."""
    site = stored_only_site(tmp_path, seaweed)
    clip, _alert = site.add_clip()
    local = site.runtime.paths.absolute(clip.path)
    changed = bytearray(local.read_bytes())
    changed[len(changed) // 2] ^= 0xFF
    local.write_bytes(bytes(changed))
    upload(site, clip, sha256=hashlib.sha256(changed).hexdigest())
    before = len(site.runtime.evidence.entries(clip.id))

    with serve(site.app) as url, Server(url, site).client("investigator") as client:
        download = client.get(f"/api/clips/{clip.id}/download")
        assert download.status_code == 409 and "refusing" in download.text and str(clip.sha256) in download.text
        export = client.post(f"/api/clips/{clip.id}/export", json=DISCLOSURE)
        assert export.status_code == 409 and "the object store's copy" in export.text
    assert leftovers(site) == []
    out = tmp_path / "bundle.zip"
    result = CliRunner().invoke(app, ["export", clip.id, "--out", str(out), "--by", "j.park", "--config",
                                      str(site.config_path), *[f"--{k}={v}" for k, v in DISCLOSURE.items()]])
    assert result.exit_code == 1 and "FAILED" in result.output and not out.exists()
    assert len(site.runtime.evidence.entries(clip.id)) == before  # no download, no disclosure logged

    with serve(site.app) as url, Server(url, site).client("investigator") as client:
        case = client.post("/api/cases", json={"number": "2026-0303", "title": "Landing"}).json()
        assert client.post(f"/api/cases/{case['id']}/clips", json={"clip_id": clip.id}).status_code == 200
        photo = client.post(f"/api/cases/{case['id']}/photos", json={"clip_id": clip.id, "offset_seconds": 0.5})
        assert photo.status_code == 409 and "no longer matches its seal" in photo.text, photo.text
