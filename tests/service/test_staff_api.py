"""The dashboard's API as staff meet it: names for ids, readable audit, health, error pages."""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from monitor.config import load_config
from tests.conftest import REPO
from tests.service.conftest import Server, make_site, serve
from tests.service.test_staff_browser import NAMED_CAMERA


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    site = make_site(tmp_path_factory.mktemp("staff-api"), camera=NAMED_CAMERA)
    with serve(site.app) as url:
        yield Server(url, site)


def test_alerts_and_clips_carry_names_and_are_found_by_zone_name(server: Server) -> None:
    clip, alert = server.site.add_clip(zones=("landing",))
    assert alert is not None
    with server.client("admin") as admin:
        for text in ("Locker-room door", "locker-room DOOR", "landing"):
            alerts = admin.get("/api/alerts", params={"zone": text}).json()
            assert [a["id"] for a in alerts] == [alert.id], text
            clips = admin.get("/api/clips", params={"zone": text}).json()
            assert [c["id"] for c in clips] == [clip.id], text
        assert admin.get("/api/alerts", params={"zone": "Gym door"}).json() == []
        found = admin.get(f"/api/alerts/{alert.id}").json()
        assert found["camera_name"] == "East stairwell" and found["zone_names"] == ["Locker-room door"]
        page = admin.get("/clips", params={"zone": "Locker-room door"}).text
        assert "Locker-room door" in page and "East stairwell" in page and f"/clips/{clip.id}" in page


