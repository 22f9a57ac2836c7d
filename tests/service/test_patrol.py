"""The heat map and patrol plans over real HTTP and in Debian's chromium, desktop and phone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from monitor.store.models import Alert
from tests.service.conftest import Server, log_in, shoot

PHONE = ViewportSize(width=390, height=844)
DESKTOP = ViewportSize(width=1280, height=900)


def _last_tuesday_2310(server: Server) -> datetime:
    tz = server.site.runtime.config.site.tz
    today = datetime.now(tz).date()
    tuesday = today - timedelta(days=(today.weekday() - 1) % 7 or 7)
    return datetime.combine(tuesday, datetime.min.time()).replace(hour=23, minute=10, tzinfo=tz)


@pytest.fixture(scope="module")
def busy_tuesday(server: Server) -> datetime:
    """Three motion alerts in the landing on the last Tuesday, 23:10-23:12 site time."""
    moment = _last_tuesday_2310(server)
    with server.site.runtime.sessions.begin() as db:
        for minute in range(3):
            db.add(Alert(kind="motion", camera_id="east-stairwell", time=(moment + timedelta(minutes=minute)).astimezone(UTC),
                         zones=["landing"], score=0.3))
    return moment


def test_heatmap_api_counts_and_permissions(server: Server, busy_tuesday: datetime) -> None:
    since = (busy_tuesday - timedelta(days=1)).date().isoformat()
    with server.client("security") as client:
        data = client.get("/api/heatmap", params={"since": since}).json()
        assert data["timezone"] == "America/Chicago"
        assert data["zones"]["east-stairwell/landing"]["events"][1][23] == 3
        assert client.get("/api/heatmap", params={"since": "last week"}).status_code == 422
        for far in ("0001-01-01", "9999-12-31"):  # no date-overflow 500s
            assert client.get("/api/heatmap", params={"since": far}).status_code == 200
    with server.client("investigator") as client:
        assert client.get("/api/heatmap").status_code == 403
        assert client.post("/api/patrol/plans", json={"date": "2026-03-03", "shift": "22:00-06:00"}).status_code == 403


def test_plans_over_http_are_fresh_recorded_and_checked(server: Server, busy_tuesday: datetime) -> None:
    day = date.today().isoformat()
    with server.client("security") as client:
        first = client.post("/api/patrol/plans", json={"date": day, "shift": "23:00-01:00", "min_visits": 2})
        second = client.post("/api/patrol/plans", json={"date": day, "shift": "23:00-01:00", "min_visits": 2})
        assert first.status_code == second.status_code == 201, first.text
        one, two = first.json(), second.json()
        assert [v["point"] for v in one["visits"]].count("east-stairwell/landing") >= 2
        assert one["created_by"] == "security" and one["shift"]["label"] == f"{day} 23:00-01:00"
        assert [v["time"] for v in one["visits"]] != [v["time"] for v in two["visits"]]
        ids = [p["id"] for p in client.get("/api/patrol/plans").json()]
        assert ids[:2] == [two["id"], one["id"]]
        report = client.get("/api/patrol/predictability").json()
        assert report["plans"] >= 1 and report["slot_minutes"] == 15
        for bad in ({"date": day, "shift": "23:00"}, {"date": day, "shift": "<script>"},
                    {"date": day, "shift": "10:00-10:05", "min_visits": 50}, {"date": "tomorrow", "shift": "22:00-06:00"},
                    {"date": "9999-12-31", "shift": "22:00-06:00"}, {"date": "0001-01-01", "shift": "00:00-06:00"},
                    {"date": day, "shift": "22:00-06:00", "points": ["elsewhere"]}):
            assert client.post("/api/patrol/plans", json=bad).status_code == 422, bad


@pytest.mark.browser
@pytest.mark.slow
def test_heatmap_page_desktop_and_phone(page: Page, server: Server, busy_tuesday: datetime) -> None:
    page.set_viewport_size(DESKTOP)
    since = (busy_tuesday - timedelta(days=1)).date().isoformat()
    log_in(page, server, "security", f"/heatmap?since={since}")
    landing = page.locator("section.heatmap[data-zone='east-stairwell/landing']")
    expect(landing).to_contain_text("3 alert(s)")
    expect(landing).to_contain_text("Busiest: Tue 23:00-24:00: 3 event(s)")
    cell = landing.locator("rect[data-day=tue][data-hour='23']")
    assert cell.get_attribute("data-value") == "3"
    quiet = landing.locator("rect[data-day=tue][data-hour='22']")
    assert cell.get_attribute("fill") != quiet.get_attribute("fill")
    shoot(page, "heatmap-desktop.png", full_page=True)
    page.set_viewport_size(PHONE)
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    box = landing.locator("svg").bounding_box()
    assert box is not None and box["width"] <= PHONE["width"] and box["width"] > 300
    shoot(page, "heatmap-phone.png", full_page=True)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_patrol_plan_is_drawn_and_printable(page: Page, server: Server, viewport: ViewportSize) -> None:
    page.set_viewport_size(viewport)
    log_in(page, server, "security", "/patrol")
    page.fill("#plan-form input[name=date]", "2026-03-07")
    page.fill("#plan-form input[name=from]", "22:00")
    page.fill("#plan-form input[name=to]", "06:00")
    page.fill("#plan-form input[name=min_visits]", "3")
    page.click("#plan-form button[type=submit]")
    expect(page.locator("#plan-title")).to_have_text("Patrol plan for 2026-03-07 22:00-06:00")
    rows = page.locator("#plan-visits tr")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 3
    times = [t for t in page.locator("#plan-visits td.time").all_inner_texts()]
    assert all(t >= "22:00" or t < "06:00" for t in times)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    name = "phone" if viewport is PHONE else "desktop"
    shoot(page, f"patrol-{name}.png", full_page=True)
    page.emulate_media(media="print")
    expect(page.locator("header")).to_be_hidden()
    expect(page.locator("#plan-form")).to_be_hidden()
    expect(page.locator("#print-plan")).to_be_hidden()
    expect(page.locator("#plan table")).to_be_visible()
    shoot(page, f"patrol-print-{name}.png", full_page=True)
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 2000
