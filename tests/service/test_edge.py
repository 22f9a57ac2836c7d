"""The edge of the service as an attacker meets it: huge ids, response headers, the Host check
(DNS rebinding), the metrics token, and forged X-Forwarded-For."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.service.conftest import Server, login, make_site, serve

HUGE = "99999999999999999999"  # above 2^63: no SQL integer holds it
METRICS_TOKEN = "scrape-secret-0123456789"


def test_ids_above_two_to_the_63_are_refused_not_a_server_error(server: Server) -> None:
    with server.client("admin") as admin:
        token = admin.post("/api/me/tokens", json={"name": "edge"}).json()
        calls = [
            admin.get(f"/api/alerts/{HUGE}"),
            admin.get(f"/api/alerts/{HUGE}/snapshot.jpg"),
            admin.post(f"/api/alerts/{HUGE}/ack", json={"note": "x"}),
            admin.get("/api/clips", params={"alert_id": HUGE}),
            admin.get("/clips", params={"alert_id": HUGE}),
            admin.post(f"/api/me/tokens/{HUGE}/revoke"),
            admin.get(f"/api/alerts/{2**63}"),
            admin.get("/api/alerts/-1"),
        ]
        assert [c.status_code for c in calls] == [422] * len(calls), [c.text for c in calls]
        assert admin.get(f"/api/alerts/{2**63 - 1}").status_code == 404  # the largest id is a real question
        assert admin.post(f"/api/me/tokens/{token['id']}/revoke").status_code == 204


def test_every_response_carries_the_security_headers(server: Server) -> None:
    clip, _alert = server.site.add_clip()
    with server.client("admin") as admin:
        responses = {
            "login page": admin.get("/login"),
            "alerts page": admin.get("/alerts"),
            "api": admin.get("/api/alerts"),
            "static": admin.get("/static/app.js"),
            "health": admin.get("/healthz"),
            "error": admin.get("/api/alerts/12345"),
            "clip": admin.get(f"/api/clips/{clip.id}/video", headers={"Range": "bytes=0-99"}),
        }
        for what, response in responses.items():
            assert response.headers["x-content-type-options"] == "nosniff", what
            assert response.headers["referrer-policy"] == "no-referrer", what
            csp = response.headers["content-security-policy"]
            assert "form-action 'self'" in csp and "base-uri 'none'" in csp, what
            assert "frame-ancestors 'none'" in csp, what


def test_tokens_one_time_passwords_and_clips_are_never_cached(server: Server) -> None:
    clip, _alert = server.site.add_clip()
    with server.client("admin") as admin:
        sensitive = {
            "api token": admin.post("/api/me/tokens", json={"name": "cache"}),
            "one-time password": admin.post("/api/users", json={"username": "cachetest", "role": "security"}),
            "reset": admin.post("/api/users/cachetest/reset-password"),
            "clip": admin.get(f"/api/clips/{clip.id}/video"),
            "clip range": admin.get(f"/api/clips/{clip.id}/video", headers={"Range": "bytes=0-9"}),
            "download": admin.get(f"/api/clips/{clip.id}/download"),
            "export": admin.post(f"/api/clips/{clip.id}/export", json={"case": "c-1", "reason": "test",
                                                                         "recipient": "district police",
                                                                         "interest": "investigation"}),
        }
        with httpx.Client(base_url=server.url) as fresh:
            sensitive["login (CSRF token)"] = login(fresh, "security", "security-pass-1")
        for what, response in sensitive.items():
            assert response.status_code < 300, (what, response.text)
            assert "no-store" in response.headers["cache-control"], what


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    site = make_site(tmp_path_factory.mktemp("edge"), config={"server": {
        "allowed_hosts": ["127.0.0.1", "monitor.school.example"], "metrics_token": METRICS_TOKEN}})
    with serve(site.app) as url:
        yield Server(url, site)


def test_dns_rebinding_cannot_read_health_or_metrics(guarded: Server) -> None:
    """A rebinding page's requests reach loopback but name the attacker's host."""
    with httpx.Client(base_url=guarded.url) as client:
        for path in ("/healthz", "/metrics", "/login", "/api/alerts"):
            rebound = client.get(path, headers={"Host": "attacker.example:8000"})
            assert rebound.status_code == 400, path
            assert "hotspot" not in rebound.text.lower() and "database" not in rebound.text
        assert client.get("/healthz", headers={"Host": "monitor.school.example"}).status_code == 200
        assert client.get("/healthz").status_code == 200  # 127.0.0.1:port


def test_metrics_need_the_configured_token(guarded: Server) -> None:
    with httpx.Client(base_url=guarded.url) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong-token-000000000"}).status_code == 401
        scraped = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert scraped.status_code == 200 and "hotspot_camera_online" in scraped.text


def test_forwarded_for_from_an_untrusted_peer_is_ignored(server: Server) -> None:
    """No server.trusted_proxies: a local client forging X-Forwarded-For is audited as itself."""
    with httpx.Client(base_url=server.url) as client:
        client.get("/login")
        forged = client.post("/api/auth/login", json={"username": "forger", "password": "not-this-one"},
                             headers={"X-CSRF-Token": client.cookies.get("hotspot_login_csrf") or "",
                                      "X-Forwarded-For": "203.0.113.77", "X-Forwarded-Proto": "https"})
        assert forged.status_code == 401
    with server.client("admin") as admin:
        rows = admin.get("/api/audit/logins", params={"username": "forger"}).json()
    assert [row["remote"] for row in rows] == ["127.0.0.1"]
