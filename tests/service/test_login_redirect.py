"""After login the dashboard goes only to a path of its own site: tab, CR, LF and backslash
tricks in ``next`` are refused, attacked over HTTP and in a real browser."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.service.conftest import PASSWORDS, Server

HOSTILE = ["/\t/{evil}/x", "/\r/{evil}/x", "/\n/{evil}/x", "/\t\t//{evil}", "\t//{evil}/x", "/\\{evil}/x",
           "//{evil}/x", "http://{evil}/x", "/ /{evil}", "https:{evil}"]


@pytest.fixture(scope="module")
def evil_site() -> Iterator[str]:
    """Another origin on loopback (another port), as an attacker's site."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_hostile_next_values_are_replaced_by_the_alert_board(server: Server, evil_site: str) -> None:
    with httpx.Client(base_url=server.url) as client:
        for template in HOSTILE:
            page = client.get("/login", params={"next": template.format(evil=evil_site)}).text
            assert 'data-next="/alerts"' in page, repr(template)
            assert evil_site not in page
        kept = client.get("/login", params={"next": "/clips?camera=a&zone=b#top"}).text
        assert 'data-next="/clips?camera=a&amp;zone=b#top"' in kept


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("template", ["/%09/{evil}/x", "/%0d/{evil}/x", "/%0a/{evil}/x", "/%5c{evil}/x"])
def test_browser_stays_on_the_site_after_login(page: Page, server: Server, evil_site: str, template: str) -> None:
    page.goto(f"{server.url}/login?next={template.format(evil=evil_site)}")
    page.fill("input[name=username]", "security")
    page.fill("input[name=password]", PASSWORDS["security"])
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{server.url}/alerts")
