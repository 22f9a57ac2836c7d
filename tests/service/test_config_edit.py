"""Zone and schedule edits: validated like the file, written back with comments, logged, applied."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from monitor.config import load_config
from tests.conftest import write_config
from tests.service.conftest import Server, make_site, serve

COMMENTED = """\
# Site file kept by the facilities office.
site:
  name: Test School
  timezone: America/Chicago
  holidays: ["2026-12-24"]   # winter break starts

storage:
  path: {storage}
  database: "sqlite:///{storage}/hotspot.db"

schedules:
  after-hours:
    windows:
      - {{days: [mon, tue, wed, thu, fri], from: "15:30", to: "07:00"}}   # crosses midnight
    on_holidays: all-day

cameras:
  - id: east-stairwell   # second floor
    name: East stairwell
    source: unused.mp4
    zones:
      - id: landing      # the landing by the lockers
        polygon: [[0.1, 0.2], [0.6, 0.2], [0.6, 0.95], [0.1, 0.95]]
        schedule: after-hours
        min_area: 0.02
    privacy:
      zones: [{{id: window, polygon: [[0.7, 0.0], [1.0, 0.0], [1.0, 0.4], [0.7, 0.4]]}}]
"""


@pytest.fixture(scope="module")
def commented(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("commented")
    site = make_site(folder)
    site.config_path.write_text(COMMENTED.format(storage=site.storage), encoding="utf-8")
    site.app.state.service.runtime.config = load_config(site.config_path)
    with serve(site.app) as url:
        yield Server(url, site)


ZONES: dict[str, Any] = {
    "zones": [
        {"id": "landing", "name": "Landing", "polygon": [[0.1, 0.2], [0.5, 0.2], [0.5, 0.9]], "schedule": None,
         "min_area": 0.05},
        {"id": "door", "polygon": [[0.6, 0.5], [0.9, 0.5], [0.9, 0.9], [0.6, 0.9]], "schedule": "after-hours",
         "min_area": 0.1},
    ],
    "privacy_zones": [{"id": "window", "polygon": [[0.7, 0.0], [1.0, 0.0], [1.0, 0.3]]}],
}


def _raw(path: Path) -> dict[str, Any]:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def test_zone_edit_is_saved_with_comments_and_logged(commented: Server) -> None:
    path = commented.site.config_path
    with commented.client("admin") as admin:
        response = admin.put("/api/cameras/east-stairwell/zones", json=ZONES)
        assert response.status_code == 200, response.text
    text = path.read_text(encoding="utf-8")
    for comment in ("# Site file kept by the facilities office.", "# winter break starts", "# crosses midnight",
                    "# second floor", "# the landing by the lockers"):
        assert comment in text
    assert text.index("site:") < text.index("storage:") < text.index("schedules:") < text.index("cameras:")
    camera = load_config(path).camera("east-stairwell")
    assert [z.id for z in camera.zones] == ["landing", "door"]
    assert camera.zones[0].polygon == [(0.1, 0.2), (0.5, 0.2), (0.5, 0.9)] and camera.zones[0].schedule is None
    assert camera.zones[1].min_area == 0.1 and camera.privacy.zones[0].polygon[2] == (1.0, 0.3)
    assert commented.site.runtime.config.camera("east-stairwell").zones[1].id == "door"
    changes = [e for e in commented.site.runtime.evidence.entries() if str(e.action) == "config_changed"]
    assert changes[-1].actor == "admin" and changes[-1].details["camera"] == "east-stairwell"
    assert changes[-1].details["config_sha256"] == response.json()["config_sha256"]


@pytest.mark.parametrize(("change", "problem"), [
    ({"id": "Bad Id"}, "zones[0].id"),
    ({"polygon": [[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]]}, "intersects itself"),
    ({"polygon": [[0.1, 0.1], [1.5, 0.1], [0.5, 0.5]]}, "outside [0, 1]"),
    ({"schedule": "weekends"}, "'weekends' is not defined"),
    ({"min_area": 0}, "min_area"),
    # YAML reads a NEL written inside quotes back as a line break: the name would change unseen
    ({"name": "Landing\x85by the lockers"}, "zones[0].name: this text would not read back from the file as typed"),
])
def test_invalid_zone_edit_changes_nothing(commented: Server, change: dict, problem: str) -> None:
    before = commented.site.config_path.read_bytes()
    zone = {**ZONES["zones"][0], **change}
    with commented.client("admin") as admin:
        response = admin.put("/api/cameras/east-stairwell/zones", json={**ZONES, "zones": [zone]})
    assert response.status_code == 422
    assert any(problem in p for p in response.json()["detail"]["problems"]), response.json()
    assert commented.site.config_path.read_bytes() == before


def test_schedule_and_holiday_edit(commented: Server) -> None:
    body: dict[str, Any] = {
        "schedules": {
            "after-hours": {"windows": [{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "16:00", "to": "06:30"},
                                        {"days": ["sat", "sun"], "from": "00:00", "to": "24:00"}],
                            "on_holidays": "all-day"},
            "lunch": {"windows": [{"days": ["mon"], "from": "11:30", "to": "13:00"}], "on_holidays": "inactive"},
        },
        "holidays": ["2026-12-25", "2026-12-24"],
    }
    with commented.client("admin") as admin:
        assert admin.put("/api/schedules", json=body).status_code == 200
        bad = admin.put("/api/schedules", json={**body, "schedules": {"lunch": body["schedules"]["lunch"]}})
        assert bad.status_code == 422  # a zone still uses after-hours
        empty = admin.put("/api/schedules", json={**body, "schedules": {
            **body["schedules"], "lunch": {"windows": [{"days": ["mon"], "from": "10:00", "to": "10:00"}]}}})
        assert empty.status_code == 422 and "empty" in str(empty.json())
    config = load_config(commented.site.config_path)
    assert config.schedules["after-hours"].windows[0].start == "16:00"
    assert [d.isoformat() for d in config.site.holidays] == ["2026-12-24", "2026-12-25"]
    raw = _raw(commented.site.config_path)
    assert set(raw["schedules"]) == {"after-hours", "lunch"}


def test_an_edit_another_node_wrote_is_followed_and_a_broken_file_is_not(tmp_path: Path) -> None:
    """What a node does when told another node edited the shared file (``ConfigEditor.follow``)."""
    site = make_site(tmp_path, users=False)
    state = site.app.state.service
    assert state.editor.follow() is None, "the file in force: nothing to do"
    data = YAML(typ="safe").load(site.config_path.read_text(encoding="utf-8"))
    data["cameras"][0]["zones"][0]["min_area"] = 0.07
    write_config(tmp_path, data)
    followed = state.editor.follow()
    assert followed is not None and followed.cameras[0].zones[0].min_area == 0.07
    assert state.config is followed, "in force for the API and the workers"

    site.config_path.write_text(site.config_path.read_text(encoding="utf-8") + "cameras: [oops\n", encoding="utf-8")
    assert state.editor.follow() is None, "a file that does not parse is refused"
    data["storage"]["path"] = str(tmp_path / "elsewhere")
    write_config(tmp_path, data)
    assert state.editor.follow() is None, "storage cannot change while the service runs"
    assert state.config is followed, "the last good configuration stays in force"
    site.runtime.close()

