"""The whole product in a browser: the demo camera's worker under the service's supervisor.

The demo hallway is rendered, the shipped demo camera's zones and privacy settings watch it,
and Debian's chromium follows what security staff, investigators and admins would do. These
tests take the README's screenshots.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest
from playwright.sync_api import Page, expect
from ruamel.yaml import YAML

from monitor.config import load_config
from monitor.demo.scene import render_demo
from tests.conftest import REPO
from tests.service.conftest import Server, log_in, make_site, serve, shoot

pytestmark = [pytest.mark.browser, pytest.mark.slow]
T = TypeVar("T")
DEMO_SECONDS = 20
HALL_FLOOR = [[0.02, 0.74], [0.98, 0.74], [0.98, 0.98], [0.02, 0.98]]


def _demo_camera(source: str) -> dict[str, Any]:
    shipped = YAML(typ="safe", pure=True).load((REPO / "config" / "cameras.yaml").read_text(encoding="utf-8"))
    camera = next(c for c in shipped["cameras"] if c["id"] == "demo-hallway")
    return {**camera, "source": source, "loop": True, "recording": {"pre_roll": 1, "post_roll": 1, "max_clip": 30}}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("demo")
    video = folder / "hallway.mp4"
    render_demo(video, seconds=DEMO_SECONDS, size=(640, 360))
    site = make_site(folder, camera=_demo_camera(str(video)), start_workers=True)
    with serve(site.app) as url:
        yield Server(url, site)


@pytest.fixture(scope="module")
def dual(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The demo camera with a detect substream: the same hallway rendered at a quarter of the size."""
    folder = tmp_path_factory.mktemp("dual")
    main, sub = folder / "hallway.mp4", folder / "hallway-sub.mp4"
    render_demo(main, seconds=DEMO_SECONDS, size=(640, 360))
    render_demo(sub, seconds=DEMO_SECONDS, size=(320, 180))
    camera = {**_demo_camera(str(main)), "detect": {"source": str(sub)}}
    site = make_site(folder, camera=camera, start_workers=True)
    with serve(site.app) as url:
        yield Server(url, site)


