"""The dashboard in Debian's chromium: each role's pages, a live alert, playback, export, zones.

Screenshots for the README are written to docs/screenshots/ by these tests.
"""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from monitor.config import load_config
from tests.service.conftest import Server, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
NAV = {
    "security": {"Alerts", "Live", "Cases", "Heat map", "Patrol"},
    "investigator": {"Alerts", "Clips", "Cases", "Timeline", "Verify bundle"},
    "admin": {"Alerts", "Live", "Clips", "Cases", "Timeline", "Verify bundle", "Zones", "Schedules", "Notifications",
              "Users", "Audit", "Heat map", "Patrol"},
}


@pytest.mark.parametrize("role", ["security", "investigator", "admin"])
def test_each_role_sees_its_pages(page: Page, server: Server, role: str) -> None:
    log_in(page, server, role)
    assert set(page.locator("header nav a").all_inner_texts()) == NAV[role]
    response = page.goto(f"{server.url}/users")
    assert response is not None and response.status == (200 if role == "admin" else 403)


def test_wrong_password_shows_an_error(page: Page, server: Server) -> None:
    page.goto(f"{server.url}/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    expect(page.locator("#flash")).to_have_text("wrong username or password")


def test_alert_appears_live_and_is_acknowledged(page: Page, server: Server) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, server, "security")
    expect(page.locator("#live-state")).to_have_text("live")
    started = time.monotonic()
    alert = server.site.add_alert(zones=("landing",))
    card = page.locator(f"#alert-{alert.id}")
    expect(card).to_be_visible(timeout=2000)
    assert time.monotonic() - started < 1.0
    expect(card).to_contain_text("zone landing")
    card.locator("input[name=note]").fill("checked on camera: custodian")
    card.locator("button[type=submit]").click()
    expect(page.locator(f"#alert-{alert.id}")).to_contain_text("Acknowledged by security")


def test_play_clip_and_export_bundle(page: Page, server: Server, tmp_path: Path) -> None:
    clip, _alert = server.site.add_clip()
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, server, "investigator", f"/clips/{clip.id}")
    # Plain evaluations: polling with wait_for_function would eval() inside the page, which the
    # dashboard's content security policy forbids.
    expect(page.locator("#player")).to_have_js_property("readyState", 4, timeout=10000)
    played = page.evaluate("""async () => {
        const v = document.getElementById('player');
        v.muted = true;
        const advanced = new Promise((r) => v.addEventListener('timeupdate', () => v.currentTime > 0 && r(), {}));
        await v.play(); await advanced; return v.currentTime;
    }""")
    assert played > 0
    page.click("#verify")
    expect(page.locator("#verify-state")).to_contain_text("intact")
    page.fill("#export-form input[name=case]", "2026-114")
    page.fill("#export-form input[name=reason]", "police investigation")
    page.fill("#export-form input[name=recipient]", "District police, officer badge 4411")
    page.fill("#export-form input[name=interest]", "investigating the incident shown")
    with page.expect_download() as download_info:
        page.click("#export-form button[type=submit]")
    saved = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(saved)
    with zipfile.ZipFile(saved) as bundle:
        assert bundle.testzip() is None
    page.goto(f"{server.url}/verify")
    page.set_input_files("#verify-form input[type=file]", str(saved))
    page.click("#verify-form button[type=submit]")
    expect(page.locator("#verify-result")).to_contain_text("VERIFIED")
    expect(page.locator("#verify-result")).to_contain_text("2026-114")
    actions = [(str(e.action), e.actor) for e in server.site.runtime.evidence.entries(clip_id=clip.id)]
    assert ("viewed", "investigator") in actions and ("exported", "investigator") in actions
    exported = server.site.runtime.evidence.entries(clip_id=clip.id)[-1].details
    assert (exported["by"], exported["recipient"]) == ("investigator", "District police, officer badge 4411")