@pytest.fixture(scope="module")
def camera_down(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A supervised camera whose source file does not exist: its worker never comes online."""
    camera = {**NAMED_CAMERA, "source": "no-such-recording.mp4"}
    site = make_site(tmp_path_factory.mktemp("camera-down"), camera=camera, start_workers=True)
    with serve(site.app) as url:
        yield Server(url, site)


def test_health_is_degraded_while_a_camera_is_down(camera_down: Server) -> None:
    deadline = time.monotonic() + 20
    while True:
        response = httpx.get(f"{camera_down.url}/healthz")
        if response.json()["cameras_down"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert response.status_code == 503, response.text
    assert response.json()["status"] == "degraded" and response.json()["database"] == "ok"
    assert response.json()["cameras_down"] == ["east-stairwell"]


def test_board_says_once_why_a_camera_is_down(camera_down: Server) -> None:
    with camera_down.client("security") as security:
        deadline = time.monotonic() + 20
        while not (cameras := security.get("/api/cameras").json())[0]["last_error"] and time.monotonic() < deadline:
            time.sleep(0.3)
        page = security.get("/alerts").text
    assert cameras[0]["state"] == "offline"
    chip = re.search(r'<li [^>]*data-camera="east-stairwell"[^>]*>([^<]*)</li>', page)
    assert chip is not None, page
    assert chip.group(1) == "East stairwell: offline: video source no-such-recording.mp4: file or device not found"
    assert 'title="video source' not in page  # visible on a phone, not in a hover tooltip


@pytest.fixture(scope="module")
def demo_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The shipped demo configuration, comments and all, with only its storage moved."""
    site = make_site(tmp_path_factory.mktemp("demo-config"))
    text = (REPO / "config" / "cameras.yaml").read_text(encoding="utf-8")
    text = text.replace("  path: data\n", f"  path: {site.storage}\n").replace(
        '"sqlite:///data/hotspot.db"', f'"sqlite:///{site.storage}/hotspot.db"')
    site.config_path.write_text(text, encoding="utf-8")
    site.app.state.service.runtime.config = load_config(site.config_path)
    with serve(site.app) as url:
        yield Server(url, site)


def _changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_zone_and_schedule_saves_keep_the_demo_files_comments_and_format(demo_config: Server) -> None:
    path = demo_config.site.config_path
    original = path.read_text(encoding="utf-8")
    assert "# glass into the locker room" in original
    with demo_config.client("admin") as admin:
        zones = admin.get("/api/cameras/demo-hallway/zones").json()
        body = {"zones": zones["zones"], "privacy_zones": zones["privacy_zones"]}
        assert admin.put("/api/cameras/demo-hallway/zones", json=body).status_code == 200
        assert path.read_text(encoding="utf-8") == original, "saving unchanged zones rewrote the file"
        body["zones"][0]["min_area"] = 0.05
        body["privacy_zones"][1]["polygon"][0] = [0.78, 0.14]
        assert admin.put("/api/cameras/demo-hallway/zones", json=body).status_code == 200
        edited = path.read_text(encoding="utf-8")
        assert _changed_lines(original, edited) == [
            "-        min_area: 0.03", "+        min_area: 0.05",
            "-        - {id: window, polygon: [[0.77, 0.14], [0.96, 0.14], [0.96, 0.46], [0.77, 0.46]]}",
            "+        - {id: window, polygon: [[0.78, 0.14], [0.96, 0.14], [0.96, 0.46], [0.77, 0.46]]}",
        ], _changed_lines(original, edited)
        schedules = admin.get("/api/schedules").json()
        body = {"schedules": schedules["schedules"], "holidays": schedules["holidays"]}
        assert admin.put("/api/schedules", json=body).status_code == 200
        assert path.read_text(encoding="utf-8") == edited, "saving unchanged schedules rewrote the file"
        body["schedules"]["lunch"]["windows"][0]["to"] = "13:15"
        assert admin.put("/api/schedules", json=body).status_code == 200
    changed = _changed_lines(edited, path.read_text(encoding="utf-8"))
    assert changed == ['-    windows: [{days: [mon, tue, wed, thu, fri], from: "11:30", to: "13:00"}]',
                       '+    windows: [{days: [mon, tue, wed, thu, fri], from: "11:30", to: "13:15"}]'], changed


def test_every_page_error_is_a_page_and_the_api_stays_json(server: Server) -> None:
    with server.client("security") as security:
        for path, status, words in (("/users", 403, "Not for your role"), ("/no-such-page", 404, "Not found"),
                                    ("/zones?camera=east-stairwell", 403, "Not for your role")):
            response = security.get(path)
            assert response.status_code == status, path
            assert response.headers["content-type"].startswith("text/html"), path
            assert words in response.text and '<a href="/alerts"' in response.text, path
            assert "lacks permission" not in response.text and "{" not in response.text.split("<main>")[1]
        api = security.get("/api/users")
        assert api.status_code == 403 and api.json()["detail"].startswith("role 'security'")
    with server.client("investigator") as investigator:
        missing = investigator.get("/clips/0123456789abcdef")
        assert missing.status_code == 404 and "no clip &#39;0123456789abcdef&#39;" in missing.text
        unreadable = investigator.get("/clips", params={"since": "yesterday", "until": ""})
        assert unreadable.status_code == 422 and "Cannot read that address" in unreadable.text
        assert "From: &#39;yesterday&#39; is not a date and time" in unreadable.text
        assert investigator.get("/clips", params={"since": "", "until": "", "alert_id": ""}).status_code == 200
        assert investigator.get("/api/clips", params={"since": "yesterday"}).json()["detail"][0]["loc"]
        upload = investigator.post("/api/bundles/verify", content=b"not a zip at all",
                                   headers={"Content-Type": "application/zip"}).json()
    assert upload["ok"] is False and "uploaded bundle" in upload["error"], upload
    assert "/tmp" not in upload["error"] and "upload-" not in upload["error"], upload


def test_security_plays_only_a_recent_alerts_own_clip_and_it_is_logged(server: Server) -> None:
    clip, alert = server.site.add_clip(start=datetime.now(UTC) - timedelta(minutes=3))
    other, _ = server.site.add_clip(start=datetime.now(UTC) - timedelta(minutes=2))
    old_clip, old_alert = server.site.add_clip(start=datetime.now(UTC) - timedelta(hours=13))
    assert alert is not None and old_alert is not None
    with server.client("security") as security:
        listed = security.get(f"/api/alerts/{alert.id}/clips").json()
        assert [c["id"] for c in listed] == [clip.id]
        video = security.get(listed[0]["video_url"], headers={"Range": "bytes=0-"})
        assert video.status_code == 206 and video.headers["content-type"] == "video/mp4"
        assert video.content == (server.site.storage / clip.path).read_bytes()
        # The archive stays closed: another alert's clip, the clip API, downloads, old alerts.
        assert security.get(f"/api/alerts/{alert.id}/clips/{other.id}/video").status_code == 404
        assert security.get(f"/api/clips/{clip.id}/video").status_code == 403
        assert security.get(f"/api/clips/{clip.id}/download").status_code == 403
        assert security.get("/api/clips").status_code == 403
        late = security.get(f"/api/alerts/{old_alert.id}/clips/{old_clip.id}/video")
        assert late.status_code == 403 and "more than 12 hours old" in late.json()["detail"]
    views = [e for e in server.site.runtime.evidence.entries(clip_id=clip.id) if str(e.action) == "viewed"]
    assert [(e.actor, e.details) for e in views] == [("security", {"via": "alert board", "alert_id": str(alert.id)})]
    assert not [e for e in server.site.runtime.evidence.entries(clip_id=old_clip.id) if str(e.action) == "viewed"]
