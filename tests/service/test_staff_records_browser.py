"""The dashboard's records and editors in Debian's chromium, on a laptop and on a 390 px phone:
the audit as sentences, the alert's own clip for security staff, schedule problems, the zone
editor side by side. Screenshots go to docs/screenshots/ with HOTSPOT_WRITE_DOCS=1.
"""

# ruff: noqa: F811  (pytest fixtures imported from the board's tests are parameters here)
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, Page, expect

from evidence.actions import Action
from tests.service.conftest import Server, log_in, shoot
from tests.service.test_staff_browser import (  # noqa: F401  (fixtures shared with the board's tests)
    VIEWPORTS,
    device,
    no_sideways_scroll,
    server,
    staff_page,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("width", [1280, 1366])
def test_zone_editor_fits_a_laptop_side_by_side(browser: Browser, server: Server, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 720})
    page = context.new_page()
    log_in(page, server, "admin", "/zones")
    canvas, save = page.locator("#zone-canvas").bounding_box(), page.locator("#save-zones").bounding_box()
    assert canvas is not None and save is not None
    assert save["x"] >= canvas["x"] + canvas["width"], (canvas, save)
    assert save["y"] + save["height"] <= 720 and save["x"] + save["width"] <= width, save
    assert canvas["width"] >= 0.55 * width
    no_sideways_scroll(page)
    if width == 1280:
        shoot(page, "zone-editor-laptop.png")
    context.close()


def test_audit_reads_as_sentences_with_paging_and_user_changes(staff_page: Page, server: Server, device: str) -> None:
    clip, _alert = server.site.add_clip(start=datetime(2026, 12, 1, 20, 52, 56, tzinfo=UTC))
    for _ in range(55):  # more than a page of entries
        server.site.runtime.evidence.append(Action.VIEWED, actor="investigator", clip_id=clip.id,
                                            object_sha256=clip.sha256, details={"via": "dashboard"})
    errors: list[str] = []
    staff_page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    log_in(staff_page, server, "admin", "/users")
    first, second = f"night{device}", f"relief{device}"
    for name in (first, second):  # two in a row: neither one-time password may be lost
        staff_page.fill("#user-form input[name=username]", name)
        staff_page.click("#user-form button[type=submit]")
        expect(staff_page.locator(f'#users tr[data-user="{name}"]')).to_be_visible()
    expect(staff_page.locator("#one-time-list li")).to_have_count(2)
    expect(staff_page.locator("#one-time")).to_contain_text(f"One-time password for {first}")
    with staff_page.expect_response(lambda r: r.request.method == "PATCH" and r.ok):
        staff_page.locator(f'#users tr[data-user="{second}"] select').select_option("investigator")
    assert not [e for e in errors if "pattern" in e.lower()], errors

    staff_page.goto(f"{server.url}/audit")
    rows = staff_page.locator("#custody tbody tr")
    expect(rows).to_have_count(50)
    expect(staff_page.locator("#custody")).to_contain_text(
        f"admin changed {second}'s role from security to investigator")
    expect(staff_page.locator("#custody")).to_contain_text(f"admin added user {first} as security")
    viewed = rows.filter(has_text="investigator viewed clip").first
    expect(viewed).to_contain_text(f"investigator viewed clip {clip.id[:8]}… (East stairwell, "
                                   "2026-12-01 14:52:56-14:52:58 CST)")
    assert "{" not in viewed.locator(".sentence a").inner_text()
    viewed.locator("details.raw summary").click()
    expect(viewed.locator("details.raw pre")).to_contain_text('"action": "viewed"')
    staff_page.click("#custody-pager a[rel=next]")
    expect(staff_page.locator("#custody-pager")).to_contain_text("Page 2")
    sealed = staff_page.locator('#custody tr[data-action="sealed"]', has_text=clip.id[:8])
    expect(sealed).to_contain_text(f"system sealed clip {clip.id[:8]}… (East stairwell, "
                                   "2026-12-01 14:52:56-14:52:58 CST), 20 frames")
    no_sideways_scroll(staff_page)
    staff_page.select_option("form.filters select[name=action]", "user_added")
    staff_page.fill("input[name=since]", "2000-01-01T00:00:00")
    staff_page.locator("form.filters button[type=submit]").click()
    expect(staff_page.locator("#custody tbody tr").first).to_contain_text("added user")
    assert set(staff_page.locator("#custody tbody tr").evaluate_all("rs => rs.map(r => r.dataset.action)")) == {
        "user_added"}
    shoot(staff_page, f"audit-{device}.png")


def test_security_plays_the_alerts_clip_on_the_board(staff_page: Page, server: Server, device: str) -> None:
    clip, alert = server.site.add_clip()
    assert alert is not None
    log_in(staff_page, server, "security")
    card = staff_page.locator(f"#alert-{alert.id}")
    card.locator("button.play").click()
    video = card.locator("video.alert-clip")
    expect(video).to_be_visible()
    video.evaluate("v => new Promise((ok) => v.readyState >= 2 ? ok() : v.addEventListener('loadeddata', ok))")
    box = video.bounding_box()
    assert box is not None and box["x"] + box["width"] <= VIEWPORTS[device]["viewport"]["width"]
    actors = [(e.actor, e.details.get("via")) for e in server.site.runtime.evidence.entries(clip_id=clip.id)
              if str(e.action) == "viewed"]
    assert actors == [("security", "alert board")]


def test_schedule_problems_name_the_schedule_and_count_windows_from_one(staff_page: Page, server: Server) -> None:
    log_in(staff_page, server, "admin", "/schedules")
    before = server.site.config_path.read_bytes()
    card = staff_page.locator('fieldset.schedule[data-name="after-hours"]')
    card.locator("input.to").first.fill("25:00")
    staff_page.click("#save-schedules")
    expect(staff_page.locator("#problems li")).to_have_text(
        [("Schedule \u201cafter-hours\u201d, window 1 (end): '25:00' is not a time; use HH:MM from 00:00 to 24:00 "
          "(found '25:00')")])
    assert server.site.config_path.read_bytes() == before

