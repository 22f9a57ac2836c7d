"""Unmasking from the dashboard over real HTTP: request, custodians' approvals, one download."""

from __future__ import annotations

import hashlib
import io
import re
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest
from playwright.sync_api import Browser, Page, expect

from evidence.actions import Action
from evidence.bundle import verify_bundle
from evidence.custodians import NewKey, split_new_key
from monitor.record.original import OriginalWriter
from monitor.seal.clip_sealer import original_record
from monitor.service.accounts import add_user
from monitor.service.app import create_app
from monitor.service.state import ServiceSettings
from monitor.store.models import Clip
from tests.conftest import base_config, write_config
from tests.fixtures.media import make_h264_mp4
from tests.service.conftest import CAMERA, PASSWORDS, SCHEDULES, Server, Site, log_in, serve

NAMES = ["principal", "counsel", "director"]


@pytest.fixture(scope="module")
def key() -> NewKey:
    return split_new_key(NAMES, threshold=2, site="Test School")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, key: NewKey) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("site")
    config = write_config(folder, base_config(folder / "data", schedules=SCHEDULES, cameras=[CAMERA], originals={
        "recipient": key.recipient, "threshold": 2, "custodians": NAMES, "approval_minutes": 30}))
    app = create_app(config, settings=ServiceSettings(start_workers=False))
    site = Site(config, folder / "data", app)
    with site.runtime.sessions.begin() as session:
        for role, password in PASSWORDS.items():
            add_user(session, role, role, password)
    with serve(site.app) as url:
        yield Server(url, site)


