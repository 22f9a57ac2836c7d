"""The dashboard's API as staff meet it: names for ids, readable audit, health, error pages."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.service.conftest import CAMERA, Server, make_site, serve

NAMED_CAMERA = {**CAMERA, "zones": [{**CAMERA["zones"][0], "name": "Locker-room door"}]}


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