def test_admin_draws_a_zone(page: Page, server: Server) -> None:
    page.set_viewport_size({"width": 1400, "height": 900})
    log_in(page, server, "admin", "/zones")
    page.click("#add-hotspot")
    page.fill("#zone-id", "bike-rack")
    page.fill("#zone-min-area", "0.05")
    canvas = page.locator("#zone-canvas")
    box = canvas.bounding_box()
    assert box is not None
    for fx, fy in ((0.62, 0.55), (0.9, 0.55), (0.9, 0.92), (0.62, 0.92)):
        page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
    # Drag the last corner a little, as an admin adjusting the shape would.
    start = (box["x"] + 0.62 * box["width"], box["y"] + 0.92 * box["height"])
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] - 0.02 * box["width"], start[1], steps=4)
    page.mouse.up()
    expect(page.locator("#zone-list")).to_contain_text("bike-rack (4 points)")
    # A stray fifth point, removed again by double-clicking it.
    stray = (box["x"] + 0.75 * box["width"], box["y"] + 0.98 * box["height"])
    page.mouse.click(*stray)
    expect(page.locator("#zone-list")).to_contain_text("bike-rack (5 points)")
    page.mouse.dblclick(*stray)
    expect(page.locator("#zone-list")).to_contain_text("bike-rack (4 points)")
    # A privacy zone drawn and deleted again leaves the privacy zones as they were.
    page.click("#add-privacy")
    page.mouse.click(box["x"] + 0.05 * box["width"], box["y"] + 0.05 * box["height"])
    page.click("#delete-zone")
    expect(page.locator("#zone-list li")).to_have_count(3)
    page.locator("#zone-list button", has_text="bike-rack").click()
    page.click("#save-zones")
    expect(page.locator("#flash")).to_contain_text("Saved to cameras.yaml")
    saved = load_config(server.site.config_path).camera("east-stairwell")
    assert [z.id for z in saved.privacy.zones] == ["window"]
    zone = next(z for z in saved.zones if z.id == "bike-rack")
    assert zone.min_area == 0.05
    xs = sorted(round(x, 2) for x, _y in zone.polygon)
    assert xs == [0.6, 0.62, 0.9, 0.9]
    assert any(z.id == "bike-rack" for z in server.site.runtime.config.camera("east-stairwell").zones)


def test_a_zone_edit_on_a_stale_page_is_refused_and_the_page_shows_the_saved_zones(page: Page,
                                                                                  server: Server) -> None:
    """Another admin (on this or another node) saved the camera's zones after this page loaded:
    saving here is refused, and the page reloads with the zones as saved and says why."""
    log_in(page, server, "admin", "/zones")
    expect(page.locator("#zone-list li").first).to_be_visible()
    with server.client("admin") as other:
        shown = other.get("/api/cameras/east-stairwell/zones").json()
        corner = [[0.0, 0.0], [0.2, 0.0], [0.2, 0.2]]
        edit = {"zones": [*shown["zones"], {"id": "saved-elsewhere", "polygon": corner, "min_area": 0.02}],
                "privacy_zones": shown["privacy_zones"], "based_on": shown["version"]}
        assert other.put("/api/cameras/east-stairwell/zones", json=edit).status_code == 200
    page.click("#add-hotspot")
    page.fill("#zone-id", "typed-here")
    box = page.locator("#zone-canvas").bounding_box()
    assert box is not None
    for fx, fy in ((0.5, 0.5), (0.7, 0.5), (0.7, 0.7)):
        page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
    page.click("#save-zones")
    expect(page.locator("#flash")).to_contain_text("someone else changed this since you loaded it")
    expect(page.locator("#problems")).to_contain_text("the zones of camera east-stairwell changed since you loaded")
    expect(page.locator("#zone-list")).to_contain_text("saved-elsewhere")
    expect(page.locator("#zone-list")).not_to_contain_text("typed-here")
    assert "typed-here" not in {z.id for z in load_config(server.site.config_path).camera("east-stairwell").zones}
    # The reloaded page is based on the saved zones: saving from it works, twice in a row.
    page.locator("#zone-list button", has_text="saved-elsewhere").click()
    for name in ("Saved elsewhere, renamed here", "Renamed again"):
        page.fill("#zone-name", name)
        with page.expect_response(lambda r: r.request.method == "PUT" and r.url.endswith("/zones")) as saved:
            page.click("#save-zones")
        assert saved.value.status == 200, saved.value.text()
    expect(page.locator("#flash")).to_contain_text("Saved to cameras.yaml")
    zones = load_config(server.site.config_path).camera("east-stairwell").zones
    assert next(z for z in zones if z.id == "saved-elsewhere").name == "Renamed again"


def test_admin_adds_a_user_and_edits_a_schedule(page: Page, server: Server) -> None:
    log_in(page, server, "admin", "/users")
    page.fill("#user-form input[name=username]", "dayguard")
    page.select_option("#user-form select[name=role]", "security")
    page.click("#user-form button[type=submit]")
    expect(page.locator("#one-time")).to_contain_text("One-time password for dayguard")
    expect(page.locator('#users tr[data-user="dayguard"]')).to_contain_text("must change password")

    page.goto(f"{server.url}/schedules")
    page.fill("#new-schedule-name", "lunch")
    page.click("#add-schedule")
    lunch = page.locator('fieldset.schedule[data-name="lunch"]')
    lunch.locator("input[value=mon]").check()
    lunch.locator("input.from").fill("11:30")
    lunch.locator("input.to").fill("13:00")
    page.fill("#holidays", "2026-12-24\n2026-12-25")
    page.click("#save-schedules")
    expect(page.locator("#flash")).to_contain_text("Saved to cameras.yaml")
    config = load_config(server.site.config_path)
    assert config.schedules["lunch"].windows[0].days == ["mon"]
    assert [d.isoformat() for d in config.site.holidays] == ["2026-12-24", "2026-12-25"]
    lunch.locator("input.to").fill("25:00")
    page.click("#save-schedules")
    expect(page.locator("#problems")).to_contain_text("is not a time")
