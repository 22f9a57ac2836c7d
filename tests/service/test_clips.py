"""Clips over real HTTP: search, range playback, custody entries per user, export, verify, holds."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta

import av
from sqlalchemy import update

from evidence.custody import CustodyEntry
from tests.service.conftest import Server


def _actions(server: Server, clip_id: str) -> list[tuple[str, str]]:
    return [(str(e.action), e.actor) for e in server.site.runtime.evidence.entries(clip_id=clip_id)]


def test_search_filters(server: Server) -> None:
    base = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
    early, _ = server.site.add_clip(start=base, zones=("landing",))
    late, late_alert = server.site.add_clip(start=base + timedelta(hours=2), zones=("door",))
    other, _ = server.site.add_clip(camera="west-gym", start=base + timedelta(hours=1), with_alert=False)
    assert late_alert is not None
    with server.client("investigator") as client:
        def ids(**params: object) -> set[str]:
            response = client.get("/api/clips", params={k: str(v) for k, v in params.items()})
            assert response.status_code == 200, response.text
            return {c["id"] for c in response.json()}

        window = {"since": base.isoformat(), "until": (base + timedelta(hours=3)).isoformat()}
        assert ids(**window) == {early.id, late.id, other.id}
        assert ids(camera="west-gym", **window) == {other.id}
        assert ids(zone="door", **window) == {late.id}
        assert ids(since=(base + timedelta(minutes=30)).isoformat(), until=(base + timedelta(minutes=90)).isoformat()) == {other.id}
        assert ids(alert_id=late_alert.id) == {late.id}
        assert client.post(f"/api/clips/{early.id}/hold", json={"reason": "case 7"}).status_code == 200
        assert ids(hold="true", **window) == {early.id}
        assert ids(hold="false", **window) == {late.id, other.id}
        page = client.get("/clips", params={"camera": "west-gym"})
        assert other.id in page.text and early.id not in page.text


def test_playback_uses_range_requests_and_logs_one_view_per_user(server: Server) -> None:
    clip, _ = server.site.add_clip()
    with server.client("investigator") as client:
        head = client.get(f"/api/clips/{clip.id}/video", headers={"Range": "bytes=0-1023"})
        assert head.status_code == 206
        assert head.headers["content-range"] == f"bytes 0-1023/{clip.size_bytes}"
        assert head.headers["accept-ranges"] == "bytes" and len(head.content) == 1024
        tail = client.get(f"/api/clips/{clip.id}/video", headers={"Range": "bytes=1024-"})
        assert tail.status_code == 206
        whole = head.content + tail.content
        with av.open(io.BytesIO(whole), "r") as container:  # the bytes served are a playable H.264 MP4
            frames = len(list(container.decode(video=0)))
        assert frames == clip.frame_count
        client.get(f"/api/clips/{clip.id}/video", headers={"Range": "bytes=0-"})
    with server.client("admin") as client:
        client.get(f"/api/clips/{clip.id}/video")
    assert _actions(server, clip.id).count(("viewed", "investigator")) == 1
    assert ("viewed", "admin") in _actions(server, clip.id)


def test_download_is_logged_with_the_user(server: Server) -> None:
    clip, _ = server.site.add_clip()
    with server.client("investigator") as client:
        response = client.get(f"/api/clips/{clip.id}/download")
    assert response.status_code == 200
    assert f'filename="{clip.id}.mp4"' in response.headers["content-disposition"]
    assert len(response.content) == clip.size_bytes
    assert ("downloaded", "investigator") in _actions(server, clip.id)


def test_clip_page_shows_custody_and_verification(server: Server) -> None:
    clip, _ = server.site.add_clip()
    with server.client("admin") as client:
        client.post(f"/api/clips/{clip.id}/hold", json={"reason": "hearing on 2026-12-01"})
        result = client.post(f"/api/clips/{clip.id}/verify").json()
        assert result["status"] == "intact" and result["actual_sha256"] == clip.sha256
        page = client.get(f"/clips/{clip.id}")
    assert page.status_code == 200
    for action in ("sealed", "hold_set", "verified"):
        assert action in page.text
    assert "hearing on 2026-12-01" in page.text


def test_a_clip_sealed_after_a_crash_says_so_on_its_page(server: Server) -> None:
    clip, _ = server.site.add_clip(recovered=True)
    ordinary, _ = server.site.add_clip()
    with server.client("investigator") as client:
        assert client.post(f"/api/clips/{clip.id}/verify").json()["status"] == "intact"
        page = client.get(f"/clips/{clip.id}").text
        plain = client.get(f"/clips/{ordinary.id}").text
    assert 'id="recovered"' in page and "RECOVERED" in page and "left open by a crash" in page
    assert 'id="recovered"' not in plain


def test_clip_page_places_a_clip_that_encodes_part_of_the_frame(server: Server) -> None:
    """The seal says the 320x240 picture lies at (640, 480) in a 1280x960 frame: the player
    sits in a black frame of that shape, at a quarter of its width and half its height."""
    placed, _ = server.site.add_clip(placement={"x": 320, "y": 480, "frame_width": 1280, "frame_height": 960})
    whole, _ = server.site.add_clip(placement={"x": 0, "y": 0, "frame_width": 320, "frame_height": 240})
    with server.client("admin") as client:
        page = client.get(f"/clips/{placed.id}").text
        plain = client.get(f"/clips/{whole.id}").text
    assert 'class="clip-frame"' in page and "aspect-ratio: 1.3333333333333333" in page
    assert "left: 25.0%; top: 50.0%; width: 25.0%; height: 25.0%" in page
    assert 'class="clip-frame"' not in plain and 'width="320"' in plain


def test_verification_detects_a_modified_file(server: Server) -> None:
    clip, _ = server.site.add_clip()
    path = server.site.runtime.paths.absolute(clip.path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with server.client("investigator") as client:
        result = client.post(f"/api/clips/{clip.id}/verify").json()
    assert result["ok"] is False and result["status"] == "modified"
    assert result["actual_sha256"] != clip.sha256


def test_verification_detects_a_rewritten_custody_entry(server: Server) -> None:
    clip, _ = server.site.add_clip()
    with server.client("investigator") as client:
        client.post(f"/api/clips/{clip.id}/hold", json={"reason": "case 31"})
        assert client.post(f"/api/clips/{clip.id}/verify").json()["status"] == "intact"
        with server.site.runtime.engine.begin() as conn:
            conn.execute(update(CustodyEntry).where(CustodyEntry.clip_id == clip.id,
                                                    CustodyEntry.action == "hold_set")
                         .values(details='{"reason":"no case"}'))
        result = client.post(f"/api/clips/{clip.id}/verify").json()
    assert result["ok"] is False and result["status"] == "broken-chain"
    assert any("hold_set" in p and "modified" in p for p in result["problems"]), result["problems"]


def test_hold_set_and_release(server: Server) -> None:
    clip, _ = server.site.add_clip()
    with server.client("investigator") as client:
        assert client.post(f"/api/clips/{clip.id}/hold/release", json={"reason": "x"}).status_code == 409
        assert client.post(f"/api/clips/{clip.id}/hold", json={"reason": "case 12"}).json()["legal_hold"] is True
        assert client.post(f"/api/clips/{clip.id}/hold", json={"reason": "again"}).status_code == 409
        assert client.post(f"/api/clips/{clip.id}/hold", json={"reason": ""}).status_code == 422
        released = client.post(f"/api/clips/{clip.id}/hold/release", json={"reason": "case closed"}).json()
        assert released["legal_hold"] is False
    entries = [e for e in server.site.runtime.evidence.entries(clip_id=clip.id) if str(e.action).startswith("hold")]
    assert [(str(e.action), e.details["reason"], e.actor) for e in entries] == [
        ("hold_set", "case 12", "investigator"), ("hold_released", "case closed", "investigator")]


def test_export_then_verify_the_bundle(server: Server) -> None:
    clip, _ = server.site.add_clip()
    with server.client("investigator") as client:
        body = {"case": "2026-114", "reason": "police request", "recipient": "Officer Diaz, city police",
                "interest": "investigating the March 2 incident"}
        for missing in ("recipient", "interest"):
            refused = client.post(f"/api/clips/{clip.id}/export", json={k: v for k, v in body.items() if k != missing})
            assert refused.status_code == 422 and missing in refused.text
        export = client.post(f"/api/clips/{clip.id}/export", json=body)
        assert export.status_code == 200, export.text
        assert export.headers["content-type"] == "application/zip"
        name = f"{clip.id}-2026-114.zip"
        assert name in export.headers["content-disposition"]
        with zipfile.ZipFile(io.BytesIO(export.content)) as bundle:
            assert any(name.endswith(".mp4") for name in bundle.namelist())
            assert f"unzip -q {name} " in bundle.read("VERIFY.md").decode()
        verified = client.post("/api/bundles/verify", content=export.content,
                               headers={"Content-Type": "application/zip"}).json()
        assert verified["ok"] is True, verified
        assert verified["signed_by_this_site"] is True
        assert verified["result"]["clip_id"] == clip.id and verified["result"]["case"] == "2026-114"
        assert verified["result"]["sha256"] == clip.sha256
        tampered = bytearray(export.content)
        tampered[export.content.index(b"ftyp") + 400] ^= 0x01  # inside the stored clip
        refused = client.post("/api/bundles/verify", content=bytes(tampered)).json()
        assert refused["ok"] is False and refused["error"]
    exported = [e for e in server.site.runtime.evidence.entries(clip_id=clip.id) if str(e.action) == "exported"]
    assert len(exported) == 1 and exported[0].actor == "investigator"
    assert exported[0].details == {**body, "by": "investigator", "file": f"{clip.id}-2026-114.zip"}


def test_bundle_upload_is_size_limited_and_hostile_input_is_refused(server: Server) -> None:
    with server.client("investigator") as client:
        too_big = client.post("/api/bundles/verify", content=b"\0" * (5 * 1024 * 1024 + 1))
        assert too_big.status_code == 413

        def chunks():  # no Content-Length: the limit holds while streaming
            for _ in range(6):
                yield b"\0" * (1024 * 1024)

        assert client.post("/api/bundles/verify", content=chunks()).status_code == 413
        assert client.post("/api/bundles/verify", content=b"").status_code == 422
        garbage = client.post("/api/bundles/verify", content=b"PK\x03\x04 not really a zip").json()
        assert garbage["ok"] is False
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as evil:
            evil.writestr("../../etc/cron.d/evil", "* * * * * root rm -rf /")
            evil.writestr("manifest.json", "{}")
        traversal = client.post("/api/bundles/verify", content=buffer.getvalue()).json()
        assert traversal["ok"] is False
    assert not (server.site.storage.parent.parent / "etc").exists()
