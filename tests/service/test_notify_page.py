"""Alert routes on the dashboard: admins edit them (saved to cameras.yaml, comments kept), other
roles cannot; delivery status is shown."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from monitor.config import load_config
from tests.service.conftest import Server, log_in, make_site, serve

NOTIFY = {"webhooks": [{"url": "http://127.0.0.1:9/radio", "secret_env": "RADIO_SECRET", "name": "radio"}],
          "email": {"host": "127.0.0.1", "port": 2525, "starttls": False,
                    "from": "hotspot@lincoln.example", "to": ["desk@lincoln.example"]}}


@pytest.fixture(scope="module")
def notify_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    site = make_site(tmp_path_factory.mktemp("site"), config={"notify": NOTIFY})
    text = site.config_path.read_text()
    site.config_path.write_text("# the night officer's radio takes webhooks\n" + text)
    with serve(site.app) as url:
        yield Server(url, site)


def test_only_admins_edit_routes_and_a_bad_route_is_refused(notify_server: Server) -> None:
    route = {"name": "night", "cameras": ["east-stairwell"], "from": "22:00", "to": "06:00",
             "channels": ["email"], "email_to": ["night@lincoln.example"]}
    for role in ("security", "investigator"):
        with notify_server.client(role) as client:
            assert client.put("/api/notify/routes", json={"routes": [route]}).status_code == 403
            assert client.get("/api/notify/routes").status_code == 403
    with notify_server.client("security") as client:
        status = client.get("/api/notify/status").json()
    assert status["channels"] == ["webhook:radio", "email"]
    with notify_server.client("admin") as client:
        refused = client.put("/api/notify/routes", json={"routes": [{**route, "channels": ["mqtt"]}]})
        assert refused.status_code == 422
        assert "channel 'mqtt' is not configured" in str(refused.json())
        assert client.put("/api/notify/routes", json={"routes": [route]}).status_code == 200
    saved = load_config(notify_server.site.config_path).notify.routes
    assert [(r.name, r.cameras, r.start, r.end, r.channels) for r in saved] == [
        ("night", ["east-stairwell"], "22:00", "06:00", ["email"])]
    assert notify_server.site.config_path.read_text().startswith("# the night officer's radio takes webhooks\n")


@pytest.mark.parametrize("field, values, problem", [
    # ruamel wrote ": x" plain in a flow sequence and could not read its own file back (a 500)
    ("channels", ["email", ": \u00f9"], "channel ': \u00f9' is not configured"),
    ("email_to", ["night@lincoln.example", ": \u00f9"], "use an e-mail address"),
    ("email_to", ["night@lincoln.example\n\u0011"], "use an e-mail address"),
    ("email_to", ["a@b@lincoln.example"], "use an e-mail address"),
    ("kinds", ["motion", "burglary"], "camera-offline"),  # the kinds there are, named
    ("kinds", ["motion", "\ud800x"], "valid string"),  # a lone surrogate, as JSON may escape it
])
def test_odd_strings_in_a_route_are_refused_and_the_file_stays_readable(
    notify_server: Server, field: str, values: list[str], problem: str,
) -> None:
    route = {"name": "odd", "channels": ["email"], field: values}
    before = notify_server.site.config_path.read_bytes()
    with notify_server.client("admin") as client:
        refused = client.put("/api/notify/routes", content=json.dumps({"routes": [route]}),
                             headers={"Content-Type": "application/json"})
    assert refused.status_code == 422, refused.text
    assert problem in str(refused.json()["detail"]["problems"])
    assert notify_server.site.config_path.read_bytes() == before


def test_quoted_route_values_survive_the_file(notify_server: Server) -> None:
    route = {"name": "quoted", "channels": ["webhook:radio"], "kinds": ["camera-offline", "motion"],
             "email_to": ["o'brien+night@lincoln.example"], "days": ["sat", "sun"]}
    with notify_server.client("admin") as client:
        assert client.put("/api/notify/routes", json={"routes": [route]}).status_code == 200
    saved = load_config(notify_server.site.config_path).notify.routes
    assert [(r.channels, r.kinds, r.email_to, r.days) for r in saved] == [
        (["webhook:radio"], ["camera-offline", "motion"], ["o'brien+night@lincoln.example"], ["sat", "sun"])]


@pytest.mark.browser
@pytest.mark.slow
def test_admin_adds_a_route_in_the_dashboard(page: Page, notify_server: Server) -> None:
    log_in(page, notify_server, "admin", "/notify")
    expect(page.locator("#delivery")).to_contain_text("webhook:radio")
    page.click("#add-route")
    card = page.locator("fieldset.route").last
    card.locator("input.name").fill("tamper-desk")
    card.locator(".kinds input[value=tamper]").check()
    card.locator(".channels input[value='webhook:radio']").check()
    page.click("#save-routes")
    expect(page.locator("#flash")).to_contain_text("Routes saved")
    saved = {r.name: r for r in load_config(notify_server.site.config_path).notify.routes}
    assert saved["tamper-desk"].kinds == ["tamper"] and saved["tamper-desk"].channels == ["webhook:radio"]
    card.locator("input.from").fill("25:00")
    card.locator("input.to").fill("06:00")
    page.click("#save-routes")
    expect(page.locator("#problems")).to_contain_text("is not a time")


@pytest.mark.browser
def test_the_page_is_for_admins(page: Page, notify_server: Server) -> None:
    log_in(page, notify_server, "security")
    response = page.goto(f"{notify_server.url}/notify")
    assert response is not None and response.status == 403
