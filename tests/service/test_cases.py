"""Cases over real HTTP and the command line: clips of two cameras, holds that follow the case,
who sees which case, and the report PDF as poppler renders and reads it."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import av
import numpy as np
import pytest
from typer.testing import CliRunner

from evidence.case_bundle import verify_case_bundle
from monitor.cli import app
from monitor.store.models import Clip
from tests.service.casework import BASE, case_with_two_cameras
from tests.service.conftest import Server

runner = CliRunner()
POPPLER = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")


def _actions(server: Server, clip_id: str) -> list[str]:
    return [str(e.action) for e in server.site.runtime.evidence.entries(clip_id=clip_id)]


def test_case_from_two_cameras_holds_its_clips_until_closed(server: Server) -> None:
    case, (stair, hall) = case_with_two_cameras(server, "2026-0042")
    assert [c["id"] for c in case["clips"]] == [stair.id, hall.id]  # time order, across cameras
    assert {c["camera_id"] for c in case["clips"]} == {"east-stairwell", "west-hallway"}
    assert all(c["legal_hold"] and c["hold_by_case"] for c in case["clips"])
    assert case["window_start"] == stair.start.isoformat()
    assert _actions(server, stair.id) == ["sealed", "case_clip_added", "hold_set", "case_photo_added"]
    photo = case["photos"][0]
    assert photo["frame_time"] == (stair.start + timedelta(seconds=1)).isoformat()
    with server.client("investigator") as client:
        jpeg = client.get(photo["url"])
        assert jpeg.status_code == 200 and jpeg.content[:2] == b"\xff\xd8"
        # the photograph is the clip's own (masked) frame at that moment
        with av.open(io.BytesIO(jpeg.content)) as image:
            taken = next(image.decode(video=0)).to_ndarray(format="gray").astype(int)
        with av.open(str(server.site.runtime.paths.absolute(stair.path))) as video:
            frame = list(video.decode(video=0))[10].to_ndarray(format="gray").astype(int)
        assert taken.shape == frame.shape and np.abs(taken - frame).mean() < 3
        # a hold placed by an open case cannot be released by hand
        refused = client.post(f"/api/clips/{stair.id}/hold/release", json={"reason": "tidy up"})
        assert refused.status_code == 409 and "2026-0042" in refused.text
        closed = client.post(f"/api/cases/{case['id']}/close")
        assert closed.status_code == 200 and closed.json()["status"] == "closed"
        assert not any(c["legal_hold"] for c in closed.json()["clips"])
        assert client.post(f"/api/cases/{case['id']}/clips", json={"clip_id": stair.id}).status_code == 409
    assert _actions(server, stair.id)[-1] == "hold_released"


def test_holds_follow_the_case_when_cases_overlap_or_the_clip_was_already_held(server: Server) -> None:
    shared, _ = server.site.add_clip(start=BASE + timedelta(hours=1))
    manual, _ = server.site.add_clip(start=BASE + timedelta(hours=1, minutes=1))
    with server.client("admin") as client:
        assert client.post(f"/api/clips/{manual.id}/hold", json={"reason": "court order 17"}).status_code == 200
        first = client.post("/api/cases", json={"number": "H-1", "title": "first"}).json()
        second = client.post("/api/cases", json={"number": "H-2", "title": "second"}).json()
        for case in (first, second):
            for clip in (shared, manual):
                assert client.post(f"/api/cases/{case['id']}/clips", json={"clip_id": clip.id}).status_code == 200
        assert client.post(f"/api/cases/{first['id']}/close").status_code == 200
        held = {c["id"]: c["legal_hold"] for c in client.get("/api/clips", params={"hold": "true"}).json()}
        assert held.get(shared.id) and held.get(manual.id)  # H-2 still open; the court order stands
        removed = client.delete(f"/api/cases/{second['id']}/clips/{shared.id}")
        assert removed.status_code == 200
        assert client.get(f"/api/clips/{shared.id}").json()["legal_hold"] is False
        assert client.post(f"/api/cases/{second['id']}/close").status_code == 200
        assert client.get(f"/api/clips/{manual.id}").json()["legal_hold"] is True
    assert _actions(server, shared.id).count("hold_set") == 1
    assert _actions(server, manual.id).count("hold_released") == 0


def test_security_opens_a_case_from_an_alert_and_sees_only_their_own(server: Server) -> None:
    clip, alert = server.site.add_clip(start=BASE + timedelta(hours=2))
    assert alert is not None
    with server.client("security") as client:
        made = client.post(f"/api/cases/from-alert/{alert.id}", json={"number": "S-7", "title": "from the board"})
        assert made.status_code == 201, made.text
        case = made.json()
        assert case["from_alert_id"] == alert.id and [c["id"] for c in case["clips"]] == [clip.id]
        assert case["clips"][0]["legal_hold"]
        assert {c["number"] for c in client.get("/api/cases").json()} == {"S-7"}
        assert client.post("/api/cases", json={"number": "S-8", "title": "x"}).status_code == 403
        assert client.post(f"/api/cases/{case['id']}/close").status_code == 403
        assert client.post(f"/api/cases/{case['id']}/report").status_code == 403
    with server.client("investigator") as client:
        other = client.post("/api/cases", json={"number": "I-9", "title": "theirs"}).json()
        assert "S-7" in {c["number"] for c in client.get("/api/cases").json()}
    with server.client("security") as client:
        assert client.get(f"/api/cases/{other['id']}").status_code == 404
        assert client.get("/api/cases/I-9").status_code == 404


@POPPLER
def test_report_pdf_renders_with_photographs_hashes_and_fingerprint(server: Server, tmp_path: Path) -> None:
    case, clips = case_with_two_cameras(server, "2026-0051")
    with server.client("investigator") as client:
        response = client.post(f"/api/cases/{case['id']}/report")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(response.content)
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True, timeout=60)
    pages = sorted(tmp_path.glob("page*.png"))
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    assert len(pages) >= 2 and re.search(rf"^Pages:\s+{len(pages)}$", info, re.MULTILINE)
    images = subprocess.run(["pdfimages", "-list", str(pdf)], check=True, capture_output=True, text=True).stdout
    assert len([line for line in images.splitlines()[2:] if line.strip()]) == 1  # the one photograph
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    for clip in clips:
        assert clip.sha256 in text and clip.id in text
    assert server.site.runtime.evidence.keys.key_id in text
    assert "VERIFIED: intact" in text and "Zoë M." in text and "Reporting officer" in text
    assert "2026-03-02 14:00:30 CST" in text  # the stairwell clip, in the site's time zone
    made = server.site.runtime.evidence.head()
    assert made is not None and str(made.action) == "report_made"
    assert made.object_sha256 == response.headers["x-report-sha256"] == hashlib.sha256(response.content).hexdigest()


def test_every_case_command(server: Server, tmp_path: Path) -> None:
    stair, _ = server.site.add_clip(camera="east-stairwell", start=BASE + timedelta(hours=3))
    hall, _ = server.site.add_clip(camera="west-hallway", start=BASE + timedelta(hours=3, minutes=1))

    def hotspot(*args: str) -> str:
        result = runner.invoke(app, [*args, "--config", str(server.site.config_path)])
        assert result.exit_code == 0, result.output
        return result.stdout

    case_id = hotspot("cases", "create", "--number", "2026-0071", "--title", "Parking lot", "--narrative",
                      "Car door hit; both drivers spoken to.", "--by", "officer.k").strip()
    assert re.fullmatch(r"[0-9a-f]{32}", case_id)
    hotspot("cases", "add", "2026-0071", stair.id, "--note", "stairwell first")
    hotspot("cases", "add", case_id, hall.id)
    shown = json.loads(hotspot("cases", "show", "2026-0071", "--json"))
    assert [c["id"] for c in shown["clips"]] == [stair.id, hall.id] and shown["clips"][0]["note"] == "stairwell first"
    assert all(c["legal_hold"] for c in shown["clips"])
    assert "Car door hit" in hotspot("cases", "show", case_id)
    hotspot("report", "2026-0071", "--out", str(tmp_path / "report.pdf"))
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")
    hotspot("export-case", "2026-0071", "--out", str(tmp_path / "case.zip"), "--reason", "hearing",
            "--recipient", "district", "--interest", "discipline", "--by", "officer.k")
    verified = verify_case_bundle(tmp_path / "case.zip")
    assert verified.exported_by == "officer.k" and verified.recipient == "district"
    hotspot("cases", "close", "2026-0071")
    assert not any(c["legal_hold"] for c in json.loads(hotspot("cases", "show", case_id, "--json"))["clips"])
    unknown = runner.invoke(app, ["cases", "add", "2026-0071", hall.id, "--config", str(server.site.config_path)])
    assert unknown.exit_code == 2 and "closed" in unknown.output
    store = runner.invoke(app, ["verify", "--json", "--config", str(server.site.config_path)])
    assert store.exit_code == 0, store.output  # the whole store still verifies with every case entry in it


def test_what_a_case_refuses(server: Server) -> None:
    sealed, _ = server.site.add_clip(start=BASE + timedelta(hours=6))
    recording, _ = server.site.add_clip(start=BASE + timedelta(hours=6, minutes=1))
    with server.site.runtime.sessions.begin() as session:
        session.get(Clip, recording.id).status = "recording"  # type: ignore[union-attr]
    with server.client("investigator") as client:
        case = client.post("/api/cases", json={"number": "R-1", "title": "refusals"}).json()
        assert client.post("/api/cases", json={"number": "R-1", "title": "again"}).status_code == 409
        url = f"/api/cases/{case['id']}"
        assert client.post(f"{url}/clips", json={"clip_id": recording.id}).status_code == 409
        assert client.post(f"{url}/clips", json={"clip_id": "no-such-clip"}).status_code == 404
        assert client.post(f"{url}/photos", json={"clip_id": sealed.id, "offset_seconds": 1}).status_code == 404
        assert client.post(f"{url}/clips", json={"clip_id": sealed.id}).status_code == 200
        assert client.post(f"{url}/clips", json={"clip_id": sealed.id}).status_code == 409
        beyond = client.post(f"{url}/photos", json={"clip_id": sealed.id, "offset_seconds": 30})
        assert beyond.status_code == 422 and "ends" in beyond.text
        # a clip file changed on disk gives no photograph: its bytes no longer match the seal
        path = server.site.runtime.paths.absolute(sealed.path)
        original = path.read_bytes()
        path.write_bytes(original[:-10] + bytes(10))
        try:
            changed = client.post(f"{url}/photos", json={"clip_id": sealed.id, "offset_seconds": 0})
            assert changed.status_code == 409 and "seal" in changed.text
        finally:
            path.write_bytes(original)
        window = client.patch(url, json={"window_start": "2026-03-02T21:00:00Z", "window_end": "2026-03-02T20:00:00Z"})
        assert window.status_code == 422


def test_timeline_api_lays_every_camera_on_one_axis(server: Server) -> None:
    base = BASE + timedelta(hours=7)  # 21:00 in Chicago
    late, _ = server.site.add_clip(camera="west-hallway", start=base + timedelta(minutes=2), with_alert=False)
    early, _ = server.site.add_clip(camera="east-stairwell", start=base, with_alert=False)
    far, _ = server.site.add_clip(camera="gym", start=base + timedelta(minutes=20), with_alert=False)
    with server.client("investigator") as client:
        window = {"since": base.isoformat(), "until": (base + timedelta(minutes=5)).isoformat()}
        data = client.get("/api/timeline", params=window).json()
        assert [c["id"] for c in data["clips"]] == [early.id, late.id]
        assert data["cameras"] == ["east-stairwell", "west-hallway"] and data["timezone"] == "America/Chicago"
        near = client.get("/api/timeline/near", params={"at": "2026-03-02T21:01:00", "minutes": 3}).json()
        assert near["at"] == (base + timedelta(minutes=1)).isoformat()  # a time without a zone is site time
        assert {c["id"] for c in near["clips"]} == {early.id, late.id} and far.id not in str(near)
        inside = client.get("/api/timeline/near", params={"at": (early.start + timedelta(seconds=1.5)).isoformat(),
                                                          "minutes": 1}).json()
        assert next(c for c in inside["clips"] if c["id"] == early.id)["offset_at_moment"] == 1.5
        assert client.get("/api/timeline", params={"since": window["until"], "until": window["since"]}).status_code == 422
        too_long = {"since": base.isoformat(), "until": (base + timedelta(days=8)).isoformat()}
        assert client.get("/api/timeline", params=too_long).status_code == 422
    with server.client("security") as client:
        assert client.get("/api/timeline", params=window).status_code == 403
