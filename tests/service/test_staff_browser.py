"""The dashboard as school staff use it, in Debian's chromium on a laptop and on a 390 px phone.

The browser runs in Berlin while the site is in Chicago: every time a person reads or types
must be Chicago time, labelled. Screenshots of both viewports go to docs/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.service.conftest import CAMERA, Server, log_in, make_site, serve, shoot

pytestmark = [pytest.mark.browser, pytest.mark.slow]
VIEWPORTS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
              "device_scale_factor": 2},
}
# 06:06:12 UTC is 00:06:12 in Chicago (CST) and 07:06:12 in Berlin, the browser's zone.
ALERT_TIME = datetime(2026, 12, 2, 6, 6, 12, tzinfo=UTC)


NAMED_CAMERA: dict[str, Any] = {**CAMERA, "zones": [{**cast(list[dict[str, Any]], CAMERA["zones"])[0],
                                                      "name": "Locker-room door"}]}
ADMIN_PAGES = ("/alerts", "/live", "/clips", "/verify", "/zones", "/schedules", "/users", "/audit", "/account")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A site whose zone has a name staff use ("Locker-room door"), unlike its id."""
    site = make_site(tmp_path_factory.mktemp("staff"), camera=NAMED_CAMERA)
    with serve(site.app) as url:
        yield Server(url, site)


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
    widest = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
        .map((e) => e.tagName + '#' + e.id + '.' + e.className).slice(0, 5).join(', ')""")
    assert overflow <= 0, f"{page.url} is {overflow} px wider than the screen: {widest}"


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


def test_alert_card_fits_the_screen_with_names(staff_page: Page, server: Server, device: str) -> None:
    alert = server.site.add_alert(zones=("landing",))
    log_in(staff_page, server, "security")
    card = staff_page.locator(f"#alert-{alert.id}")
    expect(card.locator("h2")).to_have_text("Motion · East stairwell")
    expect(card.locator(".meta")).to_contain_text("zone Locker-room door")
    width = VIEWPORTS[device]["viewport"]["width"]
    for part in (card.locator("time"), card.locator(".zone"), card.locator("button[type=submit]"),
                 card.locator("input[name=note]")):
        box = part.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (part, box)
    no_sideways_scroll(staff_page)
    staff_page.select_option("#alert-filters select[name=zone]", label="Locker-room door")
    staff_page.locator("#alert-filters button[type=submit]").click()
    expect(staff_page.locator(f"#alert-{alert.id}")).to_be_visible()
    shoot(staff_page, f"alert-board-{device}.png")


def test_every_page_fits_the_screen(staff_page: Page, server: Server, device: str) -> None:
    server.site.add_clip()
    log_in(staff_page, server, "admin")
    for path in ADMIN_PAGES:
        response = staff_page.goto(f"{server.url}{path}")
        assert response is not None and response.status == 200, path
        staff_page.wait_for_timeout(300)  # tables some pages fill from the API
        no_sideways_scroll(staff_page)
    staff_page.goto(f"{server.url}/clips")
    staff_page.locator("#clip-list a").first.click()
    expect(staff_page.locator("#player")).to_be_visible()
    no_sideways_scroll(staff_page)


def test_board_is_installable_and_notifies(browser: Browser, server: Server) -> None:
    context = browser.new_context(timezone_id="Europe/Berlin", **VIEWPORTS["phone"])
    context.grant_permissions(["notifications"], origin=server.url)
    page = context.new_page()
    log_in(page, server, "security")
    manifest = page.evaluate("""async () => {
        const link = document.querySelector('link[rel=manifest]');
        const data = await (await fetch(link.href)).json();
        const sizes = [];
        for (const icon of data.icons) {
            const image = new Image(); image.src = icon.src; await image.decode();
            sizes.push(`${image.naturalWidth}x${image.naturalHeight}`);
        }
        return { ...data, loaded: sizes };
    }""")
    assert manifest["start_url"] == "/alerts" and manifest["display"] == "standalone"
    assert manifest["loaded"] == [i["sizes"] for i in manifest["icons"]] and "192x192" in manifest["loaded"]
    assert page.evaluate("navigator.serviceWorker.ready.then((r) => r.scope)") == f"{server.url}/"
    expect(page.locator("#notify-state")).to_contain_text("Notifications are on")
    expect(page.locator("#live-state")).to_have_text("live")
    alert = server.site.add_alert(zones=("landing",), time=ALERT_TIME)
    expect(page.locator(f"#alert-{alert.id}")).to_be_visible()
    shown = page.wait_for_function("""async (tag) => {
        const registration = await navigator.serviceWorker.getRegistration('/');
        const found = (await registration.getNotifications({ tag }))[0];
        return found && { title: found.title, body: found.body };
    }""", arg=f"alert-{alert.id}", timeout=5000).json_value()
    assert shown == {"title": "Motion · East stairwell", "body": "Locker-room door · 00:06:12 CST"}
    favicon = page.request.get(f"{server.url}/favicon.ico")
    assert favicon.status == 200 and favicon.headers["content-type"] == "image/png"
    context.close()
