"""Cases made through the API, shared by the case tests."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.store.models import Clip
from tests.service.conftest import Server

BASE = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)


def case_with_two_cameras(server: Server, number: str) -> tuple[dict[str, Any], list[Clip]]:
    """A case with a stairwell clip and, a minute later, a hallway clip, notes and a photograph."""
    stair, _ = server.site.add_clip(camera="east-stairwell", start=BASE + timedelta(seconds=30))
    hall, _ = server.site.add_clip(camera="west-hallway", zones=("corridor",), start=BASE + timedelta(seconds=90))
    with server.client("investigator") as client:
        made = client.post("/api/cases", json={"number": number, "title": "Fight, stairwell to hallway",
                                               "narrative": "Two students fought on the landing; Zoë M. separated them."})
        assert made.status_code == 201, made.text
        case = made.json()
        for clip, note in ((hall, "hallway: they run past"), (stair, "stairwell: the fight starts")):
            added = client.post(f"/api/cases/{case['id']}/clips", json={"clip_id": clip.id, "note": note})
            assert added.status_code == 200, added.text
        photo = client.post(f"/api/cases/{case['id']}/photos",
                            json={"clip_id": stair.id, "offset_seconds": 1.0, "caption": "the landing"})
        assert photo.status_code == 200, photo.text
        case = client.get(f"/api/cases/{case['id']}").json()
    return case, [stair, hall]


def export(server: Server, case: dict[str, Any], tmp_path: Path) -> Path:
    """The case bundle as the dashboard downloads it, under the name its VERIFY.md uses."""
    with server.client("investigator") as client:
        response = client.post(f"/api/cases/{case['id']}/export", json={
            "reason": "district hearing", "recipient": "District Office, J. Park", "interest": "student discipline"})
    assert response.status_code == 200, response.text
    name = re.search(r'filename="?([^";]+)', response.headers["content-disposition"])
    assert name is not None
    bundle = tmp_path / name.group(1)  # the name VERIFY.md gives it
    bundle.write_bytes(response.content)
    return bundle