def add_clip_with_original(server: Server, key: NewKey, folder: Path) -> tuple[str, bytes]:
    """A sealed masked clip whose original is a real H.264 file's packets, age-encrypted."""
    runtime = server.site.runtime
    start = datetime.now(UTC) - timedelta(minutes=5)
    clip_id = uuid.uuid4().hex
    camera_file = make_h264_mp4(folder / f"{clip_id}-camera.mp4", frames=40, width=320, height=240, fps=10)
    path = runtime.paths.clip_file("east-stairwell", start, clip_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    make_h264_mp4(path, frames=20, width=320, height=240, fps=10)
    target = runtime.paths.original_file("east-stairwell", start, clip_id, encrypted=True)
    with av.open(str(camera_file)) as source:
        writer = OriginalWriter(target, source.streams.video[0], recipient=key.recipient)
        for packet in source.demux(source.streams.video[0]):
            writer.write(packet)
        digest = writer.close()
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    relative = runtime.paths.relative(path)
    runtime.evidence.seal_clip(clip_id=clip_id, path=relative, sha256=sha, size=len(data),
                               metadata={"camera": "east-stairwell", "zones": ["landing"]},
                               original=original_record(runtime.paths.relative(target), key.recipient, digest))
    with runtime.sessions.begin() as session:
        session.add(Clip(id=clip_id, event_id=uuid.uuid4().hex, camera_id="east-stairwell", zones=["landing"],
                         start=start, end=start + timedelta(seconds=2), frame_count=20, width=320, height=240,
                         fps=10.0, config_hash="0" * 64, path=relative, sha256=sha, size_bytes=len(data),
                         status="sealed"))
    return clip_id, camera_file.read_bytes()


REQUEST = {"case": "2026-031", "reason": "fight at the door", "recipient": "Det. Ruiz, county police",
           "interest": "criminal investigation"}


def packets(data: bytes) -> list[bytes]:
    container = av.open(io.BytesIO(data))
    return [bytes(p) for p in container.demux(container.streams.video[0]) if p.size]


def test_request_two_approvals_and_one_logged_download(server: Server, key: NewKey, tmp_path: Path) -> None:
    clip_id, camera = add_clip_with_original(server, key, tmp_path)
    with server.client("security") as security:
        assert security.post(f"/api/unmask/clips/{clip_id}", json=REQUEST).status_code == 403
    with server.client("investigator") as investigator, server.client("admin") as admin:
        made = investigator.post(f"/api/unmask/clips/{clip_id}", json=REQUEST)
        assert made.status_code == 200, made.text
        request_id = made.json()["id"]
        assert made.json()["threshold"] == 2 and not made.json()["ready"]
        assert investigator.get(f"/api/unmask/{request_id}/original.zip").status_code == 409
        first = admin.post(f"/api/unmask/{request_id}/approve", json={"share": key.shares[0].text()})
        assert first.status_code == 200 and first.json()["approved_by"] == ["principal"]
        again = admin.post(f"/api/unmask/{request_id}/approve", json={"share": key.shares[0].text()})
        assert again.status_code == 422 and "counts once" in again.text
        other = split_new_key(NAMES, threshold=2, site="elsewhere").shares[1].text()
        foreign = admin.post(f"/api/unmask/{request_id}/approve", json={"share": other})
        assert foreign.status_code == 422 and "share refused" in foreign.text
        with server.client("security") as custodian:
            second = custodian.post(f"/api/unmask/{request_id}/approve", json={"share": key.shares[2].text()})
        assert second.status_code == 200 and second.json()["ready"]
        assert admin.get(f"/api/unmask/{request_id}/original.zip").status_code == 403
        download = investigator.get(f"/api/unmask/{request_id}/original.zip")
        assert download.status_code == 200, download.text
        assert investigator.get(f"/api/unmask/{request_id}/original.zip").status_code == 410
    bundle = tmp_path / "original.zip"
    bundle.write_bytes(download.content)
    report = verify_bundle(bundle)
    with zipfile.ZipFile(bundle) as archive:
        original = archive.read(f"original/{clip_id}.mp4")
    assert packets(original) == packets(camera) and report.original_sha256 == hashlib.sha256(original).hexdigest()
    entries = [(e.action, e.actor, e.details.get("entered_by"))
               for e in server.site.runtime.evidence.entries(clip_id)]
    assert entries == [(Action.SEALED, "system", None), (Action.UNMASK_REQUESTED, "investigator", None),
                       (Action.UNMASK_APPROVED, "principal", "admin"), (Action.UNMASK_APPROVED, "director", "security"),
                       (Action.UNMASK_DISCLOSED, "investigator", None)]


def test_an_expired_request_takes_no_approval(server: Server, key: NewKey, tmp_path: Path) -> None:
    clip_id, _ = add_clip_with_original(server, key, tmp_path)
    with server.client("investigator") as investigator:
        request_id = investigator.post(f"/api/unmask/clips/{clip_id}", json=REQUEST).json()["id"]
        state = server.site.app.state.service
        assert state.unmask.get(request_id).expires - datetime.now(UTC) > timedelta(minutes=29)
        state.unmask.get(request_id).expires = datetime.now(UTC) - timedelta(seconds=1)
        late = investigator.post(f"/api/unmask/{request_id}/approve", json={"share": key.shares[1].text()})
        assert late.status_code == 410 and "expired" in late.text
    assert [e.action for e in server.site.runtime.evidence.entries(clip_id)] == [Action.SEALED,
                                                                                 Action.UNMASK_REQUESTED]


def test_pages_offer_the_request_and_the_share_form(server: Server, key: NewKey, tmp_path: Path) -> None:
    clip_id, _ = add_clip_with_original(server, key, tmp_path)
    with server.client("investigator") as investigator, server.client("security") as custodian:
        assert "Request the original" in investigator.get(f"/clips/{clip_id}").text
        request_id = investigator.post(f"/api/unmask/clips/{clip_id}", json=REQUEST).json()["id"]
        page = custodian.get(f"/unmask/{request_id}").text
        assert 'id="share-form"' in page and "nobody yet (0 of 2)" in page and "download-original" not in page
        for share in (key.shares[0], key.shares[1]):
            assert custodian.post(f"/api/unmask/{request_id}/approve", json={"share": share.text()}).status_code == 200
        assert "download-original" not in custodian.get(f"/unmask/{request_id}").text
        assert "download-original" in investigator.get(f"/unmask/{request_id}").text
        assert "unknown, expired" in custodian.get("/unmask/no-such-request").text


@pytest.mark.browser
@pytest.mark.slow
def test_in_the_browser_two_custodians_approve_and_the_investigator_downloads(
    page: Page, browser: Browser, server: Server, key: NewKey, tmp_path: Path
) -> None:
    clip_id, camera = add_clip_with_original(server, key, tmp_path)
    log_in(page, server, "investigator", f"/clips/{clip_id}")
    for field, value in REQUEST.items():
        page.fill(f"#unmask-form input[name={field}]", value)
    page.click("#unmask-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/unmask/[0-9a-f]{32}$"))
    target = page.url.removeprefix(server.url)
    for role, share in (("admin", key.shares[2]), ("security", key.shares[1])):
        custodian = browser.new_context().new_page()
        log_in(custodian, server, role, target)
        custodian.fill("#share-form textarea", share.text())
        custodian.click("#share-form button[type=submit]")
        expect(custodian.locator("#unmask")).to_contain_text(share.custodian)
        custodian.context.close()
    page.reload()
    with page.expect_download() as download_info:
        page.click("#download-original")
    saved = tmp_path / "original.zip"
    download_info.value.save_as(saved)
    assert verify_bundle(saved).original_sha256
    with zipfile.ZipFile(saved) as archive:
        assert packets(archive.read(f"original/{clip_id}.mp4")) == packets(camera)
