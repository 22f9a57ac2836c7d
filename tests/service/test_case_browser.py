"""Cases and the incident timeline in Debian's chromium: a case built from two cameras' clips,
the timeline playing the clip that was clicked at the moment that was clicked, on a desk and a phone."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from evidence.case_bundle import verify_case_bundle
from tests.service.conftest import Server, log_in, shoot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _until(page: Page, expression: str, timeout: float = 10.0) -> None:
    """Poll from the test side: the pages' CSP forbids the eval that in-page polling uses."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {expression}"
        time.sleep(0.05)


def _player(page: Page) -> dict:
    """The clip the player holds and where it stands, once a seek has landed."""
    _until(page, "(() => { const v = document.getElementById('player');"
                 " return v.readyState >= 1 && !v.seeking; })()")
    return page.evaluate("(() => { const v = document.getElementById('player');"
                         " return {clip: v.dataset.clip, time: v.currentTime}; })()")


def _landing(page: Page, action: Callable[[], None]) -> dict:
    """The clip and the time a seek made by ``action`` landed on: the player plays on at once, so
    its current time read afterwards has moved on by however long a loaded machine took."""
    page.evaluate("""() => {
        const v = document.getElementById('player');
        delete v.dataset.landed;
        if (!v.dataset.watched) {
            v.dataset.watched = 'yes';
            v.addEventListener('seeked', () => { v.dataset.landed = String(v.currentTime); });
        }
    }""")
    action()
    _until(page, "(() => { const v = document.getElementById('player');"
                 " return v.dataset.landed !== undefined && !v.seeking; })()")
    return page.evaluate("(() => { const v = document.getElementById('player');"
                         " return {clip: v.dataset.clip, time: Number(v.dataset.landed)}; })()")


def _click_into(page: Page, clip_id: str, fraction: float) -> None:
    bar = page.locator(f".bar[data-clip='{clip_id}']")
    box = bar.bounding_box()
    assert box is not None
    bar.click(position={"x": box["width"] * fraction, "y": box["height"] / 2})


def test_timeline_orders_both_cameras_and_plays_the_clicked_moment(page: Page, server: Server) -> None:
    base = datetime(2026, 3, 3, 20, 3, tzinfo=UTC)  # 14:03 in Chicago
    stair, _ = server.site.add_clip(camera="east-stairwell", start=base, with_alert=False)
    hall, _ = server.site.add_clip(camera="west-hallway", zones=("corridor",), start=base + timedelta(seconds=40),
                                   with_alert=False)
    page.set_viewport_size({"width": 1280, "height": 900})
    since, until = "2026-03-03T14:02:00", "2026-03-03T14:05:00"  # site time
    log_in(page, server, "investigator", f"/timeline?since={since}&until={until}")
    expect(page.locator("#timeline")).to_have_attribute("data-ready", "true")
    assert page.locator(".lane-name").all_inner_texts() == ["east-stairwell", "west-hallway"]
    lefts = {clip.id: page.locator(f".bar[data-clip='{clip.id}']").bounding_box()["x"] for clip in (stair, hall)}  # type: ignore[index]
    assert lefts[stair.id] < lefts[hall.id]  # one time axis: the stairwell clip comes first
    expect(page.locator(".axis .tick").first).to_contain_text("14:0")
    _click_into(page, hall.id, 0.75)
    playing = _player(page)
    assert playing["clip"] == hall.id and playing["time"] == pytest.approx(1.5, abs=0.3)
    expect(page.locator("#now-playing")).to_contain_text("west-hallway")
    expect(page.locator("#cursor-time")).to_contain_text("2026-03-03 14:03:41")
    playing = _landing(page, lambda: page.click("#prev-event"))  # back to where this clip's event began
    assert playing["clip"] == hall.id and playing["time"] == pytest.approx(0.0, abs=0.2)
    playing = _landing(page, lambda: page.click("#prev-event"))  # the event before it, on the other camera
    assert playing["clip"] == stair.id and playing["time"] == pytest.approx(0.0, abs=0.2)
    page.click("#next-event")
    assert _player(page)["clip"] == hall.id
    page.fill("#near-minutes", "1")
    page.click("#near-button")  # around the cursor
    expect(page.locator("#near-list li[data-clip]")).to_have_count(2)
    page.fill("#near-minutes", "0.5")
    page.fill("#near-at", "2026-03-03T14:02:40")  # "what else happened at 14:02:40", in site time
    page.click("#near-button")
    expect(page.locator("#near-list li[data-clip]")).to_have_count(1)
    expect(page.locator("#cursor-time")).to_contain_text("2026-03-03 14:02:40 CST")
    page.fill("#near-at", "")
    page.fill("#near-minutes", "1")
    page.click("#near-button")
    expect(page.locator("#near-list li[data-clip]")).to_have_count(2)
    page.locator(f"#near-list li[data-clip='{stair.id}'] button").click()
    assert _player(page)["clip"] == stair.id
    _until(page, "document.getElementById('player').currentTime > 0")
    shoot(page, "timeline.png")


