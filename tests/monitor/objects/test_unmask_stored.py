"""Unmasking a clip whose local copies went after upload: the clip and its encrypted original are
streamed from the stored versions the custody log names, checked against the seal, and a stored
original that differs from its seal is refused with nothing written or logged."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evidence.actions import Action
from evidence.bundle import verify_bundle
from evidence.custodians import NewKey, split_new_key, write_share_files
from monitor.cli import app
from monitor.objects.uploads import Uploader, queue_upload, stored_entry
from monitor.store.models import Clip
from tests.fixtures.seaweedfs import SeaweedServer
from tests.monitor.objects.conftest import bucket_name, drained
from tests.service.conftest import Server, Site, make_site, serve
from tests.service.test_unmask import NAMES, REQUEST, add_clip_with_original, packets

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("credentials")]


def stored_only_site(folder: Path, seaweed: SeaweedServer, key: NewKey) -> Site:
    storage = {"path": str(folder / "data"), "database": f"sqlite:///{folder}/data/hotspot.db",
               "worker_user": None,
               "objects": {"endpoint": seaweed.endpoint, "bucket": seaweed.make_bucket(bucket_name()),
                           "keep_local": False}}
    return make_site(folder, config={"storage": storage, "originals": {
        "recipient": key.recipient, "threshold": 2, "custodians": NAMES, "approval_minutes": 30}})


def uploaded(site: Site, key: NewKey, folder: Path) -> tuple[str, bytes, list[Path]]:
    """A sealed clip with its original, both uploaded and gone locally: its id, the camera's file,
    and the local paths that went."""
    clip_id, camera = add_clip_with_original(Server("", site), key, folder)
    seal = site.runtime.evidence.sealed(clip_id)
    local = [site.runtime.paths.absolute(str(p)) for p in (seal.details["path"], seal.details["original"]["path"])]
    with site.runtime.sessions() as session:
        clip = session.get(Clip, clip_id)
        assert clip is not None
        queue_upload(site.runtime, clip_id=clip_id, path=clip.path, sha256=str(clip.sha256), start=clip.start)
    assert drained(Uploader(site.runtime))
    assert stored_entry(site.runtime, clip_id) is not None and not any(p.exists() for p in local)
    return clip_id, camera, local


def cli_unmask(site: Site, clip_id: str, out: Path, shares: list[Path]) -> tuple[int, str]:
    args = ["unmask", clip_id, "--case", "2026-031", "--reason", "fight at the door", "--recipient", "Det. Ruiz",
            "--interest", "criminal investigation", "--by", "security-director", "--out", str(out),
            "--config", str(site.config_path)]
    for share in shares:
        args += ["--share", str(share)]
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


def test_unmask_of_a_clip_only_in_the_store(tmp_path: Path, seaweed: SeaweedServer) -> None:
    key = split_new_key(NAMES, threshold=2, site="Test School")
    site = stored_only_site(tmp_path, seaweed, key)
    shares = write_share_files(tmp_path / "envelopes", key.shares)
    clip_id, camera, _local = uploaded(site, key, tmp_path)

    out = tmp_path / "cli" / "original.zip"
    out.parent.mkdir()
    code, output = cli_unmask(site, clip_id, out, shares[:2])
    assert code == 0, output
    original = site.runtime.evidence.sealed(clip_id).details["original"]
    assert verify_bundle(out).original_sha256 == original["sha256"]
    with zipfile.ZipFile(out) as bundle:
        assert packets(bundle.read(f"original/{clip_id}.mp4")) == packets(camera)

    with serve(site.app) as url, Server(url, site).client("investigator") as investigator, \
            Server(url, site).client("admin") as admin:
        request_id = investigator.post(f"/api/unmask/clips/{clip_id}", json=REQUEST).json()["id"]
        for share in key.shares[1:]:
            assert admin.post(f"/api/unmask/{request_id}/approve", json={"share": share.text()}).status_code == 200
        download = investigator.get(f"/api/unmask/{request_id}/original.zip")
    assert download.status_code == 200, download.text
    saved = tmp_path / "dashboard.zip"
    saved.write_bytes(download.content)
    assert verify_bundle(saved).original_sha256 == original["sha256"]
    actions = [e.action for e in site.runtime.evidence.entries(clip_id)]
    assert actions.count(Action.UNMASK_DISCLOSED) == 2


def test_a_stored_original_that_differs_from_its_seal_is_refused(tmp_path: Path, seaweed: SeaweedServer,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The original changed after its seal and went up under its new hash (which the store
    checked): its stored bytes are not the sealed ones, so it is not unmasked."""
    key = split_new_key(NAMES, threshold=2, site="Test School")
    site = stored_only_site(tmp_path, seaweed, key)
    shares = write_share_files(tmp_path / "envelopes", key.shares)
    taken = Uploader._original

    def changed_original(self: Uploader, clip_id: str) -> tuple[str, Path, str] | None:
        found = taken(self, clip_id)
        assert found is not None
        data = bytearray(found[1].read_bytes())
        data[len(data) // 2] ^= 0xFF
        found[1].write_bytes(bytes(data))
        return found[0], found[1], hashlib.sha256(data).hexdigest()

    monkeypatch.setattr(Uploader, "_original", changed_original)
    clip_id, _camera, _local = uploaded(site, key, tmp_path)
    before = len(site.runtime.evidence.entries(clip_id))

    out = tmp_path / "original.zip"
    code, output = cli_unmask(site, clip_id, out, shares[:2])
    assert code == 1 and "REFUSED" in output and "not the sealed file" in output, output
    assert "the object store's copy" in output and not out.exists()
    with serve(site.app) as url, Server(url, site).client("investigator") as investigator, \
            Server(url, site).client("admin") as admin:
        request_id = investigator.post(f"/api/unmask/clips/{clip_id}", json=REQUEST).json()["id"]
        for share in key.shares[:2]:
            assert admin.post(f"/api/unmask/{request_id}/approve", json={"share": share.text()}).status_code == 200
        download = investigator.get(f"/api/unmask/{request_id}/original.zip")
    assert download.status_code == 409 and "not the sealed file" in download.text, download.text
    actions = [e.action for e in site.runtime.evidence.entries(clip_id)][before:]
    assert Action.UNMASK_DISCLOSED not in actions  # the dashboard's request and approvals only
