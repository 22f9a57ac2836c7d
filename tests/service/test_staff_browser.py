"""The dashboard as school staff use it, in Debian's chromium on a laptop and on a 390 px phone.

The browser runs in Berlin while the site is in Chicago: every time a person reads or types
must be Chicago time, labelled. Screenshots of both viewports go to docs/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.service.conftest import Server, log_in, shoot

pytestmark = [pytest.mark.browser, pytest.mark.slow]
VIEWPORTS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
              "device_scale_factor": 2},
}
# 06:06:12 UTC is 00:06:12 in Chicago (CST) and 07:06:12 in Berlin, the browser's zone.
ALERT_TIME = datetime(2026, 12, 2, 6, 6, 12, tzinfo=UTC)


@pytest.fixture(params=list(VIEWPORTS))
def device(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def staff_page(browser: Browser, device: str) -> Iterator[Page]:
    context = browser.new_context(timezone_id="Europe/Berlin", locale="de-DE", **VIEWPORTS[device])
    page = context.new_page()
    yield page
    context.close()


def no_sideways_scroll(page: Page) -> None:
    """Nothing on the page is wider than the screen (a phone must never pan sideways)."""
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than the screen"


def test_alert_board_shows_site_time(staff_page: Page, server: Server, device: str) -> None:
    alert = server.site.add_alert(zones=("landing",), time=ALERT_TIME)
    log_in(staff_page, server, "security")
    card = staff_page.locator(f"#alert-{alert.id}")
    expect(card.locator("time")).to_have_text("2026-12-02 00:06:12 CST")
    card.locator("input[name=note]").fill("walked over, nobody there")
    card.locator("button[type=submit]").click()
    expect(card).to_contain_text("Acknowledged by security at 20")
    acked = card.locator(".acked").inner_text()
    assert " CST" in acked and "T" not in acked.split(" at ")[1].split(" ")[0]


def test_clip_search_reads_from_and_to_in_site_time(staff_page: Page, server: Server, device: str) -> None:
    day = 2 + list(VIEWPORTS).index(device)  # the server is shared by both viewports' runs
    clip, _alert = server.site.add_clip(start=datetime(2026, 12, day, 6, 6, 0, tzinfo=UTC))
    log_in(staff_page, server, "investigator", "/clips")
    expect(staff_page.locator("label", has_text="From")).to_contain_text("America/Chicago")
    staff_page.fill("input[name=since]", f"2026-12-0{day}T00:05:00")
    staff_page.fill("input[name=until]", f"2026-12-0{day}T00:07:00")
    staff_page.locator("form.filters button[type=submit]").click()
    row = staff_page.locator("#clip-list tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(f"2026-12-0{day} 00:06:00 CST")
    expect(staff_page.locator("input[name=since]")).to_have_value(re.compile(rf"^2026-12-0{day}T00:05(:00)?$"))
    staff_page.locator("#clip-list a").first.click()
    expect(staff_page.locator("dl.facts")).to_contain_text(f"2026-12-0{day} 00:06:00 CST")
    expect(staff_page.locator("#custody")).to_contain_text(" CST")
    assert clip.id in staff_page.url