def test_case_built_in_the_browser_from_two_cameras(page: Page, server: Server, tmp_path: Path) -> None:
    base = datetime(2026, 3, 4, 20, 0, tzinfo=UTC)
    stair, _ = server.site.add_clip(camera="east-stairwell", start=base, with_alert=False)
    hall, _ = server.site.add_clip(camera="west-hallway", start=base + timedelta(seconds=30), with_alert=False)
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, server, "investigator", "/cases")
    page.click("details.panel summary")
    page.fill("#case-form input[name=number]", "2026-0300")
    page.fill("#case-form input[name=title]", "Fight from stairwell to hallway")
    page.fill("#case-form textarea[name=narrative]", "Two students fought on the landing.")
    page.click("#case-form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("2026-0300")
    page.fill("#add-clip-form input[name=clip_id]", stair.id)
    page.fill("#add-clip-form input[name=note]", "the fight starts")
    page.click("#add-clip-form button[type=submit]")
    expect(page.locator(f"#case-clips tr[data-clip='{stair.id}']")).to_contain_text("on hold")
    # the timeline of the case's window shows the other camera too; add its clip from there
    page.click("#timeline-link")
    expect(page.locator("#timeline")).to_have_attribute("data-ready", "true")
    _click_into(page, hall.id, 0.5)
    assert _player(page)["clip"] == hall.id
    page.click("#add-to-case")
    expect(page.locator("#flash")).to_contain_text("added to the case")
    page.go_back()
    page.reload()
    expect(page.locator("#case-clips tbody tr")).to_have_count(2)
    assert page.locator("#case-clips tbody tr").evaluate_all("rows => rows.map(r => r.dataset.clip)") == [stair.id, hall.id]
    page.fill("#photo-form input[name=offset_seconds]", "1")
    page.fill("#photo-form input[name=caption]", "the landing")
    page.click("#photo-form button[type=submit]")
    expect(page.locator("#photos figure")).to_have_count(1)
    _until(page, "document.querySelector('#photos img').naturalWidth > 0")
    with page.expect_download() as report:
        page.click("#make-report")
    assert report.value.suggested_filename == "report-2026-0300.pdf"
    expect(page.locator("#report-state")).to_contain_text("SHA-256")
    page.fill("#case-export-form input[name=reason]", "district hearing")
    page.fill("#case-export-form input[name=recipient]", "District Office")
    page.fill("#case-export-form input[name=interest]", "student discipline")
    with page.expect_download() as bundle:
        page.click("#case-export-form button[type=submit]")
    saved = tmp_path / bundle.value.suggested_filename
    bundle.value.save_as(saved)
    verified = verify_case_bundle(saved)
    assert [c.clip_id for c in verified.clips] == [stair.id, hall.id] and verified.exported_by == "investigator"
    shoot(page, "case-page.png", full_page=True)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#close-case")
    expect(page.locator("#case-status")).to_have_text("closed")
    expect(page.locator("#case-clips")).not_to_contain_text("on hold")


def test_security_opens_a_case_from_an_alert_on_a_phone(page: Page, server: Server) -> None:
    clip, alert = server.site.add_clip(start=datetime(2026, 3, 5, 20, 0, tzinfo=UTC))
    assert alert is not None
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, server, "security", "/alerts")
    page.locator(f"#alert-{alert.id} a.open-case").click()
    page.fill("#case-form input[name=number]", "S-2026-11")
    page.fill("#case-form input[name=title]", "Door forced at night")
    page.click("#case-form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("S-2026-11")
    expect(page.locator(f"#case-clips tr[data-clip='{clip.id}']")).to_contain_text("on hold")
    assert page.locator("#make-report").count() == 0  # the report and export are for investigators
    page.goto(f"{server.url}/cases")
    expect(page.locator("#case-list tbody tr")).to_have_count(1)


def test_timeline_on_a_phone(page: Page, server: Server) -> None:
    base = datetime(2026, 3, 6, 20, 0, tzinfo=UTC)
    first, _ = server.site.add_clip(camera="east-stairwell", start=base, with_alert=False)
    second, _ = server.site.add_clip(camera="west-hallway", start=base + timedelta(seconds=20), with_alert=False)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, server, "admin", "/timeline?since=2026-03-06T13:59:50&until=2026-03-06T14:00:40")
    expect(page.locator("#timeline")).to_have_attribute("data-ready", "true")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _click_into(page, second.id, 0.5)
    assert _player(page)["clip"] == second.id
    page.click("#prev-event")
    page.click("#prev-event")
    assert _player(page)["clip"] == first.id