def wait_for(probe: Callable[[], T | None], *, timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_camera_alert_appears_live_on_the_board(page: Page, demo: Server) -> None:
    page.set_viewport_size({"width": 1280, "height": 860})
    log_in(page, demo, "security")
    expect(page.locator("#live-state")).to_have_text("live")
    card = page.locator("article.alert.kind-motion").first
    expect(card).to_be_visible(timeout=DEMO_SECONDS * 1000)
    expect(card).to_contain_text("Demo hallway (rendered)")
    expect(card).to_contain_text("zone Locker-room door")
    expect(page.locator('#camera-states li[data-camera="demo-hallway"]')).to_contain_text("online")
    # Awaited in the page: wait_for_function would eval(), which the content security policy forbids.
    loaded = page.evaluate("""() => Promise.all([...document.querySelectorAll('article.alert img')].map((i) =>
        i.complete ? i.naturalWidth : new Promise((r) => {
            i.addEventListener('load', () => r(i.naturalWidth), {once: true});
            i.addEventListener('error', () => r(0), {once: true});
        })))""")
    assert loaded and all(width > 0 for width in loaded), loaded
    shoot(page, "alert-board.png")


def test_live_view_shows_the_camera(page: Page, demo: Server) -> None:
    log_in(page, demo, "security", "/live")
    # The first frame takes about a second: the worker draws previews only once asked.
    expect(page.locator("figure.camera img")).to_have_js_property("naturalWidth", 640, timeout=10000)
    expect(page.locator("figure.camera .state")).to_have_text("online", timeout=5000)


def test_camera_clip_plays_and_verifies(page: Page, demo: Server) -> None:
    def sealed() -> str | None:
        with demo.client("investigator") as client:
            clips = client.get("/api/clips", params={"camera": "demo-hallway"}).json()
        return next((c["id"] for c in clips if c["status"] == "sealed"), None)

    clip_id = wait_for(sealed, timeout=DEMO_SECONDS * 2, what="a sealed clip from the demo camera")
    page.set_viewport_size({"width": 1280, "height": 1000})
    log_in(page, demo, "investigator", f"/clips/{clip_id}")
    expect(page.locator("#player")).to_have_js_property("readyState", 4, timeout=10000)
    page.click("#verify")
    expect(page.locator("#verify-state")).to_contain_text("intact")
    shoot(page, "clip-page.png", full_page=True)


def test_zone_drawn_by_admin_is_used_by_the_worker(page: Page, demo: Server) -> None:
    page.set_viewport_size({"width": 1400, "height": 860})
    log_in(page, demo, "admin", "/zones?camera=demo-hallway")
    expect(page.locator("#zone-canvas")).to_have_attribute("data-frame", "loaded", timeout=10000)
    page.click("#add-hotspot")
    page.fill("#zone-id", "hall-floor")
    box = page.locator("#zone-canvas").bounding_box()
    assert box is not None
    for x, y in HALL_FLOOR:
        page.mouse.click(box["x"] + x * box["width"], box["y"] + y * box["height"])
    expect(page.locator("#zone-list")).to_contain_text("hall-floor (4 points)")
    shoot(page, "zone-editor.png")
    saved_at = time.monotonic()
    page.click("#save-zones")
    expect(page.locator("#flash")).to_contain_text("Saved to cameras.yaml")
    zone = next(z for z in load_config(demo.site.config_path).camera("demo-hallway").zones if z.id == "hall-floor")
    assert [tuple(round(v, 2) for v in p) for p in zone.polygon] == [tuple(p) for p in HALL_FLOOR]

    def hall_alert() -> dict[str, Any] | None:
        with demo.client("security") as client:
            alerts = client.get("/api/alerts", params={"zone": "hall-floor"}).json()
        return alerts[0] if alerts else None

    alert = wait_for(hall_alert, timeout=DEMO_SECONDS * 2, what="an alert in the zone drawn in the browser")
    assert alert["camera_id"] == "demo-hallway"
    assert time.monotonic() - saved_at < DEMO_SECONDS * 2
    status = demo.site.app.state.service.supervisor.statuses()["demo-hallway"]
    assert status.state == "online" and status.restarts == 0  # applied without restarting the worker


def test_board_says_which_stream_a_camera_detects_on(page: Page, dual: Server) -> None:
    log_in(page, dual, "security")
    state = page.locator('#camera-states li[data-camera="demo-hallway"]')
    expect(state).to_contain_text("detecting on the substream", timeout=20000)
    # The main stream is decoded only while a clip records: some of it, once the walker is seen.
    expect(state).to_contain_text(re.compile(r"detecting on the substream, main stream [1-9]\d*% decoded"),
                                  timeout=DEMO_SECONDS * 2000)
    # The live view is the substream's picture, a quarter of the main stream's.
    page.goto(f"{dual.url}/live")
    expect(page.locator("figure.camera img")).to_have_js_property("naturalWidth", 320, timeout=10000)


def _main_fraction(server: Server) -> float | None:
    with server.client("security") as client:
        row = next(c for c in client.get("/api/cameras").json() if c["id"] == "demo-hallway")
    return row["main_decoded_fraction"]


def _main_gauge(server: Server) -> float | None:
    line = next((line for line in httpx.get(f"{server.url}/metrics").text.splitlines()
                 if line.startswith('hotspot_camera_main_decoded_fraction{camera="demo-hallway"}')), None)
    return float(line.split()[1]) if line else None


def test_the_main_streams_decoded_fraction_is_reported(dual: Server) -> None:
    """While a clip records its decoder decodes every main-stream packet (more than one a packet
    in the second it replays the pre-roll); between clips nothing decodes the main stream."""
    wait_for(lambda: 0 < (_main_fraction(dual) or 0) <= 1, timeout=DEMO_SECONDS * 2,
             what="the main stream decoded for a clip")
    wait_for(lambda: _main_fraction(dual) == 0, timeout=DEMO_SECONDS * 2, what="the main stream only demuxed")
    wait_for(lambda: (_main_gauge(dual) or 0) > 0, timeout=DEMO_SECONDS * 2,
             what="the gauge of the main stream's decodes")
